/* options.h — warden's run-time options: the values of every key of
 * options.inc, their defaults, the parser of WARDEN_OPTIONS strings
 * ("key=value:key=value", as ASAN_OPTIONS) and the help table. Nothing
 * here allocates: it runs inside the first malloc. */
#ifndef WARDEN_OPTIONS_H
#define WARDEN_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define OPTIONS_PATH_MAX 256 /* bytes of a PATH value, its NUL included */

#define OPTION_FIELD_BOOL(key) uint64_t key;
#define OPTION_FIELD_UINT(key) uint64_t key;
#define OPTION_FIELD_SIZE(key) uint64_t key;
#define OPTION_FIELD_PATH(key) char key[OPTIONS_PATH_MAX];

typedef struct options {
#define OPTION(key, kind, def, least, most, meaning) OPTION_FIELD_##kind(key)
#include "options.inc"
#undef OPTION
} options;

/* Every key at its default. */
void options_defaults(options *o);
/* Applies text (NULL or empty: nothing) over o. Keys are separated by ':'
 * (or ',' or white space). 0 on success; -1 with one line in err (no
 * newline) naming the bad key or value and what is accepted, and o
 * unchanged. */
int options_parse(options *o, const char *text, char *err, size_t err_size);
/* Writes the table of keys (markdown rows: key, default, accepts, meaning) into
 * out by calls of write(text, len). */
void options_table(void (*write)(const char *text, size_t len));
/* Writes "warden: options key=value ..." (every key; a PATH key when set)
 * the same way: the line after "warden: options" parses back to o. */
void options_describe(const options *o, void (*write)(const char *text, size_t len));

#endif /* WARDEN_OPTIONS_H */
