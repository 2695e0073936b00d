/* bump_check.c — warden_bump_check: proves every chunk (each chunk list
 * cycle-free, the bump space's headed by the chunk holding the arena),
 * every bin's free list (inside its chunks, on a slot boundary, below the
 * top, not live, listed once, no cycle) and the bump pointer. Counts,
 * never aborts. */
#include <stdarg.h>

#include "bump.h"
#include "compiler.h"
#include "pagemap.h"
#include "report.h"

typedef struct bump_checker {
    char *why;
    size_t why_size;
} bump_checker;

WARDEN_PRINTF(2, 3) static int bump_fail(bump_checker *c, const char *fmt, ...)
{
    if (c->why && c->why_size) {
        va_list ap;
        va_start(ap, fmt);
        report_vformat(c->why, c->why_size, fmt, ap);
        va_end(ap);
    }
    return 1;
}

static int check_chunk(bump_checker *ck, const warden_bump *bump, const bump_chunk *c, uint32_t kind)
{
    if (c->arena != bump || c->kind != kind)
        return bump_fail(ck, "chunk %p: owner or kind overwritten", (void *)c);
    if (c->size % PLATFORM_CHUNK != 0 || c->end != (const char *)c + c->size)
        return bump_fail(ck, "chunk %p: size %zu or end %p wrong", (void *)c, c->size, (void *)c->end);
    if (!(c->start <= c->top && c->top <= c->end))
        return bump_fail(ck, "chunk %p: bump pointer %p outside [%p, %p]", (void *)c, (void *)c->top,
                    (void *)c->start, (void *)c->end);
    for (size_t off = 0; off < c->size; off += PLATFORM_CHUNK)
        if (pagemap_lookup((const char *)c + off) != c)
            return bump_fail(ck, "chunk %p: page map entry at +%zu does not name it", (void *)c, off);
    return 0;
}

/*
 * A chunk list walked with Brent's cycle finding: a mark is left on the
 * chunk reached after 1, 2, 4, 8 ... steps, and a list that comes round to
 * its mark again is a cycle. Nothing records how many chunks a list may
 * hold, and a mark costs one compare a step, so the walk stays as cheap as
 * it was; a cycle shows within three times the chunks before it repeats.
 */
typedef struct chunk_walk {
    const bump_chunk *mark; /* the chunk a cycle comes round to */
    size_t steps, leap;     /* steps since the mark was left; when the next one is */
} chunk_walk;

#define CHUNK_WALK_INIT {NULL, 0, 1}

/* Steps past c, which the caller proved; returns nonzero when c has been
 * reached before (the list is a cycle). */
static int chunk_walk_loops(chunk_walk *w, const bump_chunk *c)
{
    if (c == w->mark)
        return 1;
    if (++w->steps == w->leap) {
        w->mark = c;
        w->steps = 0;
        w->leap *= 2;
    }
    return 0;
}

static int popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static int check_bin_chunk(bump_checker *ck, const bump_chunk *c, int k, size_t *live)
{
    size_t slot = (size_t)16 << k;
    if (c->size != PLATFORM_CHUNK || c->slot_size != slot || c->start != bump_chunk_space(c))
        return bump_fail(ck, "bin %zu chunk %p: shape overwritten", slot, (void *)c);
    if ((size_t)(c->top - c->start) % slot != 0)
        return bump_fail(ck, "bin %zu chunk %p: top %p not on a slot boundary", slot, (void *)c, (void *)c->top);
    size_t handed = (size_t)(c->top - c->start) / slot;
    for (size_t w = 0; w < BUMP_BITMAP_WORDS; w++) {
        uint64_t bits = c->used[w];
        for (size_t i = w * 64; bits && i < (w + 1) * 64; i++)
            if (((bits >> (i % 64)) & 1) && i >= handed)
                return bump_fail(ck, "bin %zu chunk %p: slot %zu live past the top", slot, (void *)c, i);
        *live += (size_t)popcount64(bits);
    }
    return 0;
}

/* The free-list node at slot is proved; it is marked (used bit set) so a
 * second visit shows. Returns its chunk or NULL after bump_fail(). */
static bump_chunk *check_node(bump_checker *ck, const warden_bump *bump, char *slot, int k, int *rc)
{
    size_t size = (size_t)16 << k;
    bump_chunk *c = pagemap_lookup(slot);
    if (!c || c->arena != bump || c->kind != (uint32_t)k) {
        *rc = bump_fail(ck, "bin %zu: free-list node %p is not in a chunk of this bin", size, (void *)slot);
        return NULL;
    }
    if (slot < c->start || (size_t)(slot - c->start) % size != 0 || slot >= c->top) {
        *rc = bump_fail(ck, "bin %zu: free-list node %p is not a slot handed out from its chunk", size, (void *)slot);
        return NULL;
    }
    size_t i = (size_t)(slot - c->start) / size;
    if ((c->used[i / 64] >> (i % 64)) & 1) {
        *rc = bump_fail(ck, "bin %zu: free-list node %p is live or listed twice (cycle)", size, (void *)slot);
        return NULL;
    }
    c->used[i / 64] |= (uint64_t)1 << (i % 64);
    return c;
}

static void unmark_nodes(const warden_bump *bump, int k, size_t marked)
{
    size_t size = (size_t)16 << k;
    char *slot = bump->bins[k].free;
    for (; slot && marked; marked--) {
        bump_chunk *c = pagemap_lookup(slot);
        size_t i = (size_t)(slot - c->start) / size;
        c->used[i / 64] &= ~((uint64_t)1 << (i % 64));
        slot = bump_link_load(slot);
    }
}

static int check_bin(bump_checker *ck, const warden_bump *bump, int k)
{
    const bump_bin *bin = &bump->bins[k];
    size_t slot = (size_t)16 << k, live = 0;
    int current_listed = bin->current == NULL;
    chunk_walk walk = CHUNK_WALK_INIT;
    for (const bump_chunk *c = bin->chunks; c; c = c->next) {
        if (check_chunk(ck, bump, c, (uint32_t)k) || check_bin_chunk(ck, c, k, &live))
            return 1;
        if (chunk_walk_loops(&walk, c))
            return bump_fail(ck, "bin %zu: chunk list has a cycle (chunk %p comes round again)", slot, (void *)c);
        current_listed |= c == bin->current;
    }
    if (!current_listed)
        return bump_fail(ck, "bin %zu: current chunk %p is not one of its chunks", slot, (void *)bin->current);
    if (live != bin->live)
        return bump_fail(ck, "bin %zu: %zu live slots counted, the bitmaps hold %zu", slot, bin->live, live);
    int rc = 0;
    size_t marked = 0;
    for (char *node = bin->free; node && !rc; node = bump_link_load(node)) {
        if (!check_node(ck, bump, node, k, &rc))
            break;
        marked++;
    }
    unmark_nodes(bump, k, marked);
    if (!rc && marked != bin->free_count)
        rc = bump_fail(ck, "bin %zu: free list holds %zu slots, counted %zu", slot, marked, bin->free_count);
    return rc;
}

static int check_large(bump_checker *ck, const warden_bump *bump)
{
    /* Reset walks the list from its first chunk and destroy unmaps that
     * chunk last: it must be the one holding the arena. */
    if (bump->large != bump_arena_chunk(bump))
        return bump_fail(ck, "bump chunk list starts at %p, not at the chunk %p holding the arena",
                         (void *)bump->large, (const void *)bump_arena_chunk(bump));
    int current_listed = 0, last_found = bump->last == NULL;
    chunk_walk walk = CHUNK_WALK_INIT;
    for (const bump_chunk *c = bump->large; c; c = c->next) {
        if (check_chunk(ck, bump, c, BUMP_KIND_LARGE))
            return 1;
        if (c->start != bump_space_start(bump, c))
            return bump_fail(ck, "bump chunk %p: start %p, the allocator puts it at %p", (void *)c,
                             (void *)c->start, (const void *)bump_space_start(bump, c));
        if (chunk_walk_loops(&walk, c))
            return bump_fail(ck, "bump chunk list has a cycle (chunk %p comes round again)", (void *)c);
        current_listed |= c == bump->large_current;
        last_found |= (const char *)bump->last >= c->start && (const char *)bump->last < c->top &&
                      c == bump->large_current;
    }
    if (!current_listed)
        return bump_fail(ck, "bump pointer's chunk %p is not one of the arena's", (void *)bump->large_current);
    if (!last_found)
        return bump_fail(ck, "last bump allocation %p is not below the bump pointer", bump->last);
    return 0;
}

int warden_bump_check(warden_bump *bump, char *why, size_t why_size)
{
    bump_verify(bump, "warden_bump_check");
    bump_checker ck = {why, why_size};
    if (why && why_size)
        why[0] = '\0';
    spinlock_acquire(&bump->lock);
    int rc = check_large(&ck, bump);
    for (int k = 0; k < BUMP_BINS && !rc; k++)
        rc = check_bin(&ck, bump, k);
    spinlock_release(&bump->lock);
    return rc;
}
