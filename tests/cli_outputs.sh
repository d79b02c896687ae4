#!/usr/bin/env bash
# run's outputs as a user routes them: -o FILE for everything, -o REL=FILE
# per relation, JSON lines or CSV by the file's name; the CSV rules
# (header, quoting, value text); and the usage errors.
# usage: cli_outputs.sh SCALANYTICS
set -u
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
expect() { # expect STATUS PATTERN ARGS... (run's stderr must hold PATTERN)
  local want=$1 pat=$2; shift 2
  "$bin" run "$@" >"$dir/o" 2>"$dir/e"; local rc=$?
  [ $rc -eq "$want" ] && grep -qF -- "$pat" "$dir/e" && ok "status $want, '$pat'" ||
    { bad "run $* -> status $rc (want $want), stderr lacks '$pat':"; cat "$dir/e"; }
}

# One program, two output relations from each person: contact (all its
# values, every kind) and greeting; memo is a source nothing consumes.
cat >people.analog <<'EOF'
component split(parallel) {
s1 contact(@N, ID, NAME, SCORE, OK, ADDR, DATA, MORE) :-
        person(@N, ID, NAME, SCORE, OK, ADDR, DATA, MORE).
s2 greeting(@N, ID, TEXT) :-
        person(@N, ID, NAME, SCORE, OK, ADDR, DATA, MORE), TEXT = f_concat("hello, ", NAME).
}
EOF
cat >in.jsonl <<'EOF'
{"relation": "person", "time": 1.0, "values": ["n1", 1, "Ann", 2.5, true, {"ip": "10.0.0.1"}, {"bytes": "aGk="}, [1, "a"]]}
{"relation": "person", "time": 2.0, "values": ["n1", 2, "Smith, \"Jo\"", 0.1, false, {"ip": "2001:db8::1"}, {"bytes": ""}, {"record": {"k": "v,\"w\""}}]}
{"relation": "memo", "time": 2.5, "values": ["n1", "a note"]}
{"relation": "person", "time": 3.0, "values": ["n1", 3, "two\nlines", 1e300, true, null, null, ""]}
EOF
# RFC 4180 quoting (comma, quote, LF; quotes doubled), "" for an empty
# string and nothing for null, shortest exact floats, IPs as text, bytes
# base64, lists and records as JSON in a quoted field.
cat >contact.expected <<'EOF'
@N,ID,NAME,SCORE,OK,ADDR,DATA,MORE
n1,1,Ann,2.5,true,10.0.0.1,aGk=,"[1, ""a""]"
n1,2,"Smith, ""Jo""",0.1,false,2001:db8::1,"","{""k"": ""v,\""w\""""}"
n1,3,"two
lines",1e+300,true,,,""
EOF
run() { "$bin" run -s person -s memo "$@"; }

# 1. contact to a CSV file, the rest to a JSON-lines file
run -t in.jsonl -o rest.jsonl -o contact=contact.csv people.analog >out 2>err ||
  { bad "routed run"; cat err; }
cmp -s contact.csv contact.expected && ok "contact.csv: header and quoted lines exactly" ||
  { bad "contact.csv differs:"; diff contact.expected contact.csv; }
[ ! -s out ] && ok "nothing on stdout with a default -o" || bad "stdout: $(cat out)"
! grep -q '"relation": "contact"' rest.jsonl && [ "$(grep -c '"relation": "greeting"' rest.jsonl)" -eq 3 ] &&
  grep -q '"relation": "memo"' rest.jsonl && ok "rest.jsonl: greeting and memo, no contact" ||
  { bad "rest.jsonl:"; cat rest.jsonl; }
grep -q 'contact .* 3 outputs' err && ok "summary still counts the routed relation" || bad "summary: $(cat err)"

# 2. without a default -o, the rest goes to stdout; the CSV is the same
#    at any thread count
run -t in.jsonl -o contact=c8.csv --threads 8 people.analog >out 2>/dev/null
cmp -s c8.csv contact.expected && cmp -s out rest.jsonl && ok "--threads 8: same CSV, rest on stdout" ||
  bad "--threads 8 or stdout differ"

# 3. no tuple at all: the header is still written
printf '{"relation": "memo", "values": ["n1", "only a memo"]}\n' >memo.jsonl
run -t memo.jsonl -o contact=empty.csv -o greeting=g.jsonl people.analog >out 2>/dev/null
[ "$(cat empty.csv)" = "$(head -1 contact.expected)" ] && [ ! -s g.jsonl ] && grep -q '"memo"' out &&
  ok "empty result: the CSV has its header line" || { bad "empty result:"; cat empty.csv g.jsonl; }

# 4. a JSON-lines file named twice (another spelling) is one shared file
run -t in.jsonl -o greeting=both.jsonl -o ./both.jsonl -o contact=c.csv people.analog >/dev/null 2>&1
[ "$(wc -l <both.jsonl)" -eq 4 ] && [ "$(grep -c '"relation": "greeting"' both.jsonl)" -eq 3 ] &&
  ok "same JSON-lines file twice: shared" || { bad "shared file:"; cat both.jsonl; }

# 5. a tuple whose values do not fit the header is not written: counted,
#    reported, status 1
{ cat in.jsonl; printf '{"relation": "contact", "values": ["n1", "short"]}\n'; } >misfit.jsonl
run -t misfit.jsonl -o contact=m.csv people.analog >/dev/null 2>err; rc=$?
[ $rc -eq 1 ] && grep -qF "m.csv: 1 outputs of 'contact' were not written" err && cmp -s m.csv contact.expected &&
  ok "misfit tuple reported, status 1" || { bad "misfit: rc $rc"; cat err; }

# 6. usage errors: status 2, a message, no file written
expect 2 "no program outputs relation 'nosuch'; the outputs are: contact, greeting, memo" \
  -s person -s memo -t in.jsonl -o nosuch=x.csv people.analog
expect 2 "a CSV file holds one relation, so it cannot be the default destination" \
  -s person -t in.jsonl -o all.csv people.analog
expect 2 "same.csv already holds relation 'contact'" \
  -s person -t in.jsonl -o contact=same.csv -o greeting=same.csv people.analog
expect 2 "relation 'contact' is already routed by -o contact=a.csv" \
  -s person -t in.jsonl -o contact=a.csv -o contact=b.jsonl people.analog
expect 2 "only one default destination" -s person -t in.jsonl -o a.jsonl -o b.jsonl people.analog
expect 2 "no rule of people.analog names the values of 'memo'" \
  -s person -s memo -t in.jsonl -o memo=memo.csv people.analog
expect 2 "-o contact= names no file" -s person -t in.jsonl -o contact= people.analog
cat >other.analog <<'EOF'
component other(serial) {
o1 contact(@N, ID, WHO) :- person(@N, ID, WHO, SCORE, OK, ADDR, DATA, MORE).
}
EOF
expect 2 "relation 'contact' has other variables in other.analog than in people.analog" \
  -s person -t in.jsonl -o contact=two.csv people.analog other.analog
"$bin" run -s person -t in.jsonl -o contact=stdout.csv people.analog >stdout.csv 2>err; rc=$?
[ $rc -eq 2 ] && grep -qF "stdout and stdout.csv are the same file" err && ok "CSV that is also stdout: status 2" ||
  { bad "CSV as stdout: rc $rc"; cat err; }
for f in x.csv all.csv same.csv a.csv b.jsonl memo.csv two.csv; do
  [ -e "$f" ] && bad "a usage error still created $f"
done

# 7. the help teaches it
"$bin" run --help | grep -qF -- "-o sessions.jsonl -o sip_call=calls.csv" && ok "run --help example" ||
  bad "run --help lacks the example"
exit $fail
