// aug_convert.c — output conversion of a resampled row: float32 (scaled, biased, noise added;
// planar or interleaved, mirrored or not) and uint8 (with noise, rounded).
// Both bodies of a kernel give the same bytes: the conversions do the same IEEE operations in the
// same order (no contraction into fused multiply-adds).
#include "aug_simd.h"

#include <math.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

// The output pixels x0 ..< width of a row (the AVX2 bodies finish their rows with these).
static void emit_portable(const uint8_t *row, int32_t width, int32_t x0, int32_t flip_h,
                          const float *scale, const float *bias, const float *noise,
                          const float *amp, float *dst, ptrdiff_t channel_stride, ptrdiff_t step) {
    for (int c = 0; c < 3; c++) {
        float *o = dst + (ptrdiff_t)c * channel_stride;
        const uint8_t *p = row + (ptrdiff_t)(flip_h ? width - 1 - x0 : x0) * 3 + c;
        ptrdiff_t pstep = flip_h ? -3 : 3;
        const float sc = scale[c], bi = bias[c], a = amp[c];
        const float *n = noise ? noise + (size_t)c * (size_t)width : NULL;
        for (int32_t x = x0; x < width; x++, p += pstep) {
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

// clamp(floor(v + amp·n + 0.5)) to 0...255: round half up, the same float operations in both bodies.
static inline uint8_t noisy_u8(uint8_t v, float amp, float n) {
    float scaled = amp * n;
    float f = (float)v + scaled;
    f = floorf(f + 0.5f);
    return (uint8_t)(f <= 0.0f ? 0.0f : (f >= 255.0f ? 255.0f : f));
}

// The output pixels x0 ..< width of a row, as uint8.
static void emit_u8_portable(const uint8_t *row, int32_t width, int32_t x0, int32_t flip_h,
                             const float *noise, const float *amp, uint8_t *dst,
                             ptrdiff_t channel_stride, ptrdiff_t step) {
    for (int c = 0; c < 3; c++) {
        uint8_t *o = dst + (ptrdiff_t)c * channel_stride;
        const uint8_t *p = row + (ptrdiff_t)(flip_h ? width - 1 - x0 : x0) * 3 + c;
        ptrdiff_t pstep = flip_h ? -3 : 3;
        const float *n = noise ? noise + (size_t)c * (size_t)width : NULL;
        for (int32_t x = x0; x < width; x++, p += pstep) {
            o[(ptrdiff_t)x * step] = n ? noisy_u8(*p, amp[c], n[x]) : *p;
        }
    }
}

#if AUG_HAVE_AVX2_BODY
// Output conversion, eight source pixels per step. One 16-byte and one 8-byte load hold 8 RGB
// pixels (24 bytes); a "pick plan" says, for each of three groups of 8 output elements, which of
// those bytes they take (two byte shuffles per group) and which channel and pixel each lane is:
//   planar (NCHW): group v is channel v of pixels 0..7;
//   interleaved (NHWC): group v is output elements 8v..8v+7, i.e. R G B R G B R G, B R G ...;
// both mirrored when flipping. Per-lane channel vectors (scale, bias, noise amplitude) and the
// permutes that interleave the planar noise rows come from the same plan.
typedef struct pick_plan {
    __m128i lo[3], hi[3];   // byte shuffles of the 16-byte and the 8-byte load
    int channel[3][8];      // channel of each lane
    __m256i pixel[3];       // pixel (0..7) of each lane, for permuting the noise rows
    __m256 is_g[3], is_b[3];  // lanes of channel 1 and 2, for blending the noise rows
} pick_plan;

AVX2 static inline __attribute__((always_inline)) void make_pick_plan(int planar, int32_t flip_h, pick_plan *plan) {
    for (int v = 0; v < 3; v++) {
        int8_t lo[16], hi[16];
        int32_t pixel[8], g[8], b[8];
        memset(lo, -1, sizeof lo);
        memset(hi, -1, sizeof hi);
        for (int j = 0; j < 8; j++) {
            int k = planar ? j : (v * 8 + j) / 3, c = planar ? v : (v * 8 + j) % 3;
            int byte = (flip_h ? 7 - k : k) * 3 + c;
            if (byte < 16) lo[j] = (int8_t)byte;
            else hi[j] = (int8_t)(byte - 16);
            plan->channel[v][j] = c;
            pixel[j] = k;
            g[j] = c == 1 ? -1 : 0;
            b[j] = c == 2 ? -1 : 0;
        }
        plan->lo[v] = _mm_loadu_si128((const __m128i *)lo);
        plan->hi[v] = _mm_loadu_si128((const __m128i *)hi);
        plan->pixel[v] = _mm256_loadu_si256((const __m256i *)pixel);
        plan->is_g[v] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)g));
        plan->is_b[v] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)b));
    }
}

// A per-lane vector of a per-channel value (scale, bias, amplitude) for group v.
AVX2 static inline __m256 plan_channels(const pick_plan *plan, int v, const float *per_channel) {
    float lanes[8];
    for (int j = 0; j < 8; j++) lanes[j] = per_channel[plan->channel[v][j]];
    return _mm256_loadu_ps(lanes);
}

// The 8 source bytes of group v.
AVX2 static inline __m128i plan_pick(const pick_plan *plan, int v, __m128i a, __m128i b) {
    return _mm_or_si128(_mm_shuffle_epi8(a, plan->lo[v]), _mm_shuffle_epi8(b, plan->hi[v]));
}

// The noise of group v's lanes, from the planar noise rows at pixel x (noise[c * width + x]).
AVX2 static inline __m256 plan_noise(const pick_plan *plan, int planar, int v, const float *noise, int32_t width,
                                     int32_t x) {
    if (planar) return _mm256_loadu_ps(noise + (size_t)v * (size_t)width + (size_t)x);
    __m256 nr = _mm256_loadu_ps(noise + x);
    __m256 ng = _mm256_loadu_ps(noise + (size_t)width + (size_t)x);
    __m256 nb = _mm256_loadu_ps(noise + 2 * (size_t)width + (size_t)x);
    __m256 n = _mm256_permutevar8x32_ps(nr, plan->pixel[v]);
    n = _mm256_blendv_ps(n, _mm256_permutevar8x32_ps(ng, plan->pixel[v]), plan->is_g[v]);
    return _mm256_blendv_ps(n, _mm256_permutevar8x32_ps(nb, plan->pixel[v]), plan->is_b[v]);
}

// Eight noisy bytes: v + amp·n, rounded half up, saturated to 0...255.
AVX2 static inline __m128i noisy_u8x8(__m128i bytes, __m256 amp, __m256 n) {
    __m256 f = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), _mm256_mul_ps(amp, n));
    f = _mm256_floor_ps(_mm256_add_ps(f, _mm256_set1_ps(0.5f)));
    __m256i i = _mm256_cvttps_epi32(f);
    __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    return _mm_packus_epi16(w, w);
}

// One row of output, eight pixels per step, then the portable body for the last few. float32:
// v * scale + bias (+ amp * noise); uint8: the picked bytes (+ amp * noise, rounded; interleaved
// without flip or noise is a copy). Inlined into one function per dtype and layout, so those tests
// fold away. Group v of pixels x..x+7 goes to element v * channel_stride + x (planar) or
// 3x + 8v (interleaved).
AVX2 static inline __attribute__((always_inline)) void emit_body(
    const uint8_t *row, int32_t width, int32_t flip_h, const float *scale, const float *bias,
    const float *noise, const float *amp, void *dst, ptrdiff_t channel_stride, int planar, int is_float) {
    if (!is_float && !planar && !flip_h && !noise) {
        memcpy(dst, row, (size_t)width * 3);
        return;
    }
    pick_plan plan;
    make_pick_plan(planar, flip_h, &plan);
    __m256 sc[3], bi[3], am[3];
    for (int v = 0; v < 3; v++) {
        if (is_float) {
            sc[v] = plan_channels(&plan, v, scale);
            bi[v] = plan_channels(&plan, v, bias);
        }
        am[v] = plan_channels(&plan, v, amp);
    }
    int32_t x = 0;
    for (; x + 8 <= width; x += 8) {
        // Output x..x+7 reads source pixels x..x+7, or width-8-x..width-1-x mirrored.
        const uint8_t *p = row + (ptrdiff_t)(flip_h ? width - 8 - x : x) * 3;
        __m128i a = _mm_loadu_si128((const __m128i *)p);
        __m128i b = _mm_loadl_epi64((const __m128i *)(p + 16));
        for (int v = 0; v < 3; v++) {
            __m128i bytes = plan_pick(&plan, v, a, b);
            ptrdiff_t at = planar ? (ptrdiff_t)v * channel_stride + x : (ptrdiff_t)x * 3 + 8 * v;
            if (is_float) {
                __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
                f = _mm256_add_ps(_mm256_mul_ps(f, sc[v]), bi[v]);
                if (noise) f = _mm256_add_ps(f, _mm256_mul_ps(am[v], plan_noise(&plan, planar, v, noise, width, x)));
                _mm256_storeu_ps((float *)dst + at, f);
            } else {
                if (noise) bytes = noisy_u8x8(bytes, am[v], plan_noise(&plan, planar, v, noise, width, x));
                _mm_storel_epi64((__m128i *)((uint8_t *)dst + at), bytes);
            }
        }
    }
    if (x == width) return;
    ptrdiff_t step = planar ? 1 : 3;
    if (is_float) emit_portable(row, width, x, flip_h, scale, bias, noise, amp, dst, channel_stride, step);
    else emit_u8_portable(row, width, x, flip_h, noise, amp, dst, channel_stride, step);
}

AVX2 static void emit_f32_planar_avx2(const uint8_t *row, int32_t width, int32_t flip_h,
                                      const float *scale, const float *bias, const float *noise,
                                      const float *amp, float *dst, ptrdiff_t channel_stride) {
    emit_body(row, width, flip_h, scale, bias, noise, amp, dst, channel_stride, 1, 1);
}

AVX2 static void emit_f32_interleaved_avx2(const uint8_t *row, int32_t width, int32_t flip_h,
                                           const float *scale, const float *bias, const float *noise,
                                           const float *amp, float *dst) {
    emit_body(row, width, flip_h, scale, bias, noise, amp, dst, 1, 0, 1);
}

AVX2 static void emit_u8_planar_avx2(const uint8_t *row, int32_t width, int32_t flip_h,
                                     const float *noise, const float *amp, uint8_t *dst,
                                     ptrdiff_t channel_stride) {
    emit_body(row, width, flip_h, NULL, NULL, noise, amp, dst, channel_stride, 1, 0);
}

AVX2 static void emit_u8_interleaved_avx2(const uint8_t *row, int32_t width, int32_t flip_h,
                                          const float *noise, const float *amp, uint8_t *dst) {
    emit_body(row, width, flip_h, NULL, NULL, noise, amp, dst, 1, 0, 0);
}
#endif

void aug_emit_row_f32(const uint8_t *row, int32_t width, int32_t flip_h, const float *scale,
                      const float *bias, const float *noise, const float *amp, float *dst,
                      ptrdiff_t channel_stride, ptrdiff_t step) {
#if AUG_HAVE_AVX2_BODY
    if (step == 1 && aug_kernels_simd_level() > 0) {
        emit_f32_planar_avx2(row, width, flip_h, scale, bias, noise, amp, dst, channel_stride);
        return;
    }
    if (step == 3 && channel_stride == 1 && aug_kernels_simd_level() > 0) {
        emit_f32_interleaved_avx2(row, width, flip_h, scale, bias, noise, amp, dst);
        return;
    }
#endif
    emit_portable(row, width, 0, flip_h, scale, bias, noise, amp, dst, channel_stride, step);
}

void aug_emit_row_u8(const uint8_t *row, int32_t width, int32_t flip_h, const float *noise,
                     const float *amp, uint8_t *dst, ptrdiff_t channel_stride, ptrdiff_t step) {
#if AUG_HAVE_AVX2_BODY
    if (step == 1 && aug_kernels_simd_level() > 0) {
        emit_u8_planar_avx2(row, width, flip_h, noise, amp, dst, channel_stride);
        return;
    }
    if (step == 3 && channel_stride == 1 && aug_kernels_simd_level() > 0) {
        emit_u8_interleaved_avx2(row, width, flip_h, noise, amp, dst);
        return;
    }
#endif
    emit_u8_portable(row, width, 0, flip_h, noise, amp, dst, channel_stride, step);
}
