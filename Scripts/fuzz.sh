#!/usr/bin/env bash
# fuzz.sh [SECONDS] [libFuzzer options...] — builds Scripts/fuzz/fuzz_decode.c (libFuzzer, ASan,
# UBSan) against the C sources of Sources/CAugCodecs and fuzzes the decoders for SECONDS (default
# 60). Exits non-zero on a crash, a hang, a leak or any sanitizer report; the input that did it is
# left in .build/fuzz/artifacts/ (add it to Fixtures/fuzz-regressions/ once fixed).
#
#   bash Scripts/fuzz.sh 60                       # CI's smoke run
#   bash Scripts/fuzz.sh 3600 -runs=10000000      # a long run (stops at whichever comes first)
#   bash Scripts/fuzz.sh --repro FILE...          # run the target once on each FILE
#   FUZZ_JPEG_SRC=~/src/libjpeg-turbo-2.1.5 FUZZ_PNG_SRC=~/src/libpng-1.6.39 bash Scripts/fuzz.sh 3600
#                                                 # libraries built instrumented (build_libs.sh)
#
# Seeds: every PNG/JPEG up to 64 KiB under Fixtures/ (and ../shared/acceptance-data when present;
# each distinct file once), each behind a few decode-option headers (see fuzz_decode.c for the
# input layout), plus the regression corpus Fixtures/fuzz-regressions/ as it is. New inputs go to .build/fuzz/corpus/
# (git-ignored, kept between runs). Needs clang with libFuzzer (the Swift toolchain's has it),
# libjpeg-dev and libpng-dev. Runs at nice 19 (FUZZ_NICE to change) and one process.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="$root/.build/fuzz"
bin="$work/fuzz_decode"
mkdir -p "$work/corpus" "$work/artifacts"

repro=0
seconds=60
if [ "${1:-}" = "--repro" ]; then
    repro=1
    shift
elif [ $# -gt 0 ]; then
    seconds="$1"
    shift
fi

bash Scripts/ensure-system-deps.sh >/dev/null 2>&1 || true
cc="${CC:-clang}"
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
# lld if the toolchain has it: ld.gold prints a page of harmless warnings about ASan symbols.
if "$cc" -fuse-ld=lld -x c -o /dev/null - <<<'int main(void){return 0;}' 2>/dev/null; then
    flags+=(-fuse-ld=lld)
fi
# The system's -ljpeg -lpng by default; with FUZZ_JPEG_SRC and FUZZ_PNG_SRC (source trees of the
# same versions) both are built instrumented, so coverage and ASan reach inside them too.
libs=(-ljpeg -lpng)
includes=()
if [ -n "${FUZZ_JPEG_SRC:-}" ] && [ -n "${FUZZ_PNG_SRC:-}" ]; then
    prefix="$work/libs"
    stamp="$FUZZ_JPEG_SRC $FUZZ_PNG_SRC ${flags[*]}"
    if [ "$(cat "$prefix/stamp" 2>/dev/null)" != "$stamp" ]; then
        bash Scripts/fuzz/build_libs.sh "$FUZZ_JPEG_SRC" "$FUZZ_PNG_SRC" "$prefix" "$cc" \
            -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
        echo "$stamp" >"$prefix/stamp"
    fi
    includes=(-I "$prefix/include")
    libs=("$prefix/lib/libjpeg.a" "$prefix/lib/libpng.a" -lz -lm)
fi
echo "fuzz.sh: building $bin with $("$cc" --version | head -1), ${libs[*]}" >&2
"$cc" "${flags[@]}" "${includes[@]}" -I Sources/CAugCodecs/include -I Sources/CAugCodecs \
    Scripts/fuzz/fuzz_decode.c Sources/CAugCodecs/*.c -o "$bin" "${libs[@]}"

if [ "$repro" = 1 ]; then
    exec "$bin" -runs=1 "$@"
fi

# Seeds: each image file behind four option headers (flags, pixel limit, region):
#   00: whole image, scale 1;  49: region + differential, scale 1/2;
#   4b: region + differential, scale 1/8, with a small pixel limit;  cc: region, strict, default limit.
seeds="$work/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"
headers=(
    '\x00\xff\xff\x3f\x00\x00\x00\x00\x00\x00\x00\x00'
    '\x49\xff\xff\x3f\x05\x00\x03\x00\x11\x00\x07\x00'
    '\x4b\x00\x40\x00\x01\x00\x02\x00\x03\x00\x04\x00'
    '\xcc\xff\xff\x3f\x0d\x00\x00\x00\x02\x00\xff\xff'
)
n=0
declare -A seen=()  # Fixtures/conformance holds copies of ../shared/acceptance-data: seed each file once
for dir in Fixtures ../shared/acceptance-data; do
    [ -d "$dir" ] || continue
    while IFS= read -r -d '' f; do
        sum=$(sha1sum <"$f")
        [ -z "${seen[$sum]:-}" ] || continue
        seen[$sum]=1
        k=0
        for h in "${headers[@]}"; do
            { printf "$h"; cat "$f"; } >"$seeds/$n-$k"
            k=$((k + 1))
        done
        n=$((n + 1))
    done < <(find "$dir" -path "$dir/fuzz-regressions" -prune -o -type f -size -65537c \
        \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) -print0 | sort -z)
done
echo "fuzz.sh: $n seed files x ${#headers[@]} option headers, $(ls Fixtures/fuzz-regressions | grep -vc README) regression inputs; fuzzing for ${seconds}s" >&2

status=0
nice -n "${FUZZ_NICE:-19}" "$bin" -max_total_time="$seconds" -max_len=65548 -timeout=25 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$@" "$work/corpus" "$seeds" Fixtures/fuzz-regressions || status=$?
if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: FAILED (exit $status); the input is in $work/artifacts/:" >&2
    ls -t "$work/artifacts" | head -5 >&2
    echo "reproduce: bash Scripts/fuzz.sh --repro $work/artifacts/<file>" >&2
fi
exit "$status"
