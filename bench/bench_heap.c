/* bench_heap.c — single-thread alloc/free throughput of warden_heap against
 * glibc malloc on identical, pre-generated workloads. Allocators run
 * interleaved (A B C, A B C, ...) and each figure is the median of --runs
 * runs, so a noisy shared machine moves all of them alike.
 *
 *   bench_heap [--runs N] [--scale K] [--workload NAME] [--no-quarantine]
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <warden.h>

#include "bench_util.h"

/* ---- allocators ------------------------------------------------------------- */

typedef struct allocator {
    const char *name;
    void *(*alloc)(void *ctx, size_t size);
    void (*release)(void *ctx, void *p);
    void *(*open)(void);    /* a fresh context per run, or NULL */
    void (*close)(void *ctx);
} allocator;

static void *libc_alloc(void *ctx, size_t size) { (void)ctx; return malloc(size); }
static void libc_free(void *ctx, void *p) { (void)ctx; free(p); }
static void *libc_open(void) { return NULL; }
static void libc_close(void *ctx) { (void)ctx; malloc_trim(0); }

static void *heap_alloc(void *ctx, size_t size) { return warden_heap_alloc(ctx, size); }
static void heap_free(void *ctx, void *p) { warden_heap_free(ctx, p); }
static unsigned heap_flags; /* WARDEN_HEAP_NO_QUARANTINE with --no-quarantine */
static void *heap_open_locked(void)
{
    warden_heap_config c = {.flags = heap_flags};
    return warden_heap_create(&c);
}
static void *heap_open_nolock(void)
{
    warden_heap_config c = {.flags = WARDEN_HEAP_NO_LOCK | heap_flags};
    return warden_heap_create(&c);
}
static void heap_close(void *ctx) { warden_heap_destroy(ctx); }

static const allocator allocators[] = {
    {"glibc malloc", libc_alloc, libc_free, libc_open, libc_close},
    {"warden_heap", heap_alloc, heap_free, heap_open_locked, heap_close},
    {"warden_heap NO_LOCK", heap_alloc, heap_free, heap_open_nolock, heap_close},
};
enum { ALLOCATORS = sizeof allocators / sizeof allocators[0] };

/* ---- workloads: each returns the number of alloc+free pairs it did --------- */

typedef struct plan {
    size_t n;        /* operations */
    size_t *sizes;   /* request of operation i */
    size_t *slots;   /* slot of operation i (churn), or order (batch) */
} plan;

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint64_t rng(void)
{
    return bench_rng(&rng_state);
}

static void **slots_mem;

/* alloc then free at once: the fast path of both allocators */
static size_t run_pairs(const allocator *a, void *ctx, const plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        char *q = a->alloc(ctx, p->sizes[i]);
        q[0] = (char)i;
        a->release(ctx, q);
    }
    return p->n;
}

/* 1000 blocks allocated, then freed in a shuffled order, again and again */
static size_t run_batch(const allocator *a, void *ctx, const plan *p)
{
    enum { BATCH = 1000 };
    size_t done = 0;
    for (size_t base = 0; base + BATCH <= p->n; base += BATCH) {
        for (size_t i = 0; i < BATCH; i++) {
            slots_mem[i] = a->alloc(ctx, p->sizes[base + i]);
            ((char *)slots_mem[i])[0] = 1;
        }
        for (size_t i = 0; i < BATCH; i++)
            a->release(ctx, slots_mem[p->slots[base + i] % BATCH]);
        done += BATCH;
    }
    return done;
}

/* 10,000 live blocks; each step replaces a random one with a new size */
static size_t run_churn(const allocator *a, void *ctx, const plan *p)
{
    enum { LIVE = 10000 };
    for (size_t i = 0; i < LIVE; i++)
        slots_mem[i] = a->alloc(ctx, p->sizes[i]);
    for (size_t i = LIVE; i < p->n; i++) {
        size_t k = p->slots[i] % LIVE;
        a->release(ctx, slots_mem[k]);
        slots_mem[k] = a->alloc(ctx, p->sizes[i]);
        ((char *)slots_mem[k])[0] = 1;
    }
    for (size_t i = 0; i < LIVE; i++)
        a->release(ctx, slots_mem[i]);
    return p->n;
}

/* 100,000 16-byte blocks, then all freed: the small-object case */
static size_t run_small16(const allocator *a, void *ctx, const plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        slots_mem[i] = a->alloc(ctx, 16);
    for (size_t i = 0; i < p->n; i++)
        a->release(ctx, slots_mem[i]);
    return p->n;
}

typedef struct workload {
    const char *name;
    const char *what;
    size_t n;                     /* operations at scale 1 */
    size_t min_size, max_size;
    size_t (*run)(const allocator *, void *, const plan *);
} workload;

static const workload workloads[] = {
    {"pairs", "alloc+free at once, 16-256 B", 2000000, 16, 256, run_pairs},
    {"batch", "1000 live, freed shuffled, 16-512 B", 2000000, 16, 512, run_batch},
    {"churn", "10k live, random replace, 16-4096 B", 2000000, 16, 4096, run_churn},
    {"small16", "100k x 16 B, then all freed", 100000, 16, 16, run_small16},
};

static plan make_plan(const workload *w, size_t scale)
{
    plan p = {.n = w->n * scale};
    p.sizes = malloc(p.n * sizeof *p.sizes);
    p.slots = malloc(p.n * sizeof *p.slots);
    for (size_t i = 0; i < p.n; i++) {
        p.sizes[i] = w->min_size + (size_t)(rng() % (w->max_size - w->min_size + 1));
        p.slots[i] = (size_t)rng();
    }
    /* batch frees each block of a batch once: make each 1000-run a permutation */
    for (size_t base = 0; base + 1000 <= p.n; base += 1000) {
        for (size_t i = 0; i < 1000; i++)
            p.slots[base + i] = i;
        for (size_t i = 999; i > 0; i--) {
            size_t j = (size_t)(rng() % (i + 1)), t = p.slots[base + i];
            p.slots[base + i] = p.slots[base + j];
            p.slots[base + j] = t;
        }
    }
    if (w->run == run_churn)
        for (size_t i = 0; i < p.n; i++)
            p.slots[i] = (size_t)rng();
    return p;
}

static void bench_workload(const workload *w, int runs, size_t scale)
{
    plan p = make_plan(w, scale);
    double ns[ALLOCATORS][64];
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < ALLOCATORS; k++) {
            const allocator *a = &allocators[k];
            void *ctx = a->open();
            double t0 = bench_now_ns();
            size_t pairs = w->run(a, ctx, &p);
            ns[k][r] = (bench_now_ns() - t0) / (double)pairs;
            a->close(ctx);
        }
    printf("\n%s: %s (%zu ops, median of %d runs)\n", w->name, w->what, p.n, runs);
    double base = 0;
    for (int k = 0; k < ALLOCATORS; k++) {
        double med = bench_median(ns[k], (size_t)runs);
        if (k == 0)
            base = med;
        printf("  %-22s %8.1f ns per alloc+free  %7.2f M pairs/s  %5.2fx glibc time\n", allocators[k].name,
               med, 1e3 / med, med / base);
    }
    free(p.sizes);
    free(p.slots);
}

/* Mapped bytes per live 16-byte allocation, warden against glibc. */
static void footprint16(void)
{
    enum { N = 100000 };
    warden_heap *h = warden_heap_create(NULL);
    warden_heap_stats before, after;
    warden_heap_get_stats(h, &before);
    for (int i = 0; i < N; i++)
        slots_mem[i] = warden_heap_alloc(h, 16);
    warden_heap_get_stats(h, &after);
    double warden_per = (double)after.mapped_bytes / N;
    warden_heap_destroy(h);

    malloc_trim(0);
    struct mallinfo2 m0 = mallinfo2();
    for (int i = 0; i < N; i++)
        slots_mem[i] = malloc(16);
    struct mallinfo2 m1 = mallinfo2();
    /* uordblks: bytes of chunks in use, glibc's per-chunk header included */
    double glibc_per = (double)(m1.uordblks - m0.uordblks) / N;
    for (int i = 0; i < N; i++)
        free(slots_mem[i]);
    printf("\nfootprint: %d live 16-byte allocations: warden_heap %.1f mapped bytes each "
           "(heap object included), glibc %.1f bytes of in-use chunks each\n", N, warden_per, glibc_per);
}

int main(int argc, char **argv)
{
    int runs = 7;
    size_t scale = 1;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--workload") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--no-quarantine"))
            heap_flags = WARDEN_HEAP_NO_QUARANTINE;
        else {
            fprintf(stderr, "bench_heap: unknown argument '%s' (--runs N, --scale K, --workload NAME, --no-quarantine)\n",
                    argv[i]);
            return 2;
        }
    }
    if (runs < 1 || runs > 64 || scale < 1 || scale > 100) {
        fprintf(stderr, "bench_heap: --runs must be 1..64 and --scale 1..100\n");
        return 2;
    }
    slots_mem = malloc(200000 * scale * sizeof *slots_mem);
    printf("bench_heap: single thread, %d runs per allocator, interleaved\n", runs);
    int matched = 0;
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
        if (!only || !strcmp(only, workloads[i].name)) {
            bench_workload(&workloads[i], runs, scale);
            matched = 1;
        }
    if (!matched) {
        fprintf(stderr, "bench_heap: unknown workload '%s' (pairs, batch, churn, small16)\n", only);
        return 2;
    }
    footprint16();
    free(slots_mem);
    return 0;
}
