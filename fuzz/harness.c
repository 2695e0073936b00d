/* harness.c — the shared parts of the fuzz harnesses (see harness.h). */
#define _POSIX_C_SOURCE 200809L /* sigaction */
#include "harness.h"
#include "platform.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int input_next_op(input *in, op *o)
{
    if (in->end - in->p < HARNESS_OP)
        return 0;
    const uint8_t *b = in->p;
    in->p += HARNESS_OP;
    o->code = b[0] & 7u;
    o->slot = (b[0] >> 3) % HARNESS_SLOTS;
    o->align_log = b[1] & 15u;
    /* sizes: 5 in 8 operations small (< 256), 2 in 8 up to 64 KiB, 1 in 8
     * up to 1 MiB, so the checks after every operation stay fast */
    unsigned range = (b[1] >> 4) & 7u;
    size_t raw = (size_t)b[2] | (size_t)b[3] << 8;
    o->size = range < 5 ? raw & 0xff : range < 7 ? raw : raw << 4;
    if (in->size_cap && o->size > in->size_cap)
        o->size %= in->size_cap + 1;
    o->fill = (uint8_t)(b[0] ^ b[2] ^ 0x5a);
    return 1;
}

_Noreturn void harness_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz harness: invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void harness_require_refused(const void *p, int err, const char *what)
{
    if (p || errno != err)
        harness_fail("%s: returned %p, errno %d, not NULL with errno %d", what, p, errno, err);
}

void harness_require_check(int rc, const char *why, const char *after)
{
    if (rc != 0)
        harness_fail("checker after %s: %s", after, why);
}

/* Sets sig's action to the default in a child; 0, or -1 when a sanitizer's
 * interceptor kept its own (ASan with allow_user_segv_handler=0 keeps the
 * signals it handles: an abort then is its report and a crash file of the
 * fuzzing run's). Read back, as such an interceptor answers 0 either way. */
static int reset_signal(int sig)
{
    struct sigaction dfl = {0}, now = {0};
    dfl.sa_handler = SIG_DFL;
    now.sa_handler = SIG_IGN;
    sigaction(sig, &dfl, NULL);
    return sigaction(sig, NULL, &now) == 0 && now.sa_handler == SIG_DFL ? 0 : -1;
}

#define CHILD_CANNOT_RESET 77 /* the child's status when a signal kept an engine's handler */
#define CHILD_SECONDS 20      /* a child still running then dies of SIGALRM: a hang, not a wait for ever */

/* The child's side: the engines' handlers of fatal signals reset (an abort
 * there is no crash of the fuzzing run), SIGSEGV's only unless keep_segv
 * (warden's own handler, under test); no core; standard error the pipe. */
static _Noreturn void child(int pipe_out, void (*fn)(void *ctx), void *ctx, int keep_segv)
{
    static const int sigs[] = {SIGALRM, SIGABRT, SIGBUS, SIGILL, SIGFPE, SIGSEGV};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0] - (keep_segv != 0); i++)
        if (reset_signal(sigs[i]) != 0)
            _exit(CHILD_CANNOT_RESET);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    alarm(CHILD_SECONDS);
    dup2(pipe_out, 2);
    close(pipe_out);
    fn(ctx);
    platform_exit(0);
}

/* Runs fn(ctx) in a forked child (child() above); its text into text (cap
 * bytes, NUL-terminated), its wait status returned. fn returning ends the
 * child with status 0, by platform_exit: coverage builds write the child's
 * counts, and no engine's exit handler runs. */
static int run_child(unsigned id, void (*fn)(void *ctx), void *ctx, int keep_segv, char *text, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0)
        harness_fail("probe %u: no pipe", id);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        harness_fail("probe %u: no fork", id);
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], fn, ctx, keep_segv);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    char sink[512];
    while ((r = read(fds[0], got + 1 < cap ? text + got : sink, got + 1 < cap ? cap - 1 - got : sizeof sink)) > 0 ||
           (r < 0 && errno == EINTR))
        got += r > 0 && got + 1 < cap ? (size_t)r : 0;
    close(fds[0]);
    text[got] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            harness_fail("probe %u: no child to wait for", id);
    return status;
}

/* Whether probe id ran in this process already (and from now on, it has). */
static int ran_before(unsigned id)
{
    static uint64_t done;
    if (id >= 64)
        harness_fail("probe id %u: ids go from 0 to 63", id);
    uint64_t bit = (uint64_t)1 << id;
    int was = (done & bit) != 0;
    done |= bit;
    return was;
}

/* Whether the child could not be set up (an engine's interceptor kept a
 * handler): the probe cannot run in this process, which is no failure, but
 * is said once. */
static int could_not_run(unsigned id, int status)
{
    static int said;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_CANNOT_RESET)
        return 0;
    if (!said) {
        said = 1;
        fprintf(stderr, "fuzz harness: probe %u and those after it in forked children do not run here: the sanitizer "
                        "keeps its handlers of fatal signals (ASan: allow_user_segv_handler=1 lets them)\n", id);
    }
    return 1;
}

/* Whether text has a line starting "warden:" that holds want. */
static int warden_line_holds(const char *text, const char *want)
{
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *end = strchr(line, '\n');
        const char *at = strstr(line, want);
        if (strncmp(line, "warden:", 7) == 0 && at && (!end || at < end))
            return 1;
    }
    return 0;
}

/* A probe's child, run and judged: it must die of SIGABRT having written a
 * warden: line holding want (dies), or end with status 0 having written
 * want (NULL: anything), with warden's own SIGSEGV handler kept. */
static void expect_child(unsigned id, void (*fn)(void *ctx), void *ctx, int dies, const char *want)
{
    if (ran_before(id))
        return;
    char text[8192];
    int status = run_child(id, fn, ctx, !dies, text, sizeof text);
    if (could_not_run(id, status))
        return;
    const char *wrong = NULL;
    if (dies && (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT))
        wrong = "did not die of SIGABRT";
    else if (!dies && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        wrong = "did not end with status 0";
    else if (dies ? !warden_line_holds(text, want) : want && !strstr(text, want))
        wrong = dies ? "died without a warden: line holding the words" : "ended without the words";
    if (wrong)
        harness_fail("probe %u: the child %s (status 0x%x), expecting \"%s\"; it wrote: %s", id, wrong,
                     (unsigned)status, want ? want : "", text);
}

void harness_expect_death(unsigned id, void (*fn)(void *ctx), void *ctx, const char *want)
{
    expect_child(id, fn, ctx, 1, want);
}

void harness_expect_report(unsigned id, void (*fn)(void *ctx), void *ctx, const char *want)
{
    expect_child(id, fn, ctx, 0, want);
}

/* The sampled offsets of a block laid out for filled bytes, below limit:
 * fn(p + offset, length) for each run. */
static size_t phase_of(uint8_t fill)
{
    return (size_t)fill * 2u % HARNESS_STRIDE;
}

static void fill_sample(unsigned char *p, size_t n, uint8_t fill)
{
    size_t edge = n < 2 * HARNESS_EDGE ? n : HARNESS_EDGE;
    memset(p, fill, edge);
    memset(p + n - edge, fill, edge);
    for (size_t i = HARNESS_EDGE + phase_of(fill); i + HARNESS_EDGE < n; i += HARNESS_STRIDE)
        p[i] = fill;
}

/* Checks the bytes of a block laid out for filled bytes that lie below limit. */
static int sample_ok(const unsigned char *p, size_t filled, size_t limit, uint8_t fill, size_t *bad)
{
    size_t edge = filled < 2 * HARNESS_EDGE ? filled : HARNESS_EDGE;
    for (size_t i = 0; i < edge && i < limit; i++)
        if (p[i] != fill)
            return *bad = i, 0;
    for (size_t i = HARNESS_EDGE + phase_of(fill); i + HARNESS_EDGE < filled && i < limit; i += HARNESS_STRIDE)
        if (p[i] != fill)
            return *bad = i, 0;
    for (size_t i = filled - edge; i < filled && i < limit; i++)
        if (p[i] != fill)
            return *bad = i, 0;
    return 1;
}

int sample_holds(const unsigned char *p, size_t n, uint8_t byte, size_t *bad)
{
    return sample_ok(p, n, n, byte, bad);
}

static size_t ask_extent(const shadow *m, unsigned i)
{
    const shadow_slot *s = &m->slot[i];
    size_t n = m->usable ? m->usable(m->ctx, s->p) : s->size;
    if (m->usable && n < s->size)
        harness_fail("slot %u: usable size %zu below the %zu asked for", i, n, s->size);
    return n ? n : 1;
}

void shadow_put(shadow *m, unsigned s, void *p, size_t size, size_t align, uint8_t fill)
{
    m->slot[s] = (shadow_slot){p, size, size, align ? align : 1, 0, fill};
    m->slot[s].extent = ask_extent(m, s);
    fill_sample(p, size, fill);
}

void shadow_verify_contents(const shadow *m, unsigned s, const char *when)
{
    const shadow_slot *sl = &m->slot[s];
    size_t bad;
    if (!sample_ok(sl->p, sl->filled, sl->size, sl->fill, &bad))
        harness_fail("slot %u %s: byte %zu of %p is 0x%02x, not 0x%02x", s, when, bad, (void *)sl->p, sl->p[bad],
                     sl->fill);
}

void shadow_realloc(shadow *m, unsigned s, void *p, size_t new_size)
{
    shadow_slot *sl = &m->slot[s];
    sl->p = p;
    if (new_size < sl->size)
        sl->size = new_size;
    shadow_verify_contents(m, s, "after realloc (kept prefix)");
    shadow_put(m, s, p, new_size, sl->align, sl->fill);
}

void shadow_release_all(shadow *m, void (*release)(void *ctx, shadow *m, unsigned s), void *ctx)
{
    for (unsigned s = 0; s < HARNESS_SLOTS; s++)
        if (m->slot[s].p)
            release(ctx, m, s);
}

/* After every operation: each live slot aligned, usable >= size, no two
 * overlapping, and the edges of each intact. */
void shadow_verify_all(shadow *m)
{
    unsigned again = m->ask++ % HARNESS_SLOTS;
    for (unsigned i = 0; i < HARNESS_SLOTS; i++) {
        shadow_slot *s = &m->slot[i];
        if (!s->p)
            continue;
        if ((uintptr_t)s->p % s->align != 0)
            harness_fail("slot %u: %p is not aligned to %zu", i, (void *)s->p, s->align);
        if (i == again)
            s->extent = ask_extent(m, i);
        for (unsigned j = 0; j < i; j++) {
            const shadow_slot *o = &m->slot[j];
            if (o->p && s->p < o->p + o->extent && o->p < s->p + s->extent)
                harness_fail("slots %u and %u overlap: %p+%zu and %p+%zu", i, j, (void *)s->p, s->extent,
                             (void *)o->p, o->extent);
        }
        size_t edge = s->size < 16 ? s->size : 16;
        for (size_t k = 0; k < edge; k++)
            if (s->p[k] != s->fill || s->p[s->size - 1 - k] != s->fill)
                harness_fail("slot %u: the edges of %p+%zu changed under another operation", i, (void *)s->p,
                             s->size);
    }
}
