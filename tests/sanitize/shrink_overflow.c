/* shrink_overflow.c — BUG: writes past the new end after realloc shrank
 * the block in place from 64 to 16 bytes. */
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_heap *heap = warden_heap_create(NULL);
    char *p = warden_heap_alloc(heap, 64);
    memset(p, 1, 64);
    char *q = warden_heap_realloc(heap, p, 16); /* same block, now 16 bytes */
    q[20] = 2; /* BUG */
    warden_heap_free(heap, q);
    warden_heap_destroy(heap);
    return 0;
}
