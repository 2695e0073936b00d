/* test_block.c — block headers: sizes, the seal over every field, the
 * request-to-granules rounding. */
#include "block.h"
#include "testutil.h"

static _Alignas(16) unsigned char arena[4096];

START_TEST(test_seal_covers_every_field)
{
    integrity_init();
    block *b = (block *)arena;
    block_write(b, 5, 3, BLOCK_FREE);
    ck_assert(block_is_sealed(b));
    block_hdr h = block_load(b), bad;
    bad = h, bad.size_ ^= 1;
    block_store(b, bad);
    ck_assert(!block_is_sealed(b));
    bad = h, bad.prev_size_ ^= 0x100; /* the boundary tag is proved against the neighbour, not sealed */
    block_store(b, bad);
    ck_assert(block_is_sealed(b));
    bad = h, bad.flags_ ^= BLOCK_FREE;
    block_store(b, bad);
    ck_assert(!block_is_sealed(b));
    bad = h, bad.flags_ ^= BLOCK_QUARANTINED;
    block_store(b, bad);
    ck_assert(!block_is_sealed(b));
    bad = h, bad.flags_ |= BLOCK_MARK | (7u << BLOCK_SLACK_SHIFT); /* scratch and slack: not sealed */
    block_store(b, bad);
    ck_assert(block_is_sealed(b));
    block_store(b, h);
    ck_assert(block_is_sealed(b));
    /* the same fields at another address do not carry the same seal */
    block *c = (block *)(arena + 16);
    block_store(c, block_load(b));
    ck_assert(!block_is_sealed(c));
}
END_TEST

/* A thread cache's state: one xor of the live seal, told apart from both
 * live and damaged; entering twice (a double free) is refused. */
START_TEST(test_cache_state)
{
    integrity_init();
    block *b = (block *)(arena + 256);
    block_write(b, 4, 0, block_live_flags(48, 40));
    ck_assert_uint_eq(block_cache_enter(b), 4);
    ck_assert(block_is_sealed(b));
    ck_assert_uint_eq(block_flags(b) & BLOCK_STATE, BLOCK_CACHED);
    ck_assert_uint_eq(block_cache_enter(b), 0); /* double free: nothing written */
    ck_assert_uint_eq(block_flags(b) & BLOCK_STATE, BLOCK_CACHED);
    block_cache_leave(b, 33);
    ck_assert(block_is_sealed(b));
    ck_assert_uint_eq(block_flags(b) & BLOCK_STATE, 0);
    ck_assert_uint_eq(block_requested(b), 33);
    /* a cached header with its size changed is damage, not a double free */
    ck_assert_uint_eq(block_cache_enter(b), 4);
    block_hdr h = block_load(b);
    h.size_ = 5;
    block_store(b, h);
    ck_assert(!block_is_sealed(b));
    ck_assert_uint_eq(block_cache_enter(b), 0);
    /* a free block cannot enter */
    block_write(b, 4, 0, BLOCK_FREE);
    ck_assert_uint_eq(block_cache_enter(b), 0);
}
END_TEST

/* A live block's request is rewritten in place: the slack changes, the seal
 * does not need to; a block with any state bit is not live. */
START_TEST(test_live_and_requested)
{
    integrity_init();
    block *b = (block *)(arena + 512);
    block_write(b, 4, 0, block_live_flags(48, 40));
    ck_assert(block_is_live(b));
    block_set_requested(b, 17);
    ck_assert(block_is_sealed(b));
    ck_assert(block_is_live(b));
    ck_assert_uint_eq(block_requested(b), 17);
    ck_assert_uint_eq(block_usable(b), 48);
    block_hdr h = block_load(b), bad = h;
    bad.size_ = 3; /* damaged: not live */
    block_store(b, bad);
    ck_assert(!block_is_live(b));
    block_store(b, h);
    block_set_flags(b, BLOCK_QUARANTINED);
    ck_assert(block_is_sealed(b));
    ck_assert(!block_is_live(b));
    block_set_flags(b, BLOCK_FREE);
    ck_assert(!block_is_live(b));
}
END_TEST

START_TEST(test_sizes_and_links)
{
    block *b = (block *)arena;
    block_write(b, 4, 0, 0);
    ck_assert_uint_eq(block_bytes(b), 64);
    ck_assert_uint_eq(block_usable(b), 48);
    ck_assert_ptr_eq(block_next(b), (block *)(arena + 64));
    ck_assert_ptr_eq(block_payload(b), arena + 16);
    ck_assert_ptr_eq(block_of_payload(arena + 16), b);
    block *n = block_next(b);
    block_write(n, 2, 4, 0);
    ck_assert_ptr_eq(block_prev(n), b);
}
END_TEST

START_TEST(test_granules_for)
{
    ck_assert_uint_eq(block_granules_for(0), BLOCK_MIN_GRANULES);
    ck_assert_uint_eq(block_granules_for(1), 2);
    ck_assert_uint_eq(block_granules_for(16), 2);
    ck_assert_uint_eq(block_granules_for(17), 3);
    ck_assert_uint_eq(block_granules_for(100), 8);
    ck_assert_uint_eq(block_granules_for(SIZE_MAX), 0);
    ck_assert_uint_eq(block_granules_for(((size_t)UINT32_MAX << 4)), 0);
    ck_assert_uint_eq(block_granules_for(((size_t)UINT32_MAX << 4) - 32), UINT32_MAX - 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("block");
    TCase *tc = tcase_create("block");
    tcase_add_test(tc, test_seal_covers_every_field);
    tcase_add_test(tc, test_cache_state);
    tcase_add_test(tc, test_live_and_requested);
    tcase_add_test(tc, test_sizes_and_links);
    tcase_add_test(tc, test_granules_for);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
