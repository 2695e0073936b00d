/* fault.h — WARDEN_FAULT=<name> compiles one real bug into the allocator on
 * purpose, to prove that the checker, the tests and the fuzzers find it.
 * FAULT(name) is a compile-time constant: 0 in every normal build, so the
 * faulty branch costs nothing and is not even compiled in. */
#ifndef WARDEN_FAULT_H
#define WARDEN_FAULT_H

#define FAULT_none 0
#define FAULT_coalesce_next 1    /* free skips merging with the next block */
#define FAULT_coalesce_prev 2    /* free skips merging with the previous block */
#define FAULT_freelist_drop 3    /* a freed block is left off its free list */
#define FAULT_split_overrun 4    /* a split leaves the rest one granule too large */
#define FAULT_grow_overlap 5     /* in-place grow takes a next block that is not free */
#define FAULT_bump_double_slot 6 /* a bump bin slot is handed out twice */
#define FAULT_skip_poison 7      /* freed blocks stay addressable to Valgrind/ASan */
/* the malloc layer's */
#define FAULT_tcache_double_free 8 /* a block freed into a full thread-cache bin goes in twice: freed twice, unnoticed */
#define FAULT_remote_lost 9        /* the first remote free of each batch is dropped, never sent home */
#define FAULT_quarantine_skips_junk 10 /* a quarantined block's junk is never verified (leaving, or at a check) */
#define FAULT_canary_late 11       /* the tail canary starts one byte past the requested size */
#define FAULT_guard_early_reuse 12 /* a freed guard slot is reused at once, not after its keep of others */

#ifndef WARDEN_FAULT_ID
#define WARDEN_FAULT_ID FAULT_none
#endif

#define FAULT(name) (WARDEN_FAULT_ID == FAULT_##name)

#endif /* WARDEN_FAULT_H */
