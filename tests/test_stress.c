/* test_stress.c — random operations over several heap configurations with
 * warden_heap_check after every one, against a shadow model of every live
 * block (address, size, fill byte): no overlap, alignment, usable size at
 * least the request, contents intact and preserved by realloc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { SLOTS = 96 };

/* Operations per run: WARDEN_STRESS_OPS, default 6000 (CI lowers it under Valgrind). */
static int ops(void)
{
    const char *env = getenv("WARDEN_STRESS_OPS");
    int n = env ? atoi(env) : 0;
    return n > 0 ? n : 6000;
}

typedef struct slot {
    unsigned char *p; /* NULL: empty */
    size_t size;
    size_t align;
    unsigned char fill;
} slot;

typedef struct model {
    warden_heap *heap;
    slot s[SLOTS];
    rng r;
} model;

static void verify_contents(const slot *sl)
{
    for (size_t i = 0; i < sl->size; i++)
        require(sl->p[i] == sl->fill, "block %p byte %zu is %d, expected %d", (void *)sl->p, i,
                      sl->p[i], sl->fill);
}

static void verify_new(model *m, int k)
{
    slot *sl = &m->s[k];
    require(sl->p != NULL, "allocation of %zu bytes failed", sl->size);
    require((uintptr_t)sl->p % (sl->align > 16 ? sl->align : 16) == 0, "%p misaligned for %zu",
                  (void *)sl->p, sl->align);
    require(warden_heap_usable_size(m->heap, sl->p) >= sl->size, "usable size below %zu", sl->size);
    size_t end = (size_t)sl->p + warden_heap_usable_size(m->heap, sl->p);
    for (int j = 0; j < SLOTS; j++) {
        const slot *o = &m->s[j];
        if (j == k || !o->p)
            continue;
        size_t o_end = (size_t)o->p + warden_heap_usable_size(m->heap, o->p);
        require(end <= (size_t)o->p || o_end <= (size_t)sl->p, "blocks %p and %p overlap",
                      (void *)sl->p, (void *)o->p);
    }
}

static size_t pick_size(rng *r)
{
    switch (rng_below(r, 8)) {
    case 0: return rng_below(r, 17);
    case 1: case 2: case 3: return rng_below(r, 160);
    case 4: case 5: return rng_below(r, 2000);
    case 6: return rng_below(r, 12000);
    default: return rng_below(r, 400000);
    }
}

static void one_op(model *m)
{
    int k = (int)rng_below(&m->r, SLOTS);
    slot *sl = &m->s[k];
    unsigned op = (unsigned)rng_below(&m->r, 10);
    if (!sl->p) {
        sl->size = pick_size(&m->r);
        sl->align = 0;
        sl->fill = (unsigned char)rng_next(&m->r);
        if (op < 6) {
            sl->p = warden_heap_alloc(m->heap, sl->size);
        } else if (op < 8) {
            sl->align = (size_t)1 << rng_below(&m->r, 17);
            sl->p = warden_heap_alloc_aligned(m->heap, sl->size, sl->align);
        } else {
            sl->p = warden_heap_calloc(m->heap, 1, sl->size);
            require(sl->p != NULL, "calloc(1, %zu) failed", sl->size);
            for (size_t i = 0; i < sl->size; i++)
                require(sl->p[i] == 0, "calloc'd byte %zu is %d", i, sl->p[i]);
        }
        verify_new(m, k);
        memset(sl->p, sl->fill, sl->size);
        return;
    }
    verify_contents(sl);
    if (op < 5) {
        warden_heap_free(m->heap, sl->p);
        sl->p = NULL;
        return;
    }
    size_t new_size = op < 8 ? sl->size + pick_size(&m->r) : rng_below(&m->r, sl->size + 1);
    unsigned char *q = warden_heap_realloc(m->heap, sl->p, new_size);
    sl->p = q;
    sl->size = new_size < sl->size ? new_size : sl->size;
    sl->align = 0;
    verify_contents(sl); /* the kept prefix survived */
    sl->size = new_size;
    verify_new(m, k);
    memset(sl->p, sl->fill, sl->size);
}

static void stress(const warden_heap_config *config, uint64_t seed)
{
    model m = {.heap = warden_heap_create(config), .r = {seed}};
    ck_assert_ptr_nonnull(m.heap);
    char why[512];
    for (int i = 0, n = ops(); i < n; i++) {
        one_op(&m);
        require(warden_heap_check(m.heap, why, sizeof why) == 0, "after operation %d: %s", i, why);
    }
    for (int k = 0; k < SLOTS; k++)
        if (m.s[k].p) {
            verify_contents(&m.s[k]);
            warden_heap_free(m.heap, m.s[k].p);
        }
    expect_heap(m.heap, -1, 0, -1);
    warden_heap_stats s;
    warden_heap_get_stats(m.heap, &s);
    if (s.quarantine_blocks == 0) /* all coalesced: one free block per kept region */
        ck_assert_uint_le(s.free_blocks, s.regions);
    warden_heap_destroy(m.heap);
}

static const size_t one_bucket[] = {16};
static const size_t many_buckets[] = {16, 32, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072};
static const size_t wide_buckets[] = {4000, 100000};

static const warden_heap_config configs[] = {
    {.flags = WARDEN_HEAP_NO_QUARANTINE},
    {.region_size = 64 << 10, .flags = WARDEN_HEAP_NO_QUARANTINE},
    {.bucket_limits = one_bucket, .bucket_count = 1, .region_size = 64 << 10, .flags = WARDEN_HEAP_NO_QUARANTINE},
    {.bucket_limits = many_buckets, .bucket_count = 16, .flags = WARDEN_HEAP_NO_LOCK | WARDEN_HEAP_NO_QUARANTINE},
    {.bucket_limits = wide_buckets, .bucket_count = 2, .region_size = 1 << 20, .flags = WARDEN_HEAP_NO_QUARANTINE},
    {.quarantine_bytes = 64 << 10}, /* freed blocks held back, oldest out first */
};

START_TEST(test_random_operations)
{
    stress(&configs[_i], 0x5eed0000u + (uint64_t)_i);
}
END_TEST

START_TEST(test_random_operations_second_seed)
{
    stress(&configs[_i], 0xfacade00u + (uint64_t)_i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("stress");
    tcase_set_timeout(tc, 600);
    int n = (int)(sizeof configs / sizeof configs[0]);
    tcase_add_loop_test(tc, test_random_operations, 0, n);
    tcase_add_loop_test(tc, test_random_operations_second_seed, 0, n);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
