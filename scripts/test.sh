#!/usr/bin/env bash
# Every test: set-up, the workspace's tests (vendored nDPI), a leak check of nDPI init/exit under
# valgrind, and the same ndpi-sys tests linked against the system libndpi 4.2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== cargo test (vendored nDPI 4.2)" >&2
cargo test --workspace --all-targets
cargo test --workspace --doc

echo "== valgrind: nDPI init/finalize/exit leaks nothing" >&2
smoke=$(cargo test -p ndpi-sys --test smoke --no-run --message-format=json 2>/dev/null |
  sed -n -E 's/.*"executable":"([^"]+)".*/\1/p' | tail -1)
valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
  "$smoke" --test-threads=1 >/dev/null

echo "== cargo test -p ndpi-sys (system libndpi, NDPI_NO_VENDOR=1)" >&2
NDPI_NO_VENDOR=1 CARGO_TARGET_DIR=target/system cargo test -p ndpi-sys
