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

#ifndef WARDEN_FAULT_ID
#define WARDEN_FAULT_ID FAULT_none
#endif

#define FAULT(name) (WARDEN_FAULT_ID == FAULT_##name)

#endif /* WARDEN_FAULT_H */
