// aug_jpeg.c — JPEG header reading and RGB8 decoding through libjpeg(-turbo)'s classic API.
//
// Errors: libjpeg's error_exit is replaced by a longjmp back into the aug_* function that called
// libjpeg (setjmp/longjmp never leave this file). Warnings are counted; the ones that mean the
// data ended early become AUG_ERR_TRUNCATED, and in strict mode every warning is an error.
// Every decode reads the entropy-coded data to EOI, whatever the region or scale, so the status
// and warnings are those of a full decode (see the end of aug_jpeg_decode).
//
// Decoding settings match Pillow's Image.open(p).convert("RGB"): JDCT_ISLOW, fancy upsampling,
// block smoothing on (libjpeg defaults), JCS_RGB output for grey/YCbCr/RGB files, and for
// CMYK/YCCK files JCS_CMYK output treated as Adobe-inverted, then Pillow's cmyk2rgb arithmetic.
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "aug_internal.h"

typedef struct jerr_ctx {
    struct jpeg_error_mgr pub;  // must stay first: libjpeg hands us a pointer to it
    jmp_buf jb;
    aug_error *err;
    int strict;
    struct jpeg_progress_mgr progress;  // enforces AUG_JPEG_MAX_SCANS
} jerr_ctx;

// A progressive JPEG may hold any number of scans, and each scan walks every block of the
// components it covers however few bytes it takes: an AC scan of a blank image is 16-30 bytes
// (end-of-band runs), and libjpeg only warns when scans repeat. A 64 KB file of 3,573 such scans
// over a 2048x2048 image cost 2.8 s (55x its plain decode; 1 MB would be ~45 s, a stalled worker);
// it is Fixtures/fuzz-regressions/crash-jpeg-3573-scans.fuzz. Real encoders write about 10
// scans; TurboJPEG's scan limit (TJPARAM_SCANLIMIT, tjbench -limitscans) refuses more than 500,
// and so do we.
#define AUG_JPEG_MAX_SCANS 500

static void format_libjpeg(j_common_ptr cinfo, char *buf) {
    buf[0] = '\0';
    (*cinfo->err->format_message)(cinfo, buf);
}

// Never returns: fills err from the pending libjpeg error and jumps back.
static void on_error_exit(j_common_ptr cinfo) {
    jerr_ctx *c = (jerr_ctx *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    format_libjpeg(cinfo, msg);
    int code = c->pub.msg_code;
    switch (code) {
    case JERR_BAD_PRECISION:
        aug_fail(c->err, AUG_ERR_UNSUPPORTED,
                 "unsupported JPEG: %d-bit samples (this libjpeg decodes only 8-bit JPEG)",
                 c->pub.msg_parm.i[0]);
        break;
    case JERR_SOF_UNSUPPORTED: {
        int m = c->pub.msg_parm.i[0];
        const char *what = (m == 0xC3 || m == 0xCB) ? "lossless"
                           : (m >= 0xC5 && m <= 0xC7) || (m >= 0xCD && m <= 0xCF)
                               ? "hierarchical"
                               : "this";
        aug_fail(c->err, AUG_ERR_UNSUPPORTED,
                 "unsupported JPEG: %s coding (SOF marker 0x%02X) is not supported by this "
                 "libjpeg",
                 what, (unsigned)m);
        break;
    }
    case JERR_CONVERSION_NOTIMPL:
        aug_fail(c->err, AUG_ERR_UNSUPPORTED,
                 "unsupported JPEG: cannot convert its %d-component colour space to RGB",
                 ((j_decompress_ptr)cinfo)->num_components);
        break;
    case JERR_ARITH_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_NOTIMPL:
    case JERR_CCIR601_NOTIMPL:
    case JERR_FRACT_SAMPLE_NOTIMPL:
        aug_fail(c->err, AUG_ERR_UNSUPPORTED, "unsupported JPEG: %s", msg);
        break;
    case JERR_OUT_OF_MEMORY:
        aug_fail(c->err, AUG_ERR_NOMEM, "out of memory decoding JPEG (%s)", msg);
        break;
    case JERR_INPUT_EOF:
        aug_fail(c->err, AUG_ERR_TRUNCATED,
                 "truncated JPEG: data ends before the image (premature end of data)");
        break;
    default:
        aug_fail(c->err, AUG_ERR_CORRUPT, "corrupt JPEG: %s", msg);
        break;
    }
    longjmp(c->jb, 1);
}

static void on_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0) return;  // trace messages
    jerr_ctx *c = (jerr_ctx *)cinfo->err;
    c->pub.num_warnings++;
    c->err->warnings++;
    int code = c->pub.msg_code;
    if (code == JWRN_JPEG_EOF) {
        // The memory source ran out of bytes and would pad the rest with grey.
        aug_fail(c->err, AUG_ERR_TRUNCATED,
                 "truncated JPEG: data ends before the image (premature end of data)");
        longjmp(c->jb, 1);
    }
    if (code == JWRN_HIT_MARKER && cinfo->is_decompressor &&
        ((j_decompress_ptr)cinfo)->unread_marker == 0xD9) {
        // An EOI marker in the middle of the entropy-coded data: the scan ends early.
        aug_fail(c->err, AUG_ERR_TRUNCATED,
                 "truncated JPEG: image data ends early (EOI marker inside a scan)");
        longjmp(c->jb, 1);
    }
    char msg[JMSG_LENGTH_MAX];
    format_libjpeg(cinfo, msg);
    if (c->strict) {
        aug_fail(c->err, AUG_ERR_WARNING, "JPEG warning (strict mode): %s", msg);
        longjmp(c->jb, 1);
    }
    if (c->err->warnings == 1) snprintf(c->err->message, sizeof c->err->message,
                                        "JPEG warning: %s", msg);
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

// libjpeg calls this at least once per iMCU row while it reads input; input_scan_number counts
// the scans started so far.
static void on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    int scans = ((j_decompress_ptr)cinfo)->input_scan_number;
    if (scans <= AUG_JPEG_MAX_SCANS) return;
    jerr_ctx *c = (jerr_ctx *)cinfo->err;
    aug_fail(c->err, AUG_ERR_UNSUPPORTED,
             "unsupported JPEG: more than %d scans (refused: decoding cost grows with every scan)",
             AUG_JPEG_MAX_SCANS);
    longjmp(c->jb, 1);
}

static void setup_error(struct jpeg_decompress_struct *cinfo, jerr_ctx *je, aug_error *err,
                        int strict) {
    cinfo->err = jpeg_std_error(&je->pub);
    je->pub.error_exit = on_error_exit;
    je->pub.emit_message = on_emit_message;
    je->pub.output_message = on_output_message;
    je->err = err;
    je->strict = strict;
}

// Reads the header and applies our output settings; computes the scaled output size.
// Must be called after setjmp in the caller.
static int open_header(struct jpeg_decompress_struct *cinfo, const uint8_t *data, size_t size,
                       const aug_opts *o, aug_error *err) {
    jpeg_create_decompress(cinfo);  // zeroes cinfo->progress: install the scan limit after it
    jerr_ctx *c = (jerr_ctx *)cinfo->err;
    c->progress.progress_monitor = on_progress;
    cinfo->progress = &c->progress;
    jpeg_mem_src(cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    int st = aug_check_limit("JPEG", cinfo->image_width, cinfo->image_height, o->max_pixels, err);
    if (st != AUG_OK) return st;
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
        cinfo->out_color_space = JCS_CMYK;
    else
        cinfo->out_color_space = JCS_RGB;
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    cinfo->do_block_smoothing = TRUE;
    cinfo->quantize_colors = FALSE;
    cinfo->scale_num = 1;
    cinfo->scale_denom = (unsigned)o->scale_denom;
    jpeg_calc_output_dimensions(cinfo);
    return AUG_OK;
}

int aug_jpeg_header(const uint8_t *data, size_t size, const aug_opts *o, aug_header *out,
                    int32_t *scaled_w, int32_t *scaled_h, aug_error *err) {
    struct jpeg_decompress_struct cinfo;
    jerr_ctx je;
    setup_error(&cinfo, &je, err, o->strict);
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&cinfo);
        return err->status;
    }
    int st = open_header(&cinfo, data, size, o, err);
    out->format = AUG_FORMAT_JPEG;
    out->width = (int32_t)cinfo.image_width;
    out->height = (int32_t)cinfo.image_height;
    out->components = cinfo.num_components;
    *scaled_w = (int32_t)cinfo.output_width;
    *scaled_h = (int32_t)cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    return st;
}

// Pillow reads every 4-component JPEG as Adobe-inverted CMYK ("CMYK;I": value = 255 - sample),
// then Convert.c cmyk2rgb: nk = 255 - k; out = nk - MULDIV255(c, nk) with
// MULDIV255(a, b) = (t = a*b + 128, ((t >> 8) + t) >> 8). With the inversion nk is the raw K.
static inline uint8_t cmyk_channel(unsigned raw_c, unsigned raw_k) {
    unsigned c = 255u - raw_c, nk = raw_k;
    unsigned t = c * nk + 128u;
    int v = (int)nk - (int)(((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void cmyk_to_rgb(uint8_t *dst, const uint8_t *src, int32_t n) {
    for (int32_t i = 0; i < n; i++, src += 4, dst += 3) {
        unsigned k = src[3];
        dst[0] = cmyk_channel(src[0], k);
        dst[1] = cmyk_channel(src[1], k);
        dst[2] = cmyk_channel(src[2], k);
    }
}

// libjpeg-turbo 2.1.x's jpeg_crop_scanline sets each component's downsampled_width to
// ceil(output_width * h_samp / max_h_samp), ignoring that DCT scaling can give a component a
// larger DCT_scaled_size than min_DCT_scaled_size. When such a component still needs
// upsampling (e.g. 4x2 sampling at scale 1/2), the upsampler then only fills part of the row.
// Recompute the width with the DCT sizes (what later libjpeg-turbo versions do; identical to
// the library's value whenever DCT_scaled_size == min_DCT_scaled_size).
static void fix_cropped_widths(struct jpeg_decompress_struct *cinfo) {
    for (int ci = 0; ci < cinfo->num_components; ci++) {
        jpeg_component_info *comp = &cinfo->comp_info[ci];
        long num = (long)cinfo->output_width * comp->h_samp_factor * comp->DCT_scaled_size;
        long den = (long)cinfo->max_h_samp_factor * cinfo->min_DCT_scaled_size;
        comp->downsampled_width = (JDIMENSION)((num + den - 1) / den);
    }
}

#define ROWS_PER_CALL 16

int aug_jpeg_decode(const uint8_t *data, size_t size, const aug_opts *o, uint8_t *out,
                    size_t capacity, int32_t *out_w, int32_t *out_h, aug_error *err) {
    struct jpeg_decompress_struct cinfo;
    jerr_ctx je;
    setup_error(&cinfo, &je, err, o->strict);
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&cinfo);
        return err->status;
    }
    int st = open_header(&cinfo, data, size, o, err);
    if (st != AUG_OK) goto done;

    const int32_t W = (int32_t)cinfo.output_width, H = (int32_t)cinfo.output_height;
    aug_region r;
    st = aug_resolve_region(o, W, H, &r, err);
    if (st != AUG_OK) goto done;
    const size_t stride = (size_t)r.w * 3;
    if (capacity / stride < (size_t)r.h) {
        st = aug_fail(err, AUG_ERR_ARGUMENT,
                      "output buffer too small: %zu bytes for %dx%d RGB8 (%zu needed)", capacity,
                      (int)r.w, (int)r.h, stride * (size_t)r.h);
        goto done;
    }
    const int cmyk = cinfo.out_color_space == JCS_CMYK;
    const int full_width = (r.x == 0 && r.w == W);

    jpeg_start_decompress(&cinfo);

    JDIMENSION xoff = 0, xw = (JDIMENSION)W;
    if (!full_width) {
        // jpeg_crop_scanline widens the left edge to an iMCU boundary. Fancy upsampling reads
        // one chroma sample sideways and replicates at the crop edges, and progressive block
        // smoothing reads two blocks sideways; so crop a wider region, then copy the exact
        // columns: the result equals a full decode. Progressive files get three iMCUs on the
        // left and two on the right; others two chroma samples (in output pixels) each side,
        // which keeps the decoded width close to the region's.
        int32_t align = cinfo.min_DCT_scaled_size * cinfo.max_h_samp_factor;
        int32_t margin_left = 3 * align, margin_right = 2 * align;
        if (!cinfo.progressive_mode) {
            int32_t sample = 1;  // output pixels per sample of the most subsampled component
            for (int ci = 0; ci < cinfo.num_components; ci++) {
                const jpeg_component_info *comp = &cinfo.comp_info[ci];
                int32_t num = cinfo.max_h_samp_factor * cinfo.min_DCT_scaled_size;
                int32_t den = comp->h_samp_factor * comp->DCT_scaled_size;
                int32_t ratio = den > 0 ? (num + den - 1) / den : align;
                if (ratio > sample) sample = ratio;
            }
            margin_left = margin_right = 2 * sample;
        }
        int32_t x0 = r.x - margin_left, x1 = r.x + r.w + margin_right;
        if (x0 < 0) x0 = 0;
        if (x1 > W) x1 = W;
        // At least two iMCUs wide, so no component's cropped width drops below 2 samples
        // (which would make libjpeg switch to a different upsampler).
        if (x1 - x0 < 2 * align) x1 = x0 + 2 * align < W ? x0 + 2 * align : W;
        if (x1 - x0 < 2 * align) x0 = x1 - 2 * align > 0 ? x1 - 2 * align : 0;
        xoff = (JDIMENSION)x0;
        xw = (JDIMENSION)(x1 - x0);
        if (xw < (JDIMENSION)W) {
            jpeg_crop_scanline(&cinfo, &xoff, &xw);
            fix_cropped_widths(&cinfo);
        } else {
            xoff = 0;
            xw = (JDIMENSION)W;
        }
    }
    const int ncomp = cinfo.output_components;
    const size_t col0 = ((size_t)r.x - xoff) * (size_t)ncomp;
    // Rows libjpeg cannot write in place go through a scratch buffer. Its rows start 8 bytes past
    // a 32-byte boundary on purpose: libjpeg-turbo's SIMD colour converters use non-temporal
    // stores when a row is 32-byte aligned, which sends the row to DRAM and makes the next read
    // of it (our copy, or the resampler) miss every cache level. Destination rows that happen to
    // be aligned are routed through the scratch buffer for the same reason.
    int nbuf = cinfo.rec_outbuf_height > 0 ? cinfo.rec_outbuf_height : 1;
    if (nbuf > ROWS_PER_CALL) nbuf = ROWS_PER_CALL;
    const size_t scratch_stride = ((cinfo.output_width * (size_t)ncomp + 63) & ~(size_t)31) + 32;
    uint8_t *scratch = (uint8_t *)(*cinfo.mem->alloc_large)(
        (j_common_ptr)&cinfo, JPOOL_IMAGE, scratch_stride * (size_t)nbuf + 64);
    uint8_t *scratch0 = (uint8_t *)(((uintptr_t)scratch + 31) & ~(uintptr_t)31) + 8;
    const int direct = full_width && !cmyk;

    if (r.y > 0 && jpeg_skip_scanlines(&cinfo, (JDIMENSION)r.y) != (JDIMENSION)r.y) {
        st = aug_fail(err, AUG_ERR_CORRUPT, "corrupt JPEG: could not skip to row %d", (int)r.y);
        goto done;
    }
    JSAMPROW rows[ROWS_PER_CALL];
    int32_t got = 0;
    while (got < r.h) {
        int32_t want = r.h - got;
        if (want > nbuf) want = nbuf;
        for (int32_t k = 0; k < want; k++) {
            uint8_t *dst = out + (size_t)(got + k) * stride;
            rows[k] = direct && ((uintptr_t)dst & 31) != 0 ? dst : scratch0 + (size_t)k * scratch_stride;
        }
        JDIMENSION n = jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)want);
        if (n == 0) {
            st = aug_fail(err, AUG_ERR_CORRUPT, "corrupt JPEG: decoder returned no rows");
            goto done;
        }
        for (JDIMENSION k = 0; k < n; k++) {
            uint8_t *dst = out + (size_t)(got + (int32_t)k) * stride;
            if (rows[k] == dst) continue;
            if (cmyk) cmyk_to_rgb(dst, rows[k] + col0, r.w);
            else memcpy(dst, rows[k] + col0, stride);
        }
        got += (int32_t)n;
    }

    // Read on to EOI whatever the region, so the verdict (error, warnings) is the file's, not the
    // crop's: damage below the region (data cut short, no EOI, corrupt Huffman codes, an early
    // EOI) is seen exactly as a full decode sees it. Warnings come only from the marker reader and
    // the entropy decoder, and skipping whole iMCU rows runs the entropy decoder alone (no IDCT,
    // upsampling or colour conversion); only the last row is decoded in full, because skipping to
    // the bottom would stop without decoding. Multi-scan (progressive) files were entropy-decoded
    // to EOI by jpeg_start_decompress already. (Measured on the benchmark's JPEGs: a region decode
    // went from 0.93 to 0.94 of a full decode for the random 224 crop of a 256 resize, from 0.83
    // to 0.91 for RandomResizedCrop, whose regions end higher up. See README, Performance.)
    if (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION left = cinfo.output_height - cinfo.output_scanline;
        if (left > 1) jpeg_skip_scanlines(&cinfo, left - 1);
        while (cinfo.output_scanline < cinfo.output_height) {
            rows[0] = scratch0;
            if (jpeg_read_scanlines(&cinfo, rows, 1) == 0) {
                st = aug_fail(err, AUG_ERR_CORRUPT, "corrupt JPEG: decoder returned no rows");
                goto done;
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    *out_w = r.w;
    *out_h = r.h;
    st = AUG_OK;
    err->status = AUG_OK;

done:
    jpeg_destroy_decompress(&cinfo);
    return st;
}
