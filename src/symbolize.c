/* symbolize.c — frames to words (symbolize.h). One llvm-symbolizer run per
 * report stack: the input is a line "MODULE 0xOFFSET" per frame; its
 * answer is, per frame, pairs of lines (function, file:line:column; more
 * than one pair where calls were inlined) and a blank line. Its buffers
 * are static: the caller holds the report lock. */
#include "symbolize.h"

#include "depot.h"
#include "platform_debug.h"
#include "report.h"

static int tool_wanted;
static int tool_state; /* 0: not looked for; 1: found; -1: none */
static char tool[256];

void symbolize_setup(int use_tool)
{
    tool_wanted = use_tool;
}

static const char *find_tool(void)
{
    if (!tool_wanted)
        return NULL;
    if (tool_state == 0) {
        static const char *const names[] = SYMBOLIZE_TOOLS;
        tool_state = -1;
        for (size_t i = 0; i < sizeof names / sizeof names[0] && tool_state < 0; i++)
            if (platform_find_program(names[i], tool, sizeof tool))
                tool_state = 1;
    }
    return tool_state > 0 ? tool : NULL;
}

static const char *base_name(const char *path)
{
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            b = p + 1;
    return b;
}

typedef struct frame_place {
    platform_module module;
    uintptr_t offset; /* of the call, pc - 1, in the module's file */
    int known;        /* the module was found */
} frame_place;

/* The next line of text at *at (NUL-terminated, its newline cut), or NULL. */
static char *next_line(char **at)
{
    char *s = *at;
    if (!*s)
        return NULL;
    char *e = s;
    while (*e && *e != '\n')
        e++;
    *at = *e ? e + 1 : e;
    *e = '\0';
    return s;
}

/* "file:line:column" to "file:line"; NULL for an unknown place ("??:0:0"). */
static const char *place_of(char *s)
{
    if (s[0] == '?' || !s[0])
        return NULL;
    char *last = NULL, *prev = NULL;
    for (char *p = s; *p; p++)
        if (*p == ':')
            prev = last, last = p;
    if (prev && last)
        *last = '\0'; /* the column goes */
    if (prev && prev[1] == '0' && prev[2] == '\0')
        return NULL; /* line 0: no line information */
    return s;
}

size_t symbolize_stack(const uintptr_t *pcs, size_t n, char *out, size_t len, size_t cap)
{
    static frame_place places[DEPOT_MAX_DEPTH];
    static char input[DEPOT_MAX_DEPTH * 300];
    static char answer[32768];
    n = n > DEPOT_MAX_DEPTH ? DEPOT_MAX_DEPTH : n;
    size_t in = 0;
    for (size_t i = 0; i < n; i++) {
        frame_place *f = &places[i];
        f->known = platform_module_of(pcs[i] - 1, &f->module) == 0;
        f->offset = f->known ? pcs[i] - 1 - f->module.bias : 0;
        if (f->known)
            in += report_format(input + in, sizeof input - in, "\"%s\" 0x%zx\n", f->module.path, (size_t)f->offset);
        else
            in += report_format(input + in, sizeof input - in, "\"/nonexistent\" 0x0\n");
    }
    const char *prog = find_tool();
    char *at = answer;
    answer[0] = '\0';
    if (prog) {
        char *argv[] = {(char *)prog, "--inlines", NULL};
        if (platform_run_filter(argv, input, in, answer, sizeof answer) < 0)
            answer[0] = '\0';
    }
    unsigned k = 0;
    for (size_t i = 0; i < n; i++) {
        const frame_place *f = &places[i];
        char where[300];
        if (f->known)
            report_format(where, sizeof where, "(%s+0x%zx)", base_name(f->module.path), (size_t)f->offset);
        else
            report_format(where, sizeof where, "(unknown module)");
        int printed = 0;
        char *fn;
        while ((fn = next_line(&at)) != NULL && fn[0]) { /* this frame's pairs, up to its blank line */
            char *file = next_line(&at);
            const char *place = file ? place_of(file) : NULL;
            int named = fn[0] != '?';
            len += report_format(out + len, cap - len, "    #%u 0x%zx%s%s%s%s %s\n", k++, (size_t)pcs[i],
                                 named ? " in " : "", named ? fn : "", place ? " " : "", place ? place : "", where);
            printed = 1;
        }
        if (!printed)
            len += report_format(out + len, cap - len, "    #%u 0x%zx %s\n", k++, (size_t)pcs[i], where);
    }
    return len;
}
