// pipeline_floor.c: the least CPU augload's benchmark pipeline can cost per image, against a full
// decode of the same files, with no Swift, no file I/O and no processes: only libjpeg-turbo and
// augload's own C kernels (what `augload bench` calls the ceiling and the pipeline's fixed cost).
//
// For each file, one random crop of the benchmark pipeline (resize the shorter side to 256, random
// crop 224, flip, noise, float32 NCHW) is realised the way Pipeline does it: the resampling taps
// of the crop decide a source region, only that region is decoded (aug_decode_rgb8), then the
// vertical and horizontal passes, the noise and the float conversion run. Four measurements,
// interleaved round by round so the machine's drifting speed hits all of them alike; each is the
// best round of ROUNDS:
//   full decode          plain libjpeg, whole image to RGB (the decode-only ceiling)
//   region decode        what the pipeline asks libjpeg-turbo for
//   region + kernels     the whole C path of one image
//   kernels              the augmentation alone
// Build and run: Scripts/floor/pipeline_floor.sh [DIR] [FILES]
#include "aug_codecs.h"
#include "aug_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jpeglib.h>

#define OUT 224
#define ROUNDS 15

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Pillow's bilinear taps for outputs 0..<OUT over the input span [in0, in1), 14-bit weights (the
// same formula as AugloadCore's Resampler).
static int make_axis(double in0, double in1, int in_size, int32_t *starts, int32_t *counts, int32_t *weights) {
    double scale = (in1 - in0) / OUT, support = scale > 1 ? scale : 1;
    int taps = (int)ceil(support) * 2 + 1, ksize = taps + 1;
    memset(weights, 0, sizeof(int32_t) * OUT * (size_t)ksize);
    for (int x = 0; x < OUT; x++) {
        double center = in0 + (x + 0.5) * scale, k[64], total = 0;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in_size) hi = in_size;
        int n = hi - lo > taps ? taps : hi - lo;
        for (int i = 0; i < n; i++) {
            double t = fabs((i + lo - center + 0.5) / support);
            k[i] = t < 1 ? 1 - t : 0;
            total += k[i];
        }
        for (int i = 0; i < n; i++) weights[x * ksize + i] = (int32_t)(k[i] / total * (1 << AUG_RESAMPLE_PRECISION) + 0.5);
        starts[x] = lo;
        counts[x] = n;
    }
    return ksize;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "peers-data/ds/jpeg";
    int limit = argc > 2 ? atoi(argv[2]) : 300;
    char command[1024], path[1024];
    snprintf(command, sizeof command, "find '%s' -name '*.jpg' | sort | head -n %d", dir, limit);
    FILE *list = popen(command, "r");
    unsigned char **data = calloc((size_t)limit, sizeof *data);
    size_t *size = calloc((size_t)limit, sizeof *size);
    int n = 0;
    while (list && n < limit && fgets(path, sizeof path, list)) {
        path[strcspn(path, "\n")] = 0;
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        size[n] = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        data[n] = malloc(size[n]);
        if (fread(data[n], 1, size[n], f) == size[n]) n++;
        fclose(f);
    }
    if (list) pclose(list);
    if (n == 0) {
        fprintf(stderr, "no JPEGs under %s\n", dir);
        return 1;
    }
    size_t cap = 8192 * 8192 * 3;
    uint8_t *region = malloc(cap), *tmp = malloc(cap), *rgb = malloc(OUT * OUT * 3);
    float *batch = malloc(sizeof(float) * 3 * OUT * OUT), noise[3 * OUT], table[AUG_NOISE_TABLE_SIZE];
    // Any values time the same (the kernel indexes the table by hash); augload's are normal quantiles.
    for (int i = 0; i < AUG_NOISE_TABLE_SIZE; i++) table[i] = (float)(i - AUG_NOISE_TABLE_SIZE / 2) / 700.0f;
    const float scale[3] = {1 / 255.0f, 1 / 255.0f, 1 / 255.0f}, bias[3] = {0, 0, 0}, amp[3] = {0.05f, 0.05f, 0.05f};
    static int32_t hs[OUT], hc[OUT], hw[OUT * 64], vs[OUT], vc[OUT], vw[OUT * 64];
    const char *names[4] = {"full decode (plain libjpeg)", "region decode", "region decode + kernels", "kernels only"};
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    struct jpeg_decompress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&c);
    srand(1);
    for (int round = 0; round < ROUNDS; round++) {
        for (int m = 0; m < 4; m++) {
            double kernels = 0, t0 = now();
            for (int i = 0; i < n; i++) {
                if (m == 0) {
                    jpeg_mem_src(&c, data[i], (unsigned long)size[i]);
                    jpeg_read_header(&c, TRUE);
                    jpeg_start_decompress(&c);
                    JSAMPROW row = region + 8;
                    while (c.output_scanline < c.output_height) jpeg_read_scanlines(&c, &row, 1);
                    jpeg_finish_decompress(&c);
                    continue;
                }
                aug_header h;
                aug_error e;
                if (aug_read_header(data[i], size[i], NULL, &h, &e) != AUG_OK) continue;
                // Resize the shorter side to 256, then a random 224 crop, mapped back to the source.
                double s = (double)(h.width < h.height ? h.width : h.height) / 256;
                int rw = h.width < h.height ? 256 : (int)(h.width / s + 0.5);
                int rh = h.width < h.height ? (int)(h.height / s + 0.5) : 256;
                int cx = rand() % (rw - OUT + 1), cy = rand() % (rh - OUT + 1);
                double sx = (double)h.width / rw, sy = (double)h.height / rh;
                int kh = make_axis(cx * sx, (cx + OUT) * sx, h.width, hs, hc, hw);
                int kv = make_axis(cy * sy, (cy + OUT) * sy, h.height, vs, vc, vw);
                aug_decode_options o;
                memset(&o, 0, sizeof o);
                o.roi_x = hs[0];
                o.roi_w = hs[OUT - 1] + hc[OUT - 1] - hs[0];
                o.roi_y = vs[0];
                o.roi_h = vs[OUT - 1] + vc[OUT - 1] - vs[0];
                int32_t w, hh;
                if (m != 3 && aug_decode_rgb8(data[i], size[i], &o, region, cap, &w, &hh, &e) != AUG_OK) {
                    fprintf(stderr, "file %d: %s\n", i, e.message);
                    return 1;
                }
                if (m >= 2) {
                    double k0 = now();
                    ptrdiff_t stride = (ptrdiff_t)o.roi_w * 3;
                    aug_axis va = {vs, vc, vw, kv, OUT, AUG_RESAMPLE_PRECISION};
                    aug_axis ha = {hs, hc, hw, kh, OUT, AUG_RESAMPLE_PRECISION};
                    aug_resample_vertical(region, stride, o.roi_y, (size_t)stride, va, tmp, stride);
                    aug_resample_horizontal(tmp, stride, o.roi_x, tmp + OUT * stride, OUT, ha, rgb, OUT * 3);
                    for (int y = 0; y < OUT; y++) {
                        aug_noise_fill(table, 0x9E3779B97F4A7C15ull * (uint64_t)(y + 1) + (uint64_t)i, noise, 3 * OUT);
                        aug_emit_row_f32(rgb + y * OUT * 3, OUT, i & 1, scale, bias, noise, amp, batch + y * OUT,
                                         OUT * OUT, 1);
                    }
                    kernels += now() - k0;
                }
            }
            double t = (m == 3 ? kernels : now() - t0) / n * 1e3;
            if (t < best[m]) best[m] = t;
        }
    }
    jpeg_destroy_decompress(&c);
    printf("%d files, best of %d interleaved rounds, kernels: %s\n", n, ROUNDS,
           aug_kernels_simd_level() ? "AVX2" : "portable");
    for (int m = 0; m < 4; m++) printf("%-28s %.3f ms/img  %.2f x full decode\n", names[m], best[m], best[m] / best[0]);
    return 0;
}
