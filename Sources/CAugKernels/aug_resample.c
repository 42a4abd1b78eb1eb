// aug_resample.c — the resampling passes (vertical and horizontal, separable filters with 16-bit
// integer weights from aug_axis): a portable body and an AVX2 body, chosen at run time.
// Both bodies of a kernel give the same bytes: the arithmetic is integer.
#include "aug_simd.h"

#include <math.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

#define HALF(axis) ((int32_t)1 << ((axis).precision - 1))

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

#if AUG_HAVE_AVX2_BODY

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
#endif

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
