/* fuzz_report.c — fuzzes how warden speaks: the allocation-free formatter
 * (report.h) and the debug profile's reports (bugreport.h) with arbitrary
 * stack ids, addresses, sizes, thread numbers and words. Neither may crash,
 * write past its buffer or read an address it was only asked to print.
 *
 * Input: [0] what to do (low 2 bits: 0 format, 1 a bug report, 2 a leak
 * report, 3 all three), [1] the buffer's size for format (0..255), then the
 * numbers and words each takes from the rest (missing bytes read as 0).
 * Oracle: report_format's text is the C library's snprintf of the same
 * format and arguments, cut to the buffer (its %p aside, which is checked
 * for its 0x and hex digits), NUL-terminated, the buffer untouched past it;
 * a bug report not seen before is counted and written whole, starting with
 * "warden: ERROR: <kind>: ", and ends in a newline. */
#define _POSIX_C_SOURCE 200809L /* open_memstream, ftruncate */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bugreport.h"
#include "depot.h"
#include "harness.h"
#include "platform_debug.h"
#include "report.h"
#include "symbolize.h"

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static uint64_t take(reader *r, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | (r->p < r->end ? *r->p++ : 0);
    return v;
}

/* Up to max bytes of words (stopping at a NUL), NUL-terminated in out. */
static const char *take_words(reader *r, char *out, size_t max)
{
    size_t n = 0;
    size_t want = (size_t)take(r, 1) % max;
    while (n < want && r->p < r->end && *r->p)
        out[n++] = (char)*r->p++;
    out[n] = 0;
    return out;
}

static int out_fd = -1;
static stack_id stacks[4]; /* real ones, so some ids name a stored stack */

static uint32_t thread_zero(void)
{
    return 0;
}

static stack_id __attribute__((noinline)) capture_at(unsigned depth)
{
    stack_id id = depth ? capture_at(depth - 1) : depot_capture();
    __asm__ volatile("" ::: "memory"); /* not a tail call: each depth its own stack */
    return id;
}

static void setup(void)
{
    char name[] = "/tmp/warden-fuzz-report-XXXXXX";
    out_fd = mkstemp(name);
    if (out_fd < 0)
        harness_fail("cannot make a file for the reports");
    unlink(name);
    platform_set_error_fd(out_fd);
    depot_setup(16);
    symbolize_setup(0); /* module+offset: the symbolizer is a process of its own */
    bugreport_setup(0, thread_zero);
    for (unsigned i = 0; i < 4; i++)
        stacks[i] = capture_at(i);
}

static void check_hex(const char *s, const char *what)
{
    if (s[0] != '0' || s[1] != 'x')
        harness_fail("report_format: %s printed without 0x: '%s'", what, s);
}

static void fuzz_format(reader *r, size_t cap)
{
    char words[64], buf[300], want[600];
    const char *s = take_words(r, words, sizeof words);
    int d = (int)take(r, 4);
    unsigned u = (unsigned)take(r, 4);
    size_t z = (size_t)take(r, 8);
    void *p = (void *)(uintptr_t)take(r, 8);
    memset(buf, 0x7e, sizeof buf);
    size_t n = report_format(buf, cap, "[%s|%d|%u|%x|%zu|%zx|%%]", s, d, u, u, z, z);
    snprintf(want, sizeof want, "[%s|%d|%u|%x|%zu|%zx|%%]", s, d, u, u, z, z);
    if (cap == 0) {
        if (n != 0 || buf[0] != 0x7e)
            harness_fail("report_format wrote into a buffer of 0 bytes");
        return;
    }
    if (n >= cap || buf[n] != 0 || strlen(buf) != n)
        harness_fail("report_format: length %zu in a buffer of %zu, not NUL-terminated there", n, cap);
    if (strncmp(buf, want, n) != 0 || (n < cap - 1 && n != strlen(want)))
        harness_fail("report_format gave '%s' where snprintf gives '%s' (buffer %zu)", buf, want, cap);
    if (cap < sizeof buf && buf[cap] != 0x7e)
        harness_fail("report_format wrote past its buffer of %zu bytes", cap);
    report_format(buf, sizeof buf, "%p", p);
    check_hex(buf, "%p");
}

static const char *const kinds[] = {"heap-buffer-overflow", "heap-use-after-free", "double-free", "invalid-free",
                                    "heap-corruption"};
static const char *const ops[] = {"free", "realloc", "malloc_usable_size", "the heap check", "exit"};

static stack_id any_stack(reader *r)
{
    uint32_t v = (uint32_t)take(r, 4);
    return v % 3 == 0 ? stacks[v % 4] : (stack_id)v; /* a stored stack, or any id at all */
}

static void fuzz_bug(reader *r)
{
    char what[200];
    uint8_t flags = (uint8_t)take(r, 1);
    bug b = {.kind = kinds[flags % 5], .op = ops[(flags >> 3) % 5]};
    b.addr = (const void *)(uintptr_t)take(r, 8);
    b.block = flags & 0x40 ? (const void *)(uintptr_t)take(r, 8) : NULL;
    b.size = (size_t)take(r, 8);
    b.alloc_stack = any_stack(r);
    b.free_stack = any_stack(r);
    b.alloc_thread = (uint32_t)take(r, 4);
    b.free_thread = (uint32_t)take(r, 4);
    b.freed = (flags >> 7) & 1;
    b.with_stack = (flags >> 6) & 1;
    b.fault_pc = flags & 0x20 ? (uintptr_t)take(r, 8) : 0;
    b.what = take_words(r, what, sizeof what);
    unsigned before = bugreport_count();
    if (ftruncate(out_fd, 0) != 0 || lseek(out_fd, 0, SEEK_SET) != 0)
        harness_fail("cannot empty the report file");
    bugreport(&b);
    if (bugreport_count() == before)
        return; /* seen before: said once */
    char text[8192], head[300];
    ssize_t n = pread(out_fd, text, sizeof text - 1, 0);
    if (n <= 0)
        harness_fail("a new report wrote nothing");
    text[n] = 0;
    snprintf(head, sizeof head, "warden: ERROR: %s: ", b.kind);
    if (strncmp(text, head, strlen(head)) != 0 || text[n - 1] != '\n')
        harness_fail("a report does not start with '%s' or end a line: '%.200s'", head, text);
}

static void fuzz_leaks(reader *r)
{
    leak_group g[LEAK_SHOWN + 8];
    size_t n = (size_t)take(r, 1) % (LEAK_SHOWN + 9);
    size_t bytes = 0, blocks = 0;
    for (size_t i = 0; i < n; i++) {
        g[i].kind = (int)(take(r, 1) % LEAK_KINDS);
        g[i].bytes = (size_t)take(r, 4);
        g[i].blocks = (size_t)take(r, 2) + 1;
        g[i].stack = any_stack(r);
        if (g[i].kind != LEAK_REACHABLE) {
            bytes += g[i].bytes;
            blocks += g[i].blocks;
        }
    }
    bugreport_leaks(g, n, bytes, blocks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (out_fd < 0)
        setup();
    if (size < 2)
        return 0;
    reader r = {data + 2, data + size};
    unsigned what = data[0] & 3u;
    if (what == 0 || what == 3)
        fuzz_format(&r, data[1]);
    if (what == 1 || what == 3)
        fuzz_bug(&r);
    if (what == 2 || what == 3)
        fuzz_leaks(&r);
    return 0;
}
