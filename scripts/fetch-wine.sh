#!/usr/bin/env bash
# Fetch the real PE .sys drivers that Debian's libwine ships (x86_64-windows and i386-windows) into
# test/fixtures/wine/{x64,x86}. They are the PE reader's real-world test data and a negative control for
# tag extraction (wine's drivers make no tagged pool calls). Idempotent: does nothing when both folders
# already hold .sys files. Needs root (apt-get, dpkg --add-architecture) on a Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=test/fixtures/wine

have_sys() { compgen -G "$1/*.sys" >/dev/null; }
if have_sys "$dest/x64" && have_sys "$dest/x86"; then
  echo "fetch-wine: $dest already populated"
  exit 0
fi

dpkg --print-foreign-architectures | grep -qx i386 || dpkg --add-architecture i386
# A mirror hiccup on one index (e.g. security) must not stop us when the main index has libwine:i386.
if ! apt-cache show libwine:i386 >/dev/null 2>&1; then
  apt-get update -qq || echo "fetch-wine: apt-get update reported errors; trying anyway" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root libwine libwine:i386)

extract() { # deb-glob windows-folder target
  local deb
  deb=$(compgen -G "$tmp/$1" | head -n1) || { echo "fetch-wine: no $1 downloaded" >&2; exit 1; }
  mkdir -p "$tmp/x-$3"
  dpkg-deb -x "$deb" "$tmp/x-$3"
  local src
  src=$(find "$tmp/x-$3" -type d -path "*/wine/$2" | head -n1)
  [ -n "$src" ] || { echo "fetch-wine: $2 not found in $deb" >&2; exit 1; }
  mkdir -p "$dest/$3"
  find "$src" -maxdepth 1 -name '*.sys' -exec cp {} "$dest/$3/" \;
  echo "fetch-wine: $(ls "$dest/$3" | grep -c '\.sys$') drivers from $(basename "$deb") -> $dest/$3"
}
extract 'libwine_*_amd64.deb' x86_64-windows x64
extract 'libwine_*_i386.deb' i386-windows x86
