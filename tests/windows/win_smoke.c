/* win_smoke.c — warden on Windows (VirtualAlloc page source, SRW locks,
 * BCryptGenRandom secret): heaps and an arena at work with their checkers,
 * regions returned, and with the argument "double-free" a misuse that must
 * end in a warden: line and abort(). Built by the mingw-w64 cross build and
 * run under Wine by ci/test.sh. */
#include <stdio.h>
#include <string.h>

#include <warden.h>

static int failed(const char *what, const char *why)
{
    fprintf(stderr, "win_smoke: %s: %s\n", what, why);
    return 1;
}

int main(int argc, char **argv)
{
    char why[256];
    warden_heap *heap = warden_heap_create(NULL);
    if (!heap)
        return failed("warden_heap_create", "NULL");
    if (argc > 1 && strcmp(argv[1], "double-free") == 0) {
        void *p = warden_heap_alloc(heap, 40);
        warden_heap_free(heap, p);
        warden_heap_free(heap, p); /* must not return */
        return failed("double free", "not caught");
    }
    void *p[2000];
    for (int i = 0; i < 2000; i++) {
        p[i] = i % 3 ? warden_heap_alloc(heap, (size_t)(i * 37 % 20000))
                     : warden_heap_alloc_aligned(heap, 100, (size_t)1 << (i % 16));
        if (!p[i])
            return failed("alloc", "NULL");
        memset(p[i], i, 8);
    }
    for (int i = 0; i < 2000; i += 2)
        p[i] = warden_heap_realloc(heap, p[i], 300);
    if (warden_heap_check(heap, why, sizeof why) != 0)
        return failed("heap check", why);
    for (int i = 0; i < 2000; i++)
        warden_heap_free(heap, p[i]);
    warden_heap_stats s;
    warden_heap_get_stats(heap, &s);
    if (s.live_blocks != 0 || warden_heap_check(heap, why, sizeof why) != 0)
        return failed("after freeing everything", why);
    warden_heap_destroy(heap);

    warden_bump *arena = warden_bump_create();
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5000; i++) {
            char *q = warden_bump_alloc(arena, (size_t)(i % 300), 8);
            if (!q)
                return failed("bump alloc", "NULL");
            memset(q, 1, (size_t)(i % 300));
            if (i % 4 == 0)
                warden_bump_free(arena, q, (size_t)(i % 300), 8);
        }
        if (warden_bump_check(arena, why, sizeof why) != 0)
            return failed("bump check", why);
        warden_bump_reset(arena);
    }
    warden_bump_destroy(arena);
    printf("win_smoke: heap and arena ok (%zu regions were mapped at the peak's end)\n", s.regions);
    return 0;
}
