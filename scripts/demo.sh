#!/usr/bin/env bash
# The demo: set-up, then the classify example on the project's own loopback capture with the
# bundled Lua checks (flows, then alerts, then a summary; no network or root needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release -q -p classify -- -r tests/data/loopback.pcap --checks examples/checks
