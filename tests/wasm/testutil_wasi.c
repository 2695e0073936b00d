/* testutil_wasi.c — testutil.h and the check.h shim for wasm32-wasi.
 * expect_abort cannot fork here, so each expected abort is a numbered case:
 * a normal run prints "ABORT-CASE <n> <expected words>" and goes on; a run
 * with "--abort-case <n>" replays the suite up to case n and performs it
 * for real. run_wasi.mjs runs every case in its own process and checks
 * that it trapped after printing the expected line. */
#include "testutil.h"

#include <stdarg.h>

static int abort_case_wanted = -1; /* from --abort-case */
static int abort_case_seen;

_Noreturn void shim_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: F: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

Suite *suite_create(const char *name)
{
    Suite *s = calloc(1, sizeof *s);
    s->name = name;
    return s;
}

TCase *tcase_create(const char *name)
{
    TCase *tc = calloc(1, sizeof *tc);
    tc->name = name;
    return tc;
}

void suite_add_tcase(Suite *s, TCase *tc)
{
    TCase **at = &s->cases;
    while (*at)
        at = &(*at)->next;
    *at = tc;
}

void tcase_add_checked_fixture(TCase *tc, shim_fixture setup, shim_fixture teardown)
{
    tc->setup = setup;
    tc->teardown = teardown;
}

void shim_add_test(TCase *tc, shim_fn fn, const char *name, int start, int end)
{
    if (tc->count == 64)
        shim_fail(__FILE__, __LINE__, "too many tests in %s", tc->name);
    tc->tests[tc->count] = fn;
    tc->names[tc->count] = name;
    tc->loop_start[tc->count] = start;
    tc->loop_end[tc->count++] = end;
}

SRunner *srunner_create(Suite *s)
{
    SRunner *sr = calloc(1, sizeof *sr);
    sr->suite = s;
    return sr;
}

void srunner_run_all(SRunner *sr, int mode)
{
    (void)mode;
    int checks = 0;
    printf("Running suite(s): %s (wasm32-wasi, no fork)\n", sr->suite->name);
    for (TCase *tc = sr->suite->cases; tc; tc = tc->next)
        for (int t = 0; t < tc->count; t++)
            for (int i = tc->loop_start[t]; i < tc->loop_end[t]; i++) {
                if (tc->setup)
                    tc->setup();
                tc->tests[t](i);
                if (tc->teardown)
                    tc->teardown();
                checks++;
            }
    printf("100%%: Checks: %d, Failures: 0, Errors: 0\n", checks);
}

int srunner_ntests_failed(SRunner *sr)
{
    return sr->failed;
}

void srunner_free(SRunner *sr)
{
    free(sr);
}

int testutil_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void testutil_expect_abort(void (*fn)(void *), void *arg, const char *expected, const char *file, int line)
{
    int n = abort_case_seen++;
    if (n == abort_case_wanted) {
        fflush(stdout);
        fn(arg);
        shim_fail(file, line, "abort case %d did not abort (expected \"%s\")", n, expected);
    }
    printf("ABORT-CASE %d %s\n", n, expected);
}


void testutil_args(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--abort-case") == 0)
        abort_case_wanted = atoi(argv[2]);
}
