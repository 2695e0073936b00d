/* test_region.c — regions: sizes, the one free block and the fence they
 * start with, registration in the page map, a mapping the OS refuses. */
#include "region.h"
#include "platform.h"
#include "testutil.h"

START_TEST(test_size_for)
{
    ck_assert_uint_eq(region_size_for(2, 0), PLATFORM_CHUNK);
    ck_assert_uint_eq(region_size_for(2, 256 << 10), 256 << 10);
    /* one granule more than fits a chunk next to the header and fence */
    uint32_t fits = (uint32_t)((PLATFORM_CHUNK - REGION_HEADER - BLOCK_HEADER) / GRANULE);
    ck_assert_uint_eq(region_size_for(fits, 0), PLATFORM_CHUNK);
    ck_assert_uint_eq(region_size_for(fits + 1, 0), 2 * PLATFORM_CHUNK);
    ck_assert_uint_eq(region_size_for(UINT32_MAX, 0), 0);
}
END_TEST

START_TEST(test_map_writes_block_and_fence)
{
    integrity_init();
    int owner;
    size_t size = region_size_for(100, 0);
    region *r = region_map((struct bucket *)&owner, &owner, size);
    ck_assert_ptr_nonnull(r);
    ck_assert(region_is_sealed(r));
    block *first = region_first(r), *fence = region_fence(r);
    ck_assert(block_is_sealed(first));
    ck_assert(block_is_free(first));
    ck_assert_ptr_eq(block_next(first), fence);
    ck_assert(block_is_sealed(fence));
    ck_assert_uint_eq(block_size(fence), 0);
    ck_assert_uint_eq(block_prev_size(fence), block_size(first));
    ck_assert_ptr_eq(region_of(block_payload(first)), r);
    ck_assert_ptr_eq(region_of((char *)r + size - 1), r);
    region_unmap(r);
    ck_assert_ptr_null(region_of((char *)r + 100));
}
END_TEST

/* A mapping the OS refuses: no region, and the next one is made. */
START_TEST(test_map_refused)
{
    integrity_init();
    int owner;
    size_t size = region_size_for(100, 0);
    platform_refuse_maps_after(0);
    region *r = region_map((struct bucket *)&owner, &owner, size);
    platform_refuse_maps_after(-1); /* before any assert: a failing one must not leave it set */
    ck_assert_ptr_null(r);
    r = region_map((struct bucket *)&owner, &owner, size);
    ck_assert_ptr_nonnull(r);
    ck_assert(region_is_sealed(r));
    ck_assert_ptr_eq(region_of(region_first(r)), r);
    region_unmap(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("region");
    TCase *tc = tcase_create("region");
    tcase_add_test(tc, test_size_for);
    tcase_add_test(tc, test_map_writes_block_and_fence);
    tcase_add_test(tc, test_map_refused);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
