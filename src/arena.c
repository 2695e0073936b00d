/* arena.c — making and walking the malloc layer's heaps. */
#include "arena.h"

#include "atomic.h"
#include "heap.h"
#include "report.h"

static warden_heap *arenas[ARENA_MAX];
static unsigned arena_n;
static uint64_t next_arena; /* round-robin counter, relaxed */

int arena_init(unsigned n, size_t large_reserve)
{
    if (n == 0 || n > ARENA_MAX)
        return -1;
    warden_heap_config config = {.flags = WARDEN_HEAP_NO_QUARANTINE};
    for (unsigned i = 0; i < n; i++) {
        if (!(arenas[i] = warden_heap_create(&config)))
            return -1;
        heap_tune(arenas[i], ARENA_LARGE_REGION, ARENA_EMPTY_RESERVE, large_reserve / ARENA_LARGE_REGION);
    }
    arena_n = n;
    return 0;
}

unsigned arena_count(void)
{
    return arena_n;
}

warden_heap *arena_at(unsigned i)
{
    return arenas[i];
}

warden_heap *arena_pick(void)
{
    return arenas[(atomic_add_u64(&next_arena, 1) - 1) % arena_n];
}

void arena_lock_all(void)
{
    for (unsigned i = 0; i < arena_n; i++)
        heap_lock_all(arenas[i]);
}

void arena_unlock_all(void)
{
    for (unsigned i = arena_n; i-- > 0;)
        heap_unlock_all(arenas[i]);
}

int arena_check(char *why, size_t why_size)
{
    for (unsigned i = 0; i < arena_n; i++) {
        char line[200];
        if (warden_heap_check(arenas[i], line, sizeof line) != 0) {
            if (why && why_size)
                report_format(why, why_size, "arena %u: %s", i, line);
            return 1;
        }
    }
    return 0;
}

void arena_stats(warden_heap_stats *sum)
{
    *sum = (warden_heap_stats){0};
    for (unsigned i = 0; i < arena_n; i++) {
        warden_heap_stats s;
        warden_heap_get_stats(arenas[i], &s);
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

size_t arena_purge(void)
{
    size_t bytes = 0;
    for (unsigned i = 0; i < arena_n; i++)
        bytes += heap_purge(arenas[i]);
    return bytes;
}
