/* atomic.h — the few atomic operations warden needs (pointer loads, stores
 * and compare-and-swap, word loads, stores, adds and compare-and-swap), over the compiler's builtins. */
#ifndef WARDEN_ATOMIC_H
#define WARDEN_ATOMIC_H

#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static inline void *atomic_load_ptr(void *const volatile *p) { return *p; }
static inline void atomic_store_ptr(void *volatile *p, void *v) { *p = v; }
static inline int atomic_cas_ptr(void *volatile *p, void *expected, void *desired)
{
    return _InterlockedCompareExchangePointer(p, desired, expected) == expected;
}
static inline uint64_t atomic_load_u64(const volatile uint64_t *p) { return *p; }
static inline uint32_t atomic_load_u32(const volatile uint32_t *p) { return *p; }
static inline uint64_t atomic_peek_u64(const volatile uint64_t *p) { return *p; }
static inline void atomic_put_u64(volatile uint64_t *p, uint64_t v) { *p = v; }
static inline uint64_t atomic_add_u64(volatile uint64_t *p, uint64_t v)
{
    return (uint64_t)_InterlockedExchangeAdd64((volatile long long *)p, (long long)v) + v;
}
static inline void atomic_store_u32(volatile uint32_t *p, uint32_t v) { *p = v; }
static inline int atomic_cas_u64(volatile uint64_t *p, uint64_t expected, uint64_t desired)
{
    return (uint64_t)_InterlockedCompareExchange64((volatile long long *)p, (long long)desired,
                                                   (long long)expected) == expected;
}
static inline int atomic_swap_int(volatile long *p, long v) { return (int)_InterlockedExchange(p, v); }
static inline void atomic_release_int(volatile long *p) { _InterlockedExchange(p, 0); }
static inline long atomic_peek_int(const volatile long *p) { return *p; }
#else
static inline int atomic_swap_int(long *p, long v) { return (int)__atomic_exchange_n(p, v, __ATOMIC_ACQUIRE); }
static inline void atomic_release_int(long *p) { __atomic_store_n(p, 0, __ATOMIC_RELEASE); }
static inline long atomic_peek_int(const long *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void *atomic_load_ptr(void *const *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void atomic_store_ptr(void **p, void *v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline int atomic_cas_ptr(void **p, void *expected, void *desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline uint64_t atomic_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t atomic_load_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
/* relaxed 64-bit word: whole, never torn, no ordering */
static inline uint64_t atomic_peek_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void atomic_put_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline uint64_t atomic_add_u64(uint64_t *p, uint64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_RELAXED); }
static inline void atomic_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline int atomic_cas_u64(uint64_t *p, uint64_t expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
#endif

#endif /* WARDEN_ATOMIC_H */
