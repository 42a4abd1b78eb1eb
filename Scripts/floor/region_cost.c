// region_cost.c DIR EXT MODE N: the CPU a region decode (aug_decode_rgb8 with the region a crop
// needs) costs against a full decode of the same files — the first N *.EXT files under DIR, MODE
// `random` (the benchmark's shorter side 256 + random 224 crop) or `resized` (RandomResizedCrop,
// with the DCT scale the pipeline would choose for JPEGs). Process CPU time, best of ROUNDS
// interleaved rounds, so the ratio holds on a busy machine. Built against another checkout's
// Sources/CAugCodecs it compares two versions of the codecs (how the cost of reading every file to
// its end was measured; see README, Performance):
//   clang -O2 -I Sources/CAugCodecs/include -I Sources/CAugCodecs Scripts/floor/region_cost.c \
//       Sources/CAugCodecs/*.c -o /tmp/region_cost -ljpeg -lpng -lm
//   /tmp/region_cost peers-data/ds/jpeg jpg random 300
#include "aug_codecs.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define OUT 224
#define ROUNDS 9
static double now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double urand(void) { return rand() / (RAND_MAX + 1.0); }
int main(int argc, char **argv) {
    const char *dir = argv[1], *ext = argv[2], *mode = argv[3];
    int limit = atoi(argv[4]);
    char command[1024], path[1024];
    snprintf(command, sizeof command, "find '%s' -name '*.%s' | sort | head -n %d", dir, ext, limit);
    FILE *list = popen(command, "r");
    unsigned char **data = calloc(limit, sizeof *data); size_t *size = calloc(limit, sizeof *size);
    int n = 0;
    while (n < limit && fgets(path, sizeof path, list)) {
        path[strcspn(path, "\n")] = 0; FILE *f = fopen(path, "rb"); fseek(f, 0, SEEK_END); size[n] = ftell(f); fseek(f, 0, SEEK_SET);
        data[n] = malloc(size[n]); if (fread(data[n], 1, size[n], f) == size[n]) n++; fclose(f);
    }
    pclose(list);
    size_t cap = 4096 * 4096 * 3; uint8_t *buf = malloc(cap);
    double best[2] = {1e9, 1e9};
    for (int rnd = 0; rnd < ROUNDS; rnd++) {
        srand(1);
        for (int m = 0; m < 2; m++) {
            double t0 = now();
            for (int i = 0; i < n; i++) {
                aug_header h; aug_error e; aug_decode_options o; memset(&o, 0, sizeof o);
                if (aug_read_header(data[i], size[i], NULL, &h, &e) != AUG_OK) continue;
                if (m == 1) {
                    double x0, y0, cw, ch;
                    if (mode[0] == 'r' && mode[1] == 'a') {  // random: shorter side 256, crop 224
                        double s = (double)(h.width < h.height ? h.width : h.height) / 256;
                        cw = ch = OUT * s;
                        x0 = floor(urand() * (h.width - cw)); y0 = floor(urand() * (h.height - ch));
                    } else {  // resized: RandomResizedCrop
                        double area = (double)h.width * h.height; cw = h.width; ch = h.height; x0 = y0 = 0;
                        for (int t = 0; t < 10; t++) {
                            double a = area * (0.08 + urand() * 0.92);
                            double r = exp(log(3.0 / 4) + urand() * (log(4.0 / 3) - log(3.0 / 4)));
                            double w = round(sqrt(a * r)), hh = round(sqrt(a / r));
                            if (w > 0 && hh > 0 && w <= h.width && hh <= h.height) { cw = w; ch = hh; x0 = floor(urand() * (h.width - w + 1)); y0 = floor(urand() * (h.height - hh + 1)); break; }
                        }
                    }
                    int d = 1;
                    if (ext[0] == 'j') for (int k = 8; k >= 2; k /= 2) if (cw / OUT >= k && ch / OUT >= k) { d = k; break; }
                    o.scale_denom = d;
                    int W = (h.width + d - 1) / d, H = (h.height + d - 1) / d;
                    int rx = (int)(x0 / d) - 2, ry = (int)(y0 / d) - 2, rx1 = (int)ceil((x0 + cw) / d) + 2, ry1 = (int)ceil((y0 + ch) / d) + 2;
                    if (rx < 0) rx = 0; if (ry < 0) ry = 0; if (rx1 > W) rx1 = W; if (ry1 > H) ry1 = H;
                    o.roi_x = rx; o.roi_y = ry; o.roi_w = rx1 - rx; o.roi_h = ry1 - ry;
                }
                int32_t w, hh;
                if (aug_decode_rgb8(data[i], size[i], &o, buf, cap, &w, &hh, &e) != AUG_OK) { fprintf(stderr, "%d: %s\n", i, e.message); return 1; }
            }
            double t = (now() - t0) / n * 1e3;
            if (t < best[m]) best[m] = t;
        }
    }
    printf("%s %s %d files: full %.3f ms/img, region %.3f ms/img, region/full %.3f\n", ext, mode, n, best[0], best[1], best[1] / best[0]);
    return 0;
}
