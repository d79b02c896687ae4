#!/usr/bin/env bash
# `scalanytics gen dos`: bad usage is refused (status 2), write errors
# reported (status 1); the same seed gives the same bytes and another
# seed others; the truth's lines per label, kind and flag are the
# summary's; an independent checker (libpcap) follows every connection
# and derives its flag from the packets; turning the attacks off leaves
# the benign sessions as they were; --half-open writes 100,000 SYNs fast;
# tcpdump reads every packet and tshark counts the truth's connections
# in the SYNs without ACK, and sees no bad checksum or malformed packet.
# usage: gen_dos.sh SCALANYTICS TEST_GEN_DOS
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
# summary_counts ERR: "name count" per label, kind and flag, sorted
summary_counts() {
  sed -n 's/^gen dos: [0-9]* connections (\([^)]*\)).*/\1/p' "$1" | tr ';' ',' | tr ',' '\n' |
    sed 's/^ *//' | grep -v ' 0$' | sort
}
# truth_counts TRUTH: the same from the truth's lines
truth_counts() {
  awk -F, 'NR > 1 { n[$6]++; n[$7]++; n[$8]++ } END { for (k in n) print k, n[k] }' "$1" | sort
}

# Usage: explained, and every bad value named.
expect 0 "dos " gen --help
expect 0 "src,sport,dst,dport,start_us,label,kind,flag" gen dos --help
expect 2 "give -o FILE.pcap" gen dos
expect 2 "--duration wants a number from 0.001" gen dos -o "$dir/x.pcap" --duration 0
expect 2 "--benign-rate wants a number" gen dos -o "$dir/x.pcap" --benign-rate fast
expect 2 "--syn-flood-start 50 and --syn-flood-length 12 do not fit in --duration 60" \
  gen dos -o "$dir/x.pcap" --syn-flood-start 50
expect 2 "--scan-ports wants a number from 1 to 65535" gen dos -o "$dir/x.pcap" --scan-ports 70000
expect 2 "--syn-answered wants a number from 0 to 100" gen dos -o "$dir/x.pcap" --syn-answered 101
expect 2 "give more --clients" gen dos -o "$dir/x.pcap" --clients 1 --benign-rate 1000
expect 2 "every kind of traffic is turned off" gen dos -o "$dir/x.pcap" --no-benign \
  --no-syn-flood --no-conn-flood --no-port-scan
expect 2 "--half-open wants a number from 1" gen dos -o "$dir/x.pcap" --half-open 0
expect 2 "unexpected argument 'extra'" gen dos -o "$dir/x.pcap" extra
expect 2 "unrecognized option" gen dos -o "$dir/x.pcap" --frobnicate
# Write errors.
expect 1 "cannot create /nonexistent/dir/x.pcap" gen dos -o /nonexistent/dir/x.pcap
if [ -w /dev/full ]; then
  expect 1 "cannot write /dev/full: No space left on device" gen dos -o /dev/full --truth "$dir/t.csv"
  expect 1 "cannot write /dev/full" gen dos -o "$dir/x.pcap" --truth /dev/full
fi

# Determinism: same options, same bytes; another seed, other bytes.
"$bin" gen dos -o "$dir/a.pcap" 2>"$dir/a.err"
"$bin" gen dos -o "$dir/b.pcap" 2>/dev/null
"$bin" gen dos -o "$dir/c.pcap" --seed 2 2>/dev/null
cmp -s "$dir/a.pcap" "$dir/b.pcap"; ok "same seed, same pcap"
cmp -s "$dir/a.pcap.truth.csv" "$dir/b.pcap.truth.csv"; ok "same seed, same truth (default name FILE.truth.csv)"
! cmp -s "$dir/a.pcap" "$dir/c.pcap"; ok "another seed, another pcap"
! cmp -s "$dir/a.pcap.truth.csv" "$dir/c.pcap.truth.csv"; ok "another seed, another truth"

# The summary and the truth agree, line counts per label, kind and flag;
# the default attacks: 12 s of 1000 SYN/s, 3 s of 200 connections/s, 1024 ports.
cat "$dir/a.err"
[ -n "$(summary_counts "$dir/a.err")" ] && [ "$(summary_counts "$dir/a.err")" = "$(truth_counts "$dir/a.pcap.truth.csv")" ]
ok "the truth's lines per label, kind and flag are the summary's"
grep -q "syn_flood 12000, conn_flood 600, port_scan 1024;" "$dir/a.err"; ok "default attacks: 12000 SYNs, 600 connections, 1024 probes"
conns=$(sed -n 's/^gen dos: \([0-9]*\) connections.*/\1/p' "$dir/a.err")
packets=$(grep -o '[0-9]* packets' "$dir/a.err" | cut -d' ' -f1)
payload=$(grep -o '[0-9]* payload bytes' "$dir/a.err" | cut -d' ' -f1)
[ "$(($(wc -l <"$dir/a.pcap.truth.csv") - 1))" -eq "$conns" ]; ok "a truth line per connection ($conns)"
[ "$(tail -n +2 "$dir/a.pcap.truth.csv" | cut -d, -f1-4 | sort | uniq -d | wc -l)" -eq 0 ]
ok "no 4-tuple twice"

# The independent checker: every connection followed, every flag derived.
"$checker" check "$dir/a.pcap" "$dir/a.pcap.truth.csv" >"$dir/a.check"; ok "default trace checks"
grep -q "^connections $conns packets $packets syns $conns payload $payload " "$dir/a.check"
ok "the checker counts the summary's connections, packets, SYNs and payload"
# Answered flood SYNs (still S0), other windows and rates, few servers.
"$bin" gen dos -o "$dir/v.pcap" --duration 20 --seed 3 --syn-answered 30 --syn-flood-rate 3000 \
  --syn-flood-start 1 --syn-flood-length 2 --conn-flood-rate 500 --attackers 2 --scan-ports 65535 \
  --scan-rate 5000 --scan-start 10 --scan-length 5 --servers 3 --benign-rate 80 2>"$dir/v.err"
"$checker" check "$dir/v.pcap" "$dir/v.pcap.truth.csv" >"$dir/v.check"; ok "varied trace checks"
[ "$(summary_counts "$dir/v.err")" = "$(truth_counts "$dir/v.pcap.truth.csv")" ]; ok "varied: truth and summary agree"
grep -q "syn_flood 6000, conn_flood 500, port_scan 25000;" "$dir/v.err" && grep -q "RSTOS0 [1-9]" "$dir/v.err"
ok "varied: 6000 SYNs (some answered), 500 connections, 25000 probes (open ports RSTOS0)"

# Turning the attacks off changes no benign session (its own streams).
"$bin" gen dos -o "$dir/n.pcap" --no-syn-flood --no-conn-flood --no-port-scan 2>/dev/null
benign() { awk -F, '$6 == "normal" { print $1, $2, $3, $4, $7, $8 }' "$1"; }
[ "$(benign "$dir/a.pcap.truth.csv")" = "$(benign "$dir/n.pcap.truth.csv")" ]; ok "benign sessions unchanged without the attacks"
[ "$(awk -F, 'NR > 1 && $6 != "normal"' "$dir/n.pcap.truth.csv" | wc -l)" -eq 0 ]; ok "--no-... turns the attacks off"

# Half-open connections: 100,000 SYNs from distinct sources, fast.
start=$(date +%s%N)
"$bin" gen dos -o "$dir/h.pcap" --half-open 100000 2>"$dir/h.err"; ok "--half-open 100000"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ]; ok "--half-open 100000 in $ms ms"
[ "$(stat -c %s "$dir/h.pcap")" -eq $((24 + 100000 * (16 + 54))) ]; ok "54-byte frames: 7,000,024 bytes"
"$checker" check "$dir/h.pcap" "$dir/h.pcap.truth.csv" >"$dir/h.check"; ok "half-open trace checks"
grep -q "^connections 100000 packets 100000 syns 100000 payload 0 SF 0 S0 100000 " "$dir/h.check"
ok "100000 half-open connections, S0"
[ "$(tail -n +2 "$dir/h.pcap.truth.csv" | cut -d, -f1 | sort -u | wc -l)" -eq 100000 ]; ok "distinct spoofed sources"

# The trace reads back: tcpdump and tshark, when installed.
if command -v tcpdump >/dev/null; then
  n=$(tcpdump -nr "$dir/a.pcap" 2>/dev/null | wc -l)
  [ "$n" -eq "$packets" ]; ok "tcpdump reads all $packets packets"
else
  echo "skip: tcpdump not installed"
fi
if command -v tshark >/dev/null; then
  syns=$(tshark -r "$dir/a.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)
  [ "$syns" -eq "$conns" ]; ok "tshark counts $syns SYNs without ACK: the truth's $conns connections"
  # One pass over the varied trace: bad IPv4 or TCP checksums, malformed packets.
  bad=$(tshark -r "$dir/v.pcap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
        -T fields -e ip.checksum.status -e tcp.checksum.status -e _ws.malformed 2>/dev/null |
        awk -F'\t' '$1 != 1 || $2 != 1 || $3 != "" { n++ } END { print n + 0 }')
  [ "$bad" -eq 0 ]; ok "tshark sees no bad checksum or malformed packet ($bad)"
else
  echo "skip: tshark not installed; the Wireshark cross-check did not run"
fi
exit $fail
