/* uaf_write.c — BUG: writes to a heap block after freeing it. */
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_heap *heap = warden_heap_create(NULL);
    char *p = warden_heap_alloc(heap, 32);
    memset(p, 1, 32);
    warden_heap_free(heap, p);
    p[20] = 2; /* BUG */
    warden_heap_destroy(heap);
    return 0;
}
