/* heap_example.c — warden's heap at work: a heap with its own buckets, some
 * allocations, an in-place realloc, the invariant checker, the statistics,
 * and then the allocator catching a double free and a heap overflow (each in
 * a child process, since warden aborts on misuse). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <warden.h>

static void show(warden_heap *heap, const char *when)
{
    char why[256];
    warden_heap_stats s;
    warden_heap_get_stats(heap, &s);
    int rc = warden_heap_check(heap, why, sizeof why);
    printf("%-26s regions %zu, mapped %zu KiB, live %zu blocks / %zu B, free %zu blocks / %zu B, check: %s\n",
           when, s.regions, s.mapped_bytes >> 10, s.live_blocks, s.live_bytes, s.free_blocks,
           s.free_bytes, rc == 0 ? "ok" : why);
}

/* Runs bug() in a child and reports how warden stopped it. */
static void in_child(const char *what, void (*bug)(warden_heap *), warden_heap *heap)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        bug(heap);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("  -> %s: child %s\n", what,
           WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT ? "aborted by warden (SIGABRT), as it should"
           : WIFEXITED(status) && WEXITSTATUS(status) != 0    ? "stopped by a sanitizer first, as it should"
                                                              : "was NOT stopped");
}

static void double_free(warden_heap *heap)
{
    char *p = warden_heap_alloc(heap, 40);
    warden_heap_free(heap, p);
    warden_heap_free(heap, p);
}

static void overflow(warden_heap *heap)
{
    char *a = warden_heap_alloc(heap, 24);
    char *b = warden_heap_alloc(heap, 24);
    memset(a, 'x', 48); /* 24 bytes past a: through b's header */
    warden_heap_free(heap, b);
}

int main(void)
{
    static const size_t limits[] = {64, 512, 4096};
    warden_heap_config config = {.bucket_limits = limits, .bucket_count = 3};
    warden_heap *heap = warden_heap_create(&config);
    if (!heap) {
        perror("warden_heap_create");
        return 1;
    }
    show(heap, "new heap:");

    void *p[1000];
    for (int i = 0; i < 1000; i++)
        p[i] = warden_heap_alloc(heap, (size_t)(i % 7) * 300 + 8);
    show(heap, "1000 allocations:");

    for (int i = 0; i < 1000; i += 2)
        warden_heap_free(heap, p[i]);
    show(heap, "every second one freed:");

    char *grown = warden_heap_realloc(heap, p[1], 500); /* was 308 bytes; its neighbour is free */
    printf("%-26s realloc(%p, 500) -> %p (%s)\n", "", p[1], (void *)grown,
           grown == p[1] ? "grew in place into the free neighbour" : "moved");
    p[1] = grown;

    for (int i = 1; i < 1000; i += 2)
        warden_heap_free(heap, p[i]);
    show(heap, "all freed:");

    puts("misuse is caught in every build:");
    in_child("double free", double_free, heap);
    in_child("overflow into the next header", overflow, heap);

    warden_heap_destroy(heap);
    return 0;
}
