/* heap.h — the heap object behind warden_heap: its buckets and the handle
 * seal that proves a warden_heap pointer is one. Shared by heap.c (the
 * public API) and check.c (the invariant checker). */
#ifndef WARDEN_HEAP_INTERNAL_H
#define WARDEN_HEAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bucket.h"
#include "warden.h"

#define HEAP_DEFAULT_REGION_SIZE ((size_t)256 << 10)
#define HEAP_MAX_REGION_SIZE ((size_t)1 << 30)
#define HEAP_MAX_BUCKET_LIMIT ((size_t)1 << 28)

/*
 * Invariants:
 *   seal == heap_seal_of(heap)
 *   limits ascending; buckets[i].limit == limits[i] for i < bucket_count
 *   buckets[bucket_count] is the large bucket (limit SIZE_MAX)
 */
struct warden_heap {
    uint64_t seal;                         /* keyed hash of address and shape */
    size_t bucket_count;                   /* fixed buckets */
    size_t map_size;                       /* bytes mapped for this struct */
    void *above;                           /* the layer above's state for this heap (the
                                              malloc layer: its central cache), or NULL */
    size_t limits[WARDEN_HEAP_MAX_BUCKETS]; /* largest request of each fixed bucket */
    bucket buckets[];                      /* bucket_count fixed ones, then the large one */
};

/* Cheap on purpose: it is compared on every call. */
static inline uint64_t heap_seal_of(const warden_heap *heap)
{
    return ((uint64_t)(uintptr_t)heap ^ integrity_secret()) + 0x68656170u /* "heap" */;
}

/* Aborts with a one-line report unless heap is a live warden heap. */
void heap_verify(const warden_heap *heap, const char *op);

/* ---- for the layers above the public API (the malloc layer) ---------------
 * Each takes the words of its caller's entry point (site, op), so a report
 * names `free` or `realloc`, not the heap function behind it. A heap
 * argument of NULL means "whichever warden heap owns the pointer". */

/* heap_alloc: as warden_heap_alloc(_aligned); alignment 0 for none. */
void *heap_alloc(warden_heap *heap, size_t size, size_t alignment, const char *op);
/* The region of ptr, proved (aligned, registered, sealed, of heap); aborts otherwise. */
region *heap_region_of(const warden_heap *heap, const void *ptr, const bucket_site *site);
void heap_free_ptr(const warden_heap *heap, void *ptr, const bucket_site *site);
size_t heap_usable(const warden_heap *heap, const void *ptr, const bucket_site *site);
/* realloc of a live block (ptr != NULL) within the heap that owns it. */
void *heap_realloc(const warden_heap *heap, void *ptr, size_t size, const bucket_site *site);
/* Up to n blocks for size bytes, from one bucket under one lock, marked
 * BLOCK_CACHED; returns how many (fewer when out of memory). */
size_t heap_take_cached(warden_heap *heap, size_t size, block **out, size_t n, const char *op);
/* Gives cached blocks (of any heaps) back: each proved, made live and
 * freed, taking each bucket's lock once per run of blocks. */
void heap_give_cached(block *const *blocks, size_t n, const bucket_site *site);
/* Empty regions kept per fixed bucket and for the large bucket, and the
 * least size of a large region (0: unchanged). */
void heap_tune(warden_heap *heap, size_t large_region_size, size_t empty_reserve, size_t large_reserve);
/* Gives the whole pages inside every free block back to the OS (they stay
 * mapped, and read back as zeroes); returns the bytes. */
size_t heap_purge(warden_heap *heap);
/* Calls fn(payload, usable, ctx) for every live block of heap (handed out:
 * not free, cached or quarantined), each bucket's lock held while its
 * regions are walked: fn must not allocate, free or report. */
void heap_walk(warden_heap *heap, void (*fn)(void *payload, size_t usable, void *ctx), void *ctx);
/* Every bucket lock, in order (fork); unlock releases in reverse. */
void heap_lock_all(warden_heap *heap);
void heap_unlock_all(warden_heap *heap);

#endif /* WARDEN_HEAP_INTERNAL_H */
