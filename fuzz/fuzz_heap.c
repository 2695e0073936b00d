/* fuzz_heap.c — fuzzes warden_heap_*: the input's header chooses the heap's
 * bucket limits, region size and lock flag; each 4-byte operation then
 * allocates, callocs, aligns, reallocs, frees or frees everything, and
 * after every one the heap checker and the shadow model must both pass.
 *
 * Header: [0] bucket count (low 3 bits, 0..4 used as 0..4), a quarantine of
 *             (1 + [2] % 4) x 4 KiB per bucket (bit 6), NO_LOCK (bit 7)
 *         [1] first bucket limit in 16-byte steps, [2] growth factor of the
 *         next limits, [3] region size: 0 default, 1 64 KiB, 2 128 KiB, 3 1 MiB
 * Ops:    0 alloc  1 calloc  2 aligned alloc  3 realloc  4 free
 *         5 free everything  7 alloc again into a full slot (free first)
 *         6 a probe on the slot's block, chosen by the alignment bits, its
 *           kind by size % 4 (the size is otherwise unused):
 *             0      the usable size of the slot's block, at least its size
 *             1      refusals: impossible sizes and calloc overflow (ENOMEM),
 *                    bad alignments and configurations (EINVAL), each leaving
 *                    the heap and the slot as they were; the NULL edges
 *             2      the malloc layer's entry points: heap_walk must name
 *                    exactly the slots, heap_purge, a batch of cached blocks
 *                    taken and given back, heap_tune raising the reserves
 *             3..7   a death probe: misuse that must stop the program with
 *                    its message, in a forked child, once per process: kind
 *                    (alignment - 3) * 4 + size % 4 (misuse_run; ids 0..19)
 *             8..15  the checker checked: kind (alignment - 8) + 8 * (size % 4)
 *                    of damage that warden_heap_check must report, then put
 *                    back (probe_corruption) */
#include <errno.h>
#include <string.h>

#include <warden.h>

#include "block.h"
#include "harness.h"
#include "heap.h"
#include "mapcache.h"
#include "pagemap.h"

static size_t usable(void *heap, const void *p)
{
    return warden_heap_usable_size(heap, p);
}

static warden_heap *make_heap(const uint8_t *h)
{
    size_t limits[4];
    size_t count = (h[0] & 7u) % 5;
    size_t limit = 16 * (1 + (size_t)h[1] % 16);
    for (size_t i = 0; i < count; i++) {
        limits[i] = limit;
        limit = limit * (2 + h[2] % 8) + 16;
    }
    static const size_t regions[] = {0, 64 << 10, 128 << 10, 1 << 20};
    /* The quarantine is chosen here, never left to the build's default, so
     * an input behaves alike in plain, sanitizer and fuzzing builds. */
    int quarantine = (h[0] & 0x40) != 0;
    warden_heap_config c = {.bucket_limits = limits, .bucket_count = count,
                            .region_size = regions[h[3] & 3],
                            .quarantine_bytes = quarantine ? (1 + (size_t)h[2] % 4) << 12 : 0,
                            .flags = ((h[0] & 0x80) ? WARDEN_HEAP_NO_LOCK : 0) |
                                     (quarantine ? 0 : WARDEN_HEAP_NO_QUARANTINE)};
    warden_heap *heap = warden_heap_create(&c);
    if (!heap)
        harness_fail("warden_heap_create refused a valid configuration");
    return heap;
}

static void check(warden_heap *heap, shadow *m, const char *after)
{
    char why[256];
    harness_require_check(warden_heap_check(heap, why, sizeof why), why, after);
    shadow_verify_all(m);
}

static void release(void *ctx, shadow *m, unsigned s)
{
    warden_heap *heap = ctx;
    shadow_verify_contents(m, s, "before free");
    warden_heap_free(heap, m->slot[s].p);
    m->slot[s].p = NULL;
}

/* ---- the checker checked ------------------------------------------------------- */

/* What a probe changed, to put back: words of the bucket, the region or the
 * free lists (plain memory), block headers and links (through block.h, which
 * opens them to the sanitizers), a page-map entry. */
typedef struct undo {
    unsigned words, headers;
    struct {
        void *at;
        size_t len;
        unsigned char was[sizeof(uint64_t)];
    } word[2];
    struct {
        block *at;
        block_hdr was;
    } header[2];
    block *links_at; /* a block whose list links changed, or NULL */
    block_links links_was;
    const void *chunk; /* a chunk whose page-map entry was cleared, or NULL */
    region *chunk_owner;
} undo;

#define KEEP(u, field) keep_word((u), &(field), sizeof(field))

static void keep_word(undo *u, void *at, size_t len)
{
    _Static_assert(sizeof(size_t) <= sizeof(uint64_t) && sizeof(void *) <= sizeof(uint64_t), "a word fits");
    u->word[u->words].at = at;
    u->word[u->words].len = len;
    memcpy(u->word[u->words++].was, at, len);
}

static block_hdr keep_header(undo *u, block *at)
{
    u->header[u->headers].at = at;
    return u->header[u->headers++].was = block_load(at);
}

static void keep_links(undo *u, block *at)
{
    u->links_at = at;
    u->links_was = block_links_load(at);
}

static void undo_all(const undo *u)
{
    for (unsigned i = u->headers; i-- > 0;)
        block_store(u->header[i].at, u->header[i].was);
    for (unsigned i = u->words; i-- > 0;)
        memcpy(u->word[i].at, u->word[i].was, u->word[i].len);
    if (u->links_at)
        block_links_store(u->links_at, u->links_was);
    if (u->chunk && pagemap_set(u->chunk, PLATFORM_CHUNK, u->chunk_owner) != 0)
        harness_fail("the page map entry of %p could not be put back", u->chunk);
}

/* The slot's block and where it lives. */
typedef struct target {
    block *b;      /* the slot's block (live) */
    region *r;     /* its region */
    bucket *bk;    /* and bucket */
    uint32_t flip; /* 1..7: the bits a stray write changes */
    uint8_t fill;
} target;

static void reseal(block *at, block_hdr *h)
{
    h->seal_ = block_seal_for(at, h);
}

/* 0..11: one header. Plain stray writes to the slot's block b or the next
 * block n (0 b's size, 1 b's boundary tag, 2 b's free bit, 3 b's seal, 4 n's
 * tag, 5 n's free bit, 6 n's list link pointing at n, when n is free, 7 b's
 * size past the fence, unsealed), then writes that keep the seal, so only
 * the structure tells: 8 b's size below the minimum or past the fence (the
 * tiling), 9 b marked free (adjacent free blocks, or free on no list), 10 b
 * swallowing a free n, n's successor's tag to match (a listed block the
 * walk never meets), 11 the region's fence tag. Returns 0, changing
 * nothing, when n is not free for 6 and 10. */
static int damage_header(const target *t, unsigned kind, undo *u)
{
    block *b = t->b, *next = block_next(b);
    if ((kind == 6 || kind == 10) && !block_is_free(next))
        return 0;
    if (kind == 6) {
        keep_links(u, next);
        block_link_set_next(next, next);
        return 1;
    }
    block *at = kind == 4 || kind == 5 ? next : kind == 11 ? region_fence(t->r) : b;
    block_hdr h = keep_header(u, at);
    switch (kind) {
    case 0: h.size_ ^= t->flip; break;
    case 1: case 4: case 11: h.prev_size_ ^= t->flip; break;
    case 2: case 5: h.flags_ ^= BLOCK_FREE; break;
    case 3: h.seal_ ^= t->flip; break;
    case 7: h.size_ += 1u << 24; break;
    case 8:
        h.size_ = t->fill & 1 ? BLOCK_MIN_GRANULES - 1 : h.size_ + (1u << 24);
        reseal(at, &h);
        break;
    case 9:
        h.flags_ = BLOCK_FREE;
        reseal(at, &h);
        break;
    case 10: {
        block *after = block_next(next);
        keep_header(u, after);
        h.size_ += block_size(next);
        reseal(at, &h);
        block_set_prev_size(after, h.size_);
        break;
    }
    }
    block_store(at, h);
    return 1;
}

/* The first non-empty class of fl, or FREELIST_CLASSES. */
static unsigned first_listed(const freelist *fl)
{
    for (unsigned w = 0; w < FREELIST_WORDS; w++)
        if (fl->words[w])
            return w * 64 + bits_ctz64(fl->words[w]);
    return FREELIST_CLASSES;
}

/* 12..17: the free lists of the slot's bucket. The head h of the first
 * non-empty class: 12 resealed at twice its size (a node of another class),
 * 13 its prev link pointing at itself, 14 replaced by the region header (a
 * node outside the blocks), 15 replaced by the live block b; 16 the summary
 * bit of word 0 flipped; 17 a head set in the bitmap word the next check
 * proves, where its bit is clear. 0: no class is listed (12..15). */
static int damage_lists(const target *t, unsigned kind, undo *u)
{
    freelist *fl = &t->bk->free;
    unsigned c = first_listed(fl);
    if (kind <= 15 && c == FREELIST_CLASSES)
        return 0;
    switch (kind) {
    case 12: {
        block_hdr h = keep_header(u, fl->heads[c]);
        h.size_ *= 2;
        reseal(fl->heads[c], &h);
        block_store(fl->heads[c], h);
        break;
    }
    case 13:
        keep_links(u, fl->heads[c]);
        block_link_set_prev(fl->heads[c], fl->heads[c]);
        break;
    case 14: case 15:
        KEEP(u, fl->heads[c]);
        fl->heads[c] = kind == 14 ? (block *)(void *)t->r : t->b;
        break;
    case 16:
        KEEP(u, fl->summary);
        fl->summary ^= 1;
        break;
    case 17: {
        unsigned w = t->bk->check_word % FREELIST_WORDS;
        for (c = w * 64; c < (w + 1) * 64 && c < FREELIST_CLASSES && fl->heads[c]; c++)
            ;
        if (c == (w + 1) * 64 || c == FREELIST_CLASSES)
            return 0;
        KEEP(u, fl->heads[c]);
        fl->heads[c] = t->b;
        break;
    }
    }
    return 1;
}

/* Around the page-map damage: what the page map must refuse (an empty
 * range, addresses beyond those it covers), and a mapping of its own
 * registered while it lives and forgotten after. */
static void pagemap_edges(region *r)
{
    if (pagemap_set(r, 0, r) != -1)
        harness_fail("the page map took an empty range");
    pagemap_clear(r, 0);
    if (PAGEMAP_ADDRESS_BITS < sizeof(uintptr_t) * 8) {
        const void *beyond = (const void *)(UINTPTR_MAX & ~(uintptr_t)(PLATFORM_CHUNK - 1));
        if (pagemap_set(beyond, PLATFORM_CHUNK, r) != -1 || pagemap_lookup(beyond) != NULL)
            harness_fail("the page map took %p, beyond the addresses it covers", beyond);
        pagemap_clear(beyond, PLATFORM_CHUNK);
    }
    static int mapped; /* two system calls: once per process */
    if (mapped)
        return;
    mapped = 1;
    void *own = pagemap_map_self(PLATFORM_CHUNK);
    if (!own || pagemap_lookup(own) != own)
        harness_fail("pagemap_map_self: %p is not its own owner", own);
    pagemap_unmap_self(own, PLATFORM_CHUNK);
    if (pagemap_lookup(own) != NULL)
        harness_fail("pagemap_unmap_self left %p in the page map", own);
}

/* 18..22: the slot's region and bucket: 18 the region's seal, 19 its prev
 * link pointing at itself, 20 its size not whole chunks (resealed), 21 the
 * page map forgetting its last chunk, 22 the bucket's limit. */
static void damage_region(const target *t, unsigned kind, undo *u)
{
    region *r = t->r;
    switch (kind) {
    case 18:
        KEEP(u, r->seal);
        r->seal ^= t->flip;
        break;
    case 19:
        KEEP(u, r->prev);
        r->prev = r;
        break;
    case 20:
        KEEP(u, r->size);
        KEEP(u, r->seal);
        r->size += GRANULE;
        r->seal = region_seal_of(r);
        break;
    case 21:
        pagemap_edges(r);
        u->chunk = (const char *)r + r->size - PLATFORM_CHUNK;
        u->chunk_owner = r;
        pagemap_clear(u->chunk, PLATFORM_CHUNK);
        break;
    case 22:
        KEEP(u, t->bk->limit);
        t->bk->limit ^= t->flip;
        break;
    }
}

/* 23..31: the bucket's counts and quarantine: 23 free blocks, 24 live
 * blocks, 25 regions, 26 empty regions, each one more; 27 the quarantine's
 * head the live block b, 28 its tail wrong, 29 its bytes 16 more, 30 its
 * tail linked to its head (a cycle), 31 its limit below what it holds.
 * 0: the quarantine is empty (30, 31). */
static int damage_counts(const target *t, unsigned kind, undo *u)
{
    bucket *bk = t->bk;
    switch (kind) {
    case 23: KEEP(u, bk->free.free_blocks); bk->free.free_blocks++; break;
    case 24: KEEP(u, bk->live_blocks); bk->live_blocks++; break;
    case 25: KEEP(u, bk->region_count); bk->region_count++; break;
    case 26: KEEP(u, bk->empty_regions); bk->empty_regions++; break;
    case 27: KEEP(u, bk->quarantine_head); bk->quarantine_head = t->b; break;
    case 28: KEEP(u, bk->quarantine_tail); bk->quarantine_tail = bk->quarantine_tail ? NULL : t->b; break;
    case 29: KEEP(u, bk->quarantine_bytes); bk->quarantine_bytes += GRANULE; break;
    case 30:
        if (!bk->quarantine_tail)
            return 0;
        keep_links(u, bk->quarantine_tail);
        block_link_set_next(bk->quarantine_tail, bk->quarantine_head);
        break;
    case 31:
        if (!bk->quarantine_bytes)
            return 0;
        KEEP(u, bk->quarantine_limit);
        bk->quarantine_limit = bk->quarantine_bytes - 1;
        break;
    }
    return 1;
}

/* The checker checked: damage of the given kind (0..31, above), as a stray
 * write would do it, must be found by the next check, whatever state the
 * heap is in; then it is put back. A kind the heap's state does not fit
 * (no free next block, no listed class, an empty quarantine) does nothing. */
static void probe_corruption(warden_heap *heap, const shadow_slot *sl, unsigned kind, uint8_t fill)
{
    region *r = region_of(sl->p);
    target t = {block_of_payload(sl->p), r, r->owner, 1u + fill % 7u, fill};
    undo u = {0};
    int fits = 1;
    if (kind < 12)
        fits = damage_header(&t, kind, &u);
    else if (kind < 18)
        fits = damage_lists(&t, kind, &u);
    else if (kind < 23)
        damage_region(&t, kind, &u);
    else
        fits = damage_counts(&t, kind, &u);
    if (!fits)
        return;
    char why[256];
    int found = warden_heap_check(heap, why, sizeof why) != 0;
    undo_all(&u);
    if (!found)
        harness_fail("damage %u near the block at %p (%zu bytes) was not found by the heap check", kind, sl->p,
                     sl->size);
}

/* ---- death probes ------------------------------------------------------------------ */

typedef struct misuse {
    warden_heap *heap;
    unsigned char *p; /* the slot's block */
    unsigned kind;
} misuse;

static const char *const said[20] = {
    "invalid free (misaligned pointer)", "invalid pointer (misaligned pointer)",
    "invalid pointer (not a pointer from a warden heap)", "invalid free (not a pointer from a warden heap)",
    "invalid free (pointer from another warden heap)", "invalid free (not the start of a block)",
    "invalid free (not the start of a block)", "heap corruption (region header",
    "invalid heap (not a live warden_heap)", "invalid heap (not a live warden_heap)",
    "double free", "use after free (block already freed)", "use after free (block already freed)",
    "heap corruption (block header overwritten)", "heap corruption (header of block",
    "heap corruption (header of block", "heap corruption (block header overwritten)",
    "heap corruption (header of block", "heap corruption (free-list links damaged)",
    "heap corruption (header of cached block overwritten)"};

static const bucket_site cached_site = {"heap_give_cached", "double free", "invalid free"};

static void break_seal(block *x)
{
    block_hdr h = block_load(x);
    h.seal_ ^= 1;
    block_store(x, h);
}

/* 0..9, on the slot's heap and block p: 0 free of p + 8, 1 usable size of
 * p + 4, 2 realloc of a static and 3 free of a stack address, 4 free of
 * another heap's block, 5 free of a pointer inside a block, 6 of one inside
 * the region header, 7 free of p once its region's header is overwritten,
 * 8 alloc from a NULL heap, 9 free with p's region passed as the heap. */
static void misuse_slot(const misuse *u, warden_heap *other)
{
    static _Alignas(16) unsigned char not_heap[64];
    _Alignas(16) unsigned char on_stack[64];
    warden_heap *heap = u->heap;
    region *r = region_of(u->p);
    unsigned char *q = warden_heap_alloc(other, 64);
    switch (u->kind) {
    case 0: warden_heap_free(heap, u->p + 8); break;
    case 1: warden_heap_usable_size(heap, u->p + 4); break;
    case 2: warden_heap_realloc(heap, not_heap, 10); break;
    case 3: warden_heap_free(heap, on_stack); break;
    case 4: warden_heap_free(heap, q); break;
    case 5:
        memset(q, 0xa5, 64); /* no stale header where the pointer's would be */
        warden_heap_free(other, q + 32);
        break;
    case 6: warden_heap_free(heap, (char *)r + GRANULE); break;
    case 7: r->seal ^= 1; warden_heap_free(heap, u->p); break;
    case 8: warden_heap_alloc(NULL, 16); break;
    case 9: warden_heap_free((warden_heap *)(void *)r, u->p); break;
    }
}

/* 10..19, on a heap of the child's own without quarantine, whose region
 * holds a, q, c in that order and the free rest: 10 q freed twice, 11
 * realloc and 12 usable size of q freed, then a free of q with 13 its own,
 * 15 a's header overwritten; 14 realloc of q in place with c's; 16 an alloc
 * from the rest with its header, 17 and the region's, overwritten; 18 a's
 * free merging q, whose list links were overwritten; 19 a cached block
 * given back with its header overwritten (the malloc layer's path). */
static void misuse_fresh(const misuse *u, warden_heap *h)
{
    unsigned char *a = warden_heap_alloc(h, 64), *q = warden_heap_alloc(h, 64), *c = warden_heap_alloc(h, 64);
    block *rest = block_next(block_of_payload(c));
    if (!a || !q || !c || block_next(block_of_payload(a)) != block_of_payload(q) ||
        block_next(block_of_payload(q)) != block_of_payload(c) || !block_is_free(rest))
        harness_fail("a fresh heap did not lay out three blocks in a row");
    switch (u->kind) {
    case 10: case 11: case 12:
        warden_heap_free(h, q);
        if (u->kind == 10)
            warden_heap_free(h, q);
        else if (u->kind == 11)
            warden_heap_realloc(h, q, 100);
        else
            warden_heap_usable_size(h, q);
        break;
    case 13: break_seal(block_of_payload(q)); warden_heap_free(h, q); break;
    case 14: break_seal(block_of_payload(c)); warden_heap_realloc(h, q, 64); break;
    case 15: break_seal(block_of_payload(a)); warden_heap_free(h, q); break;
    case 16: case 17:
        break_seal(rest);
        if (u->kind == 17)
            region_of(rest)->seal ^= 1;
        warden_heap_alloc(h, 64);
        break;
    case 18:
        warden_heap_free(h, q);
        block_link_set_prev(block_of_payload(q), block_of_payload(q));
        warden_heap_free(h, a);
        break;
    case 19: {
        block *cached;
        if (heap_take_cached(h, 64, &cached, 1, "heap_take_cached") != 1)
            harness_fail("no cached block");
        break_seal(cached);
        heap_give_cached(&cached, 1, &cached_site);
        break;
    }
    }
}

/* In the child: the misuse; returning means it was not stopped. */
static void misuse_run(void *ctx)
{
    const misuse *u = ctx;
    warden_heap_config c = {.flags = WARDEN_HEAP_NO_QUARANTINE};
    warden_heap *other = warden_heap_create(&c);
    if (!other)
        harness_fail("no second heap");
    if (u->kind < 10)
        misuse_slot(u, other);
    else
        misuse_fresh(u, other);
}

static void probe_death(warden_heap *heap, const shadow_slot *sl, unsigned kind)
{
    misuse u = {heap, sl->p, kind};
    harness_expect_death(kind, misuse_run, &u, said[kind]);
}

/* ---- refusals -------------------------------------------------------------------------- */

/* The call must return NULL with errno err. */
#define REFUSED(call, err)                          \
    do {                                            \
        errno = 0;                                  \
        harness_require_refused((call), (err), #call);      \
    } while (0)

/* The largest request block_granules_for accepts: a block of 2^32 - 2
 * granules, which no region can hold (SIZE_MAX where size_t is 32 bits). */
static size_t unmappable_size(void)
{
    uint64_t n = ((uint64_t)BLOCK_MAX_GRANULES << GRANULE_SHIFT) - BLOCK_HEADER - GRANULE;
    return n <= SIZE_MAX ? (size_t)n : SIZE_MAX;
}

/* Configurations warden_heap_create must refuse with EINVAL. */
static void probe_bad_configs(void)
{
    static const size_t down[] = {64, 32}, zero[] = {0}, big[] = {HEAP_MAX_BUCKET_LIMIT + 1};
    const warden_heap_config bad[] = {
        {.flags = 0x80u},
        {.bucket_limits = down, .bucket_count = WARDEN_HEAP_MAX_BUCKETS + 1},
        {.bucket_count = 1}, /* no limits */
        {.region_size = HEAP_MAX_REGION_SIZE + PLATFORM_CHUNK},
        {.bucket_limits = zero, .bucket_count = 1},
        {.bucket_limits = big, .bucket_count = 1},
        {.bucket_limits = down, .bucket_count = 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        REFUSED(warden_heap_create(&bad[i]), EINVAL);
}

/* Requests the heap must refuse, each leaving it and the slot as they were
 * (the sizes pass block_granules_for where they can, so the refusal comes
 * from deeper: the alignment's room, the region's size); then the NULL
 * edges of free, usable size and destroy. */
static void probe_refusals(warden_heap *heap, shadow *m, unsigned s, uint8_t fill)
{
    size_t huge = unmappable_size();
    size_t bad_align = fill & 1 ? 0 : (size_t)3 << (fill % 8); /* never a power of two */
    void *p = m->slot[s].p;
    REFUSED(warden_heap_alloc(heap, SIZE_MAX), ENOMEM);
    REFUSED(warden_heap_alloc(heap, huge), ENOMEM);
    REFUSED(warden_heap_alloc_aligned(heap, huge, 4096), ENOMEM);
    REFUSED(warden_heap_calloc(heap, SIZE_MAX / 2 + 1, 2), ENOMEM);
    REFUSED(warden_heap_alloc_aligned(heap, 16, bad_align), EINVAL);
    REFUSED(warden_heap_realloc(heap, NULL, SIZE_MAX), ENOMEM);
    REFUSED(warden_heap_realloc(heap, p, SIZE_MAX), ENOMEM);
    REFUSED(warden_heap_realloc(heap, p, huge), ENOMEM);
    shadow_verify_contents(m, s, "after refused reallocs");
    warden_heap_free(heap, NULL);
    warden_heap_destroy(NULL);
    if (warden_heap_usable_size(heap, NULL) != 0)
        harness_fail("usable size of NULL is not 0");
    probe_bad_configs();
}

/* ---- the malloc layer's entry points ------------------------------------------------ */

typedef struct walked {
    const shadow *m;
    size_t blocks;
} walked;

static void note_walked(void *payload, size_t n, void *ctx)
{
    walked *w = ctx;
    w->blocks++;
    for (unsigned s = 0; s < HARNESS_SLOTS; s++)
        if (w->m->slot[s].p == payload) {
            if (n < w->m->slot[s].size)
                harness_fail("heap_walk gave slot %u %zu usable bytes, below its %zu", s, n, w->m->slot[s].size);
            return;
        }
    harness_fail("heap_walk named %p, no slot's block", payload);
}

/* What the malloc layer does with a heap: walk it (exactly the slots'
 * blocks are live), lock and unlock it, purge it (once per process), take
 * batches of cached blocks (live to the counts, sealed as cached) and give
 * them back in one call, raise its reserves of empty regions. The checker
 * after the operation proves the heap unharmed. */
static void probe_layer_above(warden_heap *heap, const shadow *m, uint8_t fill)
{
    walked w = {m, 0};
    heap_walk(heap, note_walked, &w);
    warden_heap_stats before, after;
    warden_heap_get_stats(heap, &before);
    if (w.blocks != before.live_blocks)
        harness_fail("heap_walk named %zu blocks, the heap counts %zu live", w.blocks, before.live_blocks);
    heap_lock_all(heap);
    heap_unlock_all(heap);
    static int purged; /* its pages fault back in: once per process, like a fork */
    if (!purged) {
        purged = 1;
        size_t bytes = heap_purge(heap);
        if (bytes > before.free_bytes)
            harness_fail("heap_purge gave back %zu bytes of free blocks, there are %zu", bytes, before.free_bytes);
    }
    /* a batch from one bucket, and one block of a size that is often another's */
    block *out[5];
    size_t n = 1 + fill % 4;
    size_t got = heap_take_cached(heap, (size_t)16 << (fill % 8), out, n, "heap_take_cached");
    got += heap_take_cached(heap, (size_t)16 << ((fill + 4) % 8), out + got, 1, "heap_take_cached");
    warden_heap_get_stats(heap, &after);
    if (got != n + 1 || after.live_blocks != before.live_blocks + got)
        harness_fail("heap_take_cached: %zu of %zu blocks, live blocks %zu -> %zu", got, n + 1, before.live_blocks,
                     after.live_blocks);
    for (size_t i = 0; i < got; i++)
        if (!block_is_sealed(out[i]) || !(block_flags(out[i]) & BLOCK_CACHED))
            harness_fail("heap_take_cached: block %p is not sealed as cached", block_payload(out[i]));
    heap_give_cached(out, got, &cached_site);
    if (fill & 1)
        heap_tune(heap, fill & 2 ? (size_t)1 << 20 : 0, BUCKET_EMPTY_RESERVE + 1, BUCKET_EMPTY_RESERVE + 1);
}

/* ---- operations -------------------------------------------------------------------- */

static void probe(warden_heap *heap, shadow *m, const op *o)
{
    unsigned pick = (unsigned)(o->size % 4);
    if (o->align_log >= 8)
        probe_corruption(heap, &m->slot[o->slot], o->align_log - 8 + 8 * pick, o->fill);
    else if (o->align_log >= 3)
        probe_death(heap, &m->slot[o->slot], (o->align_log - 3) * 4 + pick);
    else if (o->align_log == 2)
        probe_layer_above(heap, m, o->fill);
    else if (o->align_log == 1)
        probe_refusals(heap, m, o->slot, o->fill);
    else if (m->slot[o->slot].p && warden_heap_usable_size(heap, m->slot[o->slot].p) < m->slot[o->slot].size)
        harness_fail("slot %u: usable size below the %zu bytes asked for", o->slot, m->slot[o->slot].size);
}

static void run_op(warden_heap *heap, shadow *m, const op *o)
{
    shadow_slot *sl = &m->slot[o->slot];
    if (o->code == 7 && sl->p)
        release(heap, m, o->slot);
    if (!sl->p && (o->code <= 3 || o->code == 7)) {
        void *p;
        size_t align = 1;
        if (o->code == 1) {
            p = warden_heap_calloc(heap, 1, o->size);
            size_t bad;
            if (p && !sample_holds(p, o->size, 0, &bad))
                harness_fail("calloc(%zu) byte %zu is not zero", o->size, bad);
        } else if (o->code == 2) {
            align = (size_t)1 << (o->align_log + 1);
            p = warden_heap_alloc_aligned(heap, o->size, align);
        } else {
            p = warden_heap_alloc(heap, o->size);
        }
        if (!p)
            harness_fail("allocation of %zu bytes (alignment %zu) failed", o->size, align);
        shadow_put(m, o->slot, p, o->size, align, o->fill);
        return;
    }
    if (!sl->p)
        return;
    switch (o->code) {
    case 3: {
        shadow_verify_contents(m, o->slot, "before realloc");
        void *p = warden_heap_realloc(heap, sl->p, o->size);
        if (!p)
            harness_fail("realloc to %zu bytes failed", o->size);
        sl->align = 1; /* realloc promises the default alignment only */
        shadow_realloc(m, o->slot, p, o->size);
        break;
    }
    case 4:
        release(heap, m, o->slot);
        break;
    case 5:
        shadow_release_all(m, release, heap);
        break;
    case 6:
        probe(heap, m, o);
        break;
    default: /* 0, 1, 2 on a full slot */
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int pooled;
    if (!pooled) { /* every input maps and returns the same few regions: keep them, resident */
        mapcache_setup((size_t)64 << 20, 1);
        pooled = 1;
    }
    if (size <= HARNESS_HEADER)
        return 0;
    warden_heap *heap = make_heap(data);
    shadow m = {.usable = usable, .ctx = heap};
    input in = {data + HARNESS_HEADER, data + size, 0};
    op o;
    static const char *names[] = {"alloc", "calloc", "aligned alloc", "realloc", "free", "free all",
                                  "usable size", "free+alloc"};
    while (input_next_op(&in, &o)) {
        run_op(heap, &m, &o);
        check(heap, &m, names[o.code]);
    }
    shadow_release_all(&m, release, heap);
    check(heap, &m, "the final frees");
    /* Fully coalesced: every region left is one free block (unless the
     * quarantine still holds some back). */
    warden_heap_stats st;
    warden_heap_get_stats(heap, &st);
    if (st.live_blocks != 0 || (st.quarantine_blocks == 0 && st.free_blocks != st.regions))
        harness_fail("after freeing everything: %zu live blocks, %zu free blocks in %zu regions", st.live_blocks,
                     st.free_blocks, st.regions);
    warden_heap_destroy(heap);
    return 0;
}
