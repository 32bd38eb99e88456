#!/usr/bin/env bash
# Whole-process time and peak RSS of the classify example against ndpiReader of the same nDPI
# release, on nDPI 4.2's Ethernet test captures (pcap and pcapng) merged into one file: 5
# interleaved runs each, medians printed.
#
#   scripts/bench-classify.sh            # builds the example (release) and the merged capture
#   BENCH_WORKLOAD=8x-vlan scripts/bench-classify.sh
#                                        # issue 15's workload: the merge 8 times, copy k on VLAN
#                                        # k + 1 (target/bench-8x-vlan.pcap, about 1.2 GB)
#   NDPI_VERSION=4.2 scripts/bench-classify.sh
#                                        # classify built with nDPI 4.2, against Debian's reader
#
# The reader: 4.10's is built from the same source by scripts/build-ndpireader.sh; 4.2's is
# Debian's (`libndpi-bin`). Needs /usr/bin/time (Debian package `time`) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${NDPI_VERSION:-4.10}
target=${CARGO_TARGET_DIR:-target}
[ "$version" = 4.10 ] || target=${CARGO_TARGET_DIR:-target/v$version}
classify=$target/release/classify
CARGO_TARGET_DIR=$target cargo build --release -q -p classify
case $version in
4.2) reader=/usr/bin/ndpiReader ;;
*) reader=$(scripts/build-ndpireader.sh "$version") ;;
esac
vendor/fetch.sh 4.2 # the traffic: nDPI 4.2's captures, whatever the release
traffic=(vendor/nDPI-4.2/tests/pcap/*)
case ${BENCH_WORKLOAD:-merged} in
merged)
  merged=target/merged-ethernet.pcap
  [ -f "$merged" ] || scripts/merge-pcaps.py --max-gap 86400 "$merged" "${traffic[@]}" 2>/dev/null
  ;;
8x-vlan)
  merged=target/bench-8x-vlan.pcap
  [ -f "$merged" ] || scripts/merge-pcaps.py --copies 8 --vlan --max-gap 86400 "$merged" \
    "${traffic[@]}" 2>/dev/null
  ;;
*)
  echo "BENCH_WORKLOAD is merged or 8x-vlan" >&2
  exit 2
  ;;
esac
cat "$merged" >/dev/null # into the page cache

declare -A wall rss
run() { # NAME COMMAND...
  local name=$1 out
  shift
  out=$(mktemp)
  /usr/bin/time -o "$out" -f "%e %M" "$@" >/dev/null 2>&1
  read -r e m <"$out"
  rm -f "$out"
  wall[$name]+="$e "
  rss[$name]+="$m "
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

for _ in 1 2 3 4 5; do
  run "ndpiReader -q" "$reader" -i "$merged" -q
  run "classify --threads 1" "$classify" -r "$merged" --quiet --threads 1
  run "classify --threads 2" "$classify" -r "$merged" --quiet --threads 2
done
for name in "ndpiReader -q" "classify --threads 1" "classify --threads 2"; do
  printf '%-22s median %s s (%s), peak RSS median %s KB\n' "$name" \
    "$(median <<<"${wall[$name]}")" "${wall[$name]% }" "$(median <<<"${rss[$name]}")"
done
