#!/usr/bin/env bash
# The SMTP pipeline on a capture of real SMTP software (Python smtplib and
# swaks against aiosmtpd; tests/fixtures/README.md says how it was made):
# every mail programs/smtp_mails.analog assembles equals what tshark's IMF
# export holds for the same file, and programs/smtp.analog reports exactly
# the mails that contain the phrase (in clear, in a base64 part, across a
# quoted-printable soft break).
#
# The committed tshark export (tests/fixtures/smtp_real.imf/) was made by
#   tshark -r tests/fixtures/smtp_real.pcap -d tcp.port==2525,smtp \
#          --export-objects imf,DIR
# tshark exports the DATA bytes without dot-unstuffing; our mails are
# unstuffed (RFC 5321 4.5.2), so the comparison unstuffs tshark's files.
# With tshark installed the export is made again here and must equal the
# committed one.
#
# usage: smtp_real.sh SCALANYTICS
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fix=$here/fixtures
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# unstuff FILE: drop the first dot of every line that starts with one
unstuff() { sed -e 's/^\.//' "$1"; }

for t in 1 4; do
  "$bin" run "$root/programs/smtp_mails.analog" --read "$fix/smtp_real.pcap" --threads $t \
      >"$dir/mails.t$t" 2>"$dir/err.t$t" || { cat "$dir/err.t$t"; bad "run failed at $t threads"; }
done
n=$(wc -l <"$dir/mails.t1")
[ "$n" -eq 5 ] && ok "5 mails assembled" || bad "$n mails assembled, want 5"
cmp -s <(sort "$dir/mails.t1" | sed 's/"token": [0-9]*, //') <(sort "$dir/mails.t4" | sed 's/"token": [0-9]*, //') &&
  ok "same mails at 1 and 4 threads" || bad "mails differ between 1 and 4 threads"

# our mails, each decoded from RAW, hashed
mkdir -p "$dir/ours" "$dir/theirs"
i=0
while IFS= read -r line; do
  i=$((i + 1))
  printf '%s' "$line" | grep -o '"RAW": "[^"]*"' | sed 's/^"RAW": "//; s/"$//' | base64 -d >"$dir/ours/$i.eml"
done <"$dir/mails.t1"
for f in "$fix"/smtp_real.imf/*.eml; do unstuff "$f" >"$dir/theirs/$(basename "$f" | md5sum | cut -c1-8).eml"; done
ours=$(cd "$dir/ours" && sha256sum -- * | cut -d' ' -f1 | sort)
theirs=$(cd "$dir/theirs" && sha256sum -- * | cut -d' ' -f1 | sort)
[ "$ours" = "$theirs" ] && ok "every mail equals tshark's export (unstuffed), byte for byte" ||
  { bad "mails differ from tshark's export"; diff <(echo "$ours") <(echo "$theirs") || true; }

if command -v tshark >/dev/null; then
  mkdir -p "$dir/export"
  tshark -r "$fix/smtp_real.pcap" -d tcp.port==2525,smtp --export-objects "imf,$dir/export" >/dev/null 2>&1
  diff -r "$dir/export" "$fix/smtp_real.imf" >/dev/null && ok "tshark's export today equals the committed one" ||
    bad "tshark's export differs from tests/fixtures/smtp_real.imf"
else
  echo "skip: tshark not installed: the committed export is used as it is"
fi

# matching: the phrase is in mails 1, 3 (base64), 4 and 5 (quoted-printable)
"$bin" run "$root/programs/smtp.analog" --param PATTERN=scalanytics-fixture-phrase \
    --read "$fix/smtp_real.pcap" --threads 2 >"$dir/match" 2>"$dir/err.match" || bad "smtp.analog failed"
got=$(grep -o '"subject": "Fixture [0-9]' "$dir/match" | grep -o '[0-9]$' | sort | tr -d '\n')
[ "$got" = "1345" ] && ok "phrase found in mails 1, 3 (base64), 4, 5 (QP) only" || bad "matched mails '$got', want 1345"
grep -q '"MATCHED": "scalanytics-fixture-phrase"' "$dir/match" && ok "matched text reported" || bad "no matched text"
exit $fail
