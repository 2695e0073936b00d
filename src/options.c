/* options.c — the WARDEN_OPTIONS parser, driven by the table of
 * options.inc: spans of the input are read in place, nothing is copied to
 * the heap, and the first bad key or value stops the parse with one line. */
#include "options.h"

#include "report.h"

typedef enum kind { KIND_BOOL, KIND_UINT, KIND_SIZE, KIND_PATH } kind;

typedef struct spec {
    const char *key;
    kind kind;
    uint64_t def, least, most;
    const char *meaning;
    size_t offset; /* of the value in struct options */
} spec;

static const spec specs[] = {
#define OPTION(k, kd, d, l, m, meaning) {#k, KIND_##kd, d, l, m, meaning, offsetof(options, k)},
#include "options.inc"
#undef OPTION
};
#define SPEC_COUNT (sizeof specs / sizeof specs[0])

static uint64_t *value_of(options *o, const spec *s)
{
    return (uint64_t *)(void *)((char *)o + s->offset);
}

static char *path_of(options *o, const spec *s)
{
    return (char *)o + s->offset;
}

void options_defaults(options *o)
{
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        if (specs[i].kind == KIND_PATH)
            path_of(o, &specs[i])[0] = '\0';
        else
            *value_of(o, &specs[i]) = specs[i].def;
    }
}

/* ---- spans of the input ------------------------------------------------- */

typedef struct span {
    const char *at;
    size_t len;
} span;

static int span_is(span s, const char *word)
{
    size_t i = 0;
    for (; i < s.len; i++)
        if (word[i] != s.at[i])
            return 0;
    return word[i] == '\0';
}

/* s as a NUL-terminated string in buf, cut short (with "...") to fit. */
static const char *span_quote(span s, char *buf, size_t cap)
{
    size_t n = s.len < cap - 4 ? s.len : cap - 4;
    for (size_t i = 0; i < n; i++)
        buf[i] = (s.at[i] >= 0x20 && s.at[i] < 0x7f) ? s.at[i] : '?';
    if (n < s.len)
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    buf[n] = '\0';
    return buf;
}

static int is_separator(char c)
{
    return c == ':' || c == ',' || c == ' ' || c == '\t' || c == '\n';
}

/* ---- values ---------------------------------------------------------------- */

static int parse_bool(span v, uint64_t *out)
{
    if (span_is(v, "1") || span_is(v, "true") || span_is(v, "yes"))
        return *out = 1, 0;
    if (span_is(v, "0") || span_is(v, "false") || span_is(v, "no"))
        return *out = 0, 0;
    return -1;
}

static int parse_number(span v, int suffix, uint64_t *out)
{
    uint64_t x = 0;
    size_t i = 0;
    for (; i < v.len && v.at[i] >= '0' && v.at[i] <= '9'; i++) {
        unsigned d = (unsigned)(v.at[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    if (i == 0)
        return -1;
    if (suffix && i + 1 == v.len) {
        unsigned shift = 0;
        switch (v.at[i]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return -1;
        }
        if (x > (UINT64_MAX >> shift))
            return -1;
        x <<= shift;
        i++;
    }
    if (i != v.len)
        return -1;
    *out = x;
    return 0;
}

static size_t describe_accepted(const spec *s, char *buf, size_t cap)
{
    switch (s->kind) {
    case KIND_BOOL:
        return report_format(buf, cap, "0 or 1");
    case KIND_UINT:
        return report_format(buf, cap, "an integer %zu..%zu", (size_t)s->least, (size_t)s->most);
    case KIND_PATH:
        return report_format(buf, cap, "a file name of 1..%zu bytes", (size_t)OPTIONS_PATH_MAX - 1);
    default:
        return report_format(buf, cap, "bytes %zu..%zu (k, m, g suffixes)", (size_t)s->least, (size_t)s->most);
    }
}

/* A file name: printable, and short enough for the field. */
static int parse_path(span v, char *out)
{
    if (v.len == 0 || v.len >= OPTIONS_PATH_MAX)
        return -1;
    for (size_t i = 0; i < v.len; i++)
        if (v.at[i] < 0x20 || v.at[i] >= 0x7f)
            return -1;
    for (size_t i = 0; i < v.len; i++)
        out[i] = v.at[i];
    out[v.len] = '\0';
    return 0;
}

static int parse_value(const spec *s, span v, uint64_t *out)
{
    int rc = s->kind == KIND_BOOL ? parse_bool(v, out) : parse_number(v, s->kind == KIND_SIZE, out);
    return rc == 0 && *out >= s->least && *out <= s->most ? 0 : -1;
}

/* ---- the parse ------------------------------------------------------------ */

static int fail_key(span key, char *err, size_t cap)
{
    char k[48];
    size_t n = report_format(err, cap, "WARDEN_OPTIONS: unknown key '%s' (keys:", span_quote(key, k, sizeof k));
    for (size_t i = 0; i < SPEC_COUNT && n + 1 < cap; i++)
        n += report_format(err + n, cap - n, "%s %s", i ? "," : "", specs[i].key);
    report_format(err + n, cap - n, ")");
    return -1;
}

static int fail_value(const spec *s, span v, char *err, size_t cap)
{
    char val[48], accepted[64];
    describe_accepted(s, accepted, sizeof accepted);
    report_format(err, cap, "WARDEN_OPTIONS: bad value '%s' for %s (accepts %s)", span_quote(v, val, sizeof val),
                  s->key, accepted);
    return -1;
}

static const spec *spec_named(span key)
{
    for (size_t i = 0; i < SPEC_COUNT; i++)
        if (span_is(key, specs[i].key))
            return &specs[i];
    return NULL;
}

int options_parse(options *o, const char *text, char *err, size_t err_size)
{
    options next = *o;
    const char *p = text ? text : "";
    for (;;) {
        while (*p && is_separator(*p))
            p++;
        if (!*p)
            break;
        span key = {p, 0};
        while (p[key.len] && p[key.len] != '=' && !is_separator(p[key.len]))
            key.len++;
        p += key.len;
        const spec *s = spec_named(key);
        if (!s)
            return fail_key(key, err, err_size);
        if (*p != '=') {
            char k[48];
            report_format(err, err_size, "WARDEN_OPTIONS: key '%s' has no value (write %s=VALUE)",
                          span_quote(key, k, sizeof k), s->key);
            return -1;
        }
        p++;
        span v = {p, 0};
        while (p[v.len] && !is_separator(p[v.len]))
            v.len++;
        p += v.len;
        int bad = s->kind == KIND_PATH ? parse_path(v, path_of(&next, s)) : parse_value(s, v, value_of(&next, s));
        if (bad)
            return fail_value(s, v, err, err_size);
    }
    *o = next;
    return 0;
}

/* ---- the table --------------------------------------------------------------- */

void options_table(void (*write)(const char *text, size_t len))
{
    char line[512];
    size_t n = report_format(line, sizeof line, "| key | default | accepts | meaning |\n|---|---|---|---|\n");
    write(line, n);
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        char accepted[64];
        describe_accepted(&specs[i], accepted, sizeof accepted);
        char def[24];
        if (specs[i].kind == KIND_PATH)
            report_format(def, sizeof def, "(none)");
        else
            report_format(def, sizeof def, "%zu", (size_t)specs[i].def);
        n = report_format(line, sizeof line, "| `%s` | %s | %s | %s |\n", specs[i].key, def, accepted,
                          specs[i].meaning);
        write(line, n);
    }
}

void options_describe(const options *o, void (*write)(const char *text, size_t len))
{
    char line[1024];
    size_t n = report_format(line, sizeof line, "warden: options");
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        if (specs[i].kind == KIND_PATH) {
            const char *path = path_of((options *)o, &specs[i]);
            if (path[0]) /* unset: no value to write (an empty one would not parse back) */
                n += report_format(line + n, sizeof line - n, " %s=%s", specs[i].key, path);
        } else
            n += report_format(line + n, sizeof line - n, " %s=%zu", specs[i].key,
                               (size_t)*value_of((options *)o, &specs[i]));
    }
    if (n < sizeof line - 1)
        line[n++] = '\n';
    write(line, n);
}
