/* region.c — mapping, registering and returning regions, and the pool of
 * returned mappings kept for reuse, their pages given back (off unless
 * region_pool_setup turns it on: the malloc layer does). */
#include "region.h"

#include "pagemap.h"
#include "platform.h"
#include "sanitize.h"

/* A mapping in the pool: unregistered, its first bytes this link. */
typedef struct pooled {
    struct pooled *next; /* next mapping in the pool, or NULL */
    size_t size;         /* its bytes */
} pooled;

static platform_lock pool_lock; /* guards the three below */
static pooled *pool;            /* LIFO: the most recently returned first */
static size_t pool_bytes;       /* bytes of all of them */
static size_t pool_limit;       /* most bytes kept; 0: no pool, regions are unmapped */
static int pool_resident;       /* pages stay (no purge) */

void region_pool_setup(size_t limit, int resident)
{
    platform_lock_init(&pool_lock);
    pool_limit = limit;
    pool_resident = resident;
}

void region_pool_lock(void)
{
    if (pool_limit)
        platform_lock_acquire(&pool_lock);
}

void region_pool_unlock(void)
{
    if (pool_limit)
        platform_lock_release(&pool_lock);
}

/* A pooled mapping of exactly size bytes, registered again; NULL if none. */
static void *pool_take(size_t size)
{
    if (!pool_limit)
        return NULL;
    pooled *p = NULL;
    platform_lock_acquire(&pool_lock);
    for (pooled **at = &pool; *at; at = &(*at)->next)
        if ((*at)->size == size) {
            p = *at;
            *at = p->next;
            pool_bytes -= size;
            break;
        }
    platform_lock_release(&pool_lock);
    if (p && pagemap_set(p, size, p) != 0) { /* cannot happen: its leaves exist */
        pagemap_unmap_self(p, size);
        p = NULL;
    }
    return p;
}

/* Keeps a mapping for reuse, unregistered (a pointer into it is nobody's
 * now); 0 when the pool is full or off. */
static int pool_give(void *addr, size_t size)
{
    if (!pool_limit)
        return 0;
    int kept = 0;
    platform_lock_acquire(&pool_lock);
    if (pool_bytes + size <= pool_limit) {
        pagemap_clear(addr, size);
        /* Its pages go back to the OS (RSS) before anyone can take it; its
         * mapping stays (no mmap next time, no new VMA). */
        if (!pool_resident)
            platform_purge((char *)addr + sizeof(pooled), size - sizeof(pooled));
        *(pooled *)addr = (pooled){pool, size};
        pool = addr;
        pool_bytes += size;
        kept = 1;
    }
    platform_lock_release(&pool_lock);
    return kept;
}

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
    region *r = pool_take(size);
    if (!r)
        r = pagemap_map_self(size);
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
    if (!pool_give(r, size))
        pagemap_unmap_self(r, size);
}

region *region_of(const void *addr)
{
    return pagemap_lookup(addr);
}
