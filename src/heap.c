/* heap.c — the public warden_heap API: configuration, choosing the bucket
 * for a request, proving user pointers before touching them, the realloc
 * ladder, statistics. */
#include "heap.h"

#include <errno.h>
#include <string.h>

#include "compiler.h"
#include "platform.h"
#include "report.h"
#include "sanitize.h"

/* Quarantine per bucket when the config says 0: none in plain builds, so
 * freed memory is reused at once; 4 MiB where a tool watches the heap. */
#define HEAP_DEFAULT_QUARANTINE (SAN_ANY ? (size_t)4 << 20 : 0)
/* Bytes before and after every chunk that no other chunk ever holds: the
 * chunk's own header before it, the next block's header after it. */
#define HEAP_REDZONE BLOCK_HEADER

static const size_t default_limits[] = {128, 1024, 8192};

static const bucket_site free_site = {"warden_heap_free", "double free", "invalid free"};
static const bucket_site realloc_site = {"warden_heap_realloc", "use after free (block already freed)",
                                         "invalid pointer"};
static const bucket_site usable_site = {"warden_heap_usable_size",
                                        "use after free (block already freed)", "invalid pointer"};

void heap_verify(const warden_heap *heap, const char *op)
{
    if (!heap || ((uintptr_t)heap & (PLATFORM_CHUNK - 1)) != 0 || heap->seal != heap_seal_of(heap))
        report_fatal(op, heap, "invalid heap (not a live warden_heap)");
}

/* ---- creation ------------------------------------------------------------ */

static int config_is_valid(const warden_heap_config *c)
{
    if (c->flags & ~(WARDEN_HEAP_NO_LOCK | WARDEN_HEAP_NO_QUARANTINE))
        return 0;
    if (c->bucket_count > WARDEN_HEAP_MAX_BUCKETS || (c->bucket_count && !c->bucket_limits))
        return 0;
    if (c->region_size > HEAP_MAX_REGION_SIZE)
        return 0;
    for (size_t i = 0; i < c->bucket_count; i++) {
        size_t limit = c->bucket_limits[i];
        if (limit == 0 || limit > HEAP_MAX_BUCKET_LIMIT || (i > 0 && limit <= c->bucket_limits[i - 1]))
            return 0;
    }
    return 1;
}

warden_heap *warden_heap_create(const warden_heap_config *config)
{
    warden_heap_config c = {0};
    if (config)
        c = *config;
    if (!config_is_valid(&c)) {
        errno = EINVAL;
        return NULL;
    }
    if (c.bucket_count == 0) {
        c.bucket_limits = default_limits;
        c.bucket_count = sizeof default_limits / sizeof default_limits[0];
    }
    if (c.region_size == 0)
        c.region_size = HEAP_DEFAULT_REGION_SIZE;
    if (c.quarantine_bytes == 0)
        c.quarantine_bytes = HEAP_DEFAULT_QUARANTINE;
    if (c.flags & WARDEN_HEAP_NO_QUARANTINE)
        c.quarantine_bytes = 0;
    integrity_init();
    san_init();

    size_t bytes = sizeof(warden_heap) + (c.bucket_count + 1) * sizeof(bucket);
    size_t map_size = (bytes + PLATFORM_CHUNK - 1) & ~(PLATFORM_CHUNK - 1);
    warden_heap *heap = platform_map(map_size);
    if (!heap) {
        errno = ENOMEM;
        return NULL;
    }
    heap->bucket_count = c.bucket_count;
    heap->map_size = map_size;
    int locked = !(c.flags & WARDEN_HEAP_NO_LOCK);
    for (size_t i = 0; i <= c.bucket_count; i++) {
        size_t limit = i < c.bucket_count ? c.bucket_limits[i] : SIZE_MAX;
        if (i < c.bucket_count)
            heap->limits[i] = limit;
        bucket_init(&heap->buckets[i], heap, (unsigned)i, limit, c.region_size, locked, c.quarantine_bytes);
    }
    heap->seal = heap_seal_of(heap);
    san_pool_create(heap, HEAP_REDZONE);
    return heap;
}

void warden_heap_destroy(warden_heap *heap)
{
    if (!heap)
        return;
    heap_verify(heap, "warden_heap_destroy");
    heap->seal = 0; /* a second destroy, or a use after it, is refused */
    san_pool_destroy(heap); /* before the anchor can be reused; the handle's bytes close */
    for (size_t i = 0; i <= heap->bucket_count; i++)
        bucket_release_all(&heap->buckets[i]);
    platform_unmap(heap, heap->map_size);
}

/* ---- allocation ----------------------------------------------------------- */

static bucket *bucket_for(warden_heap *heap, size_t size)
{
    size_t i = 0;
    while (i < heap->bucket_count && size > heap->limits[i])
        i++;
    return &heap->buckets[i];
}

void *heap_alloc(warden_heap *heap, size_t size, size_t alignment, const char *op)
{
    heap_verify(heap, op);
    if (block_granules_for(size) == 0) {
        errno = ENOMEM;
        return NULL;
    }
    bucket *b = bucket_for(heap, size);
    const bucket_site site = {op, "heap corruption", "heap corruption"}; /* names the entry point */
    bucket_lock(b);
    void *p = bucket_alloc(b, size, alignment, &site);
    bucket_unlock(b);
    if (!p)
        errno = ENOMEM;
    return p;
}

void *warden_heap_alloc(warden_heap *heap, size_t size)
{
    return heap_alloc(heap, size, 0, "warden_heap_alloc");
}

void *warden_heap_calloc(warden_heap *heap, size_t count, size_t size)
{
    size_t total;
    if (mul_overflows(count, size, &total)) {
        heap_verify(heap, "warden_heap_calloc");
        errno = ENOMEM;
        return NULL;
    }
    void *p = heap_alloc(heap, total, 0, "warden_heap_calloc");
    if (p)
        memset(p, 0, total);
    return p;
}

void *warden_heap_alloc_aligned(warden_heap *heap, size_t size, size_t alignment)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        heap_verify(heap, "warden_heap_alloc_aligned");
        errno = EINVAL;
        return NULL;
    }
    return heap_alloc(heap, size, alignment, "warden_heap_alloc_aligned");
}

/* ---- user pointers ------------------------------------------------------- */

region *heap_region_of(const warden_heap *heap, const void *ptr, const bucket_site *site)
{
    if (((uintptr_t)ptr & (GRANULE - 1)) != 0)
        report_fatal(site->op, ptr, "%s (misaligned pointer)", site->foreign);
    region *r = region_of(ptr);
    if (!r)
        report_fatal(site->op, ptr, "%s (not a pointer from a warden heap)", site->foreign);
    if (!region_is_sealed(r) || r->heap != r->owner->heap)
        report_fatal(site->op, ptr, "heap corruption (region header %p overwritten)", (void *)r);
    if (heap && r->owner->heap != heap)
        report_fatal(site->op, ptr, "%s (pointer from another warden heap)", site->foreign);
    return r;
}

void heap_free_ptr(const warden_heap *heap, void *ptr, const bucket_site *site)
{
    region *r = heap_region_of(heap, ptr, site);
    bucket *b = r->owner;
    bucket_lock(b);
    bucket_free(b, r, bucket_block_of(r, ptr, site), site);
    bucket_unlock(b);
}

void warden_heap_free(warden_heap *heap, void *ptr)
{
    if (!ptr)
        return;
    heap_verify(heap, free_site.op);
    heap_free_ptr(heap, ptr, &free_site);
}

size_t heap_usable(const warden_heap *heap, const void *ptr, const bucket_site *site)
{
    region *r = heap_region_of(heap, ptr, site);
    bucket *b = r->owner;
    bucket_lock(b);
    block *blk = bucket_block_of(r, ptr, site);
    /* Where a tool watches, the bytes past the request are poisoned. */
    size_t usable = SAN_ANY ? block_requested(blk) : block_usable(blk);
    bucket_unlock(b);
    return usable;
}

size_t warden_heap_usable_size(warden_heap *heap, const void *ptr)
{
    if (!ptr)
        return 0;
    heap_verify(heap, usable_site.op);
    return heap_usable(heap, ptr, &usable_site);
}

/*
 * realloc, case by case:
 *   1. ptr not a live block          -> abort (foreign, freed, damaged)
 *   2. size impossible               -> NULL, ENOMEM, block untouched
 *   3. same bucket, fits in place    -> shrink by splitting / grow into the free next block
 *   4. otherwise                     -> allocate in the bucket the size belongs to (of the
 *                                       block's own heap), copy, free
 */
void *heap_realloc(const warden_heap *heap, void *ptr, size_t size, const bucket_site *site)
{
    region *r = heap_region_of(heap, ptr, site);
    bucket *from = r->owner;
    warden_heap *home = (warden_heap *)from->heap;
    bucket_lock(from);
    block *blk = bucket_block_of(r, ptr, site);
    size_t old_size = block_requested(blk); /* what the user can read: the rest may be poisoned */
    if (block_granules_for(size) == 0) {
        bucket_unlock(from);
        errno = ENOMEM;
        return NULL;
    }
    bucket *to = bucket_for(home, size);
    int in_place = to == from && bucket_resize(from, blk, size, site);
    bucket_unlock(from);
    if (in_place)
        return ptr;

    void *fresh = heap_alloc(home, size, 0, site->op);
    if (!fresh)
        return NULL;
    memcpy(fresh, ptr, old_size < size ? old_size : size);
    heap_free_ptr(home, ptr, site);
    return fresh;
}

void *warden_heap_realloc(warden_heap *heap, void *ptr, size_t size)
{
    if (!ptr)
        return heap_alloc(heap, size, 0, realloc_site.op);
    heap_verify(heap, realloc_site.op);
    return heap_realloc(heap, ptr, size, &realloc_site);
}

/* ---- batches for the malloc layer's thread caches ------------------------ */

size_t heap_take_cached(warden_heap *heap, size_t size, block **out, size_t n, const char *op)
{
    bucket *b = bucket_for(heap, size);
    const bucket_site site = {op, "heap corruption", "heap corruption"};
    size_t got = 0;
    bucket_lock(b);
    for (; got < n; got++) {
        void *p = bucket_alloc(b, size, 0, &site);
        if (!p)
            break;
        out[got] = block_of_payload(p);
        block_set_flags(out[got], BLOCK_CACHED);
        san_chunk_free(heap, p, block_usable(out[got])); /* cached: not the user's */
    }
    bucket_unlock(b);
    return got;
}

void heap_give_cached(block *const *blocks, size_t n, const bucket_site *site)
{
    bucket *held = NULL;
    for (size_t i = 0; i < n; i++) {
        block *blk = blocks[i];
        const void *ptr = block_payload(blk);
        region *r = heap_region_of(NULL, ptr, site);
        if (r->owner != held) {
            if (held)
                bucket_unlock(held);
            held = r->owner;
            bucket_lock(held);
        }
        /* Cached blocks were proved when they were freed; a header damaged
         * since is caught here, before the heap trusts its size. */
        if (!block_is_sealed(blk) || !(block_flags(blk) & BLOCK_CACHED))
            report_fatal(site->op, ptr, "heap corruption (header of cached block overwritten)");
        block_cache_leave(blk, block_usable(blk));
        san_chunk_alloc(held->heap, ptr, block_usable(blk), 0); /* bucket_free takes it back from the tools */
        bucket_free(held, r, blk, site);
    }
    if (held)
        bucket_unlock(held);
}

/* ---- whole-heap operations of the malloc layer --------------------------- */

void heap_tune(warden_heap *heap, size_t large_region_size, size_t empty_reserve, size_t large_reserve)
{
    heap_verify(heap, "heap_tune");
    for (size_t i = 0; i <= heap->bucket_count; i++)
        heap->buckets[i].empty_reserve = i < heap->bucket_count ? empty_reserve : large_reserve;
    if (large_region_size)
        heap->buckets[heap->bucket_count].region_size = large_region_size;
}

size_t heap_purge(warden_heap *heap)
{
    size_t bytes = 0;
    for (size_t i = 0; i <= heap->bucket_count; i++) {
        bucket *b = &heap->buckets[i];
        bucket_lock(b);
        bytes += bucket_purge(b);
        bucket_unlock(b);
    }
    return bytes;
}

void heap_walk(warden_heap *heap, void (*fn)(void *payload, size_t usable, void *ctx), void *ctx)
{
    for (size_t i = 0; i <= heap->bucket_count; i++) {
        bucket *b = &heap->buckets[i];
        bucket_lock(b);
        for (region *r = b->regions; r; r = r->next)
            for (block *x = region_first(r), *fence = region_fence(r); x < fence; x = block_next(x))
                if ((block_flags(x) & BLOCK_STATE) == 0)
                    fn(block_payload(x), block_usable(x), ctx);
        bucket_unlock(b);
    }
}

void heap_lock_all(warden_heap *heap)
{
    for (size_t i = 0; i <= heap->bucket_count; i++)
        bucket_lock(&heap->buckets[i]);
}

void heap_unlock_all(warden_heap *heap)
{
    for (size_t i = heap->bucket_count + 1; i-- > 0;)
        bucket_unlock(&heap->buckets[i]);
}

/* ---- statistics ------------------------------------------------------------ */

void warden_heap_get_stats(warden_heap *heap, warden_heap_stats *stats)
{
    heap_verify(heap, "warden_heap_get_stats");
    *stats = (warden_heap_stats){.mapped_bytes = heap->map_size};
    for (size_t i = 0; i <= heap->bucket_count; i++) {
        bucket *b = &heap->buckets[i];
        bucket_lock(b);
        stats->mapped_bytes += b->mapped_bytes;
        stats->regions += b->region_count;
        stats->live_blocks += b->live_blocks;
        stats->live_bytes += b->live_bytes;
        stats->free_blocks += b->free.free_blocks;
        stats->free_bytes += b->free.free_bytes;
        stats->quarantine_blocks += b->quarantine_blocks;
        stats->quarantine_bytes += b->quarantine_bytes;
        bucket_unlock(b);
    }
}
