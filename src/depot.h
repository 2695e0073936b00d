/* depot.h — the stack depot: every distinct call stack seen at a malloc or
 * free, stored once; a block keeps a 32-bit id, not a copy. Capturing
 * unwinds by DWARF (libunwind's unw_backtrace: frame pointers lie through
 * Debian's libraries), drops warden's own frames, and looks the stack up
 * without a lock; only a new stack takes the depot's lock. Nothing here
 * allocates through malloc. */
#ifndef WARDEN_DEPOT_H
#define WARDEN_DEPOT_H

#include <stddef.h>
#include <stdint.h>

#define DEPOT_MAX_DEPTH 64u

typedef uint32_t stack_id; /* 0: no stack (capture off, out of room, or re-entered) */

/* Keeps up to depth frames per stack (0: capture is off); loads the
 * unwinder. Call once, where dlopen may run (not inside malloc). 0, or -1
 * when no unwinder could be loaded (stacks stay empty). */
int depot_setup(unsigned depth);
/* The stack of the caller's caller chain, from the first frame outside warden. */
stack_id depot_capture(void);
/* The calling stack now, not stored: up to max frames into pcs (also with
 * capture off, when the unwinder is loaded); the count. */
size_t depot_walk(uintptr_t *pcs, size_t max);
/* The frames of stack id into pcs (at most max); the count. */
size_t depot_frames(stack_id id, uintptr_t *pcs, size_t max);
/* Heap blocks of the release allocator the depot holds for the calling
 * thread (its cache of recent stacks): 0 or 1. */
size_t depot_blocks(void);
/* The calling thread ends: its cache of recent stacks goes back. */
void depot_thread_end(void);
/* Its lock (fork). */
void depot_lock(void);
void depot_unlock(void);

#endif /* WARDEN_DEPOT_H */
