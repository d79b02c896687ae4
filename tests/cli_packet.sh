#!/usr/bin/env bash
# The IPv4 packet functions end to end: tests/run/flows.analog (an IP
# assembler using f_getTransportProtocol, f_getSrcIPAddr, f_getDstIPAddr,
# f_getTCPFlowId) over the public capture zeek-smtp.pcap, read in place;
# skips (77) with a message when it is absent.
# usage: cli_packet.sh SCALANYTICS SOURCE_DIR PCAP_DIR
set -u
bin=$1 src=$2 pcaps=$3
pcap=$pcaps/zeek-smtp.pcap
[ -f "$pcap" ] || { echo "SKIP: $pcap not found (shared data absent)"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
prog=$src/tests/run/flows.analog
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# zeek-smtp.pcap holds 118 TCP packets (all unfragmented) in 6 TCP
# connections (distinct canonical {addr:port, addr:port} pairs), each
# between a distinct pair of addresses. Counted independently of
# Scalanytics by a short Python script that walks the pcap records,
# strips the Ethernet header and collects sorted (address, port)
# endpoint pairs of the IPv4 protocol-6 packets:
#   10.10.1.4:1470 - 74.53.140.153:25     192.168.133.100:49648 - 192.168.133.102:25
#   17.167.150.73:443 - .100:49655       17.172.238.21:5223 - .100:49153
#   66.196.121.26:5050 - .100:49285      74.125.71.189:443 - .100:49336
tcp_packets=118 tcp_connections=6

"$bin" run "$prog" --read "$pcap" --threads 1 >"$dir/t1" 2>"$dir/e" || { bad "run --threads 1"; cat "$dir/e"; }
"$bin" run "$prog" --read "$pcap" --threads 4 >"$dir/t4" 2>"$dir/e" || { bad "run --threads 4"; cat "$dir/e"; }
n=$(grep -c '"relation": "tcp_flow"' "$dir/t1")
[ "$n" -eq $tcp_packets ] && ok "$n TCP packets, one tuple each" || bad "$n tcp_flow tuples, want $tcp_packets"
grep -q ', 0 errors' "$dir/e" && ok "no function errors" || bad "function errors: $(cat "$dir/e")"
ids=$(grep -o '"FLOW_ID": -\?[0-9]*' "$dir/t1" | sort | uniq | wc -l)
[ "$ids" -eq $tcp_connections ] && ok "$ids distinct FLOW_IDs = $tcp_connections TCP connections" || bad "$ids distinct FLOW_IDs, want $tcp_connections"
# each id belongs to one address pair, whichever the direction
pairs=$(sed -n 's/.*"SRC": "\([^"]*\)", "DST": "\([^"]*\)", "FLOW_ID": \(-\?[0-9]*\).*/\1 \2 \3/p' "$dir/t1" |
        awk '{ if ($1 < $2) print $1, $2, $3; else print $2, $1, $3 }' | sort -u | wc -l)
[ "$pairs" -eq $tcp_connections ] && ok "each FLOW_ID covers both directions of one address pair" || bad "$pairs (address pair, FLOW_ID) combinations, want $tcp_connections"
[ -s "$dir/t1" ] && cmp -s "$dir/t1" "$dir/t4" && ok "same output at 1 and 4 threads" || bad "outputs differ by threads"
exit $fail
