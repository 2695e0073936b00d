/* compiler.h — the compiler features warden uses beyond C11 (bit scans,
 * overflow-checked multiply, format checking), with MSVC equivalents. */
#ifndef WARDEN_COMPILER_H
#define WARDEN_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define WARDEN_PRINTF(fmt, args)
#define WARDEN_COLD
#define WARDEN_NOINLINE __declspec(noinline)
#define WARDEN_STACK_SCAN
#define WARDEN_INLINE __forceinline
#define WARDEN_LIKELY(x) (x)
#define WARDEN_TLS __declspec(thread)
static inline unsigned bits_clz64(uint64_t x) { unsigned long i; _BitScanReverse64(&i, x); return 63u - (unsigned)i; }
static inline unsigned bits_ctz64(uint64_t x) { unsigned long i; _BitScanForward64(&i, x); return (unsigned)i; }
static inline int mul_overflows(size_t a, size_t b, size_t *out)
{
    *out = a * b;
    return a != 0 && *out / a != b;
}
#else
#if defined(__MINGW32__)
#define WARDEN_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#else
#define WARDEN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#endif
#define WARDEN_COLD __attribute__((cold))
#define WARDEN_NOINLINE __attribute__((noinline))
/* A function that reads the raw words of other functions' stack frames on
 * purpose (ASan's redzones, words MSan knows were never written): not
 * instrumented. */
#if defined(__clang__)
#define WARDEN_STACK_SCAN __attribute__((no_sanitize("address", "memory")))
#else
#define WARDEN_STACK_SCAN __attribute__((no_sanitize_address))
#endif
#define WARDEN_INLINE inline __attribute__((always_inline)) /* a fast path, inlined wherever it is called */
#define WARDEN_LIKELY(x) __builtin_expect(!!(x), 1)
/* One %fs-relative load: a library preloaded or linked at start-up gets
 * static TLS, and one pointer fits the surplus left for dlopen. */
#define WARDEN_TLS __thread __attribute__((tls_model("initial-exec")))
static inline unsigned bits_clz64(uint64_t x) { return (unsigned)__builtin_clzll(x); }
static inline unsigned bits_ctz64(uint64_t x) { return (unsigned)__builtin_ctzll(x); }
static inline int mul_overflows(size_t a, size_t b, size_t *out) { return __builtin_mul_overflow(a, b, out); }
#endif

#endif /* WARDEN_COMPILER_H */
