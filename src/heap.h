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

#endif /* WARDEN_HEAP_INTERNAL_H */
