/* integrity.c — draws the per-process secret of integrity.h. */
#include "integrity.h"

#include "platform.h"

uint64_t integrity_secret_value;
uint32_t integrity_cache_key_value;

void integrity_init(void)
{
    if (integrity_secret() != 0)
        return;
    uint64_t fresh = 0;
    while (fresh == 0)
        platform_random(&fresh, sizeof fresh);
    /* Whoever wins the race sets it; everyone then sees the same secret. */
    atomic_cas_u64(&integrity_secret_value, 0, fresh);
    uint64_t k = integrity_secret() * 0xd6e8feb86659fd93u;
    atomic_store_u32(&integrity_cache_key_value, (uint32_t)(k >> 32) | 1u);
}
