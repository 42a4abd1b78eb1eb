// aug_codecs.h — the only door to libjpeg(-turbo) and libpng.
//
// Why this exists: libjpeg and libpng report errors with setjmp/longjmp and, by default, exit().
// Neither may cross a Swift frame, so every call into them lives in this C target and returns a
// status plus an aug_error. The shape follows TurboJPEG: read the header first, refuse images over
// a pixel limit before allocating, decode into a caller-owned buffer sized by a helper, and treat
// the warnings that hide damage (premature end of data) as errors.
//
// This header includes only standard headers: jpeglib.h and png.h never reach Swift's importer.
#ifndef AUG_CODECS_H
#define AUG_CODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// Status codes. 0 is success; everything else comes with a message in aug_error.
typedef enum aug_status {
    AUG_OK = 0,
    AUG_ERR_EMPTY = 1,        ///< zero bytes
    AUG_ERR_FORMAT = 2,       ///< not a PNG or JPEG (sniffed from the bytes)
    AUG_ERR_TRUNCATED = 3,    ///< data ends before the image does
    AUG_ERR_CORRUPT = 4,      ///< the library rejected the data
    AUG_ERR_TOO_LARGE = 5,    ///< declared width*height exceeds max_pixels
    AUG_ERR_UNSUPPORTED = 6,  ///< valid but unsupported here (12-bit or lossless JPEG, > 500 scans)
    AUG_ERR_WARNING = 7,      ///< strict mode: the library recovered from corrupt data
    AUG_ERR_ARGUMENT = 8,     ///< bad options (ROI outside the image, buffer too small, ...)
    AUG_ERR_NOMEM = 9,        ///< an internal allocation failed
    AUG_ERR_IO = 10,          ///< writing a file failed (encoder)
} aug_status;

/// The reason for a failure, and warnings seen on success.
typedef struct aug_error {
    int32_t status;           ///< an aug_status
    int32_t warnings;         ///< libjpeg warnings recovered from (counted even on success)
    char message[240];        ///< NUL-terminated, human-readable reason
} aug_error;

typedef enum aug_format {
    AUG_FORMAT_UNKNOWN = 0,
    AUG_FORMAT_JPEG = 1,
    AUG_FORMAT_PNG = 2,
} aug_format;

/// Sniffs the format from the first bytes (never the extension).
aug_format aug_sniff(const uint8_t *_Nullable data, size_t size);

/// What the file declares, read without decoding pixels.
typedef struct aug_header {
    int32_t format;           ///< an aug_format
    int32_t width;
    int32_t height;
    int32_t components;       ///< in the file: 1 gray, 2 gray+alpha, 3 colour, 4 CMYK/RGBA
} aug_header;

/// Decode options. Zero-initialise, then set what you need.
typedef struct aug_decode_options {
    uint64_t max_pixels;      ///< refuse width*height above this (0 = 90,000,000)
    int32_t strict;           ///< 1: any libjpeg warning is an error (AUG_ERR_WARNING)
    int32_t scale_denom;      ///< JPEG DCT scaling 1, 2, 4 or 8 (0 = 1); PNG ignores it (always 1)
    /// Region of interest in the *scaled* image; roi_w == 0 or roi_h == 0 means the whole image.
    /// The result is bit-identical to a full decode at the same scale, then cropped. The whole
    /// file is still read (JPEG rows outside the region entropy-decoded only), so the status and
    /// warnings are a full decode's whatever the region and scale: a file's verdict never depends
    /// on the crop.
    int32_t roi_x, roi_y, roi_w, roi_h;
} aug_decode_options;

/// Reads the header. Checks the pixel limit (AUG_ERR_TOO_LARGE) but allocates no pixel buffer.
int aug_read_header(const uint8_t *data, size_t size, const aug_decode_options *_Nullable options,
                    aug_header *out, aug_error *err);

/// The output size a decode with these options will produce (scale applied, then ROI).
/// For JPEG at scale 1/d the scaled size is ceil(width/d) x ceil(height/d), as libjpeg computes it.
int aug_output_size(const uint8_t *data, size_t size, const aug_decode_options *_Nullable options,
                    int32_t *out_width, int32_t *out_height, aug_error *err);

/// Decodes to packed RGB8 (row stride = width*3) into `out` (capacity in bytes).
/// Grey is replicated, alpha dropped without compositing, 16-bit keeps the high byte, palette
/// expanded (tRNS ignored), CMYK/YCCK (Adobe inverted) converted as Pillow does. No gamma, ICC or
/// EXIF rotation. On success *out_width/*out_height are the output size and err->warnings counts
/// recovered libjpeg warnings.
int aug_decode_rgb8(const uint8_t *data, size_t size, const aug_decode_options *_Nullable options,
                    uint8_t *out, size_t capacity, int32_t *out_width, int32_t *out_height,
                    aug_error *err);

/// Writes packed RGB8 pixels (row stride `stride` bytes) as an 8-bit RGB PNG file at `path`.
int aug_write_png_rgb8(const char *path, const uint8_t *pixels, int32_t width, int32_t height,
                       size_t stride, aug_error *err);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
