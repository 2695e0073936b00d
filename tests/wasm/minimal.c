/* minimal.c — the smallest useful program on the bump arena, built for
 * wasm32-wasi to measure what the arena adds to a module. */
#include <warden.h>

int main(void)
{
    warden_bump *arena = warden_bump_create();
    if (!arena)
        return 1;
    char *s = warden_bump_alloc(arena, 40, 8);
    char *big = warden_bump_alloc(arena, 1000, 16);
    s[0] = big[0] = 1;
    warden_bump_free(arena, s, 40, 8);
    warden_bump_reset(arena);
    int rc = warden_bump_check(arena, 0, 0);
    warden_bump_destroy(arena);
    return rc;
}
