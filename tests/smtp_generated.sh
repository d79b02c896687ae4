#!/usr/bin/env bash
# The SMTP pipeline on generated traces (scalanytics gen smtp) with
# retransmitted, reordered and IP-fragmented segments, BDAT, pipelining,
# several mails per session, SMTP on ports other than 25: every mail is
# assembled exactly once and byte-identical to the ground truth, exactly
# the planted mails match (in plain text, base64 and quoted-printable
# parts), and the output is the same at 1 and 8 threads.
#
# usage: smtp_generated.sh SCALANYTICS MAILS
set -euo pipefail
bin=$1 mails=${2:-300}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
phrase=planted-needle-phrase

"$bin" gen smtp -o "$dir/t.pcap" --mails "$mails" --mean-size 20000 --seed 11 --phrase "$phrase" \
    --match-fraction 0.2 --retransmit-fraction 0.05 --reorder-fraction 0.05 --fragment-fraction 0.05 \
    --bdat-fraction 0.15 --mails-dir "$dir/truth" 2>"$dir/gen.err"
truth=$dir/t.pcap.truth.jsonl

for t in 1 8; do
  "$bin" run "$root/programs/smtp_mails.analog" --read "$dir/t.pcap" --threads $t \
      >"$dir/mails.t$t" 2>"$dir/err.t$t" || { cat "$dir/err.t$t"; bad "run failed at $t threads"; }
done
n=$(wc -l <"$dir/mails.t1")
[ "$n" -eq "$mails" ] && ok "$n of $mails mails assembled" || bad "$n of $mails mails assembled"
cmp -s <(sort "$dir/mails.t1") <(sort "$dir/mails.t8") && ok "identical output at 1 and 8 threads" ||
  bad "output differs between 1 and 8 threads"

# exactly once: every Message-ID once, and the set of raw mails equals the truth's
ids=$(grep -o '"message_id": "[^"]*"' "$dir/mails.t1" | sort)
[ "$(echo "$ids" | uniq -d | wc -l)" -eq 0 ] && ok "no mail assembled twice" || bad "mails assembled twice"
[ "$ids" = "$(grep -o '"message_id": "[^"]*"' "$truth" | sort)" ] && ok "the Message-IDs are the truth's" ||
  bad "Message-IDs differ from the truth"
mkdir -p "$dir/ours"
i=0
while IFS= read -r line; do
  i=$((i + 1))
  printf '%s' "$line" | grep -o '"RAW": "[^"]*"' | sed 's/^"RAW": "//; s/"$//' | base64 -d >"$dir/ours/$i.eml"
done <"$dir/mails.t1"
ours=$(cd "$dir/ours" && sha256sum -- * | cut -d' ' -f1 | sort)
theirs=$(cd "$dir/truth" && sha256sum -- * | cut -d' ' -f1 | sort)
[ "$ours" = "$theirs" ] && ok "every mail byte-identical to the ground truth" || bad "mail bytes differ from the truth"

# matching: exactly the planted mails, whatever their encoding
"$bin" run "$root/programs/smtp.analog" --param "PATTERN=$phrase" --read "$dir/t.pcap" --threads 4 \
    >"$dir/match" 2>"$dir/err.match" || bad "smtp.analog failed"
got=$(grep -o '"message_id": "[^"]*"' "$dir/match" | sort)
want=$(grep '"planted": true' "$truth" | grep -o '"message_id": "[^"]*"' | sort)
[ -n "$want" ] && [ "$got" = "$want" ] &&
  ok "exactly the $(echo "$want" | wc -l) planted mails match ($(grep '"planted": true' "$truth" | grep -o '"encoding": "[a-z0-9-]*"' | sort | uniq -c | tr -s ' ' | tr '\n' ';'))" ||
  bad "matched $(echo "$got" | grep -c . ) mails, want $(echo "$want" | grep -c .)"
grep -q "\"MATCHED\": \"$phrase\"" "$dir/match" && ok "the matched text is reported" || bad "no matched text"
grep -q '"retransmitted\|impaired' "$dir/gen.err" && ok "trace impaired: $(grep -o 'impaired.*' "$dir/gen.err")" || true
exit $fail
