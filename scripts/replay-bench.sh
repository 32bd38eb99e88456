#!/usr/bin/env bash
# Live capture at replay speed: nDPI's merged Ethernet captures, IPv4 only, rewritten into
# 127.0.0.0/8 (scripts/loopback-rewrite.py), sent by tcpreplay into one end of a veth pair inside
# a network namespace this script creates (no addresses, no routes: nothing leaves it), while
# `classify -i` (release build, --threads 1, then 2: an AF_PACKET fanout group) and then Debian's
# `ndpiReader -i` capture the other end. Prints, for each: frames sent, frames captured, frames the
# kernel dropped, the time, and for classify whether its flows (tuple, VLAN, protocol, packets)
# equal those of `classify -r` on the same file.
#
#   scripts/replay-bench.sh                 top speed
#   scripts/replay-bench.sh --pps 100000    or any tcpreplay rate option
#
# Needs root, iproute2, tcpreplay and libndpi-bin (scripts/setup.sh). Not run in CI; the test
# examples/classify/tests/classify/replay.rs runs a slow, drop-free replay of the same file.
set -euo pipefail
cd "$(dirname "$0")/.."

rate=("${@:---topspeed}")
work=$(mktemp -d)
ns="classify-bench-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p classify
classify=target/release/classify
vendor/fetch.sh 4.2 # the traffic: nDPI 4.2's captures, whatever the release
python3 scripts/merge-pcaps.py --max-gap 86400 "$work/merged.pcap" vendor/nDPI-4.2/tests/pcap/* 2>/dev/null
python3 scripts/loopback-rewrite.py "$work/merged.pcap" "$work/replay.pcap"
sent=$("$classify" -r "$work/replay.pcap" --quiet --json "$work/file.jsonl" | awk '{gsub(",","",$2); print $2}')

ip netns add "$ns"
ip -n "$ns" link add va type veth peer name vb
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip -n "$ns" link set va up
ip -n "$ns" link set vb up

# Each flow's tuple (ends sorted), VLAN, protocol and packets, one per line, sorted.
flows() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    f = json.loads(line)
    if f["type"] != "flow":
        continue
    ends = sorted(["%s:%s" % (f["cli_ip"], f["cli_port"]), "%s:%s" % (f["srv_ip"], f["srv_port"])])
    packets = f["cli2srv_packets"] + f["srv2cli_packets"]
    print(f["l4_proto"], *ends, f["vlan_id"], f["l7_proto_name"], packets)
' "$1" | sort
}
flows "$work/file.jsonl" >"$work/file.flows"

replay() {
  ip netns exec "$ns" tcpreplay "${rate[@]}" -i va "$work/replay.pcap" 2>&1 |
    awk '/^Actual:/ {print "  tcpreplay:", $0}'
}

# Starts "$@" in the namespace, waits until `ready` appears in $work/err, replays, waits, stops it.
capture() {
  local ready=$1
  shift
  : >"$work/err"
  ip netns exec "$ns" "$@" >"$work/out" 2>"$work/err" &
  local pid=$!
  for _ in $(seq 100); do
    [ -z "$ready" ] || grep -q "$ready" "$work/err" "$work/out" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.5
  local start=$(date +%s.%N)
  replay
  sleep 2
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" || true
  printf '  wall time from replay start to stop: %.1f s (includes 2 s of waiting)\n' \
    "$(echo "$(date +%s.%N) - $start" | bc)"
}

echo "replay: $sent frames (${rate[*]})"
for threads in 1 2; do
  echo "classify -i vb --threads $threads:"
  capture "capturing on" "$classify" -i vb --threads "$threads" --json "$work/live.jsonl"
  grep -E "^  (Capture|Frames):" "$work/out" | sed 's/^  /  classify: /'
  grep -h "warning" "$work/err" | sed 's/^/  /' || true
  flows "$work/live.jsonl" >"$work/live.flows"
  only_file=$(comm -23 "$work/file.flows" "$work/live.flows" | wc -l)
  only_live=$(comm -13 "$work/file.flows" "$work/live.flows" | wc -l)
  echo "  flows vs classify -r: $only_file only in the file, $only_live only live" \
    "($(wc -l <"$work/file.flows") in the file)"
done

if command -v ndpiReader >/dev/null; then
  # It stops itself after -s seconds and prints its report (it does not print libpcap's drops:
  # frames it saw = "packets total").
  echo "ndpiReader -i vb -s 5:"
  capture "" ndpiReader -i vb -s 5
  grep -E "packets total|Packet Processing Time|nDPI throughput" "$work/out" |
    sed 's/^[[:space:]]*/  ndpiReader: /' 
fi
