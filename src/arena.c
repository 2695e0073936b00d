/* arena.c — making and walking the malloc layer's heaps. */
#include "arena.h"

#include "atomic.h"
#include "mapcache.h"
#include "platform.h"
#include "report.h"

static warden_heap *arenas[ARENA_MAX]; /* made on first use; arenas[0] at start-up */
static unsigned arena_n;
static uint64_t next_arena;            /* round-robin counter, relaxed */
static size_t reserve_bytes, cache_bytes; /* arena_init's */
static platform_lock make_lock;        /* held while an arena is made */

/* One fixed bucket for every request up to 8 KiB, then the large one:
 * blocks freed at one size are there for any other (the thread caches
 * in front keep small sizes fast), as in one glibc arena. */
static const size_t arena_limits[] = {8192};

static warden_heap *arena_make(void)
{
    warden_heap_config config = {.bucket_limits = arena_limits, .bucket_count = 1,
                                 .flags = WARDEN_HEAP_NO_QUARANTINE};
    warden_heap *heap = warden_heap_create(&config);
    if (!heap)
        return NULL;
    heap_tune(heap, ARENA_LARGE_REGION, ARENA_EMPTY_RESERVE, reserve_bytes / ARENA_LARGE_REGION);
    if (!(heap->above = central_create(heap, cache_bytes))) {
        warden_heap_destroy(heap);
        return NULL;
    }
    return heap;
}

int arena_init(unsigned n, size_t large_reserve, size_t central_bytes)
{
    if (n == 0 || n > ARENA_MAX)
        return -1;
    reserve_bytes = large_reserve;
    cache_bytes = central_bytes;
    platform_lock_init(&make_lock);
    arena_n = n;
    return (arenas[0] = arena_make()) ? 0 : -1;
}

/* Arena i, or NULL when it has not been made (read while another thread may make it). */
static warden_heap *arena_get(unsigned i)
{
    return atomic_load_ptr((void *const *)&arenas[i]);
}

unsigned arena_count(void)
{
    return arena_n;
}

warden_heap *arena_at(unsigned i)
{
    return arena_get(i);
}

/* The next arena round the ring; one that cannot be made (out of memory)
 * is arena 0's work. */
warden_heap *arena_pick(void)
{
    unsigned i = (unsigned)((atomic_add_u64(&next_arena, 1) - 1) % arena_n);
    warden_heap *heap = atomic_load_ptr((void *const *)&arenas[i]);
    if (heap)
        return heap;
    platform_lock_acquire(&make_lock);
    if (!arenas[i])
        atomic_store_ptr((void **)&arenas[i], arena_make());
    heap = arenas[i] ? arenas[i] : arenas[0];
    platform_lock_release(&make_lock);
    return heap;
}

void arena_lock_all(void)
{
    platform_lock_acquire(&make_lock);
    for (unsigned i = 0; i < arena_n; i++)
        if (arenas[i])
            central_lock(central_of(arenas[i]));
    for (unsigned i = 0; i < arena_n; i++)
        if (arenas[i])
            heap_lock_all(arenas[i]);
    mapcache_lock(); /* taken under bucket locks: after them */
}

void arena_unlock_all(void)
{
    mapcache_unlock();
    for (unsigned i = arena_n; i-- > 0;)
        if (arenas[i])
            heap_unlock_all(arenas[i]);
    for (unsigned i = arena_n; i-- > 0;)
        if (arenas[i])
            central_unlock(central_of(arenas[i]));
    platform_lock_release(&make_lock);
}

int arena_check(char *why, size_t why_size)
{
    for (unsigned i = 0; i < arena_n; i++) {
        warden_heap *heap = arena_get(i);
        char line[200];
        if (heap && (central_check(central_of(heap), line, sizeof line) != 0 ||
                     warden_heap_check(heap, line, sizeof line) != 0)) {
            if (why && why_size)
                report_format(why, why_size, "arena %u: %s", i, line);
            return 1;
        }
    }
    return 0;
}

void arena_walk(void (*fn)(void *payload, size_t usable, void *ctx), void *ctx)
{
    for (unsigned i = 0; i < arena_n; i++) {
        warden_heap *heap = arena_get(i);
        if (heap)
            heap_walk(heap, fn, ctx);
    }
}

void arena_stats(warden_heap_stats *sum, size_t *central_blocks, size_t *central_bytes)
{
    *sum = (warden_heap_stats){0};
    *central_blocks = *central_bytes = 0;
    for (unsigned i = 0; i < arena_n; i++) {
        warden_heap *heap = arena_get(i);
        if (!heap)
            continue;
        size_t blocks, bytes;
        central_count(central_of(heap), &blocks, &bytes);
        *central_blocks += blocks;
        *central_bytes += bytes;
        warden_heap_stats s;
        warden_heap_get_stats(heap, &s);
        sum->mapped_bytes += s.mapped_bytes;
        sum->regions += s.regions;
        sum->live_blocks += s.live_blocks;
        sum->live_bytes += s.live_bytes;
        sum->free_blocks += s.free_blocks;
        sum->free_bytes += s.free_bytes;
        sum->quarantine_blocks += s.quarantine_blocks;
        sum->quarantine_bytes += s.quarantine_bytes;
    }
}

void arena_flush_central(void)
{
    for (unsigned i = 0; i < arena_n; i++) {
        warden_heap *heap = arena_get(i);
        if (heap)
            central_flush(central_of(heap));
    }
}

size_t arena_purge(void)
{
    arena_flush_central();
    size_t bytes = 0;
    for (unsigned i = 0; i < arena_n; i++) {
        warden_heap *heap = arena_get(i);
        if (heap)
            bytes += heap_purge(heap);
    }
    return bytes;
}
