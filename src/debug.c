/* debug.c — the debug profile's blocks (debug.h).
 *
 *   heap block payload (wmalloc)
 *   |<------------------- lead ------------------->|
 *   [ lead word, when lead > 48 ][ debug_header: 48 ][ user's size bytes ][ tail canary ... end ]
 *                                 size stacks threads  ^ user pointer       from user + size to
 *                                 offset state seal                         the block's end
 *                                 head canary (8)
 *
 * Invariants (a block handed out, or in the quarantine):
 *   header.seal == seal_of(header, user); header.offset == lead
 *   head[] all CANARY_HEAD; [user + size, end) all CANARY_TAIL
 *   state == DEBUG_FREED <=> the block is in the quarantine, and then (junk_free)
 *   [user, user + junk_span(size)) all JUNK_FREE
 */
#include "debug.h"

#include <errno.h>
#include <string.h>

#include "bugreport.h"
#include "canary.h"
#include "depot.h"
#include "fault.h"
#include "guard.h"
#include "integrity.h"
#include "leak.h"
#include "mix.h"
#include "options.h"
#include "platform.h"
#include "platform_debug.h"
#include "quarantine.h"
#include "report.h"
#include "symbolize.h"
#include "wmalloc.h"

#define DEBUG_LIVE 0x4c495645u  /* "LIVE" */
#define DEBUG_FREED 0x46524545u /* "FREE" */

typedef struct debug_header {
    uint64_t size;                      /* the bytes asked for */
    uint32_t alloc_stack, free_stack;   /* depot ids; 0: none */
    uint32_t alloc_thread, free_thread; /* thread numbers */
    uint32_t offset;                    /* the lead: user pointer minus heap payload */
    uint32_t state;                     /* DEBUG_LIVE or DEBUG_FREED */
    uint64_t seal;                      /* keyed hash of the fields above and the user pointer */
    unsigned char head[CANARY_HEAD_BYTES]; /* CANARY_HEAD */
} debug_header;
_Static_assert(sizeof(debug_header) == 48, "a debug header is three granules");
#define LEAD_MIN sizeof(debug_header)

static int started;
static platform_lock check_lock; /* one whole-heap check at a time */
static size_t redzone;
static int junk_alloc, junk_free, detect_leaks, leak_reachable, guarding;
static uint64_t check_every, operations;
static size_t junk_most; /* junk_bytes; 0: no bound */
static uint32_t next_thread;
static WARDEN_TLS uint32_t thread_plus1; /* this thread's number + 1; 0: none yet */

static uint32_t thread_number(void)
{
    if (!thread_plus1)
        thread_plus1 = __atomic_add_fetch(&next_thread, 1, __ATOMIC_RELAXED);
    return thread_plus1 - 1;
}

/* A block's header: right before it, or for a guarded block its slot's
 * record (readable while the block's own pages are not). */
static debug_header *header_of(const void *user)
{
    if (guard_owns(user))
        return guard_record(user);
    return (debug_header *)(uintptr_t)user - 1;
}

/* The head canary: the bytes right before the block (the header's last
 * field, for a block in the heap); a guarded block that starts on its
 * first page has none (the page before it is inaccessible instead). */
static unsigned char *head_of(const void *user, const debug_header *h)
{
    return h->offset >= CANARY_HEAD_BYTES ? (unsigned char *)(uintptr_t)user - CANARY_HEAD_BYTES : NULL;
}

/* Keyed: the fields' products with odd constants are independent (they
 * run side by side); one multiply between two shifts spreads them (it runs
 * four times a malloc and free: a full mix64 cost a fifth of the profile's
 * own time). */
static uint64_t seal_of(const debug_header *h, const void *user)
{
    uint64_t x = integrity_secret() ^ (uintptr_t)user;
    x ^= h->size * 0x9e3779b97f4a7c15u;
    x ^= ((uint64_t)h->alloc_stack << 32 | h->free_stack) * 0xc2b2ae3d27d4eb4fu;
    x ^= ((uint64_t)h->alloc_thread << 32 | h->free_thread) * 0x165667b19e3779f9u;
    x ^= ((uint64_t)h->offset << 32 | h->state) * 0xd6e8feb86659fd93u;
    x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9u;
    return x ^ (x >> 32);
}

/* The word at a payload that says the header is further in (lead > 48). */
static uint64_t lead_word(const void *payload, uint32_t lead)
{
    return mix64(integrity_secret() ^ (uintptr_t)payload) ^ lead;
}

static unsigned char *payload_of(const void *user, const debug_header *h)
{
    return (unsigned char *)(uintptr_t)user - h->offset;
}

/* ---- set-up -------------------------------------------------------------- */

int debug_wanted(const options *o)
{
    return o->redzone || o->quarantine_bytes || o->junk_alloc || o->junk_free || o->stack_depth || o->check_every ||
           o->detect_leaks || o->guard_rate;
}

static void thread_exit(void);

int debug_start(const options *o, char *err, size_t err_size)
{
    if (!WMALLOC_LOCK_FREE) {
        report_format(err, err_size, "the debug profile does not run in a sanitizer-aware build");
        return -1;
    }
    redzone = (size_t)o->redzone;
    junk_alloc = (int)o->junk_alloc;
    junk_free = (int)o->junk_free;
    junk_most = o->junk_bytes ? (size_t)o->junk_bytes : SIZE_MAX;
    detect_leaks = (int)o->detect_leaks;
    leak_reachable = (int)o->leak_reachable;
    check_every = o->check_every;
    platform_keep_error_stream(); /* reports at exit still arrive when the program closed fd 2 (coreutils do) */
    if (o->log_path[0] && platform_log_to(o->log_path) != 0) {
        report_format(err, err_size, "cannot open log_path %s.PID", o->log_path);
        return -1;
    }
    if (quarantine_setup((size_t)o->quarantine_bytes) != 0) {
        report_format(err, err_size, "cannot map its quarantine (out of memory)");
        return -1;
    }
    if (o->guard_rate && guard_setup((size_t)o->guard_slots, (size_t)o->guard_rate, (int)o->guard_markers, sizeof(debug_header), err, err_size) != 0)
        return -1;
    guarding = o->guard_rate != 0;
    symbolize_setup((int)o->symbolize);
    bugreport_setup((int)o->halt_on_error, thread_number);
    platform_lock_init(&check_lock);
    wmalloc_on_thread_exit(thread_exit);
    started = 1;
    return 0;
}

/* fork: the debug profile's locks, taken before the heaps' (whose handlers
 * were registered first, so run after these) and let go in the child. */
static void debug_fork_prepare(void)
{
    platform_lock_acquire(&check_lock);
    quarantine_lock();
    guard_lock();
    depot_lock();
}

static void debug_fork_after(void)
{
    depot_unlock();
    guard_unlock();
    quarantine_unlock();
    platform_lock_release(&check_lock);
}

static int debug_fault(const void *addr, char access, uintptr_t pc);

void debug_load(void)
{
    if (guarding && platform_catch_faults(debug_fault) != 0)
        platform_write_error("warden: cannot catch SIGSEGV: guard page faults will not be reported\n", 70);
    depot_setup((unsigned)wmalloc_options()->stack_depth);
    platform_atfork(debug_fork_prepare, debug_fork_after, debug_fork_after); /* here, not inside a malloc: it may allocate */
}

/* ---- verifying a block ----------------------------------------------------- */

typedef struct finding {
    const char *kind;
    char what[200];
    const void *user;
    debug_header h; /* a copy: the block may be gone by the time it is reported */
} finding;

/* The bytes of a block of size bytes that the junk covers, from its start. */
static size_t junk_span(uint64_t size)
{
    return size < junk_most ? (size_t)size : junk_most;
}

/* The tail canary's bytes, in a heap block of usable bytes, and where
 * they start: right at the requested size. */
static size_t tail_bytes(const debug_header *h, size_t usable)
{
    size_t used = h->offset + h->size;
    size_t n = usable > used ? usable - used : 0;
    return n && FAULT(canary_late) ? n - 1 : n;
}

static unsigned char *tail_of(const void *user, const debug_header *h)
{
    return (unsigned char *)(uintptr_t)user + h->size + (FAULT(canary_late) ? 1 : 0);
}

/* Whether the canaries (and, for a freed block, the junk) of a block whose
 * header is sealed are intact; fills f when not. Reads only. */
static int block_intact(const void *user, const debug_header *h, size_t usable, finding *f)
{
    const unsigned char *u = user, *head = head_of(user, h);
    size_t first = head ? canary_first_bad(head, CANARY_HEAD_BYTES, CANARY_HEAD) : CANARY_HEAD_BYTES;
    if (first < CANARY_HEAD_BYTES) {
        f->kind = "heap-buffer-underflow";
        report_format(f->what, sizeof f->what, "a write at offset -%zu of the %zu-byte block at %p, before its start",
                      (size_t)(CANARY_HEAD_BYTES - first), (size_t)h->size, user);
        return 0;
    }
    size_t tail = tail_bytes(h, usable);
    first = canary_first_bad(tail_of(user, h), tail, CANARY_TAIL);
    if (first < tail) {
        f->kind = "heap-buffer-overflow";
        report_format(f->what, sizeof f->what,
                      "a write at offset %zu of the %zu-byte block at %p, byte %zu past its end (%zu canary bytes changed)",
                      (size_t)h->size + first, (size_t)h->size, user, first + 1,
                      canary_count_bad(tail_of(user, h), tail, CANARY_TAIL));
        return 0;
    }
    if (h->state == DEBUG_FREED && junk_free && !FAULT(quarantine_skips_junk)) {
        size_t span = junk_span(h->size);
        first = canary_first_bad(u, span, JUNK_FREE);
        if (first < span) {
            f->kind = "heap-use-after-free";
            report_format(f->what, sizeof f->what,
                          "a write into the %zu-byte block at %p after it was freed: %zu bytes changed, the first at offset %zu",
                          (size_t)h->size, user, canary_count_bad(u, span, JUNK_FREE), first);
            return 0;
        }
    }
    return 1;
}

static void report_finding(const finding *f, const char *op, int with_stack)
{
    bug b = {f->kind, op, f->user, f->what, f->user, (size_t)f->h.size, f->h.alloc_stack, f->h.free_stack,
             f->h.alloc_thread, f->h.free_thread, f->h.state == DEBUG_FREED, with_stack, 0};
    bugreport(&b);
}

/* Verifies the block at user (header sealed, its heap block usable bytes)
 * and reports what is wrong. */
static void verify(const void *user, const debug_header *h, size_t usable, const char *op, int with_stack)
{
    finding f;
    if (!block_intact(user, h, usable, &f)) {
        f.user = user;
        f.h = *h;
        report_finding(&f, op, with_stack);
    }
}

/* ---- finding the block of a pointer ---------------------------------------- */

static void report_plain(const char *kind, const char *op, const void *ptr, const char *what)
{
    bug b = {kind, op, ptr, what, NULL, 0, 0, 0, 0, 0, 0, 1, 0};
    bugreport(&b);
}

static void report_not_a_block(const char *op, const void *ptr)
{
    char what[200];
    report_format(what, sizeof what,
                  "%s(%p): not the start of a block in use (an interior or misaligned pointer, or a block freed long ago)",
                  op, ptr);
    report_plain("invalid-free", op, ptr, what);
}

/* block_of for a pointer into the guard pool. */
static debug_header *guarded_block_of(const void *ptr, const char *op, size_t *usable)
{
    unsigned char *user, *start, *end;
    debug_header *h = header_of(ptr);
    if (guard_block_of(ptr, &user, &start, &end) == 0 && user == ptr && h->seal == seal_of(h, ptr)) {
        *usable = (size_t)(end - start);
        return h;
    }
    report_not_a_block(op, ptr);
    return NULL;
}

/* The sealed header of the block whose user pointer is ptr, and its heap
 * block's usable bytes in *usable; NULL after a report (not a block of
 * warden's, an interior pointer, a damaged header). */
static debug_header *block_of(const void *ptr, const char *op, size_t *usable)
{
    char what[200];
    if (guard_owns(ptr))
        return guarded_block_of(ptr, op, usable);
    const region *r = region_of(ptr);
    if (!r) {
        report_format(what, sizeof what, "%s(%p): not an address warden handed out (a stack, global or foreign pointer)",
                      op, ptr);
        report_plain("invalid-free", op, ptr, what);
        return NULL;
    }
    debug_header *h = header_of(ptr);
    int placed = ((uintptr_t)ptr & (WMALLOC_ALIGNMENT - 1)) == 0 &&
                 (const char *)ptr >= (const char *)block_payload(region_first(r)) + LEAD_MIN;
    if (placed && h->offset >= LEAD_MIN && h->offset <= ((uint32_t)1 << 30) &&
        (uintptr_t)ptr - h->offset >= (uintptr_t)block_payload(region_first(r)) &&
        (*usable = wmalloc_live_usable_in(r, payload_of(ptr, h))) != 0 && h->seal == seal_of(h, ptr))
        return h;
    if (placed && wmalloc_live_usable_in(r, (const char *)ptr - LEAD_MIN) != 0) { /* its own block, its header overwritten */
        report_format(what, sizeof what, "the header before the block at %p was overwritten (a write before its start)",
                      ptr);
        report_plain("heap-buffer-underflow", op, ptr, what);
        return NULL;
    }
    report_not_a_block(op, ptr);
    return NULL;
}

/* ---- faults in the guard pool ------------------------------------------------- */

/* SIGSEGV at addr: a report when it is in the guard pool (1), else 0. */
static int debug_fault(const void *addr, char access, uintptr_t pc)
{
    if (!guard_owns(addr))
        return 0;
    const char *how = access == 'w' ? "write" : access == 'r' ? "read" : "access";
    char what[200];
    unsigned char *user, *start, *end;
    if (guard_block_of(addr, &user, &start, &end) != 0) {
        report_format(what, sizeof what, "a %s at %p, in warden's guard pool but in no block (a wild pointer)", how, addr);
        bug b = {"wild-access", how, addr, what, NULL, 0, 0, 0, 0, 0, 0, 1, pc};
        bugreport(&b);
    } else {
        const debug_header *h = header_of(user);
        const unsigned char *a = addr;
        const char *kind;
        if (h->state == DEBUG_FREED) {
            kind = "heap-use-after-free";
            report_format(what, sizeof what, "a %s at offset %s%zu of the %zu-byte block at %p, after it was freed", how,
                          a < user ? "-" : "", (size_t)(a < user ? user - a : a - user), (size_t)h->size, user);
        } else if (a >= user + h->size) {
            kind = "heap-buffer-overflow";
            report_format(what, sizeof what, "a %s at offset %zu of the %zu-byte block at %p, byte %zu past its end", how,
                          (size_t)(a - user), (size_t)h->size, user, (size_t)(a - user - h->size) + 1);
        } else {
            kind = "heap-buffer-underflow";
            report_format(what, sizeof what, "a %s at offset -%zu of the %zu-byte block at %p, before its start", how,
                          (size_t)(user - a), (size_t)h->size, user);
        }
        bug b = {kind, how, addr, what, user, (size_t)h->size, h->alloc_stack, h->free_stack,
                 h->alloc_thread, h->free_thread, h->state == DEBUG_FREED, 1, pc};
        bugreport(&b);
    }
    /* halt_on_error=0: the program goes on, reading and writing that page;
     * where the kernel will not open it, the access would fault for ever:
     * the fault is the program's then (its handler, or death by SIGSEGV) */
    return guard_open(addr) == 0;
}

/* ---- periodic checks ---------------------------------------------------------- */

static void periodic_check(void)
{
    if (check_every && __atomic_add_fetch(&operations, 1, __ATOMIC_RELAXED) % check_every == 0)
        debug_check_all(NULL, 0);
}

/* ---- the entry points ------------------------------------------------------------ */

/* A new block of size bytes; the caller writes its first `kept` bytes
 * (realloc's copy), so only the rest gets the allocation junk. */
static void *alloc_block(size_t size, size_t alignment, const char *op, size_t kept)
{
    periodic_check();
    size_t a = alignment > WMALLOC_ALIGNMENT ? alignment : WMALLOC_ALIGNMENT;
    size_t lead = (LEAD_MIN + a - 1) & ~(a - 1), total; /* the header fits, the user pointer stays aligned */
    if (size > WMALLOC_MAX_REQUEST || __builtin_add_overflow(size, lead + redzone, &total) ||
        total > WMALLOC_MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    unsigned char *raw, *user = NULL, *end;
    size_t usable;
    if (guarding && guard_sampled())
        user = guard_alloc(size, a, &raw, &end);
    if (user) {
        lead = (size_t)(user - raw);
        usable = (size_t)(end - raw);
    } else {
        raw = a > WMALLOC_ALIGNMENT ? wmalloc_malloc_slow(total, a, op) : wmalloc_malloc(total);
        if (!raw)
            return NULL;
        user = raw + lead;
        if (lead > LEAD_MIN)
            *(uint64_t *)(void *)raw = lead_word(raw, (uint32_t)lead);
        usable = wmalloc_fresh_usable(raw);
    }
    debug_header *h = header_of(user);
    /* The seal last: a heap check that finds it sealed finds it whole. */
    *h = (debug_header){size, depot_capture(), 0, thread_number(), 0, (uint32_t)lead, DEBUG_LIVE, 0, {0}};
    unsigned char *head = head_of(user, h);
    if (head)
        canary_fill(head, CANARY_HEAD_BYTES, CANARY_HEAD);
    canary_fill(tail_of(user, h), tail_bytes(h, usable), CANARY_TAIL);
    if (junk_alloc && kept < junk_span(size))
        canary_fill(user + kept, junk_span(size) - kept, JUNK_ALLOC);
    __atomic_store_n(&h->seal, seal_of(h, user), __ATOMIC_RELEASE);
    return user;
}

void *debug_alloc(size_t size, size_t alignment, const char *op)
{
    return alloc_block(size, alignment, op, 0);
}

/* A block leaving the quarantine (or freed without one): verified, then the heap's. */
/* What blocks leaving the quarantine were found with: reported once the
 * quarantine's lock is let go (a report may wait on the program's stdio
 * locks, whose holder may be waiting for the quarantine). */
#define PENDING_MAX 2 /* reported of the blocks a batch lets out (the rest: too many at once; TLS is dear) */
static WARDEN_TLS finding pending[PENDING_MAX];
static WARDEN_TLS unsigned pending_count;

/* A block leaving the quarantine (or freed without one): verified, then the
 * heap's. It notes, it does not report (reports come after the batch). */
static void release(void *user, size_t usable)
{
    debug_header *h = header_of(user);
    unsigned char *payload = payload_of(user, h);
    finding *f = &pending[pending_count < PENDING_MAX ? pending_count : PENDING_MAX - 1];
    if (h->seal == seal_of(h, user) && !block_intact(user, h, usable, f)) {
        f->user = user;
        f->h = *h;
        pending_count += pending_count < PENDING_MAX;
    }
    wmalloc_free(payload);
}

static void report_pending(void)
{
    for (unsigned i = 0; i < pending_count; i++)
        report_finding(&pending[i], "the quarantine", 0);
    pending_count = 0;
}

/* A thread ends: the freed blocks it gathered go into the quarantine. */
static void thread_exit(void)
{
    quarantine_flush(release);
    if (pending_count)
        report_pending();
    depot_thread_end();
}

static void report_freed(const void *ptr, const debug_header *h, const char *kind, const char *op, const char *words)
{
    finding f = {kind, {0}, ptr, *h};
    report_format(f.what, sizeof f.what, "%s(%p) of the %zu-byte block, %s", op, ptr, (size_t)h->size, words);
    report_finding(&f, op, 1);
}

static void free_block(void *ptr, debug_header *h, size_t usable);

void debug_free(void *ptr, const char *op)
{
    if (!ptr)
        return;
    periodic_check();
    size_t usable;
    debug_header *h = block_of(ptr, op, &usable);
    if (!h)
        return;
    if (h->state == DEBUG_FREED) {
        report_freed(ptr, h, "double-free", op, "freed already");
        return;
    }
    verify(ptr, h, usable, op, 1);
    free_block(ptr, h, usable);
}

/* The rest of a free, for a sealed live block that was just verified. */
static void free_block(void *ptr, debug_header *h, size_t usable)
{
    int guarded = guard_owns(ptr);
    if (junk_free && !guarded) /* before the header says freed: a check must not see half the junk */
        canary_fill(ptr, junk_span(h->size), JUNK_FREE);
    h->free_stack = depot_capture();
    h->free_thread = thread_number();
    h->state = DEBUG_FREED;
    h->seal = seal_of(h, ptr);
    if (guarded) { /* its pages become inaccessible: any use faults */
        guard_free(ptr);
        return;
    }
    quarantine_put(ptr, usable, release); /* the heap's own count of its bytes */
    if (pending_count)
        report_pending();
}

void *debug_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return debug_alloc(size, 0, "realloc");
    if (size == 0) {
        debug_free(ptr, "realloc");
        return NULL;
    }
    size_t usable;
    debug_header *h = block_of(ptr, "realloc", &usable);
    if (!h)
        return NULL;
    if (h->state == DEBUG_FREED) {
        report_freed(ptr, h, "heap-use-after-free", "realloc", "freed already");
        return NULL;
    }
    verify(ptr, h, usable, "realloc", 1);
    size_t kept = h->size < size ? h->size : size;
    void *fresh = alloc_block(size, 0, "realloc", kept);
    if (!fresh)
        return NULL;
    memcpy(fresh, ptr, kept);
    free_block(ptr, h, usable); /* found and verified above */
    return fresh;
}

size_t debug_usable_size(const void *ptr)
{
    if (!ptr)
        return 0;
    size_t usable;
    debug_header *h = block_of(ptr, "malloc_usable_size", &usable);
    if (!h)
        return 0;
    if (h->state == DEBUG_FREED)
        report_freed(ptr, h, "heap-use-after-free", "malloc_usable_size", "freed already");
    return h->size; /* the bytes asked for: the rest is canary */
}

size_t debug_quarantined_bytes(void)
{
    size_t blocks, bytes;
    quarantine_count(&blocks, &bytes);
    return bytes;
}

/* ---- the whole heap --------------------------------------------------------------- */

#define FINDINGS_MAX 16

typedef struct survey {
    finding found[FINDINGS_MAX];
    size_t count;
} survey;

static survey last; /* one check at a time: debug_check_all holds check_lock */

/* Checks the block at user when its header, read once, is sealed and in
 * state `want`: its owner may free it meanwhile (a check runs while threads
 * allocate), and a freed guarded block has no junk to check, nor a block
 * whose junk is being written. */
static void note(survey *s, const void *user, const debug_header *h, size_t usable, uint32_t want)
{
    finding *f = &s->found[s->count];
    debug_header c = *h;
    if (c.state != want || c.seal != seal_of(&c, user))
        return;
    if (s->count < FINDINGS_MAX && !block_intact(user, &c, usable, f)) {
        f->user = user;
        f->h = c;
        s->count++;
    }
}

/* The user pointer of a live heap block if it is a live debug block (its
 * header, where the lead word says or right at the payload, sealed), or NULL. */
static const unsigned char *live_user(void *payload, size_t usable)
{
    if (usable < LEAD_MIN)
        return NULL;
    uint32_t lead = LEAD_MIN;
    uint64_t w = *(const uint64_t *)payload;
    uint64_t guess = lead_word(payload, 0) ^ w; /* the lead, if this is a lead word */
    if (guess > LEAD_MIN && guess <= usable && guess <= ((uint32_t)1 << 30))
        lead = (uint32_t)guess;
    const unsigned char *user = (const unsigned char *)payload + lead;
    const debug_header *h = header_of(user);
    if (h->offset == lead && h->state == DEBUG_LIVE && __atomic_load_n(&h->seal, __ATOMIC_ACQUIRE) == seal_of(h, user))
        return user;
    return NULL;
}

static void survey_live(void *payload, size_t usable, void *ctx)
{
    const unsigned char *user = live_user(payload, usable);
    if (user)
        note(ctx, user, header_of(user), usable, DEBUG_LIVE);
}

/* A quarantined block (they cannot leave while the quarantine is walked). */
static void survey_quarantined(void *user, void *ctx)
{
    const debug_header *h = header_of(user);
    note(ctx, user, h, wmalloc_live_usable(payload_of(user, h)), DEBUG_FREED);
}

/* A live guarded block. */
static void survey_guarded(void *user, void *ctx)
{
    unsigned char *u, *start, *end;
    const debug_header *h = header_of(user);
    if (guard_block_of(user, &u, &start, &end) == 0)
        note(ctx, user, h, (size_t)(end - start), DEBUG_LIVE);
}

int debug_check_all(char *why, size_t why_size)
{
    char line[200];
    quarantine_flush(release); /* this thread's batch, into the ring the check reads */
    if (pending_count)
        report_pending();
    int rc = wmalloc_check_all(line, sizeof line);
    if (rc == 0)
        rc = guard_check(line, sizeof line);
    if (rc != 0) {
        if (why && why_size)
            report_format(why, why_size, "%s", line);
        report_plain("heap-corruption", "warden_check_all", NULL, line);
        return rc;
    }
    platform_lock_acquire(&check_lock);
    last.count = 0;
    wmalloc_walk(survey_live, &last);
    guard_walk(survey_guarded, &last);
    quarantine_walk(survey_quarantined, &last);
    size_t n = last.count;
    platform_lock_release(&check_lock);
    for (size_t i = 0; i < n; i++)
        report_finding(&last.found[i], "the heap check", 0);
    if (n && why && why_size)
        report_format(why, why_size, "%s: %s", last.found[0].kind, last.found[0].what);
    return n != 0;
}

/* ---- leaks -------------------------------------------------------------------------- */

static void count_live(void *payload, size_t usable, void *ctx)
{
    *(size_t *)ctx += live_user(payload, usable) != NULL;
}

static void list_live(void *payload, size_t usable, void *ctx)
{
    const unsigned char *user = live_user(payload, usable);
    if (user)
        leak_add(ctx, user, (size_t)header_of(user)->size, header_of(user)->alloc_stack);
}

static void count_guarded(void *user, void *ctx)
{
    (void)user;
    (*(size_t *)ctx)++;
}

static void list_guarded(void *user, void *ctx)
{
    const debug_header *h = header_of(user);
    if (h->state == DEBUG_LIVE && h->seal == seal_of(h, user))
        leak_add(ctx, user, (size_t)h->size, h->alloc_stack);
}

size_t debug_leak_report(void)
{
    if (!started)
        return 0;
    /* No block may go back to the heap while its bytes are read: frees
     * wait at the quarantine's lock (which comes before the heaps'). */
    platform_lock_acquire(&check_lock);
    quarantine_lock();
    size_t live = 0;
    wmalloc_walk(count_live, &live);
    guard_walk(count_guarded, &live);
    leak_scan *s = leak_begin(live + live / 8 + 1024); /* room for what is allocated meanwhile */
    if (s) {
        wmalloc_walk(list_live, s);
        guard_walk(list_guarded, s);
        leak_find(s);
    }
    quarantine_unlock();
    platform_lock_release(&check_lock);
    if (!s) {
        report_plain("leak-check", "the leak check", NULL, "no memory for the leak check's block list");
        return 0;
    }
    leak_totals t;
    leak_report(s, leak_reachable, &t);
    return t.bytes[LEAK_DIRECT] + t.bytes[LEAK_INDIRECT];
}

/* At exit: every block and the quarantine, the leaks, then the exit status
 * of a program that went on after reports or leaked. */
__attribute__((destructor)) static void check_at_exit(void)
{
    if (!started)
        return;
    platform_flush_stdio(); /* what the program printed comes before the report, and is not lost */
    debug_check_all(NULL, 0);
    size_t lost = detect_leaks ? debug_leak_report() : 0;
    if (bugreport_count() || lost)
        platform_exit((int)wmalloc_options()->exitcode);
}
