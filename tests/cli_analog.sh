#!/usr/bin/env bash
# ANALOG programs through the command, as a user runs them:
# check, run --tuples, spellings, threads, several programs at once,
# bad programs and bad input lines.
# usage: cli_analog.sh SCALANYTICS SOURCE_DIR
set -u
bin=$1 src=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
t=$src/tests/run
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
run() { "$bin" run -s msg -s note -t "$t/chain.jsonl" -p PATTERN=flow-7 -p MIN=10 "$@"; }
strip_pipeline() { sed 's/"pipeline": "[^"]*", //'; }

# 1. the golden output: hits for flows 7, the note passed through
run "$t/chain.analog" >"$dir/chain.out" 2>"$dir/chain.err" || { bad "run chain"; cat "$dir/chain.err"; }
cmp -s "$dir/chain.out" "$t/chain.expected" && ok "chain output equals tests/run/chain.expected" ||
  { bad "chain output differs:"; diff "$t/chain.expected" "$dir/chain.out"; }
grep -q "hit .* 2 outputs" "$dir/chain.err" && ok "summary counts outputs per relation" || bad "summary: $(cat "$dir/chain.err")"

# 2. the other spellings behave the same
run "$t/chain_spellings.analog" 2>/dev/null | strip_pipeline >"$dir/spell.out"
strip_pipeline <"$t/chain.expected" | cmp -s - "$dir/spell.out" && ok ":=, f_Name, *_ordered, serial_context_order: same output" ||
  { bad "spellings differ"; diff <(strip_pipeline <"$t/chain.expected") "$dir/spell.out"; }

# 3. threads 1 and 8, and forced encoding, give the same bytes
for args in "--threads 1" "--threads 8" "--threads 8 --encode-local" "--threads 2 --tokens 1"; do
  run $args "$t/chain.analog" 2>/dev/null | cmp -s - "$t/chain.expected" && ok "identical with $args" || bad "differs with $args"
done

# 4. two programs at once: each sees every input, outputs as when alone
run "$t/count.analog" 2>/dev/null >"$dir/count.alone"
run "$t/chain.analog" "$t/count.analog" 2>/dev/null >"$dir/both"
grep '"pipeline": "chain.analog"' "$dir/both" | cmp -s - "$t/chain.expected" && ok "chain alone = chain beside count" || bad "chain changed beside count"
grep '"pipeline": "count.analog"' "$dir/both" | cmp -s - "$dir/count.alone" && ok "count alone = count beside chain" || bad "count changed beside chain"
[ "$(grep -c '"relation": "long_msg"' "$dir/count.alone")" -eq 4 ] && ok "count: 4 long messages" || bad "count alone: $(cat "$dir/count.alone")"

# 5. --stats=FILE writes the summary as JSON
run --stats="$dir/stats.json" "$t/chain.analog" >/dev/null 2>&1
grep -q '"inputs": 6' "$dir/stats.json" && grep -q '"hit": 2' "$dir/stats.json" && ok "--stats=FILE JSON" || bad "stats json: $(cat "$dir/stats.json")"

# 6. a program with errors: nothing runs, file:line:col with a caret, status 1
"$bin" run -t "$t/chain.jsonl" "$src/tests/analog/check_variables.analog" >"$dir/o" 2>"$dir/e"; rc=$?
[ $rc -eq 1 ] && grep -q "check_variables.analog:5:22: error: variable 'B' is used before it is bound" "$dir/e" &&
  grep -q "nothing runs" "$dir/e" && [ ! -s "$dir/o" ] && ok "bad program refused (status 1)" || { bad "bad program: rc $rc"; cat "$dir/e"; }
"$bin" check -s msg -s note -p PATTERN=x "$t/chain.analog" >"$dir/plan" 2>&1 && grep -q "context keys segment(5)" "$dir/plan" &&
  ok "check prints the plan" || bad "check: $(head "$dir/plan")"

# 7. a bad input line is reported with its line number, the rest still runs, status 1
{ head -2 "$t/chain.jsonl"; echo '{"relation": "msg", "values": [1, }'; tail -4 "$t/chain.jsonl"; } >"$dir/in.jsonl"
"$bin" run -s msg -s note -p PATTERN=flow-7 -t "$dir/in.jsonl" "$t/chain.analog" >"$dir/o" 2>"$dir/e"; rc=$?
[ $rc -eq 1 ] && grep -q "in.jsonl:3: column 35" "$dir/e" && [ "$(wc -l <"$dir/o")" -eq 3 ] &&
  ok "bad input line reported, others processed" || { bad "bad input: rc $rc"; cat "$dir/e" "$dir/o"; }

# 8. plan --dot: a Graphviz graph of both pipelines
"$bin" plan --dot -s msg -s note -p PATTERN=x -p MIN=1 "$t/chain.analog" "$t/count.analog" >"$dir/dot" 2>&1
grep -q 'c0_0 -> c0_1 \[label="segment"\]' "$dir/dot" && grep -q 'key segment(5)' "$dir/dot" &&
  grep -q 'subgraph cluster_1' "$dir/dot" && [ "$(tail -1 "$dir/dot")" = "}" ] && ok "plan --dot" || { bad "plan --dot"; cat "$dir/dot"; }

# 9. Ctrl-C while reading a pipe: admitted inputs are finished and written,
#    the summary says so, status 0
mkfifo "$dir/fifo"
{ cat "$t/chain.jsonl"; exec sleep 20; } >"$dir/fifo" 2>/dev/null &
writer=$!
"$bin" run -s msg -s note -p PATTERN=flow-7 -t "$dir/fifo" "$t/chain.analog" >"$dir/o" 2>"$dir/e" &
runner=$!
sleep 1; kill -INT $runner; wait $runner; rc=$?; kill $writer 2>/dev/null
[ $rc -eq 0 ] && grep -q "interrupted" "$dir/e" && cmp -s "$dir/o" "$t/chain.expected" &&
  ok "SIGINT drains and reports" || { bad "SIGINT: rc $rc"; cat "$dir/e"; }

# 10. --publish: a subscriber (scalanytics listen) gets exactly the JSON lines
for attempt in 1 2 3; do
  ep="tcp://127.0.0.1:$(( 20000 + RANDOM % 20000 ))"
  "$bin" listen "$ep" --count 3 --timeout 20 >"$dir/sub" 2>"$dir/sube" &
  lpid=$!
  "$bin" run -s msg -s note -p PATTERN=flow-7 -t "$t/chain.jsonl" --publish "$ep" --subscribers 1 \
    "$t/chain.analog" >"$dir/pubout" 2>"$dir/pube"; rc=$?
  grep -q "Address already in use" "$dir/pube" && { kill $lpid; wait $lpid 2>/dev/null; continue; }
  wait $lpid; lrc=$?
  break
done
[ $rc -eq 0 ] && [ $lrc -eq 0 ] && cmp -s "$dir/sub" "$t/chain.expected" && [ ! -s "$dir/pubout" ] &&
  ok "--publish + listen" || { bad "--publish: run $rc listen $lrc"; cat "$dir/pube" "$dir/sube" "$dir/sub"; }

# 11. settings: with one derivation per input, the detector's det1 derives
#     `detected` and det2's `segment` is dropped for the 4 HELO messages
#     (counted), so nothing reaches the processor: only the note passes
grep '"relation": "note"' "$t/chain.expected" >"$dir/note.expected"
run --set eval.max_derivations=1 --stats "$t/chain.analog" >"$dir/o" 2>"$dir/e"
cmp -s "$dir/o" "$dir/note.expected" && grep -q "detector: .*cap hits 4 (4 tuples dropped)" "$dir/e" &&
  ok "--set eval.max_derivations=1" || { bad "--set"; cat "$dir/o"; grep detector "$dir/e"; }
printf '# test settings\neval.max_derivations = 1   # one per input\n\nmatch.limit=5000\n' >"$dir/conf"
run --config "$dir/conf" "$t/chain.analog" 2>/dev/null | cmp -s - "$dir/note.expected" && ok "--config FILE" || bad "--config"
run --set nosuch=1 "$t/chain.analog" >/dev/null 2>"$dir/e"; [ $? -eq 2 ] && grep -q "unknown setting 'nosuch'" "$dir/e" && ok "unknown setting: status 2" || bad "unknown setting"
run --set match.limit=5 "$t/chain.analog" >/dev/null 2>"$dir/e"; [ $? -eq 2 ] && grep -q "match.limit must be from 1000" "$dir/e" && ok "setting out of range: status 2" || bad "setting range: $(cat "$dir/e")"
printf 'match.limit 5\n' >"$dir/badconf"
run --config "$dir/badconf" "$t/chain.analog" >/dev/null 2>"$dir/e"; [ $? -eq 2 ] && grep -q "badconf:1: expected 'name = value'" "$dir/e" && ok "bad config line: file:line" || bad "bad config: $(cat "$dir/e")"
"$bin" functions | grep -q "^match.limit " && ok "functions lists settings" || bad "functions settings"

# 12. usage errors
"$bin" run "$t/chain.analog" >/dev/null 2>"$dir/e"; [ $? -eq 2 ] && grep -q "no input" "$dir/e" && ok "run without input: status 2" || bad "run without input"
"$bin" run -t x --param NOEQUALS "$t/chain.analog" >/dev/null 2>"$dir/e"; [ $? -eq 2 ] && grep -q "NAME=VALUE" "$dir/e" && ok "bad --param: status 2" || bad "bad --param"
"$bin" check >/dev/null 2>&1; [ $? -eq 2 ] && ok "check without program: status 2" || bad "check without program"
"$bin" functions | grep -q "^f_match " && ok "functions lists f_match" || bad "functions"
exit $fail
