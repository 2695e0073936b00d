/* central.h — each arena's central cache: per size class, a locked stack of
 * cached blocks between the thread caches and the heap. A thread cache that
 * overflows, a thread that ends and a batch of remote frees put blocks
 * here (pointers copied, no coalescing); a thread cache that runs dry takes
 * them back. Only a central bin that overflows gives blocks to the heap,
 * and only an empty one asks the heap for more. Blocks here stay
 * BLOCK_CACHED, so a double free is still caught. */
#ifndef WARDEN_CENTRAL_H
#define WARDEN_CENTRAL_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "heap.h"
#include "platform.h"
#include "tcache.h"
#include "warden.h"

/*
 * Invariants (central_check):
 *   bins[c].count <= bins[c].cap;  slots[0 .. count) are distinct
 *     BLOCK_CACHED blocks of c + 2 granules of this central's heap
 */
typedef struct central_bin {
    uint32_t count; /* blocks held */
    uint32_t cap;   /* most held; at cap, the oldest half goes to the heap */
    block **slots;  /* this class's stack, oldest first */
    uint64_t used;  /* the central's clock when this bin was last put to or taken from */
} central_bin;

/* A bin untouched for this many operations (calls) of its central holds
 * memory no thread wants: the next miss of any bin gives it to the heap. */
#define CENTRAL_STALE 512u

typedef struct central {
    platform_lock lock;    /* held around every operation on the bins */
    warden_heap *heap;     /* the arena's heap */
    size_t map_size;       /* bytes of this central's mapping */
    uint64_t clock;        /* operations so far (under the lock) */
    central_bin bins[TCACHE_CLASSES];
} central;

/* The central cache the malloc layer attached to heap (warden_heap.above). */
static inline central *central_of(const warden_heap *heap)
{
    return heap->above;
}

/* A central cache for heap holding up to class_bytes of blocks per class
 * (0: nothing: everything goes straight to the heap); NULL when out of memory. */
central *central_create(warden_heap *heap, size_t class_bytes);
/* Up to n blocks of class c into out (the heap's when the bin is empty);
 * how many (0: out of memory). */
size_t central_take(central *ct, size_t c, block **out, size_t n, const char *op);
/* n cached blocks of class c of this central's heap. */
void central_put(central *ct, size_t c, block *const *blocks, size_t n);
/* n cached blocks of this central's heap, of any sizes (a remote batch),
 * under one lock; blocks too large for a class go to the heap. */
void central_put_mixed(central *ct, block *const *blocks, size_t n);
/* Every bin to the heap (malloc_trim). */
void central_flush(central *ct);
int central_check(central *ct, char *why, size_t why_size);
/* Blocks held and their usable bytes. */
void central_count(central *ct, size_t *blocks, size_t *bytes);
void central_lock(central *ct);
void central_unlock(central *ct);

#endif /* WARDEN_CENTRAL_H */
