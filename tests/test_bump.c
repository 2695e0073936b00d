/* test_bump.c — the segregated bump arena: bins and their O(1) reuse, the
 * bump pointer and in-place realloc of the last allocation, reset reusing
 * every chunk, zeroing, errors, misuse caught, the checker failing on
 * broken free lists, chunk headers and chunk lists, and two threads
 * sharing one arena. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bump.h"
#include "pagemap.h"
#include "platform.h"
#include "testutil.h"

static warden_bump *arena;

/* The slot a request of size bytes (alignment <= 16) gets, or 0 when the
 * bump pointer serves it: sanitizer builds add BUMP_REDZONE first. */
static size_t slot_for(size_t size)
{
    size_t need = size + BUMP_REDZONE;
    return need <= 16 ? 16 : need <= 32 ? 32 : need <= 64 ? 64 : need <= 128 ? 128 : 0;
}

static size_t up16(size_t x)
{
    return (x + 15) & ~(size_t)15;
}

static void setup(void)
{
    arena = warden_bump_create();
    ck_assert_ptr_nonnull(arena);
}

static void teardown(void)
{
    warden_bump_destroy(arena);
}

static void expect_bump_ok(void)
{
    char why[256];
    ck_assert_msg(warden_bump_check(arena, why, sizeof why) == 0, "warden_bump_check: %s", why);
}

static warden_bump_stats stats(void)
{
    warden_bump_stats s;
    warden_bump_get_stats(arena, &s);
    return s;
}

/* ---- bins ---------------------------------------------------------------------- */

START_TEST(test_bins_align_and_separate)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 33, 64, 65, 100, 128};
    char *p[12];
    size_t in_bins = 0;
    for (int i = 0; i < 12; i++) {
        size_t slot = slot_for(sizes[i]);
        p[i] = warden_bump_alloc(arena, sizes[i], 1);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_msg((uintptr_t)p[i] % (slot ? slot : 16) == 0, "size %zu: %p not on a %zu-byte slot",
                      sizes[i], (void *)p[i], slot);
        memset(p[i], i, sizes[i]);
        in_bins += slot != 0;
    }
    for (int i = 0; i < 12; i++)
        for (size_t j = 0; j < sizes[i]; j++)
            ck_assert_int_eq(p[i][j], i);
    ck_assert_uint_eq(stats().small_live, in_bins);
    ck_assert_uint_eq(in_bins, BUMP_REDZONE ? 11 : 12);
    /* an alignment picks the bin too: 8 bytes at 64 lives in the 64-byte bin */
    char *a = warden_bump_alloc(arena, 8, 64);
    ck_assert_uint_eq((uintptr_t)a % 64, 0);
    warden_bump_free(arena, a, 8, 64);
    for (int i = 0; i < 12; i++)
        warden_bump_free(arena, p[i], sizes[i], 1);
    ck_assert_uint_eq(stats().small_live, 0);
    expect_bump_ok();
}
END_TEST

START_TEST(test_freed_slot_is_next_handed_out)
{
    void *x = warden_bump_alloc(arena, 24, 8);
    void *y = warden_bump_alloc(arena, 24, 8);
    warden_bump_free(arena, x, 24, 8);
    ck_assert_ptr_eq(warden_bump_alloc(arena, 30, 8), x); /* same bin, same slot, O(1) */
    warden_bump_free(arena, y, 24, 8);
    warden_bump_free(arena, x, 30, 8);
    ck_assert_ptr_eq(warden_bump_alloc(arena, 17, 1), x); /* LIFO: the last freed first */
    ck_assert_ptr_eq(warden_bump_alloc(arena, 17, 1), y);
    expect_bump_ok();
}
END_TEST

START_TEST(test_bins_grow_by_chunks)
{
    enum { N = 20000 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        ck_assert_ptr_nonnull(p[i] = warden_bump_alloc(arena, 16, 16));
    ck_assert_uint_eq(stats().small_live, N);
    /* 4056 16-byte slots per 64 KiB chunk: 5 chunks (10 of 32-byte slots
     * with a redzone), plus the first bump chunk */
    size_t per_chunk = (PLATFORM_CHUNK - BUMP_CHUNK_HEADER) / slot_for(16);
    ck_assert_uint_eq(stats().mapped_bytes,
                      (N + per_chunk - 1) / per_chunk * PLATFORM_CHUNK + BUMP_LARGE_CHUNK);
    expect_bump_ok();
    for (int i = 0; i < N; i += 2)
        warden_bump_free(arena, p[i], 16, 16);
    expect_bump_ok();
    ck_assert_uint_eq(stats().small_live, N / 2);
}
END_TEST

/* ---- the bump pointer -------------------------------------------------------------- */

START_TEST(test_large_requests_bump)
{
    char *a = warden_bump_alloc(arena, 1000, 8);
    char *b = warden_bump_alloc(arena, 129, 8);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(b, a + up16(1000 + BUMP_REDZONE)); /* rounded up to the 16-byte alignment */
    ck_assert_uint_eq(stats().bump_used, up16(1000 + BUMP_REDZONE) + 129 + BUMP_REDZONE);
    warden_bump_free(arena, a, 1000, 8); /* not reused until reset */
    char *c = warden_bump_alloc(arena, 1000, 8);
    ck_assert_ptr_ne(c, a);
    char *d = warden_bump_alloc(arena, 200, 4096);
    ck_assert_uint_eq((uintptr_t)d % 4096, 0);
    expect_bump_ok();
}
END_TEST

START_TEST(test_large_requests_span_chunks)
{
    size_t before = stats().mapped_bytes;
    char *big = warden_bump_alloc(arena, 3 << 20, 64);
    ck_assert_ptr_nonnull(big);
    memset(big, 1, 3 << 20);
    ck_assert_uint_ge(stats().mapped_bytes, before + (3u << 20));
    char *small = warden_bump_alloc(arena, 500, 16); /* fits after big in its chunk? no room: next */
    ck_assert_ptr_nonnull(small);
    expect_bump_ok();
}
END_TEST

START_TEST(test_realloc_last_in_place)
{
    char *a = warden_bump_alloc(arena, 300, 16);
    char *b = warden_bump_alloc(arena, 300, 16);
    memset(b, 'b', 300);
    size_t b_at = up16(300 + BUMP_REDZONE); /* b's offset from a */
    ck_assert_ptr_eq(b, a + b_at);
    ck_assert_ptr_eq(warden_bump_realloc(arena, b, 300, 5000, 16), b); /* grows in place */
    ck_assert_uint_eq(stats().bump_used, b_at + 5000 + BUMP_REDZONE);
    ck_assert_ptr_eq(warden_bump_realloc(arena, b, 5000, 200, 16), b); /* shrinks in place */
    ck_assert_uint_eq(stats().bump_used, b_at + 200 + BUMP_REDZONE);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(b[i], 'b');
    memset(a, 'a', 300);
    char *a2 = warden_bump_realloc(arena, a, 300, 600, 16); /* not the last: moves */
    ck_assert_ptr_ne(a2, a);
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(a2[i], 'a');
    ck_assert_ptr_eq(a2, b + up16(200 + BUMP_REDZONE)); /* right after b's new end, 16-aligned */
    expect_bump_ok();
}
END_TEST

START_TEST(test_realloc_between_bins)
{
    char *p = warden_bump_alloc(arena, 20, 4);
    memcpy(p, "twenty bytes here!!", 20);
    ck_assert_ptr_eq(warden_bump_realloc(arena, p, 20, 30, 4), p); /* still the 32-byte bin */
    char *q = warden_bump_realloc(arena, p, 30, 100, 4);          /* to the 128-byte bin */
    ck_assert_ptr_ne(q, p);
    ck_assert_int_eq(memcmp(q, "twenty bytes here!!", 20), 0);
    ck_assert_ptr_eq(warden_bump_alloc(arena, 32, 1), p); /* p's slot was freed */
    char *r = warden_bump_realloc(arena, q, 100, 1000, 4); /* to the bump space */
    ck_assert_int_eq(memcmp(r, "twenty bytes here!!", 20), 0);
    char *s = warden_bump_realloc(arena, r, 1000, 10, 4); /* back to a bin */
    ck_assert_int_eq(memcmp(s, "twenty", 6), 0);
    ck_assert_uint_eq((uintptr_t)s % 16, 0);
    ck_assert_ptr_nonnull(warden_bump_realloc(arena, NULL, 0, 64, 8));
    expect_bump_ok();
}
END_TEST

/* ---- reset -------------------------------------------------------------------------- */

static void workload(void **out, int n)
{
    for (int i = 0; i < n; i++) {
        size_t size = (size_t)(i * 37 % 700);
        out[i] = warden_bump_alloc(arena, size, i % 3 == 0 ? 64 : 8);
        ck_assert_ptr_nonnull(out[i]);
        memset(out[i], 0x77, size);
        if (i % 5 == 4)
            warden_bump_free(arena, out[i - 1], (size_t)((i - 1) * 37 % 700), (i - 1) % 3 == 0 ? 64 : 8);
    }
}

START_TEST(test_reset_reuses_every_chunk)
{
    enum { N = 30000 };
    static void *first[N], *second[N];
    workload(first, N);
    warden_bump_stats before = stats();
    ck_assert_uint_gt(before.mapped_bytes, 4 * BUMP_LARGE_CHUNK);
    warden_bump_reset(arena);
    warden_bump_stats after_reset = stats();
    ck_assert_uint_eq(after_reset.small_live, 0);
    ck_assert_uint_eq(after_reset.bump_used, 0);
    ck_assert_uint_eq(after_reset.mapped_bytes, before.mapped_bytes); /* kept, not unmapped */
    expect_bump_ok();
    workload(second, N);
    warden_bump_stats again = stats();
    ck_assert_uint_eq(again.mapped_bytes, before.mapped_bytes); /* no new memory */
    ck_assert_uint_eq(again.bump_used, before.bump_used);
    for (int i = 0; i < N; i++)
        ck_assert_ptr_eq(second[i], first[i]); /* the very same addresses */
    expect_bump_ok();
}
END_TEST

START_TEST(test_zeroed_even_when_reused)
{
    char *p = warden_bump_alloc(arena, 64, 8);
    memset(p, 0xee, 64);
    warden_bump_free(arena, p, 64, 8);
    char *z = warden_bump_alloc_zeroed(arena, 60, 8);
    ck_assert_ptr_eq(z, p);
    for (int i = 0; i < 60; i++)
        ck_assert_int_eq(z[i], 0);
    char *l = warden_bump_alloc(arena, 5000, 16);
    memset(l, 0xee, 5000);
    warden_bump_reset(arena);
    warden_bump_alloc(arena, 8, 8);
    char *lz = warden_bump_alloc_zeroed(arena, 5000, 16);
    ck_assert_ptr_eq(lz, l); /* the same bump bytes after reset, zeroed again */
    for (int i = 0; i < 5000; i++)
        ck_assert_int_eq(lz[i], 0);
}
END_TEST

START_TEST(test_bad_sizes_and_alignments)
{
    size_t bad[] = {0, 3, 24, SIZE_MAX};
    for (int i = 0; i < 4; i++) {
        errno = 0;
        ck_assert_ptr_null(warden_bump_alloc(arena, 16, bad[i]));
        ck_assert_int_eq(errno, EINVAL);
    }
    size_t huge[] = {SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / 4 + 1};
    for (int i = 0; i < 3; i++) {
        errno = 0;
        ck_assert_ptr_null(warden_bump_alloc(arena, huge[i], 16));
        ck_assert_int_eq(errno, ENOMEM);
        errno = 0;
        ck_assert_ptr_null(warden_bump_alloc_zeroed(arena, huge[i], 16));
        ck_assert_int_eq(errno, ENOMEM);
    }
    errno = 0;
    ck_assert_ptr_null(warden_bump_alloc(arena, 16, SIZE_MAX / 4 + 1));
    ck_assert_int_eq(errno, ENOMEM);
    char *p = warden_bump_alloc(arena, 300, 16);
    errno = 0;
    ck_assert_ptr_null(warden_bump_realloc(arena, p, 300, SIZE_MAX, 16));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(stats().bump_used, 300 + BUMP_REDZONE); /* the failed realloc left it alone */
    expect_bump_ok();
}
END_TEST

START_TEST(test_null_and_bad_alignment_on_realloc)
{
    warden_bump_destroy(NULL);
    warden_bump_free(arena, NULL, 16, 16); /* nothing to free: no check of size or alignment */
    char *p = warden_bump_alloc(arena, 40, 8);
    errno = 0;
    ck_assert_ptr_null(warden_bump_realloc(arena, p, 40, 80, 24));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(stats().small_live, 1); /* p is still live */
    warden_bump_free(arena, p, 40, 8);
    ck_assert_uint_eq(stats().small_live, 0);
    expect_bump_ok();
}
END_TEST

#if SIZE_MAX > 0xffffffffu
/* A request the arena accepts but no host can map: the OS says no. */
START_TEST(test_os_refusal_is_enomem)
{
    warden_bump_stats before = stats();
    errno = 0;
    ck_assert_ptr_null(warden_bump_alloc(arena, (size_t)1 << 60, 16));
    ck_assert_int_eq(errno, ENOMEM);
    warden_bump_stats after = stats();
    ck_assert_uint_eq(after.mapped_bytes, before.mapped_bytes);
    ck_assert_uint_eq(after.bump_used, before.bump_used);
    ck_assert_ptr_nonnull(warden_bump_alloc(arena, 300, 16)); /* and the arena goes on */
    expect_bump_ok();
}
END_TEST
#endif

START_TEST(test_create_refused_is_enomem)
{
    platform_refuse_maps_after(0);
    errno = 0;
    warden_bump *b = warden_bump_create();
    int error = errno;
    platform_refuse_maps_after(-1); /* before any assert: a failing one must not leave it set */
    ck_assert_ptr_null(b);
    ck_assert_int_eq(error, ENOMEM);
    b = warden_bump_create(); /* nothing stuck: the next arena is made */
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(warden_bump_alloc(b, 24, 8));
    warden_bump_destroy(b);
    expect_bump_ok(); /* the fixture's arena never noticed */
}
END_TEST

/* A chunk the OS refuses (a bin's first, the bump pointer's next): the
 * request fails, the arena is as it was. */
START_TEST(test_chunk_refused_is_enomem)
{
    ck_assert_uint_ne(slot_for(24), 0); /* 24 bytes: a bin's */
    warden_bump_stats before = stats();
    platform_refuse_maps_after(0);
    errno = 0;
    void *small = warden_bump_alloc(arena, 24, 8);
    int small_error = errno;
    errno = 0;
    void *large = warden_bump_alloc(arena, 2 * BUMP_LARGE_CHUNK, 16);
    int large_error = errno;
    platform_refuse_maps_after(-1);
    ck_assert_ptr_null(small);
    ck_assert_int_eq(small_error, ENOMEM);
    ck_assert_ptr_null(large);
    ck_assert_int_eq(large_error, ENOMEM);
    warden_bump_stats after = stats();
    ck_assert_uint_eq(after.mapped_bytes, before.mapped_bytes);
    ck_assert_uint_eq(after.small_live, before.small_live);
    ck_assert_uint_eq(after.bump_used, before.bump_used);
    expect_bump_ok();
    small = warden_bump_alloc(arena, 24, 8); /* the OS gives again: so does the arena */
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(warden_bump_alloc(arena, 2 * BUMP_LARGE_CHUNK, 16));
    ck_assert_uint_eq(stats().small_live, 1);
    warden_bump_free(arena, small, 24, 8);
    ck_assert_uint_eq(stats().small_live, 0);
    expect_bump_ok();
}
END_TEST

/* ---- misuse --------------------------------------------------------------------------- */

typedef struct bad_free {
    void *ptr;
    size_t size, alignment;
} bad_free;

static void do_free(void *arg)
{
    bad_free *b = arg;
    warden_bump_free(arena, b->ptr, b->size, b->alignment);
}

static void expect_bad_free(void *ptr, size_t size, size_t alignment, const char *words)
{
    bad_free b = {ptr, size, alignment};
    char line[200];
    snprintf(line, sizeof line, "warden: warden_bump_free(%p): %s", ptr, words);
    expect_abort(do_free, &b, line);
}

START_TEST(test_misuse_is_caught)
{
    char words[160];
    size_t slot = slot_for(8), wrong = slot_for(17); /* 16 and 32, or 32 and 64 with a redzone */
    char *p = warden_bump_alloc(arena, 8, 8);
    char local[32] = {0};
    expect_bad_free(local, 8, 8, "invalid free (not a pointer from this arena)");
    warden_bump *other = warden_bump_create();
    char *q = warden_bump_alloc(other, 8, 8);
    expect_bad_free(q, 8, 8, "invalid free (not a pointer from this arena)");
    warden_bump_destroy(other);
    snprintf(words, sizeof words, "invalid free (size 17 belongs to the %zu-byte bin, the pointer lies in the %zu-byte bin)",
             wrong, slot);
    expect_bad_free(p, 17, 8, words);
    snprintf(words, sizeof words, "invalid free (size 500 is a bump allocation, the pointer lies in the %zu-byte bin)", slot);
    expect_bad_free(p, 500, 8, words);
    snprintf(words, sizeof words, "invalid free (not the start of a %zu-byte slot)", slot);
    expect_bad_free(p + 8, 8, 8, words);
    snprintf(words, sizeof words, "invalid free (a %zu-byte slot never handed out)", slot);
    expect_bad_free(p + slot, 8, 8, words);
    expect_bad_free(p, 8, 3, "invalid free (alignment 3 is not a power of two)");
    char *l = warden_bump_alloc(arena, 400, 16);
    snprintf(words, sizeof words, "invalid free (size 8 belongs to the %zu-byte bin, the pointer lies in the bump space)", slot);
    expect_bad_free(l, 8, 8, words);
    expect_bad_free(l + 400 + BUMP_REDZONE, 400, 16, "invalid free (not inside an allocation of the bump space)");
    warden_bump_free(arena, p, 8, 8);
    expect_bad_free(p, 8, 8, "double free");
}
END_TEST

static void alloc_two_32(void *unused)
{
    (void)unused;
    warden_bump_alloc(arena, 32, 1);
    warden_bump_alloc(arena, 32, 1);
}

static void bad_handle(void *unused)
{
    (void)unused;
    static _Alignas(16) char fake[256];
    warden_bump_alloc((warden_bump *)fake, 8, 8);
}

START_TEST(test_use_after_free_write_on_a_free_slot)
{
    char *a = warden_bump_alloc(arena, 32, 1), *b = warden_bump_alloc(arena, 32, 1);
    warden_bump_free(arena, a, 32, 1);
    warden_bump_free(arena, b, 32, 1); /* list: b -> a */
    scribble(b, 0x41, 8);              /* write after free over b's link */
    char why[256];
    ck_assert_int_ne(warden_bump_check(arena, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "not in a chunk of this bin") != NULL, "%s", why);
    expect_abort(alloc_two_32, NULL, "heap corruption (free slot overwritten after free)");
    expect_abort(bad_handle, NULL, "invalid arena (not a live warden_bump)");
}
END_TEST

/* ---- the checker fails when it should --------------------------------------------------- */

START_TEST(test_check_catches_broken_lists)
{
    char *a = warden_bump_alloc(arena, 40, 1), *b = warden_bump_alloc(arena, 40, 1);
    char *c = warden_bump_alloc(arena, 40, 1);
    (void)c;
    warden_bump_free(arena, a, 40, 1);
    warden_bump_free(arena, b, 40, 1);
    expect_bump_ok();
    char why[256];
    bump_bin *bin = &arena->bins[2]; /* 40 bytes, with or without a redzone: the 64-byte bin */
    void *saved = bump_link_load(a);
    bump_link_store(a, b); /* a -> b -> a: a cycle */
    ck_assert_int_ne(warden_bump_check(arena, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "listed twice") != NULL, "%s", why);
    bump_link_store(a, saved);
    expect_bump_ok(); /* its marks were cleaned up */
    bump_link_store(a, c); /* a live slot on the free list */
    ck_assert_int_ne(warden_bump_check(arena, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "is live") != NULL, "%s", why);
    bump_link_store(a, a + 8); /* not a slot boundary */
    ck_assert_int_ne(warden_bump_check(arena, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "not a slot") != NULL, "%s", why);
    bump_link_store(a, saved);
    bin->free_count++;
    ck_assert_int_ne(warden_bump_check(arena, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "free list holds 2 slots, counted 3") != NULL, "%s", why);
    bin->free_count--;
    bin->live++;
    ck_assert_int_ne(warden_bump_check(arena, why, sizeof why), 0);
    bin->live--;
    bump_chunk *chunk = arena->large_current;
    char *top = chunk->top;
    chunk->top = chunk->end + 16;
    ck_assert_int_ne(warden_bump_check(arena, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "bump pointer") != NULL, "%s", why);
    chunk->top = top;
    expect_bump_ok();
}
END_TEST

/* warden_bump_check names the chunk whose header a stray write changed. */
static void expect_bump_broken(const char *words)
{
    char why[256];
    ck_assert_int_ne(warden_bump_check(arena, why, sizeof why), 0);
    ck_assert_msg(strstr(why, words) != NULL, "checker said \"%s\", expected \"%s\"", why, words);
}

START_TEST(test_check_catches_overwritten_chunk_headers)
{
    char *s = warden_bump_alloc(arena, 8, 8);
    bump_chunk *large = arena->large, *bin = pagemap_lookup(s);
    char words[128];
    large->kind = 0; /* the bump space's first chunk claims to be bin 0's */
    snprintf(words, sizeof words, "chunk %p: owner or kind overwritten", (void *)large);
    expect_bump_broken(words);
    large->kind = BUMP_KIND_LARGE;
    bin->arena = NULL;
    snprintf(words, sizeof words, "chunk %p: owner or kind overwritten", (void *)bin);
    expect_bump_broken(words);
    bin->arena = arena;
    char *end = large->end;
    large->end = end - 16;
    snprintf(words, sizeof words, "chunk %p: size %zu or end %p wrong", (void *)large, large->size, (void *)(end - 16));
    expect_bump_broken(words);
    large->end = end;
    size_t last = large->size - PLATFORM_CHUNK;
    pagemap_clear((char *)large + last, PLATFORM_CHUNK); /* a stray unregistration */
    snprintf(words, sizeof words, "chunk %p: page map entry at +%zu does not name it", (void *)large, last);
    expect_bump_broken(words);
    ck_assert_int_eq(pagemap_set((char *)large + last, PLATFORM_CHUNK, large), 0);
    expect_bump_ok();
    warden_bump_free(arena, s, 8, 8);
}
END_TEST

START_TEST(test_check_catches_broken_bin_chunks)
{
    char *s = warden_bump_alloc(arena, 8, 8), *t = warden_bump_alloc(arena, 8, 8);
    bump_chunk *c = pagemap_lookup(s);
    size_t slot = c->slot_size;
    char words[128];
    ck_assert_ptr_eq(t, s + slot);
    c->slot_size = (uint32_t)(2 * slot);
    snprintf(words, sizeof words, "bin %zu chunk %p: shape overwritten", slot, (void *)c);
    expect_bump_broken(words);
    c->slot_size = (uint32_t)slot;
    c->top += 8;
    snprintf(words, sizeof words, "bin %zu chunk %p: top %p not on a slot boundary", slot, (void *)c, (void *)c->top);
    expect_bump_broken(words);
    c->top -= 8;
    c->used[0] |= (uint64_t)1 << 2; /* slot 2 was never handed out */
    snprintf(words, sizeof words, "bin %zu chunk %p: slot 2 live past the top", slot, (void *)c);
    expect_bump_broken(words);
    c->used[0] &= ~((uint64_t)1 << 2);
    bump_bin *bin = &arena->bins[c->kind];
    bin->current = arena->large; /* not a chunk of this bin */
    snprintf(words, sizeof words, "bin %zu: current chunk %p is not one of its chunks", slot, (void *)arena->large);
    expect_bump_broken(words);
    bin->current = c;
    expect_bump_ok();
    warden_bump_free(arena, s, 8, 8);
    warden_bump_free(arena, t, 8, 8);
}
END_TEST

START_TEST(test_check_catches_a_lost_bump_pointer)
{
    char *s = warden_bump_alloc(arena, 8, 8), *l = warden_bump_alloc(arena, 400, 16);
    bump_chunk *current = arena->large_current;
    arena->large_current = pagemap_lookup(s); /* a bin's chunk */
    expect_bump_broken("bump pointer's chunk");
    expect_bump_broken("is not one of the arena's");
    arena->large_current = current;
    ck_assert_ptr_eq(arena->last, l);
    arena->last = current->top; /* past what was handed out */
    expect_bump_broken("last bump allocation");
    expect_bump_broken("is not below the bump pointer");
    arena->last = l;
    expect_bump_ok();
    warden_bump_free(arena, s, 8, 8);
}
END_TEST

/* A checker that loops forever on the damage fails the test in seconds
 * rather than at Check's timeout (wasm32-wasi has no alarm: the timeout). */
#ifdef __wasi__
#define check_deadline(seconds) ((void)0)
#else
#include <unistd.h>
#define check_deadline(seconds) ((void)alarm(seconds))
#endif

/* Two bump chunks: the first (holding the arena) and a second one mapped
 * for a request the first has no room left for. Returns the second. */
static bump_chunk *second_bump_chunk(void)
{
    size_t big = BUMP_LARGE_CHUNK * 3 / 4;
    char *a = warden_bump_alloc(arena, big, 16), *b = warden_bump_alloc(arena, big, 16);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    bump_chunk *first = arena->large, *second = first->next;
    ck_assert_ptr_eq(pagemap_lookup(a), first);
    ck_assert_ptr_nonnull(second);
    ck_assert_ptr_eq(pagemap_lookup(b), second);
    ck_assert_ptr_eq(b, second->start);
    return second;
}

START_TEST(test_check_catches_a_chunk_list_cycle)
{
    char *s = warden_bump_alloc(arena, 8, 8);
    bump_chunk *c = pagemap_lookup(s), *second = second_bump_chunk(), *first = arena->large;
    char words[128];
    check_deadline(10);
    c->next = c; /* a bin's only chunk comes round again */
    snprintf(words, sizeof words, "bin %u: chunk list has a cycle (chunk %p comes round again)", c->slot_size,
             (void *)c);
    expect_bump_broken(words);
    c->next = NULL;
    expect_bump_ok();
    first->next = first; /* the bump space's first chunk, linked to itself */
    snprintf(words, sizeof words, "bump chunk list has a cycle (chunk %p comes round again)", (void *)first);
    expect_bump_broken(words);
    first->next = second;
    expect_bump_ok();
    second->next = first; /* the last chunk, linked back to the first */
    expect_bump_broken(words);
    second->next = NULL;
    check_deadline(0);
    expect_bump_ok();
    warden_bump_free(arena, s, 8, 8);
}
END_TEST

START_TEST(test_check_catches_a_moved_bump_space_start)
{
    bump_chunk *second = second_bump_chunk(), *first = arena->large;
    char *start = second->start, words[160];
    second->start = (char *)second; /* a reset would hand out its header */
    snprintf(words, sizeof words, "bump chunk %p: start %p, the allocator puts it at %p", (void *)second,
             (void *)second, (void *)start);
    expect_bump_broken(words);
    second->start = start;
    expect_bump_ok();
    start = first->start;
    first->start = (char *)arena; /* a reset would hand out the arena itself */
    snprintf(words, sizeof words, "bump chunk %p: start %p, the allocator puts it at %p", (void *)first,
             (void *)arena, (void *)start);
    expect_bump_broken(words);
    first->start = start;
    expect_bump_ok();
}
END_TEST

START_TEST(test_check_catches_a_moved_bump_space_head)
{
    bump_chunk *second = second_bump_chunk(), *first = arena->large;
    char words[160];
    ck_assert_ptr_eq(arena->large_current, second);
    arena->large = second; /* the chunk holding the arena drops out of the list */
    snprintf(words, sizeof words, "bump chunk list starts at %p, not at the chunk %p holding the arena",
             (void *)second, (void *)first);
    expect_bump_broken(words);
    arena->large = first;
    expect_bump_ok();
}
END_TEST

/* ---- threads (not on wasm32-wasi, which has none) ------------------------------------------ */
#ifndef __wasi__
#include <pthread.h>

enum { THREAD_OPS = 40000 };

static void *hammer(void *seed)
{
    rng r = {(uint64_t)(uintptr_t)seed};
    void *live[64] = {0};
    size_t sizes[64];
    unsigned char tag = (unsigned char)(uintptr_t)seed;
    for (int i = 0; i < THREAD_OPS; i++) {
        int k = (int)rng_below(&r, 64);
        if (live[k]) {
            unsigned char *p = live[k];
            for (size_t j = 0; j < sizes[k]; j++)
                require(p[j] == tag, "byte %zu of %p changed under the other thread", j, (void *)p);
            if (rng_below(&r, 3) == 0) {
                size_t n = rng_below(&r, 300);
                p = warden_bump_realloc(arena, p, sizes[k], n, 8);
                require(p != NULL, "realloc failed");
                memset(p, tag, n);
                live[k] = p;
                sizes[k] = n;
            } else {
                warden_bump_free(arena, p, sizes[k], 8);
                live[k] = NULL;
            }
        } else {
            sizes[k] = rng_below(&r, 10) < 8 ? rng_below(&r, 129) : rng_below(&r, 3000);
            live[k] = warden_bump_alloc(arena, sizes[k], 8);
            require(live[k] != NULL, "alloc failed");
            memset(live[k], tag, sizes[k]);
        }
    }
    for (int k = 0; k < 64; k++)
        if (live[k])
            warden_bump_free(arena, live[k], sizes[k], 8);
    return NULL;
}

START_TEST(test_two_threads_share_an_arena)
{
    pthread_t t[2];
    pthread_create(&t[0], NULL, hammer, (void *)(uintptr_t)0x11);
    pthread_create(&t[1], NULL, hammer, (void *)(uintptr_t)0x22);
    char why[256];
    for (int i = 0; i < 50; i++) /* the checker runs concurrently too */
        require(warden_bump_check(arena, why, sizeof why) == 0, "%s", why);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    expect_bump_ok();
    ck_assert_uint_eq(stats().small_live, 0);
}
END_TEST
#endif

int main(int argc, char **argv)
{
    Suite *s = suite_create("bump");
    TCase *tc = tcase_create("bump");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bins_align_and_separate);
    tcase_add_test(tc, test_freed_slot_is_next_handed_out);
    tcase_add_test(tc, test_bins_grow_by_chunks);
    tcase_add_test(tc, test_large_requests_bump);
    tcase_add_test(tc, test_large_requests_span_chunks);
    tcase_add_test(tc, test_realloc_last_in_place);
    tcase_add_test(tc, test_realloc_between_bins);
    tcase_add_test(tc, test_reset_reuses_every_chunk);
    tcase_add_test(tc, test_zeroed_even_when_reused);
    tcase_add_test(tc, test_bad_sizes_and_alignments);
    tcase_add_test(tc, test_null_and_bad_alignment_on_realloc);
#if SIZE_MAX > 0xffffffffu
    tcase_add_test(tc, test_os_refusal_is_enomem);
#endif
    tcase_add_test(tc, test_create_refused_is_enomem);
    tcase_add_test(tc, test_chunk_refused_is_enomem);
    tcase_add_test(tc, test_misuse_is_caught);
    tcase_add_test(tc, test_use_after_free_write_on_a_free_slot);
    tcase_add_test(tc, test_check_catches_broken_lists);
    tcase_add_test(tc, test_check_catches_overwritten_chunk_headers);
    tcase_add_test(tc, test_check_catches_broken_bin_chunks);
    tcase_add_test(tc, test_check_catches_a_lost_bump_pointer);
    tcase_add_test(tc, test_check_catches_a_chunk_list_cycle);
    tcase_add_test(tc, test_check_catches_a_moved_bump_space_start);
    tcase_add_test(tc, test_check_catches_a_moved_bump_space_head);
#ifndef __wasi__
    tcase_add_test(tc, test_two_threads_share_an_arena);
#endif
    suite_add_tcase(s, tc);
    testutil_args(argc, argv);
    return testutil_run(s);
}
