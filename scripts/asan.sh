#!/usr/bin/env bash
# AddressSanitizer (with LeakSanitizer) over the C code the tests run: nDPI 4.2 and Lua 5.4 are
# compiled by clang-14 with -fsanitize=address through the cc crate's flags, and the test
# binaries link clang's ASan runtime (Debian's libclang-rt-14-dev). Stable Rust; the Rust code
# itself is not instrumented, but every allocation is ASan's, so nDPI reading past a packet
# slice handed to it from the end of a frame buffer is caught.
#
#   scripts/asan.sh           the ndpi-sys smoke test, the tests of ndpi (wrapper, conformance
#                             suite, decoder, tracker, capture, fuzz regressions) and of flowlua;
#                             not flood and soak, whose RSS bounds ASan's redzones and
#                             quarantine would break
#   scripts/asan.sh --rust    the same with the Rust code instrumented too (-Zsanitizer=address
#                             through RUSTC_BOOTSTRAP=1; ASan runtime from the Rust toolchain)
#
# Fails on any ASan error or leak. Not part of scripts/test.sh (it rebuilds everything, in
# target/asan).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh clang-14 libclang-rt-14-dev

triple=x86_64-unknown-linux-gnu
env_triple=${triple//-/_}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/asan}
export "CC_$env_triple=clang-14"
export "CFLAGS_$env_triple=-fsanitize=address -fno-omit-frame-pointer -g -O1"
if [ "${1:-}" = --rust ]; then
  export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$CARGO_TARGET_DIR-rust
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-Zsanitizer=address -Cforce-frame-pointers"
else
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=clang-14
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-Clink-arg=-fsanitize=address"
fi
# Halt on the first error; leaks are errors too. mlua keeps a Lua reference count behind a
# pointer LeakSanitizer does not recognize (see fuzz/lsan.supp).
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=1

# --target keeps the flags off build scripts and proc macros.
cargo test --target "$triple" -p ndpi-sys --tests
cargo test --target "$triple" -p ndpi --lib --test wrapper --test conformance --test capture \
  --test tracker --test fuzz_regressions
cargo test --target "$triple" -p flowlua --tests
echo "scripts/asan.sh: no AddressSanitizer error and no leak" >&2
