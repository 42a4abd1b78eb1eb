// aug_colour.c — the colour family of the recipe steps: torchvision.transforms.v2.functional's
// colour functions on uint8 RGB images, in place.
//
// Why this exists: the recipe steps (ColorJitter, the AutoAugment family, RandomGrayscale,
// GaussianBlur) are defined as torchvision v2 on uint8 tensors, so each kernel repeats that code's
// float32 arithmetic in its order: a product and an `add_(x, alpha=…)` (which torch computes as a
// fused multiply-add in its vector loops) are written with fmaf, results go back to uint8 by
// truncation (`.to(uint8)`) or rounding half to even (`round_()`), as torchvision does. Where torch
// sums many values (the contrast mean, a convolution) its order is not ours; the difference
// stays below a unit of the output, within the ±1 conformance rule
// (Scripts/recipe/conformance_colour.py measures it on real photos).
//
// Images are packed RGB8, `width * height` pixels, row stride width * 3.
//
// Each kernel is one body compiled twice: for CPUs with AVX2 and FMA (chosen at run time, as
// aug_simd.c chooses the bodies; `fmaf` is then one instruction and the loops vectorise) and
// portable (`fmaf` from libm). Both give the same bytes: a fused multiply-add is exact either way,
// and no float sum is reordered.
#include "aug_simd.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// Products and sums stay separate roundings unless written as fmaf, as torch computes them.
#pragma STDC FP_CONTRACT OFF

static inline uint8_t trunc_u8(float v) {
    // clamp_(0, 255) then .to(uint8): truncation toward zero.
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)v;
}

// torchvision's grayscale: r * 0.2989 + g * 0.587 + b * 0.114 (`mul`, then two `add_` with alpha).
static inline float gray(const uint8_t *p) {
    float l = (float)p[0] * 0.2989f;
    l = fmaf((float)p[1], 0.587f, l);
    return fmaf((float)p[2], 0.114f, l);
}

// _blend(image1, image2, ratio): image1 * ratio + image2 * (1 - ratio), clamped, truncated.
static inline uint8_t blend(uint8_t v, float other, float ratio, float rest) {
    return trunc_u8(fmaf(other, rest, (float)v * ratio));
}

static inline __attribute__((always_inline)) void aug_adjust_brightness_body(uint8_t *px, int32_t width, int32_t height, double factor) {
    size_t n = (size_t)width * (size_t)height * 3;
    float ratio = (float)factor;
    for (size_t i = 0; i < n; i++) px[i] = trunc_u8((float)px[i] * ratio);
}

static inline __attribute__((always_inline)) void aug_adjust_saturation_body(uint8_t *px, int32_t width, int32_t height, double factor) {
    size_t n = (size_t)width * (size_t)height;
    float ratio = (float)factor, rest = (float)(1.0 - factor);
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = px + i * 3;
        float l = floorf(gray(p));
        p[0] = blend(p[0], l, ratio, rest);
        p[1] = blend(p[1], l, ratio, rest);
        p[2] = blend(p[2], l, ratio, rest);
    }
}

static inline __attribute__((always_inline)) void aug_adjust_contrast_body(uint8_t *px, int32_t width, int32_t height, double factor) {
    size_t n = (size_t)width * (size_t)height;
    if (n == 0) return;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)floorf(gray(px + i * 3));
    float mean = (float)(sum / (double)n);
    float ratio = (float)factor, rest = (float)(1.0 - factor);
    for (size_t i = 0; i < n * 3; i++) px[i] = blend(px[i], mean, ratio, rest);
}

static inline __attribute__((always_inline)) void aug_grayscale_body(uint8_t *px, int32_t width, int32_t height) {
    size_t n = (size_t)width * (size_t)height;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = px + i * 3;
        uint8_t l = trunc_u8(gray(p));
        p[0] = p[1] = p[2] = l;
    }
}

static inline __attribute__((always_inline)) void aug_invert_body(uint8_t *px, int32_t width, int32_t height) {
    size_t n = (size_t)width * (size_t)height * 3;
    for (size_t i = 0; i < n; i++) px[i] = (uint8_t)~px[i];
}

static inline __attribute__((always_inline)) void aug_posterize_body(uint8_t *px, int32_t width, int32_t height, int32_t bits) {
    if (bits >= 8) return;
    uint8_t mask = (uint8_t)(((1u << bits) - 1u) << (8 - bits));
    size_t n = (size_t)width * (size_t)height * 3;
    for (size_t i = 0; i < n; i++) px[i] &= mask;
}

static inline __attribute__((always_inline)) void aug_solarize_body(uint8_t *px, int32_t width, int32_t height, float threshold) {
    size_t n = (size_t)width * (size_t)height * 3;
    for (size_t i = 0; i < n; i++) {
        if ((float)px[i] >= threshold) px[i] = (uint8_t)~px[i];
    }
}

static inline __attribute__((always_inline)) void aug_autocontrast_body(uint8_t *px, int32_t width, int32_t height) {
    size_t n = (size_t)width * (size_t)height;
    if (n == 0) return;
    for (int c = 0; c < 3; c++) {
        uint8_t lo = 255, hi = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t v = px[i * 3 + c];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        if (lo == hi) continue;  // minimum 0, scale 1: the channel as it is
        float minimum = (float)lo;
        float inv_scale = ((float)hi - minimum) * (float)(1.0 / 255.0);
        for (size_t i = 0; i < n; i++) {
            uint8_t *p = px + i * 3 + c;
            *p = trunc_u8(((float)*p - minimum) / inv_scale);
        }
    }
}

static inline __attribute__((always_inline)) void aug_equalize_body(uint8_t *px, int32_t width, int32_t height) {
    size_t n = (size_t)width * (size_t)height;
    if (n == 0) return;
    for (int c = 0; c < 3; c++) {
        int64_t hist[256] = {0};
        for (size_t i = 0; i < n; i++) hist[px[i * 3 + c]]++;
        // The last non-empty bin (torch: the first argmax of the cumulative histogram).
        int last = 255;
        while (last > 0 && hist[last] == 0) last--;
        int64_t step = ((int64_t)n - hist[last]) / 255;
        if (step == 0) continue;
        uint8_t lut[256];
        lut[0] = 0;
        int64_t cum = 0;
        for (int i = 0; i < 255; i++) {
            cum += hist[i];
            int64_t v = (cum + step / 2) / step;
            lut[i + 1] = (uint8_t)(v > 255 ? 255 : v);
        }
        for (size_t i = 0; i < n; i++) px[i * 3 + c] = lut[px[i * 3 + c]];
    }
}

static inline __attribute__((always_inline)) void aug_adjust_sharpness_body(uint8_t *px, int32_t width, int32_t height, double factor, uint8_t *scratch) {
    if (width <= 2 || height <= 2) return;
    size_t stride = (size_t)width * 3;
    memcpy(scratch, px, stride * (size_t)height);
    const float a = (float)(1.0 / 13.0), b = (float)(5.0 / 13.0);
    float alpha = (float)(1.0 - factor);
    for (int32_t y = 1; y < height - 1; y++) {
        const uint8_t *up = scratch + (size_t)(y - 1) * stride;
        const uint8_t *mid = up + stride;
        const uint8_t *down = mid + stride;
        uint8_t *out = px + (size_t)y * stride;
        for (int32_t x = 3; x < (width - 1) * 3; x++) {
            float s = (float)up[x - 3] * a;
            s = fmaf((float)up[x], a, s);
            s = fmaf((float)up[x + 3], a, s);
            s = fmaf((float)mid[x - 3], a, s);
            s = fmaf((float)mid[x], b, s);
            s = fmaf((float)mid[x + 3], a, s);
            s = fmaf((float)down[x - 3], a, s);
            s = fmaf((float)down[x], a, s);
            s = fmaf((float)down[x + 3], a, s);
            float blurred = rintf(s);
            float v = (float)mid[x];
            out[x] = trunc_u8(fmaf(blurred - v, alpha, v));
        }
    }
}

// _rgb_to_hsv / hue shift / _hsv_to_rgb of torchvision v2, on one pixel in [0, 1] floats.
static inline __attribute__((always_inline)) void aug_adjust_hue_body(uint8_t *px, int32_t width, int32_t height, float hue_factor) {
    size_t n = (size_t)width * (size_t)height;
    const float to_unit = (float)(1.0 / 255.0);
    const float back = (float)(255.0 + 1.0 - 1e-3);
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = px + i * 3;
        float r = (float)p[0] * to_unit, g = (float)p[1] * to_unit, b = (float)p[2] * to_unit;
        float maxc = fmaxf(r, fmaxf(g, b)), minc = fminf(r, fminf(g, b));
        int eqc = maxc == minc;
        float range = maxc - minc;
        float s = range / (eqc ? 1.0f : maxc);
        float divisor = eqc ? 1.0f : range;
        float rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor;
        int neq_r = maxc != r, eq_g = maxc == g;
        float hr = (bc - gc) * (float)(!neq_r);
        float hg = ((rc + 2.0f) - bc) * (float)(eq_g && neq_r);
        float hb = ((gc + 4.0f) - rc) * (float)(neq_r && !eq_g);
        float h = (hr + hg) + hb;
        // .mul_(1/6).add_(1).fmod_(1): h is in [-1, 5], so the sum is in [0.83, 1.84) and fmod is one
        // exact subtraction (no libm call per pixel).
        h = h * (float)(1.0 / 6.0);
        h = h + 1.0f;
        h = h >= 1.0f ? h - 1.0f : h;
        // h.add_(hue_factor).remainder_(1.0), torch's remainder: fmod, plus the divisor when the
        // sign differs; the sum is in [-0.5, 1.5), so fmod is again one exact subtraction.
        h = h + hue_factor;
        h = h >= 1.0f ? h - 1.0f : h;
        if (h < 0.0f) h = h + 1.0f;
        float h6 = h * 6.0f;
        float fi = floorf(h6);
        float f = h6 - fi;
        int sector = ((int)fi % 6 + 6) % 6;
        float sxf = s * f;
        float one_minus_s = 1.0f - s;
        float q = fminf(fmaxf((1.0f - sxf) * maxc, 0.0f), 1.0f);
        float t = fminf(fmaxf((sxf + one_minus_s) * maxc, 0.0f), 1.0f);
        float pv = fminf(fmaxf(one_minus_s * maxc, 0.0f), 1.0f);
        // torchvision's table [[v, q, p, p, t, v], [t, v, v, q, p, p], [p, p, t, v, v, q]] by sector,
        // as selects so the loop vectorises.
        float ro = sector == 0 || sector == 5 ? maxc : sector == 1 ? q : sector == 4 ? t : pv;
        float go = sector == 1 || sector == 2 ? maxc : sector == 0 ? t : sector == 3 ? q : pv;
        float bo = sector == 3 || sector == 4 ? maxc : sector == 2 ? t : sector == 5 ? q : pv;
        p[0] = trunc_u8(ro * back);
        p[1] = trunc_u8(go * back);
        p[2] = trunc_u8(bo * back);
    }
}

// torch.linspace(-lim, lim, k) in float32 (see AutoAugmentation.linspace), then
// softmax(-(x / sigma)^2).
static void gaussian_kernel(int32_t k, float sigma, float *out) {
    double lim = (double)(k - 1) / (2.0 * sqrt(2.0));
    float start = (float)-lim, end = (float)lim;
    if (k == 1) {
        out[0] = 1.0f;
        return;
    }
    double step = (double)((end - start) / (float)(k - 1));
    int32_t half = k / 2;
    float peak = -INFINITY;
    for (int32_t i = 0; i < k; i++) {
        float x = i < half ? (float)((double)start + step * i) : (float)((double)end - step * (k - i - 1));
        float v = x / sigma;
        out[i] = -(v * v);
        peak = fmaxf(peak, out[i]);
    }
    float sum = 0;
    for (int32_t i = 0; i < k; i++) {
        out[i] = expf(out[i] - peak);
        sum += out[i];
    }
    for (int32_t i = 0; i < k; i++) out[i] /= sum;
}

static inline int32_t reflect(int32_t i, int32_t n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
}

static inline __attribute__((always_inline)) void aug_gaussian_blur_body(uint8_t *px, int32_t width, int32_t height, int32_t kx, int32_t ky, float sx, float sy,
                       float *scratch) {
    if (width <= 0 || height <= 0 || kx > 99 || ky > 99) return;
    float wx[99], wy[99];
    gaussian_kernel(kx, sx, wx);
    gaussian_kernel(ky, sy, wy);
    int32_t rx = kx / 2, ry = ky / 2;
    // Horizontal pass into `scratch` (float), then the vertical pass back, rounded half to even.
    for (int32_t y = 0; y < height; y++) {
        const uint8_t *row = px + (size_t)y * (size_t)width * 3;
        float *out = scratch + (size_t)y * (size_t)width * 3;
        for (int32_t x = 0; x < width; x++) {
            for (int c = 0; c < 3; c++) {
                float s = 0;
                for (int32_t t = 0; t < kx; t++) s = fmaf((float)row[reflect(x + t - rx, width) * 3 + c], wx[t], s);
                out[x * 3 + c] = s;
            }
        }
    }
    size_t stride = (size_t)width * 3;
    for (int32_t y = 0; y < height; y++) {
        uint8_t *out = px + (size_t)y * stride;
        for (size_t x = 0; x < stride; x++) {
            float s = 0;
            for (int32_t t = 0; t < ky; t++) s = fmaf(scratch[(size_t)reflect(y + t - ry, height) * stride + x], wy[t], s);
            float r = rintf(s);
            out[x] = (uint8_t)(r < 0 ? 0 : (r > 255 ? 255 : r));
        }
    }
}

// MARK: - Entry points: the FMA body where the CPU has it, else the portable one.

#define AUG_COLOUR_ENTRY(name, params, args)                                           \
    __attribute__((target("avx2,fma"))) static void name##_fma params { name##_body args; } \
    static void name##_portable params { name##_body args; }                         \
    void name params {                                                               \
        if (aug_simd_has_fma())                                                      \
            name##_fma args;                                                         \
        else                                                                         \
            name##_portable args;                                                    \
    }

AUG_COLOUR_ENTRY(aug_adjust_brightness, (uint8_t *px, int32_t width, int32_t height, double factor), (px, width, height, factor))
AUG_COLOUR_ENTRY(aug_adjust_saturation, (uint8_t *px, int32_t width, int32_t height, double factor), (px, width, height, factor))
AUG_COLOUR_ENTRY(aug_adjust_contrast, (uint8_t *px, int32_t width, int32_t height, double factor), (px, width, height, factor))
AUG_COLOUR_ENTRY(aug_grayscale, (uint8_t *px, int32_t width, int32_t height), (px, width, height))
AUG_COLOUR_ENTRY(aug_invert, (uint8_t *px, int32_t width, int32_t height), (px, width, height))
AUG_COLOUR_ENTRY(aug_posterize, (uint8_t *px, int32_t width, int32_t height, int32_t bits), (px, width, height, bits))
AUG_COLOUR_ENTRY(aug_solarize, (uint8_t *px, int32_t width, int32_t height, float threshold), (px, width, height, threshold))
AUG_COLOUR_ENTRY(aug_autocontrast, (uint8_t *px, int32_t width, int32_t height), (px, width, height))
AUG_COLOUR_ENTRY(aug_equalize, (uint8_t *px, int32_t width, int32_t height), (px, width, height))
AUG_COLOUR_ENTRY(aug_adjust_sharpness, (uint8_t *px, int32_t width, int32_t height, double factor, uint8_t *scratch), (px, width, height, factor, scratch))
AUG_COLOUR_ENTRY(aug_adjust_hue, (uint8_t *px, int32_t width, int32_t height, float hue_factor), (px, width, height, hue_factor))
AUG_COLOUR_ENTRY(aug_gaussian_blur, (uint8_t *px, int32_t width, int32_t height, int32_t kx, int32_t ky, float sx, float sy, float *scratch), (px, width, height, kx, ky, sx, sy, scratch))

// MARK: - AugMix's mix

void aug_weighted_accumulate(float *_Nonnull acc, const uint8_t *_Nonnull image, size_t count, float weight,
                             int first) {
    if (first) {
        for (size_t i = 0; i < count; i++) acc[i] = weight * (float)image[i];
    } else {
        for (size_t i = 0; i < count; i++) {
            float product = weight * (float)image[i];
            acc[i] = acc[i] + product;
        }
    }
}

void aug_truncate_u8(const float *_Nonnull acc, uint8_t *_Nonnull out, size_t count) {
    for (size_t i = 0; i < count; i++) out[i] = trunc_u8(acc[i]);
}

