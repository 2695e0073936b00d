/* malloc_process.c — fuzz_malloc's probe 3 (fuzz_malloc.c's top comment):
 * the process around the malloc layer. Real threads, fork, damage to a
 * thread cache, misuse a release build must stop for, and the debug
 * profile's guard pages and reports, the forking ones in children
 * (harness.h) once per process. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, O_CLOEXEC, sigsetjmp */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug.h"
#include "front.h"
#include "fuzz_malloc.h"
#include "guard.h"
#include "harness.h"
#include "interpose.h"
#include "options.h"
#include "platform.h"
#include "platform_debug.h"
#include "report.h"
#include "tcache.h"
#include "wmalloc.h"

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
    forget_stale();
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

/* size bytes of tc at at changed to bad's: tcache_check must find it; then put back. */
static void expect_damage_found(tcache *tc, void *at, const void *bad, size_t size, const char *what)
{
    char why[300];
    unsigned char was[sizeof(void *)];
    memcpy(was, at, size);
    memcpy(at, bad, size);
    int found = tcache_check(tc, why, sizeof why);
    memcpy(at, was, size);
    if (!found)
        harness_fail("a thread cache with %s passed its check", what);
}

static void expect_slot_damage_found(tcache *tc, block **at, block *bad, const char *what)
{
    expect_damage_found(tc, at, &bad, sizeof bad, what);
}

static void expect_count_damage_found(tcache *tc, uint32_t *at, uint32_t bad, const char *what)
{
    expect_damage_found(tc, at, &bad, sizeof bad, what);
}

static void probe_cache_damage(const shadow *m, const op *o)
{
    tcache *tc = thread_cache[o->slot & 1], *other = thread_cache[!(o->slot & 1)];
    tcache_bin *bin = NULL, *next = NULL, *same = NULL; /* tc's first two bins in use; a class both use */
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
        if (bin)
            expect_count_damage_found(tc, &bin->count, bin->cap + 1, "a bin over its cap");
        break;
    case 1:
        if (bin && mine)
            expect_slot_damage_found(tc, &bin->slots[0], mine, "a program's block in a bin");
        break;
    case 2:
        if (bin && next)
            expect_slot_damage_found(tc, &bin->slots[0], next->slots[0], "a block in another class's bin");
        break;
    case 3:
        if (same)
            expect_slot_damage_found(tc, &tc->bins[same - other->bins].slots[0], same->slots[0],
                                     "a block of the other arena");
        break;
    case 4:
        if (bin && bin->count > 1)
            expect_slot_damage_found(tc, &bin->slots[1], bin->slots[0], "a block cached twice");
        break;
    case 5:
        expect_count_damage_found(tc, &tc->remote_count, TCACHE_REMOTE + 1, "a remote buffer over its size");
        break;
    default:
        if (tc->remote_count && mine)
            expect_slot_damage_found(tc, &tc->remote[0], mine, "a program's block in the remote buffer");
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

/* A real thread costs a sanitizer's build about a millisecond, a dozen
 * inputs' worth, and the fuzzer would run an input that starts one over
 * and over: one probe in 16 of a process starts it, the first always (an
 * input replayed alone runs its first; a size-based choice instead cost
 * the debug harness a fifth of its speed). */
static int thread_turn(void)
{
    static unsigned asked;
    return asked++ % 16 == 0;
}

/* Probe 3, by size % 8: 0 (release) a freed pointer answers as no live
 * block; 1 a real thread (one probe in 16); 2 fork; 3 damage to
 * a thread cache; 4 (release) misuse that stops the program; 5 (debug)
 * guard page faults. */
void probe_process(shadow *m, const op *o)
{
    switch (o->size % 8) {
    case 0:
        if (!FUZZ_DEBUG && stale_block(o->slot) && !is_live_slot(m, stale_block(o->slot)) &&
            wmalloc_live_usable(stale_block(o->slot)) != 0)
            harness_fail("the freed block %p still answers as live", (void *)stale_block(o->slot));
        break;
    case 1:
        if (thread_turn())
            run_thread(o->size % 1024 + 1, FUZZ_DEBUG && !FUZZ_SHADOWED && !FUZZ_UNDER_VALGRIND() && o->slot == 1);
        break;
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

