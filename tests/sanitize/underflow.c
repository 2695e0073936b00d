/* underflow.c — BUG: writes the byte before a block, into its header. */
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_heap *heap = warden_heap_create(NULL);
    char *p = warden_heap_alloc(heap, 32);
    memset(p, 1, 32);
    p[-1] = 2; /* BUG */
    warden_heap_destroy(heap); /* no free: the damaged header would abort it */
    return 0;
}
