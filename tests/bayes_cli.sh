#!/usr/bin/env bash
# `scalanytics train-bayes` and `scalanytics classify` as a user meets
# them, on mails made here: usage errors (exit 2, a message), training
# three classes and classifying (one "path<TAB>class<TAB>score" line per
# mail), an mbox split into its mails, non-mail files skipped and
# counted, --tokens; mails with dot lines, bare CRs, CRLF, no final line
# end and an mbox replayed (gen smtp --replay-dir) through
# programs/smtp_mails.analog and spam.analog: assembled byte-identical to
# their wire form, classified as classify does; then bad input: empty, truncated and foreign model
# files (exit 1, a message naming the file and the problem, from
# classify and from `run programs/spam.analog`), a mail of 10 MB of
# base64 without a newline and one with broken MIME (a class, promptly).
#
# usage: bayes_cli.sh SCALANYTICS
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
# expect STATUS PATTERN CMD...: CMD exits STATUS and says PATTERN on stderr
expect() {
  local want=$1 pattern=$2; shift 2
  local rc=0
  "$@" >"$dir/out" 2>"$dir/err" || rc=$?
  if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$dir/err"; then
    ok "exit $rc, '$pattern': ${*:2}"
  else
    bad "want exit $want and '$pattern', got exit $rc: $*"; cat "$dir/err"
  fi
}

# mails of three classes, a few words each, and two files that are not mail
mk() { # mk DIR N SUBJECT WORDS...
  local d=$1 n=$2 subject=$3; shift 3
  mkdir -p "$d"
  for i in $(seq 1 "$n"); do
    printf 'From: someone%s@example.org\nSubject: %s %s\n\n%s and %s\n' "$i" "$subject" "$i" "$*" \
      "$(echo "$@" | tr ' ' '\n' | sed -n "$(( (i % $#) + 1 ))p")" >"$d/$i.eml"
  done
}
mk "$dir/sports" 12 match striker goal league football team coach season
mk "$dir/cooking" 12 recipe garlic butter flour bake simmer basil pasta
mk "$dir/spam" 12 trip hotel airport ferry island ticket passport beach
printf 'mv 00001.abc 00001.def\n' >"$dir/sports/cmds"
printf '\x00\x01binary' >"$dir/cooking/blob.bin"

expect 2 "at least two classes" "$bin" train-bayes --class "a=$dir/sports"
expect 2 "needs --folds" "$bin" train-bayes --class "a=$dir/sports" --class "b=$dir/spam" --sweep b
expect 2 "wants NAME=VALUE" "$bin" train-bayes --class "$dir/sports"
expect 2 "test=PCT" "$bin" train-bayes --class "a=$dir/sports" --class "b=$dir/spam" --split 20
expect 2 "which no --class gives" "$bin" train-bayes --class "a=$dir/sports" --class "b=$dir/spam" --threshold c=0.5
expect 2 "robinson or multinomial" "$bin" train-bayes --class "a=$dir/sports" --class "b=$dir/spam" --method svm
expect 2 "no model" "$bin" classify "$dir/sports"
expect 1 "cannot read" "$bin" train-bayes --class "a=$dir/nowhere" --class "b=$dir/spam"
mkdir -p "$dir/none"
expect 1 "class b has no mail to train on" "$bin" train-bayes --class "a=$dir/sports" --class "b=$dir/none"
expect 2 "give --replay-dir" "$bin" gen smtp -o "$dir/x.pcap" --split test=20
expect 2 "--mails is for synthetic mails" "$bin" gen smtp -o "$dir/x.pcap" --replay-dir "$dir/sports" --mails 3

"$bin" train-bayes --class "sports=$dir/sports" --class "cooking=$dir/cooking" \
    --class "spam=$dir/spam" -o "$dir/m.nb" --eval "spam=$dir/spam" >"$dir/train.out" 2>"$dir/train.err"
grep -q "skipped 2 files that are not mail" "$dir/train.err" && grep -q "12 sports, 12 cooking, 12 spam mails" "$dir/train.err" &&
  ok "trained 3 classes, non-mail files skipped: $(grep -h 'skipped\|model of' "$dir/train.err" | tr '\n' ' ')" ||
  { bad "training"; cat "$dir/train.err"; }
grep -q "accuracy 100.00% (12 of 12)" "$dir/train.out" && ok "--eval prints a confusion matrix" || { bad "--eval"; cat "$dir/train.out"; }

mkdir -p "$dir/new"
printf 'Subject: weekend\n\nthe striker and the coach before the league match\n' >"$dir/new/a.eml"
printf 'Subject: tonight\r\n\r\nbake with garlic, butter and basil\r\n' >"$dir/new/b.eml"
printf 'From x@y Mon Jan  1 00:00:00 2026\nSubject: one\n\nhotel by the beach\n\nFrom x@y Mon Jan  1 00:00:01 2026\nSubject: two\n\nferry to the island\n' >"$dir/new/c.mbox"
"$bin" classify --model "$dir/m.nb" "$dir/new" >"$dir/cls" 2>"$dir/cls.err"
want=$(printf '%s\tsports\n%s\tcooking\n%s#1\tspam\n%s#2\tspam\n' "$dir/new/a.eml" "$dir/new/b.eml" "$dir/new/c.mbox" "$dir/new/c.mbox")
[ "$(cut -f1,2 "$dir/cls")" = "$want" ] && ok "classify: one line per mail, mbox split, in name order" ||
  { bad "classify output"; cat "$dir/cls"; }
awk -F'\t' 'NF != 3 || $3 !~ /^[01]\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ {exit 1}' "$dir/cls" && ok "path<TAB>class<TAB>score (6 decimals)" ||
  bad "classify line format"
"$bin" classify --tokens "$dir/new/a.eml" | cut -f2 | tr '\n' ' ' >"$dir/tokens"
grep -q "subject:weekend the striker and the coach before the league match" "$dir/tokens" && ok "--tokens: $(cat "$dir/tokens")" ||
  { bad "--tokens"; cat "$dir/tokens"; }

# bad models: a clear message naming the file, exit 1, never a crash
: >"$dir/empty.nb"
head -c 50 "$dir/m.nb" >"$dir/short.nb"
head -c $(( $(stat -c %s "$dir/m.nb") - 9 )) "$dir/m.nb" >"$dir/trunc.nb"
expect 1 "empty.nb: empty file, not a model" "$bin" classify --model "$dir/empty.nb" "$dir/new"
expect 1 "short.nb: truncated" "$bin" classify --model "$dir/short.nb" "$dir/new"
expect 1 "trunc.nb: \(truncated\|corrupt\)" "$bin" classify --model "$dir/trunc.nb" "$dir/new"
expect 1 "not a Scalanytics naive Bayes model" "$bin" classify --model "$root/README.md" "$dir/new"
expect 1 "f_classify: .*empty.nb: empty file" "$bin" run "$root/programs/spam.analog" \
    --param "MODEL=$dir/empty.nb" --read "$root/tests/fixtures/smtp_real.pcap"
"$bin" train-bayes --class "a=$dir/sports" --class "b=$dir/cooking" -o "$dir/ab.nb" 2>/dev/null
expect 1 "has no class 'spam' (its classes: a, b)" "$bin" run "$root/programs/spam.analog" \
    --param "MODEL=$dir/ab.nb" --read "$root/tests/fixtures/smtp_real.pcap"

# real-world line ends and dots, replayed: assembled exactly, classified alike
mkdir -p "$dir/tricky"
printf 'Subject: dots\n\n.leading dot hotel\n..two dots airport\n.\nlone dot above\n' >"$dir/tricky/dots.eml"
printf 'Subject: crlf\r\n\r\nferry to the island\r\nand the beach\r\n' >"$dir/tricky/crlf.eml"
printf 'Subject: bare\n\nbare\rcarriage\r returns, garlic\rbasil\n' >"$dir/tricky/bare-cr.eml"
printf 'Subject: no end\n\nthe striker scored, no final line end' >"$dir/tricky/no-end.eml"
cp "$dir/new/c.mbox" "$dir/tricky/c.mbox"
"$bin" gen smtp -o "$dir/r.pcap" --replay-dir "$dir/tricky" --bdat-fraction 0.5 --mails-dir "$dir/wire" \
    2>"$dir/gen.err" || { cat "$dir/gen.err"; bad "gen smtp --replay-dir"; }
"$bin" run "$root/programs/smtp_mails.analog" --read "$dir/r.pcap" >"$dir/mails.jsonl" 2>/dev/null
sed 's/.*"mail_from": "replay-\([0-9]*\)@sender.example".*/\1/' "$dir/mails.jsonl" |
    sed "s|^|$dir/wire/|; s|\$|.eml|" | xargs cat >"$dir/wire.all"
sed 's/.*"RAW": "\([^"]*\)".*/\1/' "$dir/mails.jsonl" | base64 -d >"$dir/raw.all"
[ "$(wc -l <"$dir/mails.jsonl")" -eq 6 ] && cmp -s "$dir/wire.all" "$dir/raw.all" &&
  ok "6 replayed mails (dot lines, CRLF, bare CR, no final line end, mbox) assembled as their wire form" ||
  bad "replayed mails differ from their wire form"
printf 'Subject: dots\r\n\r\n.leading dot hotel\r\n..two dots airport\r\n.\r\nlone dot above\r\n' |
  cmp -s - "$dir/wire/$(grep -n dots.eml "$dir/r.pcap.truth.jsonl" | sed 's/.*"mail": \([0-9]*\),.*/\1/').eml" &&
  ok "the wire form is the file with CRLF line ends" || bad "the wire form of dots.eml"
"$bin" classify --model "$dir/m.nb" "$dir/tricky" | awk -F'\t' '$2 == "spam" {print $1}' | sort >"$dir/direct"
"$bin" run "$root/programs/spam.analog" --param "MODEL=$dir/m.nb" --read "$dir/r.pcap" 2>/dev/null |
  sed 's/.*"mail_from": "replay-\([0-9]*\)@sender.example".*/"mail": \1,/' | while read -r key; do
    grep -F "$key" "$dir/r.pcap.truth.jsonl" | sed 's/.*"file": "\([^"]*\)".*/\1/'
  done | sort >"$dir/piped"
[ -s "$dir/direct" ] && cmp -s "$dir/direct" "$dir/piped" &&
  ok "spam.analog flags the same replayed mails as classify: $(xargs -n1 basename <"$dir/direct" | tr '\n' ' ')" ||
  { bad "spam.analog and classify differ"; cat "$dir/direct" "$dir/piped"; }

# bad mails: 10 MB of base64 on one line, broken MIME: a class, promptly
{ printf 'Subject: huge\nContent-Transfer-Encoding: base64\n\n'; head -c 7500000 /dev/urandom | base64 -w0; } >"$dir/new/huge.eml"
printf 'Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Transfer-Encoding: base64\n\n%%%%%%\n--y--\n' >"$dir/new/broken.eml"
start=$(date +%s)
"$bin" classify --model "$dir/m.nb" "$dir/new/huge.eml" "$dir/new/broken.eml" >"$dir/cls" 2>"$dir/cls.err"
secs=$(( $(date +%s) - start ))
[ "$(wc -l <"$dir/cls")" -eq 2 ] && [ "$secs" -lt 60 ] &&
  ok "10 MB of base64 without a newline and broken MIME classified in ${secs} s: $(cut -f2 "$dir/cls" | tr '\n' ' ')" ||
  { bad "huge or broken mails"; cat "$dir/cls" "$dir/cls.err"; }
exit $fail
