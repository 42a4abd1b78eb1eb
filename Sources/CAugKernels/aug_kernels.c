// aug_kernels.c — resampling passes and float conversion: a portable body and an AVX2 body each.
//
// The AVX2 bodies are compiled with a per-function target attribute and chosen at run time
// (`__builtin_cpu_supports`), so the binary still runs on any x86-64; other architectures get the
// portable bodies only. Both bodies of a kernel give the same bytes: the resampling is integer
// arithmetic, and the float conversion does the same IEEE operations in the same order (no
// contraction into fused multiply-adds).
#include "aug_kernels.h"

#include <string.h>

#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define AUG_HAVE_AVX2_BODY 1
#include <immintrin.h>
#else
#define AUG_HAVE_AVX2_BODY 0
#endif

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

static inline uint8_t clip8(int32_t v) { return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

#define HALF ((int32_t)1 << (AUG_RESAMPLE_PRECISION - 1))

// MARK: - Portable bodies

static void vertical_portable(const uint8_t *src, ptrdiff_t src_stride, int32_t first_row,
                              size_t bytes, aug_axis axis, uint8_t *dst, ptrdiff_t dst_stride) {
    enum { CHUNK = 1024 };
    int32_t acc[CHUNK];
    for (int32_t y = 0; y < axis.size; y++) {
        const int32_t *w = axis.weights + (size_t)y * (size_t)axis.ksize;
        const uint8_t *base = src + (ptrdiff_t)(axis.starts[y] - first_row) * src_stride;
        uint8_t *out = dst + (ptrdiff_t)y * dst_stride;
        for (size_t i0 = 0; i0 < bytes; i0 += CHUNK) {
            size_t n = bytes - i0 < CHUNK ? bytes - i0 : CHUNK;
            for (size_t i = 0; i < n; i++) acc[i] = HALF;
            for (int32_t t = 0; t < axis.counts[y]; t++) {
                const uint8_t *row = base + (ptrdiff_t)t * src_stride + i0;
                int32_t wt = w[t];
                for (size_t i = 0; i < n; i++) acc[i] += (int32_t)row[i] * wt;
            }
            for (size_t i = 0; i < n; i++) out[i0 + i] = clip8(acc[i] >> AUG_RESAMPLE_PRECISION);
        }
    }
}

static void horizontal_portable(const uint8_t *src, ptrdiff_t src_stride, int32_t first_col,
                                int32_t rows, aug_axis axis, uint8_t *dst, ptrdiff_t dst_stride) {
    for (int32_t r = 0; r < rows; r++) {
        const uint8_t *row = src + (ptrdiff_t)r * src_stride - (ptrdiff_t)first_col * 3;
        uint8_t *out = dst + (ptrdiff_t)r * dst_stride;
        for (int32_t x = 0; x < axis.size; x++) {
            const int32_t *w = axis.weights + (size_t)x * (size_t)axis.ksize;
            const uint8_t *p = row + (ptrdiff_t)axis.starts[x] * 3;
            int32_t a0 = HALF, a1 = HALF, a2 = HALF;
            for (int32_t t = 0; t < axis.counts[x]; t++, p += 3) {
                a0 += (int32_t)p[0] * w[t];
                a1 += (int32_t)p[1] * w[t];
                a2 += (int32_t)p[2] * w[t];
            }
            out[0] = clip8(a0 >> AUG_RESAMPLE_PRECISION);
            out[1] = clip8(a1 >> AUG_RESAMPLE_PRECISION);
            out[2] = clip8(a2 >> AUG_RESAMPLE_PRECISION);
            out += 3;
        }
    }
}

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

static void emit_portable(const uint8_t *row, int32_t width, int32_t flip_h, const float *scale,
                          const float *bias, const float *noise, const float *amp, float *dst,
                          ptrdiff_t channel_stride, ptrdiff_t step) {
    for (int c = 0; c < 3; c++) {
        float *o = dst + (ptrdiff_t)c * channel_stride;
        const uint8_t *p = row + (flip_h ? (ptrdiff_t)(width - 1) * 3 : 0) + c;
        ptrdiff_t pstep = flip_h ? -3 : 3;
        const float sc = scale[c], bi = bias[c], a = amp[c];
        const float *n = noise ? noise + (size_t)c * (size_t)width : NULL;
        for (int32_t x = 0; x < width; x++, p += pstep) {
            float value = (float)*p * sc;
            value = value + bi;
            if (n) {
                float scaled = a * n[x];
                value = value + scaled;
            }
            o[(ptrdiff_t)x * step] = value;
        }
    }
}

// MARK: - AVX2 bodies

#if AUG_HAVE_AVX2_BODY
#define AVX2 __attribute__((target("avx2")))

// Sixteen outputs per step: two vectors of eight 32-bit accumulators, one multiply-add per tap.
AVX2 static void vertical_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t first_row,
                               size_t bytes, aug_axis axis, uint8_t *dst, ptrdiff_t dst_stride) {
    const __m256i half = _mm256_set1_epi32(HALF);
    for (int32_t y = 0; y < axis.size; y++) {
        const int32_t *w = axis.weights + (size_t)y * (size_t)axis.ksize;
        const int32_t n = axis.counts[y];
        const uint8_t *base = src + (ptrdiff_t)(axis.starts[y] - first_row) * src_stride;
        uint8_t *out = dst + (ptrdiff_t)y * dst_stride;
        size_t i = 0;
        for (; i + 16 <= bytes; i += 16) {
            __m256i a0 = half, a1 = half;
            const uint8_t *p = base + i;
            for (int32_t t = 0; t < n; t++, p += src_stride) {
                __m128i px = _mm_loadu_si128((const __m128i *)p);
                __m256i wt = _mm256_set1_epi32(w[t]);
                a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(px), wt));
                a1 = _mm256_add_epi32(
                    a1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(px, 8)), wt));
            }
            a0 = _mm256_srai_epi32(a0, AUG_RESAMPLE_PRECISION);
            a1 = _mm256_srai_epi32(a1, AUG_RESAMPLE_PRECISION);
            // packs works within 128-bit lanes: [a0 0-3, a1 0-3 | a0 4-7, a1 4-7]; reorder.
            __m256i s16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(a0, a1), 0xD8);
            __m128i s8 = _mm_packus_epi16(_mm256_castsi256_si128(s16),
                                          _mm256_extracti128_si256(s16, 1));
            _mm_storeu_si128((__m128i *)(out + i), s8);
        }
        for (; i < bytes; i++) {
            int32_t acc = HALF;
            for (int32_t t = 0; t < n; t++) acc += (int32_t)base[(ptrdiff_t)t * src_stride + (ptrdiff_t)i] * w[t];
            out[i] = clip8(acc >> AUG_RESAMPLE_PRECISION);
        }
    }
}

// Two taps per vector: lanes hold [R G B] of tap t and [R G B] of tap t + 1 (and two lanes of zero
// weight), so RGB needs no shuffle; the halves are added at the end. The weights depend only on
// the output column, so each column's weight vectors are built once and used for four rows.
#define H_ROWS 4
#define H_MAX_PAIRS 16

AVX2 static inline void horizontal_store(__m256i acc, uint8_t *out, int last) {
    const __m256i fold = _mm256_setr_epi32(3, 4, 5, 6, 6, 6, 6, 6);
    acc = _mm256_add_epi32(acc, _mm256_permutevar8x32_epi32(acc, fold));
    __m128i v = _mm_srai_epi32(_mm256_castsi256_si128(acc), AUG_RESAMPLE_PRECISION);
    v = _mm_packus_epi16(_mm_packs_epi32(v, v), v);
    uint32_t rgb = (uint32_t)_mm_cvtsi128_si32(v);
    if (last) {
        memcpy(out, &rgb, 3);
    } else {
        memcpy(out, &rgb, 4);  // the fourth byte is overwritten by the next pixel
    }
}

AVX2 static inline __m256i horizontal_tap_pair(const uint8_t *p, __m256i weights) {
    return _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)), weights);
}

AVX2 static void horizontal_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t first_col,
                                 const uint8_t *src_end, int32_t rows, aug_axis axis,
                                 uint8_t *dst, ptrdiff_t dst_stride) {
    const __m256i spread = _mm256_setr_epi32(0, 0, 0, 1, 1, 1, 2, 2);  // lanes 2, 3 of the load are 0
    const __m256i init = _mm256_setr_epi32(HALF, HALF, HALF, 0, 0, 0, 0, 0);
    // Each pair loads 8 bytes from its first tap: find how far past a row's start any load
    // reaches, so rows whose loads stay inside the buffer run without bounds checks; the few
    // rows at its very end take the portable body (same bytes).
    ptrdiff_t reach = 0;
    for (int32_t x = 0; x < axis.size; x++) {
        if (axis.counts[x] <= 0) continue;
        int32_t pairs = (axis.counts[x] + 1) / 2;
        ptrdiff_t end = ((ptrdiff_t)axis.starts[x] - first_col + 2 * (pairs - 1)) * 3 + 8;
        if (end > reach) reach = end;
    }
    int32_t safe = rows;
    while (safe > 0 && (src_end - (src + (ptrdiff_t)(safe - 1) * src_stride)) < reach) safe--;
    if ((axis.ksize + 1) / 2 > H_MAX_PAIRS) safe = 0;

    __m256i wv[H_MAX_PAIRS];
    int32_t r = 0;
    for (; r + H_ROWS <= safe; r += H_ROWS) {
        const uint8_t *row = src + (ptrdiff_t)r * src_stride - (ptrdiff_t)first_col * 3;
        uint8_t *out = dst + (ptrdiff_t)r * dst_stride;
        for (int32_t x = 0; x < axis.size; x++, out += 3) {
            const int32_t *w = axis.weights + (size_t)x * (size_t)axis.ksize;
            const int32_t pairs = (axis.counts[x] + 1) / 2;
            for (int32_t k = 0; k < pairs; k++) {
                wv[k] = _mm256_permutevar8x32_epi32(
                    _mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)(w + 2 * k))), spread);
            }
            const uint8_t *p = row + (ptrdiff_t)axis.starts[x] * 3;
            __m256i a0 = init, a1 = init, a2 = init, a3 = init;
            for (int32_t k = 0; k < pairs; k++, p += 6) {
                a0 = _mm256_add_epi32(a0, horizontal_tap_pair(p, wv[k]));
                a1 = _mm256_add_epi32(a1, horizontal_tap_pair(p + src_stride, wv[k]));
                a2 = _mm256_add_epi32(a2, horizontal_tap_pair(p + 2 * src_stride, wv[k]));
                a3 = _mm256_add_epi32(a3, horizontal_tap_pair(p + 3 * src_stride, wv[k]));
            }
            int last = x + 1 == axis.size;
            horizontal_store(a0, out, last);
            horizontal_store(a1, out + dst_stride, last);
            horizontal_store(a2, out + 2 * dst_stride, last);
            horizontal_store(a3, out + 3 * dst_stride, last);
        }
    }
    for (; r < safe; r++) {
        const uint8_t *row = src + (ptrdiff_t)r * src_stride - (ptrdiff_t)first_col * 3;
        uint8_t *out = dst + (ptrdiff_t)r * dst_stride;
        for (int32_t x = 0; x < axis.size; x++, out += 3) {
            const int32_t *w = axis.weights + (size_t)x * (size_t)axis.ksize;
            const uint8_t *p = row + (ptrdiff_t)axis.starts[x] * 3;
            __m256i acc = init;
            for (int32_t t = 0; t < axis.counts[x]; t += 2, p += 6) {
                __m256i wt = _mm256_permutevar8x32_epi32(
                    _mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)(w + t))), spread);
                acc = _mm256_add_epi32(acc, horizontal_tap_pair(p, wt));
            }
            horizontal_store(acc, out, x + 1 == axis.size);
        }
    }
    if (r < rows) {
        horizontal_portable(src + (ptrdiff_t)r * src_stride, src_stride, first_col, rows - r, axis,
                            dst + (ptrdiff_t)r * dst_stride, dst_stride);
    }
}

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

// Eight pixels per step for planar output: one 16-byte and one 8-byte load hold 8 RGB pixels;
// two byte shuffles per channel pick that channel's 8 bytes (in mirrored order when flipping),
// then convert, scale, offset and add noise, eight lanes at a time.
AVX2 static void emit_planar_avx2(const uint8_t *row, int32_t width, int32_t flip_h,
                                  const float *scale, const float *bias, const float *noise,
                                  const float *amp, float *dst, ptrdiff_t channel_stride) {
    __m128i lo_mask[3], hi_mask[3];
    for (int c = 0; c < 3; c++) {
        int8_t lo[16], hi[16];
        memset(lo, -1, sizeof lo);
        memset(hi, -1, sizeof hi);
        for (int k = 0; k < 8; k++) {
            int pixel = flip_h ? 7 - k : k;
            int byte = pixel * 3 + c;
            if (byte < 16) lo[k] = (int8_t)byte;
            else hi[k] = (int8_t)(byte - 16);
        }
        lo_mask[c] = _mm_loadu_si128((const __m128i *)lo);
        hi_mask[c] = _mm_loadu_si128((const __m128i *)hi);
    }
    int32_t x = 0;
    for (; x + 8 <= width; x += 8) {
        // Output x..x+7 reads source pixels x..x+7, or width-8-x..width-1-x mirrored.
        const uint8_t *p = row + (ptrdiff_t)(flip_h ? width - 8 - x : x) * 3;
        __m128i a = _mm_loadu_si128((const __m128i *)p);
        __m128i b = _mm_loadl_epi64((const __m128i *)(p + 16));
        for (int c = 0; c < 3; c++) {
            __m128i bytes = _mm_or_si128(_mm_shuffle_epi8(a, lo_mask[c]), _mm_shuffle_epi8(b, hi_mask[c]));
            __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
            v = _mm256_add_ps(_mm256_mul_ps(v, _mm256_set1_ps(scale[c])), _mm256_set1_ps(bias[c]));
            if (noise) {
                __m256 nz = _mm256_loadu_ps(noise + (size_t)c * (size_t)width + (size_t)x);
                v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_set1_ps(amp[c]), nz));
            }
            _mm256_storeu_ps(dst + (ptrdiff_t)c * channel_stride + x, v);
        }
    }
    if (x < width) {
        // The remaining columns: the portable body on the matching source pixels and noise.
        int32_t rest = width - x;
        const uint8_t *tail = flip_h ? row : row + (ptrdiff_t)x * 3;
        for (int c = 0; c < 3; c++) {
            const uint8_t *p = tail + (flip_h ? (ptrdiff_t)(rest - 1) * 3 : 0) + c;
            ptrdiff_t pstep = flip_h ? -3 : 3;
            float *o = dst + (ptrdiff_t)c * channel_stride + x;
            for (int32_t k = 0; k < rest; k++, p += pstep) {
                float value = (float)*p * scale[c];
                value = value + bias[c];
                if (noise) {
                    float scaled = amp[c] * noise[(size_t)c * (size_t)width + (size_t)(x + k)];
                    value = value + scaled;
                }
                o[k] = value;
            }
        }
    }
}
#endif

// MARK: - Dispatch

void aug_resample_vertical(const uint8_t *src, ptrdiff_t src_stride, int32_t first_row,
                           size_t bytes, aug_axis axis, uint8_t *dst, ptrdiff_t dst_stride) {
#if AUG_HAVE_AVX2_BODY
    if (aug_kernels_simd_level() > 0) {
        vertical_avx2(src, src_stride, first_row, bytes, axis, dst, dst_stride);
        return;
    }
#endif
    vertical_portable(src, src_stride, first_row, bytes, axis, dst, dst_stride);
}

void aug_resample_horizontal(const uint8_t *src, ptrdiff_t src_stride, int32_t first_col,
                             const uint8_t *src_end, int32_t rows, aug_axis axis, uint8_t *dst,
                             ptrdiff_t dst_stride) {
#if AUG_HAVE_AVX2_BODY
    if (aug_kernels_simd_level() > 0) {
        horizontal_avx2(src, src_stride, first_col, src_end, rows, axis, dst, dst_stride);
        return;
    }
#else
    (void)src_end;
#endif
    horizontal_portable(src, src_stride, first_col, rows, axis, dst, dst_stride);
}

void aug_noise_fill(const float *table, uint64_t key, float *out, int32_t count) {
#if AUG_HAVE_AVX2_BODY
    if (aug_kernels_simd_level() > 0) {
        noise_avx2(table, key, out, count);
        return;
    }
#endif
    noise_portable(table, key, out, 0, count);
}

void aug_emit_row_f32(const uint8_t *row, int32_t width, int32_t flip_h, const float *scale,
                      const float *bias, const float *noise, const float *amp, float *dst,
                      ptrdiff_t channel_stride, ptrdiff_t step) {
#if AUG_HAVE_AVX2_BODY
    if (step == 1 && aug_kernels_simd_level() > 0) {
        emit_planar_avx2(row, width, flip_h, scale, bias, noise, amp, dst, channel_stride);
        return;
    }
#endif
    emit_portable(row, width, flip_h, scale, bias, noise, amp, dst, channel_stride, step);
}
