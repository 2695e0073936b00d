/* freelist.c — segregated free lists with O(1) push, remove and fit. */
#include "freelist.h"

#include "compiler.h"
#include "report.h"

#define LAST_CLASS_SCAN 4 /* nodes of the rounded-down class tried last */

/* The first class whose every block holds g granules: g's class when that
 * class is exact or starts at g, otherwise the next one. */
static unsigned class_for_search(uint32_t g)
{
    if (g < FREELIST_EXACT)
        return g;
    uint64_t step = (uint64_t)1 << (freelist_floor_log2(g) - 4);
    uint64_t rounded = ((uint64_t)g + step - 1) & ~(step - 1);
    if (rounded > UINT32_MAX)
        return FREELIST_CLASSES;
    return freelist_class((uint32_t)rounded);
}

static void mark_class(freelist *fl, unsigned c)
{
    fl->words[c / 64] |= (uint64_t)1 << (c % 64);
    fl->summary |= (uint64_t)1 << (c / 64);
}

static void clear_class(freelist *fl, unsigned c)
{
    fl->words[c / 64] &= ~((uint64_t)1 << (c % 64));
    if (fl->words[c / 64] == 0)
        fl->summary &= ~((uint64_t)1 << (c / 64));
}

/* The first non-empty class >= c, or FREELIST_CLASSES. */
static unsigned first_class_from(const freelist *fl, unsigned c)
{
    if (c >= FREELIST_CLASSES)
        return FREELIST_CLASSES;
    unsigned w = c / 64;
    uint64_t bits = fl->words[w] & (~(uint64_t)0 << (c % 64));
    if (bits)
        return w * 64 + bits_ctz64(bits);
    uint64_t later = w + 1 < 64 ? fl->summary & (~(uint64_t)0 << (w + 1)) : 0;
    if (!later)
        return FREELIST_CLASSES;
    w = bits_ctz64(later);
    return w * 64 + bits_ctz64(fl->words[w]);
}

void freelist_push(freelist *fl, block *b)
{
    uint32_t size = block_size(b);
    unsigned c = freelist_class(size);
    block *next = fl->heads[c];
    block_links_store(b, (block_links){next, NULL});
    if (next)
        block_link_set_prev(next, b);
    else
        mark_class(fl, c);
    fl->heads[c] = b;
    fl->free_blocks++;
    fl->free_bytes += (size_t)size << GRANULE_SHIFT;
}

/* Safe unlinking: b's links are granule-aligned, the head has no prev, and
 * both neighbours point back at b. Aborts otherwise; returns the links. */
static block_links prove_links(const freelist *fl, const block *b, unsigned c)
{
    block_links l = block_links_load(b);
    int damaged = (((uintptr_t)l.next | (uintptr_t)l.prev) & (GRANULE - 1)) != 0;
    if (!damaged)
        damaged = l.prev ? fl->heads[c] == b || block_link_next(l.prev) != b : fl->heads[c] != b;
    if (!damaged && l.next)
        damaged = block_link_prev(l.next) != b;
    if (damaged)
        report_fatal("freelist_remove", block_payload(b), "heap corruption (free-list links damaged)");
    return l;
}

/* Links l's neighbours to nb in place of the node whose links l were. */
static void relink(freelist *fl, unsigned c, block_links l, block *nb)
{
    if (l.prev)
        block_link_set_next(l.prev, nb ? nb : l.next);
    else
        fl->heads[c] = nb ? nb : l.next;
    if (l.next)
        block_link_set_prev(l.next, nb ? nb : l.prev);
}

void freelist_remove(freelist *fl, block *b)
{
    uint32_t size = block_size(b);
    unsigned c = freelist_class(size);
    block_links l = prove_links(fl, b, c);
    relink(fl, c, l, NULL);
    if (!l.next && !l.prev)
        clear_class(fl, c);
    fl->free_blocks--;
    fl->free_bytes -= (size_t)size << GRANULE_SHIFT;
}

void freelist_replace(freelist *fl, block *old, block *nb)
{
    uint32_t old_size = block_size(old), new_size = block_size(nb);
    unsigned c = freelist_class(old_size);
    if (freelist_class(new_size) != c) {
        freelist_remove(fl, old);
        freelist_push(fl, nb);
        return;
    }
    block_links l = prove_links(fl, old, c);
    block_links_store(nb, l);
    relink(fl, c, l, nb);
    fl->free_bytes += (size_t)new_size << GRANULE_SHIFT;
    fl->free_bytes -= (size_t)old_size << GRANULE_SHIFT;
}

block *freelist_find_fit(const freelist *fl, uint32_t g)
{
    /* A few nodes of g's own class first: a block there that fits wastes
     * less than the head of the next class, which may be a region's
     * untouched tail (fresh pages: RSS). */
    unsigned own = freelist_class(g);
    block *b = fl->heads[own];
    if (own >= FREELIST_EXACT)
        for (int i = 0; b && i < LAST_CLASS_SCAN; i++, b = block_link_next(b))
            if (block_size(b) >= g)
                return b;
    unsigned c = first_class_from(fl, class_for_search(g));
    if (c < FREELIST_CLASSES)
        return fl->heads[c];
    return NULL;
}
