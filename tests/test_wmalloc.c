/* test_wmalloc.c — the malloc layer through its own names (wmalloc_*), so
 * it runs under TSan and ASan, which own `malloc`: threads exchanging
 * blocks through queues (remote frees) with contents checked, threads that
 * end with full caches giving every block back, producer/consumer memory
 * staying bounded, the checker after it all; the options parser; and the
 * checkers of the thread caches, central caches and guard pool, each shown
 * a damaged structure and asserted to name the fault. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "central.h"
#include "guard.h"
#include "options.h"
#include "platform.h"
#include "front.h"
#include "wmalloc.h"

#define require(cond, ...)             \
    do {                               \
        if (!(cond))                   \
            ck_abort_msg(__VA_ARGS__); \
    } while (0)

static void expect_sound(void)
{
    char why[256] = "";
    int rc = wmalloc_check_all(why, sizeof why);
    ck_assert_msg(rc == 0, "check_all: %s", why);
}

/* Blocks the program holds, or a thread cache: handed out by the heaps and
 * not held by a central cache. */
static size_t live_blocks(void)
{
    wmalloc_info i;
    wmalloc_get_info(&i);
    return i.live_blocks - i.cached_blocks;
}

/* ---- a queue of blocks between threads --------------------------------------- */

enum { QUEUE = 1024 };
typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned char *items[QUEUE];
    size_t sizes[QUEUE];
    size_t head, count;
    int closed;
} queue;

static void queue_put(queue *q, unsigned char *p, size_t n)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == QUEUE)
        pthread_cond_wait(&q->changed, &q->lock);
    size_t at = (q->head + q->count++) % QUEUE;
    q->items[at] = p;
    q->sizes[at] = n;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

/* 0 once the queue is closed and empty. */
static int queue_get(queue *q, unsigned char **p, size_t *n)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->changed, &q->lock);
    int got = q->count > 0;
    if (got) {
        *p = q->items[q->head];
        *n = q->sizes[q->head];
        q->head = (q->head + 1) % QUEUE;
        q->count--;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->lock);
    return got;
}

static void queue_close(queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

static unsigned char tag_of(const void *p, size_t n)
{
    return (unsigned char)(((uintptr_t)p >> 4) ^ n ^ 0x5a);
}

static unsigned char *make(size_t n)
{
    unsigned char *p = wmalloc_malloc(n);
    require(p != NULL, "malloc(%zu) failed", n);
    memset(p, tag_of(p, n), n);
    return p;
}

static void verify_free(unsigned char *p, size_t n)
{
    unsigned char t = tag_of(p, n);
    for (size_t i = 0; i < n; i++)
        require(p[i] == t, "block %p of %zu bytes changed at %zu", (void *)p, n, i);
    wmalloc_free(p);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* ---- producers and consumers ---------------------------------------------------- */

enum { PAIRS = 2, ITEMS = 200000 };
static queue queues[PAIRS];

static void *producer(void *arg)
{
    queue *q = arg;
    uint64_t s = (uintptr_t)arg | 1;
    for (int i = 0; i < ITEMS; i++) {
        size_t n = (size_t)(next_rand(&s) % 4 == 0 ? next_rand(&s) % 20000 : next_rand(&s) % 600);
        queue_put(q, make(n), n);
        if (i % 7 == 0) { /* some frees of its own, too */
            unsigned char *own = make(n);
            verify_free(own, n);
        }
    }
    queue_close(q);
    return NULL;
}

static void *consumer(void *arg)
{
    queue *q = arg;
    unsigned char *p;
    size_t n;
    while (queue_get(q, &p, &n))
        verify_free(p, n); /* a remote free: the block is the producer's arena's */
    char why[256] = "";
    require(wmalloc_check_all(why, sizeof why) == 0, "consumer's check: %s", why);
    return NULL;
}

START_TEST(test_producer_consumer)
{
    wmalloc_init();
    size_t before = live_blocks();
    pthread_t t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        pthread_mutex_init(&queues[i].lock, NULL);
        pthread_cond_init(&queues[i].changed, NULL);
        pthread_create(&t[2 * i], NULL, producer, &queues[i]);
        pthread_create(&t[2 * i + 1], NULL, consumer, &queues[i]);
    }
    for (int i = 0; i < 2 * PAIRS; i++)
        pthread_join(t[i], NULL);
    expect_sound();
    /* every thread ended: its cache and remote buffer went home */
    ck_assert_uint_eq(live_blocks(), before);
    wmalloc_info info;
    wmalloc_get_info(&info);
    if (!SAN_ANY) /* where a tool watches, every free takes the heap's lock instead */
        ck_assert_uint_gt(info.caches.remote_blocks, 0);
    /* bounded: the producers reused what the consumers sent home */
    ck_assert_msg(info.mapped < ((size_t)192 << 20), "mapped %zu bytes", info.mapped);
}
END_TEST

/* ---- every thread frees some of every other's blocks ------------------------------ */

enum { RING = 4, ROUNDS = 300, BATCH = 64 };
static queue ring[RING];

static void *ring_worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t s = (uint64_t)me * 7919 + 1;
    queue *out = &ring[(me + 1) % RING], *in = &ring[me];
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < BATCH; i++) {
            size_t n = (size_t)(next_rand(&s) % 1100);
            unsigned char *p = make(n);
            if (i % 2)
                verify_free(p, n);
            else
                queue_put(out, p, n);
        }
        unsigned char *p;
        size_t n;
        for (int i = 0; i < BATCH / 2; i++)
            if (queue_get(in, &p, &n))
                verify_free(p, n);
    }
    return NULL;
}

START_TEST(test_ring_exchange)
{
    wmalloc_init();
    size_t before = live_blocks();
    pthread_t t[RING];
    for (int i = 0; i < RING; i++) {
        pthread_mutex_init(&ring[i].lock, NULL);
        pthread_cond_init(&ring[i].changed, NULL);
    }
    for (int i = 0; i < RING; i++)
        pthread_create(&t[i], NULL, ring_worker, (void *)(intptr_t)i);
    for (int i = 0; i < RING; i++)
        pthread_join(t[i], NULL);
    expect_sound();
    unsigned char *p;
    size_t n;
    for (int i = 0; i < RING; i++)
        while (ring[i].count && queue_get(&ring[i], &p, &n))
            verify_free(p, n);
    expect_sound();
    ck_assert_uint_le(live_blocks(), before + 64 * TCACHE_CLASSES); /* the main thread's cache at most */
}
END_TEST

/* ---- threads that end with full caches --------------------------------------------- */

static void *fill_and_end(void *arg)
{
    uint64_t s = (uintptr_t)arg | 1;
    unsigned char *keep[300];
    size_t sizes[300];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 300; i++)
            keep[i] = make(sizes[i] = (size_t)(next_rand(&s) % 1024));
        for (int i = 0; i < 300; i++)
            verify_free(keep[i], sizes[i]);
    }
    return NULL;
}

START_TEST(test_thread_exit_returns_cache)
{
    wmalloc_init();
    size_t before = live_blocks();
    for (int wave = 0; wave < 10; wave++) {
        pthread_t t[10];
        for (int i = 0; i < 10; i++)
            pthread_create(&t[i], NULL, fill_and_end, (void *)(intptr_t)(wave * 10 + i + 1));
        for (int i = 0; i < 10; i++)
            pthread_join(t[i], NULL);
    }
    expect_sound();
    ck_assert_uint_eq(live_blocks(), before);
    wmalloc_info info;
    wmalloc_get_info(&info);
    ck_assert_uint_le(info.caches.caches, 12); /* parked caches are reused: not one per thread */
}
END_TEST

/* ---- single-thread semantics the interposed build cannot show under a sanitizer --- */

START_TEST(test_sizes_and_errno)
{
    errno = 0;
    ck_assert_ptr_null(wmalloc_malloc((size_t)PTRDIFF_MAX + 1));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(front_calloc(SIZE_MAX / 2, 3));
    ck_assert_int_eq(errno, ENOMEM);
    void *p = NULL;
    ck_assert_int_eq(front_posix_memalign(&p, 24, 8), EINVAL);
    ck_assert_ptr_null(p);
    errno = 1234;
    for (size_t a = 1; a <= ((size_t)1 << 20); a <<= 1) {
        unsigned char *q = front_memalign(a, 100);
        ck_assert_ptr_nonnull(q);
        ck_assert_uint_eq((uintptr_t)q % a, 0);
        ck_assert_uint_ge(wmalloc_usable_size(q), 100);
        memset(q, 1, 100);
        wmalloc_free(q);
    }
    ck_assert_int_eq(errno, 1234);
    /* realloc keeps contents across the cache/heap boundary both ways */
    unsigned char *r = make(16);
    memset(r, 7, 16);
    for (size_t n = 16; n < ((size_t)1 << 22); n *= 3) {
        r = wmalloc_realloc(r, n);
        ck_assert_ptr_nonnull(r);
        for (size_t i = 0; i < 16; i++)
            require(r[i] == 7, "byte %zu lost growing to %zu", i, n);
    }
    r = wmalloc_realloc(r, 10);
    require(r[9] == 7, "byte lost shrinking");
    ck_assert_ptr_null(wmalloc_realloc(r, 0)); /* frees */
    expect_sound();
}
END_TEST

/* ---- options ------------------------------------------------------------------------ */

START_TEST(test_options)
{
    options o;
    char err[400];
    options_defaults(&o);
    ck_assert_uint_eq(o.tcache, 1);
    ck_assert_str_eq(o.log_path, "");
    ck_assert_int_eq(options_parse(&o, "arenas=3:tcache=0,stats=true tcache_bytes=64k", err, sizeof err), 0);
    ck_assert_uint_eq(o.arenas, 3);
    ck_assert_uint_eq(o.tcache, 0);
    ck_assert_uint_eq(o.stats, 1);
    ck_assert_uint_eq(o.tcache_bytes, 65536);
    ck_assert_int_eq(options_parse(&o, "", err, sizeof err), 0);
    ck_assert_int_eq(options_parse(&o, NULL, err, sizeof err), 0);
    ck_assert_int_eq(options_parse(&o, "arenas=2:bogus=1", err, sizeof err), -1);
    ck_assert_str_eq(err, "WARDEN_OPTIONS: unknown key 'bogus' (keys: help, verbose, stats, arenas, tcache, "
                          "tcache_bytes, central_bytes, pool_bytes, large_reserve, redzone, quarantine_bytes, junk_alloc, "
                          "junk_free, junk_bytes, stack_depth, check_every, guard_rate, guard_slots, guard_markers, detect_leaks, leak_reachable, "
                          "halt_on_error, exitcode, symbolize, log_path)");
    ck_assert_uint_eq(o.arenas, 3); /* a failed parse changes nothing */
    ck_assert_int_eq(options_parse(&o, "arenas=65", err, sizeof err), -1);
    ck_assert_str_eq(err, "WARDEN_OPTIONS: bad value '65' for arenas (accepts an integer 0..64)");
    ck_assert_int_eq(options_parse(&o, "tcache=maybe", err, sizeof err), -1);
    ck_assert_str_eq(err, "WARDEN_OPTIONS: bad value 'maybe' for tcache (accepts 0 or 1)");
    ck_assert_int_eq(options_parse(&o, "tcache_bytes=1x", err, sizeof err), -1);
    ck_assert_int_eq(options_parse(&o, "tcache_bytes=99999999999999999999999", err, sizeof err), -1);
    ck_assert_int_eq(options_parse(&o, "stats", err, sizeof err), -1);
    ck_assert_str_eq(err, "WARDEN_OPTIONS: key 'stats' has no value (write stats=VALUE)");
    ck_assert_int_eq(options_parse(&o, "arenas=", err, sizeof err), -1);
    ck_assert_int_eq(options_parse(&o, "=1", err, sizeof err), -1);
    /* PATH values: copied out of the text, bounded, printable */
    ck_assert_int_eq(options_parse(&o, "log_path=/tmp/w.log:redzone=32", err, sizeof err), 0);
    ck_assert_str_eq(o.log_path, "/tmp/w.log");
    ck_assert_uint_eq(o.redzone, 32);
    char longer[400] = "log_path=";
    memset(longer + 9, 'a', 300);
    ck_assert_int_eq(options_parse(&o, longer, err, sizeof err), -1);
    ck_assert_str_eq(o.log_path, "/tmp/w.log");
    ck_assert_int_eq(options_parse(&o, "log_path=", err, sizeof err), -1);
    ck_assert_str_eq(err, "WARDEN_OPTIONS: bad value '' for log_path (accepts a file name of 1..255 bytes)");
    ck_assert_int_eq(options_parse(&o, "redzone=5000", err, sizeof err), -1);
}
END_TEST

/* ---- the checkers, shown damage (white-box: each fault made by hand, then undone) ---- */

/* wmalloc_check_all must fail with a line starting with `words`. */
static void expect_damage(const char *words)
{
    char why[256] = "";
    ck_assert_int_eq(wmalloc_check_all(why, sizeof why), 1);
    ck_assert_msg(strncmp(why, words, strlen(words)) == 0, "check_all said '%s', not '%s'", why, words);
}

/* The bin of this thread's cache that holds block b (of its size class). */
static tcache_bin *bin_of(tcache *tc, const block *b)
{
    return &tc->bins[block_size(b) - 2];
}

static void *allocate_16(void *arg)
{
    (void)arg;
    return wmalloc_malloc(16);
}

START_TEST(test_tcache_check_names_damage)
{
    unsigned char *freed = make(16), *live = make(16);
    wmalloc_free(freed); /* into this thread's cache */
    tcache *tc = wmalloc_self;
    ck_assert(wmalloc_live(tc));
    block *f = block_of_payload(freed), *l = block_of_payload(live);
    tcache_bin *home = bin_of(tc, f), *other = &tc->bins[(block_size(f) - 2 + 5) % TCACHE_CLASSES];
    ck_assert_ptr_eq(home->slots[home->count - 1], f);
    expect_sound();

    home->cap++;
    expect_damage("thread cache: bin count over its cap (");
    ck_assert_int_eq(wmalloc_check_all(NULL, 0), 1); /* no room for words: still found */
    home->cap--;
    home->slots[home->count++] = l; /* a block the program holds */
    expect_damage("thread cache: a slot is not a cached block (");
    home->count--;
    other->slots[other->count++] = f; /* a cached block of another size */
    expect_damage("thread cache: a block sits in the wrong size class (");
    other->count--;
    home->slots[home->count++] = f; /* freed twice, unnoticed */
    expect_damage("thread cache: a block is cached twice (");
    home->count--;
    uint32_t remote = tc->remote_count;
    tc->remote_count = TCACHE_REMOTE + 1;
    expect_damage("thread cache: remote buffer over its size (");
    tc->remote_count = remote;
    tc->remote[tc->remote_count++] = l;
    expect_damage("thread cache: a remote slot is not a cached block (");
    tc->remote_count--;

    /* a block of another arena in a bin: one a thread of another arena made,
     * freed here (it waits in the remote buffer), moved to a bin */
    void *theirs = NULL;
    for (int tries = 0; tries < 3 && (!theirs || region_of(theirs)->heap == tc->heap); tries++) {
        pthread_t t; /* (the next thread's arena is the next round the ring: not this one's, but
                      * after a whole round, when the tests share a process) */
        if (theirs)
            wmalloc_free(theirs);
        pthread_create(&t, NULL, allocate_16, NULL);
        pthread_join(t, &theirs);
        ck_assert_ptr_nonnull(theirs);
    }
    ck_assert_ptr_ne(region_of(theirs)->heap, tc->heap);
    wmalloc_free(theirs);
    ck_assert_ptr_eq(tc->remote[tc->remote_count - 1], block_of_payload(theirs));
    tc->remote_count--;
    tcache_bin *bin = bin_of(tc, block_of_payload(theirs));
    bin->slots[bin->count++] = block_of_payload(theirs);
    expect_damage("thread cache: a block of another arena sits in a bin (");
    bin->count--;
    tc->remote[tc->remote_count++] = block_of_payload(theirs);

    expect_sound();
    wmalloc_free(live);
    wmalloc_trim(0);
    expect_sound();
}
END_TEST

START_TEST(test_central_check_names_damage)
{
    unsigned char *freed = make(48), *live = make(48);
    wmalloc_free(freed);
    tcache *tc = wmalloc_self;
    tcache_flush(tc); /* the block goes to its arena's central cache */
    unsigned arena = 0;
    while (arena_at(arena) != tc->heap)
        arena++;
    central *ct = central_of(tc->heap);
    central_bin *bin = &ct->bins[block_size(block_of_payload(freed)) - 2];
    ck_assert_uint_ge(bin->count, 1); /* with the rest of the refill */
    ck_assert_ptr_eq(bin->slots[bin->count - 1], block_of_payload(freed));
    expect_sound();

    char words[100];
    uint32_t cap = bin->cap;
    bin->cap = 0;
    snprintf(words, sizeof words, "arena %u: central cache: bin %zu over its cap", arena,
             (size_t)(bin - ct->bins));
    expect_damage(words);
    bin->cap = cap;
    bin->slots[bin->count++] = block_of_payload(live); /* a block the program holds */
    snprintf(words, sizeof words, "arena %u: central cache: slot %p is not a cached block of class %zu", arena,
             (void *)block_of_payload(live), (size_t)(bin - ct->bins));
    expect_damage(words);
    bin->count--;

    expect_sound();
    wmalloc_free(live);
    wmalloc_trim(0);
    expect_sound();
    /* arenas are 1..ARENA_MAX */
    ck_assert_int_eq(arena_init(0, 0, 0), -1);
    ck_assert_int_eq(arena_init(ARENA_MAX + 1, 0, 0), -1);
}
END_TEST

/* Blocks of three other arenas freed here, their heaps interleaved and
 * descending: the remote batch is sorted by heap (every insertion moves
 * the ones before it) and each arena's share goes home. */
enum { FOREIGN = 3, EACH = 20 };

static void *allocate_each(void *arg)
{
    unsigned char **out = arg;
    for (int i = 0; i < EACH; i++)
        out[i] = make(32 + (size_t)i * 16);
    return NULL;
}

START_TEST(test_remote_batch_sorted_home)
{
    wmalloc_init();
    size_t before = live_blocks();
    wmalloc_info start;
    wmalloc_get_info(&start);
    unsigned char *made[FOREIGN][EACH];
    for (int k = 0; k < FOREIGN; k++) {
        pthread_t t;
        pthread_create(&t, NULL, allocate_each, made[k]);
        pthread_join(t, NULL);
    }
    /* the arenas by descending heap address */
    int order[FOREIGN] = {0, 1, 2};
    for (int i = 0; i < FOREIGN; i++)
        for (int j = i + 1; j < FOREIGN; j++)
            if ((uintptr_t)region_of(made[order[j]][0])->heap > (uintptr_t)region_of(made[order[i]][0])->heap) {
                int x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
    ck_assert_ptr_ne(region_of(made[order[0]][0])->heap, region_of(made[order[2]][0])->heap);
    for (int i = 0; i < EACH; i++)
        for (int k = 0; k < FOREIGN; k++)
            verify_free(made[order[k]][i], 32 + (size_t)i * 16);
    ck_assert_uint_eq(wmalloc_self->remote_count, FOREIGN * EACH); /* under TCACHE_REMOTE: all waiting */
    expect_sound();
    wmalloc_trim(0); /* the batch goes home */
    wmalloc_info end;
    wmalloc_get_info(&end);
    ck_assert_uint_eq(end.caches.remote_batches - start.caches.remote_batches, 1);
    ck_assert_uint_eq(end.caches.remote_blocks - start.caches.remote_blocks, FOREIGN * EACH);
    ck_assert_uint_eq(wmalloc_self->remote_count, 0);
    ck_assert_uint_eq(live_blocks(), before);
    expect_sound();
}
END_TEST

/* The guard pool, damaged one way in a child of its own (the pool is one
 * per process): guard_check's line, or "sound", through a pipe. */
enum { GUARD_FREE_TWICE, GUARD_FREE_THIRD_AGAIN, GUARD_FREE_UNUSED, GUARD_PROTECT_SOUND };

static void guard_child(int how, int out)
{
    char why[200] = "sound";
    unsigned char *start, *end;
    if (guard_setup(128, 1, how != GUARD_PROTECT_SOUND, 48, why, sizeof why) != 0) /* markers, or mprotect */
        goto done;
    unsigned char *a = guard_alloc(100, 16, &start, &end), *b = guard_alloc(5000, 16, &start, &end);
    if (!a || !b || guard_check(why, sizeof why) != 0)
        goto done;
    if (how == GUARD_FREE_TWICE) { /* the slot's FIFO link points at itself */
        guard_free(a);
        guard_free(a);
    } else if (how == GUARD_FREE_THIRD_AGAIN) { /* the head's link cut: the rest out of the walk */
        guard_free(a);
        guard_free(b);
        guard_free(a);
    } else if (how == GUARD_FREE_UNUSED) { /* a slot never handed out, in the FIFO */
        guard_free((void *)(guard_hi - GUARD_SLOT_PAGES * PLATFORM_PAGE + 64));
    } else { /* no damage: both freed once (b's pages given back but one) */
        guard_free(a);
        guard_free(b);
    }
    guard_check(why, sizeof why);
done:
    platform_exit(write(out, why, strlen(why)) < 0 ? 2 : 0); /* (which writes coverage counts, where kept) */
}

static void expect_guard_check(int how, const char *words)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        guard_child(how, fds[1]);
    }
    close(fds[1]);
    char got[200] = "";
    ssize_t n = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "guard child: status %d", status);
    got[n > 0 ? n : 0] = '\0';
    ck_assert_str_eq(got, words);
}

START_TEST(test_guard_check_names_damage)
{
    expect_guard_check(GUARD_FREE_TWICE, "guard pool: the FIFO holds more slots than it counts");
    expect_guard_check(GUARD_FREE_THIRD_AGAIN, "guard pool: the FIFO holds fewer slots than it counts");
    expect_guard_check(GUARD_FREE_UNUSED, "guard pool: a slot waiting in the FIFO is not a freed one");
    expect_guard_check(GUARD_PROTECT_SOUND, "sound");
}
END_TEST

int main(void)
{
    /* an arena per thread, so producer and consumer never share one */
    setenv("WARDEN_OPTIONS", "arenas=16", 0);
    Suite *s = suite_create("wmalloc");
    TCase *tc = tcase_create("wmalloc");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_sizes_and_errno);
    tcase_add_test(tc, test_producer_consumer);
    tcase_add_test(tc, test_ring_exchange);
    tcase_add_test(tc, test_thread_exit_returns_cache);
    if (WMALLOC_LOCK_FREE) { /* where a tool watches, the caches hold nothing */
        tcase_add_test(tc, test_tcache_check_names_damage);
        tcase_add_test(tc, test_central_check_names_damage);
        tcase_add_test(tc, test_remote_batch_sorted_home);
    }
    tcase_add_test(tc, test_guard_check_names_damage);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
