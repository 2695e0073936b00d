/* malloc_large — large-block churn in the manner of mimalloc-bench's
 * malloc-large: 20 slots, each replacement frees a random slot's block and
 * allocates a new one of 5–25 MiB, written in full with a non-zero byte
 * (through a volatile pointer to memset, so gcc cannot turn malloc+memset
 * into calloc and skip the writes). Default 1000 replacements (scale 2 =
 * mimalloc-bench's 2000). */
#include "wl.h"

#define SLOTS 20
#define MIB (1024u * 1024u)

static void *(*volatile fill)(void *, int, size_t) = memset;

int main(int argc, char **argv) {
  long reps = wl_scaled(1000, wl_scale(argc, argv));
  uint64_t rng = 3, check = 0;
  unsigned char *slot[SLOTS] = {0};
  size_t size[SLOTS] = {0};
  for (long k = 0; k < reps; k++) {
    uint32_t i = wl_below(&rng, SLOTS);
    if (slot[i]) {
      check += slot[i][0] + slot[i][size[i] / 2] + slot[i][size[i] - 1];
      free(slot[i]);
    }
    size[i] = wl_range(&rng, 5 * MIB, 25 * MIB);
    slot[i] = wl_malloc(size[i]);
    fill(slot[i], (int)(k % 255) + 1, size[i]);
  }
  for (int i = 0; i < SLOTS; i++)
    if (slot[i]) {
      check += slot[i][0] + slot[i][size[i] / 2] + slot[i][size[i] - 1];
      free(slot[i]);
    }
  printf("malloc_large %ld %llu\n", reps, (unsigned long long)check);
  return 0;
}
