/* tests/debug/bugs.c — heap bugs, one per run: `bugs KIND` commits the bug
 * KIND with plain malloc and free, each step in a named function so that
 * a report's stacks can be checked for those names (run.sh does). A run
 * that survives its bug prints "survived KIND" and exits 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden.h"

#define NOINLINE __attribute__((noinline))

static volatile unsigned char sink;

NOINLINE static char *allocate_block(size_t n)
{
    return malloc(n);
}

NOINLINE static void release_block(void *p)
{
    free(p);
}

NOINLINE static void write_at(char *p, long offset)
{
    p[offset] = 'x';
}

/* Allocations and frees enough to push every block out of a 64 MiB quarantine. */
NOINLINE static void churn(void)
{
    for (int i = 0; i < 3000; i++) {
        void *q = malloc(64 * 1024);
        memset(q, 1, 64);
        free(q);
    }
}

static void *hammer_freed(void *p)
{
    free(p); /* the same freed block, from four threads */
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bugs KIND\n");
        return 2;
    }
    const char *kind = argv[1];
    if (!strcmp(kind, "overflow")) { /* one byte past a 16-byte block, found at free */
        char *p = allocate_block(16);
        write_at(p, 16);
        release_block(p);
    } else if (!strcmp(kind, "overflow_in_slack")) { /* inside the granule's slack */
        char *p = allocate_block(10);
        write_at(p, 10);
        release_block(p);
    } else if (!strcmp(kind, "underflow")) {
        char *p = allocate_block(32);
        write_at(p, -1);
        release_block(p);
    } else if (!strcmp(kind, "overflow_at_exit")) { /* never freed: the check at exit finds it */
        char *p = allocate_block(24);
        write_at(p, 30);
    } else if (!strcmp(kind, "overflow_check_all")) { /* found by warden_check_all() */
        char *p = allocate_block(40);
        write_at(p, 41);
        char why[200];
        printf("check_all %d\n", warden_check_all(why, sizeof why));
    } else if (!strcmp(kind, "use_after_free_write")) { /* found when it leaves the quarantine */
        char *p = allocate_block(48);
        release_block(p);
        write_at(p, 5);
        churn();
    } else if (!strcmp(kind, "double_free")) {
        char *p = allocate_block(32);
        release_block(p);
        free(p);
    } else if (!strcmp(kind, "double_free_nonadjacent")) {
        char *a = allocate_block(32), *b = malloc(32);
        release_block(a);
        free(b);
        free(a);
    } else if (!strcmp(kind, "free_stack")) {
        char local[32] = {0};
        sink = (unsigned char)local[0];
        release_block(local + 16);
    } else if (!strcmp(kind, "free_interior")) {
        char *p = allocate_block(64);
        release_block(p + 1);
    } else if (!strcmp(kind, "realloc_freed")) {
        char *p = allocate_block(32);
        release_block(p);
        p = realloc(p, 64);
    } else if (!strcmp(kind, "uninitialised")) { /* junk_alloc makes the garbage visible */
        unsigned char *p = (unsigned char *)allocate_block(16);
        printf("first byte 0x%02x\n", p[0]);
        release_block(p);
    } else if (!strcmp(kind, "four_threads_double_free")) { /* one report, not four */
        char *p = allocate_block(32);
        release_block(p);
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, hammer_freed, p);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    } else {
        fprintf(stderr, "bugs: unknown kind %s\n", kind);
        return 2;
    }
    printf("survived %s\n", kind);
    return 0;
}
