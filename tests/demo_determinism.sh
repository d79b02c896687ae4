#!/usr/bin/env bash
# The sink's output (last stage serial) must be byte-identical for 1, 2, 4
# and 8 threads, with and without --encode-local.
# usage: demo_determinism.sh SCALANYTICS COUNT
set -u
bin=$1 count=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
"$bin" demo --threads 1 --count "$count" --output "$dir/ref" 2>"$dir/ref.log" || { cat "$dir/ref.log"; exit 1; }
[ -s "$dir/ref" ] || { echo "FAIL: reference output is empty"; exit 1; }
for threads in 1 2 4 8; do
  for enc in "" --encode-local; do
    out="$dir/t$threads$enc"
    if ! "$bin" demo --threads "$threads" $enc --count "$count" --output "$out" 2>"$out.log"; then
      echo "FAIL: threads $threads $enc: the demo's own checks failed"; cat "$out.log"; fail=1
    elif ! cmp -s "$dir/ref" "$out"; then
      echo "FAIL: threads $threads $enc: output differs from threads 1"; fail=1
    else
      echo "ok: threads $threads ${enc:-(by reference)}: $(wc -l <"$out") lines identical"
    fi
  done
done
exit $fail
