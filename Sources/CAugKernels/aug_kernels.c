// aug_kernels.c — resampling passes, output conversion (float32 and uint8) and noise: a portable
// body and an AVX2 body each.
//
// The AVX2 bodies are compiled with a per-function target attribute and chosen at run time
// (`__builtin_cpu_supports`), so the binary still runs on any x86-64; other architectures get the
// portable bodies only. Both bodies of a kernel give the same bytes: the resampling is integer
// arithmetic, and the conversions do the same IEEE operations in the same order (no contraction
// into fused multiply-adds).
#include "aug_kernels.h"

#include <math.h>
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

#define HALF(axis) ((int32_t)1 << ((axis).precision - 1))

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
            for (size_t i = 0; i < n; i++) acc[i] = HALF(axis);
            for (int32_t t = 0; t < axis.counts[y]; t++) {
                const uint8_t *row = base + (ptrdiff_t)t * src_stride + i0;
                int32_t wt = w[t];
                for (size_t i = 0; i < n; i++) acc[i] += (int32_t)row[i] * wt;
            }
            for (size_t i = 0; i < n; i++) out[i0 + i] = clip8(acc[i] >> axis.precision);
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
            int32_t a0 = HALF(axis), a1 = HALF(axis), a2 = HALF(axis);
            for (int32_t t = 0; t < axis.counts[x]; t++, p += 3) {
                a0 += (int32_t)p[0] * w[t];
                a1 += (int32_t)p[1] * w[t];
                a2 += (int32_t)p[2] * w[t];
            }
            out[0] = clip8(a0 >> axis.precision);
            out[1] = clip8(a1 >> axis.precision);
            out[2] = clip8(a2 >> axis.precision);
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

// MARK: - AVX2 bodies

#if AUG_HAVE_AVX2_BODY
#define AVX2 __attribute__((target("avx2")))

// Weights are 16-bit (see aug_axis), so two taps cost one multiply-add of 16-bit pairs
// (vpmaddwd) into 32-bit sums: the inputs of two taps are interleaved as 16-bit pairs.

// Vertical: 32 outputs per step. Rows a and b of a tap pair are widened to 16 bits and
// interleaved within 128-bit lanes; the four accumulators then hold outputs
// [0-3|16-19], [4-7|20-23], [8-11|24-27], [12-15|28-31], which packs/packus (also per lane)
// put back in order.
AVX2 static void vertical_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t first_row,
                               size_t bytes, aug_axis axis, uint8_t *dst, ptrdiff_t dst_stride) {
    const __m256i half = _mm256_set1_epi32(HALF(axis));
    const __m256i zero = _mm256_setzero_si256();
    const __m128i shift = _mm_cvtsi32_si128(axis.precision);
    for (int32_t y = 0; y < axis.size; y++) {
        const int32_t *w = axis.weights + (size_t)y * (size_t)axis.ksize;
        const int32_t n = axis.counts[y];
        const uint8_t *base = src + (ptrdiff_t)(axis.starts[y] - first_row) * src_stride;
        uint8_t *out = dst + (ptrdiff_t)y * dst_stride;
        size_t i = 0;
        for (; i + 32 <= bytes; i += 32) {
            __m256i a0 = half, a1 = half, a2 = half, a3 = half;
            for (int32_t t = 0; t < n; t += 2) {
                const uint8_t *pa = base + (ptrdiff_t)t * src_stride + i;
                // An odd last tap pairs with itself at weight 0.
                const uint8_t *pb = t + 1 < n ? pa + src_stride : pa;
                int32_t wb = t + 1 < n ? w[t + 1] : 0;
                __m256i wt = _mm256_set1_epi32((int32_t)(((uint32_t)wb << 16) | ((uint32_t)w[t] & 0xFFFF)));
                __m256i ra = _mm256_loadu_si256((const __m256i *)pa);
                __m256i rb = _mm256_loadu_si256((const __m256i *)pb);
                __m256i alo = _mm256_unpacklo_epi8(ra, zero), ahi = _mm256_unpackhi_epi8(ra, zero);
                __m256i blo = _mm256_unpacklo_epi8(rb, zero), bhi = _mm256_unpackhi_epi8(rb, zero);
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_unpacklo_epi16(alo, blo), wt));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_unpackhi_epi16(alo, blo), wt));
                a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_unpacklo_epi16(ahi, bhi), wt));
                a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_unpackhi_epi16(ahi, bhi), wt));
            }
            a0 = _mm256_sra_epi32(a0, shift);
            a1 = _mm256_sra_epi32(a1, shift);
            a2 = _mm256_sra_epi32(a2, shift);
            a3 = _mm256_sra_epi32(a3, shift);
            __m256i packed = _mm256_packus_epi16(_mm256_packs_epi32(a0, a1), _mm256_packs_epi32(a2, a3));
            _mm256_storeu_si256((__m256i *)(out + i), packed);
        }
        for (; i < bytes; i++) {
            int32_t acc = HALF(axis);
            for (int32_t t = 0; t < n; t++) acc += (int32_t)base[(ptrdiff_t)t * src_stride + (ptrdiff_t)i] * w[t];
            out[i] = clip8(acc >> axis.precision);
        }
    }
}

// Horizontal: four taps per vector. A 16-byte load is broadcast to both 128-bit lanes and shuffled
// into 16-bit pairs [R0 R1 G0 G1 B0 B1 0 0] (taps 0, 1) in the low lane and taps 2, 3 in the high
// lane; the weight vector is [w0 w1 ×3, 0 0 | w2 w3 ×3, 0 0], so a pixel's sums are its two lanes
// added. Weight vectors depend only on the output column: built once per call, used for every
// row. A step makes four columns of two rows, and reduces, packs and stores four pixels at once.
#define H_ROWS 2
#define H_COLS 4

AVX2 static inline void horizontal_store(__m256i acc, __m128i shift, uint8_t *out, int last) {
    __m128i v = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    v = _mm_sra_epi32(v, shift);
    v = _mm_packus_epi16(_mm_packs_epi32(v, v), v);
    uint32_t rgb = (uint32_t)_mm_cvtsi128_si32(v);
    if (last) {
        memcpy(out, &rgb, 3);
    } else {
        memcpy(out, &rgb, 4);  // the fourth byte is overwritten by the next pixel
    }
}

AVX2 static inline __m256i horizontal_taps(const uint8_t *p, __m256i shuffle, __m256i weights) {
    __m256i px = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    return _mm256_madd_epi16(_mm256_shuffle_epi8(px, shuffle), weights);
}

// Four pixels' sums (a, b, c, d) in one reduction: lanes added pairwise into [a | b] and [c | d],
// shifted, packed to bytes [a c | b d] (4 bytes a pixel, the fourth zero), put in order and
// compacted to the 12 bytes of RGB. Stores 16 bytes (the last 4 are overwritten by the next
// pixels), or exactly 12 near the end of a row.
AVX2 static inline void horizontal_store4(__m256i a, __m256i b, __m256i c, __m256i d, __m128i shift,
                                          __m128i compact, uint8_t *out, int last) {
    __m256i ab = _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
    __m256i cd = _mm256_add_epi32(_mm256_permute2x128_si256(c, d, 0x20), _mm256_permute2x128_si256(c, d, 0x31));
    __m256i words = _mm256_packs_epi32(_mm256_sra_epi32(ab, shift), _mm256_sra_epi32(cd, shift));
    __m256i bytes = _mm256_packus_epi16(words, words);  // dwords: a c a c | b d b d
    __m128i abcd = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0)));
    abcd = _mm_shuffle_epi8(abcd, compact);
    if (last) {
        _mm_storel_epi64((__m128i *)out, abcd);
        uint32_t tail = (uint32_t)_mm_extract_epi32(abcd, 2);
        memcpy(out + 8, &tail, 4);
    } else {
        _mm_storeu_si128((__m128i *)out, abcd);
    }
}

// The weight vector of taps 4g ... 4g+3 of output x (weights past the count are zero).
AVX2 static inline __m256i horizontal_weights(aug_axis axis, int32_t x, int32_t g) {
    const __m256i spread = _mm256_setr_epi32(0, 0, 0, 2, 1, 1, 1, 2);  // element 2 is zero
    const int32_t *w = axis.weights + (size_t)x * (size_t)axis.ksize;
    int32_t q[4];
    for (int k = 0; k < 4; k++) q[k] = 4 * g + k < axis.counts[x] ? w[4 * g + k] : 0;
    __m128i pairs = _mm_packs_epi32(_mm_loadu_si128((const __m128i *)q), _mm_setzero_si128());
    return _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(pairs), spread);
}

#define H_CACHE 1024  // weight vectors kept at once (32 KiB of stack)

// The sums of output column x for rows `row` and `row + src_stride` (r0, r1).
#define H_COLUMN(x, r0, r1)                                                           \
    do {                                                                              \
        const __m256i *wv = cache + ((x) - c0) * groups_max;                          \
        const uint8_t *p = row + (ptrdiff_t)axis.starts[x] * 3;                       \
        r0 = init;                                                                    \
        r1 = init;                                                                    \
        for (int32_t g = 0; g < (axis.counts[x] + 3) / 4; g++, p += 12) {             \
            r0 = _mm256_add_epi32(r0, horizontal_taps(p, shuffle, wv[g]));            \
            r1 = _mm256_add_epi32(r1, horizontal_taps(p + src_stride, shuffle, wv[g])); \
        }                                                                             \
    } while (0)

AVX2 static void horizontal_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t first_col,
                                 const uint8_t *src_end, int32_t rows, aug_axis axis,
                                 uint8_t *dst, ptrdiff_t dst_stride) {
    const int8_t Z = -1;  // pshufb: zero byte
    const __m256i shuffle = _mm256_setr_epi8(0, Z, 3, Z, 1, Z, 4, Z, 2, Z, 5, Z, Z, Z, Z, Z,  //
                                             6, Z, 9, Z, 7, Z, 10, Z, 8, Z, 11, Z, Z, Z, Z, Z);
    const __m128i compact = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, Z, Z, Z, Z);
    const __m256i init = _mm256_setr_epi32(HALF(axis), HALF(axis), HALF(axis), 0, 0, 0, 0, 0);
    const __m128i shift = _mm_cvtsi32_si128(axis.precision);
    const int32_t groups_max = (axis.ksize + 3) / 4;
    // Each group of four taps loads 16 bytes from its first tap: rows whose loads all stay inside
    // the buffer run without bounds checks; the last few rows take the portable body (same bytes).
    ptrdiff_t reach = 0;
    for (int32_t x = 0; x < axis.size; x++) {
        if (axis.counts[x] <= 0) continue;
        int32_t groups = (axis.counts[x] + 3) / 4;
        ptrdiff_t end = ((ptrdiff_t)axis.starts[x] - first_col + 4 * (groups - 1)) * 3 + 16;
        if (end > reach) reach = end;
    }
    int32_t safe = rows;
    while (safe > 0 && (src_end - (src + (ptrdiff_t)(safe - 1) * src_stride)) < reach) safe--;
    // The weight vectors depend only on the output column: built once per call for all rows (in
    // chunks of columns when an axis has more than the cache holds; a chunk is whole steps).
    __m256i cache[H_CACHE];
    const int32_t chunk = (H_CACHE / groups_max) & ~(H_COLS - 1);
    if (chunk == 0) safe = 0;
    const int32_t blocks = safe / H_ROWS;
    for (int32_t c0 = 0; blocks > 0 && c0 < axis.size; c0 += chunk) {
        const int32_t c1 = axis.size - c0 < chunk ? axis.size : c0 + chunk;
        for (int32_t x = c0; x < c1; x++) {
            for (int32_t g = 0; g < groups_max; g++) cache[(x - c0) * groups_max + g] = horizontal_weights(axis, x, g);
        }
        for (int32_t blk = 0; blk < blocks; blk++) {
            const int32_t r = blk * H_ROWS;
            const uint8_t *row = src + (ptrdiff_t)r * src_stride - (ptrdiff_t)first_col * 3;
            uint8_t *out = dst + (ptrdiff_t)r * dst_stride + (ptrdiff_t)c0 * 3;
            int32_t x = c0;
            for (; x + H_COLS <= c1; x += H_COLS, out += 3 * H_COLS) {
                __m256i a0, a1, b0, b1, c0v, c1v, d0, d1;
                H_COLUMN(x, a0, a1);
                H_COLUMN(x + 1, b0, b1);
                H_COLUMN(x + 2, c0v, c1v);
                H_COLUMN(x + 3, d0, d1);
                // The 4 spare bytes of a 16-byte store need two more pixels in the row.
                const int last = x + H_COLS + 2 > axis.size;
                horizontal_store4(a0, b0, c0v, d0, shift, compact, out, last);
                horizontal_store4(a1, b1, c1v, d1, shift, compact, out + dst_stride, last);
            }
            for (; x < c1; x++, out += 3) {  // the last columns of the last chunk (chunks are whole steps)
                __m256i s0, s1;
                H_COLUMN(x, s0, s1);
                horizontal_store(s0, shift, out, x + 1 == axis.size);
                horizontal_store(s1, shift, out + dst_stride, x + 1 == axis.size);
            }
        }
    }
    const int32_t r = blocks * H_ROWS;
    if (r < rows) {
        // The odd last row, or rows whose loads would pass the buffer's end.
        horizontal_portable(src + (ptrdiff_t)r * src_stride, src_stride, first_col, rows - r, axis,
                            dst + (ptrdiff_t)r * dst_stride, dst_stride);
    }
}
#undef H_COLUMN

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
