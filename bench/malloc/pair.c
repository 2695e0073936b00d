/* pair — ns per malloc(48)+free pair on the main thread:
 *   LIFO:  malloc and free of the same block in a loop;
 *   batch: 64 mallocs, then the 64 frees (in allocation order), per pair.
 * `pair` times 4 M pairs of each, 5 times, and prints the medians.
 * `pair lifo N` / `pair batch N` only run N pairs (no timing): for
 * bench/callgrind.sh, which counts instructions. */
#include "wl.h"
#include <time.h>

#define SIZE 48
#define BATCH 64

static void lifo(long n) {
  for (long i = 0; i < n; i++) {
    void *p = malloc(SIZE);
    WL_ESCAPE(p);
    free(p);
  }
}
static void batch(long n) {
  void *p[BATCH];
  for (long i = 0; i < n; i += BATCH) {
    for (int k = 0; k < BATCH; k++) {
      p[k] = malloc(SIZE);
      WL_ESCAPE(p[k]);
    }
    for (int k = 0; k < BATCH; k++) free(p[k]);
  }
}
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double time_ns(void (*f)(long), long n) {
  double t[5];
  f(n / 10); /* warm up */
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    f(n);
    t[r] = (now() - t0) * 1e9 / (double)n;
  }
  qsort(t, 5, sizeof t[0], cmp);
  return t[2];
}

int main(int argc, char **argv) {
  if (argc == 3) {
    long n = atol(argv[2]);
    if (n < 1) wl_die("usage: pair [lifo|batch N]");
    if (!strcmp(argv[1], "lifo")) lifo(n);
    else if (!strcmp(argv[1], "batch")) batch((n + BATCH - 1) / BATCH * BATCH);
    else wl_die("usage: pair [lifo|batch N]");
    return 0;
  }
  if (argc != 1) wl_die("usage: pair [lifo|batch N]");
  long n = 4000000;
  double l = time_ns(lifo, n), b = time_ns(batch, n);
  printf("lifo %.2f ns batch %.2f ns\n", l, b);
  return 0;
}
