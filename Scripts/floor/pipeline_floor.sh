#!/usr/bin/env bash
# pipeline_floor.sh [DIR] [FILES]: builds and runs pipeline_floor.c (see its header) against the
# package's C sources, on the first FILES JPEGs under DIR (default peers-data/ds/jpeg, made by
# Scripts/bench_peers.sh; 300 files). Needs clang (the headers use its nullability keywords).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${TMPDIR:-/tmp}/augload-pipeline-floor"
"${CC:-clang}" -O2 -I"$root/Sources/CAugCodecs/include" -I"$root/Sources/CAugCodecs" -I"$root/Sources/CAugKernels/include" \
    "$root/Scripts/floor/pipeline_floor.c" "$root"/Sources/CAugCodecs/*.c "$root"/Sources/CAugKernels/aug_{simd,resample,noise,convert}.c \
    -o "$out" -ljpeg -lpng -lm
cd "$root"
"$out" "${1:-peers-data/ds/jpeg}" "${2:-300}"
