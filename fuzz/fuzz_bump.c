/* fuzz_bump.c — fuzzes warden_bump_*: each 4-byte operation allocates,
 * allocates zeroed, aligns, reallocs, frees or resets, and after every one
 * warden_bump_check and the shadow model must both pass. The header's first
 * byte's bit 0 lets reset happen (op 5); the rest is reserved.
 *
 * Ops: 0 alloc  1 alloc zeroed  2 aligned alloc  3 realloc  4 free
 *      5 reset (every slot dropped)  6 nothing (alignment bits 0..7, 12..15),
 *        or a probe chosen by the alignment bits, on the op's slot, its
 *        kind and variant (an offset, a bit, an alignment) by the size:
 *          8  the checker checked: one piece of metadata damaged, which
 *             warden_bump_check must report in its words, then put back
 *             (kind size % 21, variant size / 21: damage() below)
 *          9  a death probe: misuse that must stop the program with its
 *             message, in a forked child, once per process (kind size % 12,
 *             variant size / 12: misuse_run() below; harness ids 20..31)
 *          10 refusals: bad alignments (EINVAL) and impossible sizes
 *             (ENOMEM) leave the arena and the slot as they were; free and
 *             destroy of NULL do nothing; realloc of NULL fills an empty slot
 *          11 the 128-byte bin filled past a chunk (a second one mapped),
 *             proved with every slot live, then emptied: its free list then
 *             spans chunks (once per process: the long list is slow to check)
 *      7 free + alloc again */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <warden.h>

#include "bump.h"
#include "harness.h"
#include "mapcache.h"
#include "pagemap.h"

static void check(warden_bump *bump, shadow *m, const char *after)
{
    char why[256];
    harness_require_check(warden_bump_check(bump, why, sizeof why), why, after);
    shadow_verify_all(m);
}

static void release(void *ctx, shadow *m, unsigned s)
{
    warden_bump *bump = ctx;
    shadow_slot *sl = &m->slot[s];
    shadow_verify_contents(m, s, "before free");
    warden_bump_free(bump, sl->p, sl->size, sl->align);
    sl->p = NULL;
}

/* ---- the checker checked ----------------------------------------------------------- */

/* One stray write into metadata warden_bump_check proves; returns the words
 * its report must hold, or NULL when the kind does not apply (the damage
 * then is not made). c is the chunk of the slot at p (p NULL: the bump
 * pointer's chunk).
 *   chunk, any:  0 owner  1 kind  2 size  3 end  4 size and end together (the
 *                page map then disagrees)  5 top past the end or below the start
 *   bin chunk:   6 slot size or start  7 top off a slot boundary  8 a used bit
 *                past the top
 *   its bin:     9 live count, or the slot's used bit  10 free count
 *                11 current chunk  12 free-list head: the live slot
 *                13 head: inside a slot, or the first never handed out
 *                14 head: the arena (bump space)  15 the head's link: itself
 *                (a cycle) or the live slot, when the list is not empty
 *   arena:       16 the bump pointer's chunk  17 the last bump allocation
 *   lists:       18 a chunk list that comes round (bin or bump space)
 *                19 a bump chunk's start moved down  20 the bump space
 *                headed by another chunk than the arena's */
/* Kinds 0..8: the chunk's header (6..8 a bin chunk's). */
static const char *damage_chunk(bump_chunk *c, warden_bump *bump, unsigned kind, size_t v)
{
    size_t slot = c->slot_size;
    switch (kind) {
    case 0: c->arena = (warden_bump *)((char *)bump + 16 * (1 + v % 4)); return "owner or kind overwritten";
    case 1: c->kind ^= 1u + v % 3u; return "owner or kind overwritten";
    case 2: c->size ^= (size_t)1 << (v % 24); return "or end";
    case 3: c->end = (char *)((uintptr_t)c->end ^ (uintptr_t)1 << (v % 24)); return "or end";
    case 4: c->size += PLATFORM_CHUNK; c->end += PLATFORM_CHUNK; return "page map entry";
    case 5: c->top = v & 1 ? c->end + 16 : c->start - 16; return "outside";
    case 6:
        if (v & 1)
            c->start += slot; /* still <= top: the slot at p was handed out */
        else
            c->slot_size ^= 1u << (v % 8);
        return "shape overwritten";
    case 7: { /* a live slot: top > start, so stepping back stays in the chunk */
        size_t d = 1 + v % (slot - 1);
        c->top = c->top + d <= c->end ? c->top + d : c->top - d;
        return "not on a slot boundary";
    }
    default: {
        size_t handed = (size_t)(c->top - c->start) / slot;
        if (handed >= BUMP_BITMAP_WORDS * 64)
            return NULL;
        c->used[handed / 64] |= (uint64_t)1 << (handed % 64);
        return "live past the top";
    }
    }
}

/* Kinds 9..15: the bin of the chunk, whose slot at p is live. */
static const char *damage_bin(bump_bin *bin, bump_chunk *c, warden_bump *bump, char *p, unsigned kind, size_t v)
{
    size_t slot = c->slot_size;
    switch (kind) {
    case 9:
        if (v & 1) {
            size_t i = (size_t)(p - c->start) / slot;
            c->used[i / 64] &= ~((uint64_t)1 << (i % 64));
        } else {
            bin->live += v & 2 ? 1 : (size_t)-1; /* >= 1: the slot at p is live */
        }
        return "live slots counted";
    case 10: bin->free_count += bin->free_count && (v & 1) ? (size_t)-1 : 1; return "free list holds";
    case 11: bin->current = bump->large; return "current chunk";
    case 12: bin->free = p; return "is live or listed twice";
    case 13: bin->free = v & 1 && c->top < c->end ? c->top : p + 1 + v % (slot - 1);
        return "not a slot handed out";
    case 14: bin->free = (char *)bump; return "not in a chunk of this bin";
    default:
        if (!bin->free)
            return NULL;
        bump_link_store(bin->free, v & 1 ? bin->free : p);
        return "is live or listed twice";
    }
}

/* Kinds 16..20: the arena's bump pointer, and the chunk lists. */
static const char *damage_lists(warden_bump *bump, bump_chunk *c, unsigned kind, size_t v)
{
    int in_bin = c->kind != BUMP_KIND_LARGE;
    switch (kind) {
    case 16: bump->large_current = (bump_chunk *)((char *)bump->large_current + 16); return "bump pointer's chunk";
    case 17:
        bump->last = v & 1 ? bump->large_current->top : bump->large_current->start - 1;
        return "last bump allocation";
    case 18: /* a chunk list that comes round: to this chunk, or (bump space) to the first */
        c->next = in_bin || v & 1 ? c : bump->large;
        return "has a cycle";
    case 19:
        if (in_bin)
            return NULL;
        c->start -= v & 1 && c->start - 16 >= (char *)c + sizeof *c ? 16 : c->start - ((char *)c + sizeof *c);
        return "the allocator puts it at";
    default: /* the bump space headed by another chunk than the arena's */
        if (c == bump->large && !c->next)
            return NULL;
        bump->large = c == bump->large ? c->next : c;
        return "not at the chunk";
    }
}

static const char *damage(warden_bump *bump, bump_chunk *c, char *p, unsigned kind, size_t v)
{
    int in_bin = c->kind != BUMP_KIND_LARGE;
    if (kind >= 6 && kind <= 15 && !in_bin)
        return NULL;
    if (kind <= 8)
        return damage_chunk(c, bump, kind, v);
    if (kind <= 15)
        return damage_bin(&bump->bins[c->kind], c, bump, p, kind, v);
    return damage_lists(bump, c, kind, v);
}

/* Damages one piece of metadata (damage() above), requires the checker to
 * report it in its own words, and puts every byte back: the chunk's header
 * and the arena from copies, the free-list head's link through its codec. */
static void probe_checker(warden_bump *bump, const shadow_slot *sl, unsigned kind, size_t v)
{
    bump_chunk *c = sl->p ? pagemap_lookup(sl->p) : bump->large_current;
    bump_chunk chunk_was = *c;
    warden_bump bump_was = *bump;
    char *head = c->kind != BUMP_KIND_LARGE ? bump->bins[c->kind].free : NULL;
    void *link_was = head ? bump_link_load(head) : NULL;
    const char *want = damage(bump, c, (char *)sl->p, kind, v);
    if (!want)
        return;
    char why[256];
    int rc = warden_bump_check(bump, why, sizeof why);
    *c = chunk_was;
    *bump = bump_was;
    if (head)
        bump_link_store(head, link_was);
    if (rc == 0)
        harness_fail("damage %u (variant %zu) of chunk %p was not found by the bump check", kind, v, (void *)c);
    if (!strstr(why, want))
        harness_fail("damage %u (variant %zu) of chunk %p: the bump check said \"%s\", not \"%s\"", kind, v,
                     (void *)c, why, want);
}

/* ---- death probes -------------------------------------------------------------------- */

/* A misuse, run in the forked child (a copy of the arena: whatever it
 * frees or damages there leaves the parent's as it was). */
typedef struct misuse {
    warden_bump *bump;
    char *p;       /* the slot's allocation, or NULL */
    size_t size;   /* and what it was asked with */
    size_t align;
    bump_chunk *c; /* its chunk, or NULL */
    unsigned kind;
    size_t v;      /* the variant: offsets, alignments */
} misuse;

/* A size whose bin is not the chunk's (bins take size + redzone, alignment 1). */
static size_t other_bin_size(const bump_chunk *c)
{
    return c->slot_size == BUMP_MAX_SLOT ? 1 : BUMP_MAX_SLOT - BUMP_REDZONE;
}

static void misuse_run(void *ctx)
{
    const misuse *u = ctx;
    warden_bump *bump = u->bump;
    char local[64];
    switch (u->kind) {
    case 0: warden_bump_free(bump, local, 16, 8); break;
    case 1: warden_bump_free(bump, u->p ? u->p : local, u->size, u->v & 1 ? 0 : (size_t)3 << (u->v % 8)); break;
    case 2: bump->seal ^= 1; warden_bump_alloc(bump, 8, 8); break;
    case 3: case 11:
        warden_bump_free(bump, u->p, u->size, u->align);
        if (u->kind == 3)
            warden_bump_free(bump, u->p, u->size, u->align);
        else
            warden_bump_realloc(bump, u->p, u->size, u->size + 1, u->align);
        break;
    case 4: warden_bump_free(bump, u->p + 1 + u->v % (u->c->slot_size - 1), u->size, u->align); break;
    case 5: warden_bump_free(bump, bump, 4096, 16); break; /* the handle: below the first allocation */
    case 6: warden_bump_free(bump, u->c->top, u->size, u->align); break;
    case 7: warden_bump_free(bump, u->p, other_bin_size(u->c), 1); break;
    case 8: warden_bump_free(bump, u->p ? u->p : bump->large->start, 8, 8); break;
    case 9: warden_bump_free(bump, u->p, 1000, 8); break;
    case 10: /* a write after free: the link of the free list's head turned into a stack address */
        warden_bump_free(bump, u->p, u->size, u->align);
        bump_link_store(u->p, local);
        warden_bump_alloc(bump, u->size, u->align);
        break;
    }
}

/* What the child must die saying, written into want; 0 when the slot does
 * not fit the kind (no fork then: the probe waits for an input that fits).
 * Kinds 3, 4, 6, 7, 9, 10, 11 need a bin slot; 8 takes a bump one, or any
 * bump-space address. */
static int misuse_want(const misuse *u, char *want, size_t n)
{
    int in_bin = u->c && u->c->kind != BUMP_KIND_LARGE;
    static const char *const fixed[] = {
        "invalid free (not a pointer from this arena)", "is not a power of two",
        "invalid arena (not a live warden_bump)", "double free", "invalid free (not the start of a",
        "invalid free (not inside an allocation of the bump space)", "slot never handed out", NULL,
        "the pointer lies in the bump space", NULL, "heap corruption (free slot overwritten after free)",
        "double free"};
    switch (u->kind) {
    case 3: case 4: case 9: case 10: case 11:
        if (!in_bin)
            return 0;
        break;
    case 6:
        if (!in_bin || u->c->top >= u->c->end)
            return 0;
        break;
    case 7:
        if (!in_bin)
            return 0;
        snprintf(want, n, "belongs to the %zu-byte bin, the pointer lies in the %u-byte bin",
                 u->c->slot_size == BUMP_MAX_SLOT ? (size_t)16 << (BUMP_REDZONE ? 1 : 0) : BUMP_MAX_SLOT,
                 u->c->slot_size);
        return 1;
    case 8:
        if (in_bin)
            return 0;
        break;
    }
    if (u->kind == 9) {
        snprintf(want, n, "size 1000 is a bump allocation, the pointer lies in the %u-byte bin", u->c->slot_size);
        return 1;
    }
    snprintf(want, n, "%s", fixed[u->kind]);
    return 1;
}

static void probe_death(warden_bump *bump, const shadow_slot *sl, unsigned kind, size_t v)
{
    misuse u = {bump, (char *)sl->p, sl->size, sl->align, sl->p ? pagemap_lookup(sl->p) : NULL, kind, v};
    char want[160];
    if (misuse_want(&u, want, sizeof want))
        harness_expect_death(20 + kind, misuse_run, &u, want);
}

/* ---- refusals ------------------------------------------------------------------------- */

/* Requests the arena must refuse, each leaving it as it was; then the
 * empty-pointer edges of free, destroy and realloc. */
static void probe_refusals(warden_bump *bump, shadow *m, const op *o)
{
    shadow_slot *sl = &m->slot[o->slot];
    size_t bad = o->size & 1 ? 0 : (size_t)3 << (o->size / 2 % 8); /* never a power of two */
    errno = 0;
    harness_require_refused(warden_bump_alloc(bump, o->size, bad), EINVAL, "alloc with a bad alignment");
    errno = 0;
    harness_require_refused(warden_bump_alloc_zeroed(bump, o->size, bad), EINVAL, "alloc_zeroed with a bad alignment");
    errno = 0;
    harness_require_refused(warden_bump_alloc(bump, SIZE_MAX / 2, 16), ENOMEM, "alloc of SIZE_MAX / 2 bytes");
    errno = 0;
    harness_require_refused(warden_bump_alloc(bump, 200, (size_t)1 << (sizeof(size_t) * 8 - 2)), ENOMEM,
                    "alloc at an alignment of a quarter of the address space");
    warden_bump_free(bump, NULL, o->size, bad); /* NULL: nothing to prove, alignment unread */
    warden_bump_destroy(NULL);
    if (!sl->p) {
        void *p = warden_bump_realloc(bump, NULL, 0, o->size, 8);
        if (!p)
            harness_fail("realloc(NULL, %zu) failed", o->size);
        shadow_put(m, o->slot, p, o->size, 8, o->fill);
        return;
    }
    errno = 0;
    harness_require_refused(warden_bump_realloc(bump, sl->p, sl->size, o->size, bad), EINVAL, "realloc with a bad alignment");
    errno = 0;
    harness_require_refused(warden_bump_realloc(bump, sl->p, sl->size, SIZE_MAX / 2, sl->align), ENOMEM,
                    "realloc to SIZE_MAX / 2 bytes");
    shadow_verify_contents(m, o->slot, "after a refused realloc");
}

/* ---- a bin of more than one chunk ----------------------------------------------------- */

/* No op stream fills a chunk (at most HARNESS_SLOTS slots are live, and
 * free slots are reused first), so this takes one chunk's worth plus one
 * of 128-byte slots, which must come from more than one chunk; the arena
 * is proved with all of them live, then they are freed. Once per process:
 * every check after it walks a free list of some 500 slots, which would
 * halve the executions per second if inputs could ask for it freely. */
static void probe_fill(warden_bump *bump)
{
    static int done;
    if (done)
        return;
    done = 1;
    enum { PER_CHUNK = (PLATFORM_CHUNK - BUMP_CHUNK_HEADER) / BUMP_MAX_SLOT };
    static void *taken[PER_CHUNK + 1];
    const size_t size = BUMP_MAX_SLOT - BUMP_REDZONE; /* the last bin, redzone included */
    warden_bump_stats before, during;
    warden_bump_get_stats(bump, &before);
    size_t chunks = 0;
    for (size_t i = 0; i < PER_CHUNK + 1; i++) {
        if (!(taken[i] = warden_bump_alloc(bump, size, 8)))
            harness_fail("fill: allocation %zu of %zu bytes failed", i, size);
        chunks += i == 0 || pagemap_lookup(taken[i]) != pagemap_lookup(taken[i - 1]);
    }
    char why[256];
    harness_require_check(warden_bump_check(bump, why, sizeof why), why, "filling the 128-byte bin");
    warden_bump_get_stats(bump, &during);
    if (chunks < 2 || during.small_live != before.small_live + PER_CHUNK + 1)
        harness_fail("fill: %d slots from %zu chunk(s), %zu small objects live (%zu before)", PER_CHUNK + 1, chunks,
                     during.small_live, before.small_live);
    for (size_t i = 0; i < PER_CHUNK + 1; i++)
        warden_bump_free(bump, taken[i], size, 8);
}

static void probe(warden_bump *bump, shadow *m, const op *o)
{
    const shadow_slot *sl = &m->slot[o->slot];
    if (o->align_log == 8)
        probe_checker(bump, sl, (unsigned)(o->size % 21), o->size / 21);
    else if (o->align_log == 9)
        probe_death(bump, sl, (unsigned)(o->size % 12), o->size / 12);
    else if (o->align_log == 10)
        probe_refusals(bump, m, o);
    else if (o->align_log == 11)
        probe_fill(bump);
    /* else: nothing */
}

/* ---- operations ----------------------------------------------------------------------- */

static void run_op(warden_bump *bump, shadow *m, const op *o, int resets)
{
    shadow_slot *sl = &m->slot[o->slot];
    size_t align = (size_t)1 << (o->align_log % 13);
    if (o->code == 7 && sl->p)
        release(bump, m, o->slot);
    if (!sl->p && (o->code <= 3 || o->code == 7)) {
        void *p = o->code == 1 ? warden_bump_alloc_zeroed(bump, o->size, align)
                               : warden_bump_alloc(bump, o->size, o->code == 2 ? align : 8);
        if (!p)
            harness_fail("allocation of %zu bytes failed", o->size);
        size_t bad;
        if (o->code == 1 && !sample_holds(p, o->size, 0, &bad))
            harness_fail("alloc_zeroed(%zu) byte %zu is not zero", o->size, bad);
        shadow_put(m, o->slot, p, o->size, o->code == 1 || o->code == 2 ? align : 8, o->fill);
        return;
    }
    if (o->code == 6) {
        probe(bump, m, o);
        return;
    }
    if (o->code == 5 && resets) {
        warden_bump_reset(bump);
        memset(m->slot, 0, sizeof m->slot);
        warden_bump_stats st;
        warden_bump_get_stats(bump, &st);
        if (st.small_live != 0 || st.bump_used != 0)
            harness_fail("after reset: %zu small objects live, %zu bump bytes used", st.small_live, st.bump_used);
        return;
    }
    if (!sl->p)
        return;
    if (o->code == 3) {
        shadow_verify_contents(m, o->slot, "before realloc");
        void *p = warden_bump_realloc(bump, sl->p, sl->size, o->size, sl->align);
        if (!p)
            harness_fail("realloc to %zu bytes failed", o->size);
        shadow_realloc(m, o->slot, p, o->size);
    } else if (o->code == 4) {
        release(bump, m, o->slot);
    }
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int cached;
    if (!cached) { /* every input maps and returns the same few chunks: keep them, resident */
        mapcache_setup((size_t)256 << 20, 1);
        cached = 1;
    }
    if (size <= HARNESS_HEADER)
        return 0;
    warden_bump *bump = warden_bump_create();
    if (!bump)
        harness_fail("warden_bump_create failed");
    shadow m = {0};
    input in = {data + HARNESS_HEADER, data + size, 0};
    op o;
    int resets = data[0] & 1 ? 1 : 0; /* half the inputs never reset: long-lived arenas */
    static const char *names[] = {"alloc", "alloc zeroed", "aligned alloc", "realloc", "free", "reset",
                                  "stats", "free+alloc"};
    while (input_next_op(&in, &o)) {
        run_op(bump, &m, &o, resets);
        check(bump, &m, names[o.code]);
    }
    shadow_release_all(&m, release, bump);
    check(bump, &m, "the final frees");
    warden_bump_stats st;
    warden_bump_get_stats(bump, &st);
    if (st.small_live != 0)
        harness_fail("after freeing everything: %zu small objects still live", st.small_live);
    warden_bump_reset(bump);
    check(bump, &m, "the final reset");
    warden_bump_destroy(bump);
    return 0;
}
