/* region.c — mapping, registering and returning regions. */
#include "region.h"

#include "bucket.h"

#include "pagemap.h"
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

region *region_map(struct bucket *owner, size_t size)
{
    region *r = pagemap_map_self(size);
    if (!r)
        return NULL;
    r->next = r->prev = NULL;
    r->owner = owner;
    r->heap = owner->heap;
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
    pagemap_unmap_self(r, r->size);
}

region *region_of(const void *addr)
{
    return pagemap_lookup(addr);
}
