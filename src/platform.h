/* platform.h — the page source and the few other services warden takes from
 * the host: mapping memory, randomness, locks, writing to stderr, aborting.
 * Only platform_*.c talk to the OS; everything else calls these. */
#ifndef WARDEN_PLATFORM_H
#define WARDEN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Every mapping is aligned to, and a multiple of, this many bytes (64 KiB:
 * the Windows allocation granularity, and the page map's chunk). */
#define PLATFORM_CHUNK ((size_t)1 << 16)
/* The smallest page any host warden runs on has. */
#define PLATFORM_PAGE ((size_t)4096)

/* size rounded up to whole chunks (what platform_map takes). */
static inline size_t platform_chunk_round(size_t size)
{
    return (size + PLATFORM_CHUNK - 1) & ~(PLATFORM_CHUNK - 1);
}

/* Maps size bytes (a multiple of PLATFORM_CHUNK) of zeroed, read-write memory
 * aligned to PLATFORM_CHUNK. NULL when the OS refuses. */
void *platform_map(size_t size);
/* Returns a mapping of platform_map, whole. */
void platform_unmap(void *addr, size_t size);
/* For tests of the out-of-memory paths: after n more mappings, platform_map
 * refuses (NULL, as when the OS is out of memory) until this is called
 * again; n < 0 lifts the limit (the default). Not thread-safe: set it while
 * no other thread maps. */
extern long platform_maps_left; /* mappings still granted; -1: no limit (each platform file defines it) */
static inline void platform_refuse_maps_after(long n)
{
    platform_maps_left = n < 0 ? -1 : n;
}
/* platform_map's first step: 1 when the tests' limit refuses this mapping. */
static inline int platform_map_refused(void)
{
    if (platform_maps_left < 0)
        return 0;
    if (platform_maps_left == 0)
        return 1;
    platform_maps_left--;
    return 0;
}
/* Fills buf with len unpredictable bytes (best effort: never fails). */
void platform_random(void *buf, size_t len);
/* Writes len bytes to the standard error stream, without allocating. */
void platform_write_error(const char *text, size_t len);
/* Ends the process abnormally (SIGABRT where there are signals). */
_Noreturn void platform_abort(void);

/* Gives the processor to another thread (a lock is taken). */
void platform_yield(void);

/* A mutual-exclusion lock that costs next to nothing when uncontended. */
typedef struct platform_lock {
    _Alignas(8) unsigned char opaque[64]; /* the host's lock object */
} platform_lock;

void platform_lock_init(platform_lock *lock);
void platform_lock_destroy(platform_lock *lock);
void platform_lock_acquire(platform_lock *lock);
void platform_lock_release(platform_lock *lock);

/* ---- for the malloc layer (POSIX hosts only) ------------------------------
 * None of these allocates through malloc: they run inside it. */

/* Ends the process at once with status (no atexit handlers: they may malloc). */
_Noreturn void platform_exit(int status);
/* The value of an environment variable, or NULL; never allocates. */
const char *platform_getenv(const char *name);
/* Processors this process may run on (at least 1). */
unsigned platform_cpu_count(void);
/* Tells the OS the pages inside [addr, addr + size) may be dropped; they
 * read back as zeroes or their old contents. Whole pages only. */
void platform_purge(void *addr, size_t size);
/* A thread-exit hook: destructor(value) runs when a thread that stored a
 * non-NULL value ends. 0 on success. */
int platform_thread_hook_create(void (*destructor)(void *));
void platform_thread_hook_set(void *value);
/* fork handlers; 0 on success. */
int platform_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
/* From now on, platform_write_error writes to a copy of the standard error
 * stream, so what warden says at exit still arrives when the program has
 * closed its stderr (coreutils do). */
void platform_keep_error_stream(void);
/* Writes to the standard error stream as it is now (file descriptor 2). */
void platform_write_stderr(const char *text, size_t len);

#endif /* WARDEN_PLATFORM_H */
