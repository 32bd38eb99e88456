#!/usr/bin/env bash
# Fuzzes each target in turn for SECONDS (default 600), one process at a time, on its corpus in
# fuzz/corpus/TARGET (built by fuzz/seed.sh when missing). Not part of scripts/test.sh.
#
#   fuzz/run.sh [TARGET|all] [SECONDS]        targets: decode pipeline pcap flowlua
#
# Stable Rust is enough: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass -Zsanitizer=address. nDPI's and
# Lua's C code is compiled by clang-14 with libFuzzer's coverage and ASan as well, so the fuzzer
# is guided by nDPI's branches too. FUZZ_SANITIZER=none builds without ASan, for speed.
# Inputs kept in tests/data/fuzz-regressions/TARGET are replayed at the start of each run.
# A crash leaves its input in fuzz/artifacts/TARGET; every run's log is
# fuzz/artifacts/TARGET/fuzz.log. Exits non-zero when any target crashed.
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
targets=(decode pipeline pcap flowlua)
[ "${1:-all}" = all ] || targets=("$1")
seconds=${2:-600}
sanitizer=${FUZZ_SANITIZER:-address}

"$fuzz/../scripts/setup.sh" clang-14 libclang-rt-14-dev
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
[ -d "$fuzz/corpus" ] || "$fuzz/seed.sh"

c_flags="-fsanitize=fuzzer-no-link -fno-omit-frame-pointer -g"
[ "$sanitizer" = none ] || c_flags+=" -fsanitize=$sanitizer"
export RUSTC_BOOTSTRAP=1 CC_x86_64_unknown_linux_gnu=clang-14 CFLAGS_x86_64_unknown_linux_gnu="$c_flags"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$fuzz/target}
export LSAN_OPTIONS=suppressions=$fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}

cd "$fuzz"
crashed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  # Inputs that once crashed are replayed first (new inputs go to the first directory only).
  corpora=("corpus/$t")
  [ -d "../tests/data/fuzz-regressions/$t" ] && corpora+=("../tests/data/fuzz-regressions/$t")
  echo "== fuzz $t for ${seconds}s (sanitizer: $sanitizer)" >&2
  # Default cargo-fuzz profile: optimized, with debug assertions and overflow checks.
  nice -n 19 cargo fuzz run -s "$sanitizer" --target-dir "$CARGO_TARGET_DIR" "$t" "${corpora[@]}" -- \
    -max_total_time="$seconds" -timeout=30 -print_final_stats=1 >"artifacts/$t/fuzz.log" 2>&1 ||
    crashed+=("$t")
  grep -E '[[:space:]]DONE |^stat::(number_of_executed_units|peak_rss)|^SUMMARY|==ERROR|panicked|Test unit written' \
    "artifacts/$t/fuzz.log" >&2 || true
done
if [ ${#crashed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: crashes in ${crashed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
