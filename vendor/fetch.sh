#!/usr/bin/env bash
# Puts a pinned, verified nDPI source in vendor/nDPI-VERSION (git-ignored).
#
# Usage: vendor/fetch.sh [VERSION]   (default: $NDPI_VERSION, else 4.10; see vendor/ndpi-*.pin)
#
# A source is verified by its content, not by the bytes of its tarball: the sha256 of a manifest
# of every file (path and sha256) and symlink (path and target) in the unpacked tree must equal
# the pin's content_sha256. So upstream's release tarball and any faithful copy of it (another
# compression, `git archive` of the tag) are accepted, and anything else is refused. Paths the
# pin lists as `optional` are left out of the manifest (a copy may lack them).
#
# Sources, tried in order:
#   1. NDPI_TARBALL=/path/to/tarball (a local copy; when set, it is the only source);
#   2. the tarball kept from an earlier fetch (vendor/nDPI-VERSION.src.tar);
#   3. NDPI_MIRROR_DIR=/dir: a directory of release tarballs (any name, any compression tar
#      reads); .ci/run points it at ../shared/ndpi when that copy exists;
#   4. Debian's source archive (when the pin names a debian_version), through a private apt
#      configuration derived from this machine's apt sources (the machine's own apt
#      configuration is left untouched);
#   5. the upstream release tarball (GitHub), for machines with internet.
# Quiet and idempotent once the source is in place. The destination can be changed with
# NDPI_VENDOR_DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=${1:-${NDPI_VERSION:-4.10}}
pinfile="$here/ndpi-$version.pin"
say() { echo "vendor/fetch.sh: $*" >&2; }
if [ ! -f "$pinfile" ]; then
  say "no pin for nDPI '$version' (known: $(cd "$here" && ls ndpi-*.pin | sed 's/ndpi-\(.*\)\.pin/\1/' | tr '\n' ' '))"
  exit 1
fi
pin() { sed -n -E "s/^$1=(.*)$/\\1/p" "$pinfile"; }
content_sha256=$(pin content_sha256) debian_version=$(pin debian_version) upstream=$(pin upstream)
read -r -a optional <<<"$(pin optional)"
dest=${NDPI_VENDOR_DIR:-$here/nDPI-$version}
stamp="$dest/.verified-content-sha256"
kept="$here/nDPI-$version.src.tar"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$content_sha256" ]; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# manifest DIR: one line per file ("F sha256 path") and symlink ("L target path"), sorted by path.
manifest() {
  (
    cd "$1"
    find . -type f -print0 | xargs -0 -r sha256sum | sed -E 's/^([0-9a-f]+)  \.\//F \1 /'
    find . -type l -printf 'L %l %P\n'
  ) | LC_ALL=C sort -k3 | awk -v skip="${optional[*]}" '
    BEGIN { n = split(skip, list, " "); for (i = 1; i <= n; i++) drop[list[i]] = 1 }
    !($3 in drop)'
}

# unpack_and_verify TARBALL ORIGIN: unpacks into $work/tree; succeeds only for the pinned content.
unpack_and_verify() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree"
  if ! tar -xf "$1" -C "$work/tree" --strip-components=1 2>"$work/tar.log"; then
    say "REFUSED $2: not a tar archive tar can read ($(head -1 "$work/tar.log"))"
    return 1
  fi
  local got
  got=$(manifest "$work/tree" | sha256sum | cut -d' ' -f1)
  if [ "$got" = "$content_sha256" ]; then
    return 0
  fi
  say "REFUSED $2: its content (sha256 $got of the file manifest) is not nDPI $version's ($content_sha256, $pinfile)"
  return 1
}

from_local() {
  [ -f "$NDPI_TARBALL" ] || { say "NDPI_TARBALL=$NDPI_TARBALL does not exist"; return 1; }
  echo "$NDPI_TARBALL"
}

from_kept() {
  [ -f "$kept" ] && echo "$kept"
}

# The first tarball of NDPI_MIRROR_DIR whose name mentions this version.
from_mirror() {
  [ -n "${NDPI_MIRROR_DIR:-}" ] && [ -d "$NDPI_MIRROR_DIR" ] || return 1
  local f
  for f in "$NDPI_MIRROR_DIR"/*"$version"*.tar*; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
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
  [ -n "$debian_version" ] && command -v apt-get >/dev/null || return 1
  local parts="$work/apt/sources.list.d" lists="$work/apt/lists" cache="$work/apt/cache"
  mkdir -p "$parts" "$lists/partial" "$cache/archives/partial" "$work/debian"
  derive_deb_src "$parts"
  local opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$parts"
    -o Dir::State::Lists="$lists" -o Dir::Cache="$cache" -o APT::Sandbox::User=root -qq)
  say "fetching ndpi=$debian_version from Debian's source archive"
  # Some sources may lack deb-src indexes; what matters is whether ndpi's arrives.
  apt-get "${opts[@]}" update >"$work/apt.log" 2>&1 || true
  # The Debian-revision files may be missing (apt exits 100); the orig tarball is what we need.
  (cd "$work/debian" && apt-get "${opts[@]}" source --download-only "ndpi=$debian_version") >>"$work/apt.log" 2>&1 || true
  local orig
  orig=$(ls "$work"/debian/ndpi_*.orig.tar.* 2>/dev/null | head -1)
  [ -n "$orig" ] || { say "Debian's source archive did not provide ndpi $debian_version"; return 1; }
  echo "$orig"
}

from_upstream() {
  [ -n "$upstream" ] && command -v curl >/dev/null || return 1
  say "fetching nDPI $version from $upstream"
  curl -fsSL --retry 2 -o "$work/upstream.tar" "$upstream" || return 1
  echo "$work/upstream.tar"
}

sources=(from_kept from_mirror from_debian from_upstream)
[ -n "${NDPI_TARBALL:-}" ] && sources=(from_local)
got=""
for source in "${sources[@]}"; do
  if tarball=$($source) && unpack_and_verify "$tarball" "${source#from_} ($tarball)"; then
    got=$source
    break
  fi
done
if [ -z "$got" ]; then
  say "no verified nDPI $version source. Put its release tarball somewhere and run: NDPI_TARBALL=/path/to/tarball $0 $version"
  exit 1
fi

echo "$content_sha256" >"$work/tree/.verified-content-sha256"
[ "$got" = from_kept ] || { cp "$tarball" "$kept" && chmod u+w "$kept"; }
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$work/tree" "$dest"
say "nDPI $version source verified and unpacked in $dest (via ${got#from_})"
