/* platform_posix.c — the host services of platform.h on POSIX systems:
 * mmap/munmap for pages, getrandom or /dev/urandom for the secret, pthread
 * mutexes for locks. */
#define _GNU_SOURCE
#include "platform.h"
#include "platform_debug.h"
#include "mix.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#include <sys/syscall.h>
#endif


_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((platform_lock *)0)->opaque),
               "platform_lock too small for pthread_mutex_t");

static void *map_anonymous(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

long platform_maps_left = -1; /* platform.h: the tests' limit on mappings */

void *platform_map(size_t size)
{
    if (platform_map_refused())
        return NULL;
    /* Most mappings come back chunk-aligned already; try that first. */
    char *p = map_anonymous(size);
    if (p == NULL)
        return NULL;
    if (((uintptr_t)p & (PLATFORM_CHUNK - 1)) == 0)
        return p;
    munmap(p, size);
    /* Over-map by one chunk and trim both ends to the aligned window. */
    size_t padded = size + PLATFORM_CHUNK;
    if (padded < size)
        return NULL;
    p = map_anonymous(padded);
    if (p == NULL)
        return NULL;
    char *aligned = (char *)(((uintptr_t)p + PLATFORM_CHUNK - 1) & ~(uintptr_t)(PLATFORM_CHUNK - 1));
    size_t head = (size_t)(aligned - p);
    size_t tail = padded - head - size;
    if (head)
        munmap(p, head);
    if (tail)
        munmap(aligned + size, tail);
    return aligned;
}

void platform_unmap(void *addr, size_t size)
{
    munmap(addr, size);
}

static int read_urandom(unsigned char *buf, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n <= 0 && errno != EINTR)
            break;
        if (n > 0)
            done += (size_t)n;
    }
    close(fd);
    return done == len ? 0 : -1;
}

void platform_random(void *buf, size_t len)
{
#if defined(__linux__)
    if (getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len)
        return;
#endif
    if (read_urandom(buf, len) == 0)
        return;
    /* Last resort: time, addresses and the pid, mixed. Still per-process. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    mix_fill(buf, len, (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&ts ^
                 ((uint64_t)getpid() << 16) ^ (uintptr_t)buf);
}

static int error_fd = STDERR_FILENO;

static void write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

void platform_write_error(const char *text, size_t len)
{
    write_all(error_fd, text, len);
}

void platform_write_stderr(const char *text, size_t len)
{
    write_all(STDERR_FILENO, text, len);
}

/* ---- coverage builds: the counts of a process that dies ---------------------
 * clang's -fprofile-instr-generate runtime (which defines these; elsewhere
 * they are null) writes a module's counts at exit, which abort() and
 * _exit() never reach: the death tests' paths would go uncounted. So the
 * ends below first write this module's counts (the program's, or the
 * preloaded library's: each has its own runtime) beside the files
 * LLVM_PROFILE_FILE names. Not by the runtime's own writer, which opens its
 * file with fopen, so malloc, which may be this warden, stopped with a lock
 * held: into a fresh mapping, then out with write(). */
extern uint64_t __llvm_profile_get_size_for_buffer(void) __attribute__((weak));
extern int __llvm_profile_write_buffer(char *buffer) __attribute__((weak));

static void coverage_write_counts(void)
{
    static char place; /* its address tells this module's file from another's in the same process */
    const char *pattern = platform_getenv("LLVM_PROFILE_FILE");
    if (!__llvm_profile_get_size_for_buffer || !__llvm_profile_write_buffer || !pattern)
        return;
    const char *slash = strrchr(pattern, '/');
    size_t dir = slash ? (size_t)(slash - pattern) + 1 : 0;
    char name[4096];
    if (dir > sizeof name - 64)
        return;
    memcpy(name, pattern, dir);
    report_format(name + dir, sizeof name - dir, "%u-%p-death.profraw", (unsigned)getpid(), (void *)&place);
    size_t size = (size_t)__llvm_profile_get_size_for_buffer();
    char *buffer = map_anonymous(size);
    if (buffer == NULL || __llvm_profile_write_buffer(buffer) != 0)
        return;
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        write_all(fd, buffer, size);
        close(fd);
    }
    munmap(buffer, size);
}

_Noreturn void platform_abort(void)
{
    coverage_write_counts();
    abort();
}

void platform_yield(void)
{
    sched_yield();
}

void platform_lock_init(platform_lock *lock)
{
    pthread_mutex_init((pthread_mutex_t *)(void *)lock->opaque, NULL);
}

void platform_lock_destroy(platform_lock *lock)
{
    pthread_mutex_destroy((pthread_mutex_t *)(void *)lock->opaque);
}

void platform_lock_acquire(platform_lock *lock)
{
    pthread_mutex_lock((pthread_mutex_t *)(void *)lock->opaque);
}

void platform_lock_release(platform_lock *lock)
{
    pthread_mutex_unlock((pthread_mutex_t *)(void *)lock->opaque);
}

/* ---- for the malloc layer ------------------------------------------------ */

_Noreturn void platform_exit(int status)
{
    coverage_write_counts();
    _exit(status);
}

/* Walks environ itself: getenv would pull libc's string routines (a page
 * fault-around each, 64 KiB of RSS here) into a program that never used them. */
const char *platform_getenv(const char *name)
{
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        const char *a = name, *b = *e;
        while (*a != '\0' && *a == *b)
            a++, b++;
        if (*a == '\0' && *b == '=')
            return b + 1;
    }
    return NULL;
}

#if defined(__linux__)
/* The raw call and our own count, for the reason platform_getenv gives:
 * sched_getaffinity and sysconf sit on libc pages a program rarely touches. */
static unsigned affinity_cpus(void)
{
    uint64_t set[16] = {0};
    long got = syscall(SYS_sched_getaffinity, 0, sizeof set, set);
    unsigned n = 0;
    for (long i = 0; got > 0 && i < got / (long)sizeof set[0]; i++)
        n += (unsigned)__builtin_popcountll(set[i]);
    return n;
}
#else
static unsigned affinity_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 0u;
}
#endif

unsigned platform_cpu_count(void)
{
    unsigned n = affinity_cpus();
    return n > 0 ? n : 1u;
}

void platform_purge(void *addr, size_t size)
{
    static long cached; /* sysconf once: it is on the same rarely touched page */
    long page = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (page == 0)
        __atomic_store_n(&cached, page = sysconf(_SC_PAGESIZE), __ATOMIC_RELAXED);
    uintptr_t first = ((uintptr_t)addr + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t last = ((uintptr_t)addr + size) & ~(uintptr_t)(page - 1);
    if (last > first) {
        int saved = errno;
        madvise((void *)first, last - first, MADV_DONTNEED);
        errno = saved;
    }
}

static pthread_key_t thread_hook;

int platform_thread_hook_create(void (*destructor)(void *))
{
    return pthread_key_create(&thread_hook, destructor);
}

void platform_thread_hook_set(void *value)
{
    pthread_setspecific(thread_hook, value);
}

int platform_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return pthread_atfork(prepare, parent, child);
}

void platform_set_error_fd(int fd)
{
    error_fd = fd;
}

void platform_keep_error_stream(void)
{
    int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 100);
    if (fd >= 0)
        error_fd = fd;
}
