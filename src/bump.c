/* bump.c — the public warden_bump API: O(1) bin slots with a free list,
 * a bump pointer for larger requests, reset that keeps every chunk for
 * reuse, and cheap misuse checks on free and realloc. */
#include "bump.h"

#include <errno.h>
#include <string.h>

#include "fault.h"
#include "mapcache.h"
#include "pagemap.h"
#include "report.h"

void bump_verify(const warden_bump *bump, const char *op)
{
    if (!bump || ((uintptr_t)bump & 15) != 0 || bump->seal != bump_seal_of(bump))
        report_fatal(op, bump, "invalid arena (not a live warden_bump)");
}

/* The bin of a request, or -1 when the bump pointer serves it. */
static int bin_of(size_t size, size_t alignment)
{
    if (size > BUMP_MAX_SLOT) /* before adding the redzone: no wrap-around */
        return -1;
    size_t need = size + BUMP_REDZONE > alignment ? size + BUMP_REDZONE : alignment;
    if (need > BUMP_MAX_SLOT)
        return -1;
    return need <= 16 ? 0 : need <= 32 ? 1 : need <= 64 ? 2 : 3;
}

static size_t slot_size_of(int bin)
{
    return (size_t)16 << bin;
}

/* ---- chunks ----------------------------------------------------------------- */

/* Maps a chunk of at least size bytes, registered and empty; NULL when the
 * OS refuses. */
static bump_chunk *chunk_map(warden_bump *owner, size_t size, uint32_t kind)
{
    size = platform_chunk_round(size);
    bump_chunk *c = mapcache_map(size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->arena = owner;
    c->kind = kind;
    c->slot_size = kind == BUMP_KIND_LARGE ? 0 : (uint32_t)slot_size_of((int)kind);
    c->size = size;
    c->start = c->top = bump_chunk_space(c);
    c->end = (char *)c + size;
    san_area_fence(c->start, (size_t)(c->end - c->start));
    return c;
}

static void chunk_unmap(bump_chunk *c)
{
    mapcache_unmap(c, c->size);
}

/* Maps a chunk and links it after last (or as the list's first). */
static bump_chunk *chunk_add(warden_bump *owner, bump_chunk **list, bump_chunk *last, size_t size,
                             uint32_t kind)
{
    bump_chunk *c = chunk_map(owner, size, kind);
    if (c)
        *(last ? &last->next : list) = c;
    return c;
}

static void chunk_mark(bump_chunk *c, const char *slot, int live)
{
    size_t i = (size_t)(slot - c->start) / c->slot_size;
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (live)
        c->used[i / 64] |= bit;
    else
        c->used[i / 64] &= ~bit;
}

static int chunk_is_live(const bump_chunk *c, const char *slot)
{
    size_t i = (size_t)(slot - c->start) / c->slot_size;
    return (c->used[i / 64] >> (i % 64)) & 1;
}

/* ---- create, destroy, reset --------------------------------------------------- */

warden_bump *warden_bump_create(void)
{
    integrity_init();
    san_init();
    /* The arena lives at the start of its own first bump chunk. */
    bump_chunk *first = chunk_map(NULL, BUMP_LARGE_CHUNK, BUMP_KIND_LARGE);
    if (!first) {
        errno = ENOMEM;
        return NULL;
    }
    warden_bump *bump = (warden_bump *)first->start;
    san_meta_open(bump, sizeof *bump); /* the arena's own bytes are never fenced */
    *bump = (warden_bump){.large = first, .large_current = first};
    first->arena = bump;
    /* a gap after the arena: Memcheck's redzone before the first object */
    first->start = first->top = bump_space_start(bump, first);
    bump->seal = bump_seal_of(bump);
    san_pool_create(bump, BUMP_REDZONE);
    return bump;
}

void warden_bump_destroy(warden_bump *bump)
{
    if (!bump)
        return;
    bump_verify(bump, "warden_bump_destroy");
    bump->seal = 0; /* a second destroy, or a use after it, is refused */
    san_pool_destroy(bump); /* the handle's bytes close */
    for (int k = 0; k < BUMP_BINS; k++)
        for (bump_chunk *c = bump->bins[k].chunks, *next; c; c = next) {
            next = c->next;
            chunk_unmap(c);
        }
    bump_chunk *first = bump->large;
    for (bump_chunk *c = first->next, *next; c; c = next) {
        next = c->next;
        chunk_unmap(c);
    }
    chunk_unmap(first); /* holds the arena itself: last */
}

void warden_bump_reset(warden_bump *bump)
{
    bump_verify(bump, "warden_bump_reset");
    spinlock_acquire(&bump->lock);
    san_pool_drop_all(bump);
    for (int k = 0; k < BUMP_BINS; k++) {
        bump_bin *bin = &bump->bins[k];
        for (bump_chunk *c = bin->chunks; c; c = c->next) {
            c->top = c->start;
            memset(c->used, 0, sizeof c->used);
            san_area_fence(c->start, (size_t)(c->end - c->start));
        }
        bin->current = bin->chunks;
        bin->free = NULL;
        bin->live = bin->free_count = 0;
    }
    for (bump_chunk *c = bump->large; c; c = c->next) {
        c->top = c->start;
        san_area_fence(c->start, (size_t)(c->end - c->start));
    }
    bump->large_current = bump->large;
    bump->last = NULL;
    spinlock_release(&bump->lock);
}

/* ---- allocation ----------------------------------------------------------------- */

/* A slot of bin k: the free list's head, else the next never-used slot. */
static void *bin_alloc(warden_bump *bump, int k)
{
    bump_bin *bin = &bump->bins[k];
    char *slot = bin->free;
    bump_chunk *c;
    if (slot) {
        /* The link was checked when the slot was freed; a write since then
         * (use after free) decodes to a pointer that is not a slot here. */
        char *next = bump_link_load(slot);
        c = pagemap_lookup(next);
        if (next && (!c || c->arena != bump || c->kind != (uint32_t)k))
            report_fatal("warden_bump_alloc", slot, "heap corruption (free slot overwritten after free)");
        bin->free = next;
        bin->free_count--;
        c = pagemap_lookup(slot);
    } else {
        size_t slot_size = slot_size_of(k);
        bump_chunk *last = NULL;
        for (c = bin->current; c && c->top + slot_size > c->end; c = c->next)
            last = c; /* chunks kept over a reset come back in order */
        if (!c && !(c = chunk_add(bump, &bin->chunks, last, PLATFORM_CHUNK, (uint32_t)k)))
            return NULL;
        bin->current = c;
        slot = c->top;
        if (!FAULT(bump_double_slot))
            c->top += slot_size;
    }
    chunk_mark(c, slot, 1);
    bin->live++;
    return slot;
}

/* size bytes at alignment from the bump pointer, moving to a later chunk
 * (kept over a reset, or new) when the current one has no room. */
static void *bump_alloc_large(warden_bump *bump, size_t size, size_t alignment)
{
    if (size > SIZE_MAX / 4 || alignment > SIZE_MAX / 4)
        return NULL;
    bump_chunk *last = NULL;
    for (bump_chunk *c = bump->large_current;; last = c, c = c->next) {
        if (!c) {
            size_t need = BUMP_CHUNK_HEADER + size + BUMP_REDZONE + alignment;
            c = chunk_add(bump, &bump->large, last, need > BUMP_LARGE_CHUNK ? need : BUMP_LARGE_CHUNK,
                          BUMP_KIND_LARGE);
            if (!c)
                return NULL;
        }
        uintptr_t p = ((uintptr_t)c->top + alignment - 1) & ~(uintptr_t)(alignment - 1);
        if (p >= (uintptr_t)c->top && p <= (uintptr_t)c->end && (uintptr_t)c->end - p >= size + BUMP_REDZONE) {
            bump->large_current = c;
            c->top = (char *)p + size + BUMP_REDZONE;
            bump->last = (void *)p;
            return (void *)p;
        }
    }
}

static void *bump_alloc(warden_bump *bump, size_t size, size_t alignment, const char *op)
{
    bump_verify(bump, op);
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    int k = bin_of(size, alignment);
    spinlock_acquire(&bump->lock);
    void *p = k >= 0 ? bin_alloc(bump, k)
                     : bump_alloc_large(bump, size ? size : 1, alignment < 16 ? 16 : alignment);
    if (p)
        san_chunk_alloc(bump, p, size, 0);
    spinlock_release(&bump->lock);
    if (!p)
        errno = ENOMEM;
    return p;
}

void *warden_bump_alloc(warden_bump *bump, size_t size, size_t alignment)
{
    return bump_alloc(bump, size, alignment, "warden_bump_alloc");
}

void *warden_bump_alloc_zeroed(warden_bump *bump, size_t size, size_t alignment)
{
    void *p = bump_alloc(bump, size, alignment, "warden_bump_alloc_zeroed");
    if (p)
        memset(p, 0, size);
    return p;
}

/* ---- proving a pointer, free, realloc --------------------------------------------- */

/* The chunk of a live allocation of (size, alignment) at ptr; aborts with a
 * one-line report naming op when ptr is not one. Caller holds the lock. */
static bump_chunk *bump_prove(warden_bump *bump, const char *ptr, size_t size, size_t alignment,
                              const char *op)
{
    bump_chunk *c = pagemap_lookup(ptr);
    if (!c || c->arena != bump)
        report_fatal(op, ptr, "invalid free (not a pointer from this arena)");
    int k = bin_of(size, alignment);
    if (k < 0) {
        if (c->kind != BUMP_KIND_LARGE)
            report_fatal(op, ptr, "invalid free (size %zu is a bump allocation, the pointer lies in the %u-byte bin)",
                         size, c->slot_size);
        if (ptr < c->start || ptr >= c->top)
            report_fatal(op, ptr, "invalid free (not inside an allocation of the bump space)");
        return c;
    }
    if (c->kind == BUMP_KIND_LARGE)
        report_fatal(op, ptr, "invalid free (size %zu belongs to the %zu-byte bin, the pointer lies in the bump space)",
                     size, slot_size_of(k));
    if (c->kind != (uint32_t)k)
        report_fatal(op, ptr, "invalid free (size %zu belongs to the %zu-byte bin, the pointer lies in the %u-byte bin)",
                     size, slot_size_of(k), c->slot_size);
    if (ptr < c->start || (size_t)(ptr - c->start) % c->slot_size != 0)
        report_fatal(op, ptr, "invalid free (not the start of a %u-byte slot)", c->slot_size);
    if (ptr >= c->top)
        report_fatal(op, ptr, "invalid free (a %u-byte slot never handed out)", c->slot_size);
    if (!chunk_is_live(c, ptr))
        report_fatal(op, ptr, "double free");
    return c;
}

static void bin_free(warden_bump *bump, bump_chunk *c, char *slot)
{
    bump_bin *bin = &bump->bins[c->kind];
    chunk_mark(c, slot, 0);
    bump_link_store(slot, bin->free);
    bin->free = slot;
    bin->free_count++;
    bin->live--;
}

void warden_bump_free(warden_bump *bump, void *ptr, size_t size, size_t alignment)
{
    if (!ptr)
        return;
    bump_verify(bump, "warden_bump_free");
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        report_fatal("warden_bump_free", ptr, "invalid free (alignment %zu is not a power of two)", alignment);
    spinlock_acquire(&bump->lock);
    bump_chunk *c = bump_prove(bump, ptr, size, alignment, "warden_bump_free");
    if (!FAULT(skip_poison))
        san_chunk_free(bump, ptr, c->kind == BUMP_KIND_LARGE ? size + BUMP_REDZONE : c->slot_size);
    if (c->kind != BUMP_KIND_LARGE)
        bin_free(bump, c, ptr);
    spinlock_release(&bump->lock);
}

/*
 * realloc, case by case:
 *   1. ptr NULL                                   -> a fresh allocation
 *   2. ptr not a live allocation of old_size      -> abort
 *   3. old and new size in the same bin           -> the same slot
 *   4. the most recent bump allocation, new size
 *      also bump-sized and room in its chunk      -> grows or shrinks in place
 *   5. otherwise                                  -> allocate, copy, free the old
 */
void *warden_bump_realloc(warden_bump *bump, void *ptr, size_t old_size, size_t new_size,
                          size_t alignment)
{
    const char *op = "warden_bump_realloc";
    if (!ptr)
        return bump_alloc(bump, new_size, alignment, op);
    bump_verify(bump, op);
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    int from = bin_of(old_size, alignment), to = bin_of(new_size, alignment);
    spinlock_acquire(&bump->lock);
    bump_chunk *c = bump_prove(bump, ptr, old_size, alignment, op);
    int in_place = from >= 0 && from == to;
    size_t room = in_place ? c->slot_size : 0;
    if (from < 0 && to < 0 && ptr == bump->last && c == bump->large_current && new_size < SIZE_MAX / 4 &&
        new_size + BUMP_REDZONE <= (size_t)(c->end - (char *)ptr)) {
        c->top = (char *)ptr + (new_size ? new_size : 1) + BUMP_REDZONE;
        room = (old_size > new_size ? old_size : new_size) + BUMP_REDZONE;
        in_place = 1;
    }
    if (in_place)
        san_chunk_resize(bump, ptr, old_size, new_size, room);
    (void)room; /* read by the sanitizer hooks only */
    spinlock_release(&bump->lock);
    if (in_place)
        return ptr;
    void *fresh = bump_alloc(bump, new_size, alignment, op);
    if (!fresh)
        return NULL;
    memcpy(fresh, ptr, old_size < new_size ? old_size : new_size);
    warden_bump_free(bump, ptr, old_size, alignment);
    return fresh;
}

/* ---- statistics -------------------------------------------------------------------- */

void warden_bump_get_stats(warden_bump *bump, warden_bump_stats *stats)
{
    bump_verify(bump, "warden_bump_get_stats");
    *stats = (warden_bump_stats){0};
    spinlock_acquire(&bump->lock);
    for (int k = 0; k < BUMP_BINS; k++) {
        stats->small_live += bump->bins[k].live;
        for (const bump_chunk *c = bump->bins[k].chunks; c; c = c->next)
            stats->mapped_bytes += c->size;
    }
    for (const bump_chunk *c = bump->large; c; c = c->next) {
        stats->mapped_bytes += c->size;
        stats->bump_used += (size_t)(c->top - c->start);
    }
    spinlock_release(&bump->lock);
}
