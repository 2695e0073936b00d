/* bugreport.h — the debug profile's reports: one per bug, naming the kind,
 * the call and address, the block (its size, the offset into it), the
 * stack of the bad call, and the block's allocation and free stacks with
 * their threads, symbolized. Then abort (halt_on_error=1) or go on. */
#ifndef WARDEN_BUGREPORT_H
#define WARDEN_BUGREPORT_H

#include <stddef.h>
#include <stdint.h>

#include "depot.h"

typedef struct bug {
    const char *kind;      /* e.g. "heap-buffer-overflow": the first words */
    const char *op;        /* the entry point or check that found it: "free", "exit" */
    const void *addr;      /* the address the program passed or damaged */
    const char *what;      /* the sentence after the kind (formatted by the caller) */
    const void *block;     /* the block involved (its first byte), or NULL */
    size_t size;           /* its requested size */
    stack_id alloc_stack, free_stack; /* 0: none */
    uint32_t alloc_thread, free_thread; /* warden's thread numbers (T0 ...) */
    int freed;             /* the block had been freed */
    int with_stack;        /* print the stack of the call that found it */
    uintptr_t fault_pc;    /* a fault's instruction: that stack starts there (0: not a fault) */
} bug;

/* halt: abort after a report; thread: the caller's thread number (for the
 * "found by" line) is asked of thread_of each time. */
void bugreport_setup(int halt, uint32_t (*thread_of)(void));
/* Reports b unless a bug of its kind on its block (or address), allocated
 * at the same stack, was reported before; aborts when halting. */
void bugreport(const bug *b);
/* The leak report's groups: the blocks of one kind allocated at one stack. */
enum { LEAK_DIRECT, LEAK_INDIRECT, LEAK_REACHABLE, LEAK_KINDS };
typedef struct leak_group {
    int kind;              /* LEAK_DIRECT ... */
    size_t bytes, blocks;
    stack_id stack;
} leak_group;
/* The leak report: a line with the bytes and blocks lost, then the n groups
 * in order, each with its allocation stack (the first LEAK_SHOWN of them),
 * then a summary. Nothing when n is 0. Does not halt: leaks are found at
 * the end. */
#define LEAK_SHOWN 40
void bugreport_leaks(const leak_group *g, size_t n, size_t lost_bytes, size_t lost_blocks);

/* Reports made so far. */
unsigned bugreport_count(void);

#endif /* WARDEN_BUGREPORT_H */
