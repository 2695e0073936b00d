/* interpose.h — libwarden-malloc's exports (interpose.c), each named by
 * WARDEN_NAME: the C names; or, with WARDEN_PREFIX defined, the same entry
 * points under prefixed names beside the C library's own (the malloc fuzz
 * harnesses build interpose.c in with WARDEN_PREFIX=wfz_: the C names would
 * take the fuzzer's own malloc). Such a build starts at its first call. */
#ifndef WARDEN_INTERPOSE_H
#define WARDEN_INTERPOSE_H

#include <malloc.h>
#include <signal.h>
#include <stddef.h>

struct sigaction; /* (<signal.h> declares it only with POSIX's features asked for) */

#define WARDEN_NAME_CAT(a, b) a##b
#define WARDEN_NAME_EXPAND(a, b) WARDEN_NAME_CAT(a, b)
#ifdef WARDEN_PREFIX
#define WARDEN_NAME(n) WARDEN_NAME_EXPAND(WARDEN_PREFIX, n)
#else
#define WARDEN_NAME(n) n
#endif
#define WARDEN_SYMBOL_TEXT(n) #n
#define WARDEN_SYMBOL(n) WARDEN_SYMBOL_TEXT(n)

void *WARDEN_NAME(malloc)(size_t size);
void WARDEN_NAME(free)(void *ptr);
void *WARDEN_NAME(calloc)(size_t count, size_t size);
void *WARDEN_NAME(realloc)(void *ptr, size_t size);
void *WARDEN_NAME(reallocarray)(void *ptr, size_t count, size_t size);
int WARDEN_NAME(posix_memalign)(void **out, size_t alignment, size_t size);
void *WARDEN_NAME(aligned_alloc)(size_t alignment, size_t size);
void *WARDEN_NAME(memalign)(size_t alignment, size_t size);
void *WARDEN_NAME(valloc)(size_t size);
void *WARDEN_NAME(pvalloc)(size_t size);
size_t WARDEN_NAME(malloc_usable_size)(void *ptr);
int WARDEN_NAME(malloc_trim)(size_t pad);
void WARDEN_NAME(malloc_stats)(void);
struct mallinfo2 WARDEN_NAME(mallinfo2)(void);
struct mallinfo WARDEN_NAME(mallinfo)(void);
int WARDEN_NAME(warden_check_all)(char *why, size_t why_size);
size_t WARDEN_NAME(warden_leak_report)(void);
int WARDEN_NAME(sigaction)(int sig, const struct sigaction *act, struct sigaction *old);

typedef void (*warden_signal_handler)(int);
/* signal, named by its symbol: glibc's <signal.h>, read without
 * _DEFAULT_SOURCE, renames a function defined as signal to __sysv_signal,
 * and the program's signal(SIGSEGV, ...) then went to glibc and took guard
 * page faults from warden (found by a coverage test). */
warden_signal_handler warden_interposed_signal(int sig, warden_signal_handler handler)
    __asm__(WARDEN_SYMBOL(WARDEN_NAME(signal)));
warden_signal_handler WARDEN_NAME(bsd_signal)(int sig, warden_signal_handler handler);

#endif /* WARDEN_INTERPOSE_H */
