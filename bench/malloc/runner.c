/* runner — runs one workload and measures it, for bench/run.sh:
 *
 *   runner [-p PRELOAD] [-e EXPECTED] [-t SECONDS] -- PROGRAM [ARGS...]
 *
 * Forks; the child alone gets LD_PRELOAD=PRELOAD (or none at all without -p)
 * and execs PROGRAM with its stdout on a pipe; the runner waits with wait4
 * and prints one CSV fragment:
 *
 *   STATUS,WALL_SECONDS,MAXRSS_KIB,FIRST_STDOUT_LINE
 *
 * STATUS is ok, or exit=N / signal=N / timeout / checksum (the first stdout
 * line differs from EXPECTED). Commas and quotes in the line become ';'.
 * The child's stderr is the runner's. Exits 0 when STATUS is ok, else 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static volatile pid_t child;

static void on_alarm(int sig) {
  (void)sig;
  timed_out = 1;
  if (child > 0) kill(child, SIGKILL);
}

static void usage(void) {
  fprintf(stderr, "usage: runner [-p PRELOAD] [-e EXPECTED] [-t SECONDS] -- PROGRAM [ARGS...]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *preload = NULL, *expected = NULL;
  unsigned timeout = 600;
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    }
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "-p")) preload = argv[++i];
    else if (!strcmp(argv[i], "-e")) expected = argv[++i];
    else if (!strcmp(argv[i], "-t")) timeout = (unsigned)atoi(argv[++i]);
    else usage();
  }
  if (i >= argc) usage();

  int fd[2];
  if (pipe(fd)) {
    perror("runner: pipe");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART: a blocked read returns EINTR */
  sigaction(SIGALRM, &sa, NULL);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("runner: fork");
    return 2;
  }
  if (pid == 0) {
    close(fd[0]);
    if (dup2(fd[1], STDOUT_FILENO) < 0) _exit(127);
    close(fd[1]);
    if (preload && *preload) setenv("LD_PRELOAD", preload, 1);
    else unsetenv("LD_PRELOAD");
    execvp(argv[i], argv + i);
    fprintf(stderr, "runner: exec %s: %s\n", argv[i], strerror(errno));
    _exit(127);
  }
  child = pid;
  close(fd[1]);
  if (timeout) alarm(timeout);

  char out[4096];
  size_t len = 0;
  for (;;) {
    char buf[4096];
    ssize_t n = read(fd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t take = (size_t)n < sizeof out - 1 - len ? (size_t)n : sizeof out - 1 - len;
    memcpy(out + len, buf, take);
    len += take;
  }
  close(fd[0]);
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0)
    if (errno != EINTR) {
      perror("runner: wait4");
      return 2;
    }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  alarm(0);

  out[len] = 0;
  char *nl = strchr(out, '\n');
  if (nl) *nl = 0;
  for (char *c = out; *c; c++)
    if (*c == ',' || *c == '"' || *c == '\r') *c = ';';

  char st[32] = "ok";
  if (timed_out) snprintf(st, sizeof st, "timeout");
  else if (WIFSIGNALED(status)) snprintf(st, sizeof st, "signal=%d", WTERMSIG(status));
  else if (WEXITSTATUS(status)) snprintf(st, sizeof st, "exit=%d", WEXITSTATUS(status));
  else if (expected && strcmp(expected, out)) snprintf(st, sizeof st, "checksum");

  double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("%s,%.4f,%ld,%s\n", st, wall, ru.ru_maxrss, out);
  return strcmp(st, "ok") != 0;
}
