/* platform_posix_debug.c — platform_debug.h on POSIX hosts: libunwind by
 * dlopen, modules by dl_iterate_phdr, the symbolizer by vfork and execve
 * over two pipes, the log file. */
#define _GNU_SOURCE
#include "platform_debug.h"
#include "platform.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>

int __sigaction(int sig, const struct sigaction *act, struct sigaction *old); /* glibc's own, exported */
#include <dirent.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* ---- modules -------------------------------------------------------------- */

typedef struct module_search {
    uintptr_t pc;
    platform_module *out;
    int found;
} module_search;

static void copy_name(char *to, size_t cap, const char *from)
{
    size_t i = 0;
    for (; from[i] && i + 1 < cap; i++)
        to[i] = from[i];
    to[i] = '\0';
}

/* The program's own file name, read once (a report names it in every frame). */
static char exe_path[sizeof ((platform_module *)0)->path];
static pthread_once_t exe_once = PTHREAD_ONCE_INIT;

static void read_exe_path(void)
{
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = '\0';
}

static int module_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    module_search *s = arg;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    int holds = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
        lo = a < lo ? a : lo;
        hi = b > hi ? b : hi;
        holds |= s->pc >= a && s->pc < b;
    }
    if (!holds)
        return 0;
    s->out->bias = info->dlpi_addr;
    s->out->lo = lo;
    s->out->hi = hi;
    const char *name = info->dlpi_name;
    if (!name || !name[0]) { /* the program itself */
        pthread_once(&exe_once, read_exe_path);
        name = exe_path;
    }
    copy_name(s->out->path, sizeof s->out->path, name);
    s->found = 1;
    return 1;
}

int platform_module_of(uintptr_t pc, platform_module *out)
{
    module_search s = {pc, out, 0};
    dl_iterate_phdr(module_visit, &s);
    return s.found ? 0 : -1;
}

/* ---- mappings -------------------------------------------------------------- */

static uintptr_t hex_field(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
        if (d == 16)
            return v;
        v = v << 4 | d;
    }
}

/* One line of /proc/self/maps: "lo-hi perms offset dev inode   path". */
static void mapping_line(const char *line, void (*fn)(uintptr_t, uintptr_t, void *), void *ctx)
{
    const char *p = line;
    uintptr_t lo = hex_field(&p);
    if (*p++ != '-')
        return;
    uintptr_t hi = hex_field(&p);
    if (*p++ != ' ' || p[0] != 'r')
        return;
    int writable = p[1] == 'w', shared = p[3] == 's';
    for (int field = 0; field < 4 && *p; field++) { /* perms offset dev inode */
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    int anonymous = *p == '\0' || *p == '\n';
    if (*p == '[') /* [stack], [heap] are the program's; [vvar], [vdso], [vsyscall] the kernel's */
        anonymous = p[1] == 's' || p[1] == 'h';
    if (!anonymous && (strncmp(p, "/dev/", 5) == 0 || *p == '['))
        return;
    if (anonymous || (writable && !shared))
        fn(lo, hi, ctx);
}

/* Calls line_fn(line, ctx) for each line of /proc/self/maps (NUL-terminated,
 * without its newline); stops when it returns non-zero. */
static int each_maps_line(int (*line_fn)(const char *line, void *ctx), void *ctx)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096]; /* a line is far shorter (a path is at most 4096 bytes: such a line is dropped) */
    size_t have = 0;
    int stop = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = '\0';
        char *line = buf, *nl;
        while (!stop && (nl = strchr(line, '\n'))) {
            *nl = '\0';
            stop = line_fn(line, ctx);
            line = nl + 1;
        }
        if (stop)
            break;
        have = (size_t)(buf + have - line);
        memmove(buf, line, have);
        if (have == sizeof buf - 1) /* a line longer than the buffer: drop it */
            have = 0;
    }
    close(fd);
    return 0;
}

typedef struct mapping_walk {
    void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx);
    void *ctx;
} mapping_walk;

static int walk_line(const char *line, void *arg)
{
    mapping_walk *w = arg;
    mapping_line(line, w->fn, w->ctx);
    return 0;
}

int platform_each_mapping(void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx)
{
    mapping_walk w = {fn, ctx};
    return each_maps_line(walk_line, &w);
}

typedef struct mapping_find {
    uintptr_t addr, lo, hi;
} mapping_find;

static int find_line(const char *line, void *arg)
{
    mapping_find *f = arg;
    const char *p = line;
    uintptr_t lo = hex_field(&p);
    if (*p++ != '-')
        return 0;
    uintptr_t hi = hex_field(&p);
    if (f->addr < lo || f->addr >= hi)
        return 0;
    f->lo = lo;
    f->hi = hi;
    return 1;
}

int platform_mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    mapping_find f = {addr, 0, 0};
    if (each_maps_line(find_line, &f) != 0 || !f.hi)
        return -1;
    *lo = f.lo;
    *hi = f.hi;
    return 0;
}

/* ---- stopping the other threads ---------------------------------------------- */

#define STOP_SIGNAL (SIGRTMAX - 2)

static int stopping, parked;
static struct sigaction stop_was;

static void on_stop(int sig)
{
    (void)sig;
    int saved = errno;
    __atomic_add_fetch(&parked, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
        sched_yield();
    __atomic_sub_fetch(&parked, 1, __ATOMIC_ACQ_REL);
    errno = saved;
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Until parked reaches want (or ms pass). */
static void wait_parked(int want, unsigned ms)
{
    uint64_t until = now_ms() + ms;
    while (__atomic_load_n(&parked, __ATOMIC_ACQUIRE) != want && now_ms() < until)
        sched_yield();
}

size_t platform_stop_threads(void)
{
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    __atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
    __sigaction(STOP_SIGNAL, &sa, &stop_was);
    pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
    int sent = 0;
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) { /* no opendir: it allocates */
        for (long at = 0; at < n;) {
            struct dirent64 *d = (struct dirent64 *)(void *)(buf + at);
            at += d->d_reclen;
            pid_t tid = 0;
            for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
                tid = tid * 10 + (*c - '0');
            if (tid > 0 && tid != self && syscall(SYS_tgkill, pid, tid, STOP_SIGNAL) == 0)
                sent++;
        }
    }
    close(fd);
    wait_parked(sent, 500);
    return (size_t)__atomic_load_n(&parked, __ATOMIC_ACQUIRE);
}

void platform_resume_threads(void)
{
    __atomic_store_n(&stopping, 0, __ATOMIC_RELEASE);
    wait_parked(0, 500);
    __sigaction(STOP_SIGNAL, &stop_was, NULL);
}

/* ---- guard pages ---------------------------------------------------------- */

void *platform_reserve(size_t size)
{
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int platform_protect(void *addr, size_t size, int accessible)
{
    return mprotect(addr, size, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
}

#ifndef MADV_GUARD_INSTALL /* Linux 6.13; older headers */
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

void *platform_reserve_marked(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (madvise(p, size, MADV_GUARD_INSTALL) != 0) { /* EINVAL: a kernel without markers */
        munmap(p, size);
        return NULL;
    }
    return p;
}

int platform_mark(void *addr, size_t size, int accessible)
{
    return madvise(addr, size, accessible ? MADV_GUARD_REMOVE : MADV_GUARD_INSTALL);
}

#ifndef MADV_POPULATE_WRITE /* Linux 5.14 */
#define MADV_POPULATE_WRITE 23
#endif
#define SELF_THREAD_PIDFD (-10000) /* PIDFD_SELF_THREAD, Linux 6.14: the calling thread, so this process */
#define OPEN_IOV 64

static int open_many_refused; /* process_madvise cannot do it here: one madvise a range */

/* advice for n ranges of bytes each in one call; whether all were advised. */
static int advise_many(const struct iovec *iov, size_t n, size_t bytes, int advice)
{
    long r = syscall(SYS_process_madvise, SELF_THREAD_PIDFD, iov, n, advice, 0);
    return r >= 0 && (size_t)r == n * bytes;
}

int platform_mark_open_many(void *const *at, size_t count, size_t bytes)
{
    for (size_t done = 0; done < count;) {
        size_t n = count - done < OPEN_IOV ? count - done : OPEN_IOV;
        struct iovec iov[OPEN_IOV];
        for (size_t i = 0; i < n; i++)
            iov[i] = (struct iovec){at[done + i], bytes};
        if (!open_many_refused && advise_many(iov, n, bytes, MADV_GUARD_REMOVE)) {
            advise_many(iov, n, bytes, MADV_POPULATE_WRITE); /* a page not faulted in now is at its first touch */
        } else {
            open_many_refused = 1; /* (an older kernel: EBADF, EINVAL or ENOSYS) */
            for (size_t i = 0; i < n; i++)
                if (madvise(at[done + i], bytes, MADV_GUARD_REMOVE) != 0)
                    return -1;
        }
        done += n;
    }
    return 0;
}

static size_t count_lines(const char *path, size_t most)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return most;
    char buf[4096];
    size_t lines = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
        for (ssize_t i = 0; i < r; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

size_t platform_mappings_left(void)
{
    size_t most = 65530; /* Linux's default */
    int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[32];
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r > 0) {
            size_t v = 0;
            for (ssize_t i = 0; i < r && buf[i] >= '0' && buf[i] <= '9'; i++)
                v = v * 10 + (size_t)(buf[i] - '0');
            if (v)
                most = v;
        }
    }
    size_t used = count_lines("/proc/self/maps", most);
    return used < most ? most - used : 0;
}

static int (*fault_fn)(const void *addr, char access, uintptr_t pc);
static struct sigaction chained; /* the program's SIGSEGV action */
static int catching;

#if defined(__x86_64__)
static char fault_access(const void *uc)
{
    return ((const ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & 2 ? 'w' : 'r'; /* the page-fault error code */
}

static uintptr_t fault_pc(const void *uc)
{
    return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
}
#else
static char fault_access(const void *uc)
{
    (void)uc;
    return '?';
}

static uintptr_t fault_pc(const void *uc)
{
    (void)uc;
    return 0;
}
#endif

static void on_fault(int sig, siginfo_t *info, void *uc)
{
    int saved = errno;
    if (fault_fn && fault_fn(info->si_addr, fault_access(uc), fault_pc(uc))) {
        errno = saved;
        return;
    }
    errno = saved;
    if (chained.sa_flags & SA_SIGINFO) {
        chained.sa_sigaction(sig, info, uc);
    } else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN) {
        chained.sa_handler(sig);
    } else { /* the default: die of this signal when the access is retried */
        struct sigaction dfl = {0};
        dfl.sa_handler = SIG_DFL;
        __sigaction(sig, &dfl, NULL);
    }
}

int platform_catch_faults(int (*fn)(const void *addr, char access, uintptr_t pc))
{
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    fault_fn = fn;
    if (__sigaction(SIGSEGV, &sa, &chained) != 0)
        return -1;
    __atomic_store_n(&catching, 1, __ATOMIC_RELEASE);
    return 0;
}

int platform_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig != SIGSEGV || !__atomic_load_n(&catching, __ATOMIC_ACQUIRE))
        return __sigaction(sig, act, old);
    struct sigaction was = chained;
    if (act)
        chained = *act;
    if (old)
        *old = was;
    return 0;
}

void (*platform_signal(int sig, void (*handler)(int)))(int)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, sig);
    if (platform_sigaction(sig, &sa, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

uint32_t platform_process_id(void)
{
    return (uint32_t)getpid();
}

/* ---- the symbolizer ------------------------------------------------------- */

const char *platform_find_program(const char *name, char *buf, size_t cap)
{
    const char *path = platform_getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *end = path;
        while (*end && *end != ':')
            end++;
        size_t dir = (size_t)(end - path);
        size_t n = report_format(buf, cap, "%s", "");
        for (size_t i = 0; i < dir && n + 1 < cap; i++)
            buf[n++] = path[i];
        n += report_format(buf + n, cap - n, "/%s", name);
        if (dir > 0 && n + 1 < cap && access(buf, X_OK) == 0)
            return buf;
        path = *end ? end + 1 : end;
    }
    return NULL;
}

static void close_both(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}

static void reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

/* The parent's side of platform_run_filter: feeds input to the child on
 * in_fd and reads its answer from from_fd into out, then reaps it. */
static long converse(pid_t pid, int in_fd, int from_fd, const char *input, size_t input_len, char *out,
                     size_t out_cap)
{
    size_t sent = 0, got = 0;
    int open_in = 1;
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    /* Write and read together: the child may answer before it has read all. */
    for (;;) {
        struct pollfd p[2] = {{from_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
        if (poll(p, open_in ? 2 : 1, 10000) <= 0)
            break;
        if (open_in && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = sent < input_len ? write(in_fd, input + sent, input_len - sent) : 0;
            if (w > 0)
                sent += (size_t)w;
            if (w <= 0 || sent == input_len) {
                close(in_fd);
                open_in = 0;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char sink[512];
            char *to = got + 1 < out_cap ? out + got : sink;
            size_t room = got + 1 < out_cap ? out_cap - 1 - got : sizeof sink;
            ssize_t r = read(from_fd, to, room);
            if (r == 0 || (r < 0 && errno != EINTR))
                break;
            if (r > 0 && to != sink)
                got += (size_t)r;
        }
    }
    signal(SIGPIPE, old);
    if (open_in)
        close(in_fd);
    close(from_fd);
    reap(pid);
    out[got] = '\0';
    return (long)got;
}

/* The vfork child: stdin and stdout the pipes, stderr /dev/null, then the
 * filter (it only rewires fds and execs); when execve fails, its errno
 * down the close-on-exec pipe failed (a filter's own exit status, 127 or
 * any, says nothing of that). */
static _Noreturn void exec_filter(char *const argv[], const int in[2], const int from[2], int devnull, int failed)
{
    char *const envp[] = {NULL};
    dup2(in[0], 0);
    dup2(from[1], 1);
    if (devnull >= 0)
        dup2(devnull, 2);
    execve(argv[0], argv, envp);
    int e = errno;
    ssize_t told = write(failed, &e, sizeof e);
    _exit(told == (ssize_t)sizeof e ? 127 : 126);
}

/* The parent, once the child is started (pid), failed to (exec_failed) or
 * not forked (pid < 0): its ends of the pipes closed, then the conversation. */
static long after_fork(pid_t pid, int exec_failed, int in[2], int from[2], int devnull, const char *input,
                       size_t input_len, char *out, size_t out_cap)
{
    close(in[0]);
    close(from[1]);
    if (devnull >= 0)
        close(devnull);
    if (pid < 0 || exec_failed) {
        close(in[1]);
        close(from[0]);
        if (pid > 0)
            reap(pid);
        out[0] = '\0';
        return -1;
    }
    return converse(pid, in[1], from[0], input, input_len, out, out_cap);
}

long platform_run_filter(char *const argv[], const char *input, size_t input_len, char *out, size_t out_cap)
{
    int in[2], from[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(from, O_CLOEXEC) != 0) {
        close_both(in);
        return -1;
    }
    int failed[2];
    if (pipe2(failed, O_CLOEXEC) != 0) {
        close_both(in);
        close_both(from);
        return -1;
    }
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    /* vfork: no fork handlers (warden's own would take every arena lock),
     * no copy of the address space. (What follows it is in functions of
     * their own: the child shares the parent's coverage counters too.) The
     * parent runs again once the child has exec'd (its end of failed
     * closed) or written why not and left. */
    pid_t pid = vfork();
    if (pid == 0)
        exec_filter(argv, in, from, devnull, failed[1]);
    close(failed[1]);
    int e;
    int exec_failed = pid > 0 && read(failed[0], &e, sizeof e) == (ssize_t)sizeof e;
    close(failed[0]);
    return after_fork(pid, exec_failed, in, from, devnull, input, input_len, out, out_cap);
}

void platform_flush_stdio(void)
{
    fflush(NULL);
}

int platform_log_to(const char *path)
{
    char name[300];
    report_format(name, sizeof name, "%s.%u", path, platform_process_id());
    int fd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 100); /* out of the program's way */
    if (high >= 0) {
        close(fd);
        fd = high;
    }
    platform_set_error_fd(fd);
    return 0;
}
