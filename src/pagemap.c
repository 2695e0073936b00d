/* pagemap.c — a radix tree of chunk owners: a static root of leaf pointers,
 * leaves mapped on first use and never returned. */
#include "pagemap.h"

#include <stdint.h>

#include "atomic.h"
#include "platform.h"
#include "sanitize.h"

void **pagemap_root[(size_t)1 << PAGEMAP_ROOT_BITS]; /* leaves, NULL until first used */

static void **leaf_get(uintptr_t key, int create)
{
    void **slot = (void **)&pagemap_root[key >> PAGEMAP_LEAF_BITS];
    void **leaf = atomic_load_ptr(slot);
    if (leaf || !create)
        return leaf;
    _Static_assert(PAGEMAP_LEAF_BYTES % PLATFORM_CHUNK == 0, "leaves are whole chunks");
    void **fresh = platform_map(PAGEMAP_LEAF_BYTES);
    if (!fresh)
        return NULL;
    if (atomic_cas_ptr(slot, NULL, fresh))
        return fresh;
    platform_unmap(fresh, PAGEMAP_LEAF_BYTES); /* another thread won */
    return atomic_load_ptr(slot);
}

static void set_range(uintptr_t first, uintptr_t last, void *owner)
{
    for (uintptr_t k = first; k <= last; k++) {
        void **leaf = leaf_get(k, 0);
        if (leaf)
            atomic_store_ptr(&leaf[k & (PAGEMAP_LEAF_ENTRIES - 1)], owner);
    }
}

int pagemap_set(const void *addr, size_t size, void *owner)
{
    uintptr_t first, last;
    if (size == 0 || pagemap_key_of(addr, &first) || pagemap_key_of((const char *)addr + size - 1, &last))
        return -1;
    for (uintptr_t k = first; k <= last; k++)
        if (!leaf_get(k, 1))
            return -1;
    set_range(first, last, owner);
    return 0;
}

void pagemap_clear(const void *addr, size_t size)
{
    uintptr_t first, last;
    if (size == 0 || pagemap_key_of(addr, &first) || pagemap_key_of((const char *)addr + size - 1, &last))
        return;
    set_range(first, last, NULL);
}

void *pagemap_map_self(size_t size)
{
    void *p = platform_map(size);
    if (!p)
        return NULL;
    if (pagemap_set(p, size, p) != 0) {
        platform_unmap(p, size);
        return NULL;
    }
    san_root_add(p, size);
    return p;
}

void pagemap_unmap_self(void *addr, size_t size)
{
    pagemap_clear(addr, size);
    san_root_remove(addr, size);
    san_area_release(addr, size);
    platform_unmap(addr, size);
}
