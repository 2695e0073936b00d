/* report.h — how warden speaks: a tiny printf-style formatter that never
 * allocates (it runs inside malloc and after heap corruption), and the one
 * fatal-error function every hardening check ends in. */
#ifndef WARDEN_REPORT_H
#define WARDEN_REPORT_H

#include <stdarg.h>
#include <stddef.h>

#include "compiler.h"

/* Formats into buf (always NUL-terminated when cap > 0); returns the length
 * written. Understands %s %p %d %u %x %zu %zx %%: nothing else. */
size_t report_vformat(char *buf, size_t cap, const char *fmt, va_list ap);
size_t report_format(char *buf, size_t cap, const char *fmt, ...)
    WARDEN_PRINTF(3, 4);

/* Prints "warden: <op>(<addr>): <fault>\n" to stderr, then aborts.
 * fault is a format for the words that follow, e.g. "double free". */
_Noreturn void report_fatal(const char *op, const void *addr, const char *fault, ...)
    WARDEN_PRINTF(3, 4) WARDEN_COLD;

#endif /* WARDEN_REPORT_H */
