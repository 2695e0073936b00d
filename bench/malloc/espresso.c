/* espresso — set-family churn in the manner of espresso (two-level logic
 * minimisation): a "cover" is a growable array of cubes, each cube a bit
 * vector of 1–32 words (8–256 bytes, one size per problem, as in espresso).
 * Each step intersects or merges two cubes into a new one, keeps it if it is
 * dense enough, and otherwise frees it at once; a containment sweep frees
 * cubes covered by another, so the cover (the live set) grows and shrinks.
 * Small temporaries (index lists of varying length) come and go per sweep. */
#include "wl.h"

typedef uint64_t word;

static int popcount(const word *c, uint32_t w) {
  int n = 0;
  for (uint32_t i = 0; i < w; i++) n += __builtin_popcountll(c[i]);
  return n;
}
static int contains(const word *a, const word *b, uint32_t w) { /* b ⊆ a */
  for (uint32_t i = 0; i < w; i++)
    if (b[i] & ~a[i]) return 0;
  return 1;
}

int main(int argc, char **argv) {
  long problems = wl_scaled(1600, wl_scale(argc, argv));
  uint64_t rng = 7, check = 0;
  long kept = 0, dropped = 0;
  for (long pr = 0; pr < problems; pr++) {
    uint32_t w = wl_range(&rng, 1, 32);
    uint32_t cap = 64, n = 0;
    word **cover = wl_malloc(cap * sizeof(word *));
    for (uint32_t i = 0; i < 48; i++) { /* the starting cover: dense random cubes */
      word *c = wl_malloc(w * sizeof(word));
      for (uint32_t k = 0; k < w; k++) c[k] = wl_rand(&rng) | wl_rand(&rng) | wl_rand(&rng);
      cover[n++] = c;
    }
    uint32_t steps = 3000;
    for (uint32_t s = 0; s < steps && n >= 2; s++) {
      word *a = cover[wl_below(&rng, n)], *b = cover[wl_below(&rng, n)];
      word *c = wl_malloc(w * sizeof(word));
      uint32_t op = wl_below(&rng, 4);
      for (uint32_t k = 0; k < w; k++) c[k] = op ? (a[k] & b[k]) | (wl_rand(&rng) & wl_rand(&rng)) : a[k] ^ b[k];
      if (popcount(c, w) * 16 < (int)(w * 64) * 9) { /* too sparse: discard */
        free(c);
        dropped++;
        continue;
      }
      if (n == cap) cover = wl_realloc(cover, (cap *= 2) * sizeof(word *));
      cover[n++] = c;
      kept++;
      if (s % 64 == 63) { /* containment sweep over a random sample */
        uint32_t m = wl_range(&rng, 4, 40);
        uint32_t *idx = wl_malloc(m * sizeof(uint32_t));
        for (uint32_t k = 0; k < m; k++) idx[k] = wl_below(&rng, n);
        for (uint32_t k = 0; k + 1 < m; k++) {
          uint32_t i = idx[k], j = idx[k + 1];
          if (i == j || i >= n || j >= n) continue;
          if (contains(cover[i], cover[j], w) || popcount(cover[j], w) < popcount(cover[i], w)) {
            check += popcount(cover[j], w);
            free(cover[j]);
            cover[j] = cover[--n];
          }
        }
        free(idx);
      }
      if (n > 1200) /* shrink the cover: drop a random half */
        for (uint32_t k = n / 2; k > 0 && n > 1; k--) {
          uint32_t i = wl_below(&rng, n);
          check ^= cover[i][0];
          free(cover[i]);
          cover[i] = cover[--n];
        }
    }
    for (uint32_t i = 0; i < n; i++) {
      check = check * 1099511628211ull + popcount(cover[i], w);
      free(cover[i]);
    }
    free(cover);
  }
  printf("espresso %ld %ld %ld %016llx\n", problems, kept, dropped, (unsigned long long)check);
  return 0;
}
