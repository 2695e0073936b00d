/* spinlock.h — the bump arena's lock: one atomic exchange to take it and
 * one store to drop it when uncontended; a waiter spins briefly, then
 * yields the processor. */
#ifndef WARDEN_SPINLOCK_H
#define WARDEN_SPINLOCK_H

#include "atomic.h"
#include "platform.h"

typedef struct spinlock {
    long held; /* 1 while a thread is inside */
} spinlock;

static inline void spinlock_acquire(spinlock *l)
{
    while (atomic_swap_int(&l->held, 1)) {
        for (int spins = 0; atomic_peek_int(&l->held) && spins < 64; spins++)
            ;
        if (atomic_peek_int(&l->held))
            platform_yield();
    }
}

static inline void spinlock_release(spinlock *l)
{
    atomic_release_int(&l->held);
}

#endif /* WARDEN_SPINLOCK_H */
