/* mstress — mixed sizes with long-lived and transient objects, in the manner
 * of mimalloc's test-stress: in each of 10 rounds, 4 threads (argv[2}) each
 * allocate a retained set that lives for the whole round, then churn a
 * transient array (grown with realloc) with random allocations and frees;
 * sizes run from 16 B to 64 KiB (mostly under 256 B; 1% up to 4 KiB; 0.1% up
 * to 64 KiB); now and then a thread swaps an object with a shared transfer
 * array, so objects outlive their thread and are freed by another one. Every
 * object carries a cookie checked on free. The checksum counts allocations
 * (scheduling-independent); "bad" counts broken cookies. */
#include "wl.h"
#include <pthread.h>
#include <stdatomic.h>

#define TRANSFER 1000
static _Atomic(uintptr_t) transfer[TRANSFER];
static atomic_ullong bad_total;

typedef struct {
  uint64_t rng, allocs, bytes;
  long steps;
} worker;

static size_t pick_size(uint64_t *rng) {
  uint32_t r = wl_below(rng, 1000);
  if (r == 0) return wl_range(rng, 4097, 65536);
  if (r < 10) return wl_range(rng, 257, 4096);
  return wl_range(rng, 16, 256);
}
/* an object: [0] = size, [1] = a cookie of the size, its last word = size again */
static uintptr_t *obj_new(worker *w) {
  size_t n = pick_size(&w->rng) & ~(size_t)7;
  uintptr_t *p = wl_below(&w->rng, 8) == 0 ? wl_calloc(1, n) : wl_malloc(n);
  p[0] = n;
  p[1] = n * 0x9e3779b97f4a7c15ull;
  if (n > 16) p[n / sizeof(uintptr_t) - 1] = n;
  w->allocs++;
  w->bytes += n;
  return p;
}
static void obj_free(uintptr_t *p) {
  if (!p) return;
  size_t n = p[0];
  if (n < 16 || n > 65536 || p[1] != n * 0x9e3779b97f4a7c15ull ||
      (n > 16 && p[n / sizeof(uintptr_t) - 1] != n))
    atomic_fetch_add(&bad_total, 1);
  free(p);
}

static void *run(void *arg) {
  worker *w = arg;
  size_t nretain = wl_range(&w->rng, 100, 600);
  uintptr_t **retain = wl_malloc(nretain * sizeof(*retain));
  for (size_t i = 0; i < nretain; i++) retain[i] = obj_new(w);
  size_t cap = 16, n = 0;
  uintptr_t **data = wl_malloc(cap * sizeof(*data));
  for (long s = 0; s < w->steps; s++) {
    uint32_t r = wl_below(&w->rng, 100);
    if (r < 50 || n == 0) { /* allocate a transient one */
      if (n == cap) data = wl_realloc(data, (cap *= 2) * sizeof(*data));
      data[n++] = obj_new(w);
    } else if (r < 97) { /* free a random transient one */
      size_t i = wl_below(&w->rng, (uint32_t)n);
      obj_free(data[i]);
      data[i] = data[--n];
    } else { /* swap a transient one with the shared transfer array */
      size_t i = wl_below(&w->rng, (uint32_t)n);
      uint32_t t = wl_below(&w->rng, TRANSFER);
      uintptr_t old = atomic_exchange(&transfer[t], (uintptr_t)data[i]);
      data[i] = (uintptr_t *)old; /* may be NULL: n must not depend on timing */
    }
    if (n > 20000) /* shrink the transient set: free the newest half */
      while (n > 10000) obj_free(data[--n]);
  }
  while (n) obj_free(data[--n]);
  free(data);
  for (size_t i = 0; i < nretain; i++) obj_free(retain[i]);
  free(retain);
  return NULL;
}

int main(int argc, char **argv) {
  double scale = wl_scale(argc, argv);
  int nthreads = wl_threads(argc, argv, 4);
  long steps = wl_scaled(2000000, scale) / nthreads;
  pthread_t *tid = wl_malloc(nthreads * sizeof(pthread_t));
  worker *w = wl_calloc(nthreads, sizeof(worker));
  uint64_t allocs = 0, bytes = 0;
  for (int round = 0; round < 10; round++) {
    for (int t = 0; t < nthreads; t++) {
      w[t].rng = (uint64_t)round * 1000 + (uint64_t)t;
      w[t].steps = steps;
      if (pthread_create(&tid[t], NULL, run, &w[t])) wl_die("pthread_create failed");
    }
    for (int t = 0; t < nthreads; t++) pthread_join(tid[t], NULL);
  }
  for (int t = 0; t < nthreads; t++) allocs += w[t].allocs, bytes += w[t].bytes;
  for (int i = 0; i < TRANSFER; i++) obj_free((uintptr_t *)atomic_load(&transfer[i]));
  unsigned long long bad = atomic_load(&bad_total);
  printf("mstress %d %llu %llu bad=%llu\n", nthreads, (unsigned long long)allocs, (unsigned long long)bytes, bad);
  free(tid);
  free(w);
  return bad != 0;
}
