/* quarantine.c — a ring of (block, bytes) entries in one mapping:
 *
 *   ring[head % SLOTS] ... ring[(tail - 1) % SLOTS]   oldest .. newest
 *
 * Invariants: tail - head <= SLOTS; held == the bytes of those entries,
 * <= limit once a put returns. */
#include "quarantine.h"

#include "platform.h"

#define SLOTS ((size_t)1 << 20) /* 16 MiB of address space, touched as used */

typedef struct entry {
    void *block;
    size_t bytes;
} entry;

static entry *ring;
static size_t head, tail, held, limit;
static platform_lock quarantine_mutex;

int quarantine_setup(size_t bytes)
{
    if (bytes == 0)
        return 0;
    if (!(ring = platform_map(SLOTS * sizeof *ring)))
        return -1;
    platform_lock_init(&quarantine_mutex);
    limit = bytes;
    return 0;
}

void quarantine_put(void *block, size_t bytes, void (*leave)(void *block))
{
    if (!limit) {
        leave(block);
        return;
    }
    /* Blocks leave under the lock: a whole-heap check (quarantine_walk)
     * never sees a block half gone. */
    platform_lock_acquire(&quarantine_mutex);
    ring[tail++ % SLOTS] = (entry){block, bytes};
    held += bytes;
    while (held > limit || tail - head > SLOTS - 1) {
        entry out = ring[head++ % SLOTS];
        held -= out.bytes;
        leave(out.block);
    }
    platform_lock_release(&quarantine_mutex);
}

void quarantine_walk(void (*fn)(void *block, void *ctx), void *ctx)
{
    if (!limit)
        return;
    platform_lock_acquire(&quarantine_mutex);
    for (size_t i = head; i != tail; i++)
        fn(ring[i % SLOTS].block, ctx);
    platform_lock_release(&quarantine_mutex);
}

void quarantine_lock(void)
{
    if (limit)
        platform_lock_acquire(&quarantine_mutex);
}

void quarantine_unlock(void)
{
    if (limit)
        platform_lock_release(&quarantine_mutex);
}

void quarantine_count(size_t *blocks, size_t *bytes)
{
    *blocks = *bytes = 0;
    if (!limit)
        return;
    platform_lock_acquire(&quarantine_mutex);
    *blocks = tail - head;
    *bytes = held;
    platform_lock_release(&quarantine_mutex);
}
