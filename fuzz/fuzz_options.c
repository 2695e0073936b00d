/* fuzz_options.c — fuzzes the WARDEN_OPTIONS parser (options.h): any byte
 * string gives a valid configuration or one error line, never a crash, a
 * read past the string or a half-applied change.
 *
 * Oracle: on success every key is within its bounds (options.inc, read
 * here by the same X-macro the parser uses) and the configuration survives
 * a round trip (options_describe's line, parsed over the defaults, gives
 * the same line); on failure the error is one non-empty line that fits its
 * buffer, and the options are untouched. The input is the string itself
 * (to its first NUL), in a block of its own size, so a read past it is
 * ASan's to see. The first byte also picks the error buffer's size (1..256),
 * to exercise truncation. With help=1, the table of keys it prints has a
 * row for each key of options.inc, in order. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "options.h"

static char described[2][2048];
static size_t described_len[2];

static void keep0(const char *text, size_t len)
{
    if (described_len[0] + len < sizeof described[0]) {
        memcpy(described[0] + described_len[0], text, len);
        described_len[0] += len;
    }
}

static void keep1(const char *text, size_t len)
{
    if (described_len[1] + len < sizeof described[1]) {
        memcpy(described[1] + described_len[1], text, len);
        described_len[1] += len;
    }
}

static void bounded(const char *key, uint64_t value, uint64_t least, uint64_t most)
{
    if (value < least || value > most)
        harness_fail("options: %s=%llu is outside %llu..%llu", key, (unsigned long long)value,
                     (unsigned long long)least, (unsigned long long)most);
}

static void within_bounds(const options *o)
{
#define OPTION_CHECK_BOOL(key, least, most) bounded(#key, o->key, least, most);
#define OPTION_CHECK_UINT(key, least, most) bounded(#key, o->key, least, most);
#define OPTION_CHECK_SIZE(key, least, most) bounded(#key, o->key, least, most);
#define OPTION_CHECK_PATH(key, least, most)                                                                \
    if (memchr(o->key, 0, sizeof o->key) == NULL)                                                          \
        harness_fail("options: %s is not NUL-terminated", #key);
#define OPTION(key, kind, def, least, most, meaning) OPTION_CHECK_##kind(key, least, most)
#include "options.inc"
#undef OPTION
}

/* help=1: the table options_table prints at start-up has its two heading
 * lines, then one row per key of options.inc, in its order. */
static char table[16384];
static size_t table_len;

static void keep_table(const char *text, size_t len)
{
    if (table_len + len >= sizeof table)
        harness_fail("options: the help table is over %zu bytes", sizeof table);
    memcpy(table + table_len, text, len);
    table_len += len;
    table[table_len] = 0;
}

static void table_has_every_key(void)
{
    table_len = 0;
    options_table(keep_table);
    const char *at = strchr(table, '\n');
    at = at ? strchr(at + 1, '\n') : NULL;
    char row[64];
#define OPTION(key, kind, def, least, most, meaning)                                                       \
    snprintf(row, sizeof row, "\n| `%s` |", #key);                                                         \
    if (!at || strncmp(at, row, strlen(row)) != 0)                                                          \
        harness_fail("options: the help table has no row for %s where expected", #key);                    \
    at = strchr(at + 1, '\n');
#include "options.inc"
#undef OPTION
    if (!at || at[1] != 0)
        harness_fail("options: the help table has rows past the last key");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1); /* its own block: a read past the NUL shows */
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    size_t err_size = size ? 1 + data[0] % 256 : 256;
    char err[300];
    memset(err, 'x', sizeof err);
    options o, before;
    memset(&o, 0, sizeof o); /* every byte defined: the options are compared whole */
    options_defaults(&o);
    memcpy(&before, &o, sizeof o);
    int rc = options_parse(&o, text, err, err_size);
    if (rc == 0) {
        within_bounds(&o);
        if (o.help)
            table_has_every_key();
        described_len[0] = described_len[1] = 0;
        options_describe(&o, keep0);
        if (described_len[0] < 16 || described[0][described_len[0] - 1] != '\n')
            harness_fail("options: the description is cut short (%zu bytes)", described_len[0]);
        described[0][described_len[0] - 1] = 0;
        options again;
        options_defaults(&again);
        const char *line = described[0] + strlen("warden: options");
        if (options_parse(&again, line, err, sizeof err) != 0)
            harness_fail("options: the description does not parse back: %s", err);
        options_describe(&again, keep1);
        described[1][described_len[1] - 1] = 0;
        if (strcmp(described[0], described[1]) != 0)
            harness_fail("options: a round trip changed '%s' into '%s'", described[0], described[1]);
    } else if (rc == -1) {
        size_t n = strnlen(err, err_size);
        if (n == err_size)
            harness_fail("options: the error is not NUL-terminated within its %zu bytes", err_size);
        if (err[err_size] != 'x' && err_size < sizeof err)
            harness_fail("options: the error was written past its %zu bytes", err_size);
        if ((n == 0 && err_size > 1) || memchr(err, '\n', n))
            harness_fail("options: the error is not one line: '%s'", err);
        if (memcmp(&o, &before, sizeof o) != 0)
            harness_fail("options: a failed parse changed the options");
    } else {
        harness_fail("options: options_parse returned %d", rc);
    }
    free(text);
    return 0;
}
