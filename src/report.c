/* report.c — the allocation-free formatter and the fatal-error path. */
#include "report.h"

#include "platform.h"

#include <stdint.h>

typedef struct sink {
    char *buf;  /* destination */
    size_t cap; /* bytes buf holds, the NUL included */
    size_t len; /* bytes written so far, the NUL excluded */
} sink;

static void sink_put(sink *s, char c)
{
    if (s->len + 1 < s->cap)
        s->buf[s->len++] = c;
}

static void sink_puts(sink *s, const char *str)
{
    for (; *str; str++)
        sink_put(s, *str);
}

static void sink_number(sink *s, uint64_t value, unsigned base)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value);
    while (n)
        sink_put(s, digits[--n]);
}

size_t report_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    sink s = {buf, cap, 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(&s, *fmt);
            continue;
        }
        fmt++;
        int size_t_arg = (*fmt == 'z');
        if (size_t_arg)
            fmt++;
        switch (*fmt) {
        case 's': {
            const char *str = va_arg(ap, const char *);
            sink_puts(&s, str ? str : "(null)");
            break;
        }
        case 'p':
            sink_puts(&s, "0x");
            sink_number(&s, (uintptr_t)va_arg(ap, void *), 16);
            break;
        case 'd': {
            int v = va_arg(ap, int);
            if (v < 0)
                sink_put(&s, '-');
            sink_number(&s, v < 0 ? -(uint64_t)v : (uint64_t)v, 10);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = size_t_arg ? va_arg(ap, size_t) : va_arg(ap, unsigned);
            sink_number(&s, v, *fmt == 'x' ? 16 : 10);
            break;
        }
        case '%':
            sink_put(&s, '%');
            break;
        default: /* unknown directive: stop rather than misread the arguments */
            goto done;
        }
    }
done:
    if (cap > 0)
        buf[s.len] = '\0';
    return s.len;
}

size_t report_format(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = report_vformat(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

_Noreturn void report_fatal(const char *op, const void *addr, const char *fault, ...)
{
    char line[512];
    size_t n = report_format(line, sizeof line, "warden: %s(%p): ", op, addr);
    va_list ap;
    va_start(ap, fault);
    n += report_vformat(line + n, sizeof line - n - 1, fault, ap);
    va_end(ap);
    line[n++] = '\n';
    platform_write_error(line, n);
    platform_abort();
}
