#!/usr/bin/env bash
# Every test: set-up, the workspace's tests (vendored nDPI), a leak check of nDPI init/exit under
# valgrind, and the same ndpi-sys tests linked against the system libndpi 4.2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== cargo test (vendored nDPI 4.2)" >&2
cargo test --workspace --all-targets
cargo test --workspace --doc

echo "== touching a Rust file does not rebuild nDPI" >&2
touch ndpi-sys/src/lib.rs
if cargo build -p ndpi-sys -v 2>&1 | grep -q "Running .*build-script-main"; then
  echo "ndpi-sys's build script ran again on an unchanged nDPI source" >&2
  exit 1
fi

# valgrind memcheck: no invalid access and no leak (definite or indirect) in nDPI's init/exit,
# the wrapper tests and the whole conformance suite (Miri cannot run FFI).
test_binary() { # PACKAGE TEST
  cargo test -p "$1" --test "$2" --no-run --message-format=json 2>/dev/null |
    sed -n -E 's/.*"executable":"([^"]+)".*/\1/p' | tail -1
}
for t in "ndpi-sys smoke" "ndpi wrapper" "ndpi conformance"; do
  echo "== valgrind: $t" >&2
  # shellcheck disable=SC2086
  valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$(test_binary $t)" --test-threads=1 >/dev/null
done

echo "== cargo test -p ndpi-sys (system libndpi, NDPI_NO_VENDOR=1)" >&2
NDPI_NO_VENDOR=1 CARGO_TARGET_DIR=target/system cargo test -p ndpi-sys
echo "== conformance and wrapper tests against the system libndpi" >&2
NDPI_NO_VENDOR=1 CARGO_TARGET_DIR=target/system cargo test -p ndpi --test conformance --test wrapper
