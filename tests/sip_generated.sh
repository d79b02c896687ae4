#!/usr/bin/env bash
# The SIP pipeline (programs/sip.analog) on generated traces (scalanytics
# gen sip): CALLS concurrent calls, answered, busy, failed, cancelled and
# never ended, 10% over TCP, 5% with fragmented INVITEs, 5% with a
# retransmitted request. Every call's outcome, code, URIs and times to
# the microsecond must equal the generator's ground truth; the session
# events must add up; the output must be the same at 1 and 4 threads.
# A second, short-call trace with sip.call_idle_seconds=60 checks that a
# call that never ends is reported at its idle timeout, before the end
# of input, with the same table.
#
# usage: sip_generated.sh SCALANYTICS CALLS
set -euo pipefail
bin=$1 calls=${2:-1000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# run TRACE TAG THREADS [ARGS...]: sessions and call table of one run
run() {
  local trace=$1 tag=$2 t=$3
  shift 3
  "$bin" run "$root/programs/sip.analog" --read "$trace" --threads "$t" "$@" \
      -o "$dir/sessions.$tag.jsonl" -o "sip_call=$dir/calls.$tag.csv" 2>"$dir/err.$tag" ||
    { cat "$dir/err.$tag"; bad "run $tag failed"; }
}
# same_table TAG TRUTH WHAT: the call table of run TAG equals TRUTH
same_table() {
  tail -n +2 "$dir/calls.$1.csv" | cut -d, -f2- | LC_ALL=C sort >"$dir/got.$1"
  tail -n +2 "$2" | LC_ALL=C sort >"$dir/want.$1"
  if diff "$dir/want.$1" "$dir/got.$1" >"$dir/diff.$1"; then
    ok "$3: all $(wc -l <"$dir/want.$1") calls equal the ground truth"
  else
    bad "$3: the call table differs from the ground truth ($(grep -c '^[<>]' "$dir/diff.$1") lines):"
    head -10 "$dir/diff.$1"
  fi
}
events() { grep -c "\"EVENT\": \"$2\"" "$dir/sessions.$1.jsonl" || true; }
outcomes() { tail -n +2 "$2" | cut -d, -f4 | grep -c "^$3\$" || true; }

"$bin" gen sip -o "$dir/t.pcap" --calls "$calls" --seed 7 --concurrency 500 --rate 500 \
    2>"$dir/gen.err" || { cat "$dir/gen.err"; exit 1; }
truth=$dir/t.pcap.truth.csv
run "$dir/t.pcap" t1 1
run "$dir/t.pcap" t4 4
same_table t1 "$truth" "$calls calls"
cmp -s "$dir/sessions.t1.jsonl" "$dir/sessions.t4.jsonl" && cmp -s "$dir/calls.t1.csv" "$dir/calls.t4.csv" &&
  ok "identical output at 1 and 4 threads" || bad "output differs between 1 and 4 threads"
answered=$(outcomes t1 "$truth" answered) failed=$(outcomes t1 "$truth" failed)
cancelled=$(outcomes t1 "$truth" cancelled) timeout=$(outcomes t1 "$truth" timeout)
for want in setup:$calls established:$((answered + timeout)) teardown:$answered failed:$failed \
            cancelled:$cancelled timeout:$timeout; do
  ev=${want%%:*} n=${want##*:}
  [ "$(events t1 "$ev")" -eq "$n" ] && ok "$n $ev events" || bad "$(events t1 "$ev") $ev events, want $n"
done

# never-ended calls time out after 60 s of silence, before the trace ends
"$bin" gen sip -o "$dir/s.pcap" --calls 300 --seed 8 --duration-mean 2 --rate 1 \
    --mix answered=50,unfinished=50 2>"$dir/gen2.err" || { cat "$dir/gen2.err"; exit 1; }
run "$dir/s.pcap" idle 2 --set sip.call_idle_seconds=60
same_table idle "$dir/s.pcap.truth.csv" "idle timeout"
last_us=$(tail -n +2 "$dir/s.pcap.truth.csv" | cut -d, -f6,8 | tr , '\n' | sort -n | tail -1)
early=$(grep '"EVENT": "timeout"' "$dir/sessions.idle.jsonl" |
        grep -o '"time_us": [0-9]*' | awk -v end="$last_us" '$2 < end' | wc -l)
n=$(events idle timeout)
[ "$n" -gt 0 ] && [ "$early" -gt $((n / 2)) ] &&
  ok "$early of $n never-ended calls reported at their idle timeout, before the end of input" ||
  bad "$early of $n timeouts came before the end of input"
exit $fail
