// aug_simd.c — which body the kernels run: AVX2 where the CPU has it (and the portable bodies
// are not forced, as the tests force them to compare), else the portable one.
#include "aug_simd.h"

static int force_portable = 0;

void aug_kernels_force_portable(int portable) { force_portable = portable != 0; }

int aug_kernels_simd_level(void) {
#if AUG_HAVE_AVX2_BODY
    static int level = -1;
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return force_portable ? 0 : level;
#else
    return 0;
#endif
}

int aug_simd_has_fma(void) {
#if AUG_HAVE_AVX2_BODY
    static int fma = -1;
    if (fma < 0) {
        __builtin_cpu_init();
        fma = __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2");
    }
    return fma && aug_kernels_simd_level() > 0;
#else
    return 0;
#endif
}
