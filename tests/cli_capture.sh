#!/usr/bin/env bash
# Packet capture through `scalanytics run --read`, as a user runs it.
# Reads the public captures in ../shared/data/pcaps in place; skips (77)
# with a message when they are absent.
# usage: cli_capture.sh SCALANYTICS SOURCE_DIR PCAP_DIR
set -u
bin=$1 src=$2 pcaps=$3
[ -f "$pcaps/zeek-smtp.pcap" ] || { echo "SKIP: $pcaps/zeek-smtp.pcap not found (shared data absent)"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
prog=$src/tests/run/packets.analog
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# zeek-smtp.pcap: 125 Ethernet frames, all IPv4, 38919 bytes on the wire;
# 14 of them carry 6 bytes of Ethernet padding. So the IP packets total
# 38919 - 125*14 - 14*6 = 37085 bytes, which f_traffic must count.
"$bin" run "$prog" -p MIN=1000 -r "$pcaps/zeek-smtp.pcap" --stats="$dir/st.json" >"$dir/t2" 2>"$dir/e" || { bad "run"; cat "$dir/e"; }
grep -q '"input": {"packets": 125, "bytes": 37085}' "$dir/st.json" && ok "f_traffic: 125 packets, 37085 IP bytes" || bad "traffic: $(cat "$dir/st.json")"
grep -q '"ipv4_delivered": 125' "$dir/st.json" && grep -q '"bytes_seen": 38919' "$dir/st.json" && ok "capture counters" || bad "capture counters"
"$bin" run "$prog" -p MIN=1000 -r "$pcaps/zeek-smtp.pcap" --threads 1 >"$dir/t1" 2>/dev/null
"$bin" run "$prog" -p MIN=1000 -r "$pcaps/zeek-smtp.pcap" --threads 4 >"$dir/t4" 2>/dev/null
[ -s "$dir/t1" ] && cmp -s "$dir/t1" "$dir/t2" && cmp -s "$dir/t1" "$dir/t4" && ok "same output at 1, 2, 4 threads ($(wc -l <"$dir/t1") large packets)" || bad "outputs differ by threads"

# a BPF filter
"$bin" run "$prog" -p MIN=1000 -r "$pcaps/zeek-smtp.pcap" -f "tcp port 25" --stats="$dir/f.json" >/dev/null 2>&1
grep -q '"input": {"packets": 80,' "$dir/f.json" && ok "--filter 'tcp port 25': 80 packets" || bad "filter: $(cat "$dir/f.json")"
"$bin" run "$prog" -p MIN=1 -r "$pcaps/zeek-smtp.pcap" -f "tcp port zzz" >/dev/null 2>"$dir/e"; rc=$?
[ $rc -eq 1 ] && grep -q 'tcp port zzz' "$dir/e" && ok "bad filter named, status 1" || { bad "bad filter: rc $rc"; cat "$dir/e"; }

# IPv6 is counted and reported as skipped, never silently lost
if [ -f "$pcaps/ndpi-smtp-starttls.pcap" ]; then
  "$bin" run "$prog" -p MIN=1 -r "$pcaps/ndpi-smtp-starttls.pcap" >/dev/null 2>"$dir/e"
  grep -q "33 IPv6 skipped" "$dir/e" && ok "IPv6 counted as skipped" || { bad "ipv6"; cat "$dir/e"; }
fi

# a truncated capture: a clear message, what came before still processed, status 1
head -c 2000 "$pcaps/zeek-smtp.pcap" >"$dir/cut.pcap"
"$bin" run "$prog" -p MIN=0 -r "$dir/cut.pcap" >"$dir/o" 2>"$dir/e"; rc=$?
[ $rc -eq 1 ] && grep -q "truncated at packet" "$dir/e" && [ -s "$dir/o" ] && ok "truncated pcap: reported, earlier packets output" || { bad "truncated: rc $rc"; cat "$dir/e"; }

# usage
"$bin" run "$prog" -p MIN=0 -r /nonexistent.pcap >/dev/null 2>"$dir/e"; rc=$?
[ $rc -eq 1 ] && grep -q "/nonexistent.pcap" "$dir/e" && ok "missing file: status 1" || bad "missing file: rc $rc"
"$bin" run "$prog" -p MIN=0 -r x.pcap -t y.jsonl >/dev/null 2>"$dir/e"; rc=$?
[ $rc -eq 2 ] && grep -q "several inputs" "$dir/e" && ok "two inputs: status 2" || bad "two inputs: rc $rc"
exit $fail
