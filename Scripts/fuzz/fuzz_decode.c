// fuzz_decode.c — a libFuzzer target for the decode entry points of Sources/CAugCodecs.
//
// Why this exists: CAugCodecs parses hostile bytes and has logic of its own on top of libjpeg and
// libpng (regions, DCT scales, crop margins, the jpeg_crop_scanline width workaround, the pixel
// limit, the PNG row/interlace paths, the chunk-length precheck). This target drives all of it
// with decode options taken from the input, under ASan and UBSan, and checks the one promise we
// can check without a reference: a region decode equals a full decode at the same scale, cropped.
//
// Input layout (Scripts/fuzz.sh prefixes each seed file with such a header):
//
//   byte 0      flags
//                 bits 0-1  scale denominator 1, 2, 4, 8
//                 bit 2     strict (libjpeg warnings are errors)
//                 bit 3     decode a region (bytes 4..11 pick it inside the scaled image)
//                 bit 4     raw options: scale and region bytes passed through unchecked, to
//                           exercise the argument checks (bad scale, negative or outside region)
//                 bit 5     give the decoder a buffer one byte short (must refuse, not overflow)
//                 bit 6     differential: a region decode must equal the full decode, cropped
//                 bit 7     default pixel limit (max_pixels = 0), only when the declared size is
//                           small enough to decode quickly
//   bytes 1-3   pixel limit: 1 + (24-bit little endian value mod 2^22), so 1 .. 4,194,304 pixels
//   bytes 4-11  region x, y, w, h (16-bit little endian each), reduced modulo the scaled size
//   bytes 12-   the file
//
// Feedback: by default libjpeg and libpng are the system's, not instrumented, so libFuzzer's
// coverage sees only our wrapper and would throw away most seeds as "nothing new" (Scripts/fuzz.sh
// can build them instrumented: FUZZ_JPEG_SRC, FUZZ_PNG_SRC). Extra counters (below) add what
// the libraries did as features: each call's status and the text of its message (digits and
// parenthesised details left out, so "corrupt JPEG: Bogus marker length" is one feature whatever
// the numbers), the warning count, and the output size's order of magnitude. An input that makes
// libjpeg or libpng fail in a new way, or decode a new kind of image, is kept.
//
// Build and run: Scripts/fuzz.sh (clang -fsanitize=fuzzer,address,undefined, the C sources of
// Sources/CAugCodecs compiled in directly, -ljpeg -lpng). Besides the sanitizers it aborts when a
// call breaks the API's promises: an unknown status, a failure without a message, a decode that
// succeeds into a buffer one byte short or disagrees with aug_output_size about the size.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aug_codecs.h"

#define PARAM_BYTES 12
// The pixel limit stays well under the 90 M default, so one input cannot take seconds (or GiBs)
// to decode.
#define FUZZ_MAX_PIXELS (1u << 22)

#define EXTRA_COUNTERS 8192
// -DFUZZ_WRAPPER_COVERAGE_ONLY leaves them out, to pick a small corpus by our wrapper's coverage.
#ifndef FUZZ_WRAPPER_COVERAGE_ONLY
__attribute__((used, section("__libfuzzer_extra_counters")))
#endif
static uint8_t extra[EXTRA_COUNTERS];

static void feature(uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352dU;
    h ^= h >> 15;
    uint8_t *c = &extra[h % EXTRA_COUNTERS];
    if (*c < 255) (*c)++;
}

static uint32_t log2u(uint64_t v) {
    uint32_t n = 0;
    while (v > 1) { v >>= 1; n++; }
    return n;
}

// One feature per (call site, status, message text without digits), one per warning-count bucket.
static void note_outcome(uint32_t site, int st, const aug_error *err) {
    uint32_t h = 2166136261u ^ site;
    h = (h ^ (uint32_t)st) * 16777619u;
    // Not-an-image messages quote the first bytes, and chunk names and parenthesised details
    // vary with the data: only the message's fixed words count.
    int depth = 0;
    if (st != AUG_ERR_FORMAT && strstr(err->message, "CRC error") == NULL)
        for (const char *m = err->message; *m; m++) {
            depth += (*m == '(') - (*m == ')');
            if (depth == 0 && (*m < '0' || *m > '9')) h = (h ^ (uint8_t)*m) * 16777619u;
        }
    feature(h);
    feature(0x9e3779b9u * (site + 1) + log2u((uint64_t)err->warnings + 1) + 64u * (uint32_t)st);
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

// Checks what every call must do whatever the input: a known status and a NUL-terminated
// message, non-empty on failure.
static void check_error(const aug_error *err, int st, const char *where) {
    if (st < AUG_OK || st > AUG_ERR_IO || err->status != st) {
        fprintf(stderr, "%s: status %d, err->status %d\n", where, st, (int)err->status);
        abort();
    }
    if (memchr(err->message, 0, sizeof err->message) == NULL) {
        fprintf(stderr, "%s: message not NUL-terminated\n", where);
        abort();
    }
    if (st != AUG_OK && err->message[0] == '\0') {
        fprintf(stderr, "%s: status %d without a message\n", where, st);
        abort();
    }
}

// Decodes with `o` into an exact-size heap buffer (so ASan sees any overrun). Returns the status;
// on success *pixels (caller frees), *w, *h and *warnings are set.
static int decode(const uint8_t *data, size_t size, const aug_decode_options *o, int short_buf,
                  uint8_t **pixels, int32_t *w, int32_t *h, int32_t *warnings) {
    aug_error err;
    int32_t ow = -1, oh = -1;
    *pixels = NULL;
    int st = aug_output_size(data, size, o, &ow, &oh, &err);
    check_error(&err, st, "aug_output_size");
    note_outcome(1, st, &err);
    if (st != AUG_OK) return st;
    if (ow <= 0 || oh <= 0) {
        fprintf(stderr, "aug_output_size: OK with size %dx%d\n", (int)ow, (int)oh);
        abort();
    }
    size_t need = (size_t)ow * (size_t)oh * 3;
    size_t cap = short_buf ? need - 1 : need;
    uint8_t *buf = (uint8_t *)malloc(cap ? cap : 1);
    if (buf == NULL) abort();
    int32_t dw = -1, dh = -1;
    st = aug_decode_rgb8(data, size, o, buf, cap, &dw, &dh, &err);
    check_error(&err, st, "aug_decode_rgb8");
    note_outcome(2 + (o->roi_w > 0) + 2 * (uint32_t)short_buf, st, &err);
    if (st == AUG_OK)
        feature(0x51ed27u + log2u((uint64_t)dw) * 64u + log2u((uint64_t)dh) * 4096u +
                (uint32_t)o->scale_denom * 262144u);
    if (st == AUG_OK && short_buf) {
        fprintf(stderr, "aug_decode_rgb8: OK into a buffer one byte short\n");
        abort();
    }
    if (st == AUG_OK && (dw != ow || dh != oh)) {
        fprintf(stderr, "aug_decode_rgb8: %dx%d, aug_output_size said %dx%d\n", (int)dw, (int)dh,
                (int)ow, (int)oh);
        abort();
    }
    if (st != AUG_OK) {
        free(buf);
        return st;
    }
    *pixels = buf;
    *w = dw;
    *h = dh;
    *warnings = err.warnings;
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t input_size) {
    if (input_size < PARAM_BYTES) return 0;
    const uint8_t flags = input[0];
    const uint8_t *data = input + PARAM_BYTES;
    const size_t size = input_size - PARAM_BYTES;
    // A copy of exactly `size` bytes, so a read past the file's end is a heap overflow to ASan
    // (libFuzzer's own buffer would also catch it, but not a read past a shorter prefix).
    uint8_t *file = (uint8_t *)malloc(size ? size : 1);
    if (file == NULL) abort();
    memcpy(file, data, size);

    static const int scales[4] = {1, 2, 4, 8};
    aug_decode_options o;
    memset(&o, 0, sizeof o);
    o.strict = (flags >> 2) & 1;
    o.scale_denom = scales[flags & 3];
    const uint64_t limit = input[1] | ((uint64_t)input[2] << 8) | ((uint64_t)input[3] << 16);
    o.max_pixels = 1 + limit % FUZZ_MAX_PIXELS;
    const int want_region = (flags >> 3) & 1, raw = (flags >> 4) & 1;
    const int short_buf = (flags >> 5) & 1, differential = (flags >> 6) & 1;

    aug_header hdr;
    aug_error err;
    (void)aug_sniff(file, size);
    int st = aug_read_header(file, size, &o, &hdr, &err);
    check_error(&err, st, "aug_read_header");
    note_outcome(0, st, &err);
    if (st == AUG_OK) feature(0xabcdefu + (uint32_t)hdr.format * 16u + (uint32_t)hdr.components);
    if ((flags >> 7) && st == AUG_OK &&
        (uint64_t)hdr.width * (uint64_t)hdr.height <= FUZZ_MAX_PIXELS)
        o.max_pixels = 0;  // the default limit

    if (raw) {
        // Unchecked options: the wrapper must refuse what is invalid with AUG_ERR_ARGUMENT.
        o.scale_denom = (int8_t)input[4];
        o.roi_x = (int16_t)le16(input + 4);
        o.roi_y = (int16_t)le16(input + 6);
        o.roi_w = (int16_t)le16(input + 8);
        o.roi_h = (int16_t)le16(input + 10);
        uint8_t *px = NULL;
        int32_t w, h, warnings;
        decode(file, size, &o, short_buf, &px, &w, &h, &warnings);
        free(px);
        free(file);
        return 0;
    }

    // The whole (scaled) image.
    uint8_t *full = NULL;
    int32_t fw = 0, fh = 0, fwarn = 0;
    int full_st = AUG_ERR_ARGUMENT;
    if (!want_region || differential)
        full_st = decode(file, size, &o, short_buf && !want_region, &full, &fw, &fh, &fwarn);

    if (want_region) {
        // A region inside the scaled image: its size comes from aug_output_size without a region.
        int32_t sw = 0, sh = 0;
        st = aug_output_size(file, size, &o, &sw, &sh, &err);
        check_error(&err, st, "aug_output_size");
        if (st == AUG_OK) {
            aug_decode_options ro = o;
            ro.roi_w = 1 + le16(input + 8) % sw;
            ro.roi_h = 1 + le16(input + 10) % sh;
            ro.roi_x = le16(input + 4) % (sw - ro.roi_w + 1);
            ro.roi_y = le16(input + 6) % (sh - ro.roi_h + 1);
            uint8_t *part = NULL;
            int32_t pw = 0, ph = 0, pwarn = 0;
            int part_st = decode(file, size, &ro, short_buf, &part, &pw, &ph, &pwarn);
            if (part_st == AUG_OK && (pw != ro.roi_w || ph != ro.roi_h)) {
                fprintf(stderr, "region %dx%d came out %dx%d\n", (int)ro.roi_w, (int)ro.roi_h,
                        (int)pw, (int)ph);
                abort();
            }
            // Bit-identical to the full decode, cropped. Only for data libjpeg decoded without
            // complaint: after a recovered-from corruption the two decodes may legitimately stop
            // or resynchronise at different places.
            if (differential && part_st == AUG_OK && full_st == AUG_OK && fwarn == 0 &&
                pwarn == 0) {
                if (fw != sw || fh != sh) {
                    fprintf(stderr, "full decode %dx%d, aug_output_size %dx%d\n", (int)fw,
                            (int)fh, (int)sw, (int)sh);
                    abort();
                }
                for (int32_t y = 0; y < ph; y++) {
                    const uint8_t *a = part + (size_t)y * (size_t)pw * 3;
                    const size_t at = (size_t)(ro.roi_y + y) * (size_t)fw + (size_t)ro.roi_x;
                    const uint8_t *b = full + at * 3;
                    if (memcmp(a, b, (size_t)pw * 3) != 0) {
                        fprintf(stderr,
                                "region %dx%d at (%d,%d) of the %dx%d image (scale 1/%d) differs "
                                "from the full decode at row %d\n",
                                (int)pw, (int)ph, (int)ro.roi_x, (int)ro.roi_y, (int)fw, (int)fh,
                                (int)o.scale_denom, (int)y);
                        abort();
                    }
                }
            }
            free(part);
        }
    }
    free(full);
    free(file);
    return 0;
}
