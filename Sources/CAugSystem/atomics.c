// Atomics on shared memory and the cache checksum; see aug_atomics.h for why each exists.
#include "aug_atomics.h"

#include <string.h>

int aug_atomic_cas_u32(void *word, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n((uint32_t *)word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

uint32_t aug_atomic_load_u32(const void *word) { return __atomic_load_n((const uint32_t *)word, __ATOMIC_ACQUIRE); }

void aug_atomic_store_u32(void *word, uint32_t value) { __atomic_store_n((uint32_t *)word, value, __ATOMIC_RELEASE); }

int aug_atomic_cas_u64(void *word, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n((uint64_t *)word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

uint64_t aug_atomic_add_u64(void *word, uint64_t delta) {
    return __atomic_fetch_add((uint64_t *)word, delta, __ATOMIC_SEQ_CST);
}

uint64_t aug_atomic_load_u64(const void *word) { return __atomic_load_n((const uint64_t *)word, __ATOMIC_ACQUIRE); }

static const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL, P3 = 0x165667B19E3779F9ULL;

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t round64(uint64_t acc, uint64_t input) {
    acc += input * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}

uint64_t aug_checksum64(const void *bytes, size_t length, uint64_t seed) {
    const unsigned char *p = bytes;
    uint64_t a = seed + P1 + P2, b = seed + P2, c = seed, d = seed - P1;
    size_t i = 0;
    for (; i + 32 <= length; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        a = round64(a, w[0]);
        b = round64(b, w[1]);
        c = round64(c, w[2]);
        d = round64(d, w[3]);
    }
    uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + (uint64_t)length;
    for (; i + 8 <= length; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h ^= round64(0, w);
        h = rotl(h, 27) * P1 + P3;
    }
    for (; i < length; i++) {
        h ^= (uint64_t)p[i] * P3;
        h = rotl(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}
