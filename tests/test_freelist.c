/* test_freelist.c — size classes and the O(1) fit: every block a fit returns
 * holds the request, classes are ordered, bitmaps follow the lists. */
#include <string.h>

#include "freelist.h"
#include "testutil.h"

static _Alignas(16) unsigned char arena[1 << 20];
static freelist fl;

/* find + remove, as the old take did */
static block *take_fit(uint32_t g)
{
    block *b = freelist_find_fit(&fl, g);
    if (b)
        freelist_remove(&fl, b);
    return b;
}

static block *fake_block(size_t offset, uint32_t g)
{
    block *b = (block *)(arena + offset);
    block_write(b, g, 0, BLOCK_FREE);
    return b;
}

static void setup(void)
{
    memset(&fl, 0, sizeof fl);
}

START_TEST(test_classes_are_monotonic_and_bounded)
{
    unsigned prev = 0;
    for (uint64_t g = BLOCK_MIN_GRANULES; g <= UINT32_MAX; g = g < 4096 ? g + 1 : g + g / 7) {
        unsigned c = freelist_class((uint32_t)g);
        ck_assert_uint_ge(c, prev);
        ck_assert_uint_lt(c, FREELIST_CLASSES);
        prev = c;
    }
    ck_assert_uint_eq(freelist_class(UINT32_MAX), FREELIST_CLASSES - 1);
    for (uint32_t g = 2; g < FREELIST_EXACT; g++)
        ck_assert_uint_eq(freelist_class(g), g);
}
END_TEST

START_TEST(test_fit_always_holds_the_request)
{
    rng r = {0x1234567};
    size_t off = 0;
    for (int i = 0; i < 200; i++) {
        uint32_t g = (uint32_t)(2 + rng_below(&r, 300));
        freelist_push(&fl, fake_block(off, g));
        off += (size_t)g * 16;
    }
    ck_assert_uint_eq(fl.free_blocks, 200);
    for (int i = 0; i < 400; i++) {
        uint32_t want = (uint32_t)(2 + rng_below(&r, 320));
        block *b = take_fit(want);
        if (b) {
            ck_assert_uint_ge(block_size(b), want);
            freelist_push(&fl, b);
        }
    }
    /* drain: every block comes back exactly once */
    size_t n = 0;
    while (take_fit(2))
        n++;
    ck_assert_uint_eq(n, 200);
    ck_assert_uint_eq(fl.free_blocks, 0);
    ck_assert_uint_eq(fl.free_bytes, 0);
    ck_assert_uint_eq(fl.summary, 0);
    for (unsigned w = 0; w < FREELIST_WORDS; w++)
        ck_assert_uint_eq(fl.words[w], 0);
}
END_TEST

START_TEST(test_fit_finds_a_larger_class)
{
    block *big = fake_block(0, 5000);
    freelist_push(&fl, big);
    ck_assert_ptr_eq(take_fit(2), big);
    freelist_push(&fl, big);
    ck_assert_ptr_null(take_fit(5001));
    ck_assert_ptr_eq(take_fit(5000), big); /* its own class, by the short scan */
    /* no class holds every block of UINT32_MAX granules: not even the top
     * one, whose blocks the short scan proves too small */
    block *top = fake_block(0, UINT32_MAX - 1);
    ck_assert_uint_eq(freelist_class(UINT32_MAX - 1), freelist_class(UINT32_MAX));
    freelist_push(&fl, top);
    ck_assert_ptr_null(take_fit(UINT32_MAX));
    ck_assert_ptr_eq(take_fit(UINT32_MAX - 1), top);
}
END_TEST

START_TEST(test_replace_in_place_and_across_classes)
{
    block *a = fake_block(0, 40), *b = fake_block(1024, 40), *c = fake_block(2048, 40);
    freelist_push(&fl, a);
    freelist_push(&fl, b);
    freelist_push(&fl, c); /* class of 40: c b a */
    block *nb = fake_block(4096, 41); /* same class as 40 */
    unsigned cls = freelist_class(40);
    ck_assert_uint_eq(freelist_class(41), cls);
    uint64_t word = fl.words[cls / 64];
    freelist_replace(&fl, b, nb);
    ck_assert_ptr_eq(block_link_next(c), nb);
    ck_assert_ptr_eq(block_link_prev(nb), c);
    ck_assert_ptr_eq(block_link_next(nb), a);
    ck_assert_ptr_eq(block_link_prev(a), nb);
    ck_assert_uint_eq(fl.words[cls / 64], word);
    ck_assert_uint_eq(fl.free_blocks, 3);
    ck_assert_uint_eq(fl.free_bytes, (40 + 40 + 41) * 16);
    block *head = fake_block(8192, 3000); /* another class: moves lists */
    freelist_replace(&fl, c, head);
    ck_assert_ptr_eq(fl.heads[cls], nb);
    ck_assert_ptr_eq(fl.heads[freelist_class(3000)], head);
    ck_assert_uint_eq(fl.free_blocks, 3);
    ck_assert_uint_eq(fl.free_bytes, (40 + 41 + 3000) * 16);
}
END_TEST

START_TEST(test_remove_from_middle)
{
    block *a = fake_block(0, 4), *b = fake_block(64, 4), *c = fake_block(128, 4);
    freelist_push(&fl, a);
    freelist_push(&fl, b);
    freelist_push(&fl, c); /* list: c b a */
    freelist_remove(&fl, b);
    ck_assert_ptr_eq(block_link_next(c), a);
    ck_assert_ptr_eq(block_link_prev(a), c);
    freelist_remove(&fl, c);
    ck_assert_ptr_eq(fl.heads[4], a);
    freelist_remove(&fl, a);
    ck_assert_ptr_null(fl.heads[4]);
    ck_assert_uint_eq(fl.summary, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("freelist");
    TCase *tc = tcase_create("freelist");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_classes_are_monotonic_and_bounded);
    tcase_add_test(tc, test_fit_always_holds_the_request);
    tcase_add_test(tc, test_fit_finds_a_larger_class);
    tcase_add_test(tc, test_remove_from_middle);
    tcase_add_test(tc, test_replace_in_place_and_across_classes);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
