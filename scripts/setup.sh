#!/usr/bin/env bash
# Everything a fresh Debian 12 machine with Rust needs before building: Debian packages and the
# pinned nDPI sources (4.10, the default build, and 4.2, built on request and whose captures the
# behaviour tests replay). Idempotent: installed packages and verified sources are left alone.
# Run as root (or with sudo available). Extra Debian packages may be named as arguments (the
# fuzzing and sanitizer scripts add clang).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  pkg-config libclang-dev   # bindgen
  libgcrypt20-dev           # nDPI's QUIC decryption (SNI/ALPN)
  libpcre2-dev              # nDPI 4.10's RCE-injection check of URLs
  libmaxminddb-dev          # nDPI 4.10's GeoIP lookups
  libpcap-dev               # capture
  libndpi-dev               # system-mode build test (Debian's libndpi 4.2)
  libndpi-bin               # ndpiReader 4.2, the reference for 4.2 (4.10's is built from source)
  valgrind                  # leak checks
  python3                   # scripts/merge-pcaps.py; the loopback HTTP(S) server
  # The live-capture test of the classify example: real servers and clients on 127.0.0.1
  # (tests/data/loopback-servers.sh).
  openssl curl dnsmasq-base bind9-dnsutils openssh-server openssh-client iproute2
  nfdump                    # the IPFIX test's collector: nfcapd, and nfdump to read its files
  # The replay test (a veth pair in a network namespace) and scripts/replay-bench.sh.
  tcpreplay bc
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# NDPI_MIRROR_DIR (set by .ci/run where ../shared/ndpi exists) lets a machine without
# internet find 4.10's release tarball; 4.2 comes from Debian's source archive.
vendor/fetch.sh 4.10
vendor/fetch.sh 4.2
