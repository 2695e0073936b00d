/* uaf_read.c — BUG: reads a heap block after freeing it. */
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_heap *heap = warden_heap_create(NULL);
    char *p = warden_heap_alloc(heap, 32);
    memset(p, 1, 32);
    warden_heap_free(heap, p);
    volatile char c = p[20]; /* BUG */
    (void)c;
    warden_heap_destroy(heap);
    return 0;
}
