/* testutil.h — what every warden test suite shares: running one Check suite
 * as a program, asserting a heap's counts and invariants, running code that
 * must abort and capturing what it printed, and a seeded random source. */
#ifndef WARDEN_TESTUTIL_H
#define WARDEN_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include <warden.h>

#include "common.h"

#include "sanitize.h"

/* Like ck_assert_msg, but silent when it holds: Check records every passing
 * ck_assert in its result stream, which a loop over every byte would flood. */
#define require(cond, ...)            \
    do {                              \
        if (!(cond))                  \
            ck_abort_msg(__VA_ARGS__); \
    } while (0)

/* Takes the test program's arguments: none natively; on wasm32-wasi
 * "--abort-case N" (see tests/wasm/testutil_wasi.c). */
void testutil_args(int argc, char **argv);

/* Runs the suite (CK_ENV verbosity); the exit status of a test program. */
int testutil_run(Suite *suite);

/* Asserts warden_heap_check passes, then the counts that are not -1. */
void testutil_expect_heap(warden_heap *heap, long regions, long live_blocks, long free_blocks,
                          const char *file, int line);
#define expect_heap(heap, regions, live, free_) \
    testutil_expect_heap((heap), (regions), (live), (free_), __FILE__, __LINE__)
#define expect_heap_ok(heap) expect_heap((heap), -1, -1, -1)

/* Runs fn(arg) in a child process with stderr captured; asserts the child
 * died of SIGABRT and that its stderr holds `expected`. */
void testutil_expect_abort(void (*fn)(void *), void *arg, const char *expected, const char *file,
                           int line);
#define expect_abort(fn, arg, expected) testutil_expect_abort((fn), (arg), (expected), __FILE__, __LINE__)

/* warden_heap_create with c's settings (NULL: defaults) and no quarantine,
 * so that frees coalesce at once in every build, sanitizer builds too. */
static inline warden_heap *immediate_heap(const warden_heap_config *c)
{
    warden_heap_config cfg = {0};
    if (c)
        cfg = *c;
    cfg.flags |= WARDEN_HEAP_NO_QUARANTINE;
    return warden_heap_create(&cfg);
}

/* Overwrites n bytes at p on purpose (a test playing the buggy program),
 * opening them first so ASan/Memcheck builds let the write through. */
static inline void scribble(void *p, int byte, size_t n)
{
    san_meta_open(p, n);
    memset(p, byte, n);
}

#endif /* WARDEN_TESTUTIL_H */
