/* integrity.c — draws the per-process secret of integrity.h. */
#include "integrity.h"

#include "platform.h"

uint64_t integrity_secret_value;

void integrity_init(void)
{
    if (integrity_secret() != 0)
        return;
    uint64_t fresh = 0;
    while (fresh == 0)
        platform_random(&fresh, sizeof fresh);
    /* Whoever wins the race sets it; everyone then sees the same secret. */
    atomic_cas_u64(&integrity_secret_value, 0, fresh);
}
