/* pagemap.h — the process-wide map from address to the region that holds it,
 * at PLATFORM_CHUNK (64 KiB) granularity: a two-level radix tree with
 * lock-free lookups. It is how a pointer handed to free() is proved to be
 * warden's before any of its bytes are read. */
#ifndef WARDEN_PAGEMAP_H
#define WARDEN_PAGEMAP_H

#include <stddef.h>

/* Maps every chunk of [addr, addr + size) to owner; -1 when the map cannot
 * grow (out of memory) or the range lies beyond the addresses it covers. */
int pagemap_set(const void *addr, size_t size, void *owner);
/* Forgets [addr, addr + size). */
void pagemap_clear(const void *addr, size_t size);
/* The owner of the chunk holding addr, or NULL. */
void *pagemap_lookup(const void *addr);

/* Maps size bytes (whole chunks) from the platform and registers the
 * mapping as its own owner: how regions and bump chunks are born. NULL when
 * out of memory. Sanitizer builds make it a LeakSanitizer root. */
void *pagemap_map_self(size_t size);
/* Forgets and unmaps a mapping of pagemap_map_self, clearing ASan's shadow. */
void pagemap_unmap_self(void *addr, size_t size);

#endif /* WARDEN_PAGEMAP_H */
