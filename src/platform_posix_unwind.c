/* platform_posix_unwind.c — the unwinder of platform_debug.h: libunwind's
 * unw_backtrace, loaded by dlopen. Not in the static library (a static
 * program has no loader to dlopen with): platform_posix_nounwind.c is. */
#include "platform_debug.h"

#include <dlfcn.h>

/* Under MSan, libunwind is not instrumented: the frames it writes would
 * read as never written. They are written: say so. */
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#include <sanitizer/msan_interface.h>
#define UNWOUND(pcs, n) __msan_unpoison((pcs), (size_t)(n) * sizeof(void *))
#endif
#endif
#ifndef UNWOUND
#define UNWOUND(pcs, n) ((void)0)
#endif

typedef int (*backtrace_fn)(void **, int);
static backtrace_fn unwinder; /* unw_backtrace once loaded; relaxed reads */

int platform_unwinder_load(void)
{
    /* RTLD_LOCAL: its _Unwind_* symbols must not take the place of libgcc's. */
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    backtrace_fn fn = lib ? (backtrace_fn)dlsym(lib, "unw_backtrace") : NULL;
    if (!fn)
        return -1;
    void *warm[4];
    fn(warm, 4); /* the first call builds libunwind's caches: not inside a report */
    __atomic_store_n(&unwinder, fn, __ATOMIC_RELEASE);
    return 0;
}

int platform_backtrace(void **pcs, int max)
{
    backtrace_fn fn = __atomic_load_n(&unwinder, __ATOMIC_ACQUIRE);
    int n = fn ? fn(pcs, max) : 0;
    UNWOUND(pcs, n > 0 ? n : 0);
    return n;
}

