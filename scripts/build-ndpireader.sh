#!/usr/bin/env bash
# Builds nDPI's reference reader, ndpiReader, from the very library build ndpi-sys links: the
# reader of the version under test, to compare benchmarks and results against (Debian packages
# only 4.2's, /usr/bin/ndpiReader). No autotools: the reader's sources and flags are the ones
# example/Makefile.in and configure.ac would use, the library is ndpi-sys's libndpi.a.
#
#   scripts/build-ndpireader.sh [VERSION]   # 4.10 (default, or $NDPI_VERSION) or 4.2
#
# Runs `cargo build --release -p ndpi-sys` with NDPI_VERSION=VERSION and ndpi-sys's default
# features, takes libndpi.a, the generated headers (OUT_DIR/include-VERSION) and the libraries it links
# from cargo's build-script-executed message, compiles vendor/nDPI-VERSION/example's reader
# against them and prints the binary's absolute path: $CARGO_TARGET_DIR/ndpiReader-VERSION
# (target/ by default). Quick when nothing changed: the reader is rebuilt only when it is older than one of
# its inputs. Switching VERSION rebuilds ndpi-sys, as any NDPI_VERSION switch does.
#
# Needs a C compiler, pkg-config, python3 and libpcap-dev besides what ndpi-sys needs.
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."

version=${1:-${NDPI_VERSION:-4.10}}
target=${CARGO_TARGET_DIR:-target}
say() { echo "build-ndpireader: $*" >&2; }
die() { say "$*"; exit 1; }

# The flags example/Makefile.in compiles the reader with, per release. autotools'
# ndpi_config.h also defines HAVE_PTHREAD_SETAFFINITY_NP on glibc (the reader's -n core
# pinning); ndpi-sys's does not, so it is given here.
case $version in
  4.10)
    # CFLAGS: -fPIC -DPIC, then configure's NDPI_CFLAGS. USE_GLOBAL_CONTEXT must match the
    # library's (ndpi-sys's Release::defines): it changes struct ndpi_lru_cache and whether
    # the reader creates a global context.
    cflags=(-fPIC -DPIC -W -Wall -Wno-address-of-packed-member -D_DEFAULT_SOURCE=1
      -D_GNU_SOURCE=1 -O2 -DUSE_GLOBAL_CONTEXT -pthread)
    global_context=1
    ;;
  4.2)
    # CFLAGS: -g -fPIC -DPIC, then configure's CFLAGS (-W -Wall ... and autoconf's -g -O2).
    cflags=(-g -fPIC -DPIC -W -Wall -Wno-unused-parameter -Wno-unused-function -g -O2 -pthread)
    global_context=0
    ;;
  *) die "no recipe for nDPI '$version' (known: 4.10, 4.2)" ;;
esac
cflags+=(-DHAVE_PTHREAD_SETAFFINITY_NP=1)

for tool in cc pkg-config python3; do
  command -v "$tool" >/dev/null || die "$tool not found. Fix: apt-get install gcc pkg-config python3"
done
pkg-config --exists libpcap || die "libpcap not found by pkg-config. Fix: apt-get install libpcap-dev"

# The library build, and where it put its output. NDPI_VERSION is set only when it has to be:
# ndpi-sys reruns its build when the variable changes, even from unset to the default.
if [ "${NDPI_VERSION:-4.10}" != "$version" ]; then
  export NDPI_VERSION=$version
fi
json=$(mktemp)
trap 'rm -f "$json"' EXIT
if ! cargo build --release -p ndpi-sys --message-format=json-render-diagnostics >"$json"; then
  die "cargo build --release -p ndpi-sys failed (NDPI_VERSION=$version); its message above says what to install or fetch"
fi
# out_dir, then the libraries ndpi-sys links (-lNAME), then its search paths (-LDIR).
mapfile -t build < <(python3 - "$json" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "build-script-executed" and "ndpi-sys" in m["package_id"]:
        print(m["out_dir"])
        print(" ".join("-l" + lib.split("=")[-1] for lib in m["linked_libs"]
                       if lib.split("=")[-1] != "ndpi"))
        print(" ".join("-L" + p.split("=")[-1] for p in m["linked_paths"]))
        break
EOF
)
[ ${#build[@]} -eq 3 ] || die "cargo reported no build-script-executed message for ndpi-sys"
out_dir=${build[0]}
read -r -a libs <<<"${build[1]}"
read -r -a lib_dirs <<<"${build[2]}"
libndpi=$out_dir/libndpi.a
include=$out_dir/include-$version
[ -f "$libndpi" ] || die "$libndpi does not exist: ndpi-sys linked a system libndpi (NDPI_NO_VENDOR or the system feature?). The reader needs the vendored build: unset NDPI_NO_VENDOR."
grep -q "NDPI_GIT_RELEASE \"$version\." "$include/ndpi_config.h" ||
  die "$include/ndpi_config.h is not nDPI $version's"
# The library uses pthread mutexes exactly when it was built with USE_GLOBAL_CONTEXT.
# (grep reads all of nm's output: with -q, nm could die of SIGPIPE and fail the pipeline.)
if nm "$libndpi" 2>/dev/null | grep ' U pthread_mutex_init$' >/dev/null; then lib_global=1; else lib_global=0; fi
[ "$lib_global" = "$global_context" ] ||
  die "$libndpi was built with USE_GLOBAL_CONTEXT=$lib_global, this script assumes $global_context for $version: update the recipe above to match ndpi-sys's Release::defines"

# ndpi-sys compiled the reader's source tree, unless it was pointed elsewhere.
source_dir=${NDPI_SOURCE_DIR:-vendor/nDPI-$version}
example=$source_dir/example
[ -f "$example/ndpiReader.c" ] || die "$example/ndpiReader.c not found. Fix: vendor/fetch.sh $version"
# Makefile.in's COMMON_SOURCES (every .c but the two programs' own) and ndpiReader.c.
sources=()
for source in "$example"/*.c; do
  case ${source##*/} in ndpiReader.c | ndpiSimpleIntegration.c) ;; *) sources+=("${source##*/}") ;; esac
done
sources+=(ndpiReader.c)

reader=$(realpath -m "$target/ndpiReader-$version")
inputs=("$libndpi" "$include"/*.h "$example"/*.c "$example"/*.h "$self")
fresh=1
if [ -x "$reader" ]; then
  for input in "${inputs[@]}"; do
    [ "$input" -nt "$reader" ] && { fresh=0; break; }
  done
else
  fresh=0
fi
if [ $fresh -eq 1 ]; then
  echo "$reader"
  exit 0
fi

read -r -a pcap_cflags <<<"$(pkg-config --cflags libpcap)"
read -r -a pcap_libs <<<"$(pkg-config --libs libpcap)"
objects=$target/ndpireader-$version
mkdir -p "$objects"
say "compiling ndpiReader $version against $out_dir"
start=$EPOCHREALTIME
pids=()
for source in "${sources[@]}"; do
  cc "${cflags[@]}" -I"$include" "${pcap_cflags[@]}" -c "$example/$source" \
    -o "$objects/${source%.c}.o" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid" || die "compiling the reader failed (see above)"
done
objs=()
for source in "${sources[@]}"; do objs+=("$objects/${source%.c}.o"); done
cc "${cflags[@]}" "${objs[@]}" "$libndpi" "${pcap_libs[@]}" "${lib_dirs[@]}" "${libs[@]}" \
  -o "$reader.tmp"
mv "$reader.tmp" "$reader"
say "built in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s: $reader"
echo "$reader"
