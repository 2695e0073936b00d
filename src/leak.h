/* leak.h — the leak check, by reachability as LeakSanitizer and Memcheck
 * do it: the live blocks are listed, every word of the roots (each mapping
 * that may hold the program's pointers, except warden's own heap memory:
 * data and bss of every module, thread stacks from the caller's stack
 * pointer up, TLS, the caller's registers) that points into a block marks
 * it reached, and so on through the blocks reached. A block nothing reached
 * is lost: an "indirect" leak when another lost block points at it, a
 * "direct" one otherwise. Interior pointers count (as in LeakSanitizer).
 * Nothing here allocates through malloc. */
#ifndef WARDEN_LEAK_H
#define WARDEN_LEAK_H

#include <stddef.h>
#include <stdint.h>

#include "bugreport.h"

typedef struct leak_scan leak_scan;

/* Bytes and blocks of each kind (LEAK_DIRECT ... in bugreport.h). */
typedef struct leak_totals {
    size_t bytes[LEAK_KINDS], blocks[LEAK_KINDS];
} leak_totals;

/* Room for up to most blocks; NULL when out of memory. */
leak_scan *leak_begin(size_t most);
/* A live block: its first byte, its size, its allocation stack (beyond
 * most blocks, ignored). */
void leak_add(leak_scan *s, const void *user, size_t size, uint32_t stack);
/* Marks what the roots reach, with every other thread stopped (their
 * registers are roots). The caller keeps the blocks from going away
 * meanwhile and holds no lock another thread may wait for in a way that
 * stops it answering (none: a stopped thread waits in a signal handler). */
void leak_find(leak_scan *s);
/* Reports the lost blocks grouped by allocation stack, biggest first (and
 * the reachable ones too when with_reachable), fills t, and lets s go. */
void leak_report(leak_scan *s, int with_reachable, leak_totals *t);

#endif /* WARDEN_LEAK_H */
