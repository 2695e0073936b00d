/* cfrac — bignum churn in the manner of cfrac (continued-fraction factoring):
 * every arithmetic result is a freshly allocated bignum of 8–200 bytes and
 * its operands are freed at once, so most blocks live for a few operations
 * (LIFO-ish). Product trees are built recursively, results go through a
 * decimal conversion by repeated division (one temporary per step), and a
 * pool of accumulated results random-walks between empty and 256 entries,
 * so the live set grows and shrinks. */
#include "wl.h"

typedef struct {
  uint32_t n; /* limbs in use, the top one non-zero (n = 0 is zero) */
  uint32_t d[];
} big;

static big *big_new(uint32_t n) {
  big *b = wl_malloc(sizeof(big) + (n ? n : 1) * sizeof(uint32_t));
  b->n = n;
  return b;
}
static void big_trim(big *b) {
  while (b->n && !b->d[b->n - 1]) b->n--;
}
static big *big_mul(const big *a, const big *b) {
  big *r = big_new(a->n + b->n);
  memset(r->d, 0, r->n * sizeof(uint32_t));
  for (uint32_t i = 0; i < a->n; i++) {
    uint64_t carry = 0;
    for (uint32_t j = 0; j < b->n; j++) {
      uint64_t t = (uint64_t)a->d[i] * b->d[j] + r->d[i + j] + carry;
      r->d[i + j] = (uint32_t)t;
      carry = t >> 32;
    }
    r->d[i + b->n] = (uint32_t)carry;
  }
  big_trim(r);
  return r;
}
static big *big_add(const big *a, const big *b) {
  if (a->n < b->n) {
    const big *t = a;
    a = b;
    b = t;
  }
  big *r = big_new(a->n + 1);
  uint64_t carry = 0;
  for (uint32_t i = 0; i < a->n; i++) {
    uint64_t t = (uint64_t)a->d[i] + (i < b->n ? b->d[i] : 0) + carry;
    r->d[i] = (uint32_t)t;
    carry = t >> 32;
  }
  r->d[a->n] = (uint32_t)carry;
  big_trim(r);
  return r;
}
/* a / m into a new bignum, the remainder in *rem */
static big *big_divsmall(const big *a, uint32_t m, uint32_t *rem) {
  big *q = big_new(a->n);
  uint64_t r = 0;
  for (uint32_t i = a->n; i-- > 0;) {
    uint64_t cur = (r << 32) | a->d[i];
    q->d[i] = (uint32_t)(cur / m);
    r = cur % m;
  }
  big_trim(q);
  *rem = (uint32_t)r;
  return q;
}
static big *big_random(uint64_t *rng) {
  uint32_t n = wl_range(rng, 1, 3);
  big *b = big_new(n);
  for (uint32_t i = 0; i < n; i++) b->d[i] = (uint32_t)wl_rand(rng);
  b->d[n - 1] |= 1u << 31;
  return b;
}
static big *product_tree(uint64_t *rng, int leaves) {
  if (leaves == 1) return big_random(rng);
  big *l = product_tree(rng, leaves / 2);
  big *r = product_tree(rng, leaves - leaves / 2);
  big *p = big_mul(l, r);
  free(l);
  free(r);
  return p;
}
/* sum of the decimal digits, consuming x */
static uint64_t digit_sum(big *x) {
  uint64_t s = 0;
  while (x->n) {
    uint32_t rem;
    big *q = big_divsmall(x, 1000000000u, &rem);
    free(x);
    x = q;
    for (; rem; rem /= 10) s += rem % 10;
  }
  free(x);
  return s;
}

#define POOL 256

int main(int argc, char **argv) {
  long iters = wl_scaled(600000, wl_scale(argc, argv));
  uint64_t rng = 42, check = 0;
  big *pool[POOL];
  int npool = 0;
  for (long it = 0; it < iters; it++) {
    big *x = product_tree(&rng, (int)wl_range(&rng, 2, 16));
    uint32_t op = wl_below(&rng, 8);
    if (op < 3 && npool < POOL) {
      pool[npool++] = x; /* keep it: the live set grows */
      continue;
    }
    if (op < 6 && npool > 0) { /* combine with a kept one: the live set shrinks */
      uint32_t k = wl_below(&rng, (uint32_t)npool);
      big *y = pool[k];
      pool[k] = pool[--npool];
      big *s = big_add(x, y);
      free(x);
      free(y);
      if (s->n > 48) { /* too long to keep: fold it */
        check += digit_sum(s);
        continue;
      }
      x = s;
    }
    check = check * 31 + digit_sum(x);
  }
  while (npool) check = check * 31 + digit_sum(pool[--npool]);
  printf("cfrac %ld %016llx\n", iters, (unsigned long long)check);
  return 0;
}
