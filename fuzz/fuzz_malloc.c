/* fuzz_malloc.c — fuzzes the malloc layer as a program sees it (front.h:
 * thread caches, central caches, arenas, remote frees), and, built with
 * FUZZ_DEBUG=1 as fuzz_debug, the debug profile over it (canaries,
 * quarantine, junk, guard slots, stacks, reports). One in-process instance
 * that only the harness allocates from: its entry points are the wmalloc
 * names, so the fuzzer's own malloc stays glibc's or the sanitizer's.
 *
 * Two simulated threads: each has a thread cache on an arena of its own,
 * and an operation switches which one is the caller's (wmalloc_self), so a
 * block one allocated and the other frees takes the remote-free path.
 *
 * After every operation, the whole-process checker: every arena and its
 * central cache, both thread caches, and in the debug profile every canary,
 * quarantined block and guard slot (front_check_all); the count that no
 * block went missing (the heaps' live blocks are the program's, the
 * caches' or the quarantine's); and the shadow model (harness.h).
 *
 * Header: [0] bit 0: the thread that starts; bit 1: the caches outlive the
 *         input (else every cache goes back to its heap at its end); bit 2:
 *         the program's calls go through libwarden-malloc's exports (the
 *         C names, built in with the prefix wfz_), else the front end's;
 *         the rest unused.
 * Ops:    0 malloc  1 calloc  2 aligned (posix_memalign, aligned_alloc,
 *         memalign, valloc or pvalloc, by slot)  3 realloc (reallocarray
 *         when the alignment bits are odd)  4 free  5 switch threads
 *         6 a probe, by the alignment bits (below)  7 free + malloc
 * Probes: 0 reallocarray overflowing  1 malloc_trim (slot 0, rarely), the
 *         leak check with one block lost (slot 1, debug profile)  2 impossible
 *         sizes, malloc_stats' text, the freed bytes held against the
 *         quarantine's, and through the C names mallinfo, mallinfo2 and
 *         warden_check_all
 *         3 the process around the layer, by size % 8: 0 (release) a freed
 *         pointer is no live block, 1 a real thread (allocating, freeing
 *         remotely both ways, ending; in the plain debug replay, slot 1,
 *         blocked through a leak check), 2 fork (both processes go on),
 *         3 damage to a thread cache that tcache_check must find (the kind
 *         by the fill byte), 4 (release) misuse that must stop the program,
 *         in a forked child (the kind by slot), 5 (debug) guard page
 *         faults and reports in a forked child under warden's handler (by
 *         slot: an overflow, a use after free, a fault of the program's own
 *         for its handler, the profile restarted with mprotect'ed pages and
 *         a log file, an underflow, a wild access in the pool, the pool
 *         full, damage found as a block leaves the quarantine, a free with
 *         the header overwritten); forks once per process;
 *         debug profile only (release: as 0..3): 4 a write one byte past
 *         the block  5 a write into a quarantined block  6 double free and
 *         realloc of a quarantined block  7 free of an interior and a stack
 *         address. 4 and 5 must be found by the next check; 6 and 7 must
 *         change nothing. */
#define _POSIX_C_SOURCE 200809L /* setenv, O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "bugreport.h"
#include "debug.h"
#include "depot.h"
#include "front.h"
#include "harness.h"
#include "interpose.h"
#include "options.h"
#include "platform.h"
#include "platform_debug.h"
#include "tcache.h"
#include "wmalloc.h"

#ifndef FUZZ_DEBUG
#define FUZZ_DEBUG 0
#endif

#include "guard.h"
#include "quarantine.h"
#include "report.h"

/* Built with a sanitizer that keeps a shadow of memory (the fuzzing
 * builds): the leak check's roots would be terabytes of it, so its probe
 * runs in the plain replay only. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define FUZZ_SHADOWED 1
#endif
#endif
#if !defined(FUZZ_SHADOWED) && (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
#define FUZZ_SHADOWED 1
#endif
#ifndef FUZZ_SHADOWED
#define FUZZ_SHADOWED 0
#endif
/* Nor under Valgrind, whose own mappings the scan would read as roots. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FUZZ_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef FUZZ_UNDER_VALGRIND
#define FUZZ_UNDER_VALGRIND() 0
#endif

/* Small caches, so bins overflow and drain; two arenas, one per thread. */
#define RELEASE_OPTIONS "arenas=2:tcache_bytes=1k:central_bytes=2k:pool_bytes=64m"
/* Every part of the profile on; a quarantine small enough to verify after
 * every operation; reports (the probes') go on, unsymbolized, and leave the
 * exit status alone. */
#define DEBUG_OPTIONS                                                                                          \
    RELEASE_OPTIONS ":redzone=16:quarantine_bytes=4k:junk_alloc=1:junk_free=1:stack_depth=8:guard_rate=3"   \
                    ":guard_slots=256:halt_on_error=0:exitcode=0:symbolize=0"

static tcache *thread_cache[2];
static unsigned self;

/* libwarden-malloc's exports (interpose.h), built in under the prefix wfz_
 * (fuzz/CMakeLists.txt): header bit 2 has an input allocate, reallocate
 * and free through them, as a program's calls arrive. */
typedef struct api {
    void *(*malloc)(size_t size);
    void (*free)(void *ptr);
    void *(*calloc)(size_t count, size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void *(*reallocarray)(void *ptr, size_t count, size_t size);
    int (*posix_memalign)(void **out, size_t alignment, size_t size);
    void *(*aligned_alloc)(size_t alignment, size_t size);
    void *(*memalign)(size_t alignment, size_t size);
    void *(*valloc)(size_t size);
    void *(*pvalloc)(size_t size);
    size_t (*usable_size)(void *ptr);
} api;

static void *front_malloc_of(size_t size)
{
    return front_malloc(size);
}

static void front_free_of(void *ptr)
{
    front_free(ptr);
}

static size_t front_usable_of(void *ptr)
{
    return front_usable_size(ptr);
}

static const api front_api = {front_malloc_of, front_free_of, front_calloc, front_realloc, front_reallocarray,
                              front_posix_memalign, front_aligned_alloc, front_memalign, front_valloc, front_pvalloc,
                              front_usable_of};
static const api c_api = {wfz_malloc, wfz_free, wfz_calloc, wfz_realloc, wfz_reallocarray, wfz_posix_memalign,
                          wfz_aligned_alloc, wfz_memalign, wfz_valloc, wfz_pvalloc, wfz_malloc_usable_size};
static const api *call = &front_api;

/* Addresses the harness keeps of blocks it does not hold: XORed with this,
 * so that the leak check (a conservative scan of every root, the
 * harness's statics among them) does not take them for the program's. */
#define HIDE_MASK ((uintptr_t)0x5a5a5a5a5a5a5a5a)

static struct stale {
    uintptr_t hidden; /* the slot's last freed block, hidden (0: none) */
    size_t size;
} stale[HARNESS_SLOTS];

static unsigned char *stale_block(unsigned s)
{
    return stale[s].hidden ? (unsigned char *)(stale[s].hidden ^ HIDE_MASK) : NULL;
}

/* Slot s's block at p, size bytes, was just freed: its stale block now, and
 * no other slot's (an address freed, reused and freed again is the last
 * freer's: an older record would have a probe write past the new block's
 * junk and expect it found). */
static void note_freed(unsigned s, unsigned char *p, size_t size)
{
    for (unsigned k = 0; k < HARNESS_SLOTS; k++)
        if (stale_block(k) == p)
            stale[k].hidden = 0;
    stale[s] = (struct stale){(uintptr_t)p ^ HIDE_MASK, size};
}

static void setup(void)
{
    setenv("WARDEN_OPTIONS", FUZZ_DEBUG ? DEBUG_OPTIONS : RELEASE_OPTIONS, 1);
    front_boot();
    wmalloc_free(wmalloc_malloc(1)); /* this thread's cache, on the first arena */
    thread_cache[0] = wmalloc_self;
    thread_cache[1] = tcache_create(arena_pick()); /* the next arena round the ring: the other one */
    if (!wmalloc_live(thread_cache[0]) || !thread_cache[1] || arena_count() != 2 ||
        thread_cache[1]->heap == thread_cache[0]->heap)
        harness_fail("the malloc layer did not start with two arenas and two thread caches");
    /* The debug profile's reports are expected (probes 4..7): out of sight
     * unless FUZZ_MALLOC_REPORTS is set. */
    if (!getenv("FUZZ_MALLOC_REPORTS")) {
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd >= 0)
            platform_set_error_fd(fd);
    }
}

static void become(unsigned thread)
{
    self = thread;
    wmalloc_self = thread_cache[thread];
}

static size_t usable(void *ctx, const void *p)
{
    (void)ctx;
    return call->usable_size((void *)(uintptr_t)p);
}

static int guarded(const void *p)
{
    return FUZZ_DEBUG && guard_owns(p);
}

/* No block went missing: every block the heaps count as handed out is the
 * program's, a cache's, or (debug profile) a quarantined one. */
static void count_blocks(const shadow *m, const char *after)
{
    warden_heap_stats sum;
    size_t central_blocks, central_bytes, quarantined = 0, bytes;
    arena_stats(&sum, &central_blocks, &central_bytes);
    size_t cached = central_blocks + tcache_held(thread_cache[0]) + tcache_held(thread_cache[1]);
    size_t program = 0;
    for (unsigned s = 0; s < HARNESS_SLOTS; s++)
        program += m->slot[s].p && !guarded(m->slot[s].p);
    if (FUZZ_DEBUG) {
        quarantine_count(&quarantined, &bytes);
        program += depot_blocks(); /* the profile's own: this thread's recent stacks */
    }
    if (sum.live_blocks != program + cached + quarantined)
        harness_fail("after %s: the heaps count %zu blocks handed out, but the program holds %zu, the caches %zu "
                     "and the quarantine %zu",
                     after, sum.live_blocks, program, cached, quarantined);
}

/* The debug profile's reports so far (its reports go out of sight): only
 * a probe may make one; any other operation that does has met a bug (a
 * guard page fault the profile reported and opened, say) that no check
 * would show. */
static unsigned reports(void)
{
    return FUZZ_DEBUG ? bugreport_count() : 0;
}

static void no_report_since(unsigned said, const char *after)
{
    if (reports() != said)
        harness_fail("after %s: the debug profile reported a bug (%u reports before, %u now)", after, said, reports());
}

static void check(shadow *m, const char *after)
{
    char why[300];
    harness_require_check(front_check_all(why, sizeof why), why, after);
    harness_require_check(tcache_check(thread_cache[!self], why, sizeof why), why, after);
    count_blocks(m, after);
    shadow_verify_all(m);
}

static void release(void *ctx, shadow *m, unsigned s)
{
    (void)ctx;
    shadow_verify_contents(m, s, "before free");
    note_freed(s, m->slot[s].p, m->slot[s].size);
    call->free(m->slot[s].p);
    m->slot[s].p = NULL;
}

/* A block of o's kind; its alignment in *align and the bytes the program
 * may use of it in *size (pvalloc's: whole pages). */
static void *allocate(const op *o, size_t *align, size_t *size)
{
    void *p = NULL;
    size_t bad;
    *align = 1;
    switch (o->code) {
    case 1:
        p = call->calloc(1, o->size);
        if (p && !sample_holds(p, o->size, 0, &bad))
            harness_fail("calloc(%zu) byte %zu is not zero", o->size, bad);
        return p;
    case 2:
        *align = (size_t)8 << (o->align_log % 14); /* 8 .. 64 KiB */
        switch (o->slot % 5) {
        case 0:
            return call->posix_memalign(&p, *align, o->size) == 0 ? p : NULL;
        case 1:
            return call->aligned_alloc(*align, o->size);
        case 2:
            return call->memalign(*align, o->size);
        case 3:
            *align = PLATFORM_PAGE;
            return call->valloc(o->size);
        default:
            *align = PLATFORM_PAGE;
            *size = o->size ? (o->size + PLATFORM_PAGE - 1) & ~(PLATFORM_PAGE - 1) : PLATFORM_PAGE;
            return call->pvalloc(o->size);
        }
    default:
        return call->malloc(o->size);
    }
}

/* ---- probes ---------------------------------------------------------------- */

/* malloc_stats' text: two lines, each "warden: stats: ...", the first
 * naming the two arenas. */
static void stats_line(const char *text, size_t len)
{
    static const char want[] = "warden: stats: 2 arenas, ";
    if (len < sizeof want || memcmp(text, want, sizeof want - 1) != 0 || text[len - 1] != '\n' ||
        memchr(text, '\n', len) == text + len - 1)
        harness_fail("malloc_stats wrote %zu bytes, not two lines naming two arenas: %.*s", len, (int)len, text);
}

/* mallinfo2 and mallinfo (the C names): the bytes in use hold at least
 * what the program asked for of its heap blocks, the bytes mapped at least
 * those in use, and mallinfo's ints are mallinfo2's words cut down. */
static void probe_info(const shadow *m)
{
    struct mallinfo2 i2 = wfz_mallinfo2();
    struct mallinfo i = wfz_mallinfo();
    size_t asked = 0;
    for (unsigned s = 0; s < HARNESS_SLOTS; s++)
        asked += m->slot[s].p && !guarded(m->slot[s].p) ? m->slot[s].size : 0;
    if (i2.uordblks < asked || i2.arena < i2.uordblks)
        harness_fail("mallinfo2: %zu bytes in use of %zu mapped, but the program holds %zu", i2.uordblks, i2.arena,
                     asked);
    if (i.uordblks != (int)i2.uordblks || i.arena != (int)i2.arena || i.fordblks != (int)i2.fordblks ||
        i.ordblks != (int)i2.ordblks)
        harness_fail("mallinfo disagrees with mallinfo2");
    char why[300];
    if (wfz_warden_check_all(why, sizeof why) != 0)
        harness_fail("warden_check_all: %s", why);
}

static void probe_sizes(const shadow *m, const op *o)
{
    if (call == &c_api)
        probe_info(m);
    wmalloc_print_stats(stats_line);
    size_t blocks, bytes = 0;
    if (FUZZ_DEBUG)
        quarantine_count(&blocks, &bytes);
    if (front_held_bytes() != bytes)
        harness_fail("the front end holds %zu freed bytes, the quarantine %zu", front_held_bytes(), bytes);
    int saved = errno;
    errno = 0;
    harness_require_refused(call->malloc(SIZE_MAX - o->size), ENOMEM, "malloc of an impossible size");
    errno = 0;
    harness_require_refused(call->calloc(SIZE_MAX / 2 + 1 + o->size, 2), ENOMEM, "calloc of an overflowing product");
    errno = 0;
    harness_require_refused(call->aligned_alloc(SIZE_MAX / 2 + 2, 16), EINVAL, "aligned_alloc of an alignment no power of two");
    void *p = &p;
    if (call->posix_memalign(&p, 24, o->size) != EINVAL || p != &p)
        harness_fail("posix_memalign with alignment 24 did not fail with EINVAL, leaving its pointer");
    errno = saved;
}

static int is_live_slot(const shadow *m, const void *p)
{
    for (unsigned s = 0; s < HARNESS_SLOTS; s++)
        if (m->slot[s].p == p)
            return 1;
    return 0;
}

typedef struct search {
    const void *block;
    int found;
} search;

static void find_in_quarantine(void *block, void *ctx)
{
    search *s = ctx;
    s->found |= block == s->block;
}

/* Whether slot s's last freed block waits in the quarantine now (a check
 * ran after the last operation, so no thread's batch holds it). */
static int quarantined(unsigned s)
{
    search probe = {stale_block(s), 0};
    if (!probe.block || guarded(probe.block))
        return 0;
    quarantine_walk(find_in_quarantine, &probe);
    return probe.found;
}

/* The bytes of a freed block of size bytes the profile's junk covers
 * (junk_bytes, as the options say): a write past them goes unseen by design. */
static size_t junk_span(size_t size)
{
    size_t most = (size_t)wmalloc_options()->junk_bytes;
    return most && most < size ? most : size;
}

/* A write the debug profile must find at its next check; then undone. */
static void expect_found(unsigned char *at, const char *what, const void *block, size_t size)
{
    unsigned char was = *at;
    *at = (unsigned char)(was ^ 0x41);
    char why[300];
    int found = front_check_all(why, sizeof why);
    *at = was;
    if (!found)
        harness_fail("%s of the %zu-byte block at %p was not found by the heap check", what, size, block);
}

/* The leak check now (debug profile), with one block just allocated and
 * its address kept only masked: every block the program holds is reached
 * (the model, a static, points at each), so what it finds lost is exactly
 * that block. */
static volatile uintptr_t hidden;

/* In frames of their own, so that no live frame of the caller's holds the
 * block's address, and the stack below it scrubbed of the dead ones. */
static __attribute__((noinline)) void hide_new_block(size_t size)
{
    hidden = (uintptr_t)call->malloc(size) ^ HIDE_MASK;
}

static __attribute__((noinline)) void scrub_stack(void)
{
    volatile unsigned char dead[16384];
    for (size_t i = 0; i < sizeof dead; i++)
        dead[i] = 0;
}

static void probe_leaks(const op *o)
{
    size_t size = o->size % 4096 + 1;
    hide_new_block(size);
    if (hidden == HIDE_MASK)
        harness_fail("allocation of %zu bytes failed", size);
    scrub_stack();
    size_t lost = call == &c_api ? wfz_warden_leak_report() : front_leak_report();
    call->free((void *)(hidden ^ HIDE_MASK));
    if (lost != size)
        harness_fail("the leak check found %zu bytes lost, but the program lost a %zu-byte block", lost, size);
}

/* ---- probe 3: the process around the layer ----------------------------------- */

/* A real thread: it allocates on a cache of its own (a parked one, from
 * the second time on), frees one block of the caller's (a remote free) and
 * half its own, and ends; the caller frees the other half (remote frees
 * the other way). Its exit hands its cache back (and, in the debug profile,
 * flushes its quarantine batch). In the plain debug replay a second thread
 * waits, blocked, through a leak check, which must stop it and scan it. */
typedef struct worker {
    size_t size;
    void *theirs;
    void *own[8];
    int wait_fd; /* read before it ends (-1: none) */
    int done;    /* its allocations and frees are made (atomic) */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (unsigned i = 0; i < 8; i++)
        if (!(w->own[i] = front_malloc(w->size + i * 40)))
            harness_fail("a thread's allocation of %zu bytes failed", w->size + i * 40);
    front_free(w->theirs);
    for (unsigned i = 0; i < 8; i += 2)
        front_free(w->own[i]);
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    char c;
    if (w->wait_fd >= 0 && read(w->wait_fd, &c, 1) != 1)
        harness_fail("a thread's wait failed");
    return NULL;
}

static void run_thread(size_t size, int wait_through_leak_check)
{
    worker w = {size, front_malloc(size), {0}, -1, 0};
    int fds[2] = {-1, -1};
    if (wait_through_leak_check && pipe(fds) == 0)
        w.wait_fd = fds[0];
    pthread_t t;
    if (!w.theirs || pthread_create(&t, NULL, work, &w) != 0)
        harness_fail("no thread for the thread probe");
    if (w.wait_fd >= 0) {
        while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE))
            sched_yield();
        size_t lost = front_leak_report();
        if (lost != 0) /* the blocks it holds are w's, on this stack */
            harness_fail("the leak check found %zu bytes lost while a thread held its blocks", lost);
        if (write(fds[1], "x", 1) != 1)
            harness_fail("cannot wake the thread");
    }
    pthread_join(t, NULL);
    for (unsigned i = 1; i < 8; i += 2)
        front_free(w.own[i]);
    if (fds[0] >= 0) {
        close(fds[0]);
        close(fds[1]);
    }
}

/* In a forked child (the fork handlers ran: every lock was taken before
 * the fork and let go in both processes): both caches allocate and free,
 * and the whole-process check passes. */
static void after_fork(void *ctx)
{
    (void)ctx;
    char why[300];
    for (unsigned t = 0; t < 2; t++) {
        become(t);
        void *p = front_malloc(100), *q = front_malloc(5000);
        if (!p || !q)
            harness_fail("no allocation in a forked child");
        front_free(p);
        front_free(q);
    }
    if (front_check_all(why, sizeof why))
        harness_fail("the check failed in a forked child: %s", why);
    wfz_malloc_stats(); /* to stderr, as glibc's: the parent reads it */
}

/* Damage to a thread cache tcache_check must find, then undone: a bin over
 * its cap, a slot that is no cached block (a program's block), a block in
 * another class's bin or of the other arena, a block cached twice, a remote
 * buffer over its size or holding a program's block. */
static block *program_block(const shadow *m)
{
    for (unsigned s = 0; s < HARNESS_SLOTS; s++)
        if (m->slot[s].p && !guarded(m->slot[s].p))
            return block_of_payload(m->slot[s].p);
    return NULL;
}

static void expect_cache_damage_found(tcache *tc, const char *what)
{
    char why[300];
    if (!tcache_check(tc, why, sizeof why))
        harness_fail("a thread cache with %s passed its check", what);
}

static void probe_cache_damage(const shadow *m, const op *o)
{
    tcache *tc = thread_cache[o->slot & 1], *other = thread_cache[!(o->slot & 1)];
    tcache_bin *bin = NULL, *next = NULL, *same = NULL;
    for (size_t c = 0; c < TCACHE_CLASSES; c++)
        if (tc->bins[c].count) {
            if (!bin)
                bin = &tc->bins[c];
            else if (!next)
                next = &tc->bins[c];
            if (!same && other->bins[c].count)
                same = &other->bins[c];
        }
    block *mine = program_block(m);
    switch (o->fill % 7) {
    case 0:
        if (bin) {
            uint32_t was = bin->count;
            bin->count = bin->cap + 1;
            expect_cache_damage_found(tc, "a bin over its cap");
            bin->count = was;
        }
        break;
    case 1:
        if (bin && mine) {
            block *was = bin->slots[0];
            bin->slots[0] = mine;
            expect_cache_damage_found(tc, "a program's block in a bin");
            bin->slots[0] = was;
        }
        break;
    case 2:
        if (bin && next) {
            block *was = bin->slots[0];
            bin->slots[0] = next->slots[0];
            expect_cache_damage_found(tc, "a block in another class's bin");
            bin->slots[0] = was;
        }
        break;
    case 3:
        if (same) {
            tcache_bin *mine_bin = &tc->bins[same - other->bins];
            block *was = mine_bin->slots[0];
            mine_bin->slots[0] = same->slots[0];
            expect_cache_damage_found(tc, "a block of the other arena");
            mine_bin->slots[0] = was;
        }
        break;
    case 4:
        if (bin && bin->count > 1) {
            block *was = bin->slots[1];
            bin->slots[1] = bin->slots[0];
            expect_cache_damage_found(tc, "a block cached twice");
            bin->slots[1] = was;
        }
        break;
    case 5: {
        uint32_t was = tc->remote_count;
        tc->remote_count = TCACHE_REMOTE + 1;
        expect_cache_damage_found(tc, "a remote buffer over its size");
        tc->remote_count = was;
        break;
    }
    default:
        if (tc->remote_count && mine) {
            block *was = tc->remote[0];
            tc->remote[0] = mine;
            expect_cache_damage_found(tc, "a program's block in the remote buffer");
            tc->remote[0] = was;
        }
        break;
    }
}

/* Misuse the release build stops the program for (ids 41..45), in a forked
 * child that says it on its standard error. */
typedef struct misuse {
    void *block; /* a live block of the program (NULL: none) */
    unsigned kind;
} misuse;

static void commit_misuse(void *ctx)
{
    misuse *u = ctx;
    platform_set_error_fd(2);
    unsigned char local[32];
    void *volatile on_stack = local + 16;
    switch (u->kind) {
    case 0:
        front_free(on_stack);
        break;
    case 1:
        front_free((unsigned char *)u->block + 16);
        break;
    case 2:
        front_free(u->block);
        front_free(u->block);
        break;
    case 3:
        front_realloc(on_stack, 10);
        break;
    default:
        front_usable_size(on_stack);
        break;
    }
}

static void probe_misuse(const shadow *m, const op *o)
{
    static const char *const said[] = {"invalid free", "invalid free", "double free", "invalid pointer",
                                       "malloc_usable_size"};
    misuse u = {NULL, o->slot % 5};
    const shadow_slot *sl = &m->slot[o->slot];
    if (sl->p && sl->size > 32)
        u.block = sl->p;
    if ((u.kind == 1 || u.kind == 2) && !u.block)
        return;
    harness_expect_death(41 + u.kind, commit_misuse, &u, said[u.kind]);
}

/* The debug profile's guard pages and reports, each in a forked child whose
 * SIGSEGV handler is warden's (guard_probes below, ids 46..56): faults on
 * guard pages are reported and the program goes on (halt_on_error is 0); a
 * fault of the program's own (a page it made inaccessible) goes to the
 * handler the program installed (by sigaction, signal or bsd_signal: ids
 * 48, 55, 56); the profile started again with mprotect'ed guard pages as
 * many as the map count leaves room for (guard_markers=0:guard_slots=0)
 * and a log file (log_path) reports an overflow there. */
static sigjmp_buf own_fault;

static void own_handler(int sig)
{
    (void)sig;
    siglongjmp(own_fault, 1);
}

/* A block of size bytes in the heap, or (guarded) in the guard pool: the
 * sampling guards one in guard_rate, so within 64 tries. */
static unsigned char *block_where(size_t size, int guarded_one)
{
    for (unsigned i = 0; i < 64; i++) {
        unsigned char *p = front_malloc(size);
        if (p && (guard_owns(p) != 0) == guarded_one)
            return p;
    }
    harness_fail("no %s block in 64 allocations of %zu bytes", guarded_one ? "guarded" : "unguarded", size);
}

static unsigned char *unguarded_block(size_t size)
{
    return block_where(size, 0);
}

static unsigned char *guarded_block(size_t size)
{
    return block_where(size, 1);
}

static void read_past_guarded(void *ctx)
{
    size_t size = *(size_t *)ctx % 4000 + 1;
    unsigned char *p = guarded_block(size), *user, *start, *end;
    if (guard_block_of(p, &user, &start, &end) != 0 || user != p)
        harness_fail("a guarded block %p is no slot's block", (void *)p);
    (void)*(volatile unsigned char *)end; /* the guard page */
}

static void read_freed_guarded(void *ctx)
{
    unsigned char *p = guarded_block(*(size_t *)ctx % 4000 + 1);
    front_free(p);
    (void)*(volatile unsigned char *)p;
}

/* The program installs its handler by sigaction, signal or bsd_signal (the
 * C names: warden keeps SIGSEGV and chains to it), by the size. */
static void install_own_handler(size_t how)
{
    struct sigaction sa = {0};
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    int refused = how % 3 == 0   ? wfz_sigaction(SIGSEGV, &sa, NULL) != 0
                  : how % 3 == 1 ? warden_interposed_signal(SIGSEGV, own_handler) == SIG_ERR
                                 : wfz_bsd_signal(SIGSEGV, own_handler) == SIG_ERR;
    struct sigaction now;
    if (refused || wfz_sigaction(SIGSEGV, NULL, &now) != 0 || now.sa_handler != own_handler)
        harness_fail("the program's SIGSEGV handler was refused or not kept");
}

static void fault_of_its_own(void *ctx)
{
    install_own_handler(*(size_t *)ctx);
    unsigned char *page = platform_reserve(PLATFORM_PAGE);
    if (!page)
        harness_fail("no page to fault on");
    if (sigsetjmp(own_fault, 1) == 0) {
        (void)*(volatile unsigned char *)page;
        harness_fail("a read of an inaccessible page did not fault");
    }
    static const char said[] = "fault of the program's own: its handler ran\n";
    platform_write_error(said, sizeof said - 1);
}

static void restart_with_mprotect(void *ctx)
{
    char dir[] = "/tmp/warden-fuzz-log-XXXXXX", err[300];
    if (!mkdtemp(dir))
        harness_fail("no directory for the log");
    options o = *wmalloc_options();
    o.guard_markers = 0;
    o.guard_slots = 0;
    o.guard_rate = 1;
    report_format(o.log_path, sizeof o.log_path, "%s/log", dir);
    if (debug_start(&o, err, sizeof err) != 0)
        harness_fail("the debug profile did not start again with guard_markers=0: %s", err);
    read_past_guarded(ctx);
    char name[400], text[2048];
    report_format(name, sizeof name, "%s/log.%u", dir, (unsigned)getpid());
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
    if (fd >= 0)
        close(fd);
    unlink(name);
    rmdir(dir);
    text[n > 0 ? n : 0] = '\0';
    if (!strstr(text, "heap-buffer-overflow"))
        harness_fail("the log file %s holds no overflow report: %s", name, text);
    static const char said[] = "the log held the report\n";
    if (write(2, said, sizeof said - 1) < 0) /* (warden's error stream is the log now) */
        harness_fail("cannot write to stderr");
}

/* A read before a guarded block that starts on its first page (4096
 * bytes: it fills its page, and the page before is inaccessible). */
static void read_before_guarded(void *ctx)
{
    (void)ctx;
    unsigned char *p = guarded_block(PLATFORM_PAGE);
    (void)*(volatile unsigned char *)(p - 1);
}

/* A read in the guard pool's last slot, never handed out: a wild access. */
static void read_unused_slot(void *ctx)
{
    (void)ctx;
    unsigned char *user, *start, *end;
    for (uintptr_t page = guard_hi - PLATFORM_PAGE; page > guard_lo; page -= GUARD_SLOT_PAGES * PLATFORM_PAGE)
        if (guard_block_of((void *)page, &user, &start, &end) != 0) { /* a slot holding no block, live or freed */
            (void)*(volatile unsigned char *)page;
            return;
        }
    harness_fail("every slot of the guard pool holds a block");
}

/* The profile started again with a pool of 64 slots, every allocation
 * guarded: the 65th live block finds none free and says so once. */
static void fill_the_pool(void *ctx)
{
    (void)ctx;
    char err[300];
    options o = *wmalloc_options();
    o.guard_slots = 64;
    o.guard_rate = 1;
    if (debug_start(&o, err, sizeof err) != 0)
        harness_fail("the debug profile did not start again with guard_slots=64: %s", err);
    for (unsigned i = 0; i < 70; i++)
        if (!front_malloc(100))
            harness_fail("allocation %u failed with the guard pool full", i);
}

/* Damage found as a block leaves the quarantine, not at a check: a write
 * into a quarantined block, then frees enough to push it out; the finding
 * waits for the batch and is reported after it. */
static void damage_leaving_quarantine(void *ctx)
{
    (void)ctx;
    unsigned char *p = unguarded_block(200);
    front_free(p);
    p[junk_span(200) / 2] ^= 0x41;
    for (unsigned i = 0; i < 64; i++)
        front_free(front_malloc(1000));
}

/* The header before a block overwritten (a write before its start), then
 * its free: reported, and the block left alone. */
static void free_with_header_overwritten(void *ctx)
{
    (void)ctx;
    unsigned char *p = unguarded_block(200);
    memset(p - 24, 0x41, 8); /* the header's words before its canary */
    front_free(p);
}

/* By slot; each is given the op's size. */
typedef struct guard_probe {
    unsigned id;
    void (*run)(void *ctx);
    const char *want;
} guard_probe;

static const guard_probe guard_probes[] = {
    {46, read_past_guarded, "heap-buffer-overflow"},
    {47, read_freed_guarded, "heap-use-after-free"},
    {48, fault_of_its_own, "its handler ran"},
    {49, restart_with_mprotect, "the log held the report"},
    {50, read_before_guarded, "heap-buffer-underflow"},
    {51, read_unused_slot, "wild-access"},
    {52, fill_the_pool, "every slot of the guard pool is in use"},
    {53, damage_leaving_quarantine, "heap-use-after-free"},
    {54, free_with_header_overwritten, "was overwritten"},
};

typedef struct guard_run {
    const guard_probe *g;
    size_t size;
} guard_run;

/* The child: its reports to its standard error (the parent's pipe). */
static void run_guard_probe(void *ctx)
{
    guard_run *r = ctx;
    platform_set_error_fd(2);
    r->g->run(&r->size);
}

static void probe_guard_faults(const op *o)
{
    size_t size = o->size;
    /* Not under Valgrind: it hands a fault on a guard marker (a page it has
     * no word of) to the handler with no address, and lets a read of a
     * PROT_NONE page of the program's own through */
    if (FUZZ_UNDER_VALGRIND())
        return;
    const guard_probe *g = &guard_probes[o->slot % (sizeof guard_probes / sizeof guard_probes[0])];
    unsigned id = g->run == fault_of_its_own && size % 3 ? 54 + size % 3 : g->id; /* one a way to install it */
    guard_run r = {g, size};
    harness_expect_report(id, run_guard_probe, &r, g->want);
}

/* Probe 3, by size % 8: 0 (release) a freed pointer answers as no live
 * block; 1 a real thread; 2 fork; 3 damage to a thread cache; 4 (release)
 * misuse that stops the program; 5 (debug) guard page faults. */
static void probe_process(shadow *m, const op *o)
{
    switch (o->size % 8) {
    case 0:
        if (!FUZZ_DEBUG && stale_block(o->slot) && !is_live_slot(m, stale_block(o->slot)) &&
            wmalloc_live_usable(stale_block(o->slot)) != 0)
            harness_fail("the freed block %p still answers as live", (void *)stale_block(o->slot));
        break;
    case 1: { /* a thread costs a sanitizer's build a millisecond: one probe in 16 */
        static unsigned asked;
        if (asked++ % 16 == 0)
            run_thread(o->size % 1024 + 1, FUZZ_DEBUG && !FUZZ_SHADOWED && !FUZZ_UNDER_VALGRIND() && o->slot == 1);
        break;
    }
    case 2:
        harness_expect_report(40, after_fork, NULL, "warden: stats: 2 arenas");
        break;
    case 3:
        probe_cache_damage(m, o);
        break;
    case 4:
        if (!FUZZ_DEBUG)
            probe_misuse(m, o);
        break;
    case 5:
        if (FUZZ_DEBUG)
            probe_guard_faults(o);
        break;
    }
}

static void probe(shadow *m, const op *o)
{
    shadow_slot *sl = &m->slot[o->slot];
    unsigned kind = FUZZ_DEBUG ? o->align_log & 7u : o->align_log & 3u;
    switch (kind) {
    case 0:
        if (sl->p) {
            errno = 0;
            harness_require_refused(call->reallocarray(sl->p, SIZE_MAX / 4 + 1, 8), ENOMEM, "reallocarray overflowing");
            shadow_verify_contents(m, o->slot, "after a failed reallocarray");
        }
        break;
    case 1: /* rarely (slot 0, a fill byte under 16): its pages given back fault in again */
        if (o->slot == 0 && o->fill < 16)
            call == &c_api ? wfz_malloc_trim(0) : wmalloc_trim(0);
        else if (FUZZ_DEBUG && !FUZZ_SHADOWED && o->slot == 1 && !FUZZ_UNDER_VALGRIND())
            probe_leaks(o);
        break;
    case 2:
        probe_sizes(m, o);
        break;
    case 3:
        probe_process(m, o);
        break;
    case 4: /* one byte past the requested size: the canary's first byte (not a guard page) */
        if (sl->p && !(guarded(sl->p) && (uintptr_t)(sl->p + sl->size) % PLATFORM_PAGE == 0))
            expect_found(sl->p + sl->size, "a write one byte past the end", sl->p, sl->size);
        break;
    case 5:
        if (quarantined(o->slot) && stale[o->slot].size)
            expect_found(stale_block(o->slot) + junk_span(stale[o->slot].size) / 2, "a write after free", stale_block(o->slot),
                         stale[o->slot].size);
        break;
    case 6:
        if (quarantined(o->slot)) {
            /* reported as a use after free; the size it had, as the program may go on */
            if (front_usable_size(stale_block(o->slot)) != stale[o->slot].size)
                harness_fail("malloc_usable_size of the freed block %p is not its %zu bytes", (void *)stale_block(o->slot),
                             stale[o->slot].size);
            front_free(stale_block(o->slot));
            if (front_realloc(stale_block(o->slot), o->size + 1) != NULL)
                harness_fail("realloc of the freed block %p gave a block", (void *)stale_block(o->slot));
        }
        break;
    case 7: {
        if (sl->p && sl->size > 1)
            front_free(sl->p + 1);
        unsigned char local[32];
        void *volatile on_stack = local + 16; /* out of the compiler's sight: no header lies before it */
        front_free(on_stack);
        break;
    }
    }
}

static void run_op(shadow *m, const op *o)
{
    shadow_slot *sl = &m->slot[o->slot];
    if (o->code == 7 && sl->p)
        release(NULL, m, o->slot);
    if (o->code == 5) {
        become(!self);
        return;
    }
    if (o->code == 6) {
        probe(m, o);
        return;
    }
    if (!sl->p && (o->code <= 2 || o->code == 7)) {
        size_t align;
        size_t size = o->size;
        void *p = allocate(o, &align, &size);
        if (!p)
            harness_fail("allocation of %zu bytes (alignment %zu) failed", o->size, align);
        shadow_put(m, o->slot, p, size, align, o->fill);
        return;
    }
    if (o->code == 3) {
        if (sl->p)
            shadow_verify_contents(m, o->slot, "before realloc");
        void *p = o->align_log & 1 ? call->reallocarray(sl->p, o->size, 1) : call->realloc(sl->p, o->size);
        if (sl->p && o->size == 0) { /* glibc's realloc(p, 0): a free */
            if (p)
                harness_fail("realloc(%p, 0) gave %p, not NULL", (void *)sl->p, p);
            note_freed(o->slot, sl->p, sl->size);
            sl->p = NULL;
            return;
        }
        if (!p)
            harness_fail("realloc to %zu bytes failed", o->size);
        if (!sl->p) {
            shadow_put(m, o->slot, p, o->size, 1, o->fill);
            return;
        }
        if (p != sl->p)
            note_freed(o->slot, sl->p, sl->size);
        sl->align = 1; /* realloc promises the default alignment only */
        shadow_realloc(m, o->slot, p, o->size);
        return;
    }
    if (o->code == 4 && sl->p)
        release(NULL, m, o->slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    if (!started) {
        setup();
        started = 1;
    }
    if (size <= HARNESS_HEADER)
        return 0;
    become(data[0] & 1u);
    call = data[0] & 4u ? &c_api : &front_api;
    if (FUZZ_DEBUG)
        guard_sample_restart();
    memset(stale, 0, sizeof stale);
    /* static: the leak check's roots hold it (a frame may be on a
     * sanitizer's fake stack, which no scan of the stack sees) */
    static shadow m;
    m = (shadow){.usable = usable};
    /* The debug profile fills and verifies a block's first junk_bytes
     * (junk at malloc and free, verified as it leaves the quarantine) and
     * its canaries: its blocks stay under 64 KiB, past the guard pool's
     * largest, not 1 MiB. */
    input in = {data + HARNESS_HEADER, data + size, FUZZ_DEBUG ? 65535 : 0};
    op o;
    static const char *names[] = {"malloc", "calloc", "aligned alloc", "realloc", "free", "switch threads",
                                  "probe", "free+malloc"};
    while (input_next_op(&in, &o)) {
        unsigned said = reports();
        run_op(&m, &o);
        check(&m, names[o.code]);
        if (o.code != 6)
            no_report_since(said, names[o.code]);
    }
    unsigned said = reports();
    shadow_release_all(&m, release, NULL);
    check(&m, "the final frees");
    no_report_since(said, "the final frees");
    /* Every cache back to its heap, unless the header keeps them: the next
     * input starts from heaps whose free blocks have coalesced and whose
     * empty regions went back (a check's cost follows the heaps' blocks,
     * and such an input replays alone as it ran). Kept, a full bin or a
     * batch outlives the input, so a bug that needs more frees than one
     * input holds stays in reach (the fault tcache_double_free). */
    if (data[0] & 2u)
        return 0;
    tcache_flush(thread_cache[0]);
    tcache_flush(thread_cache[1]);
    arena_flush_central();
    check(&m, "the caches' flush");
    return 0;
}
