#!/usr/bin/env bash
# Records tests/data/loopback.pcap: real clients (curl, dig, ssh) talking to real servers (python's
# http.server over HTTP and TLS, dnsmasq, sshd) on 127.0.0.1, captured on `lo` with tcpdump.
# The servers and clients live in loopback-servers.sh, which a live-capture test can reuse.
#
# Usage (as root):  tests/data/record-loopback.sh [OUTPUT.pcap]
# Installs the Debian packages it needs (see LOOPBACK_PACKAGES in loopback-servers.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/data/loopback-servers.sh
source "$here/loopback-servers.sh"

out=${1:-$here/loopback.pcap}

if [ "$(id -u)" -ne 0 ]; then
  echo "record-loopback: run as root (DNS on port 53, sshd, capture on lo)" >&2
  exit 1
fi

loopback_ensure_packages

work=$(mktemp -d /tmp/ndpi-loopback.XXXXXX)
tcpdump_pid=""

# Stop the capture (if still running) and the servers, and remove the scratch directory.
cleanup() {
  local rc=$?
  if [ -n "$tcpdump_pid" ]; then
    kill -INT "$tcpdump_pid" 2>/dev/null || true
    wait "$tcpdump_pid" 2>/dev/null || true
  fi
  stop_servers
  if [ $rc -ne 0 ]; then
    echo "record-loopback: failed; logs:" >&2
    tail -n 20 "$work"/*.log >&2 2>/dev/null || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_servers "$work"

# Capture: full packets (default snaplen), flushed per packet (-U), no privilege drop (-Z root) so
# tcpdump can write to the scratch directory. tcpdump prints "listening on lo" once it captures.
filter=$(loopback_bpf_filter)
tcpdump -i lo -n -U -Z root -w "$work/capture.pcap" "$filter" 2>"$work/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 100); do
  grep -q "listening on lo" "$work/tcpdump.log" && break
  kill -0 "$tcpdump_pid" 2>/dev/null || { cat "$work/tcpdump.log" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on lo" "$work/tcpdump.log" || { echo "record-loopback: tcpdump not ready" >&2; exit 1; }
sleep 0.5

drive_clients

# Let the last FIN/ACKs arrive, then stop the capture cleanly (SIGINT flushes and closes the file).
sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=""
cat "$work/tcpdump.log" >&2
if grep -E -q '^[1-9][0-9]* packets? dropped by kernel' "$work/tcpdump.log"; then
  echo "record-loopback: the kernel dropped packets; run again" >&2
  exit 1
fi

mv "$work/capture.pcap" "$out"
chmod 644 "$out"
echo "record-loopback: wrote $out ($(stat -c %s "$out") bytes)" >&2
