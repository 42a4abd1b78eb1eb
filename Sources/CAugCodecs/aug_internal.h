// aug_internal.h — private helpers shared by the CAugCodecs sources (never seen by Swift).
#ifndef AUG_INTERNAL_H
#define AUG_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "aug_codecs.h"

#define AUG_DEFAULT_MAX_PIXELS 90000000ull

/// Options after defaults are applied and values validated.
typedef struct aug_opts {
    uint64_t max_pixels;
    int strict;
    int scale_denom;  ///< 1, 2, 4 or 8
    int has_roi;      ///< 0: whole (scaled) image
    int32_t roi_x, roi_y, roi_w, roi_h;
} aug_opts;

/// The region actually produced, in scaled output coordinates.
typedef struct aug_region {
    int32_t x, y, w, h;
} aug_region;

#if defined(__GNUC__) || defined(__clang__)
#define AUG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AUG_PRINTF(a, b)
#endif

/// Sets err->status and err->message (printf-style). Returns status.
int aug_fail(aug_error *err, int status, const char *fmt, ...) AUG_PRINTF(3, 4);
/// Resets err to success (status 0, no warnings, empty message).
void aug_clear_error(aug_error *err);

/// Resolves the ROI against a scaled image of size w x h. Returns AUG_OK or AUG_ERR_ARGUMENT.
int aug_resolve_region(const aug_opts *o, int32_t w, int32_t h, aug_region *r, aug_error *err);

/// Shared pixel-limit check on the declared (unscaled) size.
int aug_check_limit(const char *fmt_name, uint32_t w, uint32_t h, uint64_t max_pixels,
                    aug_error *err);

// Format back ends. `o` is already normalised; data/size are non-empty and sniffed.
int aug_jpeg_header(const uint8_t *data, size_t size, const aug_opts *o, aug_header *out,
                    int32_t *scaled_w, int32_t *scaled_h, aug_error *err);
int aug_jpeg_decode(const uint8_t *data, size_t size, const aug_opts *o, uint8_t *out,
                    size_t capacity, int32_t *out_w, int32_t *out_h, aug_error *err);
int aug_png_header(const uint8_t *data, size_t size, const aug_opts *o, aug_header *out,
                   aug_error *err);
int aug_png_decode(const uint8_t *data, size_t size, const aug_opts *o, uint8_t *out,
                   size_t capacity, int32_t *out_w, int32_t *out_h, aug_error *err);

#endif
