/* glibc_bench — batches of same-sized small blocks, in the manner of glibc's
 * benchtests bench-malloc-simple: allocate a batch of 25, 100, 400 or 1600
 * blocks of 16, 32, 64, 128 or 256 bytes, touch each, free them all in
 * allocation order, and go round all 20 combinations again and again.
 * Built as glibc_simple (1 thread) and glibc_thread (THREADS=2, the same
 * work split between the threads); argv[2] overrides the thread count. */
#include "wl.h"
#include <pthread.h>

#ifndef THREADS
#define THREADS 1
#endif

static const int batches[] = {25, 100, 400, 1600};
static const int sizes[] = {16, 32, 64, 128, 256};

typedef struct {
  long pairs;
  uint64_t sum;
} worker;

static void *run(void *arg) {
  worker *w = arg;
  unsigned char **p = wl_malloc(1600 * sizeof(*p));
  long done = 0;
  while (done < w->pairs)
    for (int b = 0; b < 4; b++)
      for (int s = 0; s < 5; s++) {
        int n = batches[b], size = sizes[s];
        for (int reps = 3200 / n; reps > 0; reps--) {
          for (int i = 0; i < n; i++) {
            p[i] = wl_malloc((size_t)size);
            p[i][0] = (unsigned char)i;
            WL_ESCAPE(p[i]);
          }
          for (int i = 0; i < n; i++) {
            w->sum += p[i][0];
            free(p[i]);
          }
          done += n;
        }
      }
  free(p);
  return NULL;
}

int main(int argc, char **argv) {
  double scale = wl_scale(argc, argv);
  int nthreads = wl_threads(argc, argv, THREADS);
  long pairs = wl_scaled(25000000, scale) / nthreads;
  pthread_t *tid = wl_malloc(nthreads * sizeof(pthread_t));
  worker *w = wl_calloc(nthreads, sizeof(worker));
  for (int t = 0; t < nthreads; t++) {
    w[t].pairs = pairs;
    if (pthread_create(&tid[t], NULL, run, &w[t])) wl_die("pthread_create failed");
  }
  uint64_t sum = 0;
  for (int t = 0; t < nthreads; t++) {
    pthread_join(tid[t], NULL);
    sum += w[t].sum;
  }
  printf("glibc_bench %d %ld %llu\n", nthreads, pairs, (unsigned long long)sum);
  free(tid);
  free(w);
  return 0;
}
