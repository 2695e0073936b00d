/* test_check.c — warden_heap_check can fail: each test breaks one invariant
 * of a correct heap by hand (through the internal headers), asserts that the
 * checker names it, then repairs the damage and asserts the checker passes
 * again (its scratch marks are cleaned up even when it fails). */
#include <string.h>

#include "bucket.h"
#include "heap.h"
#include "region.h"
#include "testutil.h"

static warden_heap *heap;
static char *p[6]; /* six live 64-byte requests in bucket 0: blocks of 80 bytes */

static void setup(void)
{
    heap = immediate_heap(NULL);
    for (int i = 0; i < 6; i++)
        p[i] = warden_heap_alloc(heap, 64);
    warden_heap_free(heap, p[1]);
    warden_heap_free(heap, p[3]); /* free: p[1], p[3] and the rest of the region */
    expect_heap(heap, 1, 4, 3);
}

static void teardown(void)
{
    warden_heap_destroy(heap);
}

static bucket *bucket0(void)
{
    return region_of(p[0])->owner;
}

static void expect_broken(const char *words)
{
    char why[256];
    ck_assert_int_ne(warden_heap_check(heap, why, sizeof why), 0);
    ck_assert_msg(strstr(why, words) != NULL, "checker said \"%s\", expected \"%s\"", why, words);
}

START_TEST(test_free_links_overwritten)
{
    block *b3 = block_of_payload(p[3]);
    block_links saved = block_links_load(b3);
    block_link_set_next(b3, (block *)(p[5] + 32)); /* somewhere inside a live block */
    expect_broken("free list");
    block_links_store(b3, saved);
    expect_heap(heap, 1, 4, 3);
}
END_TEST

START_TEST(test_free_prev_link_wrong)
{
    block *b1 = block_of_payload(p[1]), *b3 = block_of_payload(p[3]);
    /* same class: p[3] was freed last, so it is the head and p[1] follows */
    ck_assert_ptr_eq(block_link_next(b3), b1);
    block_link_set_prev(b1, NULL);
    expect_broken("prev link");
    block_link_set_prev(b1, b3);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_free_list_cycle)
{
    block *b1 = block_of_payload(p[1]);
    block *saved = block_link_next(b1);
    block_link_set_next(b1, block_of_payload(p[3])); /* back to the head */
    expect_broken("seen twice");
    block_link_set_next(b1, saved);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_free_block_dropped_from_list)
{
    bucket *b = bucket0();
    block *b3 = block_of_payload(p[3]);
    freelist_remove(&b->free, b3); /* still marked free, on no list */
    expect_broken("on no free list");
    freelist_push(&b->free, b3);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_list_node_is_stale_header)
{
    bucket *b = bucket0();
    /* a sealed free header inside p[5]'s payload: looks like a free block,
     * is not one of the tiling */
    block *fake = (block *)(p[5] + 16);
    block_write(fake, 2, 0, BLOCK_FREE);
    freelist_push(&b->free, fake);
    expect_broken("free lists hold 4 nodes, the regions 3 free blocks");
    freelist_remove(&b->free, fake);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_adjacent_free_blocks)
{
    bucket *b = bucket0();
    block *b2 = block_of_payload(p[2]); /* between free p[1] and free p[3] */
    block_set_flags(b2, BLOCK_FREE);
    freelist_push(&b->free, b2);
    b->live_blocks--;
    b->live_bytes -= block_usable(b2);
    expect_broken("adjacent free blocks");
    freelist_remove(&b->free, b2);
    block_set_flags(b2, 0);
    b->live_blocks++;
    b->live_bytes += block_usable(b2);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_header_overwritten)
{
    block *b4 = block_of_payload(p[4]);
    block_hdr saved = block_load(b4), bad = saved;
    bad.size_ ^= 0x4; /* the size field, seal left as it was */
    block_store(b4, bad);
    expect_broken("bad seal");
    block_store(b4, saved);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_boundary_tag_wrong)
{
    block *b4 = block_of_payload(p[4]);
    uint32_t saved = block_prev_size(b4);
    block_set_prev_size(b4, saved + 1); /* sealed, but disagrees with its neighbour */
    expect_broken("boundary tag");
    block_set_prev_size(b4, saved);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_tiling_broken)
{
    block *b4 = block_of_payload(p[4]);
    uint32_t saved = block_size(b4);
    block_set_size(b4, saved + 1); /* its end no longer meets the next header */
    expect_broken("bad seal");
    block_set_size(b4, 100000); /* past the region's end */
    expect_broken("tiling");
    block_set_size(b4, saved);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_fence_overwritten)
{
    region *r = region_of(p[0]);
    block *fence = region_fence(r);
    block_hdr saved = block_load(fence), bad = saved;
    bad.flags_ = BLOCK_FREE;
    block_store(fence, bad);
    expect_broken("fence");
    block_store(fence, saved);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_bitmap_disagrees)
{
    bucket *b = bucket0();
    unsigned cls = freelist_class(block_size(block_of_payload(p[1])));
    b->free.words[cls / 64] ^= (uint64_t)1 << (cls % 64);
    expect_broken("disagrees");
    b->free.words[cls / 64] ^= (uint64_t)1 << (cls % 64);
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_statistics_disagree)
{
    bucket *b = bucket0();
    b->live_bytes += 16;
    expect_broken("live counts");
    b->live_bytes -= 16;
    b->free.free_blocks++;
    expect_broken("free counts");
    b->free.free_blocks--;
    b->mapped_bytes += 4096;
    expect_broken("region counts");
    b->mapped_bytes -= 4096;
    b->empty_regions = 1;
    expect_broken("empty regions");
    b->empty_regions = 0;
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_region_links_and_seal)
{
    region *r = region_of(p[0]);
    r->prev = r;
    expect_broken("prev link");
    r->prev = NULL;
    r->size += PLATFORM_CHUNK; /* breaks the seal */
    expect_broken("bad seal or owner");
    r->size -= PLATFORM_CHUNK;
    expect_heap_ok(heap);
}
END_TEST

START_TEST(test_why_is_optional_and_truncated)
{
    char small[8];
    block *b3 = block_of_payload(p[3]);
    block_links saved = block_links_load(b3);
    block_links_store(b3, (block_links){(block *)(uintptr_t)0x10, (block *)(uintptr_t)0x10});
    ck_assert_int_ne(warden_heap_check(heap, NULL, 0), 0);
    ck_assert_int_ne(warden_heap_check(heap, small, sizeof small), 0);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    block_links_store(b3, saved);
    ck_assert_int_eq(warden_heap_check(heap, small, sizeof small), 0);
    ck_assert_str_eq(small, "");
}
END_TEST

static Suite *check_suite(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("invariants");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_free_links_overwritten);
    tcase_add_test(tc, test_free_prev_link_wrong);
    tcase_add_test(tc, test_free_list_cycle);
    tcase_add_test(tc, test_free_block_dropped_from_list);
    tcase_add_test(tc, test_list_node_is_stale_header);
    tcase_add_test(tc, test_adjacent_free_blocks);
    tcase_add_test(tc, test_header_overwritten);
    tcase_add_test(tc, test_boundary_tag_wrong);
    tcase_add_test(tc, test_tiling_broken);
    tcase_add_test(tc, test_fence_overwritten);
    tcase_add_test(tc, test_bitmap_disagrees);
    tcase_add_test(tc, test_statistics_disagree);
    tcase_add_test(tc, test_region_links_and_seal);
    tcase_add_test(tc, test_why_is_optional_and_truncated);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(check_suite());
}
