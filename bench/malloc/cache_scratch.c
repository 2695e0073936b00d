/* cache_scratch — passive false sharing, in the manner of Hoard's
 * cache-scratch: the main thread allocates one small object per thread
 * (likely neighbours on one cache line) and hands one to each thread; each
 * thread frees it, then again and again allocates an object of the same
 * size, writes it many times and frees it. An allocator that gives a thread
 * back the block it just freed (the main thread's neighbour of another
 * thread's) makes the threads fight over one cache line. Default 2 threads
 * (argv[2]), 8-byte objects. */
#include "wl.h"
#include <pthread.h>

#define OBJSIZE 8

typedef struct {
  char *first;
  long iterations, reps;
  uint64_t sum;
} worker;

static void *run(void *arg) {
  worker *w = arg;
  uint64_t sum = 0;
  free(w->first);
  for (long i = 0; i < w->iterations; i++) {
    volatile char *a = wl_malloc(OBJSIZE);
    for (long j = 0; j < w->reps; j++)
      for (int k = 0; k < OBJSIZE; k++) {
        a[k] = (char)(i + j + k);
        sum += (unsigned char)a[k];
      }
    free((void *)a);
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  double scale = wl_scale(argc, argv);
  int nthreads = wl_threads(argc, argv, 2);
  long iterations = wl_scaled(1000, scale);
  pthread_t *tid = wl_malloc(nthreads * sizeof(pthread_t));
  worker *w = wl_calloc(nthreads, sizeof(worker));
  for (int t = 0; t < nthreads; t++) {
    w[t].first = wl_malloc(OBJSIZE);
    w[t].iterations = iterations;
    w[t].reps = 100000;
  }
  for (int t = 0; t < nthreads; t++)
    if (pthread_create(&tid[t], NULL, run, &w[t])) wl_die("pthread_create failed");
  uint64_t sum = 0;
  for (int t = 0; t < nthreads; t++) {
    pthread_join(tid[t], NULL);
    sum += w[t].sum;
  }
  printf("cache_scratch %d %ld %llu\n", nthreads, iterations, (unsigned long long)sum);
  free(tid);
  free(w);
  return 0;
}
