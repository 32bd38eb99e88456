#!/usr/bin/env bash
# Packages ndpi-sys with the nDPI sources its build reads, so that the .crate builds offline on
# its own, with no repository around it, for every release it knows (4.10 by default, 4.2 with
# NDPI_VERSION=4.2).
#
# The repository holds no nDPI file: vendor/fetch.sh fetches each pinned source and verifies its
# content, then this script copies the part the build reads into ndpi-sys/nDPI-VERSION
# (git-ignored), runs `cargo package -p ndpi-sys`, and removes the copies again. A copy is:
# nDPI's COPYING, configure.ac (the build checks the version there), the public headers and
# templates of src/include, and the C sources and headers of src/lib (without
# src/lib/protocols/attic, which nDPI does not build). No tests, pcaps, docs or build-system
# files.
#
# Arguments go to `cargo package` (e.g. --no-verify: scripts/test.sh builds and tests the
# unpacked crate itself; `-p ndpi -p flowlua` packs those in the same run). Cargo's own
# verification builds the unpacked crate under target/package/, where neither ../vendor/nDPI-*
# nor ../vendor/fetch.sh exists, so it really builds from the packaged copy.
# Prints the path of the ndpi-sys .crate on stdout; everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

releases=(4.10 4.2)
trap 'for r in "${releases[@]}"; do rm -rf "ndpi-sys/nDPI-$r"; done' EXIT

# The file list, relative to a source's root.
files() {
  printf '%s\n' COPYING configure.ac .verified-content-sha256
  find src/include -maxdepth 1 -type f \( -name '*.h' -o -name '*.h.in' \)
  find src/lib -path src/lib/protocols/attic -prune -o \
    -type f \( -name '*.c' -o -name '*.h' -o -name '*.inc' -o -name '*.cc' \) -print
}
for release in "${releases[@]}"; do
  vendor/fetch.sh "$release"
  copy=ndpi-sys/nDPI-$release
  rm -rf "$copy"
  mkdir -p "$copy"
  (cd "vendor/nDPI-$release" && files | sort | tar -cf - --no-recursion -T -) | tar -xf - -C "$copy"
  {
    echo "The part of nDPI $release that ndpi-sys's build reads, copied by"
    echo "scripts/package-ndpi-sys.sh from the source vendor/fetch.sh verified (content sha256"
    echo "$(cat "$copy/.verified-content-sha256"), vendor/ndpi-$release.pin)."
    echo "nDPI is licensed under the LGPL-3.0: see COPYING."
  } >"$copy/README.ndpi-sys"
done

# Nothing from the caller's environment may point the verification build elsewhere.
env -u NDPI_SOURCE_DIR -u NDPI_NO_VENDOR -u NDPI_TARBALL \
  cargo package -p ndpi-sys --allow-dirty "$@" >&2

case " $* " in *" --list "* | *" -l "*) exit 0 ;; esac
version=$(sed -n -E 's/^version = "(.*)"$/\1/p' ndpi-sys/Cargo.toml | head -1)
target=$(cargo metadata --format-version 1 --no-deps |
  sed -E 's/.*"target_directory":"([^"]*)".*/\1/')
crate="$target/package/ndpi-sys-$version.crate"
[ -f "$crate" ] || { echo "package-ndpi-sys.sh: no $crate" >&2; exit 1; }
echo "package-ndpi-sys.sh: $crate: $(stat -c %s "$crate") bytes, $(tar -tzf "$crate" | wc -l) files" >&2
echo "$crate"
