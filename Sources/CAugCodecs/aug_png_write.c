// aug_png_write.c — writes packed RGB8 pixels as an 8-bit RGB PNG file through libpng.
// Any failure leaves no file behind.
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L  // strerror_r (the thread-safe strerror)
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <png.h>

#include "aug_internal.h"

typedef struct png_wctx {
    aug_error *err;
    const char *path;
} png_wctx;

// Removes the failed output, but only if it is a regular file: never unlink a device, FIFO or
// similar node the caller pointed us at (e.g. /dev/full).
static void remove_partial(FILE *fp, const char *path) {
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) remove(path);
}

static void errno_text(int e, char *buf, size_t n) {
    buf[0] = '\0';
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *s = strerror_r(e, buf, n);
    if (s != buf) snprintf(buf, n, "%s", s);
#else
    if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "errno %d", e);
#endif
}

static void on_write_error(png_structp png, png_const_charp msg) {
    png_wctx *c = (png_wctx *)png_get_error_ptr(png);
    const char *m = msg ? msg : "unknown error";
    if (strstr(m, "memory") != NULL || strstr(m, "Out of Memory") != NULL) {
        aug_fail(c->err, AUG_ERR_NOMEM, "out of memory writing PNG %s (%s)", c->path, m);
    } else if (strstr(m, "Write Error") != NULL) {
        char et[96];
        errno_text(errno, et, sizeof et);
        aug_fail(c->err, AUG_ERR_IO, "cannot write PNG %s: %s", c->path, et);
    } else {
        aug_fail(c->err, AUG_ERR_IO, "cannot write PNG %s: %s", c->path, m);
    }
    png_longjmp(png, 1);
}

static void on_write_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

int aug_write_png_rgb8(const char *path, const uint8_t *pixels, int32_t width, int32_t height,
                       size_t stride, aug_error *err) {
    aug_clear_error(err);
    if (width <= 0 || height <= 0 || width > 0x7fffffff / 3)
        return aug_fail(err, AUG_ERR_ARGUMENT, "invalid PNG size %dx%d", (int)width, (int)height);
    if (stride < (size_t)width * 3)
        return aug_fail(err, AUG_ERR_ARGUMENT, "row stride %zu is less than width*3 = %zu", stride,
                        (size_t)width * 3);
    if (pixels == NULL || path == NULL)
        return aug_fail(err, AUG_ERR_ARGUMENT, "no pixels or no path");

    png_wctx c = {err, path};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_write_error,
                                              on_write_warning);
    if (png == NULL) return aug_fail(err, AUG_ERR_NOMEM, "out of memory creating PNG writer");
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        return aug_fail(err, AUG_ERR_NOMEM, "out of memory creating PNG writer");
    }
    FILE *volatile fp = fopen(path, "wb");
    if (fp == NULL) {
        char et[96];
        errno_text(errno, et, sizeof et);
        png_destroy_write_struct(&png, &info);
        return aug_fail(err, AUG_ERR_IO, "cannot create %s: %s", path, et);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        remove_partial(fp, path);
        fclose(fp);
        return err->status;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int32_t y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);

    // Flush before closing so a late write error (disk full) is still reported and cleaned up.
    int failed = fflush(fp) != 0 || ferror(fp);
    int e = errno;
    if (failed) remove_partial(fp, path);
    if (fclose(fp) != 0 && !failed) {
        failed = 1;
        e = errno;
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) remove(path);
    }
    if (failed) {
        char et[96];
        errno_text(e, et, sizeof et);
        return aug_fail(err, AUG_ERR_IO, "cannot write PNG %s: %s", path, et);
    }
    return AUG_OK;
}
