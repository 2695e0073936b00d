/* test_malloc_threads.c — libwarden-malloc under threads: blocks handed
 * between threads (a producer/consumer queue, and a shared table every thread
 * swaps its blocks into, freeing what it takes out), threads that exit with
 * full caches, and fork while other threads allocate. Every block carries a
 * pattern derived from its address and size, checked before its free; every
 * test ends with warden_check_all, which also runs while threads work. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "malloc_testutil.h"

#define KiB ((size_t)1024)

/* Mostly small, some medium, a few large: sizes a program would ask for. */
static size_t random_size(rng *r)
{
    uint64_t x = rng_next(r) % 1000;
    if (x < 700)
        return rng_below(r, 257);
    if (x < 950)
        return 257 + rng_below(r, 4096);
    if (x < 995)
        return 4353 + rng_below(r, 60 * KiB);
    return 64 * KiB + rng_below(r, 400 * KiB);
}

/* A block and its size, filled with the pattern of its address and size. */
typedef struct block {
    unsigned char *p;
    size_t n;
} block;

static block block_new(size_t n)
{
    block b = {malloc(n), n};
    if (b.p)
        pattern_fill(b.p, n, block_seed(b.p, n));
    return b;
}

/* Checks b's pattern; 0 when intact. Frees it either way. */
static int block_check_free(block b)
{
    int ok = pattern_mismatch(b.p, b.n, block_seed(b.p, b.n)) == (size_t)-1;
    free(b.p);
    return ok ? 0 : -1;
}

/* Reallocates b, checks the kept prefix, refills for the new address. */
static int block_realloc(block *b, size_t n)
{
    unsigned char *q = realloc(b->p, n);
    if (!q && n)
        return -1;
    if (!q) { /* realloc(p, 0) freed it: glibc semantics */
        b->p = NULL;
        b->n = 0;
        return 0;
    }
    size_t keep = b->n < n ? b->n : n;
    int ok = pattern_mismatch(q, keep, block_seed(b->p, b->n)) == (size_t)-1;
    b->p = q;
    b->n = n;
    pattern_fill(q, n, block_seed(q, n));
    return ok ? 0 : -1;
}

/* ---- producer/consumer through a queue -------------------------------------------- */

enum { QUEUE_CAP = 1024, PRODUCERS = 3, CONSUMERS = 3, PER_PRODUCER = 200000 };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    block items[QUEUE_CAP];
    size_t head, count;
    int producers_left;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {{0}}, 0, 0, 0};

static atomic_long bad_blocks, failed_allocs, consumed;

static void queue_push(block b)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.count == QUEUE_CAP)
        pthread_cond_wait(&queue.not_full, &queue.lock);
    queue.items[(queue.head + queue.count++) % QUEUE_CAP] = b;
    pthread_cond_signal(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
}

/* 0 when the queue is drained and every producer is done. */
static int queue_pop(block *out)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.count == 0 && queue.producers_left > 0)
        pthread_cond_wait(&queue.not_empty, &queue.lock);
    int got = queue.count > 0;
    if (got) {
        *out = queue.items[queue.head];
        queue.head = (queue.head + 1) % QUEUE_CAP;
        queue.count--;
        pthread_cond_signal(&queue.not_full);
    }
    pthread_mutex_unlock(&queue.lock);
    return got;
}

static void *producer(void *arg)
{
    rng r = {(uint64_t)(uintptr_t)arg * 7919 + 1};
    block mine[64] = {{0}}; /* some blocks it keeps, reallocs and frees itself */
    for (int i = 0; i < PER_PRODUCER; i++) {
        block b = block_new(random_size(&r));
        if (!b.p && b.n) {
            atomic_fetch_add(&failed_allocs, 1);
            continue;
        }
        if (i % 8 == 0) {
            size_t k = rng_below(&r, 64);
            if (mine[k].p && block_realloc(&mine[k], random_size(&r)) != 0)
                atomic_fetch_add(&bad_blocks, 1);
            if (mine[k].p && block_check_free(mine[k]) != 0)
                atomic_fetch_add(&bad_blocks, 1);
            mine[k] = b;
            continue;
        }
        queue_push(b);
    }
    for (int k = 0; k < 64; k++)
        if (mine[k].p && block_check_free(mine[k]) != 0)
            atomic_fetch_add(&bad_blocks, 1);
    pthread_mutex_lock(&queue.lock);
    queue.producers_left--;
    pthread_cond_broadcast(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    block b;
    while (queue_pop(&b)) {
        if (block_check_free(b) != 0)
            atomic_fetch_add(&bad_blocks, 1);
        atomic_fetch_add(&consumed, 1);
    }
    return NULL;
}

START_TEST(test_producer_consumer_queue)
{
    queue.producers_left = PRODUCERS;
    pthread_t t[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, producer, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < CONSUMERS; i++)
        ck_assert_int_eq(pthread_create(&t[PRODUCERS + i], NULL, consumer, NULL), 0);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_int_eq(atomic_load(&failed_allocs), 0);
    ck_assert_int_eq(atomic_load(&bad_blocks), 0);
    ck_assert_int_gt(atomic_load(&consumed), PRODUCERS * PER_PRODUCER / 2);
    expect_all_sound();
}
END_TEST

/* ---- a shared table: each thread frees blocks others allocated ----------------- */

enum { SLOTS = 4096, STRIPES = 64, SWAPPERS = 6, SWAPS = 200000 };

static struct {
    pthread_mutex_t lock[STRIPES];
    block slot[SLOTS];
} table;

static void *swapper(void *arg)
{
    rng r = {(uint64_t)(uintptr_t)arg * 104729 + 3};
    for (int i = 0; i < SWAPS; i++) {
        block b = block_new(random_size(&r));
        if (!b.p && b.n) {
            atomic_fetch_add(&failed_allocs, 1);
            continue;
        }
        size_t k = rng_below(&r, SLOTS);
        pthread_mutex_t *m = &table.lock[k % STRIPES];
        pthread_mutex_lock(m);
        block old = table.slot[k];
        table.slot[k] = b;
        pthread_mutex_unlock(m);
        if (old.p) {
            /* a block of another thread, most likely: grow or shrink it now and then */
            if (i % 16 == 0 && block_realloc(&old, random_size(&r)) != 0)
                atomic_fetch_add(&bad_blocks, 1);
            if (old.p && block_check_free(old) != 0)
                atomic_fetch_add(&bad_blocks, 1);
        }
    }
    return NULL;
}

START_TEST(test_threads_free_each_others_blocks)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&table.lock[i], NULL);
    pthread_t t[SWAPPERS];
    for (int i = 0; i < SWAPPERS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, swapper, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < SWAPPERS; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_int_eq(atomic_load(&failed_allocs), 0);
    ck_assert_int_eq(atomic_load(&bad_blocks), 0);
    expect_all_sound();
    /* the main thread frees what is left: blocks of threads that are gone */
    long left = 0;
    for (int k = 0; k < SLOTS; k++)
        if (table.slot[k].p) {
            left++;
            require(block_check_free(table.slot[k]) == 0, "slot %d's block %p was damaged", k,
                    (void *)table.slot[k].p);
        }
    ck_assert_int_gt(left, SLOTS / 2);
    expect_all_sound();
}
END_TEST

/* ---- threads that exit with full caches ------------------------------------------- */

enum { WAVES = 10, PER_WAVE = 10, KEPT = 256 };

/* what a thread of a wave leaves behind for the main thread to free */
static block leftovers[WAVES * PER_WAVE][KEPT];
/* blocks the main thread allocates for the threads of a wave to free */
static block handed_in[WAVES * PER_WAVE][KEPT];

static void *cache_filler(void *arg)
{
    size_t id = (size_t)(uintptr_t)arg;
    rng r = {id * 31 + 17};
    static const size_t sizes[] = {1, 8, 16, 24, 32, 48, 64, 80, 96, 128, 160, 200, 256, 384, 512, 768,
                                   1024, 1500, 2048, 3000, 4096, 6000, 8192, 12000, 16384, 40000};
    enum { NSIZES = sizeof sizes / sizeof *sizes };
    block held[NSIZES * 8];
    for (int round = 0; round < 20; round++) {
        /* many blocks of many sizes, all freed again: the cache fills */
        for (size_t i = 0; i < NSIZES * 8; i++) {
            held[i] = block_new(sizes[i % NSIZES] + rng_below(&r, 8));
            if (!held[i].p)
                atomic_fetch_add(&failed_allocs, 1);
        }
        for (size_t i = 0; i < NSIZES * 8; i++)
            if (held[i].p && block_check_free(held[i]) != 0)
                atomic_fetch_add(&bad_blocks, 1);
    }
    for (size_t k = 0; k < KEPT; k++) /* blocks of the main thread, freed here */
        if (handed_in[id][k].p && block_check_free(handed_in[id][k]) != 0)
            atomic_fetch_add(&bad_blocks, 1);
    for (size_t k = 0; k < KEPT; k++) /* blocks that outlive this thread */
        leftovers[id][k] = block_new(sizes[k % NSIZES]);
    /* and a last burst of frees, so the cache is full when the thread exits */
    for (size_t i = 0; i < NSIZES * 8; i++)
        held[i] = block_new(sizes[i % NSIZES]);
    for (size_t i = 0; i < NSIZES * 8; i++)
        free(held[i].p);
    return NULL;
}

START_TEST(test_thread_exit_with_full_caches)
{
    for (int wave = 0; wave < WAVES; wave++) {
        pthread_t t[PER_WAVE];
        for (int i = 0; i < PER_WAVE; i++) {
            size_t id = (size_t)(wave * PER_WAVE + i);
            for (size_t k = 0; k < KEPT; k++)
                handed_in[id][k] = block_new(16 + (k * 13) % 700);
            ck_assert_int_eq(pthread_create(&t[i], NULL, cache_filler, (void *)(uintptr_t)id), 0);
        }
        for (int i = 0; i < PER_WAVE; i++)
            ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(atomic_load(&bad_blocks), 0);
        expect_all_sound();
        /* free the leftovers of the previous wave: their threads are gone */
        if (wave > 0)
            for (int i = 0; i < PER_WAVE; i++)
                for (size_t k = 0; k < KEPT; k++) {
                    block *b = &leftovers[(wave - 1) * PER_WAVE + i][k];
                    require(b->p != NULL, "a leftover block was NULL");
                    require(block_check_free(*b) == 0, "leftover %p of an exited thread was damaged",
                            (void *)b->p);
                    b->p = NULL;
                }
    }
    /* the main thread reuses what the exited threads gave back */
    static block again[20000];
    for (int i = 0; i < 20000; i++)
        require((again[i] = block_new((size_t)(i % 300) * 7 + 1)).p != NULL, "malloc");
    for (int i = 0; i < PER_WAVE; i++)
        for (size_t k = 0; k < KEPT; k++)
            require(block_check_free(leftovers[(WAVES - 1) * PER_WAVE + i][k]) == 0, "leftover damaged");
    for (int i = 0; i < 20000; i++)
        require(block_check_free(again[i]) == 0, "block %d damaged", i);
    ck_assert_int_eq(atomic_load(&failed_allocs), 0);
    expect_all_sound();
}
END_TEST

/* Threads created detached, exiting on their own with full caches while the
 * main thread keeps allocating. */
static atomic_int detached_done;
static void *detached_filler(void *arg)
{
    (void)arg;
    block b[300];
    for (int i = 0; i < 300; i++)
        b[i] = block_new((size_t)(i * 11) % 2000 + 1);
    for (int i = 0; i < 300; i++)
        if (b[i].p && block_check_free(b[i]) != 0)
            atomic_fetch_add(&bad_blocks, 1);
    atomic_fetch_add(&detached_done, 1);
    return NULL;
}

START_TEST(test_detached_threads_exit_with_full_caches)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 100; i++) {
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, &attr, detached_filler, NULL), 0);
        block b = block_new((size_t)i * 40 + 1);
        require(block_check_free(b) == 0, "main thread's block damaged");
    }
    pthread_attr_destroy(&attr);
    for (int spin = 0; atomic_load(&detached_done) < 100 && spin < 30000; spin++)
        usleep(1000);
    ck_assert_int_eq(atomic_load(&detached_done), 100);
    usleep(100 * 1000); /* let the last ones finish exiting */
    ck_assert_int_eq(atomic_load(&bad_blocks), 0);
    expect_all_sound();
}
END_TEST

/* Thread-specific data whose destructors allocate and free at thread exit,
 * after (or before) the allocator's own per-thread teardown: the second
 * round is forced by setting the key again from the destructor. */
static pthread_key_t exit_key;
static atomic_int destructor_rounds;

static void exit_key_destructor(void *v)
{
    block *b = v;
    if (block_check_free(*b) != 0)
        atomic_fetch_add(&bad_blocks, 1);
    int second = b->n == 777;
    free(b);
    block tmp[50];
    for (int i = 0; i < 50; i++)
        tmp[i] = block_new((size_t)i * 29 + 1);
    for (int i = 0; i < 50; i++)
        if (!tmp[i].p || block_check_free(tmp[i]) != 0)
            atomic_fetch_add(&bad_blocks, 1);
    atomic_fetch_add(&destructor_rounds, 1);
    if (!second) { /* once more, with a block allocated here */
        block *again = malloc(sizeof *again);
        if (!again) {
            atomic_fetch_add(&failed_allocs, 1);
            return;
        }
        *again = block_new(777);
        pthread_setspecific(exit_key, again);
    }
}

static void *keyed_thread(void *arg)
{
    (void)arg;
    block *b = malloc(sizeof *b);
    if (!b) {
        atomic_fetch_add(&failed_allocs, 1);
        return NULL;
    }
    *b = block_new(333);
    pthread_setspecific(exit_key, b);
    block burst[200];
    for (int i = 0; i < 200; i++)
        burst[i] = block_new((size_t)(i % 40) * 24 + 1);
    for (int i = 0; i < 200; i++)
        free(burst[i].p);
    return NULL;
}

START_TEST(test_malloc_in_thread_exit_destructors)
{
    ck_assert_int_eq(pthread_key_create(&exit_key, exit_key_destructor), 0);
    for (int wave = 0; wave < 10; wave++) {
        pthread_t t[10];
        for (int i = 0; i < 10; i++)
            ck_assert_int_eq(pthread_create(&t[i], NULL, keyed_thread, NULL), 0);
        for (int i = 0; i < 10; i++)
            ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    }
    ck_assert_int_eq(atomic_load(&destructor_rounds), 200);
    ck_assert_int_eq(atomic_load(&failed_allocs), 0);
    ck_assert_int_eq(atomic_load(&bad_blocks), 0);
    expect_all_sound();
}
END_TEST

/* ---- fork while other threads allocate ---------------------------------------------- */

enum { FORKS = 200, BUSY_THREADS = 3 };
static atomic_int stop_busy;

static void *busy(void *arg)
{
    rng r = {(uint64_t)(uintptr_t)arg * 65537 + 5};
    block mine[128] = {{0}};
    while (!atomic_load_explicit(&stop_busy, memory_order_relaxed)) {
        size_t k = rng_below(&r, 128);
        if (mine[k].p) {
            if (rng_below(&r, 4) == 0) {
                if (block_realloc(&mine[k], random_size(&r)) != 0)
                    atomic_fetch_add(&bad_blocks, 1);
            } else {
                if (block_check_free(mine[k]) != 0)
                    atomic_fetch_add(&bad_blocks, 1);
                mine[k].p = NULL;
            }
        } else {
            mine[k] = block_new(random_size(&r));
        }
    }
    for (int k = 0; k < 128; k++)
        if (mine[k].p && block_check_free(mine[k]) != 0)
            atomic_fetch_add(&bad_blocks, 1);
    return NULL;
}

/* What the child of a fork does: a few hundred mallocs, frees and reallocs,
 * then the checker. Exit status: 0 sound, 1 a damaged block, 2 no memory,
 * 3 warden_check_all failed. */
static block held_across_fork[64];

static void forked_child(int iteration)
{
    alarm(20); /* a deadlock (a lock held by a thread that is gone) dies of SIGALRM */
    /* the blocks the parent held at the fork are intact, and the child may free them */
    for (int i = 0; i < 64; i++)
        if (block_check_free(held_across_fork[i]) != 0)
            _exit(1);
    rng r = {(uint64_t)iteration * 977 + 11};
    block b[300];
    for (int i = 0; i < 300; i++) {
        b[i] = block_new(random_size(&r));
        if (!b[i].p && b[i].n)
            _exit(2);
    }
    for (int i = 0; i < 300; i += 3)
        if (block_realloc(&b[i], random_size(&r)) != 0)
            _exit(1);
    for (int i = 0; i < 300; i++)
        if (b[i].p && block_check_free(b[i]) != 0)
            _exit(1);
    char *s = strdup("the child can use libc's allocating functions too");
    if (!s)
        _exit(2);
    free(s);
#ifndef AGAINST_GLIBC
    char why[512];
    if (warden_check_all(why, sizeof why) != 0) {
        fprintf(stderr, "child %d: warden_check_all: %s\n", iteration, why);
        _exit(3);
    }
#endif
    _exit(0);
}

START_TEST(test_fork_while_threads_allocate)
{
    atomic_store(&stop_busy, 0);
    for (int i = 0; i < 64; i++)
        require((held_across_fork[i] = block_new((size_t)i * 131 + 1)).p != NULL, "malloc");
    pthread_t t[BUSY_THREADS];
    for (int i = 0; i < BUSY_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, busy, (void *)(uintptr_t)(i + 1)), 0);
    int failures = 0;
    char first[160] = "";
    for (int i = 0; i < FORKS; i++) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            forked_child(i);
        /* the parent keeps allocating while the child runs */
        block mine = block_new((size_t)i * 97 + 1);
        require(block_check_free(mine) == 0, "parent block damaged");
        int status = 0;
        pid_t w;
        do
            w = waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
        ck_assert_int_eq(w, pid);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            if (failures++ == 0)
                snprintf(first, sizeof first, "fork %d: child %s %d", i,
                         WIFSIGNALED(status) ? "died of signal" : "exited with status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
    }
    atomic_store(&stop_busy, 1);
    for (int i = 0; i < BUSY_THREADS; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_msg(failures == 0, "%d of %d children failed; first: %s (SIGALRM = %d: a deadlock)", failures,
                  FORKS, first, SIGALRM);
    ck_assert_int_eq(atomic_load(&bad_blocks), 0);
    for (int i = 0; i < 64; i++)
        require(block_check_free(held_across_fork[i]) == 0, "a block held across the forks was damaged");
    expect_all_sound();
}
END_TEST

#ifndef AGAINST_GLIBC
/* warden_check_all while other threads allocate, free and reallocate: it
 * takes each arena as it is and must find every one sound. */
START_TEST(test_check_all_while_threads_allocate)
{
    atomic_store(&stop_busy, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, busy, (void *)(uintptr_t)(i + 10)), 0);
    int bad = 0;
    char first[600] = "";
    for (int i = 0; i < 300; i++) {
        char why[512] = "";
        if (warden_check_all(why, sizeof why) != 0 && bad++ == 0)
            snprintf(first, sizeof first, "call %d: %s", i, why);
        usleep(2000);
    }
    atomic_store(&stop_busy, 1);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_msg(bad == 0, "warden_check_all failed %d of 300 times while threads ran; first %s", bad, first);
    ck_assert_int_eq(atomic_load(&bad_blocks), 0);
    expect_all_sound();
}
END_TEST
#endif

static Suite *malloc_threads_suite(void)
{
    Suite *s = suite_create(
#ifdef AGAINST_GLIBC
        "malloc_threads (glibc)"
#else
        "malloc_threads"
#endif
    );
    TCase *exchange = tcase_create("exchange");
    tcase_add_test(exchange, test_producer_consumer_queue);
    tcase_add_test(exchange, test_threads_free_each_others_blocks);
    tcase_set_timeout(exchange, 240);
    suite_add_tcase(s, exchange);

    TCase *exits = tcase_create("thread_exit");
    tcase_add_test(exits, test_thread_exit_with_full_caches);
    tcase_add_test(exits, test_detached_threads_exit_with_full_caches);
    tcase_add_test(exits, test_malloc_in_thread_exit_destructors);
    tcase_set_timeout(exits, 120);
    suite_add_tcase(s, exits);

    TCase *forks = tcase_create("fork");
    tcase_add_test(forks, test_fork_while_threads_allocate);
#ifndef AGAINST_GLIBC
    tcase_add_test(forks, test_check_all_while_threads_allocate);
#endif
    tcase_set_timeout(forks, 240);
    suite_add_tcase(s, forks);
    return s;
}

int main(void)
{
    return run_suite(malloc_threads_suite(), 0);
}
