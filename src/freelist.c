/* freelist.c — segregated free lists with O(1) push, remove and fit. */
#include "freelist.h"

#include "compiler.h"
#include "report.h"

#define LAST_CLASS_SCAN 4 /* nodes of the rounded-down class tried last */

static unsigned floor_log2(uint64_t x)
{
    return 63u - bits_clz64(x);
}

unsigned freelist_class(uint32_t g)
{
    if (g < FREELIST_EXACT)
        return g;
    unsigned top = floor_log2(g);
    unsigned sub = (g >> (top - 4)) & 15u;
    return FREELIST_EXACT + (top - 5) * 16u + sub;
}

/* The first class whose every block holds g granules: g's class when that
 * class is exact or starts at g, otherwise the next one. */
static unsigned class_for_search(uint32_t g)
{
    if (g < FREELIST_EXACT)
        return g;
    uint64_t step = (uint64_t)1 << (floor_log2(g) - 4);
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
    unsigned c = freelist_class(b->size);
    block_links *links = block_links_of(b);
    links->prev = NULL;
    links->next = fl->heads[c];
    if (links->next)
        block_links_of(links->next)->prev = b;
    else
        mark_class(fl, c);
    fl->heads[c] = b;
    fl->free_blocks++;
    fl->free_bytes += block_bytes(b);
}

void freelist_remove(freelist *fl, block *b)
{
    unsigned c = freelist_class(b->size);
    block_links *links = block_links_of(b);
    block *next = links->next, *prev = links->prev;
    /* Safe unlinking: the links are granule-aligned, the head has no prev,
     * and both neighbours point back at b. */
    int damaged = (((uintptr_t)next | (uintptr_t)prev) & (GRANULE - 1)) != 0;
    if (!damaged)
        damaged = prev ? fl->heads[c] == b || block_links_of(prev)->next != b : fl->heads[c] != b;
    if (!damaged && next)
        damaged = block_links_of(next)->prev != b;
    if (damaged)
        report_fatal("freelist_remove", block_payload(b), "heap corruption (free-list links damaged)");
    if (prev)
        block_links_of(prev)->next = next;
    else
        fl->heads[c] = next;
    if (next)
        block_links_of(next)->prev = prev;
    else if (!prev)
        clear_class(fl, c);
    fl->free_blocks--;
    fl->free_bytes -= block_bytes(b);
}

block *freelist_take_fit(freelist *fl, uint32_t g)
{
    unsigned c = first_class_from(fl, class_for_search(g));
    block *found = c < FREELIST_CLASSES ? fl->heads[c] : NULL;
    if (!found) {
        /* No class guarantees a fit; a few nodes of g's own class may still hold it. */
        unsigned own = freelist_class(g);
        block *b = fl->heads[own];
        for (int i = 0; b && i < LAST_CLASS_SCAN && !found; i++, b = block_links_of(b)->next)
            if (b->size >= g)
                found = b;
        if (!found)
            return NULL;
    }
    freelist_remove(fl, found);
    return found;
}
