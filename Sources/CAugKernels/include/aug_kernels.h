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

// MARK: - Recipe steps (torchvision.transforms.v2.functional on uint8 RGB images)
//
// Each kernel below gives what the torchvision v2 function of the same name gives on a uint8
// image tensor (the same float32 arithmetic where torchvision computes in float, the same
// truncation or rounding back to uint8), on a packed RGB8 image of `width x height` pixels
// (row stride width*3), in place. Blend factors are doubles, as Python passes them: torch rounds
// the factor and `1 - factor` to float32 separately. Colour family: aug_colour.c; geometry family: aug_geometry.c.

/// `adjust_brightness(img, factor)`: blend with black.
void aug_adjust_brightness(uint8_t *_Nonnull px, int32_t width, int32_t height, double factor);
/// `adjust_contrast(img, factor)`: blend with the mean of the image's grayscale.
void aug_adjust_contrast(uint8_t *_Nonnull px, int32_t width, int32_t height, double factor);
/// `adjust_saturation(img, factor)`: blend with the image's grayscale.
void aug_adjust_saturation(uint8_t *_Nonnull px, int32_t width, int32_t height, double factor);
/// `adjust_hue(img, hue_factor)`, hue_factor in [-0.5, 0.5]: through HSV.
void aug_adjust_hue(uint8_t *_Nonnull px, int32_t width, int32_t height, float hue_factor);
/// `adjust_sharpness(img, factor)`: blend with a 3x3 smoothed image (borders kept).
/// `scratch` holds width*height*3 bytes.
void aug_adjust_sharpness(uint8_t *_Nonnull px, int32_t width, int32_t height, double factor,
                          uint8_t *_Nonnull scratch);
/// `rgb_to_grayscale(img, num_output_channels=3)`.
void aug_grayscale(uint8_t *_Nonnull px, int32_t width, int32_t height);
/// `posterize(img, bits)`, bits in 0...8.
void aug_posterize(uint8_t *_Nonnull px, int32_t width, int32_t height, int32_t bits);
/// `solarize(img, threshold)`: values >= threshold inverted.
void aug_solarize(uint8_t *_Nonnull px, int32_t width, int32_t height, float threshold);
/// `autocontrast(img)`: each channel stretched to 0...255.
void aug_autocontrast(uint8_t *_Nonnull px, int32_t width, int32_t height);
/// `equalize(img)`: each channel's histogram equalised.
void aug_equalize(uint8_t *_Nonnull px, int32_t width, int32_t height);
/// `invert(img)`.
void aug_invert(uint8_t *_Nonnull px, int32_t width, int32_t height);
/// `gaussian_blur(img, kernel_size=[kx, ky], sigma=[sx, sy])` (odd sizes; reflect padding).
/// `scratch` holds width*height*3 floats.
void aug_gaussian_blur(uint8_t *_Nonnull px, int32_t width, int32_t height, int32_t kx, int32_t ky,
                       float sx, float sy, float *_Nonnull scratch);

/// torchvision's `_get_inverse_affine_matrix(center, angle, translate, scale, shear)` (degrees;
/// center relative to the image centre, as v2's `affine` and `rotate` pass it): the 2x3 matrix
/// from output to input coordinates, computed in double as Python does, rounded to float.
void aug_inverse_affine_matrix(double center_x, double center_y, double angle, double translate_x,
                               double translate_y, double scale, double shear_x, double shear_y,
                               float matrix[_Nonnull 6]);
/// `affine`/`rotate` with `InterpolationMode.NEAREST`, `expand=False` and `fill`: output pixel
/// (x, y) of `dst` (width x height, like `src`) takes the nearest input pixel of `matrix` (from
/// `aug_inverse_affine_matrix`), sampled as `affine_grid` + `grid_sample(align_corners=False)`
/// sample it, or `fill` outside the image.
void aug_affine_nearest(const uint8_t *_Nonnull src, int32_t width, int32_t height,
                        const float matrix[_Nonnull 6], const uint8_t fill[_Nonnull 3],
                        uint8_t *_Nonnull dst);

/// `affine`/`rotate` with `InterpolationMode.BILINEAR`, `expand=False` and `fill=None` (zeros
/// outside), as AugMix's default: the same grid as `aug_affine_nearest`, each output pixel the
/// bilinear blend of its four neighbours, rounded half to even.
void aug_affine_bilinear(const uint8_t *_Nonnull src, int32_t width, int32_t height,
                         const float matrix[_Nonnull 6], uint8_t *_Nonnull dst);

/// AugMix's mix, in float32 as torch computes it: `acc = weight * image` when `first`, else
/// `acc = acc + weight * image` (the product rounded, then the sum); `count` values.
void aug_weighted_accumulate(float *_Nonnull acc, const uint8_t *_Nonnull image, size_t count, float weight,
                             int first);
/// `acc.to(torch.uint8)`: truncation toward zero, saturated to 0...255.
void aug_truncate_u8(const float *_Nonnull acc, uint8_t *_Nonnull out, size_t count);

#ifdef __cplusplus
}
#endif

#endif
