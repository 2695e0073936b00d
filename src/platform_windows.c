/* platform_windows.c — the host services of platform.h on Windows:
 * VirtualAlloc/VirtualFree for pages (64 KiB-aligned by the allocation
 * granularity), BCryptGenRandom for the secret, SRW locks. */
#include "platform.h"
#include "mix.h"

#include <windows.h>
#include <bcrypt.h>
#include <stdlib.h>

_Static_assert(sizeof(SRWLOCK) <= sizeof(((platform_lock *)0)->opaque),
               "platform_lock too small for SRWLOCK");

long platform_maps_left = -1; /* platform.h: the tests' limit on mappings */

void *platform_map(size_t size)
{
    if (platform_map_refused())
        return NULL;
    /* VirtualAlloc reservations start on the 64 KiB allocation granularity,
     * which is PLATFORM_CHUNK, and come back zeroed. */
    return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void platform_unmap(void *addr, size_t size)
{
    (void)size;
    VirtualFree(addr, 0, MEM_RELEASE);
}

void platform_random(void *buf, size_t len)
{
    if (BCryptGenRandom(NULL, buf, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0)
        return;
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    mix_fill(buf, len, (uint64_t)now.QuadPart ^ (uintptr_t)&now ^ ((uint64_t)GetCurrentProcessId() << 16));
}

void platform_write_error(const char *text, size_t len)
{
    DWORD written;
    WriteFile(GetStdHandle(STD_ERROR_HANDLE), text, (DWORD)len, &written, NULL);
}

_Noreturn void platform_abort(void)
{
    abort();
}

void platform_yield(void)
{
    SwitchToThread();
}

void platform_lock_init(platform_lock *lock)
{
    InitializeSRWLock((SRWLOCK *)(void *)lock->opaque);
}

void platform_lock_destroy(platform_lock *lock)
{
    (void)lock;
}

void platform_lock_acquire(platform_lock *lock)
{
    AcquireSRWLockExclusive((SRWLOCK *)(void *)lock->opaque);
}

void platform_lock_release(platform_lock *lock)
{
    ReleaseSRWLockExclusive((SRWLOCK *)(void *)lock->opaque);
}

void platform_purge(void *addr, size_t size)
{
    uintptr_t first = ((uintptr_t)addr + PLATFORM_PAGE - 1) & ~(uintptr_t)(PLATFORM_PAGE - 1);
    uintptr_t last = ((uintptr_t)addr + size) & ~(uintptr_t)(PLATFORM_PAGE - 1);
    if (last > first) /* the contents may go; the pages stay committed */
        VirtualAlloc((void *)first, last - first, MEM_RESET, PAGE_READWRITE);
}
