/* interpose.c — a plain program whose memory libc allocates and frees: getline,
 * strdup/strndup, asprintf/vasprintf, stdio buffers, qsort, getaddrinfo,
 * locales, dlopen, directories, strerror, regex, a thread. Run under
 * LD_PRELOAD of libwarden-malloc.so, linked with it, or linked statically with
 * libwarden-malloc.a, it must print "interpose ok" and prove warden served the
 * memory: warden_check_all is there, and mallinfo2 (warden's) counts libc's
 * big buffers while the program holds them.
 *   -DINTERPOSE_LINKED   linked with warden: warden_check_all called directly
 *   -DINTERPOSE_STATIC   linked statically: no getaddrinfo, dlopen or locales
 *   -DAGAINST_GLIBC      plain glibc: the same calls, no proof of warden */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(INTERPOSE_STATIC) && !defined(INTERPOSE_LINKED)
#define INTERPOSE_LINKED 1
#endif
#if defined(INTERPOSE_LINKED) && !defined(AGAINST_GLIBC)
#include <warden.h>
#endif

#define MiB ((size_t)1 << 20)

static int failures;

#define expect(cond, ...)                                     \
    do {                                                      \
        if (!(cond)) {                                        \
            fprintf(stderr, "interpose: %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                     \
            fputc('\n', stderr);                              \
            failures++;                                       \
        }                                                     \
    } while (0)

/* ---- the proof that warden serves this process ------------------------------------ */

typedef int (*check_all_fn)(char *why, size_t why_size);

#if defined(AGAINST_GLIBC)
static check_all_fn find_check_all(void)
{
    return NULL;
}
#elif defined(INTERPOSE_LINKED)
static check_all_fn find_check_all(void)
{
    return warden_check_all;
}
#else
static check_all_fn find_check_all(void)
{
    return (check_all_fn)dlsym(RTLD_DEFAULT, "warden_check_all");
}
#endif

#ifdef AGAINST_GLIBC
static const int proving = 0;
#else
static const int proving = 1;
#endif

/* Asserts that warden's counters see the held block of at least n bytes
 * that libc allocated for us: in use now >= in use before + n. */
static void expect_counted(const char *what, size_t before, size_t n)
{
    if (!proving)
        return;
    size_t now = mallinfo2().uordblks;
    expect(now >= before + n, "%s: mallinfo2().uordblks %zu before, %zu while %zu bytes are held: not warden's heap",
           what, before, now, n);
}

static void expect_sound(const char *when)
{
    check_all_fn check_all = find_check_all();
    if (!proving)
        return;
    expect(check_all != NULL, "warden_check_all not found: warden is not this process's malloc");
    if (!check_all)
        return;
    char why[512] = "";
    int rc = check_all(why, sizeof why);
    expect(rc == 0, "%s: warden_check_all returned %d: %s", when, rc, why);
}

/* ---- libc's allocating functions ------------------------------------------------------ */

static void exercise_getline(void)
{
    FILE *f = tmpfile(); /* stdio buffer from malloc, freed by fclose */
    expect(f != NULL, "tmpfile: %s", strerror(errno));
    if (!f)
        return;
    const size_t lengths[] = {0, 1, 100, 5000, 100000, 3 * MiB};
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
        for (size_t k = 0; k < lengths[i]; k++)
            fputc('a' + (int)((k + i) % 26), f);
        fputc('\n', f);
    }
    rewind(f);
    char *line = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
        size_t before = mallinfo2().uordblks, cap_before = cap;
        ssize_t got = getline(&line, &cap, f); /* grows the buffer with realloc */
        expect(got == (ssize_t)lengths[i] + 1, "getline: %zd, expected %zu", got, lengths[i] + 1);
        if (got <= 0)
            break;
        for (size_t k = 0; k < lengths[i]; k++)
            if (line[k] != 'a' + (int)((k + i) % 26)) {
                expect(0, "getline: byte %zu of line %zu is wrong", k, i);
                break;
            }
        expect(malloc_usable_size(line) >= cap, "getline: usable %zu < capacity %zu", malloc_usable_size(line),
               cap);
        if (lengths[i] == 3 * MiB) /* the buffer grew from cap_before to cap */
            expect_counted("getline's 3 MiB buffer", before, 3 * MiB - cap_before);
    }
    free(line); /* libc's buffer, the program's free */
    fclose(f);
}

static char *vformat(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

static void exercise_strings(void)
{
    size_t big = 4 * MiB;
    char *src = malloc(big + 1);
    expect(src != NULL, "malloc(4 MiB)");
    if (!src)
        return;
    memset(src, 'x', big);
    src[big] = '\0';

    size_t before = mallinfo2().uordblks;
    char *d = strdup(src);
    expect(d != NULL && strlen(d) == big, "strdup of 4 MiB");
    expect_counted("strdup of 4 MiB", before, big);
    free(d);

    before = mallinfo2().uordblks;
    char *nd = strndup(src, 2 * MiB);
    expect(nd != NULL && strlen(nd) == 2 * MiB, "strndup of 2 MiB");
    expect_counted("strndup of 2 MiB", before, 2 * MiB);
    free(nd);

    before = mallinfo2().uordblks;
    char *a = NULL;
    int n = asprintf(&a, "%s-%d", src + 2 * MiB, 42);
    expect(n == (int)(2 * MiB + 3) && a != NULL, "asprintf: %d", n);
    expect_counted("asprintf of 2 MiB", before, 2 * MiB);
    free(a);

    before = mallinfo2().uordblks;
    char *v = vformat("%s|%s", src + 3 * MiB, src + 3 * MiB);
    expect(v != NULL && strlen(v) == 2 * MiB + 1, "vasprintf of 2 MiB");
    expect_counted("vasprintf of 2 MiB", before, 2 * MiB);
    free(v);

    for (int i = 0; i < 10000; i++) { /* many small ones */
        char *s = NULL;
        if (asprintf(&s, "item %d of %s", i, "many") < 0 || !s) {
            expect(0, "asprintf #%d", i);
            break;
        }
        char *t = strndup(s, 7);
        expect(t && strcmp(t, "item ") >= 0, "strndup");
        free(s);
        free(t);
    }
    free(src);
}

static void exercise_stdio(void)
{
    char path[] = "/tmp/warden-interpose-XXXXXX";
    int fd = mkstemp(path);
    expect(fd >= 0, "mkstemp: %s", strerror(errno));
    if (fd < 0)
        return;
    close(fd);
    for (int round = 0; round < 50; round++) {
        FILE *f = fopen(path, round % 2 ? "r" : "w");
        expect(f != NULL, "fopen: %s", strerror(errno));
        if (!f)
            break;
        if (round % 2 == 0)
            for (int i = 0; i < 1000; i++)
                fprintf(f, "line %d\n", i);
        else {
            char buf[64];
            int lines = 0;
            while (fgets(buf, sizeof buf, f))
                lines++;
            expect(lines == 1000, "read %d lines", lines);
        }
        setvbuf(f, NULL, _IOFBF, 1 << 16);
        fclose(f);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&buf, &len);
    expect(ms != NULL, "open_memstream");
    if (ms) {
        for (int i = 0; i < 100000; i++)
            fprintf(ms, "%d,", i);
        fclose(ms);
        expect(len > 500000 && buf != NULL, "open_memstream: %zu bytes", len);
        free(buf);
    }
    unlink(path);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void exercise_qsort(void)
{
    size_t n = 1 << 20; /* 4 MiB: glibc's qsort mallocs its merge buffer */
    int *v = malloc(n * sizeof *v);
    expect(v != NULL, "malloc");
    if (!v)
        return;
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        v[i] = (int)(x >> 1);
    }
    qsort(v, n, sizeof *v, cmp_int);
    for (size_t i = 1; i < n; i++)
        if (v[i - 1] > v[i]) {
            expect(0, "qsort: not sorted at %zu", i);
            break;
        }
    free(v);
}

#ifndef INTERPOSE_STATIC
static void exercise_getaddrinfo(void)
{
    for (int i = 0; i < 20; i++) {
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_socktype = SOCK_STREAM;
        int rc = getaddrinfo("localhost", "80", &hints, &res);
        expect(rc == 0, "getaddrinfo(localhost): %s", gai_strerror(rc));
        if (rc != 0)
            return;
        int count = 0;
        for (struct addrinfo *a = res; a; a = a->ai_next)
            count++;
        expect(count > 0, "getaddrinfo gave no address");
        freeaddrinfo(res);
    }
}

static void exercise_locales(void)
{
    const char *set = setlocale(LC_ALL, "C.UTF-8");
    expect(set != NULL, "setlocale(LC_ALL, C.UTF-8) failed");
    for (int i = 0; i < 20; i++) {
        locale_t l = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
        expect(l != (locale_t)0, "newlocale(C.UTF-8): %s", strerror(errno));
        if (!l)
            break;
        locale_t d = duplocale(l);
        locale_t old = uselocale(d);
        char buf[32];
        snprintf(buf, sizeof buf, "%.2f", 3.25);
        expect(strcmp(buf, "3.25") == 0, "formatting under C.UTF-8: %s", buf);
        uselocale(old);
        freelocale(d);
        freelocale(l);
    }
    setlocale(LC_ALL, "C");
}

static void exercise_dlopen(void)
{
    for (int i = 0; i < 10; i++) {
        void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
        expect(h != NULL, "dlopen(libm.so.6): %s", dlerror());
        if (!h)
            return;
        double (*cosine)(double) = (double (*)(double))dlsym(h, "cos");
        expect(cosine != NULL && cosine(0.0) == 1.0, "dlsym(cos)");
        expect(dlclose(h) == 0, "dlclose: %s", dlerror());
    }
    /* a library that is not there: dlerror's message is malloc'd */
    void *none = dlopen("libwarden-no-such-library.so", RTLD_NOW);
    expect(none == NULL, "dlopen of a missing library succeeded");
    expect(dlerror() != NULL, "no dlerror");
}
#endif

static void exercise_dirs(void)
{
    for (int round = 0; round < 20; round++) {
        DIR *d = opendir(round % 2 ? "/" : "/usr/lib");
        expect(d != NULL, "opendir: %s", strerror(errno));
        if (!d)
            return;
        int n = 0;
        while (readdir(d))
            n++;
        expect(n > 2, "readdir: %d entries", n);
        closedir(d);
    }
    struct dirent **list = NULL;
    int n = scandir("/", &list, NULL, alphasort); /* every entry malloc'd by libc */
    expect(n > 2, "scandir: %d", n);
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void exercise_errors_and_regex(void)
{
    for (int e = 0; e < 200; e++) {
        const char *s = strerror(e + 12300 * (e % 2)); /* unknown ones are formatted into a buffer */
        expect(s != NULL && *s, "strerror(%d)", e);
    }
    const char *sig = strsignal(123);
    expect(sig != NULL, "strsignal");
    for (int round = 0; round < 50; round++) {
        regex_t re;
        int rc = regcomp(&re, "^([a-z]+)-([0-9]+)(\\.[a-z]{2,4})?$", REG_EXTENDED);
        expect(rc == 0, "regcomp: %d", rc);
        if (rc != 0)
            return;
        regmatch_t m[4];
        expect(regexec(&re, "warden-42.tar", 4, m, 0) == 0, "regexec did not match");
        expect(m[2].rm_so == 7 && m[2].rm_eo == 9, "regexec: group 2 at %d..%d", (int)m[2].rm_so,
               (int)m[2].rm_eo);
        expect(regexec(&re, "Warden-42", 4, m, 0) == REG_NOMATCH, "regexec matched");
        regfree(&re);
    }
}

/* A thread that allocates through libc and hands the result to main, and
 * frees what main allocated. */
static void *thread_body(void *arg)
{
    free(arg);
    char *s = NULL;
    if (asprintf(&s, "from the thread: %s", strerror(EINVAL)) < 0)
        return NULL;
    for (int i = 0; i < 10000; i++)
        free(strdup(s));
    return s;
}

static void exercise_thread(void)
{
    for (int round = 0; round < 20; round++) {
        pthread_t t;
        char *mine = strdup("from main");
        expect(pthread_create(&t, NULL, thread_body, mine) == 0, "pthread_create");
        void *ret = NULL;
        expect(pthread_join(t, &ret) == 0, "pthread_join");
        expect(ret != NULL && strncmp(ret, "from the thread", 15) == 0, "thread's string");
        free(ret);
    }
}

/* At exit, after main returned: libc's exit handlers run on warden's heap
 * too; a block of main is freed here and more is allocated. */
static char *kept_for_exit;

static void at_exit_handler(void)
{
    if (!kept_for_exit || strcmp(kept_for_exit, "kept until exit") != 0) {
        fprintf(stderr, "interpose: at exit: the kept block is damaged\n");
        _exit(1);
    }
    free(kept_for_exit);
    char *s = NULL;
    if (asprintf(&s, "at exit %d", 1) < 0 || !s) {
        fprintf(stderr, "interpose: at exit: asprintf failed\n");
        _exit(1);
    }
    free(s);
    failures = 0;
    expect_sound("at exit");
    if (failures)
        _exit(1);
}

int main(void)
{
    kept_for_exit = strdup("kept until exit");
    atexit(at_exit_handler);
    expect_sound("at start");
    exercise_getline();
    exercise_strings();
    exercise_stdio();
    exercise_qsort();
#ifndef INTERPOSE_STATIC
    exercise_getaddrinfo();
    exercise_locales();
    exercise_dlopen();
#endif
    exercise_dirs();
    exercise_errors_and_regex();
    exercise_thread();
    expect_sound("at the end");
    if (failures) {
        fprintf(stderr, "interpose: %d failures\n", failures);
        return 1;
    }
    puts("interpose ok");
    return 0;
}
