/* guard_floor — what the kernel's guard markers cost one guarded block:
 * over 8192 pages of one mapping, every page marked, a page is unmarked,
 * written once and marked again, as warden's guard pool does for an
 * allocation and its free. Three ways: one madvise each way; the unmarking
 * batched, 64 pages a process_madvise call; and batched with the pages
 * faulted in by the same batch (MADV_POPULATE_WRITE), as the pool does.
 * Prints nanoseconds per allocation+free for each. Linux 6.13 or later
 * (guard markers); process_madvise on the process itself needs 6.14.
 *   bench/guard_floor [BATCH]   (built with the other benchmarks) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define SELF_THREAD_PIDFD (-10000)
#define PAGES 8192
#define ROUNDS 4

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int batch = argc > 1 ? atoi(argv[1]) : 64;
    if (batch < 1 || batch > 1024 || PAGES % batch) {
        fprintf(stderr, "guard_floor: BATCH must divide %d, 1..1024\n", PAGES);
        return 2;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE), stride = 2 * page;
    char *pool = mmap(NULL, PAGES * stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pool == MAP_FAILED || madvise(pool, PAGES * stride, MADV_GUARD_INSTALL) != 0) {
        perror("guard_floor: guard markers");
        return 1;
    }
    static struct iovec iov[1024];
    const char *name[3] = {"one madvise each way", "unmarking batched", "unmarking and faulting in batched"};
    for (int way = 0; way < 3; way++) {
        double t0 = seconds();
        for (int r = 0; r < ROUNDS; r++)
            for (int i = 0; i < PAGES; i += batch) {
                if (way > 0) {
                    for (int j = 0; j < batch; j++)
                        iov[j] = (struct iovec){pool + (size_t)(i + j) * stride, page};
                    if (syscall(SYS_process_madvise, SELF_THREAD_PIDFD, iov, batch, MADV_GUARD_REMOVE, 0) < 0) {
                        perror("guard_floor: process_madvise");
                        return 1;
                    }
                    if (way == 2)
                        syscall(SYS_process_madvise, SELF_THREAD_PIDFD, iov, batch, MADV_POPULATE_WRITE, 0);
                }
                for (int j = 0; j < batch; j++) {
                    char *p = pool + (size_t)(i + j) * stride;
                    if (way == 0)
                        madvise(p, page, MADV_GUARD_REMOVE);
                    p[100] = 1;
                    madvise(p, page, MADV_GUARD_INSTALL);
                }
            }
        printf("%-36s %6.0f ns per allocation+free\n", name[way], (seconds() - t0) / (ROUNDS * PAGES) * 1e9);
    }
    return 0;
}
