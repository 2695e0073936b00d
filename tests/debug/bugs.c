/* tests/debug/bugs.c — heap bugs, one per run: `bugs KIND` commits the bug
 * KIND with plain malloc and free, each step in a named function so that
 * a report's stacks can be checked for those names (run.sh does). A run
 * that survives its bug prints "survived KIND" and exits 0. It links no
 * allocator: run it under warden-run, LD_PRELOAD or another tool (warden's
 * API is used when warden is there). */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))

/* warden's API, when warden is the malloc */
__attribute__((weak)) int warden_check_all(char *why, size_t why_size);
__attribute__((weak)) size_t warden_leak_report(void);

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

NOINLINE static char read_at(const char *p, long offset)
{
    return ((const volatile char *)p)[offset];
}

static sigjmp_buf escape;

static void on_segv(int sig)
{
    (void)sig;
    printf("the program's own handler ran\n");
    siglongjmp(escape, 1);
}

/* Allocations and frees enough to push every block out of a quarantine of up to 64 MiB. */
NOINLINE static void churn(void)
{
    for (int i = 0; i < 3000; i++) {
        void *q = malloc(64 * 1024);
        memset(q, 1, 64);
        free(q);
    }
}

/* Two call paths of the same depth into allocate_block: the stacks warden
 * caches must still tell them apart. */
NOINLINE static char *allocate_via_a(size_t n)
{
    char *p = allocate_block(n);
    sink = (unsigned char)p[0];
    return p;
}

NOINLINE static char *allocate_via_b(size_t n)
{
    char *p = allocate_block(n);
    sink = (unsigned char)p[0];
    return p;
}

/* Twelve more paths of one depth, called in turn (more than one set of
 * warden's stack cache holds): each block must keep its own path's stack. */
#define VIA(k)                                                                                                         \
    NOINLINE static char *allocate_via_##k(size_t n)                                                                   \
    {                                                                                                                  \
        char *p = allocate_block(n);                                                                                   \
        sink = (unsigned char)(p[0] + k);                                                                              \
        return p;                                                                                                      \
    }
VIA(0) VIA(1) VIA(2) VIA(3) VIA(4) VIA(5) VIA(6) VIA(7) VIA(8) VIA(9) VIA(10) VIA(11)
static char *(*const vias[12])(size_t) = {allocate_via_0, allocate_via_1, allocate_via_2,  allocate_via_3,
                                          allocate_via_4, allocate_via_5, allocate_via_6,  allocate_via_7,
                                          allocate_via_8, allocate_via_9, allocate_via_10, allocate_via_11};

typedef struct node {
    struct node *next;
    char text[24];
} node;

/* globals a correct program keeps at exit (not static: the compiler would
 * drop stores to a static nobody reads) */
node *kept;
char *kept_interior;
__thread void *kept_in_tls;

NOINLINE static node *allocate_head(void)
{
    node *n = malloc(sizeof *n);
    n->next = NULL;
    strcpy(n->text, "head");
    return n;
}

NOINLINE static node *allocate_child(void)
{
    node *n = malloc(sizeof *n);
    n->next = NULL;
    strcpy(n->text, "child");
    return n;
}

/* Overwrites the dead frames below the caller (where a lost pointer may
 * linger in a stale slot and, as for any conservative scan, hide a leak). */
NOINLINE static void scrub_stack(void)
{
    volatile char junk[16384];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0;
}

NOINLINE static void lose_list(int cycle)
{
    node *head = allocate_head();
    head->next = allocate_child();
    if (cycle)
        head->next->next = head;
}

/* Allocates and frees 100-byte blocks until one comes back at an address
 * freed before (it went through the quarantine and left it), and loses
 * that one: nothing warden keeps of the first block there may reach it.
 * The addresses seen are kept XORed, out of the leak scan's sight. */
#define SEEN_MASK ((uintptr_t)0x3c3c3c3c3c3c3c3c)
static uintptr_t seen_before[1 << 16];

NOINLINE static void lose_a_reused_block(void)
{
    for (int i = 0; i < 1000000; i++) {
        char *p = allocate_block(100);
        uintptr_t *at = &seen_before[((uintptr_t)p >> 4) % (sizeof seen_before / sizeof seen_before[0])];
        if (*at == ((uintptr_t)p ^ SEEN_MASK)) {
            memset(p, 3, 100);
            return;
        }
        *at = (uintptr_t)p ^ SEEN_MASK;
        release_block(p);
    }
    printf("no address came back\n");
}

static volatile int holding;

static void *hold_on_stack(void *arg)
{
    void *volatile mine = malloc(72); /* reachable only from this thread's stack */
    (void)arg;
    holding = 1;
    for (;;)
        sink = *(volatile unsigned char *)mine;
    return NULL;
}

static void *free_then_write(void *arg)
{
    (void)arg;
    char *p = allocate_block(48);
    release_block(p);
    write_at(p, 5); /* and the thread ends, its last frees not yet in the quarantine's ring */
    return NULL;
}

static void *hammer_freed(void *p)
{
    free(p); /* the same freed block, from four threads */
    return NULL;
}

/* A 48-byte block freed, then written, then pushed into the quarantine's
 * ring (31 more frees fill this thread's batch) as its oldest entry: it
 * leaves, and is checked, at the next batch that brings the ring over its
 * bytes (1 MiB under warden-run). */
NOINLINE static void quarantine_damaged_block(void)
{
    char *p = allocate_block(48);
    release_block(p);
    write_at(p, 5);
    for (int i = 0; i < 31; i++)
        release_block(allocate_block(16));
}

static void *free_two_mib(void *arg)
{
    (void)arg;
    release_block(allocate_block((size_t)2 << 20)); /* in the batch the thread's end flushes */
    return NULL;
}

/* Uses up the process's mappings (vm.max_map_count) but `spare`: one
 * PROT_NONE reservation, every other page of it opened (a mapping each). */
NOINLINE static void use_up_mappings(int spare)
{
    size_t page = 4096, pages = 2 * 1024 * 1024; /* 8 GiB of address space, never touched */
    char *r = mmap(NULL, pages * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return;
    size_t i = 1;
    while (i < pages && mprotect(r + i * page, page, PROT_READ) == 0)
        i += 2;
    for (int k = 0; k < spare && i >= 2; k++) /* closed again: each gives two mappings back */
        mprotect(r + (i -= 2) * page, page, PROT_NONE);
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
        printf("check_all %d\n", warden_check_all ? warden_check_all(why, sizeof why) : -1);
    } else if (!strcmp(kind, "use_after_free_write")) { /* found when it leaves the quarantine */
        char *p = allocate_block(48);
        release_block(p);
        write_at(p, 5);
        churn();
    } else if (!strcmp(kind, "use_after_free_write_far")) { /* past junk_bytes (4 KiB): checked only with more */
        char *p = allocate_block(8192);
        release_block(p);
        write_at(p, 6000);
        churn();
    } else if (!strcmp(kind, "use_after_free_write_thread")) { /* the block a thread freed last */
        pthread_t t;
        pthread_create(&t, NULL, free_then_write, NULL);
        pthread_join(t, NULL);
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
    } else if (!strcmp(kind, "overflow_read")) { /* a read past the end: only a guard page sees it */
        char *p = allocate_block(32);
        sink = (unsigned char)read_at(p, 32);
        release_block(p);
    } else if (!strcmp(kind, "underflow_read")) { /* a page-sized block starts on its page */
        char *p = allocate_block(4096);
        sink = (unsigned char)read_at(p, -1);
        release_block(p);
    } else if (!strcmp(kind, "use_after_free_read")) {
        char *p = allocate_block(48);
        release_block(p);
        sink = (unsigned char)read_at(p, 8);
    } else if (!strcmp(kind, "guard_pool_full")) { /* more live blocks than guard slots: canaries take over */
        for (int i = 0; i < 200; i++)
            sink = (unsigned char)*allocate_block(16);
        char *p = allocate_block(24);
        write_at(p, 24);
        release_block(p);
    } else if (!strcmp(kind, "guard_mappings")) { /* correct: 300 guarded blocks, every other one freed */
        char *p[300];
        for (int i = 0; i < 300; i++)
            p[i] = allocate_block(100);
        for (int i = 0; i < 300; i += 2)
            release_block(p[i]);
        int lines = 0, c;
        FILE *maps = fopen("/proc/self/maps", "r");
        while (maps && (c = fgetc(maps)) != EOF)
            lines += c == '\n';
        if (maps)
            fclose(maps);
        /* whether this kernel has guard markers (MADV_GUARD_INSTALL, Linux 6.13) */
        void *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int markers = probe != MAP_FAILED && madvise(probe, 4096, 102) == 0;
        if (probe != MAP_FAILED)
            munmap(probe, 4096); /* (a marked page left in a readable mapping faults the leak scan) */
        printf("mappings %d markers %d\n", lines, markers);
        for (int i = 1; i < 300; i += 2)
            release_block(p[i]);
    } else if (!strcmp(kind, "segv_handler_chained")) { /* correct: the program's own SIGSEGV handler still runs */
        signal(SIGSEGV, on_segv);
        if (sigsetjmp(escape, 1) == 0)
            sink = *(volatile unsigned char *)(uintptr_t)16; /* a NULL-page read the program expects */
        char *p = allocate_block(32);
        release_block(p);
    } else if (!strcmp(kind, "overflow_read_own_handler")) { /* the program's signal() handler does not hide it */
        signal(SIGSEGV, on_segv);
        char *p = allocate_block(32);
        if (sigsetjmp(escape, 1) == 0)
            sink = (unsigned char)read_at(p, 32);
        release_block(p);
    } else if (!strcmp(kind, "overflow_after_many")) { /* 5000 blocks by one path, the bad one by another */
        for (int i = 0; i < 5000; i++)
            release_block(allocate_via_a(16));
        char *p = allocate_via_b(16);
        write_at(p, 16);
        release_block(p);
    } else if (!strcmp(kind, "overflow_many_paths")) { /* twelve paths in turn, the bad block by the eighth */
        for (int i = 0; i < 2000; i++)
            for (int k = 0; k < 12; k++)
                release_block(vias[k](16));
        char *p = vias[7](16);
        write_at(p, 16);
        release_block(p);
    } else if (!strcmp(kind, "leak")) { /* nothing points at it: a direct leak */
        memset(allocate_block(100), 1, 100);
        scrub_stack();
    } else if (!strcmp(kind, "leak_reused")) { /* a block at an address the quarantine held before */
        lose_a_reused_block();
        scrub_stack();
    } else if (!strcmp(kind, "leak_indirect")) { /* the child only through the lost head */
        lose_list(0);
        scrub_stack();
    } else if (!strcmp(kind, "leak_cycle")) { /* two lost blocks pointing at each other */
        lose_list(1);
        scrub_stack();
    } else if (!strcmp(kind, "leak_report_api")) { /* warden_leak_report() mid-run, then at exit */
        memset(allocate_block(40), 2, 40);
        scrub_stack();
        printf("warden_leak_report %zu\n", warden_leak_report ? warden_leak_report() : (size_t)0);
    } else if (!strcmp(kind, "keeps_globals")) { /* correct: reachable from data, TLS, a thread's stack */
        kept = allocate_head();
        kept->next = allocate_child();  /* through a reachable block */
        kept_interior = allocate_block(64) + 10; /* an interior pointer */
        kept_in_tls = allocate_block(48);
        pthread_t t;
        pthread_create(&t, NULL, hold_on_stack, NULL);
        while (!holding)
            ;
        release_block(allocate_block(16));
        scrub_stack();
    } else if (!strcmp(kind, "underflow_header")) { /* past the head canary, into the debug header */
        char *p = allocate_block(32);
        write_at(p, -20);
        release_block(p);
    } else if (!strcmp(kind, "usable_size_freed")) {
        char *p = allocate_block(32);
        release_block(p);
        printf("usable %zu\n", malloc_usable_size(p));
    } else if (!strcmp(kind, "foreign_pointers")) { /* with halt_on_error=0: each a report, then 0 and NULL */
        char local[32] = {0};
        sink = (unsigned char)local[0];
        printf("usable %zu\n", malloc_usable_size(local + 16));
        printf("realloc %s\n", realloc(local + 16, 64) ? "a block" : "NULL");
    } else if (!strcmp(kind, "heap_header_damaged")) { /* past the debug header, into the heap's own */
        char *p = allocate_block(40);
        write_at(p, -60);
        char why[200];
        printf("check_all %d\n", warden_check_all ? warden_check_all(why, sizeof why) : -1);
    } else if (!strcmp(kind, "use_after_free_check_all")) { /* the ring overflows at warden_check_all's flush */
        quarantine_damaged_block();
        release_block(allocate_block((size_t)2 << 20));
        char why[200];
        printf("check_all %d\n", warden_check_all ? warden_check_all(why, sizeof why) : -1);
    } else if (!strcmp(kind, "use_after_free_thread_exit")) { /* ... at the flush of a thread's end */
        quarantine_damaged_block();
        pthread_t t;
        pthread_create(&t, NULL, free_two_mib, NULL);
        pthread_join(t, NULL);
    } else if (!strcmp(kind, "guard_map_count")) { /* the program uses up the map count: canaries take over */
        char *warm[8];
        for (int i = 0; i < 8; i++) /* (the heap has its regions before) */
            warm[i] = allocate_block(16);
        for (int i = 0; i < 8; i++)
            release_block(warm[i]);
        use_up_mappings(8);
        for (int i = 0; i < 200; i++)
            sink = (unsigned char)*allocate_block(16);
        char *p = allocate_block(24);
        write_at(p, 24);
        release_block(p);
    } else if (!strcmp(kind, "wild_guard_read")) { /* 2000 guard slots past a block: in the pool, in no block */
        char *p = allocate_block(32);
        sink = (unsigned char)read_at(p, 2000L * 64 * 1024);
        release_block(p);
    } else {
        fprintf(stderr, "bugs: unknown kind %s\n", kind);
        return 2;
    }
    printf("survived %s\n", kind);
    return 0;
}
