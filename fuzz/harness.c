/* harness.c — the shared parts of the fuzz harnesses (see harness.h). */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void harness_require_check(int rc, const char *why, const char *after)
{
    if (rc != 0)
        harness_fail("checker after %s: %s", after, why);
}

static size_t extent(const shadow *m, const shadow_slot *s)
{
    size_t n = m->usable ? m->usable(m->ctx, s->p) : s->size;
    return n ? n : 1;
}

static void verify_slot(const shadow *m, unsigned i)
{
    const shadow_slot *s = &m->slot[i];
    if ((uintptr_t)s->p % s->align != 0)
        harness_fail("slot %u: %p is not aligned to %zu", i, (void *)s->p, s->align);
    if (m->usable && m->usable(m->ctx, s->p) < s->size)
        harness_fail("slot %u: usable size %zu below the %zu asked for", i, m->usable(m->ctx, s->p), s->size);
    for (unsigned j = 0; j < HARNESS_SLOTS; j++) {
        const shadow_slot *o = &m->slot[j];
        if (j == i || !o->p)
            continue;
        if (s->p < o->p + extent(m, o) && o->p < s->p + extent(m, s))
            harness_fail("slots %u and %u overlap: %p+%zu and %p+%zu", i, j, (void *)s->p, extent(m, s),
                         (void *)o->p, extent(m, o));
    }
}

void shadow_put(shadow *m, unsigned s, void *p, size_t size, size_t align, uint8_t fill)
{
    m->slot[s] = (shadow_slot){p, size, align ? align : 1, fill};
    memset(p, fill, size);
}

void shadow_verify_contents(const shadow *m, unsigned s, const char *when)
{
    const shadow_slot *sl = &m->slot[s];
    static unsigned char expected[4096];
    memset(expected, sl->fill, sizeof expected);
    size_t done = 0;
    while (done < sl->size) { /* block by block; the byte loop below only names the first bad one */
        size_t n = sl->size - done < sizeof expected ? sl->size - done : sizeof expected;
        if (memcmp(sl->p + done, expected, n) != 0)
            break;
        done += n;
    }
    for (size_t i = done; i < sl->size; i++)
        if (sl->p[i] != sl->fill)
            harness_fail("slot %u %s: byte %zu of %p is 0x%02x, not 0x%02x", s, when, i, (void *)sl->p, sl->p[i],
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

void shadow_verify_all(const shadow *m)
{
    for (unsigned i = 0; i < HARNESS_SLOTS; i++) {
        const shadow_slot *s = &m->slot[i];
        if (!s->p)
            continue;
        verify_slot(m, i);
        size_t edge = s->size < 16 ? s->size : 16;
        for (size_t k = 0; k < edge; k++)
            if (s->p[k] != s->fill || s->p[s->size - 1 - k] != s->fill)
                harness_fail("slot %u: the edges of %p+%zu changed under another operation", i, (void *)s->p,
                             s->size);
    }
}
