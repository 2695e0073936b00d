/* region.h — a region: one mapping from the platform, a small header, then
 * blocks that tile it exactly. Regions are listed by the bucket that owns
 * them and registered in the page map, so any address finds its region. */
#ifndef WARDEN_REGION_H
#define WARDEN_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"

struct bucket;

/*
 * A region of size bytes (a multiple of PLATFORM_CHUNK, chunk-aligned):
 *
 *   0                48                                       size-16   size
 *   +----------------+--------+---------+--------+----------+--------+
 *   | struct region  | block  | block   | block  | ...      | fence  |
 *   +----------------+--------+---------+--------+----------+--------+
 *
 * The fence is a sealed header of size 0 that is never free: every real
 * block has a next header, so coalescing needs no end-of-region test.
 *
 * Invariants:
 *   region_first(r) + sum of block sizes == region_fence(r)   (tiling)
 *   region_fence(r)->size == 0, not free, prev_size == last block's size
 *   pagemap_lookup(a) == r  for every a in [r, r + size)
 *   seal == region_seal_of(r)
 */
typedef struct region {
    struct region *next;   /* next region of the owning bucket, or NULL */
    struct region *prev;   /* previous region of the owning bucket, or NULL */
    struct bucket *owner;  /* the bucket whose blocks tile this region */
    size_t size;           /* bytes mapped, this header included */
    uint64_t seal;         /* keyed hash of address, owner and size */
    const void *heap;      /* owner->heap, copied here so free's fast path skips a load */
} region;

#define REGION_HEADER sizeof(region)
_Static_assert(sizeof(region) % GRANULE == 0, "blocks after the header stay granule-aligned");

static inline block *region_first(const region *r)
{
    return (block *)((char *)r + REGION_HEADER);
}

static inline char *region_end(const region *r)
{
    return (char *)r + r->size;
}

static inline block *region_fence(const region *r)
{
    return (block *)(region_end(r) - BLOCK_HEADER);
}


static inline uint64_t region_seal_of(const region *r)
{
    return integrity_hash(r, ((uint64_t)(uintptr_t)r->owner * 0xc2b2ae3d27d4eb4fu) ^ r->size);
}

static inline int region_is_sealed(const region *r)
{
    return r->seal == region_seal_of(r);
}


/* Bytes of a region whose one block is at least g granules, and at least
 * least_bytes; 0 when no such region can exist. */
size_t region_size_for(uint32_t g, size_t least_bytes);
/* Maps a region of size bytes (from region_size_for) for owner (a bucket of
 * heap), registers it and writes its one free block (not on any list). NULL
 * when out of memory. */
region *region_map(struct bucket *owner, const void *heap, size_t size);
/* Forgets a region and gives its mapping back (mapcache.h). */
void region_unmap(region *r);
/* The region holding addr, or NULL when no region of warden holds it. */
region *region_of(const void *addr);

#endif /* WARDEN_REGION_H */
