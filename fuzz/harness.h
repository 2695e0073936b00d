/* harness.h — what every warden fuzz harness shares: reading an input as a
 * stream of operations, a shadow model of the live allocations (address,
 * size, alignment, fill byte) with the checks run after every operation,
 * and the one way a harness reports a broken invariant (abort).
 *
 * A harness is one file, fuzz/fuzz_<api>.c, defining LLVMFuzzerTestOneInput;
 * it is built for libFuzzer, AFL++ and the plain replay driver by one line
 * of CMake: warden_add_harness(<api>). */
#ifndef WARDEN_FUZZ_HARNESS_H
#define WARDEN_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* The first HARNESS_HEADER bytes choose the configuration; an input no
 * longer than that performs no operation (AFL++'s driver first runs a
 * 4-byte dummy input). Each operation then takes HARNESS_OP bytes. */
#define HARNESS_HEADER 4
#define HARNESS_OP 4
#define HARNESS_SLOTS 32

typedef struct input {
    const uint8_t *p;   /* next unread byte */
    const uint8_t *end; /* one past the last */
    size_t size_cap;    /* sizes above it are taken modulo it + 1 (0: none) */
} input;

/* One decoded operation: what to do, on which slot, with which numbers. */
typedef struct op {
    unsigned code;      /* harness-defined, 0..7 */
    unsigned slot;      /* 0..HARNESS_SLOTS-1 */
    size_t size;        /* 0..65535, scaled by 1, 4 or 16 */
    unsigned align_log; /* 0..15 */
    uint8_t fill;       /* the byte a new allocation is filled with */
} op;

/* Takes the next operation; 0 at the end of the input. */
int input_next_op(input *in, op *o);

/* The bytes of a block the model fills and verifies: the first and last
 * HARNESS_EDGE, and one in HARNESS_STRIDE between them, at a phase the fill
 * byte picks. Blocks that move, overlap or lose their ends show at the
 * edges; a stray write inside a large block shows at a sample, without a
 * pass over all of it after every operation. */
#define HARNESS_EDGE 64
#define HARNESS_STRIDE 4093

typedef struct shadow_slot {
    unsigned char *p;  /* NULL: empty */
    size_t size;       /* bytes asked for */
    size_t filled;     /* the size the sample was laid out for (>= size after a shrink) */
    size_t align;      /* alignment asked for (1 when none) */
    size_t extent;     /* its usable bytes when last asked (at least 1) */
    uint8_t fill;
} shadow_slot;

typedef struct shadow {
    shadow_slot slot[HARNESS_SLOTS];
    /* the bytes really usable at p (>= size), or 0 when unknown */
    size_t (*usable)(void *ctx, const void *p);
    void *ctx;
    unsigned ask; /* the slot whose usable size the next shadow_verify_all asks again */
} shadow;

/* Ends the run: prints "<harness>: invariant broken: <what>" and aborts. */
_Noreturn void harness_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether every sampled byte of the first n of p (HARNESS_EDGE ...) is
 * byte: 1, or 0 with the first bad offset in *bad. */
int sample_holds(const unsigned char *p, size_t n, uint8_t byte, size_t *bad);

/* A new allocation in slot s, its sampled bytes set to its fill byte. It is proved
 * (alignment, usable size, no overlap) by shadow_verify_all, after the
 * allocator's own checker has had its say. */
void shadow_put(shadow *m, unsigned s, void *p, size_t size, size_t align, uint8_t fill);
/* Every sampled byte of slot s still holds its fill byte. */
void shadow_verify_contents(const shadow *m, unsigned s, const char *when);
/* After realloc moved or kept slot s at p with new_size: the kept prefix
 * survived, then the slot is refilled and re-proved. */
void shadow_realloc(shadow *m, unsigned s, void *p, size_t new_size);
/* After every operation: every live slot aligned, usable >= size, no two
 * overlapping, and the first and last bytes of each intact. A slot's usable
 * size is asked when it is put, and again for one slot in turn a call (the
 * heap's checker proves every header each time). */
void shadow_verify_all(shadow *m);
/* Calls release(ctx, m, s) for every live slot s, in slot order. */
void shadow_release_all(shadow *m, void (*release)(void *ctx, shadow *m, unsigned s), void *ctx);
/* A request the allocator must refuse: p NULL and errno err, else aborts
 * naming what. */
void harness_require_refused(const void *p, int err, const char *what);
/* Makes a checker's verdict an invariant: aborts with why when rc != 0. */
void harness_require_check(int rc, const char *why, const char *after);

/* A death probe: misuse the allocator must stop the program for. Runs
 * fn(ctx) in a forked child whose standard error is a pipe (the engines'
 * handlers of fatal signals and SIGALRM reset, so its abort is no crash of
 * the fuzzing run; no core; 20 seconds at most); the child must die of
 * SIGABRT having written a line starting "warden:" that holds want. Once
 * per process for each id (0..63): the first input that reaches a probe
 * pays for the fork, later ones return at once. Where a sanitizer keeps
 * its own handler (ASan's allow_user_segv_handler=0), the probe does not
 * run. */
void harness_expect_death(unsigned id, void (*fn)(void *ctx), void *ctx, const char *want);
/* The same for a report the program survives: fn(ctx) in a forked child
 * whose SIGSEGV handler stays warden's; the child must end with status 0
 * (fn returning, or platform_exit(0)) having written text holding want
 * (NULL: anything). Once per process for each id. */
void harness_expect_report(unsigned id, void (*fn)(void *ctx), void *ctx, const char *want);

#endif /* WARDEN_FUZZ_HARNESS_H */
