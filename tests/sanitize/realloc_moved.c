/* realloc_moved.c — BUG: reads through the old pointer after realloc moved
 * the block (32 bytes grow to 5000: another bucket). */
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_heap *heap = warden_heap_create(NULL);
    char *p = warden_heap_alloc(heap, 32);
    memset(p, 1, 32);
    char *q = warden_heap_realloc(heap, p, 5000);
    volatile char c = p[20]; /* BUG */
    (void)c;
    warden_heap_free(heap, q);
    warden_heap_destroy(heap);
    return 0;
}
