/* test_misuse.c — misuse is caught in every build: double free, pointers the
 * heap never returned (stack, libc's malloc, interior, misaligned, another
 * heap's), overwritten headers and free-list links, bad heap handles. Each
 * case runs in a child that must die of SIGABRT after one "warden:" line
 * naming the operation, the address and the fault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "heap.h"
#include "region.h"
#include "testutil.h"

static warden_heap *heap;

static void setup(void)
{
    heap = immediate_heap(NULL);
}

static void teardown(void)
{
    warden_heap_destroy(heap);
}

static char expected[128];

/* "warden: <op>(<ptr>): <fault>" as the report prints it. */
static const char *line_for(const char *op, const void *ptr, const char *fault)
{
    snprintf(expected, sizeof expected, "warden: %s(%p): %s", op, ptr, fault);
    return expected;
}

static void free_ptr(void *p)
{
    warden_heap_free(heap, p);
}

START_TEST(test_double_free)
{
    void *p = warden_heap_alloc(heap, 40);
    warden_heap_free(heap, p);
    expect_abort(free_ptr, p, line_for("warden_heap_free", p, "double free"));
}
END_TEST

START_TEST(test_double_free_after_coalescing)
{
    void *a = warden_heap_alloc(heap, 40), *b = warden_heap_alloc(heap, 40);
    warden_heap_free(heap, a);
    warden_heap_free(heap, b); /* b merges into a: its header is stale now */
    expect_abort(free_ptr, b, line_for("warden_heap_free", b, "double free"));
    expect_abort(free_ptr, a, line_for("warden_heap_free", a, "double free"));
}
END_TEST

START_TEST(test_free_of_stack_pointer)
{
    _Alignas(16) char local[64] = {0};
    expect_abort(free_ptr, local, line_for("warden_heap_free", local, "invalid free (not a pointer from a warden heap)"));
}
END_TEST

START_TEST(test_free_of_libc_pointer)
{
    void *p = malloc(64);
    expect_abort(free_ptr, p, "invalid free (not a pointer from a warden heap)");
    free(p);
}
END_TEST

START_TEST(test_free_of_interior_pointer)
{
    char *p = warden_heap_alloc(heap, 200);
    memset(p, 0, 200);
    expect_abort(free_ptr, p + 32, line_for("warden_heap_free", p + 32, "invalid free (not the start of a block)"));
    /* the header is intact: the heap still works after the child died */
    warden_heap_free(heap, p);
    expect_heap(heap, 1, 0, 1);
}
END_TEST

START_TEST(test_free_of_misaligned_pointer)
{
    char *p = warden_heap_alloc(heap, 64);
    expect_abort(free_ptr, p + 1, line_for("warden_heap_free", p + 1, "invalid free (misaligned pointer)"));
}
END_TEST

START_TEST(test_free_into_wrong_heap)
{
    warden_heap *other = immediate_heap(NULL);
    void *p = warden_heap_alloc(other, 64);
    expect_abort(free_ptr, p, line_for("warden_heap_free", p, "invalid free (pointer from another warden heap)"));
    warden_heap_destroy(other);
}
END_TEST

START_TEST(test_free_of_region_header)
{
    char *p = warden_heap_alloc(heap, 64);
    /* the first block's payload sits 64 bytes into its region */
    expect_abort(free_ptr, p - 64, "invalid free (not the start of a block)");
}
END_TEST

START_TEST(test_overwritten_header)
{
    char *p = warden_heap_alloc(heap, 64);
    block_hdr h = block_load(block_of_payload(p));
    h.prev_size_ ^= 1; /* one bit of the prev_size field */
    block_store(block_of_payload(p), h);
    expect_abort(free_ptr, p, line_for("warden_heap_free", p, "heap corruption (block header overwritten)"));
}
END_TEST

START_TEST(test_overflow_into_next_header)
{
    char *a = warden_heap_alloc(heap, 64);
    char *b = warden_heap_alloc(heap, 64);
    scribble(a, 'x', 64 + 8); /* 8 bytes into b's header */
    char words[96];
    snprintf(words, sizeof words, "heap corruption (header of block %p overwritten)", (void *)b);
    expect_abort(free_ptr, a, line_for("warden_heap_free", a, words));
    expect_abort(free_ptr, b, line_for("warden_heap_free", b, "heap corruption (block header overwritten)"));
}
END_TEST

static void alloc_64(void *unused)
{
    (void)unused;
    for (int i = 0; i < 4; i++)
        warden_heap_alloc(heap, 64);
}

START_TEST(test_overwritten_free_links)
{
    void *a = warden_heap_alloc(heap, 64), *b = warden_heap_alloc(heap, 64);
    void *c = warden_heap_alloc(heap, 64), *d = warden_heap_alloc(heap, 64);
    (void)b;
    (void)d;
    warden_heap_free(heap, a);
    warden_heap_free(heap, c); /* a and c on the same list */
    scribble(c, 0x41, 16);     /* use after free: c's next/prev links */
    expect_abort(alloc_64, NULL, "heap corruption (free-list links damaged)");
}
END_TEST

START_TEST(test_overwritten_region_header)
{
    char *p = warden_heap_alloc(heap, 64);
    region *r = region_of(p);
    r->heap = NULL; /* an underrun of the first block reaches its region's header */
    char words[96];
    snprintf(words, sizeof words, "heap corruption (region header %p overwritten)", (void *)r);
    expect_abort(free_ptr, p, line_for("warden_heap_free", p, words));
    r->heap = heap;
    r->seal ^= 1;
    expect_abort(free_ptr, p, line_for("warden_heap_free", p, words));
    r->seal ^= 1;
    warden_heap_free(heap, p);
    expect_heap(heap, 1, 0, 1);
}
END_TEST

static warden_heap *qheap;

static void free_q(void *p)
{
    warden_heap_free(qheap, p);
}

/* A write after free over the link a quarantined block keeps in its first
 * bytes: the forged pointer is followed when the block leaves, and the
 * next eviction finds no header there although every block is intact. */
START_TEST(test_overwritten_quarantine_link)
{
    warden_heap_config c = {.quarantine_bytes = 128}; /* two blocks of 64 */
    qheap = warden_heap_create(&c);
    char *p[5];
    for (int i = 0; i < 5; i++)
        p[i] = warden_heap_alloc(qheap, 64);
    memset(p[4], 0x41, 64);
    warden_heap_free(qheap, p[0]);
    warden_heap_free(qheap, p[1]); /* quarantine: p[0] -> p[1] */
    block *forged = (block *)(p[4] + 16); /* inside a live block */
    san_meta_open(p[0], sizeof forged);
    memcpy(p[0], &forged, sizeof forged);
    warden_heap_free(qheap, p[2]); /* p[0] leaves: the head is the forged pointer */
    const void *at = block_payload(forged);
    expect_abort(free_q, p[3], line_for("warden_heap_free", at, "heap corruption (a header changed under the allocator)"));
    warden_heap_destroy(qheap);
}
END_TEST

static void give_back(void *blk)
{
    static const bucket_site site = {"free", "double free", "invalid free"};
    block *b = blk;
    heap_give_cached(&b, 1, &site);
}

/* A block in a thread cache is the allocator's: an overflow from the block
 * before it that reaches its header is caught when the cache gives it back. */
START_TEST(test_overwritten_cached_header)
{
    char *a = warden_heap_alloc(heap, 64);
    block *cached;
    ck_assert_uint_eq(heap_take_cached(heap, 64, &cached, 1, "malloc"), 1);
    ck_assert_ptr_eq(cached, block_of_payload(a + 80));
    block_hdr h = block_load(cached), bad = h;
    bad.size_ ^= 1;
    block_store(cached, bad);
    const char *fault = "heap corruption (header of cached block overwritten)";
    expect_abort(give_back, cached, line_for("free", block_payload(cached), fault));
    block_store(cached, h);
    block_cache_leave(cached, 64); /* handed out again, as a thread cache does */
    san_chunk_alloc(heap, block_payload(cached), 64, 0);
    expect_abort(give_back, cached, line_for("free", block_payload(cached), fault)); /* live: not cached */
    warden_heap_free(heap, block_payload(cached));
    warden_heap_free(heap, a);
    expect_heap(heap, 1, 0, 1);
}
END_TEST

static void realloc_ptr(void *p)
{
    warden_heap_realloc(heap, p, 100);
}

static void usable_ptr(void *p)
{
    warden_heap_usable_size(heap, p);
}

START_TEST(test_realloc_and_usable_size_of_bad_pointers)
{
    char *p = warden_heap_alloc(heap, 64);
    warden_heap_free(heap, p);
    expect_abort(realloc_ptr, p, line_for("warden_heap_realloc", p, "use after free (block already freed)"));
    expect_abort(usable_ptr, p, line_for("warden_heap_usable_size", p, "use after free (block already freed)"));
    int local = 0;
    expect_abort(realloc_ptr, &local, "warden: warden_heap_realloc(");
    expect_abort(usable_ptr, (char *)warden_heap_alloc(heap, 64) + 16, "invalid pointer (not the start of a block)");
}
END_TEST

static void use_bad_handle(void *h)
{
    warden_heap_alloc(h, 10);
}

START_TEST(test_bad_heap_handle)
{
    static _Alignas(65536) char fake[65536];
    expect_abort(use_bad_handle, fake, "warden_heap_alloc(");
    expect_abort(use_bad_handle, fake, "invalid heap (not a live warden_heap)");
    expect_abort(use_bad_handle, NULL, "invalid heap");
}
END_TEST

static void free_after_destroy(void *unused)
{
    (void)unused;
    warden_heap *h = immediate_heap(NULL);
    void *p = warden_heap_alloc(h, 10);
    warden_heap_destroy(h);
    warden_heap *h2 = immediate_heap(NULL);
    warden_heap_free(h2, p); /* p's region is gone with the first heap */
}

START_TEST(test_free_after_destroy)
{
    expect_abort(free_after_destroy, NULL, "invalid free (not a pointer from a warden heap)");
}
END_TEST

static Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc = tcase_create("misuse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_double_free);
    tcase_add_test(tc, test_double_free_after_coalescing);
    tcase_add_test(tc, test_free_of_stack_pointer);
    tcase_add_test(tc, test_free_of_libc_pointer);
    tcase_add_test(tc, test_free_of_interior_pointer);
    tcase_add_test(tc, test_free_of_misaligned_pointer);
    tcase_add_test(tc, test_free_into_wrong_heap);
    tcase_add_test(tc, test_free_of_region_header);
    tcase_add_test(tc, test_overwritten_header);
    tcase_add_test(tc, test_overflow_into_next_header);
    tcase_add_test(tc, test_overwritten_free_links);
    tcase_add_test(tc, test_overwritten_region_header);
    tcase_add_test(tc, test_overwritten_quarantine_link);
    tcase_add_test(tc, test_overwritten_cached_header);
    tcase_add_test(tc, test_realloc_and_usable_size_of_bad_pointers);
    tcase_add_test(tc, test_bad_heap_handle);
    tcase_add_test(tc, test_free_after_destroy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(misuse_suite());
}
