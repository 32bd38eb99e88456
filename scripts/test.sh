#!/usr/bin/env bash
# Every test: set-up, the workspace's tests (vendored nDPI), a leak check of nDPI init/exit under
# valgrind, and the same ndpi-sys tests linked against the system libndpi 4.2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== cargo test (vendored nDPI 4.2)" >&2
cargo test --workspace --all-targets
cargo test --workspace --doc

echo "== ndpi without default features (no libpcap, no serde, no libgcrypt)" >&2
cargo check -p ndpi --no-default-features
cargo test -p ndpi --no-default-features --lib --tests  # doctests show capture

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

# ---- packaging: ndpi-sys builds from its own .crate (issue 11) ------------------------------
# scripts/package-ndpi-sys.sh packs ndpi-sys with the nDPI subset its build reads; ndpi and
# flowlua are packed in the same cargo run. They have to be: cargo writes each package's
# Cargo.lock as if it were published, and ndpi's ndpi-sys and flowlua's ndpi are on no registry,
# so `cargo package -p ndpi` alone fails even with --no-verify; packed together, cargo resolves
# them against the crates it has just packed. --no-verify skips cargo's own rebuild of each:
# for ndpi-sys the offline build below is the stronger check, and rebuilding ndpi and flowlua
# (nDPI again, Lua, libpcap) would check nothing this section is about.
echo "== packaging: ndpi-sys builds and passes its smoke test from its .crate alone, offline" >&2
crate=$(scripts/package-ndpi-sys.sh --no-verify -p ndpi -p flowlua)
if tar -tzf "$crate" | grep -E '/nDPI/(tests|doc|example|fuzz|python|wireshark)/'; then
  echo "the ndpi-sys package carries more of nDPI than its build reads" >&2
  exit 1
fi
if [ "$(stat -c %s "$crate")" -gt $((2 * 1024 * 1024)) ]; then
  echo "the ndpi-sys package grew past 2 MiB: $(stat -c %s "$crate") bytes" >&2
  exit 1
fi
# A fresh directory outside the repository: no ../vendor/nDPI and no ../vendor/fetch.sh beside
# the unpacked crate, no network (the registry cache the workspace build filled is enough).
unpacked=$(mktemp -d)
tar -xzf "$crate" -C "$unpacked"
(
  cd "$unpacked"/ndpi-sys-*/
  env -u NDPI_SOURCE_DIR -u NDPI_NO_VENDOR -u NDPI_TARBALL \
    CARGO_NET_OFFLINE=true CARGO_TARGET_DIR="$unpacked/target" \
    cargo test --offline --locked --test smoke
)
rm -rf "$unpacked"
# ---- end of packaging ----------------------------------------------------------------------

echo "== cargo test -p ndpi-sys (system libndpi, NDPI_NO_VENDOR=1)" >&2
NDPI_NO_VENDOR=1 CARGO_TARGET_DIR=target/system cargo test -p ndpi-sys
echo "== conformance and wrapper tests against the system libndpi" >&2
NDPI_NO_VENDOR=1 CARGO_TARGET_DIR=target/system cargo test -p ndpi --test conformance --test wrapper
