/* quarantine.c — a ring of (block, bytes) entries in one mapping:
 *
 *   ring[head % SLOTS] ... ring[(tail - 1) % SLOTS]   oldest .. newest
 *
 * Invariants: tail - head <= SLOTS; held == the bytes of those entries,
 * <= limit once a put returns. */
#include "quarantine.h"

#include "platform.h"

#define SLOTS ((size_t)1 << 20) /* 16 MiB of address space, touched as used */
#define LEAVE_BATCH 32u        /* blocks handed to leave() per lock hold, at most */

typedef struct entry {
    void *block;
    size_t bytes;
} entry;

static entry *ring;
static size_t head, tail, held, limit;
static platform_lock quarantine_lock;

int quarantine_setup(size_t bytes)
{
    if (bytes == 0)
        return 0;
    if (!(ring = platform_map(SLOTS * sizeof *ring)))
        return -1;
    platform_lock_init(&quarantine_lock);
    limit = bytes;
    return 0;
}

int quarantine_on(void)
{
    return limit != 0;
}

void quarantine_put(void *block, size_t bytes, void (*leave)(void *block))
{
    if (!limit) {
        leave(block);
        return;
    }
    entry out[LEAVE_BATCH];
    size_t n = 0;
    int more = 1;
    platform_lock_acquire(&quarantine_lock);
    ring[tail++ % SLOTS] = (entry){block, bytes};
    held += bytes;
    while (more) {
        while (n < LEAVE_BATCH && (held > limit || tail - head > SLOTS - 1)) {
            out[n] = ring[head++ % SLOTS];
            held -= out[n++].bytes;
        }
        more = n == LEAVE_BATCH;
        platform_lock_release(&quarantine_lock);
        for (size_t i = 0; i < n; i++)
            leave(out[i].block);
        n = 0;
        if (more)
            platform_lock_acquire(&quarantine_lock);
    }
}

void quarantine_count(size_t *blocks, size_t *bytes)
{
    *blocks = *bytes = 0;
    if (!limit)
        return;
    platform_lock_acquire(&quarantine_lock);
    *blocks = tail - head;
    *bytes = held;
    platform_lock_release(&quarantine_lock);
}
