/* correct.c — a large correct program: random alloc, calloc, aligned alloc,
 * realloc (in place and moving) and free on two heaps, and bump arena
 * cycles with reset, every byte written before it is read. Must give zero
 * errors under Memcheck, ASan, MSan and UBSan. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <warden.h>

enum { SLOTS = 64, ROUNDS = 20000 };

static uint64_t state = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

static size_t size_pick(void)
{
    uint64_t r = next();
    return r % 10 < 6 ? r % 129 : r % 10 < 9 ? r % 5000 : r % 300000;
}

static unsigned sum(const unsigned char *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

static int heap_rounds(warden_heap *heap)
{
    unsigned char *p[SLOTS] = {0};
    size_t n[SLOTS] = {0};
    unsigned total = 0;
    for (int r = 0; r < ROUNDS; r++) {
        int k = (int)(next() % SLOTS);
        unsigned op = (unsigned)(next() % 5);
        if (!p[k]) {
            n[k] = size_pick();
            p[k] = op == 0 ? warden_heap_calloc(heap, 1, n[k])
                   : op == 1 ? warden_heap_alloc_aligned(heap, n[k], (size_t)1 << (next() % 13))
                             : warden_heap_alloc(heap, n[k]);
            if (op != 0)
                memset(p[k], (int)k, n[k]);
        } else if (op < 2) {
            size_t m = op == 0 ? n[k] + size_pick() : n[k] / 2;
            p[k] = warden_heap_realloc(heap, p[k], m);
            if (m > n[k])
                memset(p[k] + n[k], 3, m - n[k]);
            n[k] = m;
        } else {
            total += sum(p[k], n[k]);
            warden_heap_free(heap, p[k]);
            p[k] = NULL;
        }
    }
    for (int k = 0; k < SLOTS; k++)
        if (p[k]) {
            total += sum(p[k], n[k]);
            warden_heap_free(heap, p[k]);
        }
    return warden_heap_check(heap, NULL, 0) == 0 ? (int)(total & 1) : -1;
}

static int bump_cycles(void)
{
    warden_bump *arena = warden_bump_create();
    unsigned total = 0;
    for (int cycle = 0; cycle < 20; cycle++) {
        unsigned char *live[32] = {0};
        size_t n[32] = {0};
        for (int i = 0; i < 2000; i++) {
            int k = (int)(next() % 32);
            if (live[k] && next() % 3 == 0) {
                total += sum(live[k], n[k]);
                warden_bump_free(arena, live[k], n[k], 8);
                live[k] = NULL;
            } else if (live[k]) {
                size_t m = next() % 400;
                live[k] = warden_bump_realloc(arena, live[k], n[k], m, 8);
                if (m > n[k])
                    memset(live[k] + n[k], 5, m - n[k]);
                n[k] = m;
            } else {
                n[k] = next() % 600;
                live[k] = next() % 2 ? warden_bump_alloc_zeroed(arena, n[k], 8) : warden_bump_alloc(arena, n[k], 8);
                memset(live[k], 7, n[k]);
            }
        }
        if (warden_bump_check(arena, NULL, 0) != 0)
            return -1;
        warden_bump_reset(arena);
    }
    warden_bump_destroy(arena);
    return (int)(total & 1);
}

int main(void)
{
    warden_heap *plain = warden_heap_create(NULL);
    warden_heap_config c = {.region_size = 64 << 10, .quarantine_bytes = 8192, .flags = WARDEN_HEAP_NO_LOCK};
    warden_heap *small = warden_heap_create(&c);
    int a = heap_rounds(plain), b = heap_rounds(small), d = bump_cycles();
    warden_heap_destroy(plain);
    warden_heap_destroy(small);
    if (a < 0 || b < 0 || d < 0) {
        fputs("correct: an invariant check failed\n", stderr);
        return 1;
    }
    printf("correct: done (%d%d%d)\n", a, b, d);
    return 0;
}
