/* front.h — the C allocation API as glibc 2.36 defines it (sizes,
 * alignments, errno), over whichever allocator the options chose at
 * start-up: the release one (wmalloc.h) or the debug profile (debug.h).
 * interpose.c gives these the C names. The release fast paths are inline:
 * one load and a compare more than wmalloc's own. */
#ifndef WARDEN_FRONT_H
#define WARDEN_FRONT_H

#include <stddef.h>

#include "compiler.h"
#include "wmalloc.h"

#define FRONT_UNSET 0   /* before start-up */
#define FRONT_RELEASE 1 /* wmalloc */
#define FRONT_DEBUG 2   /* debug.h */

extern int front_mode;

static inline int front_is_release(void)
{
    return __atomic_load_n(&front_mode, __ATOMIC_RELAXED) == FRONT_RELEASE;
}

void *front_alloc_slow(size_t size, size_t alignment, const char *op) WARDEN_NOINLINE;
void front_free_slow(void *ptr) WARDEN_NOINLINE;

static WARDEN_INLINE void *front_malloc(size_t size)
{
    if (WARDEN_LIKELY(front_is_release()))
        return wmalloc_malloc(size);
    return front_alloc_slow(size, 0, "malloc");
}

static WARDEN_INLINE void front_free(void *ptr)
{
    if (WARDEN_LIKELY(front_is_release()))
        wmalloc_free(ptr);
    else
        front_free_slow(ptr);
}

/* Start-up now: options, arenas, the mode. */
void front_init(void);
/* At load time (a constructor): start-up, and the debug profile's unwinder. */
void front_boot(void);

void *front_calloc(size_t count, size_t size);
void *front_realloc(void *ptr, size_t size);
void *front_reallocarray(void *ptr, size_t count, size_t size);
int front_posix_memalign(void **out, size_t alignment, size_t size);
void *front_aligned_alloc(size_t alignment, size_t size);
void *front_memalign(size_t alignment, size_t size);
void *front_valloc(size_t size);
void *front_pvalloc(size_t size);
size_t front_usable_size(const void *ptr);
/* Bytes the program has freed that are not back in the heaps yet (the
 * debug profile's quarantine); 0 in the release mode. */
size_t front_held_bytes(void);
/* warden_check_all: the heaps, and in the debug profile every canary and
 * quarantined block; 0, or non-zero with one line in why. */
int front_check_all(char *why, size_t why_size);
/* warden_leak_report: the debug profile's leak check now; the bytes lost
 * (0 in the release mode, whose blocks have no allocation records). */
size_t front_leak_report(void);

#endif /* WARDEN_FRONT_H */
