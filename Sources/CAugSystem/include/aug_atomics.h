// aug_atomics.h — atomic operations on shared memory, and a fast checksum, for the decoded cache.
//
// Why this exists: the decoded cache's entry table lives in a memfd mapped by the loader and all
// its workers, so its states must change atomically *across processes*. Swift's own atomics work
// on values Swift owns; these act on a raw address in the shared mapping (lock-free 32/64-bit
// operations on aligned words are address-free, so they are correct across processes). The
// checksum guards entries of the disk cache, which is untrusted input; it runs over every byte of
// an entry, so it is written in C to be fast in debug builds too.
#ifndef AUG_ATOMICS_H
#define AUG_ATOMICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// Compare-and-swap on a shared, 4-byte-aligned word (sequentially consistent). Returns 1 when
/// `*word` was `expected` and is now `desired`, 0 otherwise.
int aug_atomic_cas_u32(void *word, uint32_t expected, uint32_t desired);

/// Acquire load of a shared 32-bit word: whatever was written before the matching release store is visible.
uint32_t aug_atomic_load_u32(const void *word);

/// Release store to a shared 32-bit word: everything written before it is visible to an acquire load that sees it.
void aug_atomic_store_u32(void *word, uint32_t value);

/// Compare-and-swap on a shared, 8-byte-aligned 64-bit word (sequentially consistent); 1 on success.
int aug_atomic_cas_u64(void *word, uint64_t expected, uint64_t desired);

/// Atomic add on a shared 8-byte-aligned word; returns the value before the add.
uint64_t aug_atomic_add_u64(void *word, uint64_t delta);

/// Acquire load of a shared 64-bit word.
uint64_t aug_atomic_load_u64(const void *word);

/// A 64-bit checksum of `length` bytes (a multiply-rotate hash over 8-byte words, four lanes),
/// seeded: fast enough to check every byte of a cache entry on each read (~10 GB/s optimised).
uint64_t aug_checksum64(const void *_Nullable bytes, size_t length, uint64_t seed);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
