/* test_pagemap.c — the address-to-region map: set, look up, clear,
 * addresses it cannot cover, and leaves the OS refuses. */
#include "pagemap.h"
#include "platform.h"
#include "testutil.h"

START_TEST(test_set_lookup_clear)
{
    char *m = platform_map(4 * PLATFORM_CHUNK);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(pagemap_lookup(m));
    int owner;
    ck_assert_int_eq(pagemap_set(m + PLATFORM_CHUNK, 2 * PLATFORM_CHUNK, &owner), 0);
    ck_assert_ptr_null(pagemap_lookup(m));
    ck_assert_ptr_null(pagemap_lookup(m + PLATFORM_CHUNK - 1));
    ck_assert_ptr_eq(pagemap_lookup(m + PLATFORM_CHUNK), &owner);
    ck_assert_ptr_eq(pagemap_lookup(m + 2 * PLATFORM_CHUNK + 77), &owner);
    ck_assert_ptr_eq(pagemap_lookup(m + 3 * PLATFORM_CHUNK - 1), &owner);
    ck_assert_ptr_null(pagemap_lookup(m + 3 * PLATFORM_CHUNK));
    pagemap_clear(m + PLATFORM_CHUNK, 0); /* nothing to clear */
    ck_assert_ptr_eq(pagemap_lookup(m + PLATFORM_CHUNK), &owner);
    pagemap_clear(m + PLATFORM_CHUNK, 2 * PLATFORM_CHUNK);
    ck_assert_ptr_null(pagemap_lookup(m + 2 * PLATFORM_CHUNK));
    platform_unmap(m, 4 * PLATFORM_CHUNK);
}
END_TEST

START_TEST(test_out_of_range)
{
    int owner;
    ck_assert_ptr_null(pagemap_lookup(NULL));
    ck_assert_int_eq(pagemap_set((void *)0x1000, 0, &owner), -1);
#if UINTPTR_MAX > 0xffffffffu
    void *high = (void *)((uintptr_t)1 << 60);
    ck_assert_int_eq(pagemap_set(high, PLATFORM_CHUNK, &owner), -1);
    ck_assert_ptr_null(pagemap_lookup(high));
    ck_assert_ptr_null(pagemap_lookup((void *)UINTPTR_MAX));
    pagemap_clear(high, PLATFORM_CHUNK); /* beyond the map: ignored, no leaf made */
    ck_assert_ptr_null(pagemap_lookup(high));
#endif
}
END_TEST

START_TEST(test_map_is_chunk_aligned)
{
    void *m[16];
    for (int i = 0; i < 16; i++) {
        m[i] = platform_map(PLATFORM_CHUNK * (size_t)(1 + i % 3));
        ck_assert_ptr_nonnull(m[i]);
        ck_assert_uint_eq((uintptr_t)m[i] % PLATFORM_CHUNK, 0);
    }
    for (int i = 0; i < 16; i++)
        platform_unmap(m[i], PLATFORM_CHUNK * (size_t)(1 + i % 3));
}
END_TEST

#if UINTPTR_MAX > 0xffffffffu
/* A mapping the host refuses (far beyond any address space) registers
 * nothing and says so. */
START_TEST(test_map_self_refused)
{
    ck_assert_ptr_null(pagemap_map_self((size_t)1 << 60));
}
END_TEST
#endif

/* ---- the OS refuses a leaf ------------------------------------------------------ */

#define ROOT_SLOTS (sizeof pagemap_root / sizeof pagemap_root[0])

#if UINTPTR_MAX > 0xffffffffu
/* A range across the edge of two leaves' windows, the first leaf made, the
 * second refused: nothing is set, in either. */
START_TEST(test_leaf_refused)
{
    size_t i = ROOT_SLOTS - 1; /* two windows no mapping of this process has used */
    while (i > 1 && (pagemap_root[i] || pagemap_root[i - 1]))
        i--;
    ck_assert_uint_gt(i, 1);
    char *edge = (char *)((uintptr_t)i << (PAGEMAP_LEAF_BITS + PAGEMAP_CHUNK_SHIFT));
    int owner, other;
    ck_assert_int_eq(pagemap_set(edge - PLATFORM_CHUNK, PLATFORM_CHUNK, &other), 0); /* leaf i - 1 */
    pagemap_clear(edge - PLATFORM_CHUNK, PLATFORM_CHUNK);
    ck_assert_ptr_nonnull(pagemap_root[i - 1]);
    platform_refuse_maps_after(0);
    int rc = pagemap_set(edge - PLATFORM_CHUNK, 2 * PLATFORM_CHUNK, &owner);
    platform_refuse_maps_after(-1); /* before any assert: a failing one must not leave it set */
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_null(pagemap_root[i]);
    ck_assert_ptr_null(pagemap_lookup(edge - PLATFORM_CHUNK));
    ck_assert_ptr_null(pagemap_lookup(edge));
    ck_assert_int_eq(pagemap_set(edge - PLATFORM_CHUNK, 2 * PLATFORM_CHUNK, &owner), 0); /* it grows now */
    ck_assert_ptr_nonnull(pagemap_root[i]);
    ck_assert_ptr_eq(pagemap_lookup(edge - 1), &owner);
    ck_assert_ptr_eq(pagemap_lookup(edge), &owner);
    pagemap_clear(edge - PLATFORM_CHUNK, 2 * PLATFORM_CHUNK);
    ck_assert_ptr_null(pagemap_lookup(edge));
}
END_TEST
#endif

static void **saved_root[ROOT_SLOTS];

/* The mapping granted, its leaf refused: pagemap_map_self gives the mapping
 * back and says NULL. Every leaf is hidden for the moment, so the leaf is
 * missing wherever the mapping lands; nothing else uses the map meanwhile. */
START_TEST(test_map_self_leaf_refused)
{
    memcpy(saved_root, pagemap_root, sizeof saved_root);
    memset(pagemap_root, 0, sizeof pagemap_root);
    platform_refuse_maps_after(1); /* the mapping, not its leaf */
    void *p = pagemap_map_self(PLATFORM_CHUNK);
    platform_refuse_maps_after(-1);
    memcpy(pagemap_root, saved_root, sizeof saved_root);
    ck_assert_ptr_null(p);
    p = pagemap_map_self(PLATFORM_CHUNK);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(pagemap_lookup(p), p);
    pagemap_unmap_self(p, PLATFORM_CHUNK);
    ck_assert_ptr_null(pagemap_lookup(p));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pagemap");
    TCase *tc = tcase_create("pagemap");
    tcase_add_test(tc, test_set_lookup_clear);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_map_is_chunk_aligned);
#if UINTPTR_MAX > 0xffffffffu
    tcase_add_test(tc, test_map_self_refused);
    tcase_add_test(tc, test_leaf_refused);
#endif
    tcase_add_test(tc, test_map_self_leaf_refused);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
