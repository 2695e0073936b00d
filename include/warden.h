/* warden.h — the public API of warden, a memory allocator built to find heap
 * bugs.  Two allocators live here: the bucketed region heap (warden_heap_*)
 * and, in a later part, the segregated bump arena (warden_bump_*).
 * Every name and meaning below is a contract; see README.md for the design. */
#ifndef WARDEN_H
#define WARDEN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(WARDEN_SHARED_BUILD)
#define WARDEN_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define WARDEN_API __attribute__((visibility("default")))
#else
#define WARDEN_API
#endif

#define WARDEN_VERSION_MAJOR 0
#define WARDEN_VERSION_MINOR 1
#define WARDEN_VERSION_PATCH 0

/* ---- The bucketed region heap ------------------------------------------- */

typedef struct warden_heap warden_heap;

/* Flags of warden_heap_config.flags. */
#define WARDEN_HEAP_NO_LOCK 0x1u       /* caller promises single-threaded use */
#define WARDEN_HEAP_NO_QUARANTINE 0x2u /* free blocks at once, even in sanitizer builds */

#define WARDEN_HEAP_MAX_BUCKETS 16 /* most fixed buckets a heap can have */

typedef struct warden_heap_config {
    const size_t *bucket_limits; /* ascending: largest request each fixed bucket serves */
    size_t bucket_count;         /* 0: the defaults {128, 1024, 8192}; at most 16 */
    size_t region_size;          /* least bytes mapped per new region; 0: default (256 KiB) */
    unsigned flags;              /* WARDEN_HEAP_NO_LOCK: caller promises single-threaded use */
    size_t quarantine_bytes;     /* freed bytes each bucket holds back before reuse (FIFO);
                                    0: the build's default (none; 4 MiB in memcheck-aware
                                    and ASan/MSan builds) */
} warden_heap_config;

typedef struct warden_heap_stats {
    size_t mapped_bytes;            /* bytes this heap has mapped from the OS right now */
    size_t regions;                 /* regions mapped right now */
    size_t live_blocks, live_bytes; /* allocated blocks and their usable bytes */
    size_t free_blocks, free_bytes; /* free blocks and their bytes (headers included) */
    size_t quarantine_blocks, quarantine_bytes; /* freed blocks held back, and their usable bytes */
} warden_heap_stats;

/* NULL config: defaults; a bad config gives NULL with errno EINVAL, memory the
 * OS refuses NULL with errno ENOMEM. */
WARDEN_API warden_heap *warden_heap_create(const warden_heap_config *config);
/* Unmaps every region of the heap and the heap itself. NULL: no-op. */
WARDEN_API void warden_heap_destroy(warden_heap *heap);
/* size 0 gives a unique pointer. Out of memory or an impossible size: NULL, errno ENOMEM. */
WARDEN_API void *warden_heap_alloc(warden_heap *heap, size_t size);
/* count * size zeroed bytes; an overflowing product: NULL, errno ENOMEM. */
WARDEN_API void *warden_heap_calloc(warden_heap *heap, size_t count, size_t size);
/* alignment not a power of two: NULL, errno EINVAL. */
WARDEN_API void *warden_heap_alloc_aligned(warden_heap *heap, size_t size, size_t alignment);
/* NULL ptr: alloc. Grows or shrinks in place when it can. On failure the old
 * block is untouched and NULL is returned with errno ENOMEM. */
WARDEN_API void *warden_heap_realloc(warden_heap *heap, void *ptr, size_t size);
/* NULL: no-op. A double free, a foreign pointer or a damaged header aborts. */
WARDEN_API void warden_heap_free(warden_heap *heap, void *ptr);
/* Bytes usable at ptr: at least the size asked for; exactly that in
 * memcheck-aware and ASan/MSan builds, where the rest is poisoned. */
WARDEN_API size_t warden_heap_usable_size(warden_heap *heap, const void *ptr);
/* 0 when every invariant holds; otherwise non-zero and, when why is not NULL,
 * one line naming the first broken invariant and its address. */
WARDEN_API int warden_heap_check(warden_heap *heap, char *why, size_t why_size);
WARDEN_API void warden_heap_get_stats(warden_heap *heap, warden_heap_stats *stats);

/* ---- The segregated bump arena --------------------------------------------
 * Bins of 16, 32, 64 and 128 bytes with O(1) free lists, and a bump pointer
 * for anything larger, never reused until warden_bump_reset. No per-block
 * header: free and realloc take back the size and alignment of the
 * allocation, as a Rust Layout does. An arena is safe to share between
 * threads (it takes a lock that costs next to nothing uncontended). */

typedef struct warden_bump warden_bump;

typedef struct warden_bump_stats {
    size_t mapped_bytes; /* bytes mapped from the OS right now */
    size_t small_live;   /* live objects in the bins */
    size_t bump_used;    /* bytes the bump pointer moved since the last reset (alignment included) */
} warden_bump_stats;

/* NULL with errno ENOMEM when the OS refuses memory. */
WARDEN_API warden_bump *warden_bump_create(void);
/* Unmaps everything. NULL: no-op. */
WARDEN_API void warden_bump_destroy(warden_bump *bump);
/* alignment: a power of two (else NULL, errno EINVAL); size 0 gives a unique
 * pointer. Out of memory or an impossible size: NULL, errno ENOMEM. */
WARDEN_API void *warden_bump_alloc(warden_bump *bump, size_t size, size_t alignment);
/* Zeroed memory, even in a reused bin slot. */
WARDEN_API void *warden_bump_alloc_zeroed(warden_bump *bump, size_t size, size_t alignment);
/* NULL ptr: alloc. The most recent bump allocation grows or shrinks in
 * place; a size that stays in its bin keeps its slot. On failure the old
 * allocation is untouched and NULL is returned. */
WARDEN_API void *warden_bump_realloc(warden_bump *bump, void *ptr, size_t old_size, size_t new_size,
                                     size_t alignment);
/* A bin slot goes back on its bin's free list; a bump allocation stays used
 * until reset. NULL: no-op. Misuse (foreign pointer, wrong size, not a slot,
 * double free) aborts. */
WARDEN_API void warden_bump_free(warden_bump *bump, void *ptr, size_t size, size_t alignment);
/* Drops every allocation at once; the memory is reused, not leaked. */
WARDEN_API void warden_bump_reset(warden_bump *bump);
/* 0 when every invariant holds; otherwise non-zero and one line in why. */
WARDEN_API int warden_bump_check(warden_bump *bump, char *why, size_t why_size);
WARDEN_API void warden_bump_get_stats(warden_bump *bump, warden_bump_stats *stats);

/* ---- libwarden-malloc: warden as the program's malloc ----------------------
 * Only in programs that link or preload libwarden-malloc. */

/* Verifies every arena (every block, free list and statistic) and the
 * calling thread's cache now: 0, or non-zero with one line in why. */
WARDEN_API int warden_check_all(char *why, size_t why_size);
/* In the debug profile (warden-run): the leak check now, as at exit with
 * detect_leaks=1 (blocks no pointer in the globals, stacks, TLS or the
 * caller's registers reaches); reports them on stderr, grouped by
 * allocation stack, and returns their bytes. Other threads keep running:
 * a pointer only in one of their registers is missed. 0 in the release
 * mode (plain LD_PRELOAD), whose blocks carry no allocation records. */
WARDEN_API size_t warden_leak_report(void);

#ifdef __cplusplus
}
#endif

#endif /* WARDEN_H */
