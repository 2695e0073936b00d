/* buggy.c — the bundled bug for warden-run's demo: a name copied into a
 * buffer one byte too short (strlen without the terminator), found when the
 * buffer is freed, with the stacks that allocated and freed it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *copy_name(const char *name)
{
    char *copy = malloc(strlen(name)); /* the bug: no room for the '\0' */
    strcpy(copy, name);
    return copy;
}

static void greet(const char *name)
{
    char *copy = copy_name(name);
    printf("hello, %s\n", copy);
    free(copy);
}

int main(void)
{
    greet("warden");
    return 0;
}
