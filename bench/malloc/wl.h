/* wl.h — the few helpers the malloc workloads share: a seeded PRNG, the
 * scale argument, a compiler barrier and checked allocation. Each workload
 * uses only malloc/free/calloc/realloc; everything here is header-only. */
#ifndef WL_H
#define WL_H
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: small, fast, and the same sequence on every allocator */
static inline uint64_t wl_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
/* uniform in [0, n) */
static inline uint32_t wl_below(uint64_t *s, uint32_t n) {
  return (uint32_t)(((wl_rand(s) >> 32) * (uint64_t)n) >> 32);
}
/* uniform in [lo, hi] */
static inline uint32_t wl_range(uint64_t *s, uint32_t lo, uint32_t hi) {
  return lo + wl_below(s, hi - lo + 1);
}

static inline void wl_die(const char *what) {
  fprintf(stderr, "workload: %s\n", what);
  exit(1);
}

/* argv[1]: a positive scale factor for the amount of work (default 1) */
static inline double wl_scale(int argc, char **argv) {
  if (argc < 2) return 1.0;
  char *end;
  double s = strtod(argv[1], &end);
  if (*end || !(s > 0) || s > 1e6) wl_die("usage: <workload> [scale > 0] [threads]");
  return s;
}
static inline long wl_scaled(long n, double scale) {
  double v = (double)n * scale;
  return v < 1 ? 1 : (long)v;
}
/* argv[2]: a thread count (default def) */
static inline int wl_threads(int argc, char **argv, int def) {
  if (argc < 3) return def;
  int t = atoi(argv[2]);
  if (t < 1 || t > 256) wl_die("threads must be 1..256");
  return t;
}

/* keeps the compiler from proving a block unused (gcc folds malloc+free) */
#define WL_ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

static inline void *wl_malloc(size_t n) {
  void *p = malloc(n);
  if (!p) wl_die("malloc returned NULL");
  return p;
}
static inline void *wl_calloc(size_t n, size_t m) {
  void *p = calloc(n, m);
  if (!p) wl_die("calloc returned NULL");
  return p;
}
static inline void *wl_realloc(void *q, size_t n) {
  void *p = realloc(q, n);
  if (!p) wl_die("realloc returned NULL");
  return p;
}

/* a byte derived from a block's tag, written at both ends and checked on free */
static inline unsigned char wl_tag(uint64_t x) {
  return (unsigned char)((x * 0x9e3779b97f4a7c15ull) >> 56) | 1;
}
static inline void wl_mark(void *p, size_t n, uint64_t tag) {
  unsigned char *b = p, t = wl_tag(tag);
  b[0] = t;
  b[n - 1] = t;
  b[n / 2] = t;
}
static inline int wl_check(const void *p, size_t n, uint64_t tag) {
  const unsigned char *b = p, t = wl_tag(tag);
  return b[0] == t && b[n - 1] == t && b[n / 2] == t;
}
#endif
