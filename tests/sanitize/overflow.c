/* overflow.c — BUG: writes one byte past the 24 bytes asked for (the block
 * has 32 usable: only a chunk of exactly 24 bytes shows the bug). */
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_heap *heap = warden_heap_create(NULL);
    char *p = warden_heap_alloc(heap, 24);
    memset(p, 1, 24);
    p[24] = 2; /* BUG */
    warden_heap_free(heap, p);
    warden_heap_destroy(heap);
    return 0;
}
