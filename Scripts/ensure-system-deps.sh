#!/usr/bin/env bash
# Makes sure the C libraries augload links are installed: libpng-dev and libjpeg-dev
# (libjpeg-turbo). As root it installs what is missing with apt-get; otherwise it says exactly
# what to run. Used by Scripts/test.sh and Scripts/try.sh.
set -euo pipefail

missing=()
[ -f /usr/include/png.h ] || missing+=(libpng-dev)
[ -f /usr/include/jpeglib.h ] || missing+=(libjpeg-dev)
command -v swift >/dev/null || { echo "augload needs Swift 6 on PATH (https://swift.org/install)" >&2; exit 1; }

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "augload needs ${missing[*]}; run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
