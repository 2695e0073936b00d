/* alloc_test — random malloc/free/realloc/calloc over a slot array, in the
 * manner of alloc-test: each thread owns 4096 slots and applies random
 * operations to random slots; sizes are mostly small (80% 8–64 B, 15%
 * 65–512 B, 5% 513 B–8 KiB). Reallocs check that the kept prefix survived,
 * callocs that the block is zero. Built twice: alloc_test1 (1 thread) and
 * alloc_test2 (2 threads, each doing the 1-thread work); argv[2] overrides. */
#include "wl.h"
#include <pthread.h>

#ifndef THREADS
#define THREADS 1
#endif
#define SLOTS 4096

typedef struct {
  uint64_t rng, sum, bad;
  long ops;
} worker;

static uint32_t pick_size(uint64_t *rng) {
  uint32_t r = wl_below(rng, 100);
  if (r < 80) return wl_range(rng, 8, 64);
  if (r < 95) return wl_range(rng, 65, 512);
  return wl_range(rng, 513, 8192);
}

static void *run(void *arg) {
  worker *w = arg;
  unsigned char **slot = wl_calloc(SLOTS, sizeof(*slot));
  uint32_t *size = wl_calloc(SLOTS, sizeof(*size));
  for (long k = 0; k < w->ops; k++) {
    uint32_t i = wl_below(&w->rng, SLOTS);
    unsigned char *p = slot[i];
    uint32_t r = wl_below(&w->rng, 16);
    if (!p) {
      uint32_t n = pick_size(&w->rng);
      if (r == 0) {
        p = wl_calloc(1, n);
        if (p[0] | p[n / 2] | p[n - 1]) w->bad++;
      } else {
        p = wl_malloc(n);
      }
      wl_mark(p, n, n);
      slot[i] = p;
      size[i] = n;
    } else if (r < 8) {
      if (!wl_check(p, size[i], size[i])) w->bad++;
      w->sum += size[i];
      free(p);
      slot[i] = NULL;
    } else if (r < 12) { /* realloc: grow or shrink, the kept prefix must survive */
      uint32_t n = pick_size(&w->rng), keep = n < size[i] ? n : size[i];
      p[keep - 1] = 0x5a;
      p = wl_realloc(p, n);
      if (p[0] != wl_tag(size[i]) || p[keep - 1] != 0x5a) w->bad++;
      wl_mark(p, n, n);
      slot[i] = p;
      size[i] = n;
    } else { /* free and allocate again */
      if (!wl_check(p, size[i], size[i])) w->bad++;
      w->sum += size[i];
      free(p);
      uint32_t n = pick_size(&w->rng);
      p = wl_malloc(n);
      wl_mark(p, n, n);
      slot[i] = p;
      size[i] = n;
    }
  }
  for (int i = 0; i < SLOTS; i++)
    if (slot[i]) {
      if (!wl_check(slot[i], size[i], size[i])) w->bad++;
      w->sum += size[i];
      free(slot[i]);
    }
  free(slot);
  free(size);
  return NULL;
}

int main(int argc, char **argv) {
  double scale = wl_scale(argc, argv);
  int nthreads = wl_threads(argc, argv, THREADS);
  long ops = wl_scaled(12000000, scale);
  pthread_t *tid = wl_malloc(nthreads * sizeof(pthread_t));
  worker *w = wl_calloc(nthreads, sizeof(worker));
  for (int t = 0; t < nthreads; t++) {
    w[t].rng = 5 + t;
    w[t].ops = ops;
    if (pthread_create(&tid[t], NULL, run, &w[t])) wl_die("pthread_create failed");
  }
  uint64_t sum = 0, bad = 0;
  for (int t = 0; t < nthreads; t++) {
    pthread_join(tid[t], NULL);
    sum += w[t].sum;
    bad += w[t].bad;
  }
  printf("alloc_test %d %ld %llu bad=%llu\n", nthreads, ops, (unsigned long long)sum, (unsigned long long)bad);
  free(tid);
  free(w);
  return bad != 0;
}
