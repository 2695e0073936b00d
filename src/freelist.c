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

/* Safe unlinking: b's links are granule-aligned, the head has no prev, and
 * both neighbours point back at b. Aborts otherwise. */
static void prove_links(const freelist *fl, const block *b, unsigned c)
{
    const block_links *links = block_links_of(b);
    const block *next = links->next, *prev = links->prev;
    int damaged = (((uintptr_t)next | (uintptr_t)prev) & (GRANULE - 1)) != 0;
    if (!damaged)
        damaged = prev ? fl->heads[c] == b || block_links_of(prev)->next != b : fl->heads[c] != b;
    if (!damaged && next)
        damaged = block_links_of(next)->prev != b;
    if (damaged)
        report_fatal("freelist_remove", block_payload(b), "heap corruption (free-list links damaged)");
}

void freelist_remove(freelist *fl, block *b)
{
    unsigned c = freelist_class(b->size);
    prove_links(fl, b, c);
    block_links *links = block_links_of(b);
    block *next = links->next, *prev = links->prev;
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

void freelist_replace(freelist *fl, block *old, block *nb)
{
    unsigned c = freelist_class(old->size);
    if (freelist_class(nb->size) != c) {
        freelist_remove(fl, old);
        freelist_push(fl, nb);
        return;
    }
    prove_links(fl, old, c);
    block_links *links = block_links_of(nb);
    *links = *block_links_of(old);
    if (links->prev)
        block_links_of(links->prev)->next = nb;
    else
        fl->heads[c] = nb;
    if (links->next)
        block_links_of(links->next)->prev = nb;
    fl->free_bytes += block_bytes(nb);
    fl->free_bytes -= block_bytes(old);
}

block *freelist_find_fit(const freelist *fl, uint32_t g)
{
    unsigned c = first_class_from(fl, class_for_search(g));
    if (c < FREELIST_CLASSES)
        return fl->heads[c];
    /* No class guarantees a fit; a few nodes of g's own class may still hold it. */
    block *b = fl->heads[freelist_class(g)];
    for (int i = 0; b && i < LAST_CLASS_SCAN; i++, b = block_links_of(b)->next)
        if (b->size >= g)
            return b;
    return NULL;
}
