#!/usr/bin/env bash
# The pipeline split across two processes on loopback (components 0-1 in
# the sender, 2-4 in the receiver, batches over ZeroMQ tcp) must produce
# the same sink output as one process.
# usage: demo_split.sh SCALANYTICS COUNT [--encode-local]
set -u
bin=$1 count=$2 enc=${3:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"; kill $recv 2>/dev/null' EXIT
"$bin" demo --threads 2 --count "$count" --output "$dir/ref" 2>/dev/null || { echo "FAIL: single-process run"; exit 1; }
for attempt in 1 2 3 4 5; do
  port=$(( 20000 + (RANDOM % 20000) ))
  ep="tcp://127.0.0.1:$port"
  "$bin" demo --threads 2 $enc --role receive --endpoint "$ep" --output "$dir/split" 2>"$dir/recv.log" &
  recv=$!
  sleep 0.3
  if kill -0 $recv 2>/dev/null; then break; fi
  wait $recv; echo "receiver could not bind $ep, retrying: $(cat "$dir/recv.log")"
done
timeout 120 "$bin" demo --threads 2 $enc --role send --endpoint "$ep" --count "$count" 2>"$dir/send.log"
src=$?
timeout 120 bash -c "while kill -0 $recv 2>/dev/null; do sleep 0.1; done"
wait $recv; rrc=$?
cat "$dir/send.log" "$dir/recv.log"
[ $src -eq 0 ] || { echo "FAIL: sender exited $src"; exit 1; }
[ $rrc -eq 0 ] || { echo "FAIL: receiver exited $rrc"; exit 1; }
cmp "$dir/ref" "$dir/split" || { echo "FAIL: split output differs from one process"; exit 1; }
echo "ok: split over $ep: $(wc -l <"$dir/split") lines identical"
