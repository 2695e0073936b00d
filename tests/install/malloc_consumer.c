/* malloc_consumer.c — a program linked with an installed libwarden-malloc:
 * its plain malloc/free are warden's (warden_check_all answers, and a
 * double free would be caught). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <warden.h>

int main(void)
{
    char *p = malloc(100);
    char *q = strdup("installed libwarden-malloc");
    if (!p || !q)
        return 1;
    memset(p, 1, 100);
    char why[256];
    if (warden_check_all(why, sizeof why) != 0) {
        fprintf(stderr, "check_all: %s\n", why);
        return 1;
    }
    printf("%s: ok\n", q);
    free(p);
    free(q);
    return 0;
}
