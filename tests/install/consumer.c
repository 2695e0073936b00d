/* consumer.c — a program built against an installed warden, the way a user
 * builds one: by pkg-config (ci/test.sh) or find_package (CMakeLists.txt). */
#include <stdio.h>
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_heap *heap = warden_heap_create(NULL);
    if (!heap)
        return 1;
    char *s = warden_heap_alloc(heap, 32);
    strcpy(s, "hello from an installed warden");
    char why[128];
    int rc = warden_heap_check(heap, why, sizeof why);
    printf("%s, check %s\n", s, rc == 0 ? "ok" : why);
    warden_heap_free(heap, s);
    warden_heap_destroy(heap);
    return rc;
}
