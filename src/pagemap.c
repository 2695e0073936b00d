/* pagemap.c — a radix tree of chunk owners: a static root of leaf pointers,
 * leaves mapped on first use and never returned. */
#include "pagemap.h"

#include <stdint.h>

#include "atomic.h"
#include "platform.h"
#include "sanitize.h"

#define CHUNK_SHIFT 16
_Static_assert(((size_t)1 << CHUNK_SHIFT) == PLATFORM_CHUNK, "one pagemap entry per chunk");

/* Addresses covered: 48 bits on 64-bit hosts (the user half of x86-64 and
 * AArch64), all of them on 32-bit ones. */
#define ADDRESS_BITS (UINTPTR_MAX > 0xffffffffu ? 48 : 32)
#define KEY_BITS (ADDRESS_BITS - CHUNK_SHIFT)
#define LEAF_BITS (KEY_BITS < 16 ? KEY_BITS : 16)
#define ROOT_BITS (KEY_BITS - LEAF_BITS)
#define LEAF_ENTRIES ((size_t)1 << LEAF_BITS)
#define LEAF_BYTES (LEAF_ENTRIES * sizeof(void *))

static void **root[(size_t)1 << ROOT_BITS]; /* leaves, NULL until first used */

static int key_of(const void *addr, uintptr_t *key)
{
    uintptr_t a = (uintptr_t)addr;
#if UINTPTR_MAX > 0xffffffffu
    if (a >> ADDRESS_BITS)
        return -1;
#endif
    *key = a >> CHUNK_SHIFT;
    return 0;
}

static void **leaf_get(uintptr_t key, int create)
{
    void **slot = (void **)&root[key >> LEAF_BITS];
    void **leaf = atomic_load_ptr(slot);
    if (leaf || !create)
        return leaf;
    _Static_assert(LEAF_BYTES % PLATFORM_CHUNK == 0, "leaves are whole chunks");
    void **fresh = platform_map(LEAF_BYTES);
    if (!fresh)
        return NULL;
    if (atomic_cas_ptr(slot, NULL, fresh))
        return fresh;
    platform_unmap(fresh, LEAF_BYTES); /* another thread won */
    return atomic_load_ptr(slot);
}

static void set_range(uintptr_t first, uintptr_t last, void *owner)
{
    for (uintptr_t k = first; k <= last; k++) {
        void **leaf = leaf_get(k, 0);
        if (leaf)
            atomic_store_ptr(&leaf[k & (LEAF_ENTRIES - 1)], owner);
    }
}

int pagemap_set(const void *addr, size_t size, void *owner)
{
    uintptr_t first, last;
    if (size == 0 || key_of(addr, &first) || key_of((const char *)addr + size - 1, &last))
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
    if (size == 0 || key_of(addr, &first) || key_of((const char *)addr + size - 1, &last))
        return;
    set_range(first, last, NULL);
}

void *pagemap_lookup(const void *addr)
{
    uintptr_t key;
    if (key_of(addr, &key))
        return NULL;
    void **leaf = leaf_get(key, 0);
    return leaf ? atomic_load_ptr(&leaf[key & (LEAF_ENTRIES - 1)]) : NULL;
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
