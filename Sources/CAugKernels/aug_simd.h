// aug_simd.h — what the kernel families share: whether an AVX2 body is compiled, its target
// attribute, and the helpers both bodies use. The choice between the bodies is made at run time
// by aug_kernels_simd_level() (aug_simd.c), so the binary runs on any x86-64.
#ifndef AUG_SIMD_H
#define AUG_SIMD_H

#include "aug_kernels.h"

#include <stdint.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define AUG_HAVE_AVX2_BODY 1
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2")))
#else
#define AUG_HAVE_AVX2_BODY 0
#endif

/// True when the AVX2 bodies run (aug_kernels_simd_level() > 0) and the CPU has FMA too: the
/// colour and geometry kernels' fused bodies, where `fmaf` is one instruction.
int aug_simd_has_fma(void);

static inline uint8_t clip8(int32_t v) { return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

#endif
