/* malloc_testutil.h — what the libwarden-malloc suites share: running a Check
 * suite, the end-of-test soundness check (warden_check_all; a no-op when a
 * suite is built against plain glibc with -DAGAINST_GLIBC), fill patterns
 * derived from a seed, and sizes the compiler cannot see through. */
#ifndef WARDEN_MALLOC_TESTUTIL_H
#define WARDEN_MALLOC_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"

#ifndef AGAINST_GLIBC
#include <warden.h>
#endif

/* Like ck_assert_msg, but silent when it holds: Check records every passing
 * ck_assert in its result stream, which a loop over every size would flood. */
#define require(cond, ...)             \
    do {                               \
        if (!(cond))                   \
            ck_abort_msg(__VA_ARGS__); \
    } while (0)

/* Every arena, thread cache and block of the process is sound. */
#ifdef AGAINST_GLIBC
#define expect_all_sound() ((void)0)
#else
#define expect_all_sound()                                                    \
    do {                                                                      \
        char why_[512] = "";                                                  \
        int rc_ = warden_check_all(why_, sizeof why_);                        \
        ck_assert_msg(rc_ == 0, "warden_check_all returned %d: %s", rc_, why_); \
    } while (0)
#endif

/* Values and pointers laundered through a volatile, so that neither the
 * optimizer nor GCC's -Walloc-size-larger-than / -Wfree-nonheap-object /
 * -Wuse-after-free look at what a test does on purpose. */
static inline size_t opaque_size(size_t n)
{
    volatile size_t v = n;
    return v;
}
static inline void *opaque_ptr(void *p)
{
    void *volatile v = p;
    return v;
}

/* The word at index w of the pattern named by seed (splitmix64). */
static inline uint64_t pattern_word(uint64_t seed, size_t w)
{
    uint64_t x = seed + 0x9e3779b97f4a7c15ull * (uint64_t)(w + 1);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Fills n bytes at p with the pattern of seed; any prefix of it is the
 * pattern of the same seed, so a moved block is checked over min(old, new). */
static inline void pattern_fill(void *p, size_t n, uint64_t seed)
{
    unsigned char *b = p;
    size_t w = 0;
    for (; w * 8 + 8 <= n; w++) {
        uint64_t x = pattern_word(seed, w);
        memcpy(b + w * 8, &x, 8);
    }
    if (w * 8 < n) {
        uint64_t x = pattern_word(seed, w);
        memcpy(b + w * 8, &x, n - w * 8);
    }
}

/* The first offset of n bytes at p that differs from the pattern, or
 * (size_t)-1 when none does. */
static inline size_t pattern_mismatch(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    size_t w = 0;
    for (; w * 8 + 8 <= n; w++) {
        uint64_t x = pattern_word(seed, w);
        if (memcmp(b + w * 8, &x, 8) != 0)
            break;
    }
    for (size_t i = w * 8; i < n; i++) {
        uint64_t x = pattern_word(seed, i / 8);
        if (b[i] != (unsigned char)(x >> (8 * (i % 8))))
            return i;
    }
    return (size_t)-1;
}

/* The seed of a block: its address and size, so that a block checked by
 * another thread proves it was not handed to two owners. */
static inline uint64_t block_seed(const void *p, size_t n)
{
    return (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
}


/* Runs the suite (CK_ENV verbosity; forked unless CK_FORK=no, or always
 * when must_fork); the exit status of a test program. */
static inline int run_suite(Suite *suite, int must_fork)
{
    SRunner *runner = srunner_create(suite);
    if (must_fork)
        srunner_set_fork_status(runner, CK_FORK);
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* WARDEN_MALLOC_TESTUTIL_H */
