/* bucket.c — blocks within a bucket: take a fit or map a region, split off
 * the tail, coalesce both neighbours on free, grow in place into a free
 * next block, return regions that become empty. Every header is proved
 * (seal, boundary tag) before it is trusted; a broken one ends in a walk of
 * its region that names the first damaged header. */
#include "bucket.h"

#include "fault.h"
#include "report.h"

void bucket_init(bucket *b, const void *heap, unsigned index, size_t limit, size_t region_size,
                 int locked, size_t quarantine_limit)
{
    *b = (bucket){.locked = locked, .index = index, .heap = heap, .limit = limit,
                  .region_size = region_size, .quarantine_limit = quarantine_limit,
                  .empty_reserve = BUCKET_EMPTY_RESERVE};
    platform_lock_init(&b->lock);
}

void bucket_release_all(bucket *b)
{
    region *r = b->regions;
    while (r) {
        region *next = r->next;
        region_unmap(r);
        r = next;
    }
    platform_lock_destroy(&b->lock);
    b->regions = NULL;
    b->region_count = b->mapped_bytes = b->empty_regions = 0;
}

/* ---- proving headers ------------------------------------------------------ */

/* Walks r's blocks and reports the first header that is damaged: a bad
 * seal, an impossible size, or a boundary tag that disagrees. */
static _Noreturn void report_damage(const region *r, const void *ptr, const bucket_site *site)
{
    const block *fence = region_fence(r);
    const block *x = region_first(r);
    uint32_t prev_size = 0;
    for (; x < fence; prev_size = block_size(x), x = block_next(x))
        if (!block_is_sealed(x) || block_size(x) < BLOCK_MIN_GRANULES || block_next(x) > fence ||
            block_prev_size(x) != prev_size)
            break;
    if (x == fence && block_is_sealed(x) && block_size(x) == 0 && block_prev_size(x) == prev_size)
        report_fatal(site->op, ptr, "heap corruption (a header changed under the allocator)");
    if (x == block_of_payload(ptr))
        report_fatal(site->op, ptr, "heap corruption (block header overwritten)");
    report_fatal(site->op, ptr, "heap corruption (header of block %p overwritten)", block_payload(x));
}

/* A header that failed its proof: name the damage in its region. */
static _Noreturn void report_bad_header(const block *near, const void *ptr, const bucket_site *site)
{
    const region *r = region_of(near);
    if (r && region_is_sealed(r))
        report_damage(r, ptr, site);
    report_fatal(site->op, ptr, "heap corruption (header of block %p overwritten)", block_payload(near));
}

static inline void prove(const block *b, const void *ptr, const bucket_site *site)
{
    if (!block_is_sealed(b))
        report_bad_header(b, ptr, site);
}

/* The block after blk, proved: sealed, and its tag names blk's size. */
static inline block *next_proved(const block *blk, const void *ptr, const bucket_site *site)
{
    block *next = block_next(blk);
    if (!block_is_sealed(next) || block_prev_size(next) != block_size(blk))
        report_bad_header(next, ptr, site);
    return next;
}

/* The block before blk (its prev_size != 0) in region r, proved the same
 * way; a tag pointing before the region's first block is damage too (and
 * is never read through). */
static inline block *prev_proved(const region *r, const block *blk, const void *ptr, const bucket_site *site)
{
    block *prev = block_prev(blk);
    if (prev < region_first(r) || !block_is_sealed(prev) || block_size(prev) != block_prev_size(blk))
        report_bad_header(blk, ptr, site);
    return prev;
}

/* ---- regions ---------------------------------------------------------- */

/* Maps a new region for at least g granules; returns its one free block. */
static block *bucket_grow(bucket *b, uint32_t g)
{
    size_t size = region_size_for(g, b->region_size);
    region *r = size ? region_map(b, b->heap, size) : NULL;
    if (!r)
        return NULL;
    r->next = b->regions;
    if (r->next)
        r->next->prev = r;
    b->regions = r;
    b->region_count++;
    b->mapped_bytes += size;
    return region_first(r);
}

static void bucket_release_region(bucket *b, region *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        b->regions = r->next;
    if (r->next)
        r->next->prev = r->prev;
    b->region_count--;
    b->mapped_bytes -= r->size;
    region_unmap(r);
}

/* ---- splitting ---------------------------------------------------------- */

/* Cuts live blk down to g granules when the rest can be a block of its own;
 * the rest merges with next (the proved block after blk) if that is free,
 * and goes on the free list. */
static void block_split_tail(bucket *b, block *blk, block *next, uint32_t g, const bucket_site *site)
{
    uint32_t rest = block_size(blk) - g;
    if (rest < BLOCK_MIN_GRANULES)
        return;
    block_set_size(blk, g);
    block *tail = block_next(blk);
    if (block_is_free(next)) {
        freelist_remove(&b->free, next);
        rest += block_size(next);
        next = block_next(next);
        prove(next, block_payload(tail), site);
    }
    block_write(tail, rest, g, BLOCK_FREE);
    block_set_prev_size(next, rest);
    freelist_push(&b->free, tail);
}

/* Cuts the first front granules off free blk (whose next is proved) as a
 * free block of their own; returns the block that starts after them. */
static block *block_split_front(bucket *b, block *blk, block *next, uint32_t front)
{
    block *rest = (block *)((char *)blk + ((size_t)front << GRANULE_SHIFT));
    block_write(rest, block_size(blk) - front, front, BLOCK_FREE);
    block_set_prev_size(next, block_size(rest));
    block_set_size(blk, front);
    freelist_push(&b->free, blk);
    return rest;
}

/* ---- allocation --------------------------------------------------------- */

/* Hands out listed (or, when listed is 0, unlisted) free blk as a block of
 * g granules for a request of size bytes; a rest large enough becomes a
 * free block in blk's place. */
static void block_hand_out(bucket *b, block *blk, block *next, uint32_t g, int listed, size_t size)
{
    uint32_t rest = block_size(blk) - g;
    if (rest < BLOCK_MIN_GRANULES) {
        if (listed)
            freelist_remove(&b->free, blk);
        block_set_flags(blk, block_live_flags(block_usable(blk), size));
        return;
    }
    block *tail = (block *)((char *)blk + ((size_t)g << GRANULE_SHIFT));
    block_write(tail, rest + FAULT(split_overrun), g, BLOCK_FREE);
    block_set_prev_size(next, rest);
    if (listed)
        freelist_replace(&b->free, blk, tail); /* reads blk's old size: before the rewrite */
    else
        freelist_push(&b->free, tail);
    block_write(blk, g, block_prev_size(blk), block_live_flags(((size_t)g << GRANULE_SHIFT) - BLOCK_HEADER, size));
}

void *bucket_alloc(bucket *b, size_t size, size_t alignment, const bucket_site *site)
{
    uint32_t g = block_granules_for(size);
    uint64_t want = g;
    if (alignment > GRANULE) /* room to slide the payload to the boundary, front rest >= min */
        want += (alignment >> GRANULE_SHIFT) + 1;
    if (want > BLOCK_MAX_GRANULES)
        return NULL;
    block *blk = freelist_find_fit(&b->free, (uint32_t)want);
    int listed = blk != NULL;
    if (!blk && !(blk = bucket_grow(b, (uint32_t)want)))
        return NULL;
    prove(blk, block_payload(blk), site);
    block *next = block_next(blk);
    if (listed && block_prev_size(blk) == 0 && block_size(next) == 0) /* a kept empty region goes back in use */
        b->empty_regions--;
    if (alignment > GRANULE) {
        uintptr_t payload = (uintptr_t)block_payload(blk);
        uintptr_t aligned = (payload + alignment - 1) & ~(uintptr_t)(alignment - 1);
        if (aligned != payload && aligned - payload < BLOCK_MIN_GRANULES * GRANULE)
            aligned += alignment;
        if (aligned != payload) {
            if (listed)
                freelist_remove(&b->free, blk);
            listed = 0;
            blk = block_split_front(b, blk, next, (uint32_t)((aligned - payload) >> GRANULE_SHIFT));
        }
    }
    block_hand_out(b, blk, next, g, listed, size);
    b->live_blocks++;
    b->live_bytes += block_usable(blk);
    san_chunk_alloc(b->heap, block_payload(blk), size, 0);
    return block_payload(blk);
}

/* ---- finding the block of a user pointer --------------------------------- */

block *bucket_block_of(region *r, const void *ptr, const bucket_site *site)
{
    if ((const char *)ptr < (char *)block_payload(region_first(r)) ||
        (const char *)ptr >= (char *)region_fence(r))
        report_fatal(site->op, ptr, "%s (not the start of a block)", site->foreign);
    block *blk = block_of_payload(ptr);
    if (!block_is_sealed(blk)) {
        /* Damage, or a pointer into the middle of a block: the walk tells. */
        const block *x = region_first(r);
        while (x < blk && block_is_sealed(x) && block_size(x) >= BLOCK_MIN_GRANULES)
            x = block_next(x);
        if (x == blk || x < blk)
            report_damage(r, ptr, site);
        report_fatal(site->op, ptr, "%s (not the start of a block)", site->foreign);
    }
    if (block_flags(blk) & BLOCK_STATE) /* free, or freed and held in quarantine */
        report_fatal(site->op, ptr, "%s", site->freed);
    return blk;
}

/* ---- free --------------------------------------------------------------- */

/* Gives blk (live or quarantined) back for reuse: merge previous, merge
 * next, insert, or return the region it empties. */
static void bucket_release(bucket *b, region *r, block *blk, const bucket_site *site)
{
    const void *ptr = block_payload(blk);
    block *next = next_proved(blk, ptr, site);
    block *start = blk;
    uint32_t size = block_size(blk);
    if (block_prev_size(blk)) {
        block *prev = prev_proved(r, blk, ptr, site);
        if (block_is_free(prev) && !FAULT(coalesce_prev)) {
            freelist_remove(&b->free, prev);
            /* blk's header goes stale inside prev: mark it, so a second free
             * of the same pointer still reads "freed". */
            block_set_flags(blk, BLOCK_FREE);
            start = prev;
            size += block_size(prev);
        }
    }
    block *merged_next = NULL; /* still listed: start takes its place */
    if (block_is_free(next) && !FAULT(coalesce_next)) {
        merged_next = next;
        size += block_size(next);
        next = block_next(next);
        prove(next, ptr, site);
    }
    /* Empty region: the merged block starts at its first block (known from r,
     * never from a tag that could be damaged) and ends at its fence. */
    if (start == region_first(r) && block_size(next) == 0) {
        if (b->empty_regions >= b->empty_reserve) {
            if (merged_next)
                freelist_remove(&b->free, merged_next);
            bucket_release_region(b, r);
            return;
        }
        b->empty_regions++;
    }
    block_write(start, size, block_prev_size(start), BLOCK_FREE);
    block_set_prev_size(next, size);
    if (merged_next)
        freelist_replace(&b->free, merged_next, start);
    else if (!FAULT(freelist_drop))
        freelist_push(&b->free, start);
}

/* Holds blk back from reuse, oldest first out, so that a use after free
 * still touches freed (poisoned) memory when it happens. */
static void bucket_quarantine(bucket *b, block *blk, const bucket_site *site)
{
    size_t usable = block_usable(blk);
    block_set_flags(blk, BLOCK_QUARANTINED);
    block_links_store(blk, (block_links){NULL, NULL});
    if (b->quarantine_tail)
        block_link_set_next(b->quarantine_tail, blk);
    else
        b->quarantine_head = blk;
    b->quarantine_tail = blk;
    b->quarantine_blocks++;
    b->quarantine_bytes += usable;
    while (b->quarantine_bytes > b->quarantine_limit) {
        block *oldest = b->quarantine_head;
        prove(oldest, block_payload(oldest), site);
        b->quarantine_head = block_link_next(oldest);
        if (!b->quarantine_head)
            b->quarantine_tail = NULL;
        b->quarantine_blocks--;
        b->quarantine_bytes -= block_usable(oldest);
        bucket_release(b, region_of(oldest), oldest, site);
    }
}

void bucket_free(bucket *b, region *r, block *blk, const bucket_site *site)
{
    b->live_blocks--;
    b->live_bytes -= block_usable(blk);
    if (!FAULT(skip_poison))
        san_chunk_free(b->heap, block_payload(blk), block_usable(blk));
    if (b->quarantine_limit)
        bucket_quarantine(b, blk, site);
    else
        bucket_release(b, r, blk, site);
}

/* ---- in-place resize ------------------------------------------------------ */

int bucket_resize(bucket *b, block *blk, size_t size, const bucket_site *site)
{
    const void *ptr = block_payload(blk);
    uint32_t g = block_granules_for(size);
    size_t old_usable = block_usable(blk), old_requested = block_requested(blk);
    block *next = next_proved(blk, ptr, site);
    if (g > block_size(blk)) {
        /* Grow: only into a free next block that makes up the difference. */
        if ((!block_is_free(next) && !FAULT(grow_overlap)) || (uint64_t)block_size(blk) + block_size(next) < g)
            return 0;
        if (block_is_free(next))
            freelist_remove(&b->free, next);
        block *after = block_next(next);
        prove(after, ptr, site);
        block_set_size(blk, block_size(blk) + block_size(next));
        block_set_prev_size(after, block_size(blk));
        next = after;
    }
    /* Shrink, or give back what the grow took beyond g. */
    block_split_tail(b, blk, next, g, site);
    size_t usable = block_usable(blk);
    block_set_flags(blk, block_live_flags(usable, size));
    b->live_bytes += usable;
    b->live_bytes -= old_usable;
    san_chunk_resize(b->heap, block_payload(blk), old_requested, size, usable > old_usable ? usable : old_usable);
    return 1;
}

/* ---- giving pages back ------------------------------------------------------ */

size_t bucket_purge(bucket *b)
{
    size_t bytes = 0;
    for (region *r = b->regions; r; r = r->next)
        for (block *x = region_first(r); x < region_fence(r); x = block_next(x)) {
            if (!block_is_free(x) || block_bytes(x) < 2 * PLATFORM_PAGE)
                continue;
            char *from = (char *)block_payload(x) + sizeof(block_links);
            platform_purge(from, (size_t)((char *)block_next(x) - from));
            bytes += block_bytes(x);
        }
    return bytes;
}
