/* platform_wasm.c — the host services of platform.h on WebAssembly (WASI):
 * pages come from memory.grow (64 KiB pages, so every mapping is already
 * chunk-aligned); memory cannot shrink, so unmapped ranges are kept on a
 * list and handed out again. Single-threaded: locks are no-ops. */
#include "platform.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "mix.h"

#define WASM_PAGE ((size_t)65536)
_Static_assert(WASM_PAGE == PLATFORM_CHUNK, "a wasm page is a platform chunk");

/* A range given back by platform_unmap, kept in its own first bytes. */
typedef struct spare {
    struct spare *next; /* next spare range, or NULL */
    size_t size;        /* its bytes, a multiple of WASM_PAGE */
} spare;

static spare *spares;

long platform_maps_left = -1; /* platform.h: the tests' limit on mappings */

void *platform_map(size_t size)
{
    if (platform_map_refused())
        return NULL;
    for (spare **at = &spares; *at; at = &(*at)->next) {
        spare *s = *at;
        if (s->size < size)
            continue;
        if (s->size == size) {
            *at = s->next;
        } else { /* hand out the tail, keep the head listed */
            s->size -= size;
            s = (spare *)((char *)s + s->size);
        }
        memset(s, 0, size);
        return s;
    }
    size_t old = __builtin_wasm_memory_grow(0, size / WASM_PAGE);
    if (old == (size_t)-1)
        return NULL;
    return (void *)(old * WASM_PAGE); /* fresh pages are zero */
}

void platform_unmap(void *addr, size_t size)
{
    spare *s = addr;
    s->size = size;
    s->next = spares;
    spares = s;
}

void platform_random(void *buf, size_t len)
{
    unsigned char *out = buf;
    while (len > 0) {
        size_t n = len < 256 ? len : 256; /* getentropy's limit */
        if (getentropy(out, n) != 0) {
            mix_fill(out, len, (uint64_t)(uintptr_t)buf ^ (uint64_t)__builtin_wasm_memory_size(0));
            return;
        }
        out += n;
        len -= n;
    }
}

/* Linear memory never shrinks: there are no pages to give back. */
void platform_purge(void *addr, size_t size)
{
    (void)addr;
    (void)size;
}

void platform_write_error(const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(2, text, len);
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

_Noreturn void platform_abort(void)
{
    abort(); /* traps: the host sees "unreachable" */
}

void platform_yield(void)
{
}

void platform_lock_init(platform_lock *lock)
{
    (void)lock;
}

void platform_lock_destroy(platform_lock *lock)
{
    (void)lock;
}

void platform_lock_acquire(platform_lock *lock)
{
    (void)lock;
}

void platform_lock_release(platform_lock *lock)
{
    (void)lock;
}
