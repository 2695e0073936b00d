/* common.h — what every test program shares, whatever allocator it runs
 * on (warden's heaps in tests/, libwarden-malloc in tests/malloc/): a
 * seeded random source, and running code in a child with its stderr
 * captured (how misuse tests see the one line before the abort). */
#ifndef WARDEN_TESTS_COMMON_H
#define WARDEN_TESTS_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* xorshift64*: reproducible streams for stress tests. */
typedef struct rng {
    uint64_t state;
} rng;
static inline uint64_t rng_next(rng *r)
{
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 0x2545f4914f6cdd1dull;
}
static inline size_t rng_below(rng *r, size_t n)
{
    return n ? (size_t)(rng_next(r) % n) : 0;
}

/* Runs fn(arg) in a child whose stderr goes into out (NUL-terminated, at
 * most cap - 1 bytes); the child exits 0 if fn returns, and dies of
 * SIGALRM after 30 s (a deadlock is not an abort). Returns the child's
 * wait status, or -1 when it could not be run. */
static inline int run_captured(void (*fn)(void *), void *arg, char *out, size_t cap)
{
    int fds[2];
    out[0] = '\0';
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        signal(SIGABRT, SIG_DFL);
        alarm(30);
        fn(arg);
        _exit(0); /* not stopped: the parent reports it */
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fds[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    return waitpid(pid, &status, 0) == pid ? status : -1;
}

#endif /* WARDEN_TESTS_COMMON_H */
