/* platform_posix_nounwind.c — the unwinder of platform_debug.h in the
 * static library: none (no dlopen in a static program), so stacks are
 * empty and reports say so. */
#include "platform_debug.h"

int platform_unwinder_load(void)
{
    return -1;
}

int platform_backtrace(void **pcs, int max)
{
    (void)pcs;
    (void)max;
    return 0;
}
