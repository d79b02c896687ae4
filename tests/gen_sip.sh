#!/usr/bin/env bash
# `scalanytics gen sip`: bad usage is refused (status 2), write errors
# reported (status 1); the same seed gives the same bytes and another
# seed others; the truth has exactly the --mix counts; the trace reads
# back (tcpdump, when installed) and an independent checker (libpcap,
# libosip2) derives every call's truth line from the packets; and, when
# tshark is installed, Wireshark counts every INVITE sent, every SIP
# message, and reassembles the fragmented INVITEs into SIP.
# usage: gen_sip.sh SCALANYTICS TEST_GEN_SIP
set -u
bin=$1 checker=$2 fail=0
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
expect() { # expect STATUS PATTERN ARGS...
  local want=$1 pat=$2; shift 2
  out=$("$bin" "$@" 2>&1); rc=$?
  if [ $rc -ne "$want" ] || ! grep -q -- "$pat" <<<"$out"; then
    echo "FAIL: scalanytics $* -> status $rc (want $want), output lacks '$pat':"; echo "$out"; fail=1
  else echo "ok: scalanytics $*"; fi
}
ok() { # ok WHAT (status of the last command)
  if [ $? -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
# counts TRUTH: "answered busy failed cancelled timeout" from its lines
counts() {
  awk -F, 'NR > 1 { if ($4 == "failed" && $5 == 486) n["busy"]++; else n[$4]++ }
           END { printf "%d %d %d %d %d\n", n["answered"], n["busy"], n["failed"], n["cancelled"], n["timeout"] }' "$1"
}

# Usage: explained, and every bad value named.
expect 0 "sip " gen --help
expect 0 "call_id,from,to,outcome,code,start_us,answer_us,end_us,duration_us" gen sip --help
expect 2 "give -o FILE.pcap" gen sip
expect 2 "--calls wants a number from 1 to 10000000" gen sip -o "$dir/x.pcap" --calls 0
expect 2 "--concurrency wants a number from 1" gen sip -o "$dir/x.pcap" -c 0
expect 2 "--rate wants a number from 0.001" gen sip -o "$dir/x.pcap" --rate 0
expect 2 "--duration-mean wants a number" gen sip -o "$dir/x.pcap" --duration-mean long
expect 2 "--tcp wants a number from 0 to 100" gen sip -o "$dir/x.pcap" --tcp 101
expect 2 "--fragment wants a number from 0 to 100" gen sip -o "$dir/x.pcap" --fragment -1
expect 2 "--retransmit wants a number from 0 to 100" gen sip -o "$dir/x.pcap" --retransmit 5%
expect 2 "'ringing' is no kind" gen sip -o "$dir/x.pcap" --mix answered=50,ringing=50
expect 2 "the weights add up to 0" gen sip -o "$dir/x.pcap" --mix answered=0
expect 2 "unexpected argument 'extra'" gen sip -o "$dir/x.pcap" extra
expect 2 "unrecognized option" gen sip -o "$dir/x.pcap" --frobnicate
# Write errors.
expect 1 "cannot create /nonexistent/dir/x.pcap" gen sip -o /nonexistent/dir/x.pcap --calls 5
if [ -w /dev/full ]; then
  expect 1 "cannot write /dev/full: No space left on device" gen sip -o /dev/full --truth "$dir/t.csv" --calls 2000
  expect 1 "cannot write /dev/full" gen sip -o "$dir/x.pcap" --truth /dev/full --calls 500
fi

# Determinism: same options, same bytes; another seed, other bytes.
"$bin" gen sip -o "$dir/a.pcap" --calls 1000 2>/dev/null
"$bin" gen sip -o "$dir/b.pcap" --calls 1000 2>"$dir/b.err"
"$bin" gen sip -o "$dir/c.pcap" --calls 1000 --seed 2 2>/dev/null
cmp -s "$dir/a.pcap" "$dir/b.pcap"; ok "same seed, same pcap"
cmp -s "$dir/a.pcap.truth.csv" "$dir/b.pcap.truth.csv"; ok "same seed, same truth (default name FILE.truth.csv)"
! cmp -s "$dir/a.pcap" "$dir/c.pcap"; ok "another seed, another pcap"
! cmp -s "$dir/a.pcap.truth.csv" "$dir/c.pcap.truth.csv"; ok "another seed, another truth"
grep -q "^gen sip: 1000 calls (700 answered, 150 failed of which 100 busy, 100 cancelled, 50 timeout)" "$dir/b.err"
ok "summary line"

# The mix: exact counts by largest remainder, weights of any scale.
[ "$(counts "$dir/a.pcap.truth.csv")" = "700 100 50 100 50" ]; ok "default mix: 700 100 50 100 50"
"$bin" gen sip -o "$dir/m.pcap" --truth "$dir/m.csv" --calls 7 --mix answered=1,busy=1,failed=1 2>/dev/null
[ "$(counts "$dir/m.csv")" = "3 2 2 0 0" ]; ok "7 calls in thirds: 3 2 2"
"$bin" gen sip -o "$dir/n.pcap" --truth "$dir/n.csv" --calls 333 --mix answered=40,busy=20,failed=20,cancelled=10,unfinished=10 --seed 9 2>/dev/null
[ "$(counts "$dir/n.csv")" = "133 67 67 33 33" ]; ok "333 calls 40/20/20/10/10: 133 67 67 33 33"

# The trace reads back: tcpdump (when installed) and the independent checker.
if command -v tcpdump >/dev/null; then
  packets=$(grep -o '[0-9]* packets' "$dir/b.err" | cut -d' ' -f1)
  n=$(tcpdump -nr "$dir/a.pcap" 2>/dev/null | wc -l)
  [ "$n" -eq "$packets" ]; ok "tcpdump reads all $packets packets"
else
  echo "skip: tcpdump not installed"
fi
"$checker" check "$dir/a.pcap" "$dir/a.pcap.truth.csv" >"$dir/a.check"; ok "default trace checks"
# Heavy impairments, short calls, many at once, more failures.
"$bin" gen sip -o "$dir/h.pcap" --calls 1500 --tcp 30 --fragment 30 --retransmit 30 -c 300 \
  --rate 1000 --duration-mean 2 --mix answered=30,busy=20,failed=20,cancelled=15,unfinished=15 \
  --seed 5 2>"$dir/h.err"
"$checker" check "$dir/h.pcap" "$dir/h.pcap.truth.csv" >"$dir/h.check"; ok "impaired trace checks"
invites=$(grep -o '[0-9]* INVITEs sent' "$dir/h.err" | cut -d' ' -f1)
grep -q "invites $invites " "$dir/h.check"; ok "the checker counts the $invites INVITEs sent"

# Wireshark, when installed: every INVITE transmission and SIP message,
# fragmented INVITEs reassembled into SIP.
# Calls on high ports may sit on a port Wireshark gives another protocol:
# its SIP heuristics go first, as SIP is found by content.
if command -v tshark >/dev/null; then
  heur=(-o udp.try_heuristic_first:TRUE -o tcp.try_heuristic_first:TRUE)
  messages=$(sed 's/^messages \([0-9]*\).*/\1/' "$dir/h.check")
  frag=$(grep -o '[0-9]* fragmented INVITEs' "$dir/h.err" | cut -d' ' -f1)
  # One pass: "messages INVITEs fragmented-INVITEs" as Wireshark sees them.
  seen=$(tshark -r "$dir/h.pcap" "${heur[@]}" -Y sip -T fields -e sip.Method \
         -e ip.fragment.count 2>/dev/null |
         awk -F'\t' '{ m++ } $1 == "INVITE" { i++; if ($2 != "") f++ } END { print m + 0, i + 0, f + 0 }')
  read -r n_msg n_inv n_frag <<<"$seen"
  [ "$n_inv" -eq "$invites" ]; ok "tshark counts $n_inv INVITEs of $invites sent"
  [ "$n_msg" -eq "$messages" ]; ok "tshark sees $n_msg SIP messages of $messages"
  [ "$frag" -gt 0 ] && [ "$n_frag" -eq "$frag" ]; ok "tshark reassembles the $frag fragmented INVITEs into SIP ($n_frag)"
  bad=$(tshark -r "$dir/h.pcap" "${heur[@]}" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
        -o tcp.check_checksum:TRUE \
        -Y 'ip.checksum.status==0 || udp.checksum.status==0 || tcp.checksum.status==0 || _ws.malformed || _ws.expert.severity >= "warning"' \
        2>/dev/null | wc -l)
  [ "$bad" -eq 0 ]; ok "tshark sees no bad checksum, malformed packet or warning ($bad)"
else
  echo "skip: tshark not installed; the Wireshark cross-check did not run"
fi
exit $fail
