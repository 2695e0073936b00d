/* mix.h — integer mixing shared by the secret fallback and the header
 * integrity values: the splitmix64 finalizer, which spreads every input bit
 * over every output bit. */
#ifndef WARDEN_MIX_H
#define WARDEN_MIX_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Fills buf from a weak seed: the fallback when the OS has no randomness. */
static inline void mix_fill(void *buf, size_t len, uint64_t seed)
{
    unsigned char *out = buf;
    for (size_t i = 0; i < len; i++) {
        seed += 0x9e3779b97f4a7c15u;
        out[i] = (unsigned char)mix64(seed);
    }
}

#endif /* WARDEN_MIX_H */
