/* check.c — warden_heap_check: walks every bucket, region, block and free
 * list of a heap and proves the invariants of block.h, freelist.h, region.h
 * and bucket.h, naming the first one broken. It counts, never aborts. */
#include <stdarg.h>

#include "compiler.h"
#include "heap.h"
#include "pagemap.h"
#include "report.h"

typedef struct checker {
    char *why;          /* where to write the broken invariant, or NULL */
    size_t why_size;    /* its capacity */
    bucket *b;          /* the bucket being checked (its check_word moves on) */
    size_t list_nodes;  /* free-list nodes marked so far */
} checker;

WARDEN_PRINTF(2, 3) static int fail(checker *c, const char *fmt, ...)
{
    if (c->why && c->why_size) {
        size_t n = report_format(c->why, c->why_size, "bucket %u: ", c->b->index);
        va_list ap;
        va_start(ap, fmt);
        report_vformat(c->why + n, c->why_size - n, fmt, ap);
        va_end(ap);
    }
    return 1;
}

/* Whether n may be dereferenced as a header of a region of this bucket. */
static int is_in_bucket(const checker *c, const block *n)
{
    const region *r = region_of(n);
    return r && r->owner == c->b && ((uintptr_t)n & (GRANULE - 1)) == 0 &&
           n >= region_first(r) && n < region_fence(r);
}

/* ---- free lists: marks every node it proves ---------------------------------- */

/* The list of class cls, whose bitmap bit is set. */
static int check_list(checker *c, unsigned cls)
{
    const freelist *fl = &c->b->free;
    block *prev = NULL;
    for (block *n = fl->heads[cls]; n; prev = n, n = block_link_next(n)) {
        if (!is_in_bucket(c, n))
            return fail(c, "free list %u: node %p is not inside a region of this bucket", cls, (void *)n);
        if (block_flags(n) & BLOCK_MARK)
            return fail(c, "free list %u: node %p seen twice (cycle or duplicate)", cls, block_payload(n));
        if (!block_is_sealed(n))
            return fail(c, "free list %u: node %p has a bad seal", cls, block_payload(n));
        if (!block_is_free(n))
            return fail(c, "free list %u: node %p is not a free block", cls, block_payload(n));
        if (freelist_class(block_size(n)) != cls)
            return fail(c, "free list %u: node %p of %zu bytes belongs to class %u", cls,
                        block_payload(n), block_bytes(n), freelist_class(block_size(n)));
        if (block_link_prev(n) != prev)
            return fail(c, "free list %u: node %p prev link %p, expected %p", cls, block_payload(n),
                        (void *)block_link_prev(n), (void *)prev);
        block_set_mark(n, 1);
        c->list_nodes++;
    }
    return 0;
}

static int list_bit(const freelist *fl, unsigned cls)
{
    return (int)((fl->words[cls / 64] >> (cls % 64)) & 1);
}

/* Every list is walked where its bit is set, and a free block on a list
 * whose bit is clear shows in the block walk (unmarked); a head left where
 * the bit is clear is looked for in one word's classes a check, in turn: a
 * pass over all the heads on every check would cost more than the rest. */
static int check_lists(checker *c)
{
    bucket *b = c->b;
    const freelist *fl = &b->free;
    for (unsigned w = 0; w < FREELIST_WORDS; w++)
        if ((fl->words[w] != 0) != ((fl->summary >> w) & 1))
            return fail(c, "free-list summary bit %u disagrees with its word", w);
    unsigned w = b->check_word++ % FREELIST_WORDS;
    uint64_t present = 0;
    for (unsigned j = 0; j < 64 && w * 64 + j < FREELIST_CLASSES; j++)
        present |= (uint64_t)(fl->heads[w * 64 + j] != NULL) << j;
    for (unsigned cls = w * 64; present != fl->words[w] && cls < (w + 1) * 64; cls++)
        if ((fl->heads[cls] != NULL) != list_bit(fl, cls))
            return fail(c, "free list %u: bitmap bit %d disagrees with the list", cls, list_bit(fl, cls));
    for (w = 0; w < FREELIST_WORDS; w++)
        for (uint64_t bits = fl->words[w]; bits; bits &= bits - 1)
            if (check_list(c, w * 64 + bits_ctz64(bits)))
                return 1;
    return 0;
}

/* Clears the marks check_list set: at most list_nodes steps in all. */
static void unmark_lists(checker *c)
{
    const freelist *fl = &c->b->free;
    size_t budget = c->list_nodes;
    for (unsigned w = 0; w < FREELIST_WORDS && budget; w++)
        for (uint64_t bits = fl->words[w]; bits && budget; bits &= bits - 1)
            for (block *n = fl->heads[w * 64 + bits_ctz64(bits)]; n && budget && is_in_bucket(c, n);
                 n = block_link_next(n)) {
                block_set_mark(n, 0);
                budget--;
            }
}

/* ---- regions and blocks -------------------------------------------------------- */

typedef struct tally {
    size_t free_blocks, free_bytes, live_blocks, live_bytes, empty_regions;
    size_t quarantine_blocks, quarantine_bytes;
} tally;

static int check_blocks(checker *c, const region *r, tally *t)
{
    const block *fence = region_fence(r);
    const block *x = region_first(r);
    uint32_t prev_size = 0;
    int prev_free = 0;
    while (x < fence) {
        if (!block_is_sealed(x))
            return fail(c, "block %p has a bad seal (header overwritten, or the size before it is wrong)",
                        block_payload(x));
        if (block_size(x) < BLOCK_MIN_GRANULES || block_next(x) > fence)
            return fail(c, "block %p of %zu bytes breaks the tiling of region %p", block_payload(x),
                        block_bytes(x), (void *)r);
        if (block_prev_size(x) != prev_size)
            return fail(c, "block %p boundary tag says %zu bytes before it, there are %zu",
                        block_payload(x), (size_t)block_prev_size(x) * GRANULE, (size_t)prev_size * GRANULE);
        if (block_is_free(x)) {
            if (prev_free)
                return fail(c, "adjacent free blocks at %p (not coalesced)", block_payload(x));
            if (!(block_flags(x) & BLOCK_MARK))
                return fail(c, "free block %p is on no free list", block_payload(x));
            t->free_blocks++;
            t->free_bytes += block_bytes(x);
            t->empty_regions += block_prev_size(x) == 0 && block_next(x) == fence;
        } else if (block_is_quarantined(x)) {
            t->quarantine_blocks++;
            t->quarantine_bytes += block_usable(x);
        } else {
            t->live_blocks++;
            t->live_bytes += block_usable(x);
        }
        prev_free = block_is_free(x);
        prev_size = block_size(x);
        x = block_next(x);
    }
    if (!block_is_sealed(fence) || block_size(fence) != 0 || block_is_free(fence) || block_prev_size(fence) != prev_size)
        return fail(c, "region %p: fence header wrong (overwritten or boundary tag stale)", (void *)r);
    return 0;
}

static int check_region(checker *c, const region *r, const region *prev, tally *t)
{
    if (!region_is_sealed(r) || r->owner != c->b)
        return fail(c, "region %p: bad seal or owner", (void *)r);
    if (r->prev != prev)
        return fail(c, "region %p: prev link %p, expected %p", (void *)r, (void *)r->prev, (void *)prev);
    if (r->size % PLATFORM_CHUNK != 0 || r->size < PLATFORM_CHUNK)
        return fail(c, "region %p: size %zu is not whole chunks", (void *)r, r->size);
    /* The page map names it at its first and last chunk and at one more,
     * in turn: every chunk on every check cost a large region's 512
     * lookups, most of a check's time. */
    size_t chunks = r->size / PLATFORM_CHUNK;
    size_t probe[3] = {0, chunks - 1, (size_t)c->b->check_word * 7 % chunks};
    for (size_t i = 0; i < 3; i++)
        if (pagemap_lookup((const char *)r + probe[i] * PLATFORM_CHUNK) != r)
            return fail(c, "region %p: page map entry at +%zu does not name it", (void *)r, probe[i] * PLATFORM_CHUNK);
    return check_blocks(c, r, t);
}

static int check_totals(checker *c, const tally *t, size_t regions, size_t mapped)
{
    const bucket *b = c->b;
    if (t->free_blocks != c->list_nodes)
        return fail(c, "free lists hold %zu nodes, the regions %zu free blocks", c->list_nodes,
                    t->free_blocks);
    if (t->free_blocks != b->free.free_blocks || t->free_bytes != b->free.free_bytes)
        return fail(c, "free counts %zu blocks / %zu bytes, the walk finds %zu / %zu",
                    b->free.free_blocks, b->free.free_bytes, t->free_blocks, t->free_bytes);
    if (t->live_blocks != b->live_blocks || t->live_bytes != b->live_bytes)
        return fail(c, "live counts %zu blocks / %zu bytes, the walk finds %zu / %zu", b->live_blocks,
                    b->live_bytes, t->live_blocks, t->live_bytes);
    if (regions != b->region_count || mapped != b->mapped_bytes)
        return fail(c, "region counts %zu / %zu bytes, the list holds %zu / %zu", b->region_count,
                    b->mapped_bytes, regions, mapped);
    if (t->empty_regions != b->empty_regions || t->empty_regions > b->empty_reserve)
        return fail(c, "%zu empty regions kept, counted %zu (reserve %zu)", t->empty_regions,
                    b->empty_regions, b->empty_reserve);
    return 0;
}

/* The quarantine: a FIFO of quarantined blocks of this bucket, no cycle,
 * ending at its tail, as many as the walk of the regions found. */
static int check_quarantine(checker *c, const tally *t)
{
    const bucket *b = c->b;
    size_t n = 0, bytes = 0;
    const block *last = NULL;
    for (block *q = b->quarantine_head; q; last = q, q = block_link_next(q)) {
        if (!is_in_bucket(c, q) || !block_is_sealed(q) || !block_is_quarantined(q))
            return fail(c, "quarantine node %p is not a quarantined block of this bucket", (void *)q);
        if (++n > b->quarantine_blocks)
            return fail(c, "quarantine holds more than its %zu blocks (cycle?)", b->quarantine_blocks);
        bytes += block_usable(q);
    }
    if (last != b->quarantine_tail)
        return fail(c, "quarantine tail %p, the list ends at %p", (void *)b->quarantine_tail, (void *)last);
    if (n != b->quarantine_blocks || bytes != b->quarantine_bytes || n != t->quarantine_blocks ||
        bytes != t->quarantine_bytes)
        return fail(c, "quarantine counts %zu blocks / %zu bytes, the list %zu / %zu, the regions %zu / %zu",
                    b->quarantine_blocks, b->quarantine_bytes, n, bytes, t->quarantine_blocks, t->quarantine_bytes);
    if (bytes > b->quarantine_limit)
        return fail(c, "quarantine holds %zu bytes, over its limit of %zu", bytes, b->quarantine_limit);
    return 0;
}

static int check_bucket(checker *c)
{
    int rc = check_lists(c);
    tally t = {0};
    size_t regions = 0, mapped = 0;
    const region *prev = NULL;
    for (const region *r = c->b->regions; !rc && r; prev = r, r = r->next) {
        rc = check_region(c, r, prev, &t);
        regions++;
        mapped += r->size;
    }
    if (!rc)
        rc = check_totals(c, &t, regions, mapped);
    if (!rc)
        rc = check_quarantine(c, &t);
    unmark_lists(c);
    return rc;
}

int warden_heap_check(warden_heap *heap, char *why, size_t why_size)
{
    heap_verify(heap, "warden_heap_check");
    if (why && why_size)
        why[0] = '\0';
    for (size_t i = 0; i <= heap->bucket_count; i++) {
        bucket *b = &heap->buckets[i];
        checker c = {why, why_size, b, 0};
        if (b->limit != (i < heap->bucket_count ? heap->limits[i] : SIZE_MAX) || b->heap != heap)
            return fail(&c, "limit or owner overwritten");
        bucket_lock(b);
        int rc = check_bucket(&c);
        bucket_unlock(b);
        if (rc)
            return rc;
    }
    return 0;
}
