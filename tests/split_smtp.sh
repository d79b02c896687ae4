#!/usr/bin/env bash
# The SMTP pipeline split over processes on loopback (issue 6), with
# programs/smtp_split.analog and deployment files made here:
#   1. capture | analyzer | collector: the collector's alerts equal the
#      single-process run's, byte for byte, in the same order;
#   2. two analyzers in the partition group: both get work, the alerts
#      still equal the single-process run's;
#   3. an analyzer killed (SIGKILL) mid-run and restarted: the run
#      completes, nothing lost, nothing duplicated;
#   4. a malformed peer (garbage protobuf, bad frames, raw bytes) is
#      counted and the node keeps serving;
#   5. with CurveZMQ keys, a peer whose key is not in the deployment is
#      refused and counted, and the keyed run gives the same alerts.
# usage: split_smtp.sh SCALANYTICS NET_PROBE MAILS
set -u
bin=$1 probe=$2 mails=${3:-300}
dir=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$dir"' EXIT
prog=$(cd "$(dirname "$0")/.." && pwd)/programs/smtp_split.analog
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do echo "== $f"; tail -n 15 "$f"; done; exit 1; }
args=(run "$prog" --param PATTERN=needle -j 2)
run() { "$bin" "${args[@]}" "$@"; }

"$bin" gen smtp -o "$dir/t.pcap" --mails "$mails" --mean-size 20000 --seed 11 --phrase needle \
    --match-fraction 0.2 --retransmit-fraction 0.05 --reorder-fraction 0.05 \
    --fragment-fraction 0.02 >/dev/null 2>&1 || fail "gen smtp"
run --read "$dir/t.pcap" -o "$dir/single.jsonl" 2>"$dir/single.log" || fail "single-process run"
want=$(wc -l <"$dir/single.jsonl")
[ "$want" -gt 0 ] || fail "no alerts in the single-process run"

# A deployment on free loopback ports: deploy NAME ANALYZERS [extra lines]
base=$(( 21000 + (RANDOM % 20000) ))
deploy() {
  local f=$dir/$1.conf n=$2 i
  echo "node capture tcp://127.0.0.1:$base source" >"$f"
  for i in $(seq 1 "$n"); do echo "node analyzer$i tcp://127.0.0.1:$((base + i))" >>"$f"; done
  echo "node collector tcp://127.0.0.1:$((base + 9))" >>"$f"
  echo "group analyzers $(seq -f 'analyzer%g' -s ' ' 1 "$n")" >>"$f"
  base=$((base + 10))
}
# node CONF NAME [args...] in the background, its pid appended to pids
node() { local conf=$1 name=$2; shift 2
  # a plain command, not the function: $! must be the node's own pid
  "$bin" "${args[@]}" --deploy "$conf" --node "$name" --stats="$dir/$name.json" "$@" \
      2>"$dir/$name.log" &
  pids+=($!); }
# waits for pid (up to 60 s); its exit status
wait_for() { timeout 60 tail --pid="$1" -f /dev/null || { kill -9 "$1"; wait "$1"; return 124; }; wait "$1"; }
# the number a JSON stats file holds for "key": N (first match)
field() { grep -o "\"$2\": [0-9]*" "$1" | head -n 1 | grep -o '[0-9]*$'; }
link_received() { grep -o '"received": [0-9]*' "$1" | awk '{s += $2} END {print s + 0}'; }

# 1. three processes, one analyzer
deploy one 1
node "$dir/one.conf" collector -o "$dir/one.jsonl"; coll=$!
node "$dir/one.conf" analyzer1; a1=$!
run --deploy "$dir/one.conf" --node capture --read "$dir/t.pcap" 2>"$dir/capture.log" || fail "capture node (one analyzer)"
wait_for $coll || fail "collector exited $?"
wait_for $a1 || fail "analyzer exited $?"
cmp -s "$dir/single.jsonl" "$dir/one.jsonl" || fail "capture|analyzer|collector alerts differ from one process"
echo "ok 1: capture | analyzer | collector: $want alerts identical, in order"

# 2. two analyzers share the stage
deploy two 2
node "$dir/two.conf" collector -o "$dir/two.jsonl"; coll=$!
node "$dir/two.conf" analyzer1; a1=$!
node "$dir/two.conf" analyzer2; a2=$!
run --deploy "$dir/two.conf" --node capture --read "$dir/t.pcap" 2>"$dir/capture.log" || fail "capture node (two analyzers)"
for p in $coll $a1 $a2; do wait_for $p || fail "a receiving node exited $?"; done
cmp -s "$dir/single.jsonl" "$dir/two.jsonl" || fail "two-analyzer alerts differ from one process"
r1=$(link_received "$dir/analyzer1.json") r2=$(link_received "$dir/analyzer2.json")
[ "${r1:-0}" -gt 0 ] && [ "${r2:-0}" -gt 0 ] || fail "an analyzer got no work ($r1, $r2)"
echo "ok 2: two analyzers ($r1 and $r2 batches): alerts identical"

# 3. kill the analyzer mid-run and restart it. Deterministic, without
# timing guesses: the collector starts last, so the analyzer cannot
# finish (nor acknowledge) anything and the capture node blocks on its
# few tokens with parts at the analyzer; the analyzer is then killed
# (SIGKILL) and restarted, and the capture node must send those parts
# again; then the collector comes and the run completes.
deploy kill 1
node "$dir/kill.conf" analyzer1; a1=$!
"$bin" "${args[@]}" --deploy "$dir/kill.conf" --node capture --read "$dir/t.pcap" --tokens 8 \
    --stats="$dir/capture-kill.json" 2>"$dir/capture.log" & cap=$!
pids+=($cap)
sleep 2                      # connected; parts wait at the analyzer, unacknowledged
kill -9 $a1; wait $a1 2>/dev/null
mv "$dir/analyzer1.log" "$dir/analyzer1-killed.log"
node "$dir/kill.conf" analyzer1; a1=$!
sleep 1
node "$dir/kill.conf" collector -o "$dir/kill.jsonl"; coll=$!
wait_for $cap || fail "capture node exited $? after the analyzer's restart"
wait_for $coll || fail "collector exited $?"
wait_for $a1 || fail "restarted analyzer exited $?"
cmp -s "$dir/single.jsonl" "$dir/kill.jsonl" || {
  diff <(sort "$dir/single.jsonl") <(sort "$dir/kill.jsonl") | head -n 5; fail "alerts after a kill differ"; }
rc=$(field "$dir/capture-kill.json" reconnects) rs=$(field "$dir/capture-kill.json" resent)
[ "${rc:-0}" -ge 1 ] && [ "${rs:-0}" -ge 1 ] ||
  fail "the capture node saw $rc reconnects and resent $rs parts: the kill was not exercised"
echo "ok 3: analyzer killed and restarted ($rc reconnects, $rs parts resent): $want alerts, none lost or doubled"

# 4. hostile peers at the collector while a run goes on
deploy bad 1
node "$dir/bad.conf" collector -o "$dir/bad.jsonl"; coll=$!
node "$dir/bad.conf" analyzer1; a1=$!
sleep 0.3
cep=$(grep '^node collector' "$dir/bad.conf" | cut -d' ' -f3)
"$probe" malformed "$cep" analyzer1 || fail "probe malformed"
"$probe" malformed "$cep" intruder || fail "probe malformed (unknown id)"
"$probe" garbage "$cep" || fail "probe garbage"
run --deploy "$dir/bad.conf" --node capture --read "$dir/t.pcap" 2>"$dir/capture.log" || fail "capture node (hostile peers)"
wait_for $coll || fail "collector exited $? after hostile peers"
wait_for $a1 || fail "analyzer exited $?"
cmp -s "$dir/single.jsonl" "$dir/bad.jsonl" || fail "alerts differ after hostile peers"
bad=$(field "$dir/collector.json" malformed) unk=$(field "$dir/collector.json" unknown_peers)
[ "${bad:-0}" -ge 3 ] && [ "${unk:-0}" -ge 1 ] || fail "hostile frames not counted (malformed $bad, unknown $unk)"
echo "ok 4: $bad malformed frames and $unk unknown peers counted; the node kept serving"

# 5. CurveZMQ: every node keyed; a stranger's key is refused
deploy keys 1
for n in capture analyzer1 collector; do
  "$bin" keygen -o "$dir/$n.key" --node $n >>"$dir/keys.conf" || fail "keygen"
done
grep -q '^key capture ' "$dir/keys.conf" || fail "keygen output"
ckey=$(grep '^key collector' "$dir/keys.conf" | cut -d' ' -f3)
node "$dir/keys.conf" collector -o "$dir/keys.jsonl" --key "$dir/collector.key"; coll=$!
node "$dir/keys.conf" analyzer1 --key "$dir/analyzer1.key"; a1=$!
sleep 0.3
cep=$(grep '^node collector' "$dir/keys.conf" | cut -d' ' -f3)
"$probe" wrong-key "$cep" "$ckey" || fail "probe wrong-key"
run --deploy "$dir/keys.conf" --node capture --read "$dir/t.pcap" --key "$dir/capture.key" \
    2>"$dir/capture.log" || fail "capture node (keys)"
wait_for $coll || fail "collector exited $? (keys)"
wait_for $a1 || fail "analyzer exited $? (keys)"
cmp -s "$dir/single.jsonl" "$dir/keys.jsonl" || fail "alerts differ with CurveZMQ"
ref=$(field "$dir/collector.json" refused_keys)
[ "${ref:-0}" -ge 1 ] || fail "the stranger's key was not refused and counted"
if run --deploy "$dir/keys.conf" --node capture --read "$dir/t.pcap" 2>"$dir/nokey.log"; then
  fail "a keyed deployment ran without --key"; fi
grep -q -- "--key" "$dir/nokey.log" || fail "no clear message without --key"
echo "ok 5: CurveZMQ run identical; $ref foreign key(s) refused"
