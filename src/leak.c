/* leak.c — the leak check (leak.h).
 *
 *   one mapping: [ leak_scan | blocks[most], sorted by address | todo[most] ]
 *
 * Each block is in one state: UNREACHED (not seen yet), REACHED (from a
 * root), LEADER (lost, and the start of a flood through what it points at)
 * or INDIRECT (lost, pointed at by another lost block). A block enters the
 * todo stack only when its state changes from UNREACHED, so the stack never
 * holds more than the blocks.
 *
 * Roots are every mapping platform_each_mapping gives, less warden's heap
 * chunks (the page map knows them: their free blocks' links and stale bytes
 * are not the program's pointers), the guard pool (its blocks are blocks)
 * and this scan's own mapping (it lists every block). The caller's stack is scanned from its stack pointer up, so
 * its dead frames below do not hide leaks; other threads' stacks whole. */
#include "leak.h"

#include "bugreport.h"
#include "compiler.h"
#include "guard.h"
#include "pagemap.h"
#include "platform.h"
#include "platform_debug.h"

enum { UNREACHED, REACHED, LEADER, INDIRECT };

typedef struct leak_block {
    uintptr_t begin, end; /* [begin, end): the bytes the program asked for */
    uint32_t stack;
    uint32_t state;
} leak_block;

struct leak_scan {
    size_t mapped;       /* bytes of this mapping */
    size_t count, most;  /* blocks listed, room */
    uintptr_t lo, hi;    /* the span of the blocks, for a quick "not a block" */
    uintptr_t sp;        /* the scanning thread's stack pointer */
    uint32_t *todo;      /* blocks to scan */
    size_t todo_count;
    uint32_t leader;     /* the flood's start (LEADER phase) */
    leak_block blocks[];
};

leak_scan *leak_begin(size_t most)
{
    size_t bytes = sizeof(leak_scan) + most * (sizeof(leak_block) + sizeof(uint32_t));
    if (most > ((size_t)1 << 40) / sizeof(leak_block))
        return NULL;
    bytes = platform_chunk_round(bytes);
    leak_scan *s = platform_map(bytes);
    if (!s)
        return NULL;
    s->mapped = bytes;
    s->most = most;
    s->lo = UINTPTR_MAX;
    s->todo = (uint32_t *)(void *)(s->blocks + most);
    return s;
}

void leak_add(leak_scan *s, const void *user, size_t size, uint32_t stack)
{
    if (s->count == s->most)
        return;
    uintptr_t b = (uintptr_t)user;
    s->blocks[s->count++] = (leak_block){b, b + size, stack, UNREACHED};
    s->lo = b < s->lo ? b : s->lo;
    s->hi = b + size + 1 > s->hi ? b + size + 1 : s->hi;
}

/* ---- sorting (qsort may call malloc) ------------------------------------------ */

typedef int (*before_fn)(const void *a, const void *b);

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        unsigned char t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

static void sift_down(unsigned char *base, size_t size, size_t root, size_t n, before_fn before)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && before(base + child * size, base + (child + 1) * size))
            child++;
        if (!before(base + root * size, base + child * size))
            return;
        swap_bytes(base + root * size, base + child * size, size);
        root = child;
    }
}

/* Heapsort: ascending in before's order, in place, O(n log n), no memory. */
static void heap_sort(void *items, size_t n, size_t size, before_fn before)
{
    unsigned char *base = items;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(base, size, i, n, before);
    for (size_t end = n; end-- > 1;) {
        swap_bytes(base, base + end * size, size);
        sift_down(base, size, 0, end, before);
    }
}

static int by_address(const void *a, const void *b)
{
    return ((const leak_block *)a)->begin < ((const leak_block *)b)->begin;
}

/* ---- marking ---------------------------------------------------------------- */

/* The block holding address p (interior pointers count), or -1. */
static long block_at(const leak_scan *s, uintptr_t p)
{
    if (p < s->lo || p >= s->hi)
        return -1;
    size_t lo = 0, hi = s->count; /* the last block with begin <= p is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->blocks[mid].begin <= p)
            lo = mid;
        else
            hi = mid;
    }
    const leak_block *b = &s->blocks[lo];
    return b->begin <= p && (p < b->end || p == b->begin) ? (long)lo : -1;
}

static void visit(leak_scan *s, uintptr_t word)
{
    long i = block_at(s, word);
    if (i < 0)
        return;
    leak_block *b = &s->blocks[i];
    if (s->leader == UINT32_MAX) { /* from the roots */
        if (b->state != UNREACHED)
            return;
        b->state = REACHED;
    } else { /* from a lost block */
        if ((uint32_t)i == s->leader || (b->state != UNREACHED && b->state != LEADER))
            return;
        int scanned = b->state == LEADER; /* an earlier flood went through it already */
        b->state = INDIRECT;
        if (scanned)
            return;
    }
    s->todo[s->todo_count++] = (uint32_t)i;
}

static void scan_words(leak_scan *s, uintptr_t from, uintptr_t to)
{
    from = (from + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    for (uintptr_t a = from; a + sizeof(uintptr_t) <= to; a += sizeof(uintptr_t))
        visit(s, *(const uintptr_t *)a);
}

static void drain(leak_scan *s)
{
    while (s->todo_count) {
        const leak_block *b = &s->blocks[s->todo[--s->todo_count]];
        scan_words(s, b->begin, b->end);
    }
}

/* [from, to) of a root mapping: less warden's heap chunks and this scan. */
static void scan_root(leak_scan *s, uintptr_t from, uintptr_t to)
{
    uintptr_t own = (uintptr_t)s, own_end = own + s->mapped;
    while (from < to) {
        if (guard_owns((const void *)from)) { /* read-write with guard markers, and it may share a mapping */
            from = guard_hi;
            continue;
        }
        uintptr_t chunk_end = (from | (PLATFORM_CHUNK - 1)) + 1;
        uintptr_t end = chunk_end < to ? chunk_end : to;
        if (from < guard_lo && end > guard_lo)
            end = guard_lo;
        if (!pagemap_lookup((const void *)from) && !(from >= own && from < own_end))
            scan_words(s, from, end);
        from = end;
        drain(s); /* keep the stack short: it is bounded anyway */
    }
}

static void root_mapping(uintptr_t lo, uintptr_t hi, void *ctx)
{
    leak_scan *s = ctx;
    if (s->sp >= lo && s->sp < hi)
        lo = s->sp; /* the caller's own stack: its live frames only */
    scan_root(s, lo, hi);
}

static WARDEN_NOINLINE void scan_roots(leak_scan *s)
{
    volatile uintptr_t here = 0;
    s->sp = (uintptr_t)&here;
    platform_each_mapping(root_mapping, s);
}

void leak_find(leak_scan *s)
{
    heap_sort(s->blocks, s->count, sizeof s->blocks[0], by_address);
    s->leader = UINT32_MAX;
    __builtin_unwind_init(); /* the callee-saved registers, onto this frame: scanned as stack */
    platform_stop_threads(); /* theirs, onto their stacks */
    scan_roots(s);
    for (size_t i = 0; i < s->count; i++) {
        if (s->blocks[i].state != UNREACHED)
            continue;
        s->blocks[i].state = LEADER;
        s->leader = (uint32_t)i;
        s->todo[s->todo_count++] = (uint32_t)i;
        drain(s);
    }
    platform_resume_threads();
}

/* ---- the report -------------------------------------------------------------- */

static int kind_of(uint32_t state)
{
    return state == LEADER ? LEAK_DIRECT : state == INDIRECT ? LEAK_INDIRECT : LEAK_REACHABLE;
}

static int by_kind_and_stack(const void *a, const void *b)
{
    const leak_block *x = a, *y = b;
    int kx = kind_of(x->state), ky = kind_of(y->state);
    return kx != ky ? kx < ky : x->stack < y->stack;
}

static int by_kind_and_bytes(const void *a, const void *b)
{
    const leak_group *x = a, *y = b;
    return x->kind != y->kind ? x->kind < y->kind : x->bytes > y->bytes; /* biggest first */
}

void leak_report(leak_scan *s, int with_reachable, leak_totals *t)
{
    *t = (leak_totals){0};
    heap_sort(s->blocks, s->count, sizeof s->blocks[0], by_kind_and_stack);
    size_t groups_bytes = platform_chunk_round(s->count * sizeof(leak_group) + 1);
    leak_group *g = platform_map(groups_bytes);
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++) {
        const leak_block *b = &s->blocks[i];
        size_t bytes = b->end - b->begin;
        int kind = kind_of(b->state);
        t->bytes[kind] += bytes;
        t->blocks[kind]++;
        if (!g || (kind == LEAK_REACHABLE && !with_reachable))
            continue;
        if (n && g[n - 1].kind == kind && g[n - 1].stack == b->stack) {
            g[n - 1].bytes += bytes;
            g[n - 1].blocks++;
        } else {
            g[n++] = (leak_group){kind, bytes, 1, b->stack};
        }
    }
    if (g) {
        heap_sort(g, n, sizeof g[0], by_kind_and_bytes);
        bugreport_leaks(g, n, t->bytes[LEAK_DIRECT] + t->bytes[LEAK_INDIRECT],
                        t->blocks[LEAK_DIRECT] + t->blocks[LEAK_INDIRECT]);
        platform_unmap(g, groups_bytes);
    }
    platform_unmap(s, s->mapped);
}
