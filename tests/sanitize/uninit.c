/* uninit.c — BUG: branches on a byte of a block that was never written. */
#include <stdio.h>

#include <warden.h>

int main(void)
{
    warden_heap *heap = warden_heap_create(NULL);
    char *p = warden_heap_alloc(heap, 32);
    if (p[3] == 7) /* BUG */
        puts("seven");
    warden_heap_free(heap, p);
    warden_heap_destroy(heap);
    return 0;
}
