/* freelist.h — a bucket's segregated free lists: one doubly linked list per
 * size class, and a two-level bitmap of the non-empty classes, so that
 * finding a fit is a couple of bit scans (TLSF's idea), never a list walk. */
#ifndef WARDEN_FREELIST_H
#define WARDEN_FREELIST_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "compiler.h"

/*
 * Size classes, by granules g of the block:
 *   g < 32:  class g, exact (blocks of up to 496 bytes)
 *   g >= 32: class 32 + (log2(g) - 5) * 16 + the next 4 bits of g after the top one
 * so each power-of-two range splits into 16 classes; 464 classes cover 2^32 granules.
 *
 * Invariants:
 *   heads[c] != NULL  <=>  bit c of words[c / 64] is set
 *   words[w] != 0     <=>  bit w of summary is set
 *   every node of list c is a free block with freelist_class(size) == c
 *   free_blocks, free_bytes == count and bytes of all nodes
 */
#define FREELIST_EXACT 32u
#define FREELIST_CLASSES (FREELIST_EXACT + (32u - 5u) * 16u)
#define FREELIST_WORDS ((FREELIST_CLASSES + 63u) / 64u)

typedef struct freelist {
    uint64_t summary;               /* bit w: words[w] has a bit set */
    uint64_t words[FREELIST_WORDS]; /* bit c % 64 of word c / 64: class c non-empty */
    size_t free_blocks;             /* blocks on all lists */
    size_t free_bytes;              /* their bytes, headers included */
    block *heads[FREELIST_CLASSES]; /* first block of each class, or NULL */
} freelist;

_Static_assert(FREELIST_WORDS <= 64, "the summary word covers every bitmap word");

static inline unsigned freelist_floor_log2(uint64_t x)
{
    return 63u - bits_clz64(x);
}

/* The class a free block of g granules is kept in. */
static inline unsigned freelist_class(uint32_t g)
{
    if (g < FREELIST_EXACT)
        return g;
    unsigned top = freelist_floor_log2(g);
    unsigned sub = (g >> (top - 4)) & 15u;
    return FREELIST_EXACT + (top - 5) * 16u + sub;
}
/* Puts a free block (BLOCK_FREE already set) at the head of its class. */
void freelist_push(freelist *fl, block *b);
/* Takes a free block off its list; aborts when its links are damaged. */
void freelist_remove(freelist *fl, block *b);
/* Puts free block nb on the list in old's place, old leaving it: in place,
 * without touching the bitmaps, when nb's size is of old's class. old's
 * header must still hold the size it was listed with. */
void freelist_replace(freelist *fl, block *old, block *nb);
/* A listed free block of at least g granules (still listed), or NULL. */
block *freelist_find_fit(const freelist *fl, uint32_t g);

#endif /* WARDEN_FREELIST_H */
