// glibc_floor.c — what keeps a statically linked engine's glibc floor at 2.34.
//
// Why this exists: the wheel's engine links the Swift runtime statically. Its Glibc overlay (libswiftGlibc.a)
// references hypotf, which glibc 2.35 re-versioned (hypotf@GLIBC_2.35): that one reference, which
// augload never calls, would raise the wheel's tag from manylinux_2_34 to manylinux_2_35 and shut
// out RHEL 9, Amazon Linux 2023 and Ubuntu 22.04. Defining hypotf here resolves the reference at
// link time. It computes what glibc's own float hypot does: in double, where neither the squares
// nor their sum can overflow or lose a bit of a float's precision.
#include <math.h>

float hypotf(float x, float y) {
    if (isinf(x) || isinf(y)) return INFINITY;
    double dx = x, dy = y;
    return (float)sqrt(dx * dx + dy * dy);
}
