#!/usr/bin/env bash
# Every test, for both nDPI releases: set-up; the workspace's tests against vendored nDPI 4.10
# (the default) with its reference reader built from the same source; a leak check under
# valgrind; the packaged ndpi-sys built offline; the workspace's tests again against vendored
# nDPI 4.2 (NDPI_VERSION=4.2, its own target dir); and the ndpi-sys, wrapper and conformance
# tests against the system libndpi (Debian's 4.2).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== nDPI 4.10's reference reader, from the same library build" >&2
scripts/build-ndpireader.sh 4.10 >/dev/null

echo "== cargo test (vendored nDPI 4.10)" >&2
cargo test --workspace --all-targets
cargo test --workspace --doc

echo "== ndpi without default features (no libpcap, no serde, no system libraries)" >&2
cargo check -p ndpi --no-default-features
cargo test -p ndpi --no-default-features --lib --tests  # doctests show capture

echo "== touching a Rust file does not rebuild nDPI" >&2
touch ndpi-sys/src/lib.rs
if cargo build -p ndpi-sys -v 2>&1 | grep -q "Running .*build-script-main"; then
  echo "ndpi-sys's build script ran again on an unchanged nDPI source" >&2
  exit 1
fi

# valgrind memcheck: no invalid access and no leak (definite or indirect) in nDPI's init/exit,
# the wrapper tests and the conformance suite (Miri cannot run FFI). 4.10's suite makes 520
# detectors, too slow under valgrind for CI: its smoke and wrapper tests run here, and the
# whole conformance suite runs under valgrind with 4.2 below. 4.10's wrapper tests run without
# the `pcre2` feature: PCRE2 compiles its regexes to machine code (JIT) that valgrind cannot
# see into, and reports that code's registers as uninitialised.
test_binary() { # PACKAGE TEST [CARGO OPTIONS...]
  cargo test -p "$1" --test "$2" "${@:3}" --no-run --message-format=json 2>/dev/null |
    sed -n -E 's/.*"executable":"([^"]+)".*/\1/p' | tail -1
}
memcheck() { # PACKAGE TEST [CARGO OPTIONS...]
  echo "== valgrind (nDPI ${NDPI_VERSION:-4.10}): $1 $2 ${*:3}" >&2
  valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$(test_binary "$@")" --test-threads=1 >/dev/null
}
memcheck ndpi-sys smoke
memcheck ndpi wrapper --no-default-features --features capture,serde,gcrypt,maxminddb

# ---- packaging: ndpi-sys builds from its own .crate (issue 11) ------------------------------
# scripts/package-ndpi-sys.sh packs ndpi-sys with the nDPI subset its build reads; ndpi and
# flowlua are packed in the same cargo run. They have to be: cargo writes each package's
# Cargo.lock as if it were published, and ndpi's ndpi-sys and flowlua's ndpi are on no registry,
# so `cargo package -p ndpi` alone fails even with --no-verify; packed together, cargo resolves
# them against the crates it has just packed. --no-verify skips cargo's own rebuild of each:
# for ndpi-sys the offline build below is the stronger check, and rebuilding ndpi and flowlua
# (nDPI again, Lua, libpcap) would check nothing this section is about.
echo "== packaging: ndpi-sys builds and passes its smoke test from its .crate alone, offline, for both releases" >&2
crate=$(scripts/package-ndpi-sys.sh --no-verify -p ndpi -p flowlua)
if tar -tzf "$crate" | grep -E '/nDPI-[0-9.]+/(tests|doc|example|fuzz|python|wireshark)/'; then
  echo "the ndpi-sys package carries more of nDPI than its build reads" >&2
  exit 1
fi
# Two releases' sources (about 1.1 MB compressed each); crates.io takes up to 10 MB.
if [ "$(stat -c %s "$crate")" -gt $((3 * 1024 * 1024)) ]; then
  echo "the ndpi-sys package grew past 3 MiB: $(stat -c %s "$crate") bytes" >&2
  exit 1
fi
# A fresh directory outside the repository: no ../vendor/nDPI-* and no ../vendor/fetch.sh beside
# the unpacked crate, no network (the registry cache the workspace build filled is enough).
unpacked=$(mktemp -d)
tar -xzf "$crate" -C "$unpacked"
for release in 4.10 4.2; do
  (
    cd "$unpacked"/ndpi-sys-*/
    env -u NDPI_SOURCE_DIR -u NDPI_NO_VENDOR -u NDPI_TARBALL -u NDPI_MIRROR_DIR \
      NDPI_VERSION=$release CARGO_NET_OFFLINE=true CARGO_TARGET_DIR="$unpacked/target-$release" \
      cargo test --offline --locked --test smoke
  )
done
rm -rf "$unpacked"
# ---- end of packaging ----------------------------------------------------------------------

echo "== cargo test (vendored nDPI 4.2, NDPI_VERSION=4.2)" >&2
export NDPI_VERSION=4.2 CARGO_TARGET_DIR=target/v4.2
cargo test --workspace --all-targets
cargo test --workspace --doc
memcheck ndpi-sys smoke
memcheck ndpi wrapper
memcheck ndpi conformance
unset NDPI_VERSION CARGO_TARGET_DIR

echo "== cargo test -p ndpi-sys (system libndpi, NDPI_NO_VENDOR=1)" >&2
NDPI_NO_VENDOR=1 CARGO_TARGET_DIR=target/system cargo test -p ndpi-sys
echo "== conformance and wrapper tests against the system libndpi" >&2
NDPI_NO_VENDOR=1 CARGO_TARGET_DIR=target/system cargo test -p ndpi --test conformance --test wrapper
