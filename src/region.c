/* region.c — mapping, registering and returning regions (through the
 * cache of returned mappings, mapcache.h). */
#include "region.h"

#include "mapcache.h"
#include "pagemap.h"
#include "platform.h"
#include "sanitize.h"

size_t region_size_for(uint32_t g, size_t least_bytes)
{
    uint64_t need = REGION_HEADER + ((uint64_t)g << GRANULE_SHIFT) + BLOCK_HEADER;
    if (need < least_bytes)
        need = least_bytes;
    need = (need + PLATFORM_CHUNK - 1) & ~(uint64_t)(PLATFORM_CHUNK - 1);
    /* The one block must fit its 32-bit granule count, and size_t. */
    if (((need - REGION_HEADER - BLOCK_HEADER) >> GRANULE_SHIFT) > BLOCK_MAX_GRANULES ||
        need > SIZE_MAX / 2)
        return 0;
    return (size_t)need;
}

region *region_map(struct bucket *owner, const void *heap, size_t size)
{
    region *r = mapcache_map(size);
    if (!r)
        return NULL;
    r->next = r->prev = NULL;
    r->owner = owner;
    r->heap = heap;
    r->size = size;
    r->seal = region_seal_of(r);
    /* Blocks are the allocator's until handed out; the header stays open. */
    san_area_fence(region_first(r), size - REGION_HEADER);
    uint32_t g = (uint32_t)((size - REGION_HEADER - BLOCK_HEADER) >> GRANULE_SHIFT);
    block_write(region_first(r), g, 0, BLOCK_FREE);
    block_write(region_fence(r), 0, g, 0);
    return r;
}

void region_unmap(region *r)
{
    size_t size = r->size;
    r->seal = 0; /* a stale pointer to it must not find a region here */
    mapcache_unmap(r, size);
}

region *region_of(const void *addr)
{
    return pagemap_lookup(addr);
}
