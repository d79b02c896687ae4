#!/usr/bin/env bash
# The command explains itself and rejects bad usage with status 2 and a
# message that names the problem.
# usage: cli_usage.sh SCALANYTICS
set -u
bin=$1 fail=0
expect() { # expect STATUS PATTERN ARGS...
  local want=$1 pat=$2; shift 2
  out=$("$bin" "$@" 2>&1); rc=$?
  if [ $rc -ne "$want" ] || ! grep -q -- "$pat" <<<"$out"; then
    echo "FAIL: scalanytics $* -> status $rc (want $want), output lacks '$pat':"; echo "$out"; fail=1
  else echo "ok: scalanytics $*"; fi
}
expect 0 "commands:" --help
expect 0 "scalanytics 0" --version
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "usage:"
expect 0 "--encode-local" demo --help
expect 2 "--threads wants a number" demo --threads zero
expect 2 "--threads wants a number" demo --threads 0
expect 2 "needs --endpoint" demo --role send
expect 2 "--role is local, send or receive" demo --role sideways
expect 2 "unexpected argument 'extra'" demo extra
expect 1 "cannot write" demo --count 10 --output /nonexistent/dir/out
expect 1 "cannot bind tcp://999.1.1.1:1" demo --role receive --endpoint tcp://999.1.1.1:1
exit $fail
