#!/usr/bin/env bash
# The reference's example from ../shared/DESIGN.md, run as written
# (tests/run/reference_smtp.analog): on a generated trace where "hello" is
# planted in some mails (plain, base64 or quoted-printable), exactly those
# mails come out as positive_match, at 1 and 4 threads alike.
#
# usage: reference_example.sh SCALANYTICS
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" gen smtp -o "$dir/t.pcap" --mails 60 --mean-size 8000 --seed 3 --phrase hello \
    --match-fraction 0.25 2>/dev/null
want=$(grep -c '"planted": true' "$dir/t.pcap.truth.jsonl")
fail=0
for t in 1 4; do
  "$bin" run "$here/run/reference_smtp.analog" --read "$dir/t.pcap" --threads $t >"$dir/o$t" 2>"$dir/e$t" ||
    { cat "$dir/e$t"; fail=1; }
  got=$(grep -c '"relation": "positive_match"' "$dir/o$t" || true)
  if [ "$got" = "$want" ] && [ "$(wc -l <"$dir/o$t")" = "$want" ]; then
    echo "ok: $t threads: $got positive_match tuples, one per planted mail"
  else
    echo "FAIL: $t threads: $got positive_match of $(wc -l <"$dir/o$t") outputs, want $want"; fail=1
  fi
done
cmp -s <(sort "$dir/o1") <(sort "$dir/o4") && echo "ok: same output at 1 and 4 threads" ||
  { echo "FAIL: output differs"; fail=1; }
exit $fail
