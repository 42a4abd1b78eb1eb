#!/usr/bin/env bash
# build_libs.sh JPEG_SRC PNG_SRC OUT CC [CFLAGS...] — compiles libjpeg-turbo and libpng from their
# source trees into OUT/lib/libjpeg.a and OUT/lib/libpng.a (headers in OUT/include), with the
# fuzzer's instrumentation, for Scripts/fuzz.sh when FUZZ_JPEG_SRC and FUZZ_PNG_SRC are set.
#
# Why: the system libraries are not instrumented, so libFuzzer cannot see which paths inside them
# an input takes, and ASan cannot see an overrun inside them (for instance one caused by the
# region and scale settings our wrapper gives libjpeg). Built from source, both become visible.
# Use the versions the project links against (libjpeg-turbo 2.1.5, libpng 1.6.39 on Debian 12):
#
#   git -C libjpeg-turbo archive 2.1.5 | tar -x -C /tmp/libjpeg-turbo-2.1.5
#   git -C libpng archive v1.6.39 | tar -x -C /tmp/libpng-1.6.39
#
# No cmake or configure: the few configuration headers are written here. libjpeg-turbo is built
# without its SIMD code (its C routines are the reference the SIMD ones must match); arithmetic
# decoding and the memory source are on, as in Debian's build.
set -euo pipefail
jsrc="$1" psrc="$2" out="$3" cc="$4"
shift 4
cflags=("$@")
rm -rf "$out"
mkdir -p "$out/include" "$out/lib" "$out/obj/jpeg" "$out/obj/png"

version=$(sed -n 's/^project(libjpeg-turbo C)$//;s/^set(VERSION \([0-9.]*\))$/\1/p' "$jsrc/CMakeLists.txt" | head -1)
[ -n "$version" ] || version=2.1.5
cat >"$out/include/jconfig.h" <<EOF
#define JPEG_LIB_VERSION  62
#define LIBJPEG_TURBO_VERSION  $version
#define LIBJPEG_TURBO_VERSION_NUMBER  $(echo "$version" | awk -F. '{printf "%d%03d%03d", $1, $2, $3}')
#define C_ARITH_CODING_SUPPORTED 1
#define D_ARITH_CODING_SUPPORTED 1
#define MEM_SRCDST_SUPPORTED 1
#define BITS_IN_JSAMPLE  8
EOF
cat >"$out/include/jconfigint.h" <<EOF
#define BUILD  "fuzz"
#undef inline
#define INLINE  __inline__ __attribute__((always_inline))
#define THREAD_LOCAL  __thread
#define PACKAGE_NAME  "libjpeg-turbo"
#define VERSION  "$version"
#define SIZEOF_SIZE_T  8
#define HAVE_BUILTIN_CTZL
#define FALLTHROUGH  __attribute__((fallthrough));
EOF
sed 's/@[A-Z_]*@/fuzz/g' "$jsrc/jversion.h.in" >"$out/include/jversion.h"
cp "$jsrc"/jpeglib.h "$jsrc"/jmorecfg.h "$jsrc"/jerror.h "$out/include/"

jpeg_sources=(jcapimin jcapistd jccoefct jccolor jcdctmgr jchuff jcicc jcinit jcmainct jcmarker
    jcmaster jcomapi jcparam jcphuff jcprepct jcsample jctrans jdapimin jdapistd jdatadst jdatasrc
    jdcoefct jdcolor jddctmgr jdhuff jdicc jdinput jdmainct jdmarker jdmaster jdmerge jdphuff
    jdpostct jdsample jdtrans jerror jfdctflt jfdctfst jfdctint jidctflt jidctfst jidctint jidctred
    jquant1 jquant2 jutils jmemmgr jmemnobs jaricom jcarith jdarith jsimd_none)
for f in "${jpeg_sources[@]}"; do
    "$cc" "${cflags[@]}" -w -c -I "$out/include" -I "$jsrc" "$jsrc/$f.c" -o "$out/obj/jpeg/$f.o"
done
ar rcs "$out/lib/libjpeg.a" "$out"/obj/jpeg/*.o

cp "$psrc/scripts/pnglibconf.h.prebuilt" "$out/include/pnglibconf.h"
cp "$psrc/png.h" "$psrc/pngconf.h" "$out/include/"
png_sources=(png pngerror pngget pngmem pngpread pngread pngrio pngrtran pngrutil pngset pngtrans
    pngwio pngwrite pngwtran pngwutil)
for f in "${png_sources[@]}"; do
    "$cc" "${cflags[@]}" -w -c -DPNG_ARM_NEON_OPT=0 -DPNG_INTEL_SSE_OPT=0 -I "$out/include" -I "$psrc" \
        "$psrc/$f.c" -o "$out/obj/png/$f.o"
done
ar rcs "$out/lib/libpng.a" "$out"/obj/png/*.o
echo "build_libs.sh: $out/lib/libjpeg.a (libjpeg-turbo $version), $out/lib/libpng.a" >&2
