/* depot.c — the stack depot of depot.h.
 *
 *   table: 2^20 slots of 32-bit ids (open addressing, linear probing);
 *          0 = empty. Written once each, under the lock; read without it.
 *   store: one mapping of 64-bit words, filled front to back:
 *          [hash:32 | depth:32] [pc 0] ... [pc depth-1]
 *          a stack's id is the index of its first word (the store's word 0
 *          is never used, so 0 stays "none").
 *
 * Invariants: every non-zero slot holds the id of a complete entry, published
 * with release order after its words were written; entries never move or
 * change; used <= STORE_WORDS. */
#include "depot.h"

#include "compiler.h"
#include "mix.h"
#include "platform.h"
#include "platform_debug.h"
#include "wmalloc.h"

#include <string.h>

#define TABLE_SLOTS ((size_t)1 << 20)
#define STORE_WORDS ((size_t)8 << 20) /* 64 MiB of address space, touched as used */

static uint32_t *table;
static uint64_t *store;
static size_t used = 1;      /* words of store in use (word 0 reserved) */
static unsigned depth_kept;  /* frames kept per stack; 0: off */
static platform_lock depot_mutex; /* held while an entry is added */
static uintptr_t own_lo, own_hi; /* warden's own code: frames there are dropped */
static WARDEN_TLS int busy;  /* this thread is capturing (the unwinder may call malloc) */

int depot_setup(unsigned depth)
{
    table = platform_map(TABLE_SLOTS * sizeof *table);
    store = platform_map(STORE_WORDS * sizeof *store);
    if (!table || !store)
        return -1;
    platform_lock_init(&depot_mutex);
    platform_module self;
    if (platform_module_of((uintptr_t)&depot_setup, &self) == 0) {
        own_lo = self.lo;
        own_hi = self.hi;
    }
    busy = 1; /* loading may allocate: those allocations get no stack */
    int rc = platform_unwinder_load();
    busy = 0;
    depth_kept = depth > DEPOT_MAX_DEPTH ? DEPOT_MAX_DEPTH : depth;
    return rc;
}

/* One multiply a frame (a chain of mixes cost 100 ns on a deep stack),
 * one mix at the end. */
static uint32_t hash_of(const uintptr_t *pcs, size_t n)
{
    uint64_t h = n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ pcs[i]) * 0x9e3779b97f4a7c15u;
    return (uint32_t)mix64(h) | 1u; /* never 0 */
}

static int entry_is(uint32_t id, uint32_t hash, const uintptr_t *pcs, size_t n)
{
    const uint64_t *e = store + id;
    if (e[0] != ((uint64_t)hash << 32 | n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (e[1 + i] != pcs[i])
            return 0;
    return 1;
}

/* Adds the stack under the lock (another thread may have added it since). */
static WARDEN_NOINLINE stack_id depot_add(uint32_t hash, const uintptr_t *pcs, size_t n, size_t slot)
{
    stack_id id = 0;
    platform_lock_acquire(&depot_mutex);
    for (size_t probes = 0; probes < TABLE_SLOTS; probes++, slot = (slot + 1) & (TABLE_SLOTS - 1)) {
        uint32_t at = table[slot];
        if (at && entry_is(at, hash, pcs, n)) {
            id = at;
            break;
        }
        if (!at) {
            if (used + 1 + n > STORE_WORDS || used + 1 + n > UINT32_MAX)
                break; /* full: this stack goes unrecorded */
            uint64_t *e = store + used;
            e[0] = (uint64_t)hash << 32 | n;
            for (size_t i = 0; i < n; i++)
                e[1 + i] = pcs[i];
            id = (stack_id)used;
            __atomic_store_n(&used, used + 1 + n, __ATOMIC_RELAXED);
            __atomic_store_n(&table[slot], id, __ATOMIC_RELEASE);
            break;
        }
    }
    platform_lock_release(&depot_mutex);
    return id;
}

/* Frames unwound past those kept: warden's own (the unwinder's caller down
 * to malloc: six at most) and the one beyond, which recent_keep checks
 * against. An unwind costs a frame's step each, so no more. */
#define OWN_FRAMES 8

/* Unwinds into raw (room for max + OWN_FRAMES) and returns the index of the first
 * frame outside warden; *count is then the frames from there, at most max,
 * and *total_out all the frames unwound. */
static size_t unwind(void **raw, size_t max, size_t *count, size_t *total_out)
{
    busy = 1;
    int got = platform_backtrace(raw, (int)(max + OWN_FRAMES));
    busy = 0;
    size_t total = got > 0 ? (size_t)got : 0, first = 0;
    while (first < total && (uintptr_t)raw[first] >= own_lo && (uintptr_t)raw[first] < own_hi)
        first++;
    size_t n = total - first;
    *count = n > max ? max : n;
    *total_out = total;
    return first;
}

size_t depot_walk(uintptr_t *pcs, size_t max)
{
    void *raw[DEPOT_MAX_DEPTH + OWN_FRAMES];
    size_t n;
    if (busy)
        return 0;
    size_t total;
    size_t first = unwind(raw, max > DEPOT_MAX_DEPTH ? DEPOT_MAX_DEPTH : max, &n, &total);
    for (size_t i = 0; i < n; i++)
        pcs[i] = (uintptr_t)raw[first + i];
    return n;
}

static stack_id depot_find(const uintptr_t *pcs, size_t n);

/* ---- the thread's recent stacks ----------------------------------------------
 *
 * A capture is looked up by where it was called from: its frame address
 * and return address pick a set of RECENT_WAYS stacks (the callers at one
 * depth share it). A stack kept there is the same stack when each of its
 * return addresses still sits in the stack word it sat in then (frame
 * k + 1's place follows from frame k's code and place, so equal return
 * addresses in equal places are an equal chain); checking that costs a
 * load and a multiply a frame (a way keeps the addresses' sum, not the
 * addresses), where unwinding costs ~7 ns. The words are found once, by a
 * scan up the thread's stack, bounded by its mapping (read once per
 * thread, after RECENT_AFTER captures, so short threads never pay). */
#define RECENT_BITS 6
#define RECENT_SETS (1u << RECENT_BITS)
#define RECENT_WAYS 8   /* stacks of one set: the callers at one depth, one recursion's paths */
#define RECENT_DEPTH 24 /* stacks kept deeper are not cached */
#define RECENT_AFTER 256
#define RECENT_SCAN 2048 /* stack words scanned for the return addresses at most */
#define RECENT_SPARSE 16 /* a set missing often keeps one miss in this many */

typedef struct recent_tag { /* what a lookup reads of every way of its set: 32 bytes */
    uintptr_t frame, ret; /* the capture's frame and return address; frame 0: empty */
    uintptr_t pc0;        /* the first return address (at word[0]): most ways of a set differ there */
    stack_id id;
    uint16_t n;
    uint16_t word0;
} recent_tag;

typedef struct recent_body { /* and of a way whose tag matched */
    uint64_t sum;                /* the recent_share of each of the n */
    uint16_t word[RECENT_DEPTH]; /* where return address k sits: frame + 8 * word[k] */
} recent_body;

typedef struct recent_stacks {
    uintptr_t lo, hi; /* the thread's stack mapping */
    unsigned next;    /* the way a miss replaces next (round robin) */
    uint32_t missed[RECENT_SETS]; /* a set's misses */
    recent_tag tag[RECENT_SETS][RECENT_WAYS];
    recent_body body[RECENT_SETS][RECENT_WAYS];
} recent_stacks;

/* A heap block of the release allocator, made after RECENT_AFTER captures
 * (so the release mode, and short threads, carry no TLS for it); given
 * back when the thread ends. */
static WARDEN_TLS recent_stacks *mine;
static WARDEN_TLS unsigned captures;
static WARDEN_TLS int thread_ended;

size_t depot_blocks(void)
{
    return mine != NULL;
}

void depot_thread_end(void)
{
    wmalloc_free(mine);
    mine = NULL;
    thread_ended = 1;
}

static unsigned recent_set_of(uintptr_t frame, uintptr_t ret)
{
    uint64_t h = ((frame >> 4) ^ ret) * 0x9e3779b97f4a7c15u;
    return (unsigned)(h >> (64 - RECENT_BITS));
}

/* The thread's cache, made once it has captured enough (NULL until then). */
static recent_stacks *recent_of(uintptr_t frame)
{
    if (mine || thread_ended || ++captures < RECENT_AFTER)
        return mine;
    uintptr_t lo, hi;
    if (captures > RECENT_AFTER || platform_mapping_of(frame, &lo, &hi) != 0)
        return NULL; /* (tried once) */
    recent_stacks *r = wmalloc_malloc(sizeof *r);
    if (r) {
        memset(r, 0, sizeof *r);
        r->lo = lo;
        r->hi = hi;
    }
    return mine = r;
}

/* Return address k's share of a stack's sum (equal sums: equal stacks,
 * but for chance): the shares are independent, so a check runs them side
 * by side rather than in a chain. Each is a product folded by a shift: a
 * bare product is linear, and two paths whose return addresses differ by
 * amounts that cancel out (one call 0x34 bytes earlier in one function,
 * its caller's 0x2c later) summed alike. */
static inline uint64_t recent_share(uintptr_t pc, uint32_t k)
{
    uint64_t x = (pc ^ (k * 0x9e3779b97f4a7c15u)) * 0xff51afd7ed558ccdu;
    return x ^ (x >> 31);
}

WARDEN_STACK_SCAN static stack_id recent_lookup(unsigned set, uintptr_t frame, uintptr_t ret)
{
    const uintptr_t *w = (const uintptr_t *)frame;
    for (unsigned i = 0; i < RECENT_WAYS; i++) {
        const recent_tag *t = &mine->tag[set][i];
        if (t->frame != frame || t->ret != ret || w[t->word0] != t->pc0)
            continue;
        const recent_body *b = &mine->body[set][i];
        uint64_t sum = 0;
        for (uint32_t k = 0; k < t->n; k++)
            sum += recent_share(w[b->word[k]], k);
        if (sum == b->sum)
            return t->id;
    }
    return 0;
}

/* Keeps the stack pcs[0..n) (id) in the set, when its return addresses
 * are all found in order up the stack within its mapping; beyond is the
 * return address of the frame past the last (0: that one is the outermost). */
WARDEN_STACK_SCAN static void recent_keep(unsigned set, uintptr_t frame, uintptr_t ret, const uintptr_t *pcs, size_t n,
                                          uintptr_t beyond, stack_id id)
{
    if (n > RECENT_DEPTH || frame < mine->lo || frame >= mine->hi || (frame & 7u))
        return;
    /* A set that keeps missing holds stacks that seldom come back (the
     * paths of a recursion): keeping them costs a scan each (longer than
     * an unwind), so once the set is warm only some are. Counted over the
     * set's life, not since its last hit: cfrac's recursion hit 86% and
     * kept every miss, and its scans took 40% of its time. */
    if (++mine->missed[set] > 2 * RECENT_WAYS && mine->missed[set] % RECENT_SPARSE)
        return;
    unsigned way = mine->next++ % RECENT_WAYS;
    recent_tag *t = &mine->tag[set][way];
    recent_body *b = &mine->body[set][way];
    t->frame = 0;
    const uintptr_t *w = (const uintptr_t *)frame, *end = (const uintptr_t *)mine->hi;
    size_t at = 0, most = (size_t)(end - w) < RECENT_SCAN ? (size_t)(end - w) : RECENT_SCAN;
    uint64_t sum = 0;
    /* The first word holding a return address may be a stale copy in a
     * frame's unused slot, below its real place, and a later stack may
     * keep that copy where the real one differs. Each real place lies
     * above the copy, so a return address met again before the next one
     * is found says the place found may be a copy: such a stack is not
     * kept. The last is checked against the frame beyond it (beyond: its
     * return address), or is the outermost frame, whose call ran once. */
    for (size_t k = 0; k < n + (beyond != 0); k++, at++) {
        uintptr_t want = k < n ? pcs[k] : beyond;
        while (at < most && w[at] != want) {
            if (k && w[at] == pcs[k - 1])
                return;
            at++;
        }
        if (at >= most)
            return;
        if (k < n) {
            b->word[k] = (uint16_t)at;
            sum += recent_share(pcs[k], (uint32_t)k);
        }
    }
    b->sum = sum;
    *t = (recent_tag){frame, ret, pcs[0], id, (uint16_t)n, b->word[0]};
}

WARDEN_NOINLINE stack_id depot_capture(void)
{
    if (depth_kept == 0 || busy)
        return 0;
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0), ret = (uintptr_t)__builtin_return_address(0);
    int cached = recent_of(frame) != NULL;
    unsigned set = cached ? recent_set_of(frame, ret) : 0;
    stack_id known = cached ? recent_lookup(set, frame, ret) : 0;
    if (known)
        return known;
    void *raw[DEPOT_MAX_DEPTH + OWN_FRAMES];
    size_t n;
    size_t total;
    size_t first = unwind(raw, depth_kept, &n, &total);
    if (n == 0)
        return 0;
    const uintptr_t *pcs = (const uintptr_t *)(void *)(raw + first);
    stack_id id = depot_find(pcs, n);
    /* The frame past the last kept, or none when the unwind reached the
     * outermost (it stopped short of what it was asked): either lets
     * recent_keep check the last place; an unwind cut off right after the
     * last kept frame does not, and is not kept. */
    int outermost = total < depth_kept + OWN_FRAMES;
    if (id && cached && (first + n < total || outermost))
        recent_keep(set, frame, ret, pcs, n, first + n < total ? (uintptr_t)raw[first + n] : 0, id);
    return id;
}

/* The id of stack pcs[0..n), added to the depot if new (0: no room). */
static stack_id depot_find(const uintptr_t *pcs, size_t n)
{
    uint32_t hash = hash_of(pcs, n);
    size_t slot = hash & (TABLE_SLOTS - 1);
    for (size_t probes = 0; probes < 64; probes++, slot = (slot + 1) & (TABLE_SLOTS - 1)) {
        uint32_t at = __atomic_load_n(&table[slot], __ATOMIC_ACQUIRE);
        if (!at)
            break;
        if (entry_is(at, hash, pcs, n))
            return at;
    }
    return depot_add(hash, pcs, n, hash & (TABLE_SLOTS - 1));
}

size_t depot_frames(stack_id id, uintptr_t *pcs, size_t max)
{
    if (id == 0 || !store || id >= __atomic_load_n(&used, __ATOMIC_RELAXED))
        return 0;
    const uint64_t *e = store + id;
    size_t n = (size_t)(uint32_t)e[0];
    n = n < max ? n : max;
    for (size_t i = 0; i < n; i++)
        pcs[i] = (uintptr_t)e[1 + i];
    return n;
}

void depot_lock(void)
{
    if (table)
        platform_lock_acquire(&depot_mutex);
}

void depot_unlock(void)
{
    if (table)
        platform_lock_release(&depot_mutex);
}
