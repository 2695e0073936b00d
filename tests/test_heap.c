/* test_heap.c — the heap module through its public API: configuration,
 * splitting, coalescing on both sides, in-place realloc, buckets, alignment,
 * region return, sizes at the edges, the OS refusing memory, and the
 * interface the malloc layer uses (heap.h: cached batches, tuning, purge,
 * walk, locks). Every test ends with the checker and the counts of
 * regions, live and free blocks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "platform.h"
#include "testutil.h"

/* What warden_heap_usable_size answers: the block's usable bytes, or just
 * the bytes asked for where a sanitizer poisons the rest. */
#define USABLE(asked, usable) ((size_t)(SAN_ANY ? (asked) : (usable)))

#define KiB ((size_t)1024)
#define MiB (KiB * KiB)
/* The largest request a block header can hold (UINT32_MAX - 1 granules). */
#define LARGEST_BLOCK (((size_t)UINT32_MAX << 4) - 32)

static warden_heap *heap_with(const size_t *limits, size_t count, size_t region_size, unsigned flags)
{
    warden_heap_config c = {.bucket_limits = limits, .bucket_count = count, .region_size = region_size,
                            .flags = flags};
    warden_heap *h = immediate_heap(&c);
    ck_assert_ptr_nonnull(h);
    return h;
}

/* ---- configuration ---------------------------------------------------------- */

static void expect_einval(const warden_heap_config *c)
{
    errno = 0;
    ck_assert_ptr_null(warden_heap_create(c));
    ck_assert_int_eq(errno, EINVAL);
}

START_TEST(test_create_defaults)
{
    warden_heap *h = warden_heap_create(NULL);
    ck_assert_ptr_nonnull(h);
    expect_heap(h, 0, 0, 0);
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_gt(s.mapped_bytes, 0); /* the heap object itself */
    ck_assert_uint_eq(s.live_bytes, 0);
    ck_assert_uint_eq(s.free_bytes, 0);
    warden_heap_destroy(h);
    warden_heap_destroy(NULL);
}
END_TEST

START_TEST(test_create_rejects_bad_configs)
{
    size_t descending[] = {128, 64};
    size_t equal[] = {64, 64};
    size_t zero[] = {0, 64};
    size_t huge[] = {SIZE_MAX / 2};
    size_t seventeen[17];
    for (size_t i = 0; i < 17; i++)
        seventeen[i] = 16 * (i + 1);
    expect_einval(&(warden_heap_config){.bucket_limits = descending, .bucket_count = 2});
    expect_einval(&(warden_heap_config){.bucket_limits = equal, .bucket_count = 2});
    expect_einval(&(warden_heap_config){.bucket_limits = zero, .bucket_count = 2});
    expect_einval(&(warden_heap_config){.bucket_limits = huge, .bucket_count = 1});
    expect_einval(&(warden_heap_config){.bucket_limits = seventeen, .bucket_count = 17});
    expect_einval(&(warden_heap_config){.bucket_limits = NULL, .bucket_count = 2});
    expect_einval(&(warden_heap_config){.flags = 0x80});
    expect_einval(&(warden_heap_config){.region_size = (size_t)1 << 40});
    /* sixteen is the most, and accepted */
    warden_heap *h = heap_with(seventeen, 16, 0, 0);
    for (size_t i = 0; i < 17; i++) {
        void *p = warden_heap_alloc(h, seventeen[i]);
        ck_assert_ptr_nonnull(p);
        warden_heap_free(h, p);
    }
    expect_heap(h, 17, 0, 17); /* each bucket keeps its one empty region */
    warden_heap_destroy(h);
}
END_TEST

/* ---- splitting and coalescing --------------------------------------------------- */

START_TEST(test_split_on_alloc)
{
    warden_heap *h = immediate_heap(NULL);
    char *p = warden_heap_alloc(h, 100);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 16, 0);
    expect_heap(h, 1, 1, 1); /* the region: the block and the free rest */
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.live_bytes, 112); /* 100 rounded to the granule */
    ck_assert_uint_eq(warden_heap_usable_size(h, p), USABLE(100, 112));
    /* header 48 + fence 16 + this block 128 + the free rest tile the region */
    ck_assert_uint_eq(s.free_bytes, 256 * KiB - 48 - 16 - 128);
    warden_heap_free(h, p);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_coalesce_with_next)
{
    warden_heap *h = immediate_heap(NULL);
    void *a = warden_heap_alloc(h, 64), *b = warden_heap_alloc(h, 64), *c = warden_heap_alloc(h, 64);
    expect_heap(h, 1, 3, 1);
    warden_heap_free(h, b); /* between two live blocks: no merge */
    expect_heap(h, 1, 2, 2);
    warden_heap_free(h, a); /* merges with b, the next block */
    expect_heap(h, 1, 1, 2);
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.free_bytes, 256 * KiB - 48 - 16 - 80); /* all but c */
    warden_heap_free(h, c); /* merges on both sides: the region is one free block */
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_coalesce_with_prev)
{
    warden_heap *h = immediate_heap(NULL);
    void *a = warden_heap_alloc(h, 48), *b = warden_heap_alloc(h, 48), *c = warden_heap_alloc(h, 48);
    warden_heap_free(h, a);
    expect_heap(h, 1, 2, 2);
    warden_heap_free(h, b); /* merges with a, the previous block */
    expect_heap(h, 1, 1, 2);
    /* the merged 128-byte block serves a request of both sizes, not the tail */
    void *ab = warden_heap_alloc(h, 2 * 64 - 16);
    ck_assert_ptr_eq(ab, a);
    expect_heap(h, 1, 2, 1);
    warden_heap_free(h, ab);
    warden_heap_free(h, c);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_reuse_is_first_fit_of_the_class)
{
    warden_heap *h = immediate_heap(NULL);
    void *p[8];
    for (int i = 0; i < 8; i++)
        p[i] = warden_heap_alloc(h, 48);
    warden_heap_free(h, p[3]);
    ck_assert_ptr_eq(warden_heap_alloc(h, 48), p[3]); /* the exact class hands it back */
    expect_heap(h, 1, 8, 1);
    warden_heap_destroy(h);
}
END_TEST

/* ---- realloc --------------------------------------------------------------------- */

START_TEST(test_realloc_shrinks_in_place)
{
    warden_heap *h = immediate_heap(NULL);
    char *p = warden_heap_alloc(h, 1000);
    memset(p, 0x5a, 1000);
    expect_heap(h, 1, 1, 1);
    char *q = warden_heap_realloc(h, p, 200);
    ck_assert_ptr_eq(q, p);
    ck_assert_uint_eq(warden_heap_usable_size(h, q), USABLE(200, 208));
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(q[i], 0x5a);
    expect_heap(h, 1, 1, 1); /* the cut tail merged with the free rest */
    /* a shrink that leaves less than a minimum block keeps the block as is */
    ck_assert_ptr_eq(warden_heap_realloc(h, q, 195), q);
    ck_assert_uint_eq(warden_heap_usable_size(h, q), USABLE(195, 208));
    warden_heap_free(h, q);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_realloc_grows_into_free_next)
{
    warden_heap *h = immediate_heap(NULL);
    char *a = warden_heap_alloc(h, 200);
    char *b = warden_heap_alloc(h, 200);
    char *c = warden_heap_alloc(h, 200);
    memset(a, 'a', 200);
    warden_heap_free(h, b);
    expect_heap(h, 1, 2, 2);
    char *g = warden_heap_realloc(h, a, 432); /* takes all of b's block: 2 x 224 bytes */
    ck_assert_ptr_eq(g, a);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(g[i], 'a');
    ck_assert_uint_eq(warden_heap_usable_size(h, g), 432);
    expect_heap(h, 1, 2, 1);
    /* c's next is the free rest of the region: grows in place too */
    ck_assert_ptr_eq(warden_heap_realloc(h, c, 900), c);
    expect_heap(h, 1, 2, 1);
    warden_heap_free(h, g);
    warden_heap_free(h, c);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_realloc_moves_when_next_is_live)
{
    warden_heap *h = immediate_heap(NULL);
    char *a = warden_heap_alloc(h, 200);
    char *b = warden_heap_alloc(h, 200);
    for (int i = 0; i < 200; i++)
        a[i] = (char)i;
    char *m = warden_heap_realloc(h, a, 600);
    ck_assert_ptr_ne(m, a);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(m[i], (char)i);
    expect_heap(h, 1, 2, 2); /* a's old block is free again, before b */
    warden_heap_free(h, m);
    warden_heap_free(h, b);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_realloc_changes_bucket_only_when_size_belongs_there)
{
    warden_heap *h = immediate_heap(NULL); /* buckets <=128, <=1024, <=8192, large */
    char *p = warden_heap_alloc(h, 100);
    memset(p, 7, 100);
    char *q = warden_heap_realloc(h, p, 5000); /* belongs to the <=8192 bucket */
    ck_assert_ptr_ne(q, p);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(q[i], 7);
    expect_heap(h, 2, 1, 2);
    char *r = warden_heap_realloc(h, q, 40); /* back to the small bucket */
    ck_assert_ptr_ne(r, q);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(r[i], 7);
    ck_assert_ptr_eq(warden_heap_realloc(h, r, 120), r); /* same bucket, free next: in place */
    expect_heap(h, 2, 1, 2);
    warden_heap_free(h, r);
    expect_heap(h, 2, 0, 2);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_realloc_null_and_failure)
{
    warden_heap *h = immediate_heap(NULL);
    char *p = warden_heap_realloc(h, NULL, 50);
    ck_assert_ptr_nonnull(p);
    memset(p, 3, 50);
    errno = 0;
    ck_assert_ptr_null(warden_heap_realloc(h, p, SIZE_MAX));
    ck_assert_int_eq(errno, ENOMEM);
    for (int i = 0; i < 50; i++) /* the old block is untouched */
        ck_assert_int_eq(p[i], 3);
    expect_heap(h, 1, 1, 1);
    errno = 0; /* a size a block can hold but no region: the move fails */
    ck_assert_ptr_null(warden_heap_realloc(h, p, LARGEST_BLOCK));
    ck_assert_int_eq(errno, ENOMEM);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(p[i], 3);
    expect_heap(h, 1, 1, 1);
    char *z = warden_heap_realloc(h, p, 0); /* size 0: a minimum block, still live */
    ck_assert_ptr_nonnull(z);
    warden_heap_free(h, z);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

/* ---- sizes and alignment ------------------------------------------------------------ */

START_TEST(test_size_zero_is_unique)
{
    warden_heap *h = immediate_heap(NULL);
    void *a = warden_heap_alloc(h, 0), *b = warden_heap_alloc(h, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    ck_assert_uint_eq(warden_heap_usable_size(h, a), USABLE(0, 16));
    warden_heap_free(h, a);
    warden_heap_free(h, b);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_null_pointer_is_no_block)
{
    warden_heap *h = immediate_heap(NULL);
    void *p = warden_heap_alloc(h, 10);
    warden_heap_free(h, NULL); /* as free(NULL): nothing */
    ck_assert_uint_eq(warden_heap_usable_size(h, NULL), 0);
    expect_heap(h, 1, 1, 1);
    warden_heap_free(h, p);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_impossible_sizes_are_enomem)
{
    warden_heap *h = immediate_heap(NULL);
    /* the last: the largest block a header can describe, whose region's
     * one block could not (header and fence besides): refused unmapped */
    size_t sizes[] = {SIZE_MAX, SIZE_MAX - 16, SIZE_MAX / 2, (size_t)1 << 40, (size_t)64 << 30, LARGEST_BLOCK};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        ck_assert_ptr_null(warden_heap_alloc(h, sizes[i]));
        ck_assert_int_eq(errno, ENOMEM);
        errno = 0;
        ck_assert_ptr_null(warden_heap_alloc_aligned(h, sizes[i], 64));
        ck_assert_int_eq(errno, ENOMEM);
    }
    errno = 0;
    ck_assert_ptr_null(warden_heap_calloc(h, SIZE_MAX / 2, 3)); /* the product overflows */
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(warden_heap_calloc(h, (size_t)1 << 33, (size_t)1 << 33));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(warden_heap_alloc_aligned(h, 16, (size_t)1 << 62)); /* alignment too big */
    ck_assert_int_eq(errno, ENOMEM);
    expect_heap(h, 0, 0, 0);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_calloc_zeroes_reused_memory)
{
    warden_heap *h = immediate_heap(NULL);
    char *p = warden_heap_alloc(h, 96);
    memset(p, 0xff, 96);
    warden_heap_free(h, p);
    char *z = warden_heap_calloc(h, 12, 8);
    ck_assert_ptr_eq(z, p); /* the same block came back... */
    for (int i = 0; i < 96; i++)
        ck_assert_int_eq(z[i], 0); /* ...zeroed */
    void *none = warden_heap_calloc(h, 0, 5);
    ck_assert_ptr_nonnull(none);
    warden_heap_free(h, none);
    warden_heap_free(h, z);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_alignment_powers_of_two)
{
    warden_heap *h = immediate_heap(NULL);
    void *p[21 * 4];
    int n = 0;
    for (int shift = 0; shift <= 20; shift++) {
        size_t align = (size_t)1 << shift;
        size_t sizes[] = {1, 24, 700, 9000};
        for (int k = 0; k < 4; k++) {
            char *q = warden_heap_alloc_aligned(h, sizes[k], align);
            ck_assert_ptr_nonnull(q);
            ck_assert_msg((uintptr_t)q % align == 0, "%p not aligned to %zu", (void *)q, align);
            ck_assert_uint_ge(warden_heap_usable_size(h, q), sizes[k]);
            memset(q, 0xab, sizes[k]);
            p[n++] = q;
            expect_heap_ok(h);
        }
    }
    for (int i = 0; i < n; i++)
        warden_heap_free(h, p[i]);
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.live_blocks, 0);
    ck_assert_uint_le(s.regions, 4); /* one kept region per bucket at most */
    expect_heap_ok(h);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_alignment_must_be_power_of_two)
{
    warden_heap *h = immediate_heap(NULL);
    size_t bad[] = {0, 3, 24, 48, 1000, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_ptr_null(warden_heap_alloc_aligned(h, 64, bad[i]));
        ck_assert_int_eq(errno, EINVAL);
    }
    expect_heap(h, 0, 0, 0);
    warden_heap_destroy(h);
}
END_TEST

/* The front left over by aligning goes back as a free block, and merges. */
START_TEST(test_alignment_front_is_freed)
{
    warden_heap *h = immediate_heap(NULL);
    void *a = warden_heap_alloc(h, 16);
    void *q = warden_heap_alloc_aligned(h, 100, 4096);
    ck_assert_uint_eq((uintptr_t)q % 4096, 0);
    expect_heap(h, 1, 2, 2); /* front gap and tail are free */
    warden_heap_free(h, q);
    expect_heap(h, 1, 1, 1); /* gap + block + tail merged */
    warden_heap_free(h, a);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

/* ---- the OS refuses memory ------------------------------------------------------------ */

static void expect_same_stats(const warden_heap_stats *a, const warden_heap_stats *b)
{
    ck_assert_uint_eq(a->mapped_bytes, b->mapped_bytes);
    ck_assert_uint_eq(a->regions, b->regions);
    ck_assert_uint_eq(a->live_blocks, b->live_blocks);
    ck_assert_uint_eq(a->live_bytes, b->live_bytes);
    ck_assert_uint_eq(a->free_blocks, b->free_blocks);
    ck_assert_uint_eq(a->free_bytes, b->free_bytes);
}

START_TEST(test_create_refused_is_enomem)
{
    platform_refuse_maps_after(0);
    errno = 0;
    warden_heap *h = warden_heap_create(NULL);
    int error = errno;
    platform_refuse_maps_after(-1); /* before any assert: a failing one must not leave it set */
    ck_assert_ptr_null(h);
    ck_assert_int_eq(error, ENOMEM);
    h = warden_heap_create(NULL); /* nothing stuck: the next heap is made */
    ck_assert_ptr_nonnull(h);
    expect_heap(h, 0, 0, 0);
    ck_assert_ptr_nonnull(warden_heap_alloc(h, 100));
    expect_heap(h, 1, 1, 1);
    warden_heap_destroy(h);
}
END_TEST

/* A region the OS refuses: the request fails, the heap is as it was. */
START_TEST(test_region_refused_is_enomem)
{
    warden_heap *h = immediate_heap(NULL);
    warden_heap_stats before, after;
    warden_heap_get_stats(h, &before);
    platform_refuse_maps_after(0);
    errno = 0;
    void *first = warden_heap_alloc(h, 100); /* the heap's first region */
    int first_error = errno;
    platform_refuse_maps_after(-1);
    ck_assert_ptr_null(first);
    ck_assert_int_eq(first_error, ENOMEM);
    expect_heap(h, 0, 0, 0);
    warden_heap_get_stats(h, &after);
    expect_same_stats(&before, &after);

    char *kept = warden_heap_alloc(h, 100);
    ck_assert_ptr_nonnull(kept);
    memset(kept, 7, 100);
    warden_heap_get_stats(h, &before);
    platform_refuse_maps_after(0);
    errno = 0;
    void *big = warden_heap_alloc(h, 10 * MiB); /* a region of its own */
    int big_error = errno;
    errno = 0;
    void *moved = warden_heap_realloc(h, kept, 10 * MiB); /* must move: to a new region */
    int moved_error = errno;
    platform_refuse_maps_after(-1);
    ck_assert_ptr_null(big);
    ck_assert_int_eq(big_error, ENOMEM);
    ck_assert_ptr_null(moved);
    ck_assert_int_eq(moved_error, ENOMEM);
    for (int i = 0; i < 100; i++) /* the old block is untouched */
        ck_assert_int_eq(kept[i], 7);
    expect_heap(h, 1, 1, 1);
    warden_heap_get_stats(h, &after);
    expect_same_stats(&before, &after);

    big = warden_heap_alloc(h, 10 * MiB); /* the OS gives again: so does the heap */
    ck_assert_ptr_nonnull(big);
    expect_heap(h, 2, 2, -1);
    warden_heap_free(h, big);
    warden_heap_free(h, kept);
    expect_heap(h, 2, 0, 2); /* each bucket keeps its one empty region */
    warden_heap_destroy(h);
}
END_TEST

/* ---- regions ------------------------------------------------------------------------ */

START_TEST(test_empty_regions_are_returned_but_one)
{
    warden_heap *h = immediate_heap(NULL);
    void *big[3];
    for (int i = 0; i < 3; i++)
        big[i] = warden_heap_alloc(h, 200 * KiB); /* large bucket: one per 256 KiB region */
    expect_heap(h, 3, 3, 3);
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    size_t mapped_full = s.mapped_bytes;
    for (int i = 0; i < 3; i++)
        warden_heap_free(h, big[i]);
    expect_heap(h, 1, 0, 1); /* two unmapped, one kept in reserve */
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.mapped_bytes, mapped_full - 2 * 256 * KiB);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_boundary_loop_does_not_thrash)
{
    warden_heap *h = immediate_heap(NULL);
    void *keep = warden_heap_alloc(h, 200 * KiB); /* fills the first region */
    warden_heap_stats before, s;
    for (int i = 0; i < 1000; i++) {
        void *p = warden_heap_alloc(h, 200 * KiB); /* needs a second region every time */
        warden_heap_get_stats(h, &s);
        ck_assert_uint_eq(s.regions, 2);
        if (i == 0)
            before = s;
        warden_heap_free(h, p);
        warden_heap_get_stats(h, &s);
        ck_assert_uint_eq(s.regions, 2); /* kept mapped, not returned */
    }
    ck_assert_uint_eq(s.mapped_bytes, before.mapped_bytes);
    expect_heap(h, 2, 1, 2);
    warden_heap_free(h, keep);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_large_allocation_gets_its_own_region)
{
    warden_heap *h = immediate_heap(NULL);
    char *p = warden_heap_alloc(h, 10 * MiB);
    ck_assert_ptr_nonnull(p);
    p[0] = 1;
    p[10 * MiB - 1] = 2;
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_ge(s.mapped_bytes, 10 * MiB);
    ck_assert_uint_le(s.mapped_bytes, 10 * MiB + 256 * KiB);
    expect_heap(h, 1, 1, -1);
    warden_heap_free(h, p);
    expect_heap(h, 1, 0, 1);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_small_blocks_cost_at_most_40_bytes)
{
    enum { N = 100000 };
    warden_heap *h = immediate_heap(NULL);
    void **p = malloc(N * sizeof *p);
    for (int i = 0; i < N; i++) {
        p[i] = warden_heap_alloc(h, 16);
        ck_assert_ptr_nonnull(p[i]);
    }
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    double per = (double)s.mapped_bytes / N;
    ck_assert_msg(per <= 40.0, "%.2f bytes mapped per 16-byte allocation", per);
    ck_assert_uint_eq(s.live_blocks, N);
    expect_heap_ok(h);
    for (int i = 0; i < N; i++)
        warden_heap_free(h, p[i]);
    expect_heap(h, 1, 0, 1);
    free(p);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_custom_buckets_and_region_size)
{
    static const size_t limits[] = {16, 48, 4000};
    warden_heap *h = heap_with(limits, 3, 64 * KiB, WARDEN_HEAP_NO_LOCK);
    void *a = warden_heap_alloc(h, 16);    /* bucket 0 */
    void *b = warden_heap_alloc(h, 17);    /* bucket 1 */
    void *c = warden_heap_alloc(h, 4000);  /* bucket 2 */
    void *d = warden_heap_alloc(h, 4001);  /* large */
    void *e = warden_heap_alloc(h, 100 * KiB); /* large, bigger than a region */
    expect_heap(h, 5, 5, 5);
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_le(s.mapped_bytes, 64 * KiB /* heap */ + 4 * 64 * KiB + 128 * KiB);
    warden_heap_free(h, a);
    warden_heap_free(h, b);
    warden_heap_free(h, c);
    warden_heap_free(h, d);
    warden_heap_free(h, e);
    expect_heap(h, 4, 0, 4); /* the large bucket keeps one of its two */
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_heaps_are_independent)
{
    warden_heap *h1 = immediate_heap(NULL), *h2 = immediate_heap(NULL);
    void *a = warden_heap_alloc(h1, 10), *b = warden_heap_alloc(h2, 10);
    expect_heap(h1, 1, 1, 1);
    expect_heap(h2, 1, 1, 1);
    warden_heap_free(h1, a);
    warden_heap_destroy(h1);
    expect_heap(h2, 1, 1, 1);
    warden_heap_free(h2, b);
    warden_heap_destroy(h2);
}
END_TEST

/* ---- quarantine ---------------------------------------------------------------------- */

static warden_heap *qheap;

static void free_q(void *p)
{
    warden_heap_free(qheap, p);
}

START_TEST(test_quarantine_holds_then_evicts_oldest)
{
    warden_heap_config c = {.quarantine_bytes = 256};
    warden_heap *h = qheap = warden_heap_create(&c);
    char *p[8];
    for (int i = 0; i < 8; i++)
        p[i] = warden_heap_alloc(h, 64); /* 64 usable bytes each */
    warden_heap_free(h, p[0]);
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.quarantine_blocks, 1);
    ck_assert_uint_eq(s.quarantine_bytes, 64);
    ck_assert_uint_eq(s.live_blocks, 7);
    expect_heap(h, 1, 7, 1); /* held back: not free, not merged */
    char *again = warden_heap_alloc(h, 64);
    ck_assert_ptr_ne(again, p[0]); /* not reused while quarantined */
    expect_abort(free_q, p[0], "double free");
    for (int i = 1; i <= 4; i++) /* 5 x 64 > 256: p[0], the oldest, leaves */
        warden_heap_free(h, p[i]);
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.quarantine_blocks, 4);
    ck_assert_uint_eq(s.quarantine_bytes, 256);
    expect_heap_ok(h);
    ck_assert_ptr_eq(warden_heap_alloc(h, 64), p[0]); /* free again, and first in its class */
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_quarantine_smaller_than_a_block_holds_nothing)
{
    warden_heap_config c = {.quarantine_bytes = 32};
    warden_heap *h = warden_heap_create(&c);
    char *a = warden_heap_alloc(h, 64), *b = warden_heap_alloc(h, 64);
    warden_heap_free(h, a); /* in, and out again at once: the queue empties */
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.quarantine_blocks, 0);
    ck_assert_uint_eq(s.quarantine_bytes, 0);
    expect_heap(h, 1, 1, 2);
    warden_heap_free(h, b); /* the queue works on after emptying */
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.quarantine_blocks, 0);
    expect_heap(h, 1, 0, 1);
    ck_assert_ptr_eq(warden_heap_alloc(h, 64), a);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_quarantine_default_follows_the_build)
{
    warden_heap *h = warden_heap_create(NULL);
    warden_heap_free(h, warden_heap_alloc(h, 100));
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.quarantine_blocks, SAN_ANY ? 1 : 0); /* on where a tool watches */
    expect_heap_ok(h);
    warden_heap_destroy(h);
    warden_heap_config off = {.quarantine_bytes = 1 << 20, .flags = WARDEN_HEAP_NO_QUARANTINE};
    h = warden_heap_create(&off);
    warden_heap_free(h, warden_heap_alloc(h, 100));
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.quarantine_blocks, 0);
    warden_heap_destroy(h);
}
END_TEST

/* ---- the interface of the layer above (heap.h): batches, tuning, purge, walk ---- */

START_TEST(test_cached_batches_round_trip)
{
    warden_heap *h = immediate_heap(NULL);
    block *got[3];
    ck_assert_uint_eq(heap_take_cached(h, 64, got, 2, "malloc"), 2);
    ck_assert_uint_eq(heap_take_cached(h, 500, got + 2, 1, "malloc"), 1); /* bucket 1 */
    for (int i = 0; i < 3; i++) {
        ck_assert(block_is_sealed(got[i]));
        ck_assert_uint_eq(block_flags(got[i]) & BLOCK_STATE, BLOCK_CACHED);
    }
    expect_heap(h, 2, 3, 2); /* cached blocks are live to the heap */
    ck_assert_uint_eq(heap_take_cached(h, LARGEST_BLOCK, got, 3, "malloc"), 0); /* none can be had */
    static const bucket_site site = {"free", "double free", "invalid free"};
    heap_give_cached(got, 3, &site); /* two buckets in one batch */
    expect_heap(h, 2, 0, 2);
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_tune_sets_reserves_and_large_regions)
{
    warden_heap *h = immediate_heap(NULL);
    heap_tune(h, 4 * MiB, 0, 2);
    warden_heap_free(h, warden_heap_alloc(h, 64)); /* no empty region kept for the small buckets */
    expect_heap(h, 0, 0, 0);
    void *big[3];
    for (int i = 0; i < 3; i++)
        big[i] = warden_heap_alloc(h, 3 * MiB); /* one 4 MiB region each */
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(s.regions, 3);
    ck_assert_uint_ge(s.mapped_bytes, 12 * MiB);
    for (int i = 0; i < 3; i++)
        warden_heap_free(h, big[i]);
    expect_heap(h, 2, 0, 2); /* two kept for the large bucket */
    warden_heap_destroy(h);
}
END_TEST

START_TEST(test_purge_counts_free_blocks_of_two_pages)
{
    warden_heap *h = immediate_heap(NULL);
    char *a = warden_heap_alloc(h, 100 * KiB), *b = warden_heap_alloc(h, 100 * KiB);
    char *c = warden_heap_alloc(h, 64), *d = warden_heap_alloc(h, 64);
    warden_heap_free(h, a);
    warden_heap_free(h, c); /* 80 bytes: too small to give a page back */
    warden_heap_stats s;
    warden_heap_get_stats(h, &s);
    ck_assert_uint_eq(heap_purge(h), s.free_bytes - 80);
    expect_heap(h, 2, 2, 4); /* headers and links survive */
    char *again = warden_heap_alloc(h, 100 * KiB);
    ck_assert_ptr_eq(again, a);
    memset(again, 7, 100 * KiB); /* the pages come back on use */
    warden_heap_free(h, again);
    warden_heap_free(h, b);
    warden_heap_free(h, d);
    expect_heap(h, 2, 0, 2);
    warden_heap_destroy(h);
}
END_TEST

static void add_block(void *payload, size_t usable, void *ctx)
{
    size_t *seen = ctx;
    (void)payload;
    seen[0]++;
    seen[1] += usable;
}

START_TEST(test_walk_visits_handed_out_blocks_only)
{
    warden_heap_config c = {.quarantine_bytes = 1024};
    warden_heap *h = warden_heap_create(&c);
    void *a = warden_heap_alloc(h, 64), *b = warden_heap_alloc(h, 64);
    void *big = warden_heap_alloc(h, 20 * KiB);
    block *cached;
    ck_assert_uint_eq(heap_take_cached(h, 64, &cached, 1, "malloc"), 1);
    warden_heap_free(h, b); /* quarantined: not the user's */
    size_t seen[2] = {0, 0};
    heap_walk(h, add_block, seen);
    ck_assert_uint_eq(seen[0], 2);
    ck_assert_uint_eq(seen[1], block_usable(block_of_payload(a)) + block_usable(block_of_payload(big)));
    static const bucket_site site = {"free", "double free", "invalid free"};
    heap_give_cached(&cached, 1, &site);
    warden_heap_free(h, a);
    warden_heap_free(h, big);
    seen[0] = seen[1] = 0;
    heap_walk(h, add_block, seen);
    ck_assert_uint_eq(seen[0], 0);
    expect_heap(h, 2, 0, -1);
    warden_heap_destroy(h);
}
END_TEST

/* As around fork: every lock taken, then every lock given back (a lock
 * left held would hang the next allocation). */
START_TEST(test_lock_all_then_unlock_all)
{
    warden_heap *h = immediate_heap(NULL);
    heap_lock_all(h);
    heap_unlock_all(h);
    for (size_t size = 64; size <= 64 * KiB; size *= 8)
        warden_heap_free(h, warden_heap_alloc(h, size));
    expect_heap(h, 4, 0, 4);
    warden_heap_destroy(h);
}
END_TEST

static Suite *heap_suite(void)
{
    Suite *s = suite_create("heap");
    TCase *config = tcase_create("config");
    tcase_add_test(config, test_create_defaults);
    tcase_add_test(config, test_create_rejects_bad_configs);
    tcase_add_test(config, test_custom_buckets_and_region_size);
    tcase_add_test(config, test_heaps_are_independent);
    suite_add_tcase(s, config);
    TCase *blocks = tcase_create("blocks");
    tcase_add_test(blocks, test_split_on_alloc);
    tcase_add_test(blocks, test_coalesce_with_next);
    tcase_add_test(blocks, test_coalesce_with_prev);
    tcase_add_test(blocks, test_reuse_is_first_fit_of_the_class);
    suite_add_tcase(s, blocks);
    TCase *realloc_ = tcase_create("realloc");
    tcase_add_test(realloc_, test_realloc_shrinks_in_place);
    tcase_add_test(realloc_, test_realloc_grows_into_free_next);
    tcase_add_test(realloc_, test_realloc_moves_when_next_is_live);
    tcase_add_test(realloc_, test_realloc_changes_bucket_only_when_size_belongs_there);
    tcase_add_test(realloc_, test_realloc_null_and_failure);
    suite_add_tcase(s, realloc_);
    TCase *sizes = tcase_create("sizes");
    tcase_add_test(sizes, test_size_zero_is_unique);
    tcase_add_test(sizes, test_null_pointer_is_no_block);
    tcase_add_test(sizes, test_impossible_sizes_are_enomem);
    tcase_add_test(sizes, test_calloc_zeroes_reused_memory);
    tcase_add_test(sizes, test_alignment_powers_of_two);
    tcase_add_test(sizes, test_alignment_must_be_power_of_two);
    tcase_add_test(sizes, test_alignment_front_is_freed);
    suite_add_tcase(s, sizes);
    TCase *regions = tcase_create("regions");
    tcase_set_timeout(regions, 60);
    tcase_add_test(regions, test_empty_regions_are_returned_but_one);
    tcase_add_test(regions, test_boundary_loop_does_not_thrash);
    tcase_add_test(regions, test_large_allocation_gets_its_own_region);
    tcase_add_test(regions, test_small_blocks_cost_at_most_40_bytes);
    suite_add_tcase(s, regions);
    TCase *refused = tcase_create("refused");
    tcase_add_test(refused, test_create_refused_is_enomem);
    tcase_add_test(refused, test_region_refused_is_enomem);
    suite_add_tcase(s, refused);
    TCase *quarantine = tcase_create("quarantine");
    tcase_add_test(quarantine, test_quarantine_holds_then_evicts_oldest);
    tcase_add_test(quarantine, test_quarantine_smaller_than_a_block_holds_nothing);
    tcase_add_test(quarantine, test_quarantine_default_follows_the_build);
    suite_add_tcase(s, quarantine);
    TCase *above = tcase_create("above");
    tcase_add_test(above, test_cached_batches_round_trip);
    tcase_add_test(above, test_tune_sets_reserves_and_large_regions);
    tcase_add_test(above, test_purge_counts_free_blocks_of_two_pages);
    tcase_add_test(above, test_walk_visits_handed_out_blocks_only);
    tcase_add_test(above, test_lock_all_then_unlock_all);
    suite_add_tcase(s, above);
    return s;
}

int main(void)
{
    return testutil_run(heap_suite());
}
