#!/usr/bin/env bash
# `scalanytics gen smtp`: bad usage is refused (status 2), write errors
# reported (status 1); the same seed gives the same bytes and another
# seed others; the impairments change only the order of the truth lines;
# the trace reassembles (checksums, sequence numbers, fragments, SMTP,
# dot-stuffing, BDAT) to exactly the mails the truth file and the .eml
# files describe; and, when tshark is installed, Wireshark finds every
# mail with the same bytes.
# usage: gen_smtp.sh SCALANYTICS TEST_GEN_SMTP
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
same() { # same FILE1 FILE2 WHAT
  if cmp -s "$1" "$2"; then echo "ok: $3"; else echo "FAIL: $3"; fail=1; fi
}
differ() { # differ FILE1 FILE2 WHAT
  if cmp -s "$1" "$2"; then echo "FAIL: $3"; fail=1; else echo "ok: $3"; fi
}

# Usage: explained, and every bad value named.
expect 0 "generators:" gen --help
expect 0 "--mails-per-session" gen smtp --help
expect 2 "unknown generator 'nope'" gen nope
expect 2 "usage:" gen
expect 2 "give -o FILE.pcap" gen smtp
expect 2 "--mails wants a number from 1" gen smtp -o "$dir/x.pcap" --mails 0
expect 2 "--mean-size wants a number from 200" gen smtp -o "$dir/x.pcap" --mean-size 10
expect 2 "--match-fraction wants a number from 0 to 1" gen smtp -o "$dir/x.pcap" --match-fraction 1.5
expect 2 "--reorder-fraction wants a number" gen smtp -o "$dir/x.pcap" --reorder-fraction lots
expect 2 "--mails-per-session wants MIN-MAX" gen smtp -o "$dir/x.pcap" --mails-per-session 5-2
expect 2 "--concurrency wants a number" gen smtp -o "$dir/x.pcap" --concurrency 0
expect 2 "--mss wants a number from 64 to 9000" gen smtp -o "$dir/x.pcap" --mss 20000
expect 2 "--rate-mbps wants a number from 1 to" gen smtp -o "$dir/x.pcap" --rate-mbps 0.5
expect 2 "--phrase wants 4 to 200" gen smtp -o "$dir/x.pcap" --phrase abc
expect 2 "occurs in the generator's filler" gen smtp -o "$dir/x.pcap" --phrase meeting
expect 2 "unexpected argument 'extra'" gen smtp -o "$dir/x.pcap" extra
expect 2 "unrecognized option" gen smtp -o "$dir/x.pcap" --frobnicate
# Write errors.
expect 1 "cannot create /nonexistent/dir/x.pcap" gen smtp -o /nonexistent/dir/x.pcap --mails 5
if [ -w /dev/full ]; then
  expect 1 "cannot write /dev/full: No space left on device" gen smtp -o /dev/full --truth "$dir/t.jsonl" --mails 20 --mean-size 100000
  expect 1 "cannot write /dev/full" gen smtp -o "$dir/x.pcap" --truth /dev/full --mails 3000 --mean-size 200
fi

# Determinism: same options, same bytes; another seed, other bytes.
small=(--mails 300 --mean-size 6000 --concurrency 16)
"$bin" gen smtp -o "$dir/a.pcap" "${small[@]}" 2>/dev/null
"$bin" gen smtp -o "$dir/b.pcap" "${small[@]}" 2>"$dir/b.err"
"$bin" gen smtp -o "$dir/c.pcap" "${small[@]}" --seed 2 2>/dev/null
same "$dir/a.pcap" "$dir/b.pcap" "same seed, same pcap"
same "$dir/a.pcap.truth.jsonl" "$dir/b.pcap.truth.jsonl" "same seed, same truth (default name FILE.truth.jsonl)"
differ "$dir/a.pcap" "$dir/c.pcap" "another seed, another pcap"
differ "$dir/a.pcap.truth.jsonl" "$dir/c.pcap.truth.jsonl" "another seed, another truth"
if grep -q "^gen smtp: 300 mails (30 planted: 10 plain, 10 base64, 10 quoted-printable" "$dir/b.err"; then
  echo "ok: summary line"; else echo "FAIL: summary line:"; cat "$dir/b.err"; fail=1; fi

# The impairments and the concurrency change the order, not the contents.
"$bin" gen smtp -o "$dir/d.pcap" "${small[@]}" --concurrency 3 --retransmit-fraction 0 \
  --reorder-fraction 0 --fragment-fraction 0 2>/dev/null
sort "$dir/a.pcap.truth.jsonl" >"$dir/a.sorted"; sort "$dir/d.pcap.truth.jsonl" >"$dir/d.sorted"
same "$dir/a.sorted" "$dir/d.sorted" "impairments and concurrency do not change the mails"

# The trace reassembles to the mails: heavy impairments, small MSS, many
# BDAT mails and sessions on other ports; then the defaults.
"$bin" gen smtp -o "$dir/e.pcap" --mails 400 --mean-size 5000 --mss 536 --bdat-fraction 0.3 \
  --any-port-fraction 0.3 --retransmit-fraction 0.05 --reorder-fraction 0.05 \
  --fragment-fraction 0.05 --mails-per-session 1-8 --mails-dir "$dir/e.mails" 2>/dev/null
if "$checker" check "$dir/e.pcap" "$dir/e.pcap.truth.jsonl" "$dir/e.mails" \
     scalanytics-planted-phrase 400 40; then echo "ok: impaired trace checks"
else echo "FAIL: impaired trace"; fail=1; fi
"$bin" gen smtp -o "$dir/f.pcap" --truth "$dir/f.jsonl" --mails 60 --mails-dir "$dir/f.mails" 2>/dev/null
if "$checker" check "$dir/f.pcap" "$dir/f.jsonl" "$dir/f.mails" scalanytics-planted-phrase 60 6
then echo "ok: default trace checks"; else echo "FAIL: default trace"; fail=1; fi
"$bin" gen smtp -o "$dir/g.pcap" --mails 50 --mean-size 3000 --phrase 'Needle in a haystack!' \
  --match-fraction 0.5 --mails-dir "$dir/g.mails" 2>/dev/null
if "$checker" check "$dir/g.pcap" "$dir/g.pcap.truth.jsonl" "$dir/g.mails" \
     'Needle in a haystack!' 50 25; then echo "ok: own phrase trace checks"
else echo "FAIL: own phrase trace"; fail=1; fi

# Wireshark, when installed, reads the trace and finds every mail with the
# bytes generated (a trace without BDAT, which tshark 4.0 does not follow).
if command -v tshark >/dev/null; then
  "$bin" gen smtp -o "$dir/h.pcap" --mails 120 --mean-size 8000 --bdat-fraction 0 \
    --retransmit-fraction 0.02 --reorder-fraction 0.02 --fragment-fraction 0.02 \
    --mails-dir "$dir/h.mails" 2>/dev/null
  ports=(-d tcp.port==2525,smtp -d tcp.port==587,smtp -o tcp.reassemble_out_of_order:TRUE)
  n=$(tshark -r "$dir/h.pcap" "${ports[@]}" -Y imf -T fields -e imf.message_id 2>/dev/null | sort -u | wc -l)
  if [ "$n" -eq 120 ]; then echo "ok: tshark finds all 120 mails"
  else echo "FAIL: tshark finds $n mails of 120"; fail=1; fi
  bad=$(tshark -r "$dir/h.pcap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
        -Y 'ip.checksum.status==0 || tcp.checksum.status==0 || _ws.malformed' 2>/dev/null | wc -l)
  if [ "$bad" -eq 0 ]; then echo "ok: tshark sees no bad checksum or malformed packet"
  else echo "FAIL: tshark: $bad bad packets"; fail=1; fi
  mkdir "$dir/h.export"
  tshark -r "$dir/h.pcap" "${ports[@]}" --export-objects "imf,$dir/h.export" -q >/dev/null 2>&1
  if "$checker" export "$dir/h.export" "$dir/h.mails"; then echo "ok: tshark's mails = generated"
  else echo "FAIL: tshark's exported mails"; fail=1; fi
else
  echo "skip: tshark not installed; the Wireshark cross-check did not run"
fi
exit $fail
