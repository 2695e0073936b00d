/* bench_bump.c — the bump arena against warden_heap and glibc malloc on a
 * short-lived-program workload: many small objects, few frees, then the
 * program ends (the arena is reset/destroyed, the heap destroyed, glibc's
 * blocks left to exit as a short-lived program would). Each run happens in
 * a fresh child process, so its peak RSS (getrusage of the child) is the
 * allocator's own; allocators run interleaved and figures are medians.
 *
 *   bench_bump [--runs N] [--objects M]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <warden.h>

#include "bench_util.h"

typedef struct request {
    uint32_t size;   /* bytes */
    uint32_t free_at; /* free the object made this many requests earlier, or 0 */
} request;

enum { ALIGN = 8 };

/* 75% of 8-64 B, 20% 65-128 B, 5% 129-2048 B; one request in 10 frees a
 * recent object: a parser, a compiler pass, a request handler. */
static request *make_requests(size_t n)
{
    uint64_t s = 0x2545f4914f6cdd1dull;
    request *r = malloc(n * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = bench_rng(&s), pick = x % 100;
        r[i].size = (uint32_t)(pick < 75 ? 8 + (x >> 8) % 57 : pick < 95 ? 65 + (x >> 8) % 64 : 129 + (x >> 8) % 1920);
        r[i].free_at = (x >> 40) % 10 == 0 && i >= 16 ? (uint32_t)(1 + (x >> 48) % 16) : 0;
    }
    return r;
}

typedef struct live {
    void *p;
    uint32_t size;
} live;

/* The workload on one allocator; returns nanoseconds. */
static double run(int which, const request *r, size_t n)
{
    live *objs = calloc(n, sizeof *objs);
    double t0 = bench_now_ns();
    warden_bump *arena = which == 0 ? warden_bump_create() : NULL;
    warden_heap *heap = which == 1 ? warden_heap_create(NULL) : NULL;
    for (size_t i = 0; i < n; i++) {
        void *p = which == 0 ? warden_bump_alloc(arena, r[i].size, ALIGN)
                  : which == 1 ? warden_heap_alloc(heap, r[i].size)
                               : malloc(r[i].size);
        ((char *)p)[0] = 1;
        objs[i] = (live){p, r[i].size};
        if (r[i].free_at && objs[i - r[i].free_at].p) {
            live *old = &objs[i - r[i].free_at];
            if (which == 0)
                warden_bump_free(arena, old->p, old->size, ALIGN);
            else if (which == 1)
                warden_heap_free(heap, old->p);
            else
                free(old->p);
            old->p = NULL;
        }
    }
    if (which == 0) {
        warden_bump_reset(arena);
        warden_bump_destroy(arena);
    } else if (which == 1) {
        warden_heap_destroy(heap);
    }
    double ns = bench_now_ns() - t0;
    free(objs);
    return ns;
}

static const char *names[] = {"warden_bump", "warden_heap", "glibc malloc", "empty process"};

/* One run in a child: its time through a pipe, its peak RSS from rusage. */
static void run_in_child(int which, const request *r, size_t n, double *ns, double *rss_mib)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        double t = run(which, r, n);
        if (write(fds[1], &t, sizeof t) != (ssize_t)sizeof t)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], ns, sizeof *ns) != (ssize_t)sizeof *ns) {
        fprintf(stderr, "bench_bump: %s run failed\n", names[which]);
        exit(1);
    }
    close(fds[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    *rss_mib = (double)ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv)
{
    int runs = 7;
    size_t n = 2000000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--objects") && i + 1 < argc)
            n = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "bench_bump: unknown argument '%s' (--runs N, --objects M)\n", argv[i]);
            return 2;
        }
    }
    if (runs < 1 || runs > 64 || n < 100 || n > 100000000) {
        fprintf(stderr, "bench_bump: --runs must be 1..64 and --objects 100..100000000\n");
        return 2;
    }
    request *r = make_requests(n);
    double ns[3][64], rss[3][64], base_rss[64];
    for (int k = 0; k < runs; k++) {
        double ignored;
        run_in_child(3, r, 0, &ignored, &base_rss[k]); /* the process itself, no workload */
        for (int a = 0; a < 3; a++)
            run_in_child(a, r, n, &ns[a][k], &rss[a][k]);
    }
    printf("bench_bump: %zu objects (75%% 8-64 B, 20%% 65-128 B, 5%% 129-2048 B), 1 in 10 frees a recent one;\n"
           "each run in its own process, %d runs interleaved, medians\n\n", n, runs);
    printf("  %-14s %10s %12s %14s %16s\n", "allocator", "time", "M allocs/s", "peak RSS", "RSS over empty");
    double base = bench_median(base_rss, (size_t)runs);
    for (int a = 0; a < 3; a++) {
        double t = bench_median(ns[a], (size_t)runs), m = bench_median(rss[a], (size_t)runs);
        printf("  %-14s %8.1f ms %12.1f %10.1f MiB %12.1f MiB\n", names[a], t / 1e6, (double)n / t * 1e3, m,
               m - base);
    }
    free(r);
    return 0;
}
