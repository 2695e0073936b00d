/* sanitize.h — the one place warden talks to Valgrind Memcheck and to
 * AddressSanitizer / MemorySanitizer. Every state change of heap memory goes
 * through these macros; each expands to nothing when its tool is absent.
 *
 *   Valgrind: compiled in with -DWARDEN_VALGRIND=ON (client requests cost a
 *             few instructions when the program is not under Valgrind)
 *   ASan/MSan: on by themselves when warden is built with -fsanitize=address
 *             or -fsanitize=memory
 *
 * The model (see SANITIZERS.md in the team's notes): one mempool per heap and
 * per bump arena, anchored at the heap/arena object; a chunk is exactly the
 * bytes asked for; block headers, free-list links, tail padding and free
 * payloads are NOACCESS/poisoned, opened only for the allocator's own access
 * to exactly the bytes it touches. */
#ifndef WARDEN_SANITIZE_H
#define WARDEN_SANITIZE_H

#include <stddef.h>
#include <stdint.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SAN_ASAN 1
#endif
#if __has_feature(memory_sanitizer)
#define SAN_MSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(SAN_ASAN)
#define SAN_ASAN 1
#endif
/* WARDEN_SAN_UNAWARE: built under a sanitizer (or memcheck-aware) that
 * checks warden's own code, but not telling the tool of warden's blocks (the malloc layer's fuzz
 * harnesses: their thread caches and debug profile exist only where no
 * tool watches the heap; the harness's model checks the blocks instead). */
#if defined(WARDEN_SAN_UNAWARE) && WARDEN_SAN_UNAWARE
#undef SAN_ASAN
#undef SAN_MSAN
#undef WARDEN_VALGRIND
#define SAN_ASAN 0
#define SAN_MSAN 0
#endif
#ifndef SAN_ASAN
#define SAN_ASAN 0
#endif
#ifndef SAN_MSAN
#define SAN_MSAN 0
#endif
#if defined(WARDEN_VALGRIND) && WARDEN_VALGRIND
#define SAN_VALGRIND 1
#else
#define SAN_VALGRIND 0
#endif

/* 1 when some tool watches heap memory: quarantine on by default, redzones
 * between bump objects. */
#define SAN_ANY (SAN_VALGRIND || SAN_ASAN || SAN_MSAN)

#if SAN_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
/* Outside Valgrind a client request still costs an asm barrier that makes
 * the compiler reload everything: ask once whether Valgrind is there and
 * skip every request when it is not. */
extern int san_valgrind_active;
#define SAN_VG(x)                                                                               \
    do {                                                                                        \
        if (__builtin_expect(san_valgrind_active, 0)) {                                         \
            x;                                                                                  \
        }                                                                                       \
    } while (0)
#define san_init() (san_valgrind_active = RUNNING_ON_VALGRIND != 0)
#else
#define SAN_VG(x) ((void)0)
#define san_init() ((void)0)
#endif

#if SAN_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define SAN_ASAN_DO(x) x
#else
#define SAN_ASAN_DO(x) ((void)0)
#endif

#if SAN_MSAN
#include <sanitizer/msan_interface.h>
#define SAN_MSAN_DO(x) x
#else
#define SAN_MSAN_DO(x) ((void)0)
#endif

/* ---- pools -------------------------------------------------------------------
 * redzone: bytes before and after every chunk that are never another chunk's
 * (Memcheck marks them NOACCESS on alloc and free, and names overruns into
 * them "N bytes after a block of size S"). */
/* The pool's anchor (the heap or arena handle) is also registered as a
 * one-byte malloc-like block for the pool's life. Valgrind 3.19's leak check
 * stops at "All heap blocks were freed" when no malloc-like block exists and
 * would never look at the pool's chunks, so a program that keeps all its
 * memory in warden would have its leaks unreported. As a bonus the handle is
 * tracked: a heap that is never destroyed and whose handle is lost shows up
 * as a lost block allocated by warden_heap_create. */
#define san_pool_create(pool, redzone)                                                          \
    do {                                                                                        \
        SAN_VG(VALGRIND_CREATE_MEMPOOL((pool), (redzone), 0));                                  \
        SAN_VG(VALGRIND_MALLOCLIKE_BLOCK((pool), 1, 0, 1));                                     \
    } while (0)
#define san_pool_destroy(pool)                                                                  \
    do {                                                                                        \
        SAN_VG(VALGRIND_FREELIKE_BLOCK((pool), 0));                                             \
        SAN_VG(VALGRIND_DESTROY_MEMPOOL(pool));                                                 \
    } while (0)
/* Every chunk of the pool dropped at once, as if freed (bump reset). */
#define san_pool_drop_all(pool) SAN_VG(VALGRIND_MEMPOOL_TRIM((pool), (pool), 0))

/* ---- chunks: what the user holds ---------------------------------------------- */

/* size bytes at p handed out; zeroed: they are defined (calloc). */
#define san_chunk_alloc(pool, p, size, zeroed)                                                  \
    do {                                                                                        \
        SAN_VG(VALGRIND_MEMPOOL_ALLOC((pool), (p), (size)));                                    \
        SAN_ASAN_DO(ASAN_UNPOISON_MEMORY_REGION((p), (size)));                                  \
        SAN_MSAN_DO(__msan_allocated_memory((p), (size)));                                      \
        if (zeroed) {                                                                           \
            SAN_VG(VALGRIND_MAKE_MEM_DEFINED((p), (size)));                                     \
            SAN_MSAN_DO(__msan_unpoison((p), (size)));                                          \
        }                                                                                       \
    } while (0)

/* The chunk at p, whose block has room bytes, taken back (freed or quarantined). */
#define san_chunk_free(pool, p, room)                                                           \
    do {                                                                                        \
        SAN_VG(VALGRIND_MEMPOOL_FREE((pool), (p)));                                             \
        SAN_ASAN_DO(ASAN_POISON_MEMORY_REGION((p), (room)));                                    \
        SAN_MSAN_DO(__msan_poison((p), (room)));                                                \
    } while (0)

/* The chunk at p resized in place from old to new bytes; room: the larger of
 * the block's usable bytes before and after. The grown part is undefined,
 * everything from new to room inaccessible. */
#define san_chunk_resize(pool, p, old, new, room)                                               \
    do {                                                                                        \
        SAN_VG(VALGRIND_MEMPOOL_CHANGE((pool), (p), (p), (new)));                               \
        if ((new) > (old)) {                                                                    \
            SAN_VG(VALGRIND_MAKE_MEM_UNDEFINED((char *)(p) + (old), (new) - (old)));            \
            SAN_ASAN_DO(ASAN_UNPOISON_MEMORY_REGION((p), (new)));                               \
            SAN_MSAN_DO(__msan_allocated_memory((char *)(p) + (old), (new) - (old)));           \
        } else {                                                                                \
            SAN_VG(VALGRIND_MAKE_MEM_NOACCESS((char *)(p) + (new), (room) - (new)));            \
        }                                                                                       \
        SAN_ASAN_DO(ASAN_POISON_MEMORY_REGION((char *)(p) + (new), (room) - (new)));            \
    } while (0)

/* ---- the allocator's own memory -------------------------------------------------- */

/* A fresh mapping whose [p, p + size) only the allocator touches. */
#define san_area_fence(p, size)                                                                 \
    do {                                                                                        \
        SAN_VG(VALGRIND_MAKE_MEM_NOACCESS((p), (size)));                                        \
        SAN_ASAN_DO(ASAN_POISON_MEMORY_REGION((p), (size)));                                    \
    } while (0)

/* Before a mapping goes back: ASan keeps shadow across munmap, and a new
 * mapping at the same address would inherit stale poison. */
#define san_area_release(p, size) SAN_ASAN_DO(ASAN_UNPOISON_MEMORY_REGION((p), (size)))

/* LeakSanitizer does not scan mappings: a region or chunk is registered as
 * a root so a malloc'd object kept only in warden memory is not a leak. */
#define san_root_add(p, size) SAN_ASAN_DO(__lsan_register_root_region((p), (size)))
#define san_root_remove(p, size) SAN_ASAN_DO(__lsan_unregister_root_region((p), (size)))

#if SAN_ASAN
/* ASan's shadow of metadata (n bytes at p, both multiples of 8: a header,
 * a link) set open (0) or closed (0xf7, what ASAN_POISON_MEMORY_REGION
 * writes) by a store to its shadow bytes; the runtime's calls cost tens of
 * nanoseconds a header, and the checker opens every block's. Not
 * instrumented (an instrumented store to the shadow would check the
 * shadow's own); anything else, or another mapping than ASan's usual,
 * goes through the runtime. */
__attribute__((no_sanitize("address"))) static inline void san_meta_shadow(const void *p, size_t n, int open)
{
    static size_t offset; /* ASan's shadow offset once asked (scale 3), else 0 */
    size_t off = __atomic_load_n(&offset, __ATOMIC_RELAXED);
    if (__builtin_expect(off == 0, 0)) {
        size_t scale, at;
        __asan_get_shadow_mapping(&scale, &at);
        off = scale == 3 ? at : 0;
        __atomic_store_n(&offset, off, __ATOMIC_RELAXED);
    }
    if (off == 0 || (((uintptr_t)p | n) & 7) != 0 || n > 32) {
        if (open)
            ASAN_UNPOISON_MEMORY_REGION(p, n);
        else
            ASAN_POISON_MEMORY_REGION(p, n);
        return;
    }
    volatile unsigned char *shadow = (volatile unsigned char *)(((uintptr_t)p >> 3) + off);
    for (size_t i = 0; i < n / 8; i++)
        shadow[i] = open ? 0 : 0xf7;
}
#endif

/* Opens n bytes of metadata at p for the allocator's own access, and closes
 * them again. Never nested: each accessor opens and closes what it touches. */
#define san_meta_open(p, n)                                                                     \
    do {                                                                                        \
        SAN_VG(VALGRIND_MAKE_MEM_DEFINED((p), (n)));                                            \
        SAN_ASAN_DO(san_meta_shadow((p), (n), 1));                                              \
    } while (0)
#define san_meta_close(p, n)                                                                    \
    do {                                                                                        \
        SAN_VG(VALGRIND_MAKE_MEM_NOACCESS((p), (n)));                                           \
        SAN_ASAN_DO(san_meta_shadow((p), (n), 0));                                              \
    } while (0)

#endif /* WARDEN_SANITIZE_H */
