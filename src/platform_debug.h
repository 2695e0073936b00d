/* platform_debug.h — the host services only the debug profile needs: a
 * DWARF unwinder loaded at run time, the loaded modules, the process id, a
 * helper program run over pipes (the symbolizer) and a log file. POSIX
 * hosts only (platform_posix_debug.c). None of these allocates through
 * malloc, except platform_unwinder_load (dlopen) and platform_run_filter's
 * exec, which run where malloc may be called. */
#ifndef WARDEN_PLATFORM_DEBUG_H
#define WARDEN_PLATFORM_DEBUG_H

#include <stddef.h>
#include <stdint.h>

/* Loads libunwind's unw_backtrace (libunwind.so.8): 0, or -1 when it is not
 * installed (then platform_backtrace finds nothing). */
int platform_unwinder_load(void);
/* Up to max return addresses of the calling thread's stack, innermost
 * first; 0 before platform_unwinder_load succeeded. */
int platform_backtrace(void **pcs, int max);

/* A loaded module (the program, a shared library): its file, the bias the
 * loader added to its addresses, and the span of its code. */
typedef struct platform_module {
    char path[256];  /* absolute file name ("/proc/self/exe" resolved for the program) */
    uintptr_t bias;  /* load address minus link address: file offset = pc - bias */
    uintptr_t lo, hi; /* its executable segments, [lo, hi) */
} platform_module;
/* The module holding code address pc: 0, or -1 for none. */
int platform_module_of(uintptr_t pc, platform_module *out);

/* Calls fn(lo, hi, ctx) for each mapping of the process that may hold
 * pointers the program stored: readable ones that are writable or anonymous
 * (data and bss of every module, heaps, thread stacks and TLS), not shared
 * file mappings, devices nor the kernel's pages. Reads /proc/self/maps
 * without malloc; -1 when it cannot. */
int platform_each_mapping(void (*fn)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx);
/* The mapping holding addr, [*lo, *hi): 0, or -1 (none, or unreadable). No malloc. */
int platform_mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

/* Stops every other thread of the process until platform_resume_threads:
 * each waits in a signal handler (SIGRTMAX - 2), its registers saved on its
 * own stack, where a scan finds them. Threads that block the signal are
 * waited for a moment, then left running. The number stopped. */
size_t platform_stop_threads(void);
void platform_resume_threads(void);

/* ---- guard pages ----
 * Inaccessible address space of size bytes (whole pages), nothing behind
 * it yet; NULL when refused. */
void *platform_reserve(size_t size);
/* Makes whole pages [addr, addr + size) read-write (accessible) or
 * inaccessible; 0, or -1 (the map count is exhausted). */
int platform_protect(void *addr, size_t size, int accessible);
/* Guard markers (Linux 6.13's MADV_GUARD_INSTALL): pages of one
 * read-write mapping that fault as if unmapped, with no mapping of their
 * own (no map count, no split) and no memory behind them.
 * platform_reserve_marked: size bytes (whole pages), every page marked;
 * NULL when the kernel has no markers (or refuses the space). */
void *platform_reserve_marked(size_t size);
/* Removes the markers of whole pages [addr, addr + size) (accessible: they
 * read as zeros, then as written) or puts them back (their memory goes);
 * 0, or -1. */
int platform_mark(void *addr, size_t size, int accessible);
/* platform_mark(at[i], bytes, 1) for count ranges at once, their pages
 * faulted in as well (so a first touch costs no fault), in as few system
 * calls as the kernel allows (process_madvise on this process, Linux 6.14;
 * else one madvise a range); 0, or -1 (some ranges may be open then). */
int platform_mark_open_many(void *const *at, size_t count, size_t bytes);
/* How many more mappings the kernel allows this process now
 * (vm.max_map_count less those in use); a guess when it cannot tell. */
size_t platform_mappings_left(void);
/* Catches SIGSEGV: fn(addr, access, pc) is asked first, access 'w' for a
 * write, 'r' for a read, '?' when the host cannot tell, pc the faulting
 * instruction (0: unknown); when it returns 1 the
 * fault was warden's and is dealt with (the access is retried), otherwise
 * the handler the program had, or installs later through sigaction or
 * signal (see platform_sigaction), gets it, or the default action kills.
 * 0, or -1. */
int platform_catch_faults(int (*fn)(const void *addr, char access, uintptr_t pc));
/* sigaction(2) as the program sees it: for SIGSEGV once faults are caught,
 * the program's handler is kept as the one warden chains to. */
struct sigaction;
int platform_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* signal(3), BSD semantics as glibc's, over platform_sigaction. */
void (*platform_signal(int sig, void (*handler)(int)))(int);

/* The process's id. */
uint32_t platform_process_id(void);

/* The full name of program name found on PATH, in buf; NULL if none. */
const char *platform_find_program(const char *name, char *buf, size_t cap);
/* Runs argv[0] (a full name) with input on its stdin and collects what it
 * writes to stdout into out (NUL-terminated, cut at out_cap - 1): the
 * length, or -1 when it cannot be run. stderr goes to /dev/null. */
long platform_run_filter(char *const argv[], const char *input, size_t input_len, char *out, size_t out_cap);

/* Writes out what the program's stdio buffers hold (before an exit that
 * skips the C library's own clean-up). */
void platform_flush_stdio(void);
/* From now on, platform_write_error writes to the file path.PID (appended);
 * -1 (and stderr still) when it cannot be opened. */
int platform_log_to(const char *path);
/* platform_write_error's file descriptor from now on (platform_posix.c). */
void platform_set_error_fd(int fd);

#endif /* WARDEN_PLATFORM_DEBUG_H */
