/* mapcache.c — the cache of returned mappings (mapcache.h): a LIFO list
 * threaded through the mappings themselves, under one lock. */
#include "mapcache.h"

#include "pagemap.h"
#include "platform.h"

/* A mapping in the pool: unregistered, its first bytes this link. */
typedef struct pooled {
    struct pooled *next; /* next mapping in the pool, or NULL */
    size_t size;         /* its bytes */
} pooled;

static platform_lock pool_lock; /* guards the three below */
static pooled *pool;            /* LIFO: the most recently returned first */
static size_t pool_bytes;       /* bytes of all of them */
static size_t pool_limit;       /* most bytes kept; 0: no pool, mappings are unmapped */
static int pool_resident;       /* pages stay (no purge) */

void mapcache_setup(size_t limit, int resident)
{
    platform_lock_init(&pool_lock);
    pool_limit = limit;
    pool_resident = resident;
}

void mapcache_lock(void)
{
    if (pool_limit)
        platform_lock_acquire(&pool_lock);
}

void mapcache_unlock(void)
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

void *mapcache_map(size_t size)
{
    void *p = pool_take(size);
    return p ? p : pagemap_map_self(size);
}

void mapcache_unmap(void *addr, size_t size)
{
    if (!pool_give(addr, size))
        pagemap_unmap_self(addr, size);
}
