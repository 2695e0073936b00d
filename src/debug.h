/* debug.h — the debug profile's allocator, over the release one (wmalloc):
 * every block gets a header with its size, its allocation and free stacks
 * and threads, a canary before it and one from its exact end on; freed
 * blocks wait, junk-filled, in the quarantine; misuse and damage become
 * reports (bugreport.h) with stacks. front.c calls these once the options
 * ask for the profile. */
#ifndef WARDEN_DEBUG_H
#define WARDEN_DEBUG_H

#include <stddef.h>

struct options;

/* Whether options o ask for the debug profile (a canary, quarantine, junk,
 * stacks or periodic checks). */
int debug_wanted(const struct options *o);
/* Sets the profile up from o (nothing here may call dlopen: that waits for
 * debug_load). 0, or -1 with one line in err. */
int debug_start(const struct options *o, char *err, size_t err_size);
/* Loads the unwinder (at load time, outside any malloc): stacks from now on. */
void debug_load(void);

/* The allocator's entry points: alignment 0 for malloc's own. */
void *debug_alloc(size_t size, size_t alignment, const char *op);
void debug_free(void *ptr, const char *op);
void *debug_realloc(void *ptr, size_t size);
size_t debug_usable_size(const void *ptr);
/* Bytes of freed blocks the quarantine holds (the program's free, not yet the heap's). */
size_t debug_quarantined_bytes(void);
/* Every heap structure, every live block's canaries and every quarantined
 * block's junk: 0, or non-zero with one line in why (and a report each). */
int debug_check_all(char *why, size_t why_size);
/* The leak check now (leak.h): reports the blocks no pointer reaches and
 * returns their bytes (0 before start-up). */
size_t debug_leak_report(void);

#endif /* WARDEN_DEBUG_H */
