// A small SHA-256 in C for the tests: comparing decoded pixels (hundreds of MB over the
// conformance set) with Pillow's checksums is too slow in an unoptimised Swift test build.
#ifndef CTEST_SHA256_H
#define CTEST_SHA256_H
#include <stddef.h>
#include <stdint.h>

/// Writes the SHA-256 of `data` as 64 lowercase hex characters plus NUL into `hex` (65 bytes).
void ctest_sha256_hex(const uint8_t *data, size_t size, char *hex);

#endif
