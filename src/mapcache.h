/* mapcache.h — mappings registered in the page map as their own
 * (pagemap_map_self), with a process-wide cache of returned ones: a
 * mapping given back stays mapped, up to a limit, for the next one of the
 * same size (a region of any heap, a bump chunk of any arena), so a
 * program (or a fuzz harness) that maps and returns the same sizes does
 * not ask the kernel each time. Off unless mapcache_setup turns it on. */
#ifndef WARDEN_MAPCACHE_H
#define WARDEN_MAPCACHE_H

#include <stddef.h>

/* Turns the cache on: up to limit bytes of returned mappings stay mapped;
 * their pages go back to the OS unless resident is 1 (a fuzz harness,
 * whose every input maps and returns the same sizes: no page faults the
 * next time). Called once, before any mapping is returned. */
void mapcache_setup(size_t limit, int resident);
/* A mapping of size bytes (whole chunks), registered as its own, taken
 * from the cache when it holds one of exactly that size; NULL when the OS
 * refuses. */
void *mapcache_map(size_t size);
/* Unregisters a mapping of mapcache_map's and keeps it, or unmaps it. */
void mapcache_unmap(void *addr, size_t size);
/* The cache's lock (fork handlers). */
void mapcache_lock(void);
void mapcache_unlock(void);

#endif /* WARDEN_MAPCACHE_H */
