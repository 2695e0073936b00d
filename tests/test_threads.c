/* test_threads.c — a locked heap shared by four threads: each allocates,
 * frees some of its own blocks and hands the rest to its neighbour, which
 * frees them (cross-thread frees). Contents are checked before every free,
 * so a block handed out twice shows. Runs clean under TSan in CI. */
#include <pthread.h>
#include <string.h>

#include "testutil.h"

enum { THREADS = 4, ROUNDS = 200, BATCH = 64 };
/* A box holds all its one producer ever sends: a slow consumer (Valgrind
 * serializes threads) must not make the producer fail. */
enum { MAILBOX = ROUNDS * BATCH / 2 };

typedef struct mailbox {
    pthread_mutex_t lock;
    void *items[MAILBOX];
    size_t sizes[MAILBOX];
    size_t count;
} mailbox;

static warden_heap *shared;
static mailbox boxes[THREADS];

static void fill(unsigned char *p, size_t n, unsigned char tag)
{
    memset(p, tag, n);
}

static void verify_and_free(void *p, size_t n)
{
    unsigned char *c = p;
    unsigned char tag = c[0];
    for (size_t i = 1; i < n; i++)
        require(c[i] == tag, "block %p byte %zu changed under another thread", p, i);
    warden_heap_free(shared, p);
}

static void drain(mailbox *box)
{
    pthread_mutex_lock(&box->lock);
    for (size_t i = 0; i < box->count; i++)
        verify_and_free(box->items[i], box->sizes[i]);
    box->count = 0;
    pthread_mutex_unlock(&box->lock);
}

static void *worker(void *arg)
{
    size_t me = (size_t)arg;
    rng r = {0x9e3779b9u * (me + 1)};
    mailbox *next = &boxes[(me + 1) % THREADS];
    void *mine[BATCH];
    size_t sizes[BATCH];
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < BATCH; i++) {
            size_t pick = rng_below(&r, 10);
            sizes[i] = pick < 6 ? 1 + rng_below(&r, 128) : pick < 9 ? 129 + rng_below(&r, 4000)
                                                                  : 8193 + rng_below(&r, 60000);
            mine[i] = rng_below(&r, 4) ? warden_heap_alloc(shared, sizes[i])
                                       : warden_heap_alloc_aligned(shared, sizes[i], 256);
            require(mine[i] != NULL, "allocation failed");
            fill(mine[i], sizes[i], (unsigned char)(me * 64 + (size_t)i));
        }
        for (int i = 0; i < BATCH; i += 2) /* half freed here, after a realloc of some */
            if (i % 8 == 0) {
                void *q = warden_heap_realloc(shared, mine[i], sizes[i] * 2);
                require(q != NULL, "realloc failed");
                fill(q, sizes[i] * 2, ((unsigned char *)q)[0]);
                verify_and_free(q, sizes[i] * 2);
            } else {
                verify_and_free(mine[i], sizes[i]);
            }
        pthread_mutex_lock(&next->lock); /* the other half freed by the next thread */
        for (int i = 1; i < BATCH; i += 2) {
            require(next->count < MAILBOX, "mailbox full");
            next->items[next->count] = mine[i];
            next->sizes[next->count++] = sizes[i];
        }
        pthread_mutex_unlock(&next->lock);
        drain(&boxes[me]);
    }
    return NULL;
}

START_TEST(test_cross_thread_frees)
{
    shared = immediate_heap(NULL);
    ck_assert_ptr_nonnull(shared);
    for (int i = 0; i < THREADS; i++) {
        pthread_mutex_init(&boxes[i].lock, NULL);
        boxes[i].count = 0;
    }
    pthread_t t[THREADS];
    for (size_t i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)
        drain(&boxes[i]);
    expect_heap(shared, -1, 0, -1);
    warden_heap_stats s;
    warden_heap_get_stats(shared, &s);
    ck_assert_uint_eq(s.live_bytes, 0);
    ck_assert_uint_le(s.regions, 4); /* one kept per bucket */
    warden_heap_destroy(shared);
}
END_TEST

/* The checker may run while other threads allocate. */
static void *checker_thread(void *stop)
{
    char why[256];
    while (!__atomic_load_n((int *)stop, __ATOMIC_ACQUIRE))
        require(warden_heap_check(shared, why, sizeof why) == 0, "%s", why);
    return NULL;
}

START_TEST(test_check_while_allocating)
{
    shared = immediate_heap(NULL);
    for (int i = 0; i < THREADS; i++) {
        pthread_mutex_init(&boxes[i].lock, NULL);
        boxes[i].count = 0;
    }
    int stop = 0;
    pthread_t c, t[THREADS];
    pthread_create(&c, NULL, checker_thread, &stop);
    for (size_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(c, NULL);
    for (int i = 0; i < THREADS; i++)
        drain(&boxes[i]);
    expect_heap(shared, -1, 0, -1);
    warden_heap_destroy(shared);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_cross_thread_frees);
    tcase_add_test(tc, test_check_while_allocating);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
