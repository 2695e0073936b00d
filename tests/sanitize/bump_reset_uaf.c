/* bump_reset_uaf.c — BUG: reads an arena object after warden_bump_reset
 * dropped every allocation. */
#include <string.h>

#include <warden.h>

int main(void)
{
    warden_bump *arena = warden_bump_create();
    char *p = warden_bump_alloc(arena, 24, 8);
    memset(p, 1, 24);
    warden_bump_reset(arena);
    volatile char c = p[0]; /* BUG */
    (void)c;
    warden_bump_destroy(arena);
    return 0;
}
