/* arena.h — the malloc layer's arenas: a fixed set of warden heaps made at
 * start-up, tuned for a whole program, and the round-robin that spreads
 * threads over them. */
#ifndef WARDEN_ARENA_H
#define WARDEN_ARENA_H

#include <stddef.h>

#include "central.h"
#include "heap.h"

#define ARENA_MAX 64u
/* Least size of a region of the large bucket: blocks over 8 KiB share big
 * regions, so memory freed there is reused resident, without re-faults. */
#define ARENA_LARGE_REGION ((size_t)32 << 20)
/* Empty regions each fixed bucket keeps to itself: none; they go to the
 * region pool, where any bucket of any arena takes them again. */
#define ARENA_EMPTY_RESERVE 0u

/* Makes n heaps (1..ARENA_MAX), each keeping up to large_reserve bytes of
 * empty large regions, each with a central cache of central_bytes per size
 * class; -1 when out of memory. */
int arena_init(unsigned n, size_t large_reserve, size_t central_bytes);

unsigned arena_count(void);
warden_heap *arena_at(unsigned i);
/* The arena for a new thread: the next one round the ring. */
warden_heap *arena_pick(void);
/* Every arena's every lock, central ones first (fork). */
void arena_lock_all(void);
void arena_unlock_all(void);
/* Every arena's central cache, then warden_heap_check of its heap: 0, or
 * non-zero with one line in why. */
int arena_check(char *why, size_t why_size);
/* heap_walk over every arena. */
void arena_walk(void (*fn)(void *payload, size_t usable, void *ctx), void *ctx);
/* The sum of every arena's statistics, and of the blocks (and their bytes)
 * its central cache holds. */
void arena_stats(warden_heap_stats *sum, size_t *central_blocks, size_t *central_bytes);
/* Empties the central caches into the heaps and gives the pages of free
 * blocks back to the OS; the bytes given. */
size_t arena_purge(void);
/* Every arena's central cache back to its heap (arena_purge's first half:
 * no page is given back). */
void arena_flush_central(void);

#endif /* WARDEN_ARENA_H */
