/* common.h — what every test program shares, whatever allocator it runs
 * on (warden's heaps in tests/, libwarden-malloc in tests/malloc/, the
 * bump arena on wasm32-wasi): a seeded random source. */
#ifndef WARDEN_TESTS_COMMON_H
#define WARDEN_TESTS_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* xorshift64*: reproducible streams for stress tests. */
typedef struct rng {
    uint64_t state;
} rng;
static inline uint64_t rng_next(rng *r)
{
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 0x2545f4914f6cdd1dull;
}
static inline size_t rng_below(rng *r, size_t n)
{
    return n ? (size_t)(rng_next(r) % n) : 0;
}

#endif /* WARDEN_TESTS_COMMON_H */
