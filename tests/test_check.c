/* test_check.c — warden_heap_check can fail: each test breaks one invariant
 * of a correct heap by hand (through the internal headers), asserts that the
 * checker names it, then repairs the damage and asserts the checker passes
 * again (its scratch marks are cleaned up even when it fails). */
#include <string.h>

#include <stdio.h>

#include "bucket.h"
#include "heap.h"
#include "pagemap.h"
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

START_TEST(test_list_node_outside_the_bucket)
{
    block *b1 = block_of_payload(p[1]); /* the last node of its list */
    ck_assert_ptr_null(block_link_next(b1));
    char *other = warden_heap_alloc(heap, 500); /* a live block of bucket 1 */
    block_link_set_next(b1, block_of_payload(other));
    expect_broken("free list 5: node");
    expect_broken("is not inside a region of this bucket");
    block_link_set_next(b1, NULL);
    warden_heap_free(heap, other);
    expect_heap(heap, 2, 4, 4); /* bucket 1 keeps its empty region */
}
END_TEST

START_TEST(test_list_node_handed_out)
{
    block *b3 = block_of_payload(p[3]);
    block_set_flags(b3, 0); /* live again, still on its list */
    expect_broken("is not a free block");
    block_set_flags(b3, BLOCK_FREE);
    expect_heap(heap, 1, 4, 3);
}
END_TEST

START_TEST(test_list_node_in_the_wrong_class)
{
    block *b3 = block_of_payload(p[3]);
    uint32_t g = block_size(b3);
    ck_assert_uint_eq(freelist_class(g), 5);
    block_set_size(b3, g + 1); /* resized in place without moving lists */
    expect_broken("free list 5: node");
    expect_broken("of 96 bytes belongs to class 6");
    block_set_size(b3, g);
    expect_heap(heap, 1, 4, 3);
}
END_TEST

/* The check proves one bitmap word against the heads per call, in turn:
 * point it at the word of the damage. */
START_TEST(test_bitmap_bit_disagrees_with_its_list)
{
    bucket *b = bucket0();
    unsigned cls = freelist_class(block_size(block_of_payload(p[1]))), empty = cls + 2;
    uint64_t *word = &b->free.words[cls / 64];
    ck_assert_uint_eq(cls / 64, empty / 64);
    ck_assert_ptr_null(b->free.heads[empty]);
    *word |= (uint64_t)1 << (empty % 64); /* a bit with no list */
    b->check_word = cls / 64;
    expect_broken("free list 7: bitmap bit 1 disagrees with the list");
    *word &= ~((uint64_t)1 << (cls % 64)); /* and a list with no bit: named first */
    b->check_word = cls / 64;
    expect_broken("free list 5: bitmap bit 0 disagrees with the list");
    *word ^= ((uint64_t)1 << (cls % 64)) | ((uint64_t)1 << (empty % 64));
    expect_heap(heap, 1, 4, 3);
}
END_TEST

START_TEST(test_region_size_not_whole_chunks)
{
    region *r = region_of(p[0]);
    size_t saved = r->size;
    r->size = saved - GRANULE; /* resealed: the seal alone cannot tell */
    r->seal = region_seal_of(r);
    char words[96];
    snprintf(words, sizeof words, "size %zu is not whole chunks", saved - GRANULE);
    expect_broken(words);
    r->size = saved;
    r->seal = region_seal_of(r);
    expect_heap(heap, 1, 4, 3);
}
END_TEST

START_TEST(test_page_map_forgets_a_chunk)
{
    region *r = region_of(p[0]);
    char *last = region_end(r) - PLATFORM_CHUNK;
    ck_assert_uint_gt(r->size, PLATFORM_CHUNK);
    pagemap_clear(last, PLATFORM_CHUNK); /* as a stray unregistration would */
    char words[96];
    snprintf(words, sizeof words, "page map entry at +%zu does not name it", r->size - PLATFORM_CHUNK);
    expect_broken(words);
    ck_assert_int_eq(pagemap_set(last, PLATFORM_CHUNK, r), 0);
    expect_heap(heap, 1, 4, 3);
}
END_TEST

START_TEST(test_bucket_limit_or_owner_overwritten)
{
    bucket *b0 = &heap->buckets[0], *b1 = &heap->buckets[1];
    size_t limit = b0->limit;
    b0->limit = limit + 16;
    expect_broken("bucket 0: limit or owner overwritten");
    b0->limit = limit;
    const void *owner = b1->heap;
    b1->heap = b0; /* not the heap */
    expect_broken("bucket 1: limit or owner overwritten");
    b1->heap = owner;
    expect_heap(heap, 1, 4, 3);
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

/* ---- the quarantine: the same six blocks, p[1] and p[3] held back ------------ */

static void setup_quarantine(void)
{
    warden_heap_config c = {.quarantine_bytes = 1024};
    heap = warden_heap_create(&c);
    for (int i = 0; i < 6; i++)
        p[i] = warden_heap_alloc(heap, 64);
    warden_heap_free(heap, p[1]);
    warden_heap_free(heap, p[3]); /* quarantine: p[1] -> p[3] */
    bucket *b = bucket0();
    ck_assert_ptr_eq(b->quarantine_head, block_of_payload(p[1]));
    ck_assert_ptr_eq(b->quarantine_tail, block_of_payload(p[3]));
    expect_heap(heap, 1, 4, 1);
}

START_TEST(test_quarantine_node_is_live)
{
    bucket *b = bucket0();
    b->quarantine_head = block_of_payload(p[2]); /* a block still handed out */
    expect_broken("quarantine node");
    expect_broken("is not a quarantined block of this bucket");
    b->quarantine_head = block_of_payload(p[1]);
    expect_heap(heap, 1, 4, 1);
}
END_TEST

START_TEST(test_quarantine_cycle)
{
    block *b3 = block_of_payload(p[3]);
    block_link_set_next(b3, block_of_payload(p[1])); /* the newest links back to the oldest */
    expect_broken("quarantine holds more than its 2 blocks (cycle?)");
    block_link_set_next(b3, NULL);
    expect_heap(heap, 1, 4, 1);
}
END_TEST

START_TEST(test_quarantine_tail_stale)
{
    bucket *b = bucket0();
    b->quarantine_tail = block_of_payload(p[1]);
    expect_broken("quarantine tail");
    b->quarantine_tail = block_of_payload(p[3]);
    expect_heap(heap, 1, 4, 1);
}
END_TEST

START_TEST(test_quarantine_counts_disagree)
{
    bucket *b = bucket0();
    b->quarantine_bytes += 16;
    expect_broken("quarantine counts 2 blocks / 144 bytes, the list 2 / 128");
    b->quarantine_bytes -= 16;
    b->quarantine_blocks++;
    expect_broken("quarantine counts 3 blocks");
    b->quarantine_blocks--;
    expect_heap(heap, 1, 4, 1);
}
END_TEST

START_TEST(test_quarantine_over_its_limit)
{
    bucket *b = bucket0();
    size_t limit = b->quarantine_limit;
    b->quarantine_limit = 64;
    expect_broken("quarantine holds 128 bytes, over its limit of 64");
    b->quarantine_limit = limit;
    expect_heap(heap, 1, 4, 1);
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
    tcase_add_test(tc, test_list_node_outside_the_bucket);
    tcase_add_test(tc, test_list_node_handed_out);
    tcase_add_test(tc, test_list_node_in_the_wrong_class);
    tcase_add_test(tc, test_bitmap_bit_disagrees_with_its_list);
    tcase_add_test(tc, test_region_size_not_whole_chunks);
    tcase_add_test(tc, test_page_map_forgets_a_chunk);
    tcase_add_test(tc, test_bucket_limit_or_owner_overwritten);
    tcase_add_test(tc, test_why_is_optional_and_truncated);
    suite_add_tcase(s, tc);
    TCase *quarantine = tcase_create("quarantine");
    tcase_add_checked_fixture(quarantine, setup_quarantine, teardown);
    tcase_add_test(quarantine, test_quarantine_node_is_live);
    tcase_add_test(quarantine, test_quarantine_cycle);
    tcase_add_test(quarantine, test_quarantine_tail_stale);
    tcase_add_test(quarantine, test_quarantine_counts_disagree);
    tcase_add_test(quarantine, test_quarantine_over_its_limit);
    suite_add_tcase(s, quarantine);
    return s;
}

int main(void)
{
    return testutil_run(check_suite());
}
