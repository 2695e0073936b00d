/* bump_overflow.c — BUG: writes one byte past a 24-byte arena object. */
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_bump *arena = warden_bump_create();
    char *p = warden_bump_alloc(arena, 24, 8);
    memset(p, 1, 24);
    p[24] = 2; /* BUG */
    warden_bump_free(arena, p, 24, 8);
    warden_bump_destroy(arena);
    return 0;
}
