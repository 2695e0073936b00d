/* pagemap.h — the process-wide map from address to the region that holds it,
 * at PLATFORM_CHUNK (64 KiB) granularity: a two-level radix tree with
 * lock-free lookups. It is how a pointer handed to free() is proved to be
 * warden's before any of its bytes are read. */
#ifndef WARDEN_PAGEMAP_H
#define WARDEN_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "platform.h"

#define PAGEMAP_CHUNK_SHIFT 16
_Static_assert(((size_t)1 << PAGEMAP_CHUNK_SHIFT) == PLATFORM_CHUNK, "one pagemap entry per chunk");

/* Addresses covered: 48 bits on 64-bit hosts (the user half of x86-64 and
 * AArch64), all of them on 32-bit ones. */
#define PAGEMAP_ADDRESS_BITS (UINTPTR_MAX > 0xffffffffu ? 48 : 32)
#define PAGEMAP_KEY_BITS (PAGEMAP_ADDRESS_BITS - PAGEMAP_CHUNK_SHIFT)
#define PAGEMAP_LEAF_BITS (PAGEMAP_KEY_BITS < 16 ? PAGEMAP_KEY_BITS : 16)
#define PAGEMAP_ROOT_BITS (PAGEMAP_KEY_BITS - PAGEMAP_LEAF_BITS)
#define PAGEMAP_LEAF_ENTRIES ((size_t)1 << PAGEMAP_LEAF_BITS)
#define PAGEMAP_LEAF_BYTES (PAGEMAP_LEAF_ENTRIES * sizeof(void *))

/* The root: leaves, NULL until first used; entries are owners or NULL. */
extern void **pagemap_root[(size_t)1 << PAGEMAP_ROOT_BITS];

/* Maps every chunk of [addr, addr + size) to owner; -1 when the map cannot
 * grow (out of memory) or the range lies beyond the addresses it covers. */
int pagemap_set(const void *addr, size_t size, void *owner);
/* Forgets [addr, addr + size). */
void pagemap_clear(const void *addr, size_t size);
/* The owner of the chunk holding addr, or NULL: two dependent loads, inline
 * (free's fast path proves every pointer with it). */
/* The map's key of addr: 0 and *key, or -1 beyond the addresses covered. */
static inline int pagemap_key_of(const void *addr, uintptr_t *key)
{
    uintptr_t a = (uintptr_t)addr;
#if UINTPTR_MAX > 0xffffffffu
    if (a >> PAGEMAP_ADDRESS_BITS)
        return -1;
#endif
    *key = a >> PAGEMAP_CHUNK_SHIFT;
    return 0;
}

static inline void *pagemap_lookup(const void *addr)
{
    uintptr_t key;
    if (pagemap_key_of(addr, &key))
        return NULL;
    void **leaf = atomic_load_ptr((void *const *)&pagemap_root[key >> PAGEMAP_LEAF_BITS]);
    return leaf ? atomic_load_ptr(&leaf[key & (PAGEMAP_LEAF_ENTRIES - 1)]) : NULL;
}

/* Maps size bytes (whole chunks) from the platform and registers the
 * mapping as its own owner: how regions and bump chunks are born. NULL when
 * out of memory. Sanitizer builds make it a LeakSanitizer root. */
void *pagemap_map_self(size_t size);
/* Forgets and unmaps a mapping of pagemap_map_self, clearing ASan's shadow. */
void pagemap_unmap_self(void *addr, size_t size);

#endif /* WARDEN_PAGEMAP_H */
