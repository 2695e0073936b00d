/* quarantine.h — freed debug blocks held back, oldest first out: while a
 * block waits here its memory is nobody's, so a write into it (junk
 * changed) is found when it leaves, at a heap check or at exit. Bounded by
 * bytes and by slots. */
#ifndef WARDEN_QUARANTINE_H
#define WARDEN_QUARANTINE_H

#include <stddef.h>

/* Holds up to bytes (0: off; everything passes straight through). */
int quarantine_setup(size_t bytes);
/* Takes block (bytes of memory) in. A thread gathers its blocks in a
 * batch of its own and puts the batch in under one lock; the blocks that
 * must leave to make room are given to leave(block, bytes) after the lock
 * is let go, oldest first (their memory fetched ahead). */
void quarantine_put(void *block, size_t bytes, void (*leave)(void *block, size_t bytes));
/* Puts the calling thread's batch in now (at exit, before a check). */
void quarantine_flush(void (*leave)(void *block, size_t bytes));
/* Calls fn(block, ctx) for every block held (in the ring: not those still
 * in a thread's batch), under the lock (fn must not allocate, free or
 * report). */
void quarantine_walk(void (*fn)(void *block, void *ctx), void *ctx);
/* Its lock (fork). */
void quarantine_lock(void);
void quarantine_unlock(void);
/* Blocks and bytes held. */
void quarantine_count(size_t *blocks, size_t *bytes);

#endif /* WARDEN_QUARANTINE_H */
