/* fuzz_malloc.h — what fuzz_malloc.c (the operations, the model, the
 * checks and probes 0..7) shares with malloc_process.c (probe 3: the
 * process around the layer); both are built into fuzz_malloc and, with
 * FUZZ_DEBUG=1, fuzz_debug. */
#ifndef WARDEN_FUZZ_MALLOC_H
#define WARDEN_FUZZ_MALLOC_H

#include <stddef.h>

#include "harness.h"
#include "tcache.h"

#ifndef FUZZ_DEBUG
#define FUZZ_DEBUG 0
#endif

/* Built with a sanitizer that keeps a shadow of memory (the fuzzing
 * builds): the leak check's roots would be terabytes of it, so its probe
 * runs in the plain replay only. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define FUZZ_SHADOWED 1
#endif
#endif
#if !defined(FUZZ_SHADOWED) && (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
#define FUZZ_SHADOWED 1
#endif
#ifndef FUZZ_SHADOWED
#define FUZZ_SHADOWED 0
#endif
/* Nor under Valgrind, whose own mappings the scan would read as roots. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FUZZ_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef FUZZ_UNDER_VALGRIND
#define FUZZ_UNDER_VALGRIND() 0
#endif

/* The two simulated threads' caches; become(t) makes t's the caller's. */
extern tcache *thread_cache[2];
void become(unsigned thread);
/* Whether p is a block of the guard pool (debug profile). */
int guarded(const void *p);
/* Slot s's last freed block (NULL: none), and whether p is a live slot's. */
unsigned char *stale_block(unsigned s);
/* Every slot's record of its last freed block dropped: the layer handed
 * out and took back blocks the model does not see (a real thread's, the
 * leak probe's), so a recorded address may be another block's now. */
void forget_stale(void);
int is_live_slot(const shadow *m, const void *p);
/* The bytes of a freed block of size bytes the profile's junk covers. */
size_t junk_span(size_t size);

/* Probe 3 (malloc_process.c), by the op's size % 8. */
void probe_process(shadow *m, const op *o);

#endif /* WARDEN_FUZZ_MALLOC_H */
