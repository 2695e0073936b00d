/* tcache.h — the malloc layer's per-thread cache of small blocks: one LIFO
 * stack of block pointers per size class (kept in the cache, not in the
 * freed blocks, so a write after free cannot steer malloc), filled from and
 * returned to the thread's arena in batches under one lock, plus a buffer
 * of blocks freed here that belong to other arenas (remote frees), sent
 * home in batches. Blocks in a cache are BLOCK_CACHED (block.h): a second
 * free of one is caught by its seal, whichever thread does it. */
#ifndef WARDEN_TCACHE_H
#define WARDEN_TCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "warden.h"

#define TCACHE_CLASSES 64u        /* blocks of 2..65 granules */
#define TCACHE_MAX_REQUEST 1024u  /* the largest request a cache serves */
#define TCACHE_REMOTE 64u         /* remote frees held before they go home */

/*
 * A cache, in one mapping of its own:
 *
 *   +----------------------+--------------------+------------------------------+
 *   | struct tcache        | remote[64]         | slots: bin 0 | bin 1 | ...  |
 *   +----------------------+--------------------+------------------------------+
 *
 * Invariants (tcache_check):
 *   bins[c].count <= bins[c].cap;  slots[0 .. count) are distinct blocks of
 *     c + 2 granules, BLOCK_CACHED, of this cache's heap
 *   remote[0 .. remote_count) are BLOCK_CACHED blocks of other heaps
 */
typedef struct tcache_bin {
    uint32_t count; /* blocks held */
    uint32_t cap;   /* most held; at cap, half go back to the central cache */
    block **slots;  /* this bin's stack */
    uint64_t used;  /* the cache's clock at this bin's last refill or drain */
} tcache_bin;

/* Every this many refills, a cache looks at its bins: one with no refill
 * or drain since the last look may hold blocks of a size the thread no
 * longer uses, and goes to the central cache. (A bin in steady use from its
 * stack goes too, now and then, and refills from the central cache cheaply.) */
#define TCACHE_STALE 256u

typedef struct tcache {
    tcache_bin bins[TCACHE_CLASSES];
    warden_heap *heap;     /* the arena this thread allocates from */
    struct tcache *next;   /* every cache ever made, live or parked */
    int parked;            /* its thread ended: free for the next new thread */
    uint32_t remote_count; /* blocks in remote[] */
    uint64_t clock;        /* refills and drains so far */
    size_t map_size;       /* bytes of this cache's mapping */
    block **remote;        /* blocks of other arenas freed by this thread */
} tcache;

/* The class of a request of at most TCACHE_MAX_REQUEST bytes: its block has
 * class + 2 granules, a payload of (class + 1) * 16 bytes. */
static inline size_t tcache_class_of(size_t size)
{
    size_t c = (size + GRANULE - 1) >> GRANULE_SHIFT;
    return c ? c - 1 : 0;
}

/* Sets the bytes each bin may hold (0: caches hold nothing, every block goes
 * straight to its heap); called once, before the first cache. */
void tcache_setup(size_t class_bytes);
/* A cache bound to heap (a parked one when there is one); NULL when out of memory. */
tcache *tcache_create(warden_heap *heap);
/* Returns every block to its heap and parks the cache (its thread ended). */
void tcache_release(tcache *tc);

/* A block for size bytes (<= TCACHE_MAX_REQUEST) off the stack, or NULL when its bin is empty. */
static inline void *tcache_pop(tcache *tc, size_t size)
{
    tcache_bin *bin = &tc->bins[tcache_class_of(size)];
    if (bin->count == 0)
        return NULL;
    block *b = bin->slots[--bin->count];
    bin->slots[bin->count] = NULL; /* no stale copy for the leak check to take for the program's */
    block_cache_leave(b, size);
    san_chunk_alloc(tc->heap, block_payload(b), size, 0);
    return block_payload(b);
}

/* Takes cached block b of g granules, of this cache's heap, when its bin
 * has room; 0 otherwise (the caller goes to tcache_free_slow). */
static inline int tcache_push(tcache *tc, block *b, uint32_t g)
{
    uint32_t c = g - 2;
    if (c >= TCACHE_CLASSES)
        return 0;
    tcache_bin *bin = &tc->bins[c];
    if (bin->count >= bin->cap)
        return 0;
    bin->slots[bin->count++] = b;
    return 1;
}

/* The rest of free for cached block b of g granules that tcache_push did
 * not take: a full bin (half goes home), a remote block, a large one. */
void tcache_free_slow(tcache *tc, block *b, uint32_t g, int remote);
/* Blocks cache tc holds: in its bins and its remote buffer. */
size_t tcache_held(const tcache *tc);
/* Refills the bin of size from the heap and pops from it; NULL with errno
 * ENOMEM when the heap has nothing. */
void *tcache_refill(tcache *tc, size_t size, const char *op);
/* Every bin and the remote buffer back to the heaps (malloc_trim, check). */
void tcache_flush(tcache *tc);
/* 0 when every invariant holds; else one line in why. */
int tcache_check(const tcache *tc, char *why, size_t why_size);

/* The list lock, for fork handlers. */
void tcache_lock_list(void);
void tcache_unlock_list(void);

/* Counts of the slow paths, for statistics. */
typedef struct tcache_stats {
    uint64_t refills, flushes, remote_batches, remote_blocks, caches;
} tcache_stats;
void tcache_get_stats(tcache_stats *out);

#endif /* WARDEN_TCACHE_H */
