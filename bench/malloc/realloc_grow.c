/* realloc_grow — a string builder: 512 strings live at once, each grown by
 * appending 1–32 random bytes at a time with realloc to exactly the new
 * length, up to a target of 16 B–16 KiB (log-uniform); a finished string is
 * hashed and freed and a new one started. The checksum is the FNV hash of
 * every finished string, so a realloc that loses bytes is noticed. */
#include "wl.h"

#define LIVE 512

typedef struct {
  char *s;
  uint32_t len, target;
} str;

static uint32_t pick_target(uint64_t *rng) {
  uint32_t bits = wl_range(rng, 4, 14); /* 16 B .. 16 KiB */
  return wl_range(rng, 1u << bits, 2u << bits);
}

int main(int argc, char **argv) {
  long appends = wl_scaled(5000000, wl_scale(argc, argv));
  uint64_t rng = 99, hash = 1469598103934665603ull, done = 0;
  str *v = wl_calloc(LIVE, sizeof(str));
  for (int i = 0; i < LIVE; i++) v[i].target = pick_target(&rng);
  for (long k = 0; k < appends; k++) {
    str *x = &v[wl_below(&rng, LIVE)];
    uint32_t add = wl_range(&rng, 1, 32);
    x->s = wl_realloc(x->s, x->len + add + 1);
    uint64_t r = wl_rand(&rng);
    for (uint32_t i = 0; i < add; i++) x->s[x->len + i] = (char)('a' + (r >> (i % 8 * 8)) % 26);
    x->len += add;
    x->s[x->len] = 0;
    if (x->len >= x->target) {
      for (uint32_t i = 0; i < x->len; i++) hash = (hash ^ (unsigned char)x->s[i]) * 1099511628211ull;
      free(x->s);
      *x = (str){NULL, 0, pick_target(&rng)};
      done++;
    }
  }
  for (int i = 0; i < LIVE; i++) {
    for (uint32_t k = 0; k < v[i].len; k++) hash = (hash ^ (unsigned char)v[i].s[k]) * 1099511628211ull;
    free(v[i].s);
  }
  free(v);
  printf("realloc_grow %ld %llu %016llx\n", appends, (unsigned long long)done, (unsigned long long)hash);
  return 0;
}
