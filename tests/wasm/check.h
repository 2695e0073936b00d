/* check.h (wasm) — the part of the Check framework warden's suites use,
 * for wasm32-wasi where Check (fork, timers) does not exist. Tests run in
 * one process, in order; the first failed assertion prints its place and
 * ends the program with status 1. Built only by the WASI test targets. */
#ifndef WARDEN_WASM_CHECK_H
#define WARDEN_WASM_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK_ENV 0
#define CK_ATTRIBUTE_UNUSED __attribute__((unused))

typedef void (*shim_fn)(int);
typedef void (*shim_fixture)(void);

typedef struct TCase {
    const char *name;
    shim_fn tests[64];
    const char *names[64];
    int loop_start[64], loop_end[64];
    int count;
    shim_fixture setup, teardown;
    struct TCase *next;
} TCase;

typedef struct Suite {
    const char *name;
    TCase *cases;
} Suite;

typedef struct SRunner {
    Suite *suite;
    int failed;
} SRunner;

Suite *suite_create(const char *name);
TCase *tcase_create(const char *name);
void suite_add_tcase(Suite *s, TCase *tc);
void tcase_add_checked_fixture(TCase *tc, shim_fixture setup, shim_fixture teardown);
void shim_add_test(TCase *tc, shim_fn fn, const char *name, int start, int end);
#define tcase_add_test(tc, fn) shim_add_test((tc), (fn), #fn, 0, 1)
#define tcase_add_loop_test(tc, fn, s, e) shim_add_test((tc), (fn), #fn, (s), (e))
#define tcase_set_timeout(tc, t) ((void)(tc), (void)(t))
SRunner *srunner_create(Suite *s);
void srunner_run_all(SRunner *sr, int mode);
int srunner_ntests_failed(SRunner *sr);
void srunner_free(SRunner *sr);

_Noreturn void shim_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define START_TEST(name) static void name(int _i CK_ATTRIBUTE_UNUSED) {
#define END_TEST }

#define ck_abort_msg(...) shim_fail(__FILE__, __LINE__, __VA_ARGS__)
#define ck_assert_msg(cond, ...) ((cond) ? (void)0 : shim_fail(__FILE__, __LINE__, __VA_ARGS__))
#define ck_assert(cond) ck_assert_msg((cond), "Assertion '%s' failed", #cond)
#define SHIM_CMP(T, fmt, X, OP, Y)                                                               \
    do {                                                                                         \
        T x_ = (X);                                                                              \
        T y_ = (Y);                                                                              \
        ck_assert_msg(x_ OP y_, "Assertion '%s %s %s' failed: " fmt ", " fmt, #X, #OP, #Y, x_, y_); \
    } while (0)
#define ck_assert_int_eq(X, Y) SHIM_CMP(intmax_t, "%jd", X, ==, Y)
#define ck_assert_int_ne(X, Y) SHIM_CMP(intmax_t, "%jd", X, !=, Y)
#define ck_assert_int_ge(X, Y) SHIM_CMP(intmax_t, "%jd", X, >=, Y)
#define ck_assert_int_gt(X, Y) SHIM_CMP(intmax_t, "%jd", X, >, Y)
#define ck_assert_int_le(X, Y) SHIM_CMP(intmax_t, "%jd", X, <=, Y)
#define ck_assert_int_lt(X, Y) SHIM_CMP(intmax_t, "%jd", X, <, Y)
#define ck_assert_uint_eq(X, Y) SHIM_CMP(uintmax_t, "%ju", X, ==, Y)
#define ck_assert_uint_ne(X, Y) SHIM_CMP(uintmax_t, "%ju", X, !=, Y)
#define ck_assert_uint_ge(X, Y) SHIM_CMP(uintmax_t, "%ju", X, >=, Y)
#define ck_assert_uint_gt(X, Y) SHIM_CMP(uintmax_t, "%ju", X, >, Y)
#define ck_assert_uint_le(X, Y) SHIM_CMP(uintmax_t, "%ju", X, <=, Y)
#define ck_assert_uint_lt(X, Y) SHIM_CMP(uintmax_t, "%ju", X, <, Y)
#define ck_assert_ptr_eq(X, Y) SHIM_CMP(const void *, "%p", X, ==, Y)
#define ck_assert_ptr_ne(X, Y) SHIM_CMP(const void *, "%p", X, !=, Y)
#define ck_assert_ptr_null(X) ck_assert_ptr_eq((X), NULL)
#define ck_assert_ptr_nonnull(X) ck_assert_ptr_ne((X), NULL)
#define ck_assert_str_eq(X, Y) ck_assert_msg(strcmp((X), (Y)) == 0, "'%s' != '%s'", (X), (Y))

#endif /* WARDEN_WASM_CHECK_H */
