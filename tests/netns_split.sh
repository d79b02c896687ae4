#!/usr/bin/env bash
# The SMTP pipeline split over hosts (issue 6, item 2), each host a
# network namespace with its own address on a veth link (MTU 1500) to a
# bridge in a hub namespace, programs/smtp_split.analog with deployment
# files that name real IPs:
#   1. capture | analyzer1 | collector on three hosts: the collector's
#      alerts equal the single-process run's, byte for byte;
#   2. capture | analyzer1 + analyzer2 (group "analyzers") | collector on
#      four hosts: both analyzers receive mails from the capture host,
#      the alerts they send the collector add up to the single-process
#      run's, and their union -- the collector's output -- equals it.
# Needs root (skips, 77, with a message otherwise, or when namespaces,
# veth links or bridges cannot be made here). Namespaces are named with
# this shell's PID and always deleted (trap), which also deletes the links.
# usage: netns_split.sh SCALANYTICS [MAILS]
set -u
bin=$(realpath "$1") mails=${2:-300}
prog=$(cd "$(dirname "$0")/.." && pwd)/programs/smtp_split.analog
dir=$(mktemp -d)
hub=sxhub$$
hosts=(capture analyzer1 analyzer2 collector)
made=()
pids=()

cleanup() {
  local p ns
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for ns in "${made[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
skip() { echo "SKIP net.netns_split: $*"; exit 77; }
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do echo "== $f"; tail -n 15 "$f"; done; exit 1; }
ns_of() { echo "sx$$-$1"; }
addr_of() { local i; for i in "${!hosts[@]}"; do [ "${hosts[$i]}" = "$1" ] && echo "10.77.0.$((i + 1))"; done; }

# ---- the hosts: a bridge in the hub, one namespace and veth link per node
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (running as uid $(id -u))"
command -v ip >/dev/null || skip "no ip command (Debian: apt-get install iproute2)"
ip netns add "$hub" 2>"$dir/netns.err" || skip "ip netns add failed: $(cat "$dir/netns.err")"
made+=("$hub")
ip -n "$hub" link add br0 type bridge 2>"$dir/netns.err" || skip "no bridge in a namespace: $(cat "$dir/netns.err")"
ip -n "$hub" link set br0 up
for i in "${!hosts[@]}"; do
  h=${hosts[$i]} ns=$(ns_of "${hosts[$i]}")
  ip netns add "$ns" || fail "ip netns add $ns"
  made+=("$ns")
  ip -n "$hub" link add "p$i" mtu 1500 type veth peer name eth0 mtu 1500 netns "$ns" 2>"$dir/netns.err" ||
    skip "no veth link between namespaces: $(cat "$dir/netns.err")"
  ip -n "$hub" link set "p$i" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$(addr_of "$h")/24" dev eth0
  ip -n "$ns" link set eth0 up
done
for h in "${hosts[@]}"; do
  mtu=$(ip -n "$(ns_of "$h")" -o link show eth0 | grep -o 'mtu [0-9]*')
  [ "$mtu" = "mtu 1500" ] || fail "$h: eth0 has $mtu, not 1500"
done
# every host reaches every other (the bridge forwards as soon as its ports
# are up: no STP). No ping needed: a TCP connection to a closed port is
# refused at once by a reachable host, and times out otherwise.
reaches() {
  ip netns exec "$(ns_of "$1")" timeout 5 bash -c "echo >/dev/tcp/$(addr_of "$2")/9" 2>&1 |
    grep -q 'Connection refused'
}
for h in "${hosts[@]}"; do
  for peer in "${hosts[@]}"; do
    [ "$h" = "$peer" ] || reaches "$h" "$peer" || fail "$h cannot reach $peer at $(addr_of "$peer")"
  done
done

# ---- the reference: one process
"$bin" gen smtp -o "$dir/t.pcap" --mails "$mails" --mean-size 20000 --seed 3 --phrase needle \
    --match-fraction 0.2 >/dev/null 2>&1 || fail "gen smtp"
run() { "$bin" run "$prog" --param PATTERN=needle -j 2 "$@"; }
run --read "$dir/t.pcap" -o "$dir/single.jsonl" 2>"$dir/single.log" || fail "single-process run"
want=$(wc -l <"$dir/single.jsonl")
[ "$want" -gt 0 ] || fail "no alerts in the single-process run"

# deploy NAME ANALYZERS: a deployment of capture, analyzer1..N, collector
deploy() {
  local f=$dir/$1.conf n=$2 i
  echo "node capture tcp://$(addr_of capture):7100 source" >"$f"
  for i in $(seq 1 "$n"); do echo "node analyzer$i tcp://$(addr_of "analyzer$i"):7100" >>"$f"; done
  echo "node collector tcp://$(addr_of collector):7100" >>"$f"
  echo "group analyzers $(seq -f 'analyzer%g' -s ' ' 1 "$n")" >>"$f"
}
# node CONF NAME [args...]: runs node NAME in its namespace, in the background
node() {
  local conf=$1 name=$2; shift 2
  ip netns exec "$(ns_of "$name")" "$bin" run "$prog" --param PATTERN=needle -j 2 --deploy "$conf" \
    --node "$name" --stats="$dir/$name.json" "$@" 2>"$dir/$name.log" &
  pids+=($!)
}
# waits (up to 120 s) for a node; its exit status
wait_for() { timeout 120 tail --pid="$1" -f /dev/null || { kill -9 "$1"; wait "$1"; return 124; }; wait "$1"; }
# link FILE PEER FIELD: FIELD of the link to PEER in a node's --stats JSON
link() { grep -o "{\"peer\": \"$2\"[^}]*}" "$1" | grep -o "\"$3\": [0-9]*" | grep -o '[0-9]*$'; }
# split NAME ANALYZERS: runs the split; the collector's alerts in NAME.jsonl
split() {
  local conf=$dir/$1.conf n=$2 i p
  deploy "$1" "$n"
  rm -f "$dir"/*.json
  node "$conf" collector -o "$dir/$1.jsonl"
  local waits=($!)
  for i in $(seq 1 "$n"); do node "$conf" "analyzer$i"; waits+=($!); done
  node "$conf" capture --read "$dir/t.pcap"
  waits+=($!)
  for p in "${waits[@]}"; do wait_for "$p" || fail "$1: a node exited $?"; done
}

# ---- 1. three hosts
start=$SECONDS
split three 1
cmp -s "$dir/single.jsonl" "$dir/three.jsonl" ||
  fail "three hosts: alerts ($(wc -l <"$dir/three.jsonl") lines) differ from one process ($want)"
echo "ok 1: capture | analyzer1 | collector on 3 namespaces: $want alerts identical, in order"

# ---- 2. four hosts, two analyzers share the stage
split four 2
cmp -s "$dir/single.jsonl" "$dir/four.jsonl" ||
  fail "four hosts: alerts ($(wc -l <"$dir/four.jsonl") lines) differ from one process ($want)"
r1=$(link "$dir/analyzer1.json" capture received) r2=$(link "$dir/analyzer2.json" capture received)
[ "${r1:-0}" -gt 0 ] && [ "${r2:-0}" -gt 0 ] ||
  fail "an analyzer got no mails from the capture host (analyzer1 ${r1:-?}, analyzer2 ${r2:-?})"
s1=$(link "$dir/analyzer1.json" collector sent) s2=$(link "$dir/analyzer2.json" collector sent)
c1=$(link "$dir/collector.json" analyzer1 received) c2=$(link "$dir/collector.json" analyzer2 received)
[ "${s1:-x}" = "${c1:-y}" ] && [ "${s2:-x}" = "${c2:-y}" ] ||
  fail "alerts sent by the analyzers ($s1, $s2) are not those the collector received ($c1, $c2)"
# parts sent less the empty heartbeats that follow them are the alerts
s1=$((s1 - $(link "$dir/analyzer1.json" collector heartbeats)))
s2=$((s2 - $(link "$dir/analyzer2.json" collector heartbeats)))
[ $((s1 + s2)) -eq "$want" ] || fail "the analyzers found $s1 + $s2 alerts, one process $want"
secs=$((SECONDS - start))
echo "ok 2: two analyzers on 4 namespaces: mails $r1 + $r2, alerts $s1 + $s2 = $want, union identical (both splits ${secs} s)"
