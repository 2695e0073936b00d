/* testutil.c — helpers of testutil.h. */
#define _GNU_SOURCE
#include "testutil.h"

#include "capture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void testutil_args(int argc, char **argv)
{
    (void)argc;
    (void)argv;
}

int testutil_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void testutil_expect_heap(warden_heap *heap, long regions, long live_blocks, long free_blocks,
                          const char *file, int line)
{
    char why[512];
    int rc = warden_heap_check(heap, why, sizeof why);
    ck_assert_msg(rc == 0, "%s:%d: warden_heap_check: %s", file, line, why);
    warden_heap_stats s;
    warden_heap_get_stats(heap, &s);
    if (regions >= 0)
        ck_assert_msg(s.regions == (size_t)regions, "%s:%d: regions %zu, expected %ld", file, line,
                      s.regions, regions);
    if (live_blocks >= 0)
        ck_assert_msg(s.live_blocks == (size_t)live_blocks, "%s:%d: live blocks %zu, expected %ld", file,
                      line, s.live_blocks, live_blocks);
    if (free_blocks >= 0)
        ck_assert_msg(s.free_blocks == (size_t)free_blocks, "%s:%d: free blocks %zu, expected %ld", file,
                      line, s.free_blocks, free_blocks);
}

void testutil_expect_abort(void (*fn)(void *), void *arg, const char *expected, const char *file,
                           int line)
{
    char out[4096];
    int status = run_captured(fn, arg, out, sizeof out);
    ck_assert_int_ne(status, -1);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "%s:%d: expected an abort with \"%s\"; child %s %d, stderr: %s", file, line, expected,
                  WIFSIGNALED(status) ? "died of signal" : "exited with", 
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), out);
    ck_assert_msg(strstr(out, expected) != NULL, "%s:%d: expected \"%s\" in stderr, got: %s", file, line,
                  expected, out);
    ck_assert_msg(strncmp(out, "warden: ", 8) == 0 || strstr(out, "\nwarden: ") != NULL,
                  "%s:%d: no line starting with \"warden: \" in: %s", file, line, out);
}
