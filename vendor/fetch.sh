#!/usr/bin/env bash
# Puts the pinned, checksum-verified nDPI source in vendor/nDPI (git-ignored).
#
# Sources, tried in order:
#   1. NDPI_TARBALL=/path/to/ndpi_4.2.orig.tar.gz (a local copy; when set, it is the only source);
#   2. Debian's source archive, through a private apt configuration derived from this
#      machine's apt sources (the machine's own apt configuration is left untouched);
#   3. the upstream release tarball (GitHub), for machines without Debian's archive.
# Anything whose sha256 differs from vendor/ndpi.pin is refused. Quiet and idempotent once
# the source is in place. The verified tarball is kept beside this script (git-ignored).
# The destination can be changed with NDPI_VENDOR_DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pin() { sed -n -E "s/^$1=(.*)$/\\1/p" "$here/ndpi.pin"; }
version=$(pin version) debian_version=$(pin debian_version) tarball=$(pin tarball) sha256=$(pin sha256)
dest=${NDPI_VENDOR_DIR:-$here/nDPI}
stamp="$dest/.verified-sha256"

say() { echo "vendor/fetch.sh: $*" >&2; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha256" ]; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify FILE ORIGIN: succeeds only when FILE's sha256 is the pinned one.
verify() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" = "$sha256" ]; then
    return 0
  fi
  say "REFUSED the tarball from $2: sha256 $got, expected $sha256 (vendor/ndpi.pin)"
  return 1
}

from_cache() {
  [ -f "$here/$tarball" ] && cp "$here/$tarball" "$work/$tarball"
}

from_local() {
  [ -n "${NDPI_TARBALL:-}" ] || return 1
  [ -f "$NDPI_TARBALL" ] || { say "NDPI_TARBALL=$NDPI_TARBALL does not exist"; return 1; }
  cp "$NDPI_TARBALL" "$work/$tarball"
}

# Writes deb-src twins of the machine's deb entries (one-line and deb822 formats) into $1.
derive_deb_src() {
  local parts=$1 f
  : >"$parts/src.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n -E 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$f" >>"$parts/src.list"
  done
  : >"$parts/src.sources"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -E 's/^Types:.*/Types: deb-src/' "$f" >>"$parts/src.sources"
    printf '\n' >>"$parts/src.sources"
  done
}

from_debian() {
  command -v apt-get >/dev/null || return 1
  local parts="$work/apt/sources.list.d" lists="$work/apt/lists" cache="$work/apt/cache"
  mkdir -p "$parts" "$lists/partial" "$cache/archives/partial"
  derive_deb_src "$parts"
  local opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$parts"
    -o Dir::State::Lists="$lists" -o Dir::Cache="$cache" -o APT::Sandbox::User=root -qq)
  say "fetching ndpi=$debian_version from Debian's source archive"
  # Some sources may lack deb-src indexes; what matters is whether ndpi's arrives.
  apt-get "${opts[@]}" update >"$work/apt.log" 2>&1 || true
  # The Debian-revision files may be missing (apt exits 100); the orig tarball is what we need.
  (cd "$work" && apt-get "${opts[@]}" source --download-only "ndpi=$debian_version") >>"$work/apt.log" 2>&1 || true
  [ -f "$work/$tarball" ] || { say "Debian's source archive did not provide $tarball"; return 1; }
}

from_upstream() {
  command -v curl >/dev/null || return 1
  say "fetching nDPI $version from GitHub"
  curl -fsSL --retry 2 -o "$work/$tarball" "https://github.com/ntop/nDPI/archive/refs/tags/$version.tar.gz"
}

sources=(from_cache from_debian from_upstream)
[ -n "${NDPI_TARBALL:-}" ] && sources=(from_local)
got=""
for source in "${sources[@]}"; do
  if $source && verify "$work/$tarball" "${source#from_}${NDPI_TARBALL:+ ($NDPI_TARBALL)}"; then
    got=$source
    break
  fi
  rm -f "$work/$tarball"
done
if [ -z "$got" ]; then
  say "no verified nDPI $version source. Put $tarball (sha256 $sha256) somewhere and run: NDPI_TARBALL=/path/to/$tarball $0"
  exit 1
fi

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
tar -xzf "$work/$tarball" -C "$dest.tmp" --strip-components=1
echo "$sha256" >"$dest.tmp/.verified-sha256"
[ "$got" = from_cache ] || cp "$work/$tarball" "$here/$tarball"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
say "nDPI $version source verified and unpacked in $dest (via ${got#from_})"
