// aug_geometry.c — the geometry recipe steps: torchvision's inverse affine matrix, and `affine`/`rotate`
// with nearest sampling (ShearX/Y, TranslateX/Y and Rotate of the AutoAugment family).
//
// Why C, and why this arithmetic: nearest sampling copies whole pixels, so a sampling position on
// the other side of a .5 boundary than torch's moves a pixel, and many positions sit exactly on one
// (a 90-degree turn of a non-square image puts half of them there; see
// Scripts/recipe/conformance_geometry.py). To take the same pixels as torchvision, the float32
// operations below are torch's, in torch's order:
//
//   - `_affine_grid`: the base grid (x - (w - 1)/2, y - (h - 1)/2, 1), exact half-integers; the
//     matrix divided by (0.5w, 0.5h) in float32; then `bmm` of the grid by it. From 67 pixels up
//     that is MKL's sgemm, which on x86-64 with FMA computes acc = x*a, acc = fma(y, b, acc),
//     acc + c; below (3 * pixels * 2 < 400) ATen's own loop, (x*a + y*b) + c unfused. (Measured on
//     torch 2.15 with MKL; a torch whose BLAS does not fuse moves some tie pixels.)
//   - `grid_sample(mode="nearest", align_corners=False, padding_mode="zeros")`: the position
//     (g + 1) * (size/2) - 0.5, rounded half to even; outside the image when the rounded index is
//     outside 0 ..< size, where `_apply_grid_transform`'s mask channel samples 0 and `fill` goes.
//
// `rotate(img, angle)` is this with the matrix of (centre 0, -(angle mod 360), no translation,
// scale 1, no shear), the modulo as Python's (result in [0, 360)), which `rotate` takes first; its
// fast paths (0, 180, and 90/270 on square images) give the same pixels.
//
// The body for x86-64 with AVX2 and FMA (eight pixels per step) has a per-function target
// attribute and is chosen at run time (and skipped under `aug_kernels_force_portable`); the
// portable body calls `fmaf`, correctly rounded by C99. Both give the same bytes: the same float32
// operations lane by lane, never contracted (FP_CONTRACT OFF), and _mm256_round_ps's
// nearest-even is `round_even`'s.
#include "aug_simd.h"

#include <math.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF


// MARK: - Matrix

void aug_inverse_affine_matrix(double center_x, double center_y, double angle, double translate_x,
                               double translate_y, double scale, double shear_x, double shear_y,
                               float matrix[_Nonnull 6]) {
    // torchvision.transforms.v2.functional._geometry._get_inverse_affine_matrix(inverted=True),
    // operation for operation (math.radians is x * (pi / 180)).
    static const double deg_to_rad = 3.14159265358979323846 / 180.0;
    double rot = angle * deg_to_rad;
    double sx = shear_x * deg_to_rad;
    double sy = shear_y * deg_to_rad;

    double cos_sy = cos(sy);
    double tan_sx = tan(sx);
    double rot_minus_sy = rot - sy;
    double cx_plus_tx = center_x + translate_x;
    double cy_plus_ty = center_y + translate_y;

    double a = cos(rot_minus_sy) / cos_sy;
    double b = -(a * tan_sx + sin(rot));
    double c = sin(rot_minus_sy) / cos_sy;
    double d = cos(rot) - c * tan_sx;

    double m0 = d / scale, m1 = -b / scale, m3 = -c / scale, m4 = a / scale;
    double m2 = 0.0 + (center_x - m0 * cx_plus_tx - m1 * cy_plus_ty);
    double m5 = 0.0 + (center_y - m3 * cx_plus_tx - m4 * cy_plus_ty);

    matrix[0] = (float)m0;
    matrix[1] = (float)m1;
    matrix[2] = (float)m2;
    matrix[3] = (float)m3;
    matrix[4] = (float)m4;
    matrix[5] = (float)m5;
}

// MARK: - Sampling

/// One axis of the grid: coefficients of x, y and 1 already divided by half the image size, and
/// grid_sample's unnormalisation for that size.
typedef struct axis_map {
    float a, b, c;
    float half_size;  ///< size / 2
    float limit;      ///< size, as float
} axis_map;

static axis_map make_axis(float a, float b, float c, int32_t size) {
    // `theta.transpose(1, 2).div_(torch.tensor([0.5 * w, 0.5 * h]))`, in float32.
    float half = (float)(0.5 * (double)size);
    axis_map m = {a / half, b / half, c / half, (float)size / 2.0f, (float)size};
    return m;
}

/// nearbyint of a float32 with |v| < 2^23 under the default rounding mode (half to even), without a
/// libm call: adding 2^23 leaves no fraction bits, so the addition rounds; subtracting is exact.
static inline float round_even(float v) {
    const float big = 8388608.0f;  // 2^23
    return v >= 0.0f ? (v + big) - big : -((-v + big) - big);
}

/// The rounded input index for grid value `g`, or -1 when it falls outside 0 ..< size.
static inline int32_t sample_index(float g, const axis_map *m) {
    float u = (g + 1.0f) * m->half_size - 0.5f;
    // Rounded indices outside [0, size) need no exact rounding; this also sends NaN out.
    if (!(u > -1.0f && u < m->limit)) return -1;
    float r = round_even(u);
    int32_t i = (int32_t)r;
    return (i >= 0 && (float)i < m->limit) ? i : -1;
}

/// The normalised grid value of base-grid position (x, y): `bmm` of (x, y, 1) by the matrix, fused
/// as MKL's sgemm computes it or unfused as ATen's small-size loop (see the top of this file).
static inline __attribute__((always_inline)) void grid_at(float x, float y, const axis_map *mx, const axis_map *my,
                                                          int fused, float *gx, float *gy) {
    if (fused) {
        *gx = fmaf(y, mx->b, x * mx->a) + mx->c;
        *gy = fmaf(y, my->b, x * my->a) + my->c;
    } else {
        *gx = (x * mx->a + y * mx->b) + mx->c;
        *gy = (x * my->a + y * my->b) + my->c;
    }
}

/// The output pixel at base-grid position (x, y). `fmaf` is correctly rounded wherever it runs: a
/// library call in the portable body, one instruction once inlined into the FMA body.
static inline __attribute__((always_inline)) void affine_pixel(const uint8_t *src, int32_t width, float x, float y,
                                                               const axis_map *mx, const axis_map *my, int fused,
                                                               const uint8_t fill[3], uint8_t *out) {
    float gx, gy;
    grid_at(x, y, mx, my, fused, &gx, &gy);
    int32_t ix = sample_index(gx, mx);
    int32_t iy = sample_index(gy, my);
    const uint8_t *p = (ix < 0 || iy < 0) ? fill : src + ((size_t)iy * (size_t)width + (size_t)ix) * 3;
    out[0] = p[0];
    out[1] = p[1];
    out[2] = p[2];
}

// The base grid: torch.linspace((1 - w) * 0.5, (w - 1) * 0.5, w), exact half-integers.
static inline float grid_start(int32_t size) { return (float)((1.0 - (double)size) * 0.5); }

static void affine_portable(const uint8_t *src, int32_t width, int32_t height, axis_map mx, axis_map my, int fused,
                            const uint8_t fill[3], uint8_t *dst) {
    const float x0 = grid_start(width), y0 = grid_start(height);
    for (int32_t oy = 0; oy < height; oy++) {
        uint8_t *out = dst + (size_t)oy * (size_t)width * 3;
        for (int32_t ox = 0; ox < width; ox++, out += 3) {
            affine_pixel(src, width, x0 + (float)ox, y0 + (float)oy, &mx, &my, fused, fill, out);
        }
    }
}

#if AUG_HAVE_AVX2_BODY
#define AVX2_FMA __attribute__((target("avx2,fma")))

/// `sample_index` for eight grid values: the rounded indices and a mask of those inside 0 ..< size
/// (the same comparisons: an ordered `>`/`<`, so NaN is outside; rounding half to even).
AVX2_FMA static inline __m256 sample_index8(__m256 g, const axis_map *m, __m256i *index) {
    __m256 u = _mm256_sub_ps(_mm256_mul_ps(_mm256_add_ps(g, _mm256_set1_ps(1.0f)), _mm256_set1_ps(m->half_size)),
                             _mm256_set1_ps(0.5f));
    const __m256 limit = _mm256_set1_ps(m->limit);
    __m256 inside = _mm256_and_ps(_mm256_cmp_ps(u, _mm256_set1_ps(-1.0f), _CMP_GT_OQ), _mm256_cmp_ps(u, limit, _CMP_LT_OQ));
    __m256 r = _mm256_round_ps(_mm256_and_ps(u, inside), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    inside = _mm256_and_ps(inside, _mm256_and_ps(_mm256_cmp_ps(r, _mm256_setzero_ps(), _CMP_GE_OQ),
                                                 _mm256_cmp_ps(r, limit, _CMP_LT_OQ)));
    *index = _mm256_cvttps_epi32(r);
    return inside;
}

/// Eight output pixels per step: the grid positions and indices in vectors (the same float32
/// operations as `affine_pixel`, lane by lane), then the pixels copied.
AVX2_FMA static void affine_avx2(const uint8_t *src, int32_t width, int32_t height, axis_map mx, axis_map my,
                                 int fused, const uint8_t fill[3], uint8_t *dst) {
    const float x0 = grid_start(width), y0 = grid_start(height);
    const __m256 lanes = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 ax = _mm256_set1_ps(mx.a), bx = _mm256_set1_ps(mx.b), cx = _mm256_set1_ps(mx.c);
    const __m256 ay = _mm256_set1_ps(my.a), by = _mm256_set1_ps(my.b), cy = _mm256_set1_ps(my.c);
    const __m256i w = _mm256_set1_epi32(width);
    int32_t index[8];
    for (int32_t oy = 0; oy < height; oy++) {
        const float y = y0 + (float)oy;
        const __m256 vy = _mm256_set1_ps(y);
        const __m256 ybx = _mm256_mul_ps(vy, bx), yby = _mm256_mul_ps(vy, by);
        uint8_t *out = dst + (size_t)oy * (size_t)width * 3;
        int32_t ox = 0;
        for (; ox + 8 <= width; ox += 8, out += 24) {
            // x0 + ox and the lane offsets are exact (half-integers far below 2^23).
            const __m256 vx = _mm256_add_ps(_mm256_set1_ps(x0 + (float)ox), lanes);
            __m256 gx, gy;
            if (fused) {
                gx = _mm256_add_ps(_mm256_fmadd_ps(vy, bx, _mm256_mul_ps(vx, ax)), cx);
                gy = _mm256_add_ps(_mm256_fmadd_ps(vy, by, _mm256_mul_ps(vx, ay)), cy);
            } else {
                gx = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(vx, ax), ybx), cx);
                gy = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(vx, ay), yby), cy);
            }
            __m256i ix, iy;
            __m256 inside = _mm256_and_ps(sample_index8(gx, &mx, &ix), sample_index8(gy, &my, &iy));
            __m256i at = _mm256_add_epi32(_mm256_mullo_epi32(iy, w), ix);
            at = _mm256_blendv_epi8(_mm256_set1_epi32(-1), at, _mm256_castps_si256(inside));
            _mm256_storeu_si256((__m256i *)index, at);
            for (int k = 0; k < 8; k++) {
                const uint8_t *p = index[k] < 0 ? fill : src + (size_t)index[k] * 3;
                out[3 * k] = p[0];
                out[3 * k + 1] = p[1];
                out[3 * k + 2] = p[2];
            }
        }
        for (; ox < width; ox++, out += 3) affine_pixel(src, width, x0 + (float)ox, y, &mx, &my, fused, fill, out);
    }
}
#endif

/// The two axes of `matrix` for a width x height image, and whether `bmm` fuses (ATen takes its
/// naive unfused loop when contraction * rows * cols = 3 * pixels * 2 < 400).
static int grid_maps(const float matrix[6], int32_t width, int32_t height, axis_map *mx, axis_map *my) {
    *mx = make_axis(matrix[0], matrix[1], matrix[2], width);
    *my = make_axis(matrix[3], matrix[4], matrix[5], height);
    return (int64_t)width * (int64_t)height * 6 >= 400;
}

// MARK: - Bilinear

/// The output pixel at base-grid position (x, y) with bilinear sampling and zero padding, as
/// `grid_sample(mode="bilinear", padding_mode="zeros", align_corners=False)` computes it on the
/// float image (corner weights from the fractions, each corner outside the image counted as 0),
/// then `round_()` (half to even) back to uint8 as `_apply_grid_transform` does.
static inline __attribute__((always_inline)) void bilinear_pixel(const uint8_t *src, int32_t width, int32_t height,
                                                                 float x, float y, const axis_map *mx,
                                                                 const axis_map *my, int fused, uint8_t *out) {
    float gx, gy;
    grid_at(x, y, mx, my, fused, &gx, &gy);
    const float u = (gx + 1.0f) * mx->half_size - 0.5f;
    const float v = (gy + 1.0f) * my->half_size - 0.5f;
    // Every corner is outside (or the position is NaN): zeros.
    if (!(u > -1.0f && u < mx->limit && v > -1.0f && v < my->limit)) {
        out[0] = out[1] = out[2] = 0;
        return;
    }
    const float fx = floorf(u), fy = floorf(v);
    const int32_t x0 = (int32_t)fx, y0 = (int32_t)fy;
    const float w = u - fx, e = 1.0f - w, n = v - fy, s = 1.0f - n;
    const float nw = s * e, ne = s * w, sw = n * e, se = n * w;
    const int in_x0 = x0 >= 0, in_x1 = x0 + 1 < width, in_y0 = y0 >= 0, in_y1 = y0 + 1 < height;
    const uint8_t *row0 = src + ((size_t)(in_y0 ? y0 : 0) * (size_t)width) * 3;
    const uint8_t *row1 = src + ((size_t)(in_y1 ? y0 + 1 : 0) * (size_t)width) * 3;
    for (int c = 0; c < 3; c++) {
        const float a = in_y0 && in_x0 ? (float)row0[(size_t)x0 * 3 + c] : 0.0f;
        const float b = in_y0 && in_x1 ? (float)row0[(size_t)(x0 + 1) * 3 + c] : 0.0f;
        const float d = in_y1 && in_x0 ? (float)row1[(size_t)x0 * 3 + c] : 0.0f;
        const float f = in_y1 && in_x1 ? (float)row1[(size_t)(x0 + 1) * 3 + c] : 0.0f;
        const float value = ((a * nw + b * ne) + d * sw) + f * se;
        const float r = round_even(value);
        out[c] = (uint8_t)(r < 0.0f ? 0.0f : (r > 255.0f ? 255.0f : r));
    }
}

static inline __attribute__((always_inline)) void bilinear_rows(const uint8_t *src, int32_t width, int32_t height,
                                                                axis_map mx, axis_map my, int fused, uint8_t *dst) {
    const float x0 = grid_start(width), y0 = grid_start(height);
    for (int32_t oy = 0; oy < height; oy++) {
        uint8_t *out = dst + (size_t)oy * (size_t)width * 3;
        for (int32_t ox = 0; ox < width; ox++, out += 3) {
            bilinear_pixel(src, width, height, x0 + (float)ox, y0 + (float)oy, &mx, &my, fused, out);
        }
    }
}

static void bilinear_portable(const uint8_t *src, int32_t width, int32_t height, axis_map mx, axis_map my, int fused,
                              uint8_t *dst) {
    bilinear_rows(src, width, height, mx, my, fused, dst);
}

#if AUG_HAVE_AVX2_BODY
AVX2_FMA static void bilinear_fma(const uint8_t *src, int32_t width, int32_t height, axis_map mx, axis_map my,
                                  int fused, uint8_t *dst) {
    bilinear_rows(src, width, height, mx, my, fused, dst);
}
#endif

/// Both entry points: the axes from `matrix`, then the body for the sampling and the CPU.
static void affine_sample(const uint8_t *src, int32_t width, int32_t height, const float matrix[6], int bilinear,
                          const uint8_t fill[3], uint8_t *dst) {
    if (width <= 0 || height <= 0) return;
    axis_map mx, my;
    int fused = grid_maps(matrix, width, height, &mx, &my);
#if AUG_HAVE_AVX2_BODY
    if (aug_simd_has_fma()) {
        if (bilinear) {
            bilinear_fma(src, width, height, mx, my, fused, dst);
        } else {
            affine_avx2(src, width, height, mx, my, fused, fill, dst);
        }
        return;
    }
#endif
    if (bilinear) {
        bilinear_portable(src, width, height, mx, my, fused, dst);
    } else {
        affine_portable(src, width, height, mx, my, fused, fill, dst);
    }
}

void aug_affine_bilinear(const uint8_t *_Nonnull src, int32_t width, int32_t height, const float matrix[_Nonnull 6],
                         uint8_t *_Nonnull dst) {
    affine_sample(src, width, height, matrix, 1, NULL, dst);
}

void aug_affine_nearest(const uint8_t *_Nonnull src, int32_t width, int32_t height,
                        const float matrix[_Nonnull 6], const uint8_t fill[_Nonnull 3],
                        uint8_t *_Nonnull dst) {
    affine_sample(src, width, height, matrix, 0, fill, dst);
}
