#!/usr/bin/env bash
# Losslessness of the SPAM pipeline (issue 7): the test part of the
# SpamAssassin corpus (--split test=20, the mails train-bayes held out),
# replayed as SMTP sessions into a pcap (scalanytics gen smtp
# --replay-dir, with DATA and BDAT, several mails per session,
# retransmitted, reordered and fragmented segments), gives through
# programs/spam.analog exactly the classification, mail by mail, that
# `scalanytics classify` gives the files: the same mails are spam, with
# the same scores, and every other mail was classified (not lost) and
# is not spam. Every mail is also assembled byte-identical to its wire
# form (programs/smtp_mails.analog against --mails-dir). Skipped (77)
# without the corpus.
#
# usage: bayes_lossless.sh SCALANYTICS DATA_DIR THREADS
set -euo pipefail
export LC_ALL=C
bin=$1 data=$2 threads=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/spam_corpus.sh"
spam_corpus_require bayes.lossless "$data"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
dirs=("$data/easy_ham" "$data/easy_ham_2" "$data/hard_ham" "$data/spam" "$data/spam_2")

spam_corpus_train "$bin" "$data" "$dir/spam.nb" >/dev/null 2>"$dir/train.err" ||
  { cat "$dir/train.err"; exit 1; }
"$bin" classify --model "$dir/spam.nb" --split test=20 "${dirs[@]}" >"$dir/direct.tsv"
replay=()
for d in "${dirs[@]}"; do replay+=(--replay-dir "$d"); done
"$bin" gen smtp -o "$dir/t.pcap" "${replay[@]}" --split test=20 --seed 5 --bdat-fraction 0.2 \
    --retransmit-fraction 0.02 --reorder-fraction 0.02 --fragment-fraction 0.01 \
    --mails-dir "$dir/wire" 2>"$dir/gen.err" || { cat "$dir/gen.err"; exit 1; }
truth=$dir/t.pcap.truth.jsonl
n=$(wc -l <"$truth")
[ "$n" -eq "$(wc -l <"$dir/direct.tsv")" ] && [ "$n" -gt 0 ] &&
  ok "$n test-part mails classified directly and replayed ($(grep -o 'impaired.*' "$dir/gen.err"))" ||
  bad "$n mails replayed, $(wc -l <"$dir/direct.tsv") classified directly"
dots=$(cut -f1 "$dir/direct.tsv" | xargs grep -l '^\.' | wc -l || true)
crs=$(cut -f1 "$dir/direct.tsv" | xargs grep -l $'\r' | wc -l || true)
echo "note: of these, $dots have lines starting with '.' (dot-stuffed on the wire), $crs hold CR bytes"

# every mail assembled, byte-identical to its wire form
"$bin" run "$root/programs/smtp_mails.analog" --read "$dir/t.pcap" --threads "$threads" \
    >"$dir/mails.jsonl" 2>"$dir/mails.err" || { cat "$dir/mails.err"; bad "smtp_mails.analog failed"; }
# (the RAW fields decoded in one stream, against the wire files of the
# same mails, found by their envelope "replay-N", in the same order)
got=$(wc -l <"$dir/mails.jsonl")
sed 's/.*"mail_from": "replay-\([0-9]*\)@sender.example".*/\1/' "$dir/mails.jsonl" >"$dir/order"
once=$(sort -u "$dir/order" | wc -l)
sed "s|^|$dir/wire/|; s|\$|.eml|" "$dir/order" | xargs cat >"$dir/wire.all"
sed 's/.*"RAW": "\([^"]*\)".*/\1/' "$dir/mails.jsonl" | base64 -d >"$dir/raw.all"
[ "$got" -eq "$n" ] && [ "$once" -eq "$n" ] && cmp -s "$dir/wire.all" "$dir/raw.all" &&
  ok "all $got mails assembled once each, byte-identical to their wire form" ||
  bad "$got mails assembled ($once distinct) of $n, or bytes differ from the wire form"

# the pipeline's classification, mail by mail, against classify's
"$bin" run "$root/programs/spam.analog" --param "MODEL=$dir/spam.nb" --read "$dir/t.pcap" \
    --threads "$threads" >"$dir/spam.jsonl" 2>"$dir/spam.err" || { cat "$dir/spam.err"; bad "spam.analog failed"; }
classified=$(awk '$1 == "bayes.classified" {print $2}' "$dir/spam.err")
errors=$(awk '$1 == "spam_classifier" {print $(NF-1)}' "$dir/spam.err")
[ "${classified:-0}" -eq "$n" ] && [ "${errors:-1}" -eq 0 ] &&
  ok "spam.analog classified all $n mails, no function errors" ||
  bad "spam.analog classified ${classified:-0} of $n mails, ${errors:-?} errors"
# mail number -> file (truth), file -> class and score (direct)
sed 's/.*"mail": \([0-9]*\),.*"file": "\([^"]*\)".*/\1\t\2/' "$truth" | sort -k1,1 >"$dir/number_file"
awk -F'\t' '{print $1 "\t" $2 "\t" $3}' "$dir/direct.tsv" | sort -k1,1 >"$dir/file_class"
sed 's/.*"mail_from": "replay-\([0-9]*\)@sender.example".*"CLASS": "\([^"]*\)", "SCORE": \([^}]*\)}.*/\1 \2 \3/' \
    "$dir/spam.jsonl" | awk '{printf "%s\t%s\t%.6f\n", $1, $2, $3}' | sort -k1,1 >"$dir/pipeline_spam"
join -t $'\t' "$dir/number_file" "$dir/pipeline_spam" | awk -F'\t' '{print $2 "\t" $3 "\t" $4}' |
    sort >"$dir/pipeline_by_file"
awk -F'\t' '$2 == "spam"' "$dir/file_class" | sort >"$dir/direct_spam"
spam=$(wc -l <"$dir/direct_spam")
if cmp -s "$dir/pipeline_by_file" "$dir/direct_spam"; then
  ok "the same $spam mails are spam, with the same scores; the other $((n - spam)) are not, as classify says"
else
  bad "the pipeline's spam differs from classify's:"
  diff "$dir/direct_spam" "$dir/pipeline_by_file" | head -20
fi
exit $fail
