/* guard.h — the guard pool: blocks placed right against an inaccessible
 * page, so that a read or write past their end faults at the instruction
 * (as in Electric Fence and GWP-ASan), and freed blocks made inaccessible,
 * so that any use after free faults too. One reservation of SLOTS slots,
 * each GUARD_SLOT_PAGES pages: data pages made accessible as a block needs
 * them, the slot's last page never. Freed slots wait, inaccessible, in a
 * FIFO, and the oldest is reused first; live and waiting slots are bounded
 * by the pool, which is sized to the kernel's map count, so the pool never
 * exhausts vm.max_map_count. Each slot has a record of record_bytes for
 * its user (debug.c keeps the block's header there: out of the block's
 * pages, so it stays readable after the free). */
#ifndef WARDEN_GUARD_H
#define WARDEN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define GUARD_SLOT_PAGES 16 /* 64 KiB of address space a slot: up to 60 KiB of data */

/* The pool's span, for guard_owns (0, 0 when off). */
extern uintptr_t guard_lo, guard_hi;

/* Whether p lies in the pool. */
static inline int guard_owns(const void *p)
{
    return (uintptr_t)p - guard_lo < guard_hi - guard_lo;
}

/* Reserves slots slots (0: 16384; without markers as many as the map
 * count leaves room for, at most 16384), with a record of record_bytes
 * each; one allocation in rate is placed in the pool (1: every one); its
 * pages are guard markers when markers is 1 and the kernel has them, else
 * mprotect'ed. 0, or -1 with one line in err. */
int guard_setup(size_t slots, size_t rate, int markers, size_t record_bytes, char *err, size_t err_size);
/* Whether this allocation should be guarded (the rate, per thread). */
int guard_sampled(void);
/* A slot for size bytes at alignment: the user pointer, its end (the guard
 * page) in *end, and its first accessible byte in *start; NULL when the
 * block cannot be guarded (too big, alignment above a page) or no slot is
 * free (said once). */
void *guard_alloc(size_t size, size_t alignment, unsigned char **start, unsigned char **end);
/* The block at user (guard_alloc's) leaves: its pages become inaccessible
 * and its slot waits in the FIFO. */
void guard_free(const void *user);
/* The record of the slot holding p (guard_owns(p)). */
void *guard_record(const void *p);
/* The user pointer of the slot holding p, the start of its accessible
 * pages and its guard page; 0, or -1 when the slot holds no block now. */
int guard_block_of(const void *p, unsigned char **user, unsigned char **start, unsigned char **end);
/* Makes the page holding p accessible for good (after its fault was
 * reported, so the program can go on); its slot is never reused. 0, or -1
 * when the kernel refused (the page stays inaccessible). */
int guard_open(const void *p);
/* Calls fn(user, ctx) for each live guarded block, under the pool's lock. */
void guard_walk(void (*fn)(void *user, void *ctx), void *ctx);
/* The pool's own invariants (its FIFO of freed slots; none reused too
 * soon): 0, or non-zero with one line in why. */
int guard_check(char *why, size_t why_size);
/* The calling thread's sampling starts over: its next allocation is
 * guarded (a fuzz harness, so each input samples alike). */
void guard_sample_restart(void);
/* The pool's lock (fork). */
void guard_lock(void);
void guard_unlock(void);

#endif /* WARDEN_GUARD_H */
