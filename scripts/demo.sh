#!/usr/bin/env bash
# The demo: set-up, then the main job on a bundled default.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release -q -p ndpi-sys --example version
