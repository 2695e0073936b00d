/* test_report.c — the allocation-free formatter and the fatal report line. */
#include <string.h>

#include "report.h"
#include "testutil.h"

START_TEST(test_format_directives)
{
    char buf[128];
    size_t n = report_format(buf, sizeof buf, "%s|%d|%u|%x|%zu|%zx|%p|%%", "str", -42, 42u, 0xbeefu,
                             (size_t)123456789, (size_t)0xabc, (void *)0x1234);
    ck_assert_str_eq(buf, "str|-42|42|beef|123456789|abc|0x1234|%");
    ck_assert_uint_eq(n, strlen(buf));
    const char *volatile none = NULL; /* hidden from the compiler's format check */
    report_format(buf, sizeof buf, "%s %d", none, 0);
    ck_assert_str_eq(buf, "(null) 0");
}
END_TEST

START_TEST(test_format_truncates)
{
    char buf[6];
    size_t n = report_format(buf, sizeof buf, "%s", "abcdefgh");
    ck_assert_str_eq(buf, "abcde");
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(report_format(buf, 0, "x"), 0);
}
END_TEST

/* A directive it does not know ends the text there: the arguments after it
 * would be read as the wrong types. */
START_TEST(test_format_stops_at_unknown_directive)
{
    char buf[32];
    const char *volatile fmt = "ab%d%qcd%s"; /* hidden from the compiler's format check */
    size_t n = report_format(buf, sizeof buf, fmt, 7, "never read");
    ck_assert_str_eq(buf, "ab7");
    ck_assert_uint_eq(n, 3);
}
END_TEST

static void die(void *unused)
{
    (void)unused;
    report_fatal("warden_test_op", (void *)0x10, "fault %zu of %s", (size_t)3, "four");
}

START_TEST(test_fatal_line)
{
    expect_abort(die, NULL, "warden: warden_test_op(0x10): fault 3 of four\n");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, test_format_directives);
    tcase_add_test(tc, test_format_truncates);
    tcase_add_test(tc, test_format_stops_at_unknown_directive);
    tcase_add_test(tc, test_fatal_line);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
