/* tcache.c — making, refilling, flushing and checking thread caches. The
 * fast paths (pop, push) are inline in tcache.h; everything here runs
 * once per batch or once per thread. */
#include "tcache.h"

#include <errno.h>
#include <string.h>

#include "atomic.h"
#include "central.h"
#include "fault.h"
#include "heap.h"
#include "platform.h"
#include "report.h"

static const bucket_site cache_site = {"free", "double free", "invalid free"};

#define TCACHE_REFILL_MAX 256u     /* blocks one refill takes at most */

static uint32_t bin_caps[TCACHE_CLASSES]; /* each class's cap, from tcache_setup's class_bytes */
static platform_lock list_lock;    /* guards caches and the parked flags */
static tcache *caches;             /* every cache made */
static tcache_stats counts;        /* relaxed atomics: slow paths only */

/* A class's cap: class_bytes of its blocks, 8 to 1024 (0: caches off). */
static uint32_t cap_for(size_t class_bytes, size_t c)
{
    size_t cap = class_bytes / ((c + 2) << GRANULE_SHIFT);
    if (class_bytes == 0)
        return 0;
    return (uint32_t)(cap < 8 ? 8 : cap > 1024 ? 1024 : cap);
}

/* (a table: the checker asks every bin's after every fuzzed operation) */
static uint32_t cap_of(size_t c)
{
    return bin_caps[c];
}

void tcache_setup(size_t class_bytes)
{
    for (size_t c = 0; c < TCACHE_CLASSES; c++)
        bin_caps[c] = cap_for(class_bytes, c);
    platform_lock_init(&list_lock);
}

void tcache_lock_list(void)
{
    platform_lock_acquire(&list_lock);
}

void tcache_unlock_list(void)
{
    platform_lock_release(&list_lock);
}

static tcache *cache_map(void)
{
    size_t slots = 0;
    for (size_t c = 0; c < TCACHE_CLASSES; c++)
        slots += cap_of(c);
    size_t bytes = sizeof(tcache) + (TCACHE_REMOTE + slots) * sizeof(block *);
    size_t map_size = (bytes + PLATFORM_CHUNK - 1) & ~(PLATFORM_CHUNK - 1);
    tcache *tc = platform_map(map_size);
    if (!tc)
        return NULL;
    tc->map_size = map_size;
    tc->remote = (block **)(tc + 1);
    block **at = tc->remote + TCACHE_REMOTE;
    for (size_t c = 0; c < TCACHE_CLASSES; c++) {
        tc->bins[c] = (tcache_bin){0, cap_of(c), at, 0};
        at += cap_of(c);
    }
    return tc;
}

tcache *tcache_create(warden_heap *heap)
{
    platform_lock_acquire(&list_lock);
    tcache *tc = caches;
    while (tc && !tc->parked)
        tc = tc->next;
    if (tc) {
        tc->parked = 0;
    } else if ((tc = cache_map()) != NULL) {
        tc->next = caches;
        caches = tc;
        atomic_add_u64(&counts.caches, 1);
    }
    if (tc)
        tc->heap = heap;
    platform_lock_release(&list_lock);
    return tc;
}

/* ---- going home --------------------------------------------------------- */

/* Sends the remote buffer home: sorted by owning heap (an insertion sort
 * of at most TCACHE_REMOTE, each block's heap looked up once), one central
 * lock per heap. */
static void remote_flush(tcache *tc)
{
    uint32_t n = tc->remote_count;
    if (!n)
        return;
    atomic_add_u64(&counts.remote_batches, 1);
    atomic_add_u64(&counts.remote_blocks, n);
    block **q = tc->remote;
    const warden_heap *home[TCACHE_REMOTE];
    for (uint32_t i = 0; i < n; i++) {
        block *b = q[i];
        const warden_heap *h = region_of(b)->heap;
        uint32_t j = i;
        for (; j > 0 && (uintptr_t)home[j - 1] > (uintptr_t)h; j--) {
            q[j] = q[j - 1];
            home[j] = home[j - 1];
        }
        q[j] = b;
        home[j] = h;
    }
    for (uint32_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && home[j] == home[i]; j++)
            ;
        central_put_mixed(central_of(home[i]), q + i, j - i);
    }
    memset(q, 0, n * sizeof *q);
    tc->remote_count = 0;
}

/* Gives the oldest n blocks of bin c to the arena's central cache. */
static void bin_drain(tcache *tc, size_t c, uint32_t n)
{
    tcache_bin *bin = &tc->bins[c];
    bin->used = ++tc->clock;
    central_put(central_of(tc->heap), c, bin->slots, n);
    memmove(bin->slots, bin->slots + n, (bin->count - n) * sizeof(block *));
    memset(bin->slots + bin->count - n, 0, n * sizeof(block *)); /* no stale copies (tcache_pop) */
    bin->count -= n;
}

void tcache_flush(tcache *tc)
{
    for (size_t c = 0; c < TCACHE_CLASSES; c++)
        if (tc->bins[c].count)
            bin_drain(tc, c, tc->bins[c].count);
    remote_flush(tc);
}

void tcache_release(tcache *tc)
{
    tcache_flush(tc);
    platform_lock_acquire(&list_lock);
    tc->parked = 1;
    platform_lock_release(&list_lock);
}

size_t tcache_held(const tcache *tc)
{
    size_t n = tc->remote_count;
    for (size_t c = 0; c < TCACHE_CLASSES; c++)
        n += tc->bins[c].count;
    return n;
}

void tcache_free_slow(tcache *tc, block *b, uint32_t g, int remote)
{
    if (remote) {
        if (FAULT(remote_lost) && tc->remote_count == 0)
            return;
        if (tc->remote_count == TCACHE_REMOTE)
            remote_flush(tc);
        tc->remote[tc->remote_count++] = b;
        return;
    }
    uint32_t c = g - 2;
    if (c >= TCACHE_CLASSES || tc->bins[c].cap == 0) { /* large, or caching is off */
        heap_give_cached(&b, 1, &cache_site);
        return;
    }
    tcache_bin *bin = &tc->bins[c];
    atomic_add_u64(&counts.flushes, 1);
    bin_drain(tc, c, bin->cap / 2);
    bin->slots[bin->count++] = b;
    if (FAULT(tcache_double_free))
        bin->slots[bin->count++] = b;
}

void *tcache_refill(tcache *tc, size_t size, const char *op)
{
    size_t c = tcache_class_of(size);
    uint32_t want = tc->bins[c].cap / 2;
    want = want > TCACHE_REFILL_MAX ? TCACHE_REFILL_MAX : want ? want : 1;
    block *got[TCACHE_REFILL_MAX];
    atomic_add_u64(&counts.refills, 1);
    tc->bins[c].used = ++tc->clock;
    if (tc->clock % TCACHE_STALE == 0) /* now and then: bins idle since the last look go */
        for (size_t other = 0; other < TCACHE_CLASSES; other++) {
            tcache_bin *bin = &tc->bins[other];
            if (bin->count && tc->clock - bin->used > TCACHE_STALE)
                bin_drain(tc, other, bin->count);
        }
    /* Ask for the class's largest request: every block fits any request of
     * it. The heap may hand out a granule more (a rest too small to split
     * off): such a block goes to its own class, or back. */
    size_t n = central_take(central_of(tc->heap), c, got, want, op);
    if (n == 0) {
        errno = ENOMEM;
        return NULL;
    }
    block *out = got[--n];
    for (size_t i = 0; i < n; i++)
        if (!tcache_push(tc, got[i], block_size(got[i])))
            heap_give_cached(&got[i], 1, &cache_site);
    block_cache_leave(out, size);
    san_chunk_alloc(tc->heap, block_payload(out), size, 0);
    return block_payload(out);
}

/* ---- the checker ------------------------------------------------------------ */

static int cache_fail(char *why, size_t n, const char *what, const void *at)
{
    if (why && n)
        report_format(why, n, "thread cache: %s (%p)", what, at);
    return 1;
}

static int slot_is_cached(const block *b)
{
    const region *r = region_of(b);
    return r && region_is_sealed(r) && (const char *)b >= (const char *)region_first(r) &&
           (const char *)b < (const char *)region_fence(r) && block_is_sealed(b) &&
           (block_flags(b) & BLOCK_STATE) == BLOCK_CACHED;
}

/* Whether two of the n blocks are one: sorted in a copy (Shell's gaps),
 * then neighbours compared, not every pair (a bin holds up to 1024). */
static int any_twice(block *const *blocks, size_t n)
{
    block *v[1024];
    n = n < 1024 ? n : 1024;
    memcpy(v, blocks, n * sizeof *v);
    static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
        for (size_t i = gaps[g]; i < n; i++) {
            block *x = v[i];
            size_t j = i;
            for (; j >= gaps[g] && (uintptr_t)v[j - gaps[g]] > (uintptr_t)x; j -= gaps[g])
                v[j] = v[j - gaps[g]];
            v[j] = x;
        }
    for (size_t i = 1; i < n; i++)
        if (v[i] == v[i - 1])
            return 1;
    return 0;
}

int tcache_check(const tcache *tc, char *why, size_t why_size)
{
    for (size_t c = 0; c < TCACHE_CLASSES; c++) {
        const tcache_bin *bin = &tc->bins[c];
        if (bin->count > bin->cap || bin->cap != cap_of(c))
            return cache_fail(why, why_size, "bin count over its cap", bin);
        for (uint32_t i = 0; i < bin->count; i++) {
            const block *b = bin->slots[i];
            if (!slot_is_cached(b))
                return cache_fail(why, why_size, "a slot is not a cached block", b);
            if (block_size(b) != c + 2)
                return cache_fail(why, why_size, "a block sits in the wrong size class", b);
            if (region_of(b)->heap != tc->heap)
                return cache_fail(why, why_size, "a block of another arena sits in a bin", b);
        }
        if (bin->count > 1 && any_twice(bin->slots, bin->count)) /* (its copy's frame is not free under ASan) */
            return cache_fail(why, why_size, "a block is cached twice", bin);
    }
    if (tc->remote_count > TCACHE_REMOTE)
        return cache_fail(why, why_size, "remote buffer over its size", tc);
    for (uint32_t i = 0; i < tc->remote_count; i++)
        if (!slot_is_cached(tc->remote[i]))
            return cache_fail(why, why_size, "a remote slot is not a cached block", tc->remote[i]);
    return 0;
}

void tcache_get_stats(tcache_stats *out)
{
    out->refills = atomic_peek_u64(&counts.refills);
    out->flushes = atomic_peek_u64(&counts.flushes);
    out->remote_batches = atomic_peek_u64(&counts.remote_batches);
    out->remote_blocks = atomic_peek_u64(&counts.remote_blocks);
    out->caches = atomic_peek_u64(&counts.caches);
}
