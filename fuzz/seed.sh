#!/usr/bin/env bash
# Builds the seed corpora in fuzz/corpus/TARGET (git-ignored) from nDPI's test captures, which
# vendor/fetch.sh puts in vendor/nDPI-4.2/tests/pcap, and tests/data/loopback.pcap. See
# fuzz/examples/seed.rs for what each target gets. Existing corpus files are kept.
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
"$fuzz/../scripts/setup.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$fuzz/target}
cargo run --quiet --release --manifest-path "$fuzz/Cargo.toml" --example seed -- "$fuzz/corpus"
