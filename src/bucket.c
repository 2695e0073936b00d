/* bucket.c — blocks within a bucket: take a fit or map a region, split off
 * the tail, coalesce both neighbours on free, grow in place into a free
 * next block, return regions that become empty. */
#include "bucket.h"

#include "report.h"

void bucket_init(bucket *b, const void *heap, unsigned index, size_t limit, size_t region_size,
                 int locked)
{
    *b = (bucket){.locked = locked, .index = index, .heap = heap, .limit = limit,
                  .region_size = region_size};
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

/* ---- reading neighbours: every header is proved before it is trusted ---- */

static block *checked(block *nb, const bucket_site *site)
{
    if (!block_is_sealed(nb))
        report_fatal(site->op, block_payload(nb), "heap corruption (block header overwritten)");
    return nb;
}

static block *next_checked(const block *blk, const bucket_site *site)
{
    block *next = checked(block_next(blk), site);
    if (next->prev_size != blk->size)
        report_fatal(site->op, block_payload(next), "heap corruption (boundary tag disagrees)");
    return next;
}

static block *prev_checked(const block *blk, const bucket_site *site)
{
    block *prev = checked(block_prev(blk), site);
    if (prev->size != blk->prev_size)
        report_fatal(site->op, block_payload(prev), "heap corruption (boundary tag disagrees)");
    return prev;
}

/* ---- regions ---------------------------------------------------------- */

/* Maps a new region for at least g granules; returns its one free block. */
static block *bucket_grow(bucket *b, uint32_t g)
{
    size_t size = region_size_for(g, b->region_size);
    region *r = size ? region_map(b, size) : NULL;
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

/* Cuts blk down to g granules when the rest can be a block of its own; the
 * rest merges with next (the block after blk) if that is free and goes on
 * the free list. */
static void block_split_tail(bucket *b, block *blk, block *next, uint32_t g)
{
    uint32_t rest = blk->size - g;
    if (rest < BLOCK_MIN_GRANULES)
        return;
    block_set_size(blk, g);
    block *tail = block_next(blk);
    if (block_is_free(next)) {
        freelist_remove(&b->free, next);
        rest += next->size;
        next = block_next(next);
    }
    block_write(tail, rest, g, BLOCK_FREE);
    block_set_prev_size(next, rest);
    freelist_push(&b->free, tail);
}

/* Cuts the first front granules off free blk as a free block of their own;
 * returns the block that starts after them. */
static block *block_split_front(bucket *b, block *blk, uint32_t front, const bucket_site *site)
{
    block *next = next_checked(blk, site);
    block *rest = (block *)((char *)blk + ((size_t)front << GRANULE_SHIFT));
    block_write(rest, blk->size - front, front, BLOCK_FREE);
    block_set_prev_size(next, rest->size);
    block_set_size(blk, front);
    freelist_push(&b->free, blk);
    return rest;
}

/* ---- allocation --------------------------------------------------------- */

/* A free block of at least g granules, off its list, from the free lists or
 * a new region; NULL when the OS refuses. */
static block *bucket_take(bucket *b, uint32_t g, const bucket_site *site)
{
    block *blk = freelist_take_fit(&b->free, g);
    if (!blk)
        return bucket_grow(b, g);
    checked(blk, site);
    if (region_is_whole(blk, next_checked(blk, site)))
        b->empty_regions--;
    return blk;
}

void *bucket_alloc(bucket *b, uint32_t g, size_t alignment, const bucket_site *site)
{
    uint64_t want = g;
    if (alignment > GRANULE) /* room to slide the payload to the boundary, front rest >= min */
        want += (alignment >> GRANULE_SHIFT) + 1;
    if (want > BLOCK_MAX_GRANULES)
        return NULL;
    block *blk = bucket_take(b, (uint32_t)want, site);
    if (!blk)
        return NULL;
    if (alignment > GRANULE) {
        uintptr_t payload = (uintptr_t)block_payload(blk);
        uintptr_t aligned = (payload + alignment - 1) & ~(uintptr_t)(alignment - 1);
        if (aligned != payload && aligned - payload < BLOCK_MIN_GRANULES * GRANULE)
            aligned += alignment;
        if (aligned != payload)
            blk = block_split_front(b, blk, (uint32_t)((aligned - payload) >> GRANULE_SHIFT), site);
    }
    block_split_tail(b, blk, next_checked(blk, site), g);
    block_set_flags(blk, 0);
    b->live_blocks++;
    b->live_bytes += block_usable(blk);
    return block_payload(blk);
}

/* ---- finding the block of a user pointer --------------------------------- */

/* Walks r's blocks to say why ptr has no sealed header: an overwritten
 * header at a real block boundary, or a pointer into the middle of a block. */
static _Noreturn void diagnose(region *r, const void *ptr, const bucket_site *site)
{
    block *target = block_of_payload(ptr);
    block *fence = region_fence(r);
    for (block *x = region_first(r); x < fence; x = block_next(x)) {
        if (!block_is_sealed(x) || x->size < BLOCK_MIN_GRANULES) {
            if (x == target)
                report_fatal(site->op, ptr, "heap corruption (block header overwritten)");
            report_fatal(site->op, ptr, "heap corruption (header of block %p overwritten)",
                         block_payload(x));
        }
        if (x > target)
            break;
    }
    report_fatal(site->op, ptr, "%s (not the start of a block)", site->foreign);
}

block *bucket_block_of(bucket *b, region *r, const void *ptr, const bucket_site *site)
{
    (void)b;
    if ((const char *)ptr < (char *)block_payload(region_first(r)) ||
        (const char *)ptr >= (char *)region_fence(r))
        report_fatal(site->op, ptr, "%s (not the start of a block)", site->foreign);
    block *blk = block_of_payload(ptr);
    if (!block_is_sealed(blk))
        diagnose(r, ptr, site);
    if (block_is_free(blk))
        report_fatal(site->op, ptr, "%s", site->freed);
    return blk;
}

/* ---- free --------------------------------------------------------------- */

void bucket_free(bucket *b, block *blk, const bucket_site *site)
{
    b->live_blocks--;
    b->live_bytes -= block_usable(blk);
    /* Marked free first: if a merge leaves this header stale inside a bigger
     * block, a second free of the same pointer still reads "freed". */
    block_set_flags(blk, BLOCK_FREE);
    if (blk->prev_size) {
        block *prev = prev_checked(blk, site);
        if (block_is_free(prev)) {
            freelist_remove(&b->free, prev);
            block_set_size(prev, prev->size + blk->size);
            blk = prev;
        }
    }
    block *next = checked(block_next(blk), site);
    if (block_is_free(next)) {
        freelist_remove(&b->free, next);
        block_set_size(blk, blk->size + next->size);
        next = checked(block_next(blk), site);
    }
    block_set_prev_size(next, blk->size);
    if (region_is_whole(blk, next)) {
        if (b->empty_regions >= BUCKET_EMPTY_RESERVE) {
            bucket_release_region(b, region_of_first(blk));
            return;
        }
        b->empty_regions++;
    }
    freelist_push(&b->free, blk);
}

/* ---- in-place resize ------------------------------------------------------ */

int bucket_resize(bucket *b, block *blk, uint32_t g, const bucket_site *site)
{
    block *next = next_checked(blk, site);
    if (g > blk->size) {
        /* Grow: only into a free next block that makes up the difference. */
        if (!block_is_free(next) || (uint64_t)blk->size + next->size < g)
            return 0;
        freelist_remove(&b->free, next);
        b->live_bytes -= block_usable(blk);
        block_set_size(blk, blk->size + next->size);
        next = checked(block_next(blk), site);
        block_set_prev_size(next, blk->size);
    } else {
        b->live_bytes -= block_usable(blk);
    }
    /* Shrink, or give back what the grow took beyond g. */
    block_split_tail(b, blk, next, g);
    b->live_bytes += block_usable(blk);
    return 1;
}
