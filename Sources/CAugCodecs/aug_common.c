// aug_common.c — format sniffing, option handling and the public entry points that dispatch to
// the JPEG and PNG back ends.
#include <stdio.h>
#include <string.h>

#include "aug_internal.h"

static const uint8_t kPngSig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
static const uint8_t kJpegSig[3] = {0xFF, 0xD8, 0xFF};

void aug_clear_error(aug_error *err) {
    err->status = AUG_OK;
    err->warnings = 0;
    err->message[0] = '\0';
}

int aug_fail(aug_error *err, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->status = status;
    return status;
}

aug_format aug_sniff(const uint8_t *data, size_t size) {
    if (data == NULL) return AUG_FORMAT_UNKNOWN;
    if (size >= sizeof kJpegSig && memcmp(data, kJpegSig, sizeof kJpegSig) == 0)
        return AUG_FORMAT_JPEG;
    if (size >= sizeof kPngSig && memcmp(data, kPngSig, sizeof kPngSig) == 0)
        return AUG_FORMAT_PNG;
    return AUG_FORMAT_UNKNOWN;
}

int aug_check_limit(const char *fmt_name, uint32_t w, uint32_t h, uint64_t max_pixels,
                    aug_error *err) {
    uint64_t px = (uint64_t)w * (uint64_t)h;
    if (px > max_pixels)
        return aug_fail(err, AUG_ERR_TOO_LARGE,
                        "%s declared size %ux%u exceeds the %llu-pixel limit", fmt_name,
                        (unsigned)w, (unsigned)h, (unsigned long long)max_pixels);
    return AUG_OK;
}

int aug_resolve_region(const aug_opts *o, int32_t w, int32_t h, aug_region *r, aug_error *err) {
    if (!o->has_roi) {
        r->x = 0;
        r->y = 0;
        r->w = w;
        r->h = h;
        return AUG_OK;
    }
    int64_t x1 = (int64_t)o->roi_x + o->roi_w, y1 = (int64_t)o->roi_y + o->roi_h;
    if (o->roi_x < 0 || o->roi_y < 0 || x1 > w || y1 > h)
        return aug_fail(err, AUG_ERR_ARGUMENT,
                        "region %dx%d at (%d,%d) is outside the %dx%d (scaled) image",
                        (int)o->roi_w, (int)o->roi_h, (int)o->roi_x, (int)o->roi_y, (int)w,
                        (int)h);
    r->x = o->roi_x;
    r->y = o->roi_y;
    r->w = o->roi_w;
    r->h = o->roi_h;
    return AUG_OK;
}

// Applies defaults and validates; also rejects empty input and sniffs the format.
static int prepare(const uint8_t *data, size_t size, const aug_decode_options *options,
                   aug_opts *o, aug_format *fmt, aug_error *err) {
    aug_clear_error(err);
    memset(o, 0, sizeof *o);
    o->max_pixels = AUG_DEFAULT_MAX_PIXELS;
    o->scale_denom = 1;
    if (options) {
        if (options->max_pixels) o->max_pixels = options->max_pixels;
        o->strict = options->strict != 0;
        int d = options->scale_denom ? options->scale_denom : 1;
        if (d != 1 && d != 2 && d != 4 && d != 8)
            return aug_fail(err, AUG_ERR_ARGUMENT, "scale_denom %d is not 1, 2, 4 or 8",
                            (int)options->scale_denom);
        o->scale_denom = d;
        if (options->roi_w < 0 || options->roi_h < 0)
            return aug_fail(err, AUG_ERR_ARGUMENT, "negative region size %dx%d",
                            (int)options->roi_w, (int)options->roi_h);
        if (options->roi_w > 0 && options->roi_h > 0) {
            o->has_roi = 1;
            o->roi_x = options->roi_x;
            o->roi_y = options->roi_y;
            o->roi_w = options->roi_w;
            o->roi_h = options->roi_h;
        }
    }
    if (size == 0) return aug_fail(err, AUG_ERR_EMPTY, "empty file (0 bytes)");
    if (data == NULL) return aug_fail(err, AUG_ERR_ARGUMENT, "no data pointer for %zu bytes", size);
    *fmt = aug_sniff(data, size);
    if (*fmt == AUG_FORMAT_UNKNOWN) {
        // A file shorter than a signature that matches as far as it goes was cut off.
        if ((size < sizeof kJpegSig && memcmp(data, kJpegSig, size) == 0) ||
            (size < sizeof kPngSig && memcmp(data, kPngSig, size) == 0))
            return aug_fail(err, AUG_ERR_TRUNCATED,
                            "truncated file: only %zu bytes, ends inside the signature", size);
        char hex[3 * 8 + 1] = {0};
        size_t n = size < 8 ? size : 8;
        for (size_t i = 0; i < n; i++) snprintf(hex + 3 * i, 4, "%02x ", data[i]);
        if (n) hex[3 * n - 1] = '\0';
        return aug_fail(err, AUG_ERR_FORMAT, "not a PNG or JPEG file (starts with %s)", hex);
    }
    return AUG_OK;
}

int aug_read_header(const uint8_t *data, size_t size, const aug_decode_options *options,
                    aug_header *out, aug_error *err) {
    aug_opts o;
    aug_format fmt = AUG_FORMAT_UNKNOWN;
    memset(out, 0, sizeof *out);
    int st = prepare(data, size, options, &o, &fmt, err);
    if (st != AUG_OK) return st;
    if (fmt == AUG_FORMAT_JPEG) {
        int32_t sw, sh;
        return aug_jpeg_header(data, size, &o, out, &sw, &sh, err);
    }
    return aug_png_header(data, size, &o, out, err);
}

int aug_output_size(const uint8_t *data, size_t size, const aug_decode_options *options,
                    int32_t *out_width, int32_t *out_height, aug_error *err) {
    aug_opts o;
    aug_format fmt = AUG_FORMAT_UNKNOWN;
    aug_header hdr;
    memset(&hdr, 0, sizeof hdr);
    int32_t sw = 0, sh = 0;
    *out_width = 0;
    *out_height = 0;
    int st = prepare(data, size, options, &o, &fmt, err);
    if (st != AUG_OK) return st;
    if (fmt == AUG_FORMAT_JPEG) {
        st = aug_jpeg_header(data, size, &o, &hdr, &sw, &sh, err);
    } else {
        st = aug_png_header(data, size, &o, &hdr, err);
        sw = hdr.width;
        sh = hdr.height;
    }
    if (st != AUG_OK) return st;
    aug_region r = {0, 0, 0, 0};
    st = aug_resolve_region(&o, sw, sh, &r, err);
    if (st != AUG_OK) return st;
    *out_width = r.w;
    *out_height = r.h;
    return AUG_OK;
}

int aug_decode_rgb8(const uint8_t *data, size_t size, const aug_decode_options *options,
                    uint8_t *out, size_t capacity, int32_t *out_width, int32_t *out_height,
                    aug_error *err) {
    aug_opts o;
    aug_format fmt = AUG_FORMAT_UNKNOWN;
    *out_width = 0;
    *out_height = 0;
    int st = prepare(data, size, options, &o, &fmt, err);
    if (st != AUG_OK) return st;
    if (fmt == AUG_FORMAT_JPEG)
        return aug_jpeg_decode(data, size, &o, out, capacity, out_width, out_height, err);
    return aug_png_decode(data, size, &o, out, capacity, out_width, out_height, err);
}
