/* canary.h — the bytes around a debug block and the junk inside it: named
 * patterns, filled and verified here. A canary starts at the exact
 * requested size (byte-precise overflows) and runs to the end of the heap
 * block; eight more sit right before the block's first byte (underflows). */
#ifndef WARDEN_CANARY_H
#define WARDEN_CANARY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CANARY_TAIL 0xcau  /* after the requested bytes */
#define CANARY_HEAD 0xcfu  /* the 8 bytes before the block */
#define JUNK_ALLOC 0xbeu   /* a new block, junk_alloc=1: "never written" */
#define JUNK_FREE 0xdfu    /* a freed block, junk_free=1: "freed" */
#define CANARY_HEAD_BYTES 8u

static inline void canary_fill(unsigned char *from, size_t n, unsigned byte)
{
    memset(from, (int)byte, n);
}

/* The index of the first of the n bytes at from that is not byte, or n. */
static inline size_t canary_first_bad(const unsigned char *from, size_t n, unsigned byte)
{
    size_t i = 0;
    uint64_t want = 0x0101010101010101u * (uint8_t)byte;
    for (; i < n && ((uintptr_t)(from + i) & 7u); i++)
        if (from[i] != byte)
            return i;
    for (; i + 64 <= n; i += 64) { /* a line at a time, one branch: the verify runs at the memory's speed */
        uint64_t d = 0;
        for (int k = 0; k < 8; k++) {
            uint64_t w;
            memcpy(&w, from + i + 8 * k, 8);
            d |= w ^ want;
        }
        if (d)
            break;
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, from + i, 8);
        if (w != want)
            break;
    }
    for (; i < n; i++)
        if (from[i] != byte)
            return i;
    return n;
}

/* How many of the n bytes at from are not byte. */
static inline size_t canary_count_bad(const unsigned char *from, size_t n, unsigned byte)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += from[i] != byte;
    return bad;
}

#endif /* WARDEN_CANARY_H */
