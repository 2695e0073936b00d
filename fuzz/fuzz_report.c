/* fuzz_report.c — fuzzes how warden speaks: the allocation-free formatter
 * (report.h), the debug profile's reports (bugreport.h) with arbitrary
 * stack ids, addresses, sizes, thread numbers and words, and the frames of
 * a stack put in words (symbolize.h). None may crash, write past its
 * buffer or read an address it was only asked to print.
 *
 * Input: [0] what to do (low 2 bits: 0 format, 1 a bug report, 2 a leak
 * report, 3 all three; bit 2: then the symbolizer probe), [1] the buffer's
 * size for format (0..255), then the numbers and words each takes from the
 * rest (missing bytes read as 0); the symbolizer probe last: three PCs (8
 * bytes each), the length of a text already in the buffer (1 byte) and the
 * buffer's size past it (2 bytes).
 * Oracle: report_format's text is the C library's snprintf of the same
 * format and arguments, cut to the buffer (its %p aside, which is checked
 * for its 0x and hex digits), NUL-terminated, the buffer untouched past it;
 * a bug report not seen before is counted and written whole, starting with
 * "warden: ERROR: <kind>: ", and ends in a newline.
 * The symbolizer probe puts five frames in words, module+offset only
 * (setup's symbolize_setup(0)): the first byte of capture_at, a return
 * address into LLVMFuzzerTestOneInput and the input's three PCs. Every
 * line is "    #K 0xPC (MODULE+0xOFF)" or "    #K 0xPC (unknown module)",
 * K counting from 0, one a frame, each frame's PC in turn, the harness's
 * two in the harness's own program; and the same text is written cut to
 * any smaller buffer, after any text already there, NUL-terminated, and
 * nothing past the buffer. Once per process (a process costs milliseconds)
 * it also runs with the symbolizer on, the frames of a stored stack added
 * (the C library's: the harness shares warden's module, whose frames the
 * depot drops), then off again: lines may then also say " in NAME" and
 * " FILE:LINE" (never a column, never line 0), a frame may take more lines
 * (inlined calls), a frame of no module has neither; and when the harness
 * finds a symbolizer on PATH itself (the names symbolize.c tries, by
 * access(2)), the harness's two frames must be named capture_at and
 * LLVMFuzzerTestOneInput or be put at their lines of this file (see
 * harness_frame), otherwise the text is module+offset only. At the same time
 * it drives the process side (platform_debug.h): platform_find_program
 * with PATH unset, of empty names, into too small a buffer;
 * platform_run_filter with cat (the answer is the input, cut to the
 * buffer, also when more than the pipes hold), with a program that does
 * not exist (-1), and out of file descriptors (-1, and a stack is
 * still put in words, module+offset). */
#define _POSIX_C_SOURCE 200809L /* open_memstream, ftruncate, setenv, strtok_r */
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

enum { capture_at_line = __LINE__ + 1 }; /* for the symbolizer probe */
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

/* ---- the symbolizer probe ------------------------------------------------ */

#define SYM_FRAMES 10 /* 2 of the harness, up to 5 stored (with the symbolizer), 3 of the input */
#define SYM_TEXT 8192
#define SYM_LINES 64
#define SYM_LINE 4096 /* a line's bytes at most, here (C++ names of the engine's frames are long) */

/* One line of symbolize_stack's text, taken apart. */
typedef struct frame_line {
    uintptr_t pc;
    char mid[SYM_LINE];  /* between PC and module: "", " in NAME", " in NAME PLACE" or " PLACE" */
    char where[300];     /* inside the parentheses: "MODULE+0xOFF" or "unknown module" */
} frame_line;

static frame_line lines[SYM_LINES];

static int all_of(const char *s, size_t n, int (*is)(int))
{
    for (size_t i = 0; i < n; i++)
        if (!is((unsigned char)s[i]))
            return 0;
    return n > 0;
}

/* "FILE:LINE": a file, a line other than 0, the column cut away. */
static int is_place(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !all_of(colon + 1, strlen(colon + 1), isdigit) || strcmp(colon + 1, "0") == 0)
        return 0;
    const char *before = colon;
    while (before > s && isdigit((unsigned char)before[-1]))
        before--;
    return !(before < colon && before > s && before[-1] == ':'); /* "FILE:LINE:COLUMN" */
}

/* "MODULE+0xOFF" or "unknown module". */
static int is_where(const char *s)
{
    const char *plus = strrchr(s, '+');
    return strcmp(s, "unknown module") == 0 ||
           (plus && plus > s && strncmp(plus, "+0x", 3) == 0 && all_of(plus + 3, strlen(plus + 3), isxdigit));
}

/* mid, with the symbolizer's answer or without (then it is empty). */
static int is_mid(char *mid, int tool)
{
    if (!mid[0])
        return 1;
    if (!tool)
        return 0;
    if (strncmp(mid, " in ", 4) != 0)
        return is_place(mid + 1);
    char *name = mid + 4, *space = strrchr(name, ' '); /* names may hold spaces (C++), places do not here */
    if (space && is_place(space + 1))
        return space > name && name[0] != '?';
    return name[0] && name[0] != '?';
}

/* Takes line k ("    #K 0xPC MID (WHERE)", len bytes at s) apart into l. */
static void parse_line(const char *s, size_t len, size_t k, int tool, frame_line *l)
{
    char line[SYM_LINE], head[40], *end;
    snprintf(head, sizeof head, "    #%zu 0x", k);
    size_t h = strlen(head);
    if (len >= sizeof line)
        harness_fail("symbolize_stack: line %zu of %zu bytes", k, len);
    memcpy(line, s, len);
    line[len] = '\0';
    if (strncmp(line, head, h) != 0 || !isxdigit((unsigned char)line[h]))
        harness_fail("symbolize_stack: line %zu does not start '%s<hex>': '%s'", k, head, line);
    l->pc = (uintptr_t)strtoull(line + h, &end, 16);
    if (line[len - 1] != ')')
        harness_fail("symbolize_stack: line %zu does not end in ' (MODULE+0xOFF)': '%s'", k, line);
    line[len - 1] = '\0';
    /* WHERE starts at the first " (" that leaves one: a name may hold
     * parentheses, and so may a module ("prog (deleted)": the kernel's
     * name for a program file replaced while it runs) */
    char *open = NULL;
    for (char *p = end; !open && (p = strstr(p, " (")) != NULL; p++)
        if (is_where(p + 2))
            open = p;
    if (!open)
        harness_fail("symbolize_stack: line %zu does not end in ' (MODULE+0xOFF)': '%s)'", k, line);
    snprintf(l->where, sizeof l->where, "%s", open + 2);
    *open = '\0';
    snprintf(l->mid, sizeof l->mid, "%s", end);
    if (!is_where(l->where) || !is_mid(l->mid, tool))
        harness_fail("symbolize_stack: line %zu is not '    #K 0xPC%s (MODULE+0xOFF)': '%s%s (%s)'", k,
                     tool ? "[ in NAME][ FILE:LINE]" : "", head, line + h, l->where);
    if (!tool || strcmp(l->where, "unknown module") != 0 || !l->mid[0])
        return;
    harness_fail("symbolize_stack: a frame of no module has a name or place: '%s'", l->mid);
}

/* Splits symbolize_stack's text into lines: their count. */
static size_t split_lines(const char *text, int tool)
{
    size_t k = 0;
    for (const char *s = text; *s; k++) {
        const char *e = strchr(s, '\n');
        if (!e)
            harness_fail("symbolize_stack: its last line has no newline: '%s'", s);
        if (k == SYM_LINES)
            harness_fail("symbolize_stack: more than %u lines for %u frames", SYM_LINES, SYM_FRAMES);
        parse_line(s, (size_t)(e - s), k, tool, &lines[k]);
        s = e + 1;
    }
    return k;
}

/* The lines follow the frames: a run of equal PCs has as many lines as
 * frames, or (the symbolizer naming inlined calls) more. */
static void match_frames(size_t nl, const uintptr_t *pcs, size_t n, int tool)
{
    size_t i = 0, j = 0;
    while (i < n) {
        size_t first = i, from = j;
        while (i < n && pcs[i] == pcs[first])
            i++;
        while (j < nl && lines[j].pc == pcs[first])
            j++;
        if (j - from < i - first || (!tool && j - from != i - first))
            harness_fail("symbolize_stack: %zu lines for frames %zu..%zu (0x%zx), from line %zu", j - from, first,
                         i - 1, (size_t)pcs[first], from);
    }
    if (j != nl)
        harness_fail("symbolize_stack: %zu lines for %zu frames", nl, n);
}

/* The harness's own program's file name, as symbolize names a module. */
static const char *program_name(void)
{
    static char path[256];
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
    }
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Where a frame of the harness must be: in its program, and when the
 * symbolizer is on, in the function name, or at a line of this file from
 * line to line + 1 (the outermost name of a frame comes from the symbol
 * table, which llvm-symbolizer 14 confuses with the coverage mapping's
 * __covrec_ records in a coverage build). */
typedef struct harness_frame {
    uintptr_t pc;     /* a PC no other frame has */
    const char *name; /* NULL: the symbolizer is off */
    unsigned line;
} harness_frame;

/* "... FILE:LINE" at the end of mid, FILE this file, LINE in [line, line + 1]. */
static int at_line(const char *mid, unsigned line)
{
    const char *file = strrchr(mid, ' '), *colon = strrchr(mid, ':'), *me = strrchr(__FILE__, '/');
    me = me ? me + 1 : __FILE__;
    if (!file || !colon || colon < file || !is_place(file + 1))
        return 0;
    size_t n = strlen(me);
    unsigned at = (unsigned)strtoul(colon + 1, NULL, 10);
    int here = (size_t)(colon - file) > n && strncmp(colon - n, me, n) == 0 && strchr(" /", *(colon - n - 1));
    return here && at >= line && at <= line + 1;
}

static void require_frame(size_t nl, harness_frame f, const char *text)
{
    char in[300], at[300];
    snprintf(in, sizeof in, " in %s", f.name ? f.name : "");
    snprintf(at, sizeof at, "%s+0x", program_name());
    size_t w = strlen(in);
    int found = f.name == NULL;
    for (size_t j = 0; j < nl; j++) {
        if (lines[j].pc != f.pc)
            continue;
        if (strncmp(lines[j].where, at, strlen(at)) != 0)
            harness_fail("symbolize_stack: 0x%zx, in the harness, is put in '%s':\n%s", (size_t)f.pc, lines[j].where,
                         text);
        found |= strncmp(lines[j].mid, in, w) == 0 && (lines[j].mid[w] == '\0' || lines[j].mid[w] == ' ');
        found |= at_line(lines[j].mid, f.line);
    }
    if (!found)
        harness_fail("symbolize_stack: 0x%zx is not named %s nor put at line %u or %u of %s:\n%s", (size_t)f.pc,
                     f.name, f.line, f.line + 1, __FILE__, text);
}

/* Whether symbolize.c will find a symbolizer: the names it tries, on PATH
 * (or /usr/bin:/bin when unset), looked for here with access(2), not with
 * its own platform_find_program, so that a search missing one shows. */
static int symbolizer_on_path(void)
{
    static const char *const names[] = SYMBOLIZE_TOOLS;
    const char *path = getenv("PATH");
    char dirs[4096], file[4400];
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
    for (char *save, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(file, sizeof file, "%s/%s", dir, names[i]);
            if (access(file, X_OK) == 0)
                return 1;
        }
    return 0;
}

/* symbolize_stack's text of len bytes (in a buffer of SYM_TEXT), proved:
 * its line count. pcs[0] is capture_at's first byte, pcs[1] a return
 * address into LLVMFuzzerTestOneInput from line call_line. */
static size_t prove_text(const char *text, size_t len, const uintptr_t *pcs, size_t n, unsigned call_line, int tool)
{
    if (len >= SYM_TEXT || strlen(text) != len)
        harness_fail("symbolize_stack: length %zu, not that of its text (%zu)", len, strlen(text));
    size_t nl = split_lines(text, tool);
    match_frames(nl, pcs, n, tool);
    require_frame(nl, (harness_frame){pcs[0], tool ? "capture_at" : NULL, capture_at_line}, text);
    require_frame(nl, (harness_frame){pcs[1], tool ? "LLVMFuzzerTestOneInput" : NULL, call_line}, text);
    return nl;
}

static size_t symbolize_proved(const uintptr_t *pcs, size_t n, unsigned call_line, char *text, int tool)
{
    return prove_text(text, symbolize_stack(pcs, n, text, 0, SYM_TEXT), pcs, n, call_line, tool);
}

/* The same text appended after pre bytes already in a buffer of pre + room
 * bytes: full's first bytes, cut there and NUL-terminated, the text before
 * kept, nothing past the buffer written. */
static void symbolize_cut(const uintptr_t *pcs, size_t n, const char *full, size_t pre, size_t room)
{
    static char buf[SYM_TEXT + 300];
    size_t cap = pre + 1 + room, want = strlen(full);
    want = pre + want < cap ? pre + want : cap - 1;
    memset(buf, 0x7e, sizeof buf);
    memset(buf, 'p', pre);
    buf[pre] = '\0';
    size_t len = symbolize_stack(pcs, n, buf, pre, cap);
    if (len != want || buf[len] != '\0' || strspn(buf, "p") < pre || memcmp(buf + pre, full, len - pre) != 0)
        harness_fail("symbolize_stack after %zu bytes in %zu: length %zu, '%s', not the first %zu bytes of '%s'", pre,
                     cap, len, buf + pre, want - pre, full);
    if (buf[cap] != 0x7e)
        harness_fail("symbolize_stack wrote past its buffer of %zu bytes", cap);
}

/* cat's answer is its input, cut to out_cap - 1 bytes; input_len of in
 * (more than the pipes hold: the conversation must write and read at once). */
static void filter_cat(const char *cat, size_t input_len, size_t out_cap)
{
    static char in[100000], out[70000];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (char)('a' + i % 23 + i / 4099 % 3);
    char *argv[] = {(char *)cat, NULL};
    long got = platform_run_filter(argv, in, input_len, out, out_cap);
    size_t want = input_len < out_cap ? input_len : out_cap - 1;
    if (got != (long)want || out[want] != '\0' || memcmp(out, in, want) != 0)
        harness_fail("platform_run_filter(%s): %ld bytes back of %zu sent into %zu, not the %zu sent", cat, got,
                     input_len, out_cap, want);
}

/* platform_find_program("cat") with PATH as path (NULL: unset), then PATH
 * as it was: the name found, executable, or NULL when expected. */
/* platform_find_program("cat") with PATH set to path (NULL: unset) into
 * cap bytes: must 1, it finds an executable .../cat that fits; -1, it finds
 * none; 0, either. */
static void find_cat(const char *path, size_t cap, int must)
{
    char buf[300];
    const char *was = getenv("PATH");
    char *saved = was ? strdup(was) : NULL;
    if (path)
        setenv("PATH", path, 1);
    else
        unsetenv("PATH");
    const char *got = platform_find_program("cat", buf, cap);
    if (saved)
        setenv("PATH", saved, 1);
    else
        unsetenv("PATH");
    free(saved);
    size_t n = got ? strlen(got) : 0;
    if ((must > 0 && !got) || (must < 0 && got) ||
        (got && (n >= cap || n < 4 || strcmp(got + n - 4, "/cat") != 0 || access(got, X_OK) != 0)))
        harness_fail("platform_find_program(cat) with PATH=%s, %zu bytes: '%s'", path ? path : "(unset)", cap,
                     got ? got : "(none)");
}

/* The process side: cat found, talked to, a missing program not run. */
static void probe_filter(void)
{
    int cat_here = access("/bin/cat", X_OK) == 0 || access("/usr/bin/cat", X_OK) == 0;
    find_cat(NULL, 300, cat_here);  /* PATH unset: /usr/bin:/bin */
    find_cat("::", 300, -1);          /* empty names only: none */
    find_cat("/usr/bin:/bin", 8, -1); /* "/bin/cat" needs 9 bytes */
    char cat[300];
    if (cat_here && platform_find_program("cat", cat, sizeof cat)) {
        filter_cat(cat, 100000, 70000); /* more than a pipe each way, answer cut */
        filter_cat(cat, 0, 16);
    }
    char *none[] = {"/nonexistent/warden-no-such-program", NULL};
    char out[16] = "x";
    long got = platform_run_filter(none, "0x0\n", 4, out, sizeof out);
    if (got != -1)
        harness_fail("platform_run_filter: %ld, not -1, from a program that does not exist: '%s'", got, out);
}

/* Lowers the limit of file descriptors so that only spare are free (the
 * lowest free one and those after it): 1 when that holds (as many opens
 * succeed here), 0 when it could not be set or does not hold (Valgrind
 * keeps a limit of its own), the limit as it was in *was. */
static int starve_fds(unsigned spare, struct rlimit *was)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), got[4], n = 0;
    if (fd < 0 || close(fd) != 0 || getrlimit(RLIMIT_NOFILE, was) != 0)
        return 0;
    for (unsigned i = 0; i < spare; i++)
        if (fcntl(fd + (int)i, F_GETFD) != -1)
            return 0; /* not free: the spare ones would not be the next made */
    struct rlimit low = {(rlim_t)fd + spare, was->rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &low) != 0)
        return 0;
    while (n < 4 && (got[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        n++;
    for (int i = 0; i < n; i++)
        close(got[i]);
    if (n == (int)spare)
        return 1;
    setrlimit(RLIMIT_NOFILE, was);
    return 0;
}

/* Out of file descriptors (none free, or two: one pipe), the filter
 * cannot run (-1) and a stack is still put in words, module+offset. */
static void filter_starved(const char *cat, const uintptr_t *pcs, size_t n, unsigned call_line, char *text)
{
    for (unsigned spare = 0; spare <= 2; spare += 2) {
        struct rlimit was;
        if (!starve_fds(spare, &was))
            continue;
        char *argv[] = {(char *)cat, NULL}, out[16];
        long got = platform_run_filter(argv, "x", 1, out, sizeof out);
        symbolize_setup(1);
        size_t len = symbolize_stack(pcs, n, text, 0, SYM_TEXT);
        symbolize_setup(0);
        setrlimit(RLIMIT_NOFILE, &was); /* before any verdict: the engine may write a file for it */
        if (got != -1)
            harness_fail("platform_run_filter: %ld, not -1, with %u file descriptors free", got, spare);
        prove_text(text, len, pcs, n, call_line, 0);
    }
}

/* Once per process: the frames, with a stored stack's first frames (those
 * past the harness: it shares warden's module) after the harness's two,
 * put in words with the symbolizer on (a process: milliseconds), then off
 * again; the process side on its own; and both out of file descriptors. */
static void symbolize_with_tool(const uintptr_t *pcs, size_t n, unsigned call_line)
{
    static int done;
    static char text[SYM_TEXT];
    if (done)
        return;
    done = 1;
    uintptr_t all[SYM_FRAMES];
    size_t k = 2 + depot_frames(stacks[1], all + 2, SYM_FRAMES - n);
    memcpy(all, pcs, 2 * sizeof *pcs);
    memcpy(all + k, pcs + 2, (n - 2) * sizeof *pcs);
    k += n - 2;
    int tool = symbolizer_on_path();
    symbolize_setup(1);
    symbolize_proved(all, k, call_line, text, tool);
    symbolize_setup(0);
    probe_filter();
    char cat[300];
    filter_starved(platform_find_program("cat", cat, sizeof cat) ? cat : "/bin/cat", all, k, call_line, text);
}

/* The frames: the first byte of capture_at (symbolize looks up pc - 1), a
 * return address into LLVMFuzzerTestOneInput, and three PCs of the input
 * (0, unmapped, huge or anywhere); then the text cut to a buffer the input
 * sizes. call_line: the caller's line. */
static void __attribute__((noinline)) fuzz_symbolize(reader *r, unsigned call_line)
{
    static char full[SYM_TEXT];
    uintptr_t pcs[5];
    pcs[0] = (uintptr_t)capture_at + 1;
    pcs[1] = (uintptr_t)__builtin_return_address(0);
    for (unsigned i = 2; i < 5; i++)
        pcs[i] = (uintptr_t)take(r, 8);
    symbolize_with_tool(pcs, 5, call_line);
    symbolize_proved(pcs, 5, call_line, full, 0);
    size_t pre = (size_t)take(r, 1) % 64;
    symbolize_cut(pcs, 5, full, pre, (size_t)take(r, 2) % (strlen(full) + 8));
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
    if (data[0] & 4u)
        fuzz_symbolize(&r, __LINE__); /* called from here: its return address is in this function, at this line */
    return 0;
}
