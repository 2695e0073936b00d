/* fuzz_bump.c — fuzzes warden_bump_*: each 4-byte operation allocates,
 * allocates zeroed, aligns, reallocs, frees or resets, and after every one
 * warden_bump_check and the shadow model must both pass. The header's first
 * byte picks how often reset may happen; the rest is reserved.
 *
 * Ops: 0 alloc  1 alloc zeroed  2 aligned alloc  3 realloc  4 free
 *      5 reset (every slot dropped)  6 stats  7 free + alloc again */
#include <string.h>

#include <warden.h>

#include "harness.h"
#include "mapcache.h"

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
