/* wmalloc.c — the malloc layer's start-up (options, arenas, the thread
 * hook, fork handlers), binding threads to caches, the slow paths of
 * malloc and free, and the rest of the C allocation API with glibc 2.36's
 * semantics. Nothing here calls the C library's allocator, directly or
 * through anything that may (no stdio, no dlsym). */
#include "wmalloc.h"

#include <errno.h>
#include <string.h>

#include "arena.h"
#include "atomic.h"
#include "heap.h"
#include "mapcache.h"
#include "options.h"
#include "platform.h"
#include "report.h"

WARDEN_TLS tcache *wmalloc_self;

const bucket_site wmalloc_free_site = {"free", "double free", "invalid free"};
const bucket_site wmalloc_realloc_site = {"realloc", "use after free (block already freed)", "invalid pointer"};
const bucket_site wmalloc_usable_site = {"malloc_usable_size", "use after free (block already freed)",
                                         "invalid pointer"};


static options opts;
static uint64_t ready;   /* 1 once start-up is done (acquire/release) */
static long start_lock;  /* held by the thread doing start-up */

/* ---- start-up ------------------------------------------------------------- */

static void write_err(const char *text, size_t len)
{
    platform_write_error(text, len);
}

static _Noreturn void die(const char *line)
{
    char out[600];
    size_t n = report_format(out, sizeof out, "warden: %s\n", line);
    platform_write_error(out, n);
    platform_exit(1);
}

static void (*on_thread_exit)(void);

void wmalloc_on_thread_exit(void (*fn)(void))
{
    on_thread_exit = fn;
}

static void thread_end(void *cache)
{
    if (on_thread_exit)
        on_thread_exit(); /* it may still free: the cache is the thread's yet */
    tcache_release(cache);
    wmalloc_self = WMALLOC_DEAD; /* frees that still come take the heap path */
}

static void fork_prepare(void)
{
    tcache_lock_list();
    arena_lock_all();
}

static void fork_after(void)
{
    arena_unlock_all();
    tcache_unlock_list();
}

static void start(void)
{
    char err[600];
    options_defaults(&opts);
    if (options_parse(&opts, platform_getenv("WARDEN_OPTIONS"), err, sizeof err) != 0)
        die(err);
    if (opts.help) {
        static const char head[] = "warden: WARDEN_OPTIONS=key=value:key=value, with these keys:\n";
        platform_write_error(head, sizeof head - 1);
        options_table(write_err);
    }
    integrity_init();
    unsigned n = (unsigned)opts.arenas;
    if (n == 0) {
        n = platform_cpu_count(); /* more cost memory (each its own regions and caches), not time, here */
        n = n > 16 ? 16 : n;
    }
    mapcache_setup((size_t)opts.pool_bytes, 0);
    size_t cache_bytes = opts.tcache && WMALLOC_LOCK_FREE ? (size_t)opts.tcache_bytes : 0;
    if (arena_init(n, (size_t)opts.large_reserve, cache_bytes ? (size_t)opts.central_bytes : 0) != 0)
        die("cannot map its arenas (out of memory)");
    tcache_setup(cache_bytes);
    /* Neither allocates (glibc 2.36: key < 32 at start-up, first atfork). */
    if (platform_thread_hook_create(thread_end) != 0 || platform_atfork(fork_prepare, fork_after, fork_after) != 0)
        die("cannot register its thread-exit and fork handlers");
    if (opts.stats)
        platform_keep_error_stream();
    if (opts.verbose)
        options_describe(&opts, write_err);
}

static WARDEN_NOINLINE void start_once(void)
{
    while (atomic_swap_int(&start_lock, 1))
        platform_yield();
    if (!atomic_load_u64(&ready)) {
        start();
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    atomic_release_int(&start_lock);
}

void wmalloc_init(void)
{
    if (!atomic_load_u64(&ready))
        start_once();
}

/* This thread's cache, made on its first call; NULL when out of memory,
 * WMALLOC_DEAD once the thread has ended. */
static tcache *self_cache(void)
{
    tcache *tc = wmalloc_self;
    if (tc)
        return tc;
    tc = tcache_create(arena_pick());
    if (!tc)
        return NULL;
    wmalloc_self = tc;
    platform_thread_hook_set(tc);
    return tc;
}

/* ---- the slow paths ------------------------------------------------------- */

void *wmalloc_malloc_slow(size_t size, size_t alignment, const char *op)
{
    if (size > WMALLOC_MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    wmalloc_init();
    tcache *tc = self_cache();
    if (WMALLOC_LOCK_FREE && wmalloc_live(tc) && alignment <= WMALLOC_ALIGNMENT && size <= TCACHE_MAX_REQUEST)
        return tcache_refill(tc, size, op);
    return heap_alloc(wmalloc_live(tc) ? tc->heap : arena_at(0), size,
                      alignment > WMALLOC_ALIGNMENT ? alignment : 0, op);
}

/* Not a block the fast path could take: a thread's first free (it gets its
 * cache and tries again), a thread that has ended (the heap takes it), or
 * misuse, which heap_free_ptr names and ends in. */
void wmalloc_free_slow(void *ptr, const bucket_site *site)
{
    int saved = errno;
    wmalloc_init();
    if (!wmalloc_self && self_cache()) {
        wmalloc_free_as(ptr, site);
    } else {
        heap_free_ptr(NULL, ptr, site);
    }
    errno = saved;
}

/* ---- the rest of the API ---------------------------------------------------- */

/* ptr, proved a live block by its owner without the lock; misuse is
 * diagnosed (under the lock) and ends the program. */
static block *live_block(const void *ptr, const bucket_site *site)
{
    wmalloc_init();
    block *b = block_of_payload(ptr);
    if (!WMALLOC_LOCK_FREE || !wmalloc_in_region(region_of(ptr), ptr) || !block_is_live(b))
        heap_usable(NULL, ptr, site); /* proves it under the lock: reports misuse, and does not return */
    return b;
}

/*
 * realloc, case by case (glibc 2.36):
 *   1. ptr NULL                         -> malloc(size)
 *   2. size 0                           -> free(ptr), NULL
 *   3. ptr not a live block             -> abort with one line (freed, foreign, damaged)
 *   4. size impossible                  -> NULL, ENOMEM, the block untouched
 *   5. small block, or a small new size -> in place when it fits without wasting half,
 *                                          else malloc, copy, free (caches on both ends)
 *   6. large to large                   -> the heap: in place when it can, else moved
 */
void *wmalloc_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return wmalloc_malloc(size);
    if (size == 0) {
        wmalloc_free_as(ptr, &wmalloc_realloc_site);
        return NULL;
    }
    block *b = live_block(ptr, &wmalloc_realloc_site);
    if (size > WMALLOC_MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    size_t usable = WMALLOC_LOCK_FREE ? block_usable(b) : 0;
    if (WMALLOC_LOCK_FREE && (block_size(b) - 2u < TCACHE_CLASSES || size <= TCACHE_MAX_REQUEST)) {
        if (size <= usable && size >= usable / 2) {
            block_set_requested(b, size);
            return ptr;
        }
        void *fresh = wmalloc_malloc(size);
        if (!fresh)
            return NULL;
        memcpy(fresh, ptr, usable < size ? usable : size);
        wmalloc_free_as(ptr, &wmalloc_realloc_site);
        return fresh;
    }
    return heap_realloc(NULL, ptr, size, &wmalloc_realloc_site);
}

size_t wmalloc_live_usable(const void *ptr)
{
    return wmalloc_live_usable_in(region_of(ptr), ptr);
}

void wmalloc_walk(void (*fn)(void *payload, size_t usable, void *ctx), void *ctx)
{
    wmalloc_init();
    arena_walk(fn, ctx);
}

const options *wmalloc_options(void)
{
    wmalloc_init();
    return &opts;
}

size_t wmalloc_usable_size(const void *ptr)
{
    if (!ptr)
        return 0;
    if (!WMALLOC_LOCK_FREE) /* the requested bytes: the rest is poisoned */
        return heap_usable(NULL, ptr, &wmalloc_usable_site);
    return block_usable(live_block(ptr, &wmalloc_usable_site));
}

/* ---- the whole process -------------------------------------------------------- */

int wmalloc_trim(size_t pad)
{
    (void)pad;
    wmalloc_init();
    tcache *tc = wmalloc_self;
    if (wmalloc_live(tc))
        tcache_flush(tc);
    return arena_purge() > 0;
}

int wmalloc_check_all(char *why, size_t why_size)
{
    wmalloc_init();
    tcache *tc = wmalloc_self;
    if (wmalloc_live(tc) && tcache_check(tc, why, why_size) != 0)
        return 1;
    return arena_check(why, why_size);
}

void wmalloc_get_info(wmalloc_info *info)
{
    wmalloc_init();
    warden_heap_stats s;
    size_t cached_blocks, cached_bytes;
    arena_stats(&s, &cached_blocks, &cached_bytes);
    *info = (wmalloc_info){s.mapped_bytes, s.live_blocks, s.live_bytes, cached_blocks, cached_bytes,
                           s.free_blocks, s.free_bytes, arena_count(), {0}};
    tcache_get_stats(&info->caches);
}

void wmalloc_print_stats(void (*write)(const char *text, size_t len))
{
    wmalloc_info i;
    wmalloc_get_info(&i);
    char line[600];
    size_t n = report_format(line, sizeof line,
                             "warden: stats: %zu arenas, %zu bytes mapped; handed out %zu blocks, %zu bytes, "
                             "of which %zu blocks, %zu bytes in central caches; free %zu blocks, %zu bytes\n"
                             "warden: stats: %zu thread caches; %zu refills, %zu flushes; %zu remote frees "
                             "in %zu batches\n",
                             i.arenas, i.mapped, i.live_blocks, i.live_bytes, i.cached_blocks, i.cached_bytes,
                             i.free_blocks, i.free_bytes,
                             (size_t)i.caches.caches, (size_t)i.caches.refills, (size_t)i.caches.flushes,
                             (size_t)i.caches.remote_blocks, (size_t)i.caches.remote_batches);
    write(line, n);
}

__attribute__((destructor)) static void at_exit(void)
{
    if (atomic_load_u64(&ready) && opts.stats)
        wmalloc_print_stats(platform_write_error);
}
