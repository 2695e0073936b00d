/* leak.c — BUG: a 64-byte block is allocated and its pointer dropped; the
 * heap is never destroyed, so the block is still allocated at exit. */
#include <string.h>

#include <warden.h>

static warden_heap *heap;

/* noinline: no stale copy of the pointer survives in main's registers */
__attribute__((noinline)) static void lose_a_block(void)
{
    char *p = warden_heap_alloc(heap, 64); /* BUG */
    memset(p, 1, 64);
}

int main(void)
{
    heap = warden_heap_create(NULL);
    lose_a_block();
    return 0;
}
