// aug_kernels.h — the per-pixel inner loops of augmentation, written for SIMD.
//
// Why C: these loops are most of augload's own CPU time per image (resampling, the conversion
// into the batch, the noise). They want byte shuffles, 16-bit multiply-adds, gathers and 32-bit
// lane multiplies, which Swift code compiled for the x86-64 baseline (SSE2) cannot reach; here each
// kernel has an AVX2 body chosen at run time and a portable body, and both give bit-identical
// results (resampling is exact integer arithmetic; the float paths do the same IEEE operations in
// the same order).
//
// Resampling weights are fixed point with P fractional bits, small enough that every weight fits
// 16 bits (two taps then cost one 16-bit multiply-add); an output is
// clamp((2^(P-1) + Σ pixel·weight) >> P, 0, 255), Pillow's formula at a lower precision.
#ifndef AUG_KERNELS_H
#define AUG_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The fractional bits augload's resampler gives its weights: a weight of 1.0 is 2^14 and fits
/// int16. (The kernels take the precision per axis; any works whose weights fit int16.)
#define AUG_RESAMPLE_PRECISION 14

/// Entries of the noise table `aug_noise_fill` indexes (12 bits).
#define AUG_NOISE_TABLE_SIZE 4096

/// 1 when the AVX2 bodies run on this CPU, 0 for the portable ones (reported by `bench`).
int aug_kernels_simd_level(void);

/// Forces the portable bodies (`portable != 0`) or the best available ones; for tests that check
/// both give the same bytes.
void aug_kernels_force_portable(int portable);

/// One axis of a resampling: output i reads `counts[i]` inputs from `starts[i]` with the weights
/// `weights[i * ksize ...]` (entries past `counts[i]` are zero), each in the int16 range, with
/// `precision` fractional bits.
typedef struct aug_axis {
    const int32_t *_Nonnull starts;
    const int32_t *_Nonnull counts;
    const int32_t *_Nonnull weights;
    int32_t ksize;
    int32_t size;       ///< number of outputs
    int32_t precision;  ///< fractional bits of the weights
} aug_axis;

/// Vertical pass: output row `y` (of `axis.size`) is the weighted sum of input rows
/// `starts[y] ..< starts[y] + counts[y]`, each `bytes` long. Input row `r` is at
/// `src + (r - first_row) * src_stride`; output row `y` at `dst + y * dst_stride`.
void aug_resample_vertical(const uint8_t *_Nonnull src, ptrdiff_t src_stride, int32_t first_row,
                           size_t bytes, aug_axis axis, uint8_t *_Nonnull dst,
                           ptrdiff_t dst_stride);

/// Horizontal pass over `rows` rows of RGB8 pixels: output pixel `x` (of `axis.size`) of a row is
/// the weighted sum of input pixels `starts[x] ..< starts[x] + counts[x]`. Input pixel `c` of row
/// `r` is at `src + r * src_stride + (c - first_col) * 3`; bytes at or past `src_end` are never
/// read. Output row `r` is at `dst + r * dst_stride`.
void aug_resample_horizontal(const uint8_t *_Nonnull src, ptrdiff_t src_stride, int32_t first_col,
                             const uint8_t *_Nonnull src_end, int32_t rows, aug_axis axis,
                             uint8_t *_Nonnull dst, ptrdiff_t dst_stride);

/// Fills `out[0 ..< count]` with standard normal deviates for one row: element `i` is
/// `table[index(i)]`, a 12-bit index from a 32-bit hash keyed by `key` (one 64-bit random draw
/// per row). Hash `m` is murmur3's finaliser of `m * 0x9E3779B1 + (uint32_t)key`; elements
/// `16j + l` and `16j + 8 + l` (l < 8) take the top and the low 12 bits of hash `8j + l`
/// (bits 20-31 and 4-15). A pure function of (key, i): no state, identical in both bodies.
void aug_noise_fill(const float *_Nonnull table, uint64_t key, float *_Nonnull out, int32_t count);

/// Converts one row of `width` RGB8 pixels to float32: element (x, c) is
/// `v * scale[c] + bias[c]`, plus `amp[c] * noise[c * width + x]` when `noise` is not null, and
/// goes to `dst + c * channel_stride + x * step`; `flip_h` mirrors the row.
void aug_emit_row_f32(const uint8_t *_Nonnull row, int32_t width, int32_t flip_h,
                      const float *_Nonnull scale, const float *_Nonnull bias,
                      const float *_Nullable noise, const float *_Nonnull amp,
                      float *_Nonnull dst, ptrdiff_t channel_stride, ptrdiff_t step);

/// Converts one row of `width` RGB8 pixels to uint8: element (x, c) is the pixel byte, or with
/// `noise` `clamp(floor(v + amp[c] * noise[c * width + x] + 0.5), 0, 255)` (rounded half up); it goes
/// to `dst + c * channel_stride + x * step`; `flip_h` mirrors the row.
void aug_emit_row_u8(const uint8_t *_Nonnull row, int32_t width, int32_t flip_h,
                     const float *_Nullable noise, const float *_Nonnull amp,
                     uint8_t *_Nonnull dst, ptrdiff_t channel_stride, ptrdiff_t step);

#ifdef __cplusplus
}
#endif

#endif
