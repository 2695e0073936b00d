/* quarantine.c — a ring of (block, bytes) entries in one mapping:
 *
 *   ring[head % SLOTS] ... ring[(tail - 1) % SLOTS]   oldest .. newest
 *
 * Entries hide their blocks' addresses from the leak check (entry).
 *
 * Invariants: tail - head < SLOTS; held == the bytes of those entries,
 * <= limit once a put returns, as a rule (a put lets OUT_MAX blocks out at
 * most, so a big block in may leave it over for a few puts). A thread's
 * batch (BATCH blocks at most) is in no ring yet. */
#include "quarantine.h"

#include "compiler.h"
#include "platform.h"

#define SLOTS ((size_t)1 << 20) /* 16 MiB of address space, touched as used */

/* An entry keeps its block's address XORed with HIDDEN: the leak check
 * scans the ring and the threads' batches as roots (warden's own mappings
 * and TLS are the process's memory), and an entry a block has left behind
 * (the ring is written over only a million blocks later) would reach the
 * block that has that address now, and hide its leak. */
#define HIDDEN ((uintptr_t)0xa5a5a5a5a5a5a5a5u)

typedef struct entry {
    uintptr_t hidden; /* the block's address ^ HIDDEN */
    size_t bytes;
} entry;

static void *entry_block(const entry *e)
{
    return (void *)(e->hidden ^ HIDDEN);
}

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

#define BATCH 32 /* blocks a thread gathers before taking the lock */
#define AHEAD 6  /* blocks fetched ahead of the one leaving */

static WARDEN_TLS entry batch[BATCH];
static WARDEN_TLS size_t batch_count;

/* A leaving block's lines that leave() reads: the headers before it, its
 * first bytes and its last (where a tail canary starts). */
static void prefetch_entry(const entry *e)
{
    const char *b = entry_block(e);
    __builtin_prefetch(b - 64);
    __builtin_prefetch(b);
    if (e->bytes > 128)
        __builtin_prefetch(b + e->bytes - 64 - 48);
}

#define OUT_MAX (BATCH * 4) /* blocks let out by one batch at most (the rest by the next ones) */

/* The ring takes the batch; the blocks that must leave are copied to out
 * (OUT_MAX + BATCH at most: a big block in may leave the ring over its
 * bytes for a few batches); returns how many. Under the lock. */
static size_t take_in(const entry *in, size_t n, entry *out)
{
    size_t gone = 0;
    for (size_t i = 0; i < n; i++) {
        ring[tail++ % SLOTS] = in[i];
        held += in[i].bytes;
        while (tail - head > SLOTS - 1 || (held > limit && gone < OUT_MAX)) { /* the first: once per entry */
            entry e = ring[head++ % SLOTS];
            held -= e.bytes;
            out[gone++] = e;
        }
    }
    return gone;
}

static void put_batch(void (*leave)(void *block, size_t bytes))
{
    entry out[OUT_MAX + BATCH];
    platform_lock_acquire(&quarantine_mutex);
    size_t gone = take_in(batch, batch_count, out);
    platform_lock_release(&quarantine_mutex);
    batch_count = 0;
    for (size_t i = 0; i < gone && i < AHEAD; i++)
        prefetch_entry(&out[i]);
    for (size_t i = 0; i < gone; i++) {
        if (i + AHEAD < gone)
            prefetch_entry(&out[i + AHEAD]);
        leave(entry_block(&out[i]), out[i].bytes);
    }
}

void quarantine_put(void *block, size_t bytes, void (*leave)(void *block, size_t bytes))
{
    if (!limit) {
        leave(block, bytes);
        return;
    }
    batch[batch_count++] = (entry){(uintptr_t)block ^ HIDDEN, bytes};
    if (batch_count == BATCH)
        put_batch(leave);
}

void quarantine_flush(void (*leave)(void *block, size_t bytes))
{
    if (limit && batch_count)
        put_batch(leave);
}

void quarantine_walk(void (*fn)(void *block, void *ctx), void *ctx)
{
    if (!limit)
        return;
    platform_lock_acquire(&quarantine_mutex);
    for (size_t i = head; i != tail; i++)
        fn(entry_block(&ring[i % SLOTS]), ctx);
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
