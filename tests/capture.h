/* capture.h — running test code in a child process with its stderr
 * captured: how the misuse tests of both test trees see the one line a
 * report prints before the abort. POSIX hosts only. */
#ifndef WARDEN_TESTS_CAPTURE_H
#define WARDEN_TESTS_CAPTURE_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn(arg) in a child whose stderr goes into out (NUL-terminated, at
 * most cap - 1 bytes); the child exits 0 if fn returns, and dies of
 * SIGALRM after 30 s (a deadlock is not an abort). Returns the child's
 * wait status, or -1 when it could not be run. */
static inline int run_captured(void (*fn)(void *), void *arg, char *out, size_t cap)
{
    int fds[2];
    out[0] = '\0';
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        signal(SIGABRT, SIG_DFL);
        alarm(30);
        fn(arg);
        _exit(0); /* not stopped: the parent reports it */
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fds[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    return waitpid(pid, &status, 0) == pid ? status : -1;
}

#endif /* WARDEN_TESTS_CAPTURE_H */
