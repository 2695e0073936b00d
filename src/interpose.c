/* interpose.c — libwarden-malloc's exports: the C allocation API under its
 * C names (malloc, free, ... as glibc's manual lists what a replacement
 * must define, plus reallocarray and glibc's malloc_trim, mallinfo2,
 * mallinfo, malloc_stats), each a call of the front end in wmalloc.h.
 * Linked or preloaded, these take the place of glibc's for the program,
 * for libc itself (strdup, getline, stdio, qsort, dlopen, locales) and for
 * C++'s operator new, which calls malloc. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>

#include "front.h"
#include "interpose.h"
#include "platform_debug.h"
#include "wmalloc.h"

#define EXPORT __attribute__((visibility("default")))

/* Start-up at load time too, not only at the first call: a bad
 * WARDEN_OPTIONS stops even a program that never allocates. (A prefixed
 * build, interpose.h, starts at its first call, with the options of then.) */
#ifndef WARDEN_PREFIX
__attribute__((constructor)) static void boot(void)
{
    front_boot();
}
#endif

EXPORT void *WARDEN_NAME(malloc)(size_t size)
{
    return front_malloc(size);
}

EXPORT void WARDEN_NAME(free)(void *ptr)
{
    front_free(ptr);
}

EXPORT void *WARDEN_NAME(calloc)(size_t count, size_t size)
{
    return front_calloc(count, size);
}

EXPORT void *WARDEN_NAME(realloc)(void *ptr, size_t size)
{
    return front_realloc(ptr, size);
}

EXPORT void *WARDEN_NAME(reallocarray)(void *ptr, size_t count, size_t size)
{
    return front_reallocarray(ptr, count, size);
}

EXPORT int WARDEN_NAME(posix_memalign)(void **out, size_t alignment, size_t size)
{
    return front_posix_memalign(out, alignment, size);
}

EXPORT void *WARDEN_NAME(aligned_alloc)(size_t alignment, size_t size)
{
    return front_aligned_alloc(alignment, size);
}

EXPORT void *WARDEN_NAME(memalign)(size_t alignment, size_t size)
{
    return front_memalign(alignment, size);
}

EXPORT void *WARDEN_NAME(valloc)(size_t size)
{
    return front_valloc(size);
}

EXPORT void *WARDEN_NAME(pvalloc)(size_t size)
{
    return front_pvalloc(size);
}

EXPORT size_t WARDEN_NAME(malloc_usable_size)(void *ptr)
{
    return front_usable_size(ptr);
}

EXPORT int WARDEN_NAME(malloc_trim)(size_t pad)
{
    return wmalloc_trim(pad);
}

EXPORT void WARDEN_NAME(malloc_stats)(void)
{
    wmalloc_print_stats(platform_write_stderr); /* the stderr of now, as glibc's */
}

EXPORT struct mallinfo2 WARDEN_NAME(mallinfo2)(void)
{
    wmalloc_info i;
    wmalloc_get_info(&i);
    struct mallinfo2 m = {0};
    m.arena = i.mapped;        /* every byte mapped: regions and heap headers */
    m.ordblks = i.free_blocks; /* free blocks in the heaps */
    size_t held = front_held_bytes(); /* freed by the program, held in the debug quarantine */
    m.uordblks = i.live_bytes - i.cached_bytes - held; /* in use (blocks in thread caches included) */
    m.fordblks = i.free_bytes + i.cached_bytes + held; /* free in the heaps, central caches, quarantine */
    return m;
}

EXPORT struct mallinfo WARDEN_NAME(mallinfo)(void)
{
    struct mallinfo2 m2 = WARDEN_NAME(mallinfo2)();
    struct mallinfo m = {0};
    m.arena = (int)m2.arena;
    m.ordblks = (int)m2.ordblks;
    m.uordblks = (int)m2.uordblks;
    m.fordblks = (int)m2.fordblks;
    return m;
}

EXPORT int WARDEN_NAME(warden_check_all)(char *why, size_t why_size)
{
    return front_check_all(why, why_size);
}

EXPORT size_t WARDEN_NAME(warden_leak_report)(void)
{
    return front_leak_report();
}

/* SIGSEGV stays warden's once guard pages are on: a handler the program
 * installs is kept as the one warden chains to for faults not its own.
 * (glibc's signal does not go through sigaction: both are interposed.) */
EXPORT int WARDEN_NAME(sigaction)(int sig, const struct sigaction *act, struct sigaction *old)
{
    return platform_sigaction(sig, act, old);
}

EXPORT warden_signal_handler warden_interposed_signal(int sig, warden_signal_handler handler)
{
    return platform_signal(sig, handler);
}

EXPORT warden_signal_handler WARDEN_NAME(bsd_signal)(int sig, warden_signal_handler handler)
{
    return platform_signal(sig, handler);
}
