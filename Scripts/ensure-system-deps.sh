#!/usr/bin/env bash
# Makes sure what augload builds and tests with is installed: libpng-dev and libjpeg-dev
# (libjpeg-turbo); libcurl4-openssl-dev, whose header the HTTP reader builds against (libcurl itself
# is loaded at run time, for shards at URLs); and nginx, the HTTP server the shard tests start.
# As root it installs what is missing with apt-get; otherwise it says exactly what to run. Used
# by Scripts/test.sh and Scripts/try.sh.
set -euo pipefail

missing=()
[ -f /usr/include/png.h ] || missing+=(libpng-dev)
[ -f /usr/include/jpeglib.h ] || missing+=(libjpeg-dev)
[ -f /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -f /usr/include/curl/curl.h ] || missing+=(libcurl4-openssl-dev)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
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
