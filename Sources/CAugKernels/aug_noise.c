// aug_noise.c — the Gaussian noise field: deviates drawn from a table by a counter hash of the
// sample's key and the position, so noise is a pure function of (draw, position).
// Both bodies of a kernel give the same bytes: the same hash and the same table lookups.
#include "aug_simd.h"

#include <math.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

static inline uint32_t noise_hash(uint32_t m, uint32_t key) {
    uint32_t x = m * 0x9E3779B1u + key;
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

// Fills out[first ..< count].
static void noise_portable(const float *table, uint64_t key, float *out, int32_t first, int32_t count) {
    for (int32_t i = first; i < count; i++) {
        uint32_t block = (uint32_t)i >> 4, lane = (uint32_t)i & 7, high = ((uint32_t)i & 8) == 0;
        uint32_t h = noise_hash(block * 8 + lane, (uint32_t)key);
        out[i] = table[high ? h >> 20 : (h >> 4) & 0xFFF];
    }
}

#if AUG_HAVE_AVX2_BODY
// Sixteen deviates per step: eight hashes (two multiplies each, all lanes at once), two gathers.
AVX2 static void noise_avx2(const float *table, uint64_t key, float *out, int32_t count) {
    const __m256i step = _mm256_set1_epi32((int32_t)(8u * 0x9E3779B1u));
    const __m256i mask = _mm256_set1_epi32(0xFFF);
    __m256i x0 = _mm256_add_epi32(
        _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int32_t)0x9E3779B1u)),
        _mm256_set1_epi32((int32_t)(uint32_t)key));
    int32_t i = 0;
    for (; i + 16 <= count; i += 16, x0 = _mm256_add_epi32(x0, step)) {
        __m256i x = x0;
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
        x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int32_t)0x85EBCA6Bu));
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 13));
        x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int32_t)0xC2B2AE35u));
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
        _mm256_storeu_ps(out + i, _mm256_i32gather_ps(table, _mm256_srli_epi32(x, 20), 4));
        _mm256_storeu_ps(out + i + 8,
                         _mm256_i32gather_ps(table, _mm256_and_si256(_mm256_srli_epi32(x, 4), mask), 4));
    }
    noise_portable(table, key, out, i, count);
}
#endif

void aug_noise_fill(const float *table, uint64_t key, float *out, int32_t count) {
#if AUG_HAVE_AVX2_BODY
    if (aug_kernels_simd_level() > 0) {
        noise_avx2(table, key, out, count);
        return;
    }
#endif
    noise_portable(table, key, out, 0, count);
}
