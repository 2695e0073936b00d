/* test_malloc_misuse.c — libwarden-malloc stops a program that misuses the
 * heap: double frees (in the thread cache, non-adjacent, after the block went
 * back to the heap, across threads), frees of pointers it never returned,
 * misaligned and interior pointers, realloc of freed memory, overwritten
 * headers (found by free and by realloc). Each case must die of SIGABRT after
 * exactly one line on stderr, "warden: <op>(<ptr>): <fault>"; the line is
 * checked in a child of the test with stderr captured, the signal by Check
 * itself (raise_signal). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "malloc_testutil.h"
#include "../capture.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

static const char DOUBLE_FREE[] = "double free";
static const char NOT_OURS[] = "invalid free (not a pointer from a warden heap)";
static const char MISALIGNED[] = "invalid free (misaligned pointer)";
static const char NOT_START[] = "invalid free (not the start of a block)";
static const char USE_AFTER_FREE[] = "use after free (block already freed)";
static const char CORRUPT[] = "heap corruption (block header overwritten)";

/* ---- running misuse: once in a child with stderr captured, then here ---------- */

static void do_free(void *p)
{
    free(opaque_ptr(p));
}

static void do_realloc(void *p)
{
    void *volatile q = realloc(opaque_ptr(p), 100);
    (void)q;
}

/* Runs fn(arg) in a child with stderr on a pipe; asserts it died of SIGABRT
 * and that its stderr is exactly "warden: op(arg): fault\n". Then runs
 * fn(arg) in this process (stderr to /dev/null), which must raise SIGABRT
 * for Check. A mismatch is also printed on stderr: Check replaces the
 * message of a test that should have raised a signal with its exit code. */
static void expect_report(void (*fn)(void *), void *arg, const char *op, const void *shown, const char *fault)
{
    char expected[256];
    snprintf(expected, sizeof expected, "warden: %s(%p): %s\n", op, shown, fault);
    char out[4096];
    int status = run_captured(fn, arg, out, sizeof out);
    ck_assert_int_ne(status, -1);
    int aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    if (!aborted || strcmp(out, expected) != 0) {
        char how[64];
        if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "died of signal %d", WTERMSIG(status));
        else
            snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
        fprintf(stderr, "MISMATCH: expected SIGABRT and stderr \"%.*s\\n\"; the child %s, stderr \"%s\"\n",
                (int)strlen(expected) - 1, expected, how, out);
        ck_abort_msg("expected SIGABRT and \"%.*s\"; the child %s, stderr: \"%s\"", (int)strlen(expected) - 1,
                     expected, how, out);
    }
    /* now the signal Check waits for */
    fflush(NULL);
    int devnull = open("/dev/null", O_WRONLY);
    int saved = dup(STDERR_FILENO);
    dup2(devnull, STDERR_FILENO);
    fn(arg);
    dup2(saved, STDERR_FILENO);
    fprintf(stderr, "MISMATCH: %s(%p) returned in the test process\n", op, shown);
}

static void expect_free_report(void *p, const char *fault)
{
    expect_report(do_free, p, "free", p, fault);
}

/* ---- double free ---------------------------------------------------------------------- */

static const size_t df_sizes[] = {1, 16, 64, 100, 500, 1024, 3000, 8192, 20000, 100 * KiB, MiB, 40 * MiB};
#define N_DF_SIZES ((int)(sizeof df_sizes / sizeof *df_sizes))

/* free(a); free(a): a is still in the thread cache */
START_TEST(test_double_free_in_thread_cache)
{
    void *a = malloc(df_sizes[_i]);
    ck_assert_ptr_nonnull(a);
    free(opaque_ptr(a));
    expect_free_report(a, DOUBLE_FREE);
}
END_TEST

/* free(a); free(b); free(a): a is not the last block the cache took */
START_TEST(test_double_free_non_adjacent)
{
    size_t n = df_sizes[_i];
    void *a = malloc(n), *b = malloc(n);
    ck_assert(a && b);
    free(opaque_ptr(a));
    free(opaque_ptr(b));
    expect_free_report(a, DOUBLE_FREE);
}
END_TEST

START_TEST(test_double_free_non_adjacent_other_size)
{
    void *a = malloc(64), *b = malloc(200), *c = malloc(64);
    ck_assert(a && b && c);
    free(opaque_ptr(a));
    free(opaque_ptr(b));
    free(opaque_ptr(c));
    expect_free_report(a, DOUBLE_FREE);
}
END_TEST

/* free(a) then thousands of frees of its size and of others: a has left the
 * thread cache for the heap (and may have merged with its neighbours) */
START_TEST(test_double_free_after_many_frees)
{
    size_t n = df_sizes[_i];
    enum { N = 4096 };
    static void *others[N];
    void *a = malloc(n);
    ck_assert_ptr_nonnull(a);
    int count = n >= MiB ? 16 : N;
    for (int i = 0; i < count; i++)
        require((others[i] = malloc(i % 2 ? n : (size_t)(i % 97) * 16 + 1)) != NULL, "malloc");
    free(opaque_ptr(a));
    for (int i = 0; i < count; i++)
        free(others[i]);
    expect_free_report(a, DOUBLE_FREE);
}
END_TEST

static void *thread_free(void *p)
{
    free(opaque_ptr(p));
    return NULL;
}

/* thread A frees, thread B frees the same block */
static void cross_thread_double_free(void *p)
{
    pthread_t a, b;
    if (pthread_create(&a, NULL, thread_free, p) != 0 || pthread_join(a, NULL) != 0)
        _exit(90);
    if (pthread_create(&b, NULL, thread_free, p) != 0 || pthread_join(b, NULL) != 0)
        _exit(91);
}

START_TEST(test_double_free_across_threads)
{
    void *p = malloc(df_sizes[_i]);
    ck_assert_ptr_nonnull(p);
    expect_report(cross_thread_double_free, p, "free", p, DOUBLE_FREE);
}
END_TEST

/* a thread frees a block of the main thread, the main thread frees it again */
static void thread_then_main_double_free(void *p)
{
    pthread_t a;
    if (pthread_create(&a, NULL, thread_free, p) != 0 || pthread_join(a, NULL) != 0)
        _exit(90);
    free(opaque_ptr(p));
}

START_TEST(test_double_free_thread_then_main)
{
    void *p = malloc(df_sizes[_i]);
    ck_assert_ptr_nonnull(p);
    expect_report(thread_then_main_double_free, p, "free", p, DOUBLE_FREE);
}
END_TEST

/* thread A frees and stays alive (the block may sit in A's cache), then
 * thread B frees the same block */
static atomic_int first_free_done, first_thread_may_exit;

static void *free_and_stay(void *p)
{
    free(opaque_ptr(p));
    atomic_store(&first_free_done, 1);
    while (!atomic_load(&first_thread_may_exit))
        usleep(1000);
    return NULL;
}

static void double_free_while_first_thread_lives(void *p)
{
    pthread_t a, b;
    atomic_store(&first_free_done, 0);
    atomic_store(&first_thread_may_exit, 0);
    if (pthread_create(&a, NULL, free_and_stay, p) != 0)
        _exit(90);
    while (!atomic_load(&first_free_done))
        usleep(1000);
    if (pthread_create(&b, NULL, thread_free, p) != 0 || pthread_join(b, NULL) != 0)
        _exit(91);
    atomic_store(&first_thread_may_exit, 1);
    pthread_join(a, NULL);
}

START_TEST(test_double_free_while_first_thread_lives)
{
    void *p = malloc(df_sizes[_i]);
    ck_assert_ptr_nonnull(p);
    expect_report(double_free_while_first_thread_lives, p, "free", p, DOUBLE_FREE);
}
END_TEST

/* a block of thread A (alive, so its arena owns it) freed by the main thread
 * twice: the first free is a remote one, perhaps still queued */
static atomic_int owner_may_exit;
static void *volatile owned_block;

static void *allocate_and_stay(void *arg)
{
    owned_block = malloc((size_t)(uintptr_t)arg);
    while (!atomic_load(&owner_may_exit))
        usleep(1000);
    return NULL;
}

START_TEST(test_double_free_of_other_threads_block)
{
    pthread_t a;
    owned_block = NULL;
    ck_assert_int_eq(pthread_create(&a, NULL, allocate_and_stay, (void *)(uintptr_t)df_sizes[_i]), 0);
    while (!owned_block)
        usleep(1000);
    void *p = owned_block;
    free(opaque_ptr(p)); /* remote free: the owner is alive */
    expect_free_report(p, DOUBLE_FREE);
}
END_TEST

/* realloc that moved the block freed the old one: freeing it again is a
 * double free; so is free after realloc(p, 0) */
START_TEST(test_free_after_realloc_moved_the_block)
{
    const size_t to[] = {100 * KiB, MiB, 16};
    char *p = malloc(_i == 2 ? 100 * KiB : 64);
    ck_assert_ptr_nonnull(p);
    char *q = realloc(opaque_ptr(p), to[_i]);
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_ne(q, p); /* another size class: it moved */
    expect_free_report(p, DOUBLE_FREE);
}
END_TEST

START_TEST(test_free_after_realloc_to_zero)
{
    void *p = malloc(df_sizes[_i]);
    ck_assert_ptr_nonnull(p);
    void *volatile r = realloc(opaque_ptr(p), opaque_size(0));
    ck_assert_ptr_null(r);
    expect_free_report(p, DOUBLE_FREE);
}
END_TEST

/* ---- pointers warden never returned ---------------------------------------------------- */

static _Alignas(64) char global_buffer[256];

START_TEST(test_free_of_stack_pointer)
{
    _Alignas(64) char local[256];
    memset(local, 0, sizeof local);
    expect_free_report(local, NOT_OURS);
}
END_TEST

START_TEST(test_free_of_global)
{
    expect_free_report(global_buffer + 64, NOT_OURS);
}
END_TEST

START_TEST(test_free_of_never_allocated_memory)
{
    char *page = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(page, MAP_FAILED);
    memset(page, 0, 64);
    expect_free_report(page + 4096 + 16, NOT_OURS);
}
END_TEST

/* ---- misaligned and interior pointers ----------------------------------------------- */

static const struct {
    size_t size, offset;
} misaligned_cases[] = {{64, 1}, {64, 8}, {64, 15}, {1000, 3}, {100 * KiB, 7}, {MiB, 1}, {MiB, 8}};

START_TEST(test_free_of_misaligned_pointer)
{
    char *p = malloc(misaligned_cases[_i].size);
    ck_assert_ptr_nonnull(p);
    expect_free_report(p + misaligned_cases[_i].offset, MISALIGNED);
}
END_TEST

static const struct {
    size_t size, offset;
} interior_cases[] = {{64, 16}, {64, 48}, {1000, 496}, {8192, 4096}, {100 * KiB, 32}, {MiB, 64 * KiB}};

START_TEST(test_free_of_interior_pointer)
{
    char *p = malloc(interior_cases[_i].size);
    ck_assert_ptr_nonnull(p);
    memset(p, 0, interior_cases[_i].size);
    expect_free_report(p + interior_cases[_i].offset, NOT_START);
}
END_TEST

/* ---- realloc of freed memory ----------------------------------------------------- */

START_TEST(test_realloc_of_freed_block_in_cache)
{
    void *a = malloc(df_sizes[_i]);
    ck_assert_ptr_nonnull(a);
    free(opaque_ptr(a));
    expect_report(do_realloc, a, "realloc", a, USE_AFTER_FREE);
}
END_TEST

START_TEST(test_realloc_of_freed_block_after_many_frees)
{
    size_t n = df_sizes[_i];
    enum { N = 4096 };
    static void *others[N];
    void *a = malloc(n);
    ck_assert_ptr_nonnull(a);
    int count = n >= MiB ? 16 : N;
    for (int i = 0; i < count; i++)
        require((others[i] = malloc(n)) != NULL, "malloc");
    free(opaque_ptr(a));
    for (int i = 0; i < count; i++)
        free(others[i]);
    expect_report(do_realloc, a, "realloc", a, USE_AFTER_FREE);
}
END_TEST

/* ---- overwritten headers ---------------------------------------------------------------- */

static const size_t corrupt_sizes[] = {16, 64, 1000, 8192, 100 * KiB, MiB};

START_TEST(test_free_with_overwritten_header)
{
    size_t n = corrupt_sizes[_i];
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    memset(p, 0, n);
    memset((char *)opaque_ptr(p) - 16, 0x41, 16); /* the program underflows its block */
    expect_free_report(p, CORRUPT);
}
END_TEST

START_TEST(test_realloc_with_overwritten_header)
{
    size_t n = corrupt_sizes[_i];
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    memset(p, 0, n);
    memset((char *)opaque_ptr(p) - 16, 0x41, 16);
    expect_report(do_realloc, p, "realloc", p, CORRUPT);
}
END_TEST

START_TEST(test_free_with_overwritten_header_of_cached_neighbour)
{
    /* a's header overwritten while its neighbour sits freed in the cache */
    char *b = malloc(64), *a = malloc(64);
    ck_assert(a && b);
    free(opaque_ptr(b));
    memset((char *)opaque_ptr(a) - 16, 0x41, 16);
    expect_free_report(a, CORRUPT);
}
END_TEST

#define ARRAY_LEN(a) ((int)(sizeof(a) / sizeof *(a)))

static Suite *malloc_misuse_suite(void)
{
    Suite *s = suite_create("malloc_misuse");
    TCase *df = tcase_create("double_free");
    tcase_add_loop_test_raise_signal(df, test_double_free_in_thread_cache, SIGABRT, 0, N_DF_SIZES);
    tcase_add_loop_test_raise_signal(df, test_double_free_non_adjacent, SIGABRT, 0, N_DF_SIZES);
    tcase_add_test_raise_signal(df, test_double_free_non_adjacent_other_size, SIGABRT);
    tcase_add_loop_test_raise_signal(df, test_double_free_after_many_frees, SIGABRT, 0, N_DF_SIZES);
    tcase_add_loop_test_raise_signal(df, test_double_free_across_threads, SIGABRT, 0, N_DF_SIZES);
    tcase_add_loop_test_raise_signal(df, test_double_free_thread_then_main, SIGABRT, 0, N_DF_SIZES);
    tcase_add_loop_test_raise_signal(df, test_double_free_while_first_thread_lives, SIGABRT, 0, N_DF_SIZES);
    tcase_add_loop_test_raise_signal(df, test_double_free_of_other_threads_block, SIGABRT, 0, N_DF_SIZES);
    tcase_add_loop_test_raise_signal(df, test_free_after_realloc_moved_the_block, SIGABRT, 0, 3);
    tcase_add_loop_test_raise_signal(df, test_free_after_realloc_to_zero, SIGABRT, 0, N_DF_SIZES);
    tcase_set_timeout(df, 60);
    suite_add_tcase(s, df);

    TCase *foreign = tcase_create("invalid_free");
    tcase_add_test_raise_signal(foreign, test_free_of_stack_pointer, SIGABRT);
    tcase_add_test_raise_signal(foreign, test_free_of_global, SIGABRT);
    tcase_add_test_raise_signal(foreign, test_free_of_never_allocated_memory, SIGABRT);
    tcase_add_loop_test_raise_signal(foreign, test_free_of_misaligned_pointer, SIGABRT, 0,
                                     ARRAY_LEN(misaligned_cases));
    tcase_add_loop_test_raise_signal(foreign, test_free_of_interior_pointer, SIGABRT, 0,
                                     ARRAY_LEN(interior_cases));
    tcase_set_timeout(foreign, 60);
    suite_add_tcase(s, foreign);

    TCase *uaf = tcase_create("use_after_free");
    tcase_add_loop_test_raise_signal(uaf, test_realloc_of_freed_block_in_cache, SIGABRT, 0, N_DF_SIZES);
    tcase_add_loop_test_raise_signal(uaf, test_realloc_of_freed_block_after_many_frees, SIGABRT, 0, N_DF_SIZES);
    tcase_set_timeout(uaf, 60);
    suite_add_tcase(s, uaf);

    TCase *corrupt = tcase_create("corruption");
    tcase_add_loop_test_raise_signal(corrupt, test_free_with_overwritten_header, SIGABRT, 0,
                                     ARRAY_LEN(corrupt_sizes));
    tcase_add_loop_test_raise_signal(corrupt, test_realloc_with_overwritten_header, SIGABRT, 0,
                                     ARRAY_LEN(corrupt_sizes));
    tcase_add_test_raise_signal(corrupt, test_free_with_overwritten_header_of_cached_neighbour, SIGABRT);
    tcase_set_timeout(corrupt, 60);
    suite_add_tcase(s, corrupt);
    return s;
}

int main(void)
{
    return run_suite(malloc_misuse_suite(), 1);
}
