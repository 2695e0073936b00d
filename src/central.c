/* central.c — the arenas' central caches: batches of block pointers
 * between thread caches and the heap, under one lock per arena. */
#include "central.h"

#include <string.h>

#include "heap.h"
#include "report.h"

static const bucket_site central_site = {"free", "double free", "invalid free"};

static uint32_t central_cap(size_t class_bytes, size_t c)
{
    if (class_bytes == 0)
        return 0;
    size_t cap = class_bytes / ((c + 2) << GRANULE_SHIFT);
    return (uint32_t)(cap < 64 ? 64 : cap > 8192 ? 8192 : cap);
}

central *central_create(warden_heap *heap, size_t class_bytes)
{
    size_t slots = 0;
    for (size_t c = 0; c < TCACHE_CLASSES; c++)
        slots += central_cap(class_bytes, c);
    size_t bytes = sizeof(central) + slots * sizeof(block *);
    size_t map_size = (bytes + PLATFORM_CHUNK - 1) & ~(PLATFORM_CHUNK - 1);
    central *ct = platform_map(map_size);
    if (!ct)
        return NULL;
    platform_lock_init(&ct->lock);
    ct->heap = heap;
    ct->map_size = map_size;
    block **at = (block **)(ct + 1);
    for (size_t c = 0; c < TCACHE_CLASSES; c++) {
        ct->bins[c] = (central_bin){0, central_cap(class_bytes, c), at, 0};
        at += ct->bins[c].cap;
    }
    return ct;
}

void central_lock(central *ct)
{
    platform_lock_acquire(&ct->lock);
}

void central_unlock(central *ct)
{
    platform_lock_release(&ct->lock);
}

static void bin_to_heap(central_bin *bin, uint32_t n);

/* On a miss: bins nobody has touched for CENTRAL_STALE operations go to the
 * heap, where their memory serves other sizes again. */
static void sweep_stale(central *ct)
{
    for (size_t c = 0; c < TCACHE_CLASSES; c++) {
        central_bin *bin = &ct->bins[c];
        if (bin->count && ct->clock - bin->used > CENTRAL_STALE)
            bin_to_heap(bin, bin->count);
    }
}

size_t central_take(central *ct, size_t c, block **out, size_t n, const char *op)
{
    central_bin *bin = &ct->bins[c];
    central_lock(ct);
    bin->used = ++ct->clock;
    size_t got = bin->count < n ? bin->count : n;
    bin->count -= (uint32_t)got; /* the newest: warm in cache */
    memcpy(out, bin->slots + bin->count, got * sizeof(block *));
    memset(bin->slots + bin->count, 0, got * sizeof(block *)); /* no stale copies (tcache_pop) */
    if (!got)
        sweep_stale(ct);
    central_unlock(ct);
    if (got)
        return got;
    if (n > 64)
        n = 64;
    return heap_take_cached(ct->heap, (c + 1) << GRANULE_SHIFT, out, n, op);
}

/* The oldest n blocks of bin to the heap (the central lock held: central
 * before bucket, always). */
static void bin_to_heap(central_bin *bin, uint32_t n)
{
    heap_give_cached(bin->slots, n, &central_site);
    memmove(bin->slots, bin->slots + n, (bin->count - n) * sizeof(block *));
    memset(bin->slots + bin->count - n, 0, n * sizeof(block *)); /* no stale copies (tcache_pop) */
    bin->count -= n;
}

void central_put(central *ct, size_t c, block *const *blocks, size_t n)
{
    central_bin *bin = &ct->bins[c];
    if (n > bin->cap) { /* more than it could ever hold: the heap takes them */
        heap_give_cached(blocks, n, &central_site);
        return;
    }
    central_lock(ct);
    bin->used = ++ct->clock;
    if (bin->count + n > bin->cap) { /* make room, down to half full after the put */
        size_t drain = bin->count + n - bin->cap / 2;
        bin_to_heap(bin, (uint32_t)(drain < bin->count ? drain : bin->count));
    }
    memcpy(bin->slots + bin->count, blocks, n * sizeof(block *));
    bin->count += (uint32_t)n;
    central_unlock(ct);
}

void central_put_mixed(central *ct, block *const *blocks, size_t n)
{
    central_lock(ct);
    ++ct->clock;
    for (size_t i = 0; i < n; i++) {
        block *b = blocks[i];
        size_t c = block_size(b) - 2u;
        if (c >= TCACHE_CLASSES || ct->bins[c].cap == 0) {
            heap_give_cached(&b, 1, &central_site);
            continue;
        }
        central_bin *bin = &ct->bins[c];
        bin->used = ct->clock;
        if (bin->count == bin->cap)
            bin_to_heap(bin, bin->cap / 2);
        bin->slots[bin->count++] = b;
    }
    central_unlock(ct);
}

void central_flush(central *ct)
{
    central_lock(ct);
    for (size_t c = 0; c < TCACHE_CLASSES; c++)
        if (ct->bins[c].count)
            bin_to_heap(&ct->bins[c], ct->bins[c].count);
    central_unlock(ct);
}

int central_check(central *ct, char *why, size_t why_size)
{
    int rc = 0;
    central_lock(ct);
    for (size_t c = 0; c < TCACHE_CLASSES && !rc; c++) {
        const central_bin *bin = &ct->bins[c];
        if (bin->count > bin->cap) {
            rc = 1;
            report_format(why, why_size, "central cache: bin %zu over its cap", c);
        }
        for (uint32_t i = 0; i < bin->count && !rc; i++) {
            const block *b = bin->slots[i];
            const region *r = region_of(b);
            if (!r || r->heap != ct->heap || !block_is_sealed(b) ||
                (block_flags(b) & BLOCK_STATE) != BLOCK_CACHED || block_size(b) != c + 2) {
                rc = 1;
                report_format(why, why_size, "central cache: slot %p is not a cached block of class %zu",
                              (const void *)b, c);
            }
        }
    }
    central_unlock(ct);
    return rc;
}

void central_count(central *ct, size_t *blocks, size_t *bytes)
{
    *blocks = *bytes = 0;
    central_lock(ct);
    for (size_t c = 0; c < TCACHE_CLASSES; c++) {
        *blocks += ct->bins[c].count;
        *bytes += (size_t)ct->bins[c].count * ((c + 1) << GRANULE_SHIFT);
    }
    central_unlock(ct);
}
