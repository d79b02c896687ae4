#!/usr/bin/env bash
# Bad input for the SMTP pipeline (issue 5): lying length fields,
# overlapping TCP segments with conflicting data, a connection sending a
# huge DATA, a flood of half-open connections, a truncated pcap. Each
# capture (tests/make_hostile.c) also carries one good session: its mail
# ("good mail") must come out, nothing may crash, and memory stays
# within the documented caps.
#
# usage: smtp_hostile.sh SCALANYTICS MAKE_HOSTILE BIG_MB HALFOPEN_N RSS_MAX_MIB
# (RSS_MAX_MIB: the peak-RSS bound; ASan's shadow memory and quarantine
# inflate RSS, so sanitizer builds pass a loose one)
set -euo pipefail
bin=$1 mk=$2 big=${3:-1024} half=${4:-1000000} rss_max=${5:-400}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
prog=$root/programs/smtp_mails.analog
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
good() { grep -c '"subject": "good mail"' "$1" || true; }
rss_mib() { sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$1" | cut -d. -f1; }

# lying length fields: refused and counted, never read past the frame
"$mk" lying "$dir/lying.pcap"
"$bin" run "$prog" --read "$dir/lying.pcap" --threads 2 >"$dir/o1" 2>"$dir/e1" || true
[ "$(good "$dir/o1")" = 1 ] && ok "lying lengths: the good session's mail comes out" ||
  { cat "$dir/e1"; bad "lying lengths: good mail missing"; }
grep -q "malformed\|errors" "$dir/e1" && ok "lying lengths: reported in the summary" || bad "lying lengths: not reported"

# overlapping segments with conflicting bytes: libnids keeps the first copy
"$mk" overlap "$dir/overlap.pcap"
"$bin" run "$prog" --read "$dir/overlap.pcap" --threads 2 >"$dir/o2" 2>"$dir/e2"
n=$(grep -c '"subject": "overlap"' "$dir/o2" || true)
raw=$(grep '"subject": "overlap"' "$dir/o2" | grep -o '"RAW": "[^"]*"' | sed 's/^"RAW": "//; s/"$//' | base64 -d)
[ "$n" = 1 ] && [[ "$raw" == *"first version"* ]] && [[ "$raw" != *"OTHER"* ]] &&
  ok "overlap: one mail, the first-seen bytes kept" || bad "overlap: n=$n raw=$raw"
[ "$(good "$dir/o2")" = 1 ] && ok "overlap: good mail" || bad "overlap: good mail missing"

# a connection that sends $big MiB of DATA: kept up to smtp.max_mail_bytes
"$mk" bigdata - "$big" | "$bin" run "$prog" --read - --threads 2 --set smtp.max_mail_bytes=16777216 \
    >"$dir/o3" 2>"$dir/e3"
[ "$(good "$dir/o3")" = 1 ] && ok "$big MiB DATA: the good session beside it is unaffected" || bad "$big MiB DATA: good mail missing"
grep '"subject": "huge"' "$dir/o3" | grep -q '"truncated": true' && ok "$big MiB DATA: the mail is flagged truncated" ||
  bad "$big MiB DATA: huge mail missing or not flagged"
rss=$(rss_mib "$dir/e3")
[ -n "$rss" ] && [ "$rss" -lt "$rss_max" ] && ok "$big MiB DATA: peak RSS $rss MiB (cap 16 MiB per mail)" || bad "$big MiB DATA: peak RSS $rss MiB"

# half-open connections: tracked only up to the table size
"$mk" halfopen - "$half" | "$bin" run "$prog" --read - --threads 2 >"$dir/o4" 2>"$dir/e4"
[ "$(good "$dir/o4")" = 1 ] && ok "$half half-open connections: the good session still works" || bad "half-open: good mail missing"
rss=$(rss_mib "$dir/e4")
[ -n "$rss" ] && [ "$rss" -lt "$rss_max" ] && ok "$half half-open connections: peak RSS $rss MiB" || bad "half-open: peak RSS $rss MiB"

# a truncated pcap: a clear message, the mails before the cut written
head -c 150000 "$here/fixtures/smtp_real.pcap" >"$dir/cut.pcap"
set +e
"$bin" run "$prog" --read "$dir/cut.pcap" --threads 2 >"$dir/o5" 2>"$dir/e5"
rc=$?
set -e
[ "$rc" -ne 0 ] && ok "truncated pcap: exit status $rc" || bad "truncated pcap: exit status 0"
grep -qi "truncated" "$dir/e5" && ok "truncated pcap: says so ($(grep -i -m1 truncated "$dir/e5"))" || { cat "$dir/e5"; bad "truncated pcap: no message"; }
n=$(wc -l <"$dir/o5")
[ "$n" -ge 3 ] && ok "truncated pcap: $n mails before the cut written" || bad "truncated pcap: $n mails written"
exit $fail
