#!/usr/bin/env bash
# Malformed SIP (issue 8): programs/sip.analog over the hostile capture of
# tests/make_sip_hostile.c -- cut-short headers, no Call-ID, a word for a
# CSeq number, a 65,000-byte Route line, random bytes, lying length
# fields, a 100 KB header line on TCP followed by a valid message, binary
# bytes after a request line, a body shorter than its Content-Length, and
# orphan messages -- interleaved with four good calls (UDP, TCP, a
# fragmented INVITE). Nothing may crash; the good calls come out exactly
# as planted, at 1 and 4 threads alike; every malformed message is
# counted under sip.malformed and its reason; none makes an output line.
#
# The maker prints what must come out (see its header): the good calls'
# sip_call lines, exact counter values, and Call-IDs that must not
# appear. What the pipeline does with each hostile input:
#   UDP, looks like SIP (f_processUDPDetector) -> sip.malformed, 5 in all:
#     cut-short headers: sip.truncated; no Call-ID: sip.missing_call_id;
#     "CSeq: one INVITE": sip.bad_cseq; request line + binary bytes:
#     sip.binary; the 65,000-byte Route line: sip.too_many_items (its
#     thousands of ',' are over sip.max_header_items; a UDP payload, at
#     most 65,507 bytes, can never exceed the 64 KiB header cap, so
#     sip.header_too_big is shown by a run with the cap at 16 KiB).
#   UDP, not SIP -> no sip.* counter: 4 KiB of random bytes and the empty
#     payload (no start line), the UDP length larger than the packet
#     (f_processUDPDetector refuses the packet and counts it in
#     udp.bad_length; sip.bad_packet stays 0), the IP total length larger
#     than the frame (capture "malformed").
#   TCP: the 100 KB header line makes the direction unframable at 64 KiB:
#     sip.stream_desync 1, and every byte the client sent, the valid
#     INVITE after it included, is sip.stream_bytes_ignored; the binary
#     bytes (no line end) and the short body wait for more bytes until
#     FIN: sip.stream_leftover_bytes.
#   Orphans: the BYE and its 200 -> sip.orphan_messages 2, no output.
#
# usage: sip_hostile.sh SCALANYTICS MAKE_SIP_HOSTILE
set -euo pipefail
bin=$1 mk=$2
here=$(cd "$(dirname "$0")" && pwd)
prog=$(dirname "$here")/programs/sip.analog
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
nt() { sed 's/"token": [0-9]*, //' "$1"; } # output lines without their token

"$mk" "$dir/h.pcap" >"$dir/expected" 2>"$dir/mk.err" || { cat "$dir/mk.err"; bad "make_sip_hostile failed"; exit 1; }

# stats NAME: the counters and capture statistics of run NAME's --stats
# JSON as "counter NAME VALUE" and "capture NAME VALUE" lines.
stats() {
  local what
  for what in counters capture; do
    { grep -o "\"$what\": {[^}]*}" "$dir/$1.json" || true; } | sed 's/^[^{]*{//; s/}$//' | tr ',' '\n' |
      sed "s/^ *\"\\([^\"]*\\)\": */${what%s} \\1 /"
  done >"$dir/$1.stats"
}

# run NAME ARGS...: the program over the capture into NAME.jsonl,
# NAME.json (--stats), NAME.stats, NAME.err.
run() {
  local name=$1 rc=0; shift
  "$bin" run "$prog" --read "$dir/h.pcap" --stats="$dir/$name.json" -o "$dir/$name.jsonl" "$@" \
    2>"$dir/$name.err" || rc=$?
  if [ "$rc" = 0 ]; then ok "$name: exit status 0"; else tail -20 "$dir/$name.err"; bad "$name: exit status $rc"; fi
  if grep -q "Sanitizer\|runtime error" "$dir/$name.err"; then
    cat "$dir/$name.err"; bad "$name: sanitizer report"
  fi
  [ -e "$dir/$name.jsonl" ] || : >"$dir/$name.jsonl"
  if [ -s "$dir/$name.json" ]; then stats "$name"; else bad "$name: no --stats file"; : >"$dir/$name.stats"; fi
}

# check_run NAME: the good calls exactly as planted and nothing else, and
# the counters the maker expects ($TOO_MANY / $TOO_BIG replace its
# sip.too_many_items / sip.header_too_big).
check_run() {
  local name=$1 out=$dir/$1.jsonl n id from to outcome code start answer end duration want others
  n=$(grep -c '"relation": "sip_call"' "$out" || true)
  [ "$n" = 4 ] && ok "$name: 4 sip_call lines" || bad "$name: $n sip_call lines, want 4"
  while read -r _ id from to outcome code start answer end duration; do
    want="\"CALL_ID\": \"$id\", \"FROM\": \"$from\", \"TO\": \"$to\", \"OUTCOME\": \"$outcome\", \"CODE\": $code, \"START_US\": $start, \"ANSWER_US\": $answer, \"END_US\": $end, \"DURATION_US\": $duration}"
    if grep '"relation": "sip_call"' "$out" | grep -qF "$want"; then
      ok "$name: $id $outcome $code, $duration us"
    else
      grep '"relation": "sip_call"' "$out" | grep -F "\"$id\"" || true
      bad "$name: $id: no sip_call line $want"
    fi
  done < <(awk '$1 == "call"' "$dir/expected")
  others=$(grep -o '"CALL_ID": "[^"]*"' "$out" | sed 's/.*: "//; s/"$//' | sort -u |
    grep -vxF -f <(awk '$1 == "call" { print $2 }' "$dir/expected") || true)
  [ -z "$others" ] && ok "$name: only the good calls have output lines" ||
    bad "$name: other Call-IDs in the output: $others"
  others=$(grep -oF -f <(awk '$1 == "absent" { print $2 }' "$dir/expected") "$out" | sort -u || true)
  [ -z "$others" ] && ok "$name: no malformed, desynced or orphan Call-ID in the output" ||
    bad "$name: in the output: $others"
  awk -v run="$name" -v many="${TOO_MANY:-}" -v big="${TOO_BIG:-}" '
    FNR == NR { got[$1 " " $2] = $3; next }
    $1 == "counter" || $1 == "capture" {
      want = $3
      if ($2 == "sip.too_many_items" && many != "") want = many
      if ($2 == "sip.header_too_big" && big != "") want = big
      k = $1 " " $2
      if (!(k in got)) { print "FAIL: " run ": " k " missing from --stats"; bad = 1 }
      else if (got[k] != want) { print "FAIL: " run ": " k " = " got[k] ", want " want; bad = 1 }
      else print "ok: " run ": " k " = " want
    }
    END { exit bad }' "$dir/$name.stats" "$dir/expected" || fail=1
}

run t1 --threads 1
run t4 --threads 4
check_run t1
check_run t4
# The same output (in token order) and counters at 1 and 4 threads.
if cmp -s <(nt "$dir/t1.jsonl") <(nt "$dir/t4.jsonl"); then
  ok "1 and 4 threads: the same $(wc -l <"$dir/t1.jsonl") output lines"
else
  diff <(nt "$dir/t1.jsonl") <(nt "$dir/t4.jsonl") | head -20; bad "1 and 4 threads: outputs differ"
fi
cmp -s "$dir/t1.stats" "$dir/t4.stats" && ok "1 and 4 threads: the same counters" ||
  { diff "$dir/t1.stats" "$dir/t4.stats"; bad "1 and 4 threads: counters differ"; }

# With the header cap at 16 KiB the 65,000-byte Route line is over it:
# counted sip.header_too_big instead; nothing else changes.
run cap16k --threads 2 --set sip.max_header_bytes=16384
TOO_MANY=0 TOO_BIG=1 check_run cap16k
cmp -s <(nt "$dir/t1.jsonl") <(nt "$dir/cap16k.jsonl") && ok "16 KiB header cap: the same output" ||
  bad "16 KiB header cap: the output differs"
exit $fail
