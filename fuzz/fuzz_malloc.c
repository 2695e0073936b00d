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
 *         3 the process around the layer (malloc_process.c), by size % 8:
 *         0 (release) a freed pointer is no live block, 1 a real thread
 *         (one such probe in 16 of a process, the first always;
 *         allocating, freeing remotely both ways, ending; in the plain
 *         debug replay, slot 1, blocked through a leak check), 2 fork (both processes go on),
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "bugreport.h"
#include "depot.h"
#include "front.h"
#include "fuzz_malloc.h"
#include "harness.h"
#include "interpose.h"
#include "options.h"
#include "platform.h"
#include "platform_debug.h"
#include "tcache.h"
#include "wmalloc.h"

#include "guard.h"
#include "quarantine.h"


/* Small caches, so bins overflow and drain; two arenas, one per thread. */
#define RELEASE_OPTIONS "arenas=2:tcache_bytes=1k:central_bytes=2k:pool_bytes=64m"
/* Every part of the profile on; a quarantine and a guard pool small enough
 * to verify after every operation (the pool's check walks its freed slots,
 * and 64 of them come round for reuse sooner than 256); reports (the probes') go on, unsymbolized, and leave the
 * exit status alone. */
#define DEBUG_OPTIONS                                                                                          \
    RELEASE_OPTIONS ":redzone=16:quarantine_bytes=4k:junk_alloc=1:junk_free=1:stack_depth=8:guard_rate=6"   \
                    ":guard_slots=64:halt_on_error=0:exitcode=0:symbolize=0"

tcache *thread_cache[2];
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

unsigned char *stale_block(unsigned s)
{
    return stale[s].hidden ? (unsigned char *)(stale[s].hidden ^ HIDE_MASK) : NULL;
}

void forget_stale(void)
{
    memset(stale, 0, sizeof stale);
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

void become(unsigned thread)
{
    self = thread;
    wmalloc_self = thread_cache[thread];
}

static size_t usable(void *ctx, const void *p)
{
    (void)ctx;
    return call->usable_size((void *)(uintptr_t)p);
}

int guarded(const void *p)
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

int is_live_slot(const shadow *m, const void *p)
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
size_t junk_span(size_t size)
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
    forget_stale();
    if (lost != size)
        harness_fail("the leak check found %zu bytes lost, but the program lost a %zu-byte block", lost, size);
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
    forget_stale();
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
