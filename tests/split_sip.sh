#!/usr/bin/env bash
# The SIP pipeline split over processes on loopback
# (programs/sip_split.analog): capture | two trackers (the Call-ID's
# owner in the "trackers" group) | collector. Heartbeats follow the
# events to the trackers, so the calls that never end are reported at
# the end of input there too: the collector's call table and session
# events equal the single-process run's, and both trackers got work.
# usage: split_sip.sh SCALANYTICS CALLS
set -u
bin=$1 calls=${2:-2000}
dir=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$dir"' EXIT
prog=$(cd "$(dirname "$0")/.." && pwd)/programs/sip_split.analog
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do echo "== $f"; tail -n 15 "$f"; done; exit 1; }
args=(run "$prog" -j 2)

"$bin" gen sip -o "$dir/t.pcap" --calls "$calls" --seed 5 --concurrency 300 --rate 300 \
    >/dev/null 2>&1 || fail "gen sip"
"$bin" "${args[@]}" --read "$dir/t.pcap" -o "$dir/single.jsonl" -o "sip_call=$dir/single.csv" \
    2>"$dir/single.log" || fail "single-process run"
timeouts=$(grep -c '"EVENT": "timeout"' "$dir/single.jsonl")
[ "$timeouts" -gt 0 ] || fail "no call still open at the end in the single-process run"

base=$(( 21000 + (RANDOM % 20000) ))
cat >"$dir/lab.conf" <<EOC
node capture tcp://127.0.0.1:$base source
node tracker1 tcp://127.0.0.1:$((base + 1))
node tracker2 tcp://127.0.0.1:$((base + 2))
node collector tcp://127.0.0.1:$((base + 3))
group trackers tracker1 tracker2
EOC
node() { local name=$1; shift
  "$bin" "${args[@]}" --deploy "$dir/lab.conf" --node "$name" --stats="$dir/$name.json" "$@" \
      2>"$dir/$name.log" &
  pids+=($!); }
wait_for() { timeout 120 tail --pid="$1" -f /dev/null || { kill -9 "$1"; wait "$1"; return 124; }; wait "$1"; }
node collector -o "$dir/split.jsonl" -o "sip_call=$dir/split.csv"; coll=$!
node tracker1; t1=$!
node tracker2; t2=$!
"$bin" "${args[@]}" --deploy "$dir/lab.conf" --node capture --read "$dir/t.pcap" \
    2>"$dir/capture.log" || fail "capture node"
for p in $coll $t1 $t2; do wait_for "$p" || fail "a receiving node exited $?"; done

cmp -s <(tail -n +2 "$dir/single.csv" | sort) <(tail -n +2 "$dir/split.csv" | sort) ||
  fail "the collector's call table differs from the single-process run's"
echo "ok: the collector's call table ($calls calls, $timeouts still open at the end) equals the single-process run's"
strip() { sed -E 's/"token": [0-9]+, //' "$1" | sort; }
cmp -s <(strip "$dir/single.jsonl") <(strip "$dir/split.jsonl") ||
  fail "the collector's session events differ from the single-process run's"
echo "ok: the session events equal the single-process run's"
for t in tracker1 tracker2; do
  n=$(grep -o '"received": [0-9]*' "$dir/$t.json" | awk '{s += $2} END {print s + 0}')
  [ "$n" -gt 0 ] || fail "$t received nothing"
  echo "ok: $t received $n batches"
done
