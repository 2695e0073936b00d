/* integrity.h — the per-process secret that keys every header's integrity
 * value (its "seal"). A header the allocator did not write, or wrote for
 * another address, fails its seal with probability 1 - 2^-32. */
#ifndef WARDEN_INTEGRITY_H
#define WARDEN_INTEGRITY_H

#include <stdint.h>

#include "atomic.h"
#include "mix.h"

extern uint64_t integrity_secret_value;

/* Draws the secret once per process; safe to call from several threads. */
void integrity_init(void);

static inline uint64_t integrity_secret(void)
{
    return atomic_load_u64(&integrity_secret_value);
}

/* A 64-bit keyed hash of an address and two words that describe it. */
static inline uint64_t integrity_hash(const void *addr, uint64_t a, uint64_t b)
{
    uint64_t x = (uint64_t)(uintptr_t)addr ^ integrity_secret();
    x ^= a * 0x9e3779b97f4a7c15u;
    x ^= b * 0xc2b2ae3d27d4eb4fu;
    return mix64(x);
}

#endif /* WARDEN_INTEGRITY_H */
