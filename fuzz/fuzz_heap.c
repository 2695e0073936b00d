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
 *         5 free everything  6 usable_size (alignment bits 0..7), or a
 *         corruption the checker must find (8..15, below)
 *         7 alloc again into a full slot (free first) */
#include <string.h>

#include <warden.h>

#include "block.h"
#include "harness.h"
#include "mapcache.h"

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

/* The checker checked: one header word of the slot's block, or of the
 * block after it, changed as a stray write would, must be found by the
 * next check, whatever state the heap is in; then it is put back.
 *   0 its size  1 its boundary tag (prev_size)  2 its free bit  3 its seal
 *   4 the next block's boundary tag  5 the next block's free bit
 *   6 the next block's list link, when it is free: pointing at itself
 *   7 its size made the region's whole rest (past the fence) */
static void probe_corruption(warden_heap *heap, const shadow_slot *sl, unsigned kind, uint8_t fill)
{
    block *b = block_of_payload(sl->p), *next = block_next(b);
    block *at = kind >= 4 && kind <= 6 ? next : b;
    uint32_t flip = 1u + fill % 7u;
    block_hdr saved = block_load(at), bad = saved;
    block_links links = {0};
    switch (kind) {
    case 0: bad.size_ ^= flip; break;
    case 1: case 4: bad.prev_size_ ^= flip; break;
    case 2: case 5: bad.flags_ ^= BLOCK_FREE; break;
    case 3: bad.seal_ ^= flip; break;
    case 6:
        if (!block_is_free(next))
            return;
        links = block_links_load(next);
        block_link_set_next(next, next);
        break;
    case 7: bad.size_ += 1u << 24; break;
    }
    if (kind != 6)
        block_store(at, bad);
    char why[256];
    int found = warden_heap_check(heap, why, sizeof why) != 0;
    if (kind == 6)
        block_links_store(next, links);
    else
        block_store(at, saved);
    if (!found)
        harness_fail("corruption %u of the block at %p (%zu bytes) was not found by the heap check", kind, sl->p,
                     sl->size);
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
        if (o->align_log >= 8)
            probe_corruption(heap, sl, o->align_log - 8, o->fill);
        break; /* else: usable size, proved by the model */
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
