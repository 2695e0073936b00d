/* wmalloc.h — the malloc layer's front end: the C allocation API with
 * glibc 2.36's semantics over the arenas and thread caches, and the
 * hardening on every free and realloc. interpose.c gives these the C
 * names; tests and harnesses call them by these names (so they can run
 * under a sanitizer that owns `malloc`). The fast paths are here, inline:
 * a pop from the thread's cache, or a seal check and a push; everything
 * else is in wmalloc.c, out of line.
 *
 * Where a tool watches the heap (SAN_ANY: memcheck-aware, ASan, MSan
 * builds; WMALLOC_LOCK_FREE is 0) there are no lock-free paths: opening a header to the tool is not
 * atomic, so every call takes the heap's locks, and the caches hold nothing.
 *
 * Reading order: wmalloc_malloc, wmalloc_free below; then wmalloc.c
 * (start-up, the slow paths, realloc's ladder); tcache.h; arena.h; heap.h. */
#ifndef WARDEN_WMALLOC_H
#define WARDEN_WMALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "bucket.h"
#include "compiler.h"
#include "region.h"
#include "tcache.h"

#define WMALLOC_MAX_REQUEST ((size_t)PTRDIFF_MAX) /* larger: ENOMEM from every entry point */
#define WMALLOC_ALIGNMENT GRANULE                  /* what plain malloc guarantees */
#define WMALLOC_DEAD ((tcache *)1) /* this thread has ended: no cache any more */
/* Whether the lock-free paths (thread caches, unlocked header reads) exist:
 * not where a tool watches the heap. Every SAN_ANY decision is this one. */
#define WMALLOC_LOCK_FREE (!SAN_ANY)

/* This thread's cache: NULL before its first call, WMALLOC_DEAD after its end. */
extern WARDEN_TLS tcache *wmalloc_self;

/* The words of each entry point's misuse reports. */
extern const bucket_site wmalloc_free_site, wmalloc_realloc_site, wmalloc_usable_site;

void *wmalloc_malloc_slow(size_t size, size_t alignment, const char *op) WARDEN_NOINLINE;
void wmalloc_free_slow(void *ptr, const bucket_site *site) WARDEN_NOINLINE;

static inline int wmalloc_live(const tcache *tc)
{
    return (uintptr_t)tc > (uintptr_t)WMALLOC_DEAD;
}

/* Whether ptr could be a block's payload in region r (NULL: no region):
 * aligned, past the region header, before the fence; its header is then
 * inside the mapping and may be read. */
static inline int wmalloc_in_region(const region *r, const void *ptr)
{
    return r != NULL && ((uintptr_t)ptr & (GRANULE - 1)) == 0 &&
           (const char *)ptr >= (const char *)block_payload(region_first(r)) &&
           (const char *)ptr < (const char *)region_fence(r);
}

static WARDEN_INLINE void *wmalloc_malloc(size_t size)
{
    tcache *tc = wmalloc_self;
    if (WARDEN_LIKELY(size <= TCACHE_MAX_REQUEST && wmalloc_live(tc))) {
        void *p = tcache_pop(tc, size);
        if (WARDEN_LIKELY(p != NULL))
            return p;
    }
    return wmalloc_malloc_slow(size, 0, "malloc");
}

/* free: the pointer is proved a live block of a warden region (page map,
 * bounds, seal) and marked cached in one step; anything else is diagnosed
 * out of line, and misuse ends there with one line. */
static WARDEN_INLINE void wmalloc_free_as(void *ptr, const bucket_site *site)
{
    tcache *tc = wmalloc_self;
    region *r = region_of(ptr);
    if (WARDEN_LIKELY(WMALLOC_LOCK_FREE && wmalloc_live(tc) && wmalloc_in_region(r, ptr))) {
        block *b = block_of_payload(ptr);
        uint32_t g = block_cache_enter(b);
        if (WARDEN_LIKELY(g != 0)) {
            san_chunk_free(r->heap, ptr, ((size_t)g << GRANULE_SHIFT) - BLOCK_HEADER);
            int remote = r->heap != tc->heap;
            if (WARDEN_LIKELY(!remote && tcache_push(tc, b, g)))
                return;
            tcache_free_slow(tc, b, g, remote);
            return;
        }
    }
    if (ptr)
        wmalloc_free_slow(ptr, site);
}

static WARDEN_INLINE void wmalloc_free(void *ptr)
{
    wmalloc_free_as(ptr, &wmalloc_free_site);
}

/* realloc with glibc's cases (wmalloc.c has the ladder). */
void *wmalloc_realloc(void *ptr, size_t size);
size_t wmalloc_usable_size(const void *ptr);
/* The usable bytes of ptr when it is a live block's payload, else 0: a
 * question, never a report (the debug profile asks it of any pointer). */
size_t wmalloc_live_usable(const void *ptr);
/* The same, for a ptr already looked up: r is region_of(ptr). */
static inline size_t wmalloc_live_usable_in(const region *r, const void *ptr)
{
    if (!WMALLOC_LOCK_FREE || !wmalloc_in_region(r, ptr))
        return 0;
    const block *b = block_of_payload(ptr);
    return block_is_live(b) ? block_usable(b) : 0;
}
/* The usable bytes of a block wmalloc_malloc or wmalloc_malloc_slow just
 * gave this thread: read off its header, with no questions asked. */
static inline size_t wmalloc_fresh_usable(const void *ptr)
{
    return block_usable(block_of_payload(ptr));
}
/* heap_walk over every arena (fn must not allocate, free or report). */
void wmalloc_walk(void (*fn)(void *payload, size_t usable, void *ctx), void *ctx);
/* The options the process started with. */
struct options;
const struct options *wmalloc_options(void);
/* malloc_trim: this thread's cache back to its heap, free pages to the OS; 1 when any went. */
int wmalloc_trim(size_t pad);
/* Every arena, and this thread's cache: 0, or non-zero with one line in why. */
int wmalloc_check_all(char *why, size_t why_size);
/* Statistics of every arena and the caches; printed by malloc_stats and stats=1. */
typedef struct wmalloc_info {
    size_t mapped;                  /* bytes mapped: regions, heap and cache structures */
    size_t live_blocks, live_bytes; /* blocks the heaps have handed out (caches' included) */
    size_t cached_blocks, cached_bytes; /* of those, the ones held by the central caches */
    size_t free_blocks, free_bytes; /* free blocks in the heaps */
    size_t arenas;
    tcache_stats caches;
} wmalloc_info;
void wmalloc_get_info(wmalloc_info *info);
/* fn runs when a thread that allocated ends, before its cache goes back
 * (the debug profile lets its freed blocks in then). */
void wmalloc_on_thread_exit(void (*fn)(void));
/* The statistics in two lines, through write (platform_write_error or _stderr). */
void wmalloc_print_stats(void (*write)(const char *text, size_t len));
/* Runs the one-time start-up now (options, arenas); the slow paths call it. */
void wmalloc_init(void);

#endif /* WARDEN_WMALLOC_H */
