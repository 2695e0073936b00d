/* front.c — the C API's rules (front.h) and the choice of allocator. */
#include "front.h"

#include <errno.h>
#include <string.h>

#include "debug.h"
#include "options.h"
#include "platform.h"
#include "report.h"

int front_mode = FRONT_UNSET;
static long front_lock;

static void choose(void)
{
    wmalloc_init();
    const options *o = wmalloc_options();
    int mode = FRONT_RELEASE;
    if (debug_wanted(o)) {
        char err[300], line[400];
        if (debug_start(o, err, sizeof err) != 0) {
            size_t n = report_format(line, sizeof line, "warden: %s\n", err);
            platform_write_error(line, n);
            platform_exit(1); /* never run unprotected when protection was asked for */
        }
        mode = FRONT_DEBUG;
    }
    __atomic_store_n(&front_mode, mode, __ATOMIC_RELEASE);
}

void front_init(void)
{
    if (__atomic_load_n(&front_mode, __ATOMIC_ACQUIRE) != FRONT_UNSET)
        return;
    while (__atomic_exchange_n(&front_lock, 1, __ATOMIC_ACQUIRE))
        platform_yield();
    if (__atomic_load_n(&front_mode, __ATOMIC_ACQUIRE) == FRONT_UNSET)
        choose();
    __atomic_store_n(&front_lock, 0, __ATOMIC_RELEASE);
}

void front_boot(void)
{
    front_init();
    if (front_mode == FRONT_DEBUG)
        debug_load();
}

static int debugging(void)
{
    front_init();
    return front_mode == FRONT_DEBUG;
}

void *front_alloc_slow(size_t size, size_t alignment, const char *op)
{
    if (debugging())
        return debug_alloc(size, alignment, op);
    return alignment > WMALLOC_ALIGNMENT ? wmalloc_malloc_slow(size, alignment, op) : wmalloc_malloc(size);
}

void front_free_slow(void *ptr)
{
    if (debugging())
        debug_free(ptr, "free");
    else
        wmalloc_free(ptr);
}

static void *aligned(size_t alignment, size_t size, const char *op)
{
    if (alignment <= WMALLOC_ALIGNMENT)
        return front_malloc(size);
    return front_alloc_slow(size, alignment, op);
}

void *front_calloc(size_t count, size_t size)
{
    size_t total;
    if (mul_overflows(count, size, &total) || total > WMALLOC_MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = front_malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *front_realloc(void *ptr, size_t size)
{
    if (front_is_release() || !debugging())
        return wmalloc_realloc(ptr, size);
    return debug_realloc(ptr, size);
}

void *front_reallocarray(void *ptr, size_t count, size_t size)
{
    size_t total;
    if (mul_overflows(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return front_realloc(ptr, total);
}

/* glibc's _mid_memalign: small alignments are malloc's; others are raised
 * to at least 32 and to a power of two; beyond SIZE_MAX/2 + 1, EINVAL. */
static void *memalign_as(size_t alignment, size_t size, const char *op)
{
    if (alignment <= WMALLOC_ALIGNMENT)
        return front_malloc(size);
    if (alignment > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    size_t a = 2 * WMALLOC_ALIGNMENT;
    while (a < alignment)
        a <<= 1;
    return aligned(a, size, op);
}

int front_posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
        return EINVAL;
    int saved = errno;
    void *p = aligned(alignment, size, "posix_memalign");
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *front_aligned_alloc(size_t alignment, size_t size)
{
    return memalign_as(alignment, size, "aligned_alloc");
}

void *front_memalign(size_t alignment, size_t size)
{
    return memalign_as(alignment, size, "memalign");
}

void *front_valloc(size_t size)
{
    return memalign_as(PLATFORM_PAGE, size, "valloc");
}

void *front_pvalloc(size_t size)
{
    size_t rounded;
    if (__builtin_add_overflow(size, PLATFORM_PAGE - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(PLATFORM_PAGE - 1);
    return memalign_as(PLATFORM_PAGE, rounded ? rounded : PLATFORM_PAGE, "pvalloc");
}

size_t front_usable_size(const void *ptr)
{
    if (front_is_release() || !debugging())
        return wmalloc_usable_size(ptr);
    return debug_usable_size(ptr);
}

size_t front_held_bytes(void)
{
    return front_mode == FRONT_DEBUG ? debug_quarantined_bytes() : 0;
}

size_t front_leak_report(void)
{
    return debugging() ? debug_leak_report() : 0;
}

int front_check_all(char *why, size_t why_size)
{
    if (debugging())
        return debug_check_all(why, why_size);
    return wmalloc_check_all(why, why_size);
}
