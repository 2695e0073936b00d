/* integrity.h — the per-process secret that keys every header's integrity
 * value (its "seal"). A header the allocator did not write, or wrote for
 * another address, fails its seal with probability 1 - 2^-32. */
#ifndef WARDEN_INTEGRITY_H
#define WARDEN_INTEGRITY_H

#include <stdint.h>

#include "atomic.h"

extern uint64_t integrity_secret_value;
extern uint32_t integrity_cache_key_value; /* derived from the secret; never 0 */

/* Draws the secret once per process; safe to call from several threads. */
void integrity_init(void);

static inline uint64_t integrity_secret(void)
{
    return atomic_load_u64(&integrity_secret_value);
}

/* The second key: a cached block's seal is its live seal xor this. */
static inline uint32_t integrity_cache_key(void)
{
    return atomic_load_u32(&integrity_cache_key_value);
}

/* A 64-bit keyed hash of an address and a word that describes it: two
 * dependent multiplies, with every input bit reaching the top 32 bits. */
static inline uint64_t integrity_hash(const void *addr, uint64_t word)
{
    uint64_t x = ((uint64_t)(uintptr_t)addr ^ integrity_secret()) + word * 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9u;
    return x ^ (x >> 29);
}

#endif /* WARDEN_INTEGRITY_H */
