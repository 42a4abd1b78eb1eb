// version.c — the release version, and the libm floor of a statically linked engine.
//
// Why this exists: augload has one version, written once in Sources/Python/augload/VERSION (a
// line of text the Python package reads at import and setuptools reads for the wheel's name).
// The engine embeds the same file at compile time (`#embed`, which the compiler lists among the
// file's dependencies, so editing VERSION rebuilds this file), so `augload --version`,
// `augload.__version__` and the wheel cannot disagree.
#include "aug_system.h"

#include <math.h>

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc23-extensions"
static const char version_file[] = {
#embed "../Python/augload/VERSION"
    , 0};
#pragma clang diagnostic pop

const char *aug_version(void) { return version_file; }

// The wheel's engine links the Swift runtime statically. Its Glibc overlay (libswiftGlibc.a)
// references hypotf, which glibc 2.35 re-versioned (hypotf@GLIBC_2.35): that one reference, which
// augload never calls, would raise the wheel's tag from manylinux_2_34 to manylinux_2_35 and shut
// out RHEL 9, Amazon Linux 2023 and Ubuntu 22.04. Defining hypotf here resolves the reference at
// link time. It computes what glibc's own float hypot does: in double, where neither the squares
// nor their sum can overflow or lose a bit of a float's precision.
float hypotf(float x, float y) {
    if (isinf(x) || isinf(y)) return INFINITY;
    double dx = x, dy = y;
    return (float)sqrt(dx * dx + dy * dy);
}
