/* larson — a server in the manner of Larson & Krishnan's benchmark: threads
 * (default 4) each own an array of 1000 slots and replace a random slot with
 * a block of random size 8–1000 bytes, again and again. Every 2000
 * replacements (a phase) the arrays move on to the next live thread, and
 * after 16 phases (a round) the threads exit and new ones take the arrays, so
 * about 40% of the frees are of blocks another thread allocated (some of them
 * a thread that has exited).
 * Each array carries its own PRNG, so the work and the checksum do not depend
 * on scheduling. Throughput goes to stderr. */
#include "wl.h"
#include <pthread.h>
#include <time.h>

#define SLOTS 1000
#define MINSZ 8
#define MAXSZ 1000
#define PHASES 16

typedef struct {
  void *slot[SLOTS];
  uint32_t size[SLOTS];
  uint64_t tag[SLOTS];
  uint64_t rng, bytes, bad, seq;
} array;

typedef struct {
  array **arrays;
  int nthreads, index, round;
  long steps;
  pthread_barrier_t *barrier;
} job;

static void work(array *a, long steps) {
  for (long s = 0; s < steps; s++) {
    uint32_t i = wl_below(&a->rng, SLOTS);
    if (a->slot[i]) {
      if (!wl_check(a->slot[i], a->size[i], a->tag[i])) a->bad++;
      free(a->slot[i]);
    }
    uint32_t n = wl_range(&a->rng, MINSZ, MAXSZ);
    a->slot[i] = wl_malloc(n);
    a->size[i] = n;
    a->tag[i] = ++a->seq;
    wl_mark(a->slot[i], n, a->seq);
    a->bytes += n;
  }
}

static void *thread_main(void *arg) {
  job *j = arg;
  int t = j->nthreads;
  for (int p = 0; p < PHASES; p++) {
    work(j->arrays[(j->index + (long)j->round * PHASES + p) % t], j->steps);
    pthread_barrier_wait(j->barrier); /* hand the arrays on to the next live thread */
  }
  return NULL;
}

int main(int argc, char **argv) {
  double scale = wl_scale(argc, argv);
  int nthreads = wl_threads(argc, argv, 4);
  long rounds = wl_scaled(200, scale), steps = 2000;
  array **arrays = wl_malloc(nthreads * sizeof(array *));
  for (int t = 0; t < nthreads; t++) {
    arrays[t] = wl_calloc(1, sizeof(array));
    arrays[t]->rng = 1000 + t;
  }
  pthread_t *tid = wl_malloc(nthreads * sizeof(pthread_t));
  job *jobs = wl_malloc(nthreads * sizeof(job));
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long r = 0; r < rounds; r++) {
    for (int t = 0; t < nthreads; t++) {
      jobs[t] = (job){arrays, nthreads, t, (int)r, steps, &barrier};
      if (pthread_create(&tid[t], NULL, thread_main, &jobs[t])) wl_die("pthread_create failed");
    }
    for (int t = 0; t < nthreads; t++) pthread_join(tid[t], NULL);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  uint64_t bytes = 0, bad = 0;
  for (int t = 0; t < nthreads; t++) {
    array *a = arrays[t];
    for (int i = 0; i < SLOTS; i++)
      if (a->slot[i]) {
        if (!wl_check(a->slot[i], a->size[i], a->tag[i])) a->bad++;
        free(a->slot[i]);
      }
    bytes += a->bytes;
    bad += a->bad;
    free(a);
  }
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  long ops = rounds * PHASES * steps * nthreads;
  fprintf(stderr, "larson: %d threads, %.2f M malloc+free pairs/s\n", nthreads, (double)ops / secs * 1e-6);
  printf("larson %d %ld %llu bad=%llu\n", nthreads, ops, (unsigned long long)bytes, (unsigned long long)bad);
  pthread_barrier_destroy(&barrier);
  free(arrays);
  free(tid);
  free(jobs);
  return bad != 0;
}
