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
} bug;

/* halt: abort after a report; thread: the caller's thread number (for the
 * "found by" line) is asked of thread_of each time. */
void bugreport_setup(int halt, uint32_t (*thread_of)(void));
/* Reports b unless a bug of its kind on its block (or address) was reported
 * before; aborts when halting. */
void bugreport(const bug *b);
/* Reports made so far. */
unsigned bugreport_count(void);

#endif /* WARDEN_BUGREPORT_H */
