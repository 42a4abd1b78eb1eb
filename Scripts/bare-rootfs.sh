#!/usr/bin/env bash
# Makes, once, a bare Debian root filesystem for the wheel's test: Debian 12 `minbase` with only
# python3 and python3-venv added — no Swift, no libjpeg, no libpng, no compiler — and prints its
# path. Later calls find it made and print the path at once.
#
#   bash Scripts/bare-rootfs.sh            # -> /var/cache/augload/rootfs-bookworm
#   AUGLOAD_ROOTFS=/some/dir bash Scripts/bare-rootfs.sh
#
# It lives outside the repository (a cache: delete it to make it again). Needs root, debootstrap
# (installed with apt-get when missing) and a Debian mirror (AUGLOAD_DEBIAN_MIRROR, default
# deb.debian.org). Exit status 3 and a reason on stderr when this host cannot make it; the test
# that uses it then says so loudly.
set -euo pipefail

rootfs="${AUGLOAD_ROOTFS:-/var/cache/augload/rootfs-bookworm}"
mirror="${AUGLOAD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cannot() { echo "bare-rootfs: cannot make $rootfs: $*" >&2; exit 3; }

if [ -f "$rootfs/.augload-complete" ]; then
    echo "$rootfs"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || cannot "debootstrap and chroot need root"
if ! command -v debootstrap >/dev/null; then
    echo "bare-rootfs: installing debootstrap ..." >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >/dev/null 2>&1 ||
        cannot "debootstrap is not installed and apt-get could not install it"
fi
command -v unshare >/dev/null || cannot "unshare (util-linux) is missing"

partial="$rootfs.partial"
rm -rf "$partial"
mkdir -p "$(dirname "$rootfs")"
echo "bare-rootfs: debootstrap --variant=minbase bookworm (about a minute) ..." >&2
if ! debootstrap --variant=minbase --include=python3,python3-venv bookworm "$partial" "$mirror" \
    >"$partial.log" 2>&1; then
    tail -n 5 "$partial.log" >&2
    rm -rf "$partial"
    cannot "debootstrap failed (log: $partial.log)"
fi
rm -rf "$partial/var/cache/apt/archives"/*.deb
touch "$partial/.augload-complete"
rm -rf "$rootfs"
mv "$partial" "$rootfs"
rm -f "$partial.log"
echo "$rootfs"
