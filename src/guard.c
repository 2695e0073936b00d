/* guard.c — the guard pool (guard.h).
 *
 *   slot i: [guard_lo + i * GUARD_STRIDE, + GUARD_STRIDE)
 *   | inaccessible ...      | data pages, accessible while live    | guard page |
 *                          start              user ... user + size  end
 *
 * The block is placed as late as its alignment lets it, so its end touches
 * the guard page (up to alignment - 1 bytes between them, which debug.c
 * fills with canary); the page before start is inaccessible too (the slot's
 * unused pages or the previous slot's guard page), so an underflow faults
 * when the block starts on a page.
 *
 * Slot states: FRESH (never used; slots [pool_fresh, pool_slots) are), LIVE, FREED
 * (inaccessible, in the FIFO). A slot whose page was opened after a report
 * is never reused. The slot table keeps offsets, not pointers: the leak
 * scan must not take it for the program's.
 *
 * The pool's pages are made inaccessible one of two ways. Where the kernel
 * has guard markers (Linux 6.13), the pool is one read-write mapping with
 * every page marked: a slot's data pages lose their markers at allocation
 * and get them back at free (their memory goes with it; a reuse faults in
 * zeroed pages), so the pool is one mapping whatever it holds and RSS
 * follows the live blocks. Elsewhere (guard_markers=0, older kernels) it
 * is PROT_NONE address space and mprotect opens and closes the data pages
 * (freed pages stay resident, one a slot; each slot in a state of its own
 * is a mapping, so the map count bounds the pool).
 *
 * Slots are opened ahead, GUARD_READY at a time, their last data page
 * (all a block up to a page needs) made accessible and faulted in by one
 * or two system calls for the lot where the kernel can (process_madvise),
 * so an allocation up to a page makes none; a free makes one, at once
 * (a use after it faults at the instruction). */
#include "guard.h"

#include "fault.h"

#include "platform.h"
#include "platform_debug.h"
#include "report.h"

#define GUARD_STRIDE ((uintptr_t)GUARD_SLOT_PAGES * PLATFORM_PAGE)
#define GUARD_MOST_SLOTS 16384
/* Freed slots that wait before one is reused rather than a fresh one: a
 * quarter of the pool, at most this many. */
#define GUARD_FIFO_KEEP 1024
#define GUARD_NONE UINT32_MAX

/* Slots opened at once, ahead of the allocations that take them; the
 * ready stack holds a few such batches (threads refilling at once). */
#define GUARD_READY 64
#define GUARD_READY_MOST (4 * GUARD_READY)

enum { SLOT_FRESH, SLOT_ARMING, SLOT_LIVE, SLOT_FREED };

typedef struct slot {
    uint32_t user;  /* the user pointer's offset into the slot */
    uint32_t pages; /* data pages accessible (live) or last accessible (freed) */
    uint32_t state;
    uint32_t next;  /* the FIFO's link */
    uint32_t opened; /* a page was opened after a report: never reused */
} slot;

uintptr_t guard_lo, guard_hi;
static slot *pool_table;
static unsigned char *pool_records;
static size_t pool_record_size, pool_slots, pool_fresh;
static uint32_t pool_fifo_head = GUARD_NONE, pool_fifo_tail = GUARD_NONE;
static size_t pool_fifo_len;
static size_t pool_keep;    /* GUARD_FIFO_KEEP, or a quarter of a smaller pool */
static uint64_t pool_frees; /* slots ever put in the FIFO (for guard_check) */
static uint64_t pool_taken; /* slots ever taken out of it, reused or dropped (opened) */
static size_t pool_rate;
static int pool_said_full;
static int pool_marked; /* guard markers, not mprotect */
static platform_lock guard_mutex;
static uint32_t pool_ready[GUARD_READY_MOST]; /* slots ARMING, their last data page open */
static size_t pool_ready_count;
static WARDEN_TLS size_t pool_countdown;

/* Whole pages made accessible or not, the pool's way. */
static int set_pages(unsigned char *from, size_t bytes, int accessible)
{
    if (pool_marked)
        return platform_mark(from, bytes, accessible);
    return platform_protect(from, bytes, accessible);
}

int guard_setup(size_t slots, size_t sample_rate, int markers, size_t record_bytes, char *err, size_t err_size)
{
    unsigned char *pool = NULL;
    int marked = 0;
    if (markers) {
        pool = platform_reserve_marked((slots ? slots : GUARD_MOST_SLOTS) * GUARD_STRIDE);
        marked = pool != NULL;
        if (pool && !slots)
            slots = GUARD_MOST_SLOTS;
    }
    if (!slots) {
        size_t left = platform_mappings_left();
        slots = left / 4; /* a live or freed slot costs up to two mappings: half the room left */
        slots = slots < GUARD_MOST_SLOTS ? slots : GUARD_MOST_SLOTS;
        if (slots < 64) {
            report_format(err, err_size, "only %zu mappings left below vm.max_map_count: no room for guard pages", left);
            return -1;
        }
    }
    if (!pool)
        pool = platform_reserve(slots * GUARD_STRIDE);
    /* the records after the table, on a 16-byte boundary whatever the
     * slot count (with guard_slots=0 and no markers, the map count's) */
    size_t table = (slots * sizeof(slot) + 15) & ~(size_t)15;
    size_t meta = platform_chunk_round(table + slots * record_bytes);
    unsigned char *m = pool ? platform_map(meta) : NULL;
    if (!m) {
        report_format(err, err_size, "cannot reserve its guard pool of %zu slots (out of address space)", slots);
        return -1;
    }
    /* every piece of the pool's state, set here, once the pool is made: a
     * second set-up (a forked child's, say) starts from none of the first's,
     * and one that fails leaves the first as it was */
    pool_marked = marked;
    pool_fresh = pool_fifo_len = pool_ready_count = 0;
    pool_fifo_head = pool_fifo_tail = GUARD_NONE;
    pool_frees = pool_taken = 0;
    pool_said_full = 0;
    pool_table = (slot *)(void *)m;
    pool_records = m + table;
    pool_record_size = record_bytes;
    pool_slots = slots;
    pool_rate = sample_rate;
    pool_keep = slots / 4 < GUARD_FIFO_KEEP ? slots / 4 : GUARD_FIFO_KEEP;
    platform_lock_init(&guard_mutex);
    guard_lo = (uintptr_t)pool;
    guard_hi = guard_lo + slots * GUARD_STRIDE;
    return 0;
}

int guard_sampled(void)
{
    if (pool_rate <= 1)
        return pool_rate == 1;
    if (pool_countdown) {
        pool_countdown--;
        return 0;
    }
    pool_countdown = pool_rate - 1;
    return 1;
}

static size_t index_of(const void *p)
{
    return ((uintptr_t)p - guard_lo) / GUARD_STRIDE;
}

static unsigned char *slot_end(size_t i)
{
    return (unsigned char *)(guard_lo + (i + 1) * GUARD_STRIDE - PLATFORM_PAGE);
}

/* A slot to use, under the lock: an old freed one once enough wait, else a fresh one. */
static uint32_t take_slot(void)
{
    while (pool_fifo_len > (pool_fresh < pool_slots ? pool_keep : 0)) {
        uint32_t i = pool_fifo_head;
        pool_fifo_head = pool_table[i].next;
        if (pool_fifo_head == GUARD_NONE)
            pool_fifo_tail = GUARD_NONE;
        pool_fifo_len--;
        pool_taken++;
        if (!pool_table[i].opened)
            return i;
    }
    return pool_fresh < pool_slots ? (uint32_t)pool_fresh++ : GUARD_NONE;
}

static void say_once(const char *text)
{
    if (!__atomic_exchange_n(&pool_said_full, 1, __ATOMIC_RELAXED)) {
        char line[300];
        size_t n = report_format(line, sizeof line, "warden: %s: further blocks get canaries only\n", text);
        platform_write_error(line, n);
    }
}

static void fifo_push(uint32_t i);

/* Opens the last data page of up to GUARD_READY slots to come, pushes all
 * but one on the ready stack and returns that one (GUARD_NONE: none left).
 * Called and returns under the lock, lets it go while the pages open. */
static WARDEN_NOINLINE uint32_t ready_refill(void)
{
    uint32_t got[GUARD_READY];
    void *page[GUARD_READY];
    size_t n = 0;
    while (n < GUARD_READY && (got[n] = take_slot()) != GUARD_NONE) {
        pool_table[got[n]].state = SLOT_ARMING;
        page[n] = slot_end(got[n]) - PLATFORM_PAGE;
        n++;
    }
    if (n == 0)
        return GUARD_NONE;
    platform_lock_release(&guard_mutex);
    int failed;
    if (pool_marked) {
        failed = platform_mark_open_many(page, n, PLATFORM_PAGE) != 0;
        for (size_t k = 0; failed && k < n; k++) /* which ones opened is not known: none is used */
            pool_table[got[k]].opened = 1;
        n = failed ? 0 : n;
    } else {
        size_t opened = 0;
        while (opened < n && platform_protect(page[opened], PLATFORM_PAGE, 1) == 0)
            opened++;
        failed = opened < n;
        for (size_t k = opened; k < n; k++) /* the map count ran out after all: out of use */
            pool_table[got[k]].opened = 1;
        n = opened;
    }
    platform_lock_acquire(&guard_mutex);
    if (failed)
        say_once(pool_marked ? "the kernel refused to open more guard pages" :
                               "the kernel refused more guard pages (vm.max_map_count)");
    if (n == 0)
        return GUARD_NONE;
    for (size_t k = 1; k < n; k++) {
        if (pool_ready_count < GUARD_READY_MOST) {
            pool_ready[pool_ready_count++] = got[k];
        } else { /* other threads filled it meanwhile: closed again, back in the FIFO */
            platform_lock_release(&guard_mutex);
            set_pages(page[k], PLATFORM_PAGE, 0);
            platform_lock_acquire(&guard_mutex);
            pool_table[got[k]].state = SLOT_FREED;
            fifo_push(got[k]);
        }
    }
    return got[0];
}

void *guard_alloc(size_t size, size_t alignment, unsigned char **start, unsigned char **end)
{
    size_t a = alignment < 16 ? 16 : alignment;
    size_t span = size ? size : 1;
    if (a > PLATFORM_PAGE || span > (GUARD_SLOT_PAGES - 1) * PLATFORM_PAGE - a)
        return NULL;
    platform_lock_acquire(&guard_mutex);
    uint32_t i = pool_ready_count ? pool_ready[--pool_ready_count] : ready_refill();
    platform_lock_release(&guard_mutex);
    if (i == GUARD_NONE) {
        say_once("every slot of the guard pool is in use (guard_slots)");
        return NULL;
    }
    unsigned char *e = slot_end(i);
    unsigned char *user = (unsigned char *)(((uintptr_t)e - span) & ~(uintptr_t)(a - 1));
    uint32_t pages = (uint32_t)(((uintptr_t)e - (uintptr_t)user + PLATFORM_PAGE - 1) / PLATFORM_PAGE);
    unsigned char *s = e - (size_t)pages * PLATFORM_PAGE;
    if (pages > 1 && set_pages(s, (size_t)(pages - 1) * PLATFORM_PAGE, 1) != 0) { /* the rest; the map count ran out */
        set_pages(e - PLATFORM_PAGE, PLATFORM_PAGE, 0);
        platform_lock_acquire(&guard_mutex);
        pool_table[i] = (slot){0, 0, SLOT_FREED, GUARD_NONE, 1};
        platform_lock_release(&guard_mutex);
        say_once("the kernel refused more guard pages (vm.max_map_count)");
        return NULL;
    }
    pool_table[i].user = (uint32_t)((uintptr_t)user - (guard_lo + i * GUARD_STRIDE));
    pool_table[i].pages = pages;
    __atomic_store_n(&pool_table[i].state, SLOT_LIVE, __ATOMIC_RELEASE);
    *start = s;
    *end = e;
    return user;
}

/* Slot i (freed, inaccessible) joins the FIFO's tail. Under the lock. */
static void fifo_push(uint32_t i)
{
    pool_table[i].next = GUARD_NONE;
    if (pool_fifo_tail == GUARD_NONE)
        pool_fifo_head = i;
    else
        pool_table[pool_fifo_tail].next = i;
    pool_fifo_tail = i;
    pool_fifo_len++;
    pool_frees++;
}

void guard_free(const void *user)
{
    size_t i = index_of(user);
    unsigned char *e = slot_end(i);
    size_t bytes = (size_t)pool_table[i].pages * PLATFORM_PAGE;
    platform_lock_acquire(&guard_mutex);
    pool_table[i].state = SLOT_FREED;
    platform_lock_release(&guard_mutex);
    if (pool_table[i].opened)
        return; /* stays as it is, out of use */
    if (FAULT(guard_early_reuse) && pool_ready_count < GUARD_READY_MOST) { /* back to the ready slots at once */
        if (bytes > PLATFORM_PAGE)
            set_pages(e - bytes, bytes - PLATFORM_PAGE, 0);
        platform_lock_acquire(&guard_mutex);
        pool_table[i].state = SLOT_ARMING;
        pool_ready[pool_ready_count++] = (uint32_t)i;
        pool_frees++;
        platform_lock_release(&guard_mutex);
        return;
    }
    set_pages(e - bytes, bytes, 0);
    if (!pool_marked && bytes > PLATFORM_PAGE) /* keep one page resident for a quick reuse, not all */
        platform_purge(e - bytes, bytes - PLATFORM_PAGE);
    platform_lock_acquire(&guard_mutex);
    fifo_push((uint32_t)i);
    platform_lock_release(&guard_mutex);
}

void *guard_record(const void *p)
{
    return pool_records + index_of(p) * pool_record_size;
}

int guard_block_of(const void *p, unsigned char **user, unsigned char **start, unsigned char **end)
{
    size_t i = index_of(p);
    uint32_t state = __atomic_load_n(&pool_table[i].state, __ATOMIC_ACQUIRE);
    if (state != SLOT_LIVE && state != SLOT_FREED)
        return -1;
    *end = slot_end(i);
    *start = *end - (size_t)pool_table[i].pages * PLATFORM_PAGE;
    *user = (unsigned char *)(guard_lo + i * GUARD_STRIDE + pool_table[i].user);
    return 0;
}

int guard_open(const void *p)
{
    size_t i = index_of(p);
    pool_table[i].opened = 1;
    return set_pages((unsigned char *)((uintptr_t)p & ~(uintptr_t)(PLATFORM_PAGE - 1)), PLATFORM_PAGE, 1);
}

void guard_walk(void (*fn)(void *user, void *ctx), void *ctx)
{
    if (!pool_slots)
        return;
    platform_lock_acquire(&guard_mutex);
    for (size_t i = 0; i < pool_fresh; i++)
        if (pool_table[i].state == SLOT_LIVE)
            fn((void *)(guard_lo + i * GUARD_STRIDE + pool_table[i].user), ctx);
    platform_lock_release(&guard_mutex);
}

int guard_check(char *why, size_t why_size)
{
    if (!pool_slots)
        return 0;
    const char *bad = NULL;
    platform_lock_acquire(&guard_mutex);
    size_t n = 0;
    for (uint32_t i = pool_fifo_head; i != GUARD_NONE && !bad; i = pool_table[i].next) {
        if (i >= pool_fresh || pool_table[i].state != SLOT_FREED)
            bad = "a slot waiting in the FIFO is not a freed one";
        else if (++n > pool_fifo_len)
            bad = "the FIFO holds more slots than it counts";
    }
    if (!bad && n != pool_fifo_len)
        bad = "the FIFO holds fewer slots than it counts";
    /* every freed slot passes through the FIFO: one that went round it
     * was reused without waiting its turn, full pool or not */
    if (!bad && pool_frees != pool_taken + pool_fifo_len)
        bad = "a freed slot was reused without passing through the FIFO";
    /* a slot leaves the FIFO only while more than pool_keep wait, or when
     * no fresh slot is left: fewer waiting means one was reused too soon */
    if (!bad && pool_fresh < pool_slots && pool_fifo_len < (pool_frees < pool_keep ? pool_frees : pool_keep))
        bad = "a freed slot was reused while fewer than its keep waited";
    platform_lock_release(&guard_mutex);
    if (bad)
        report_format(why, why_size, "guard pool: %s", bad);
    return bad != NULL;
}

void guard_sample_restart(void)
{
    pool_countdown = 0;
}

void guard_lock(void)
{
    if (pool_slots)
        platform_lock_acquire(&guard_mutex);
}

void guard_unlock(void)
{
    if (pool_slots)
        platform_lock_release(&guard_mutex);
}
