/* bump.h — the segregated bump arena behind warden_bump: chunks, bins, the
 * bump pointer, and the layout pictures and invariants that bump.c keeps
 * and bump_check.c proves. */
#ifndef WARDEN_BUMP_INTERNAL_H
#define WARDEN_BUMP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "integrity.h"
#include "platform.h"
#include "sanitize.h"
#include "spinlock.h"
#include "warden.h"

#define BUMP_BINS 4                        /* slots of 16, 32, 64 and 128 bytes */
#define BUMP_MAX_SLOT ((size_t)128)
#define BUMP_KIND_LARGE 0xffu              /* chunk kind of bump space */
#define BUMP_LARGE_CHUNK ((size_t)256 << 10) /* least bytes of a new bump chunk */
#define BUMP_BITMAP_WORDS 64               /* 4096 slots: a 64 KiB chunk of 16-byte slots */
/* Where a tool watches, every object is followed by this many bytes no
 * other object holds (a request takes the bin of size + redzone), so an
 * overrun lands in poison and Memcheck can name it "N bytes after a block". */
#define BUMP_REDZONE ((size_t)(SAN_ANY ? 16 : 0))

/*
 * A chunk: one mapping of the platform, chunk-aligned, registered in the
 * page map so that any pointer finds it.
 *
 *   0                      BUMP_CHUNK_HEADER (640)                    size
 *   +----------------------+--------------------------------------------+
 *   | struct bump_chunk    | bin: slots of slot_size bytes            |
 *   | (+ struct warden_bump | bump: bytes handed out upward from start |
 *   |  in the first chunk) |        [start ........ top ....... end)   |
 *   +----------------------+--------------------------------------------+
 *
 * Invariants (proved by warden_bump_check):
 *   start <= top <= end;  bin chunk: (top - start) % slot_size == 0,
 *     size == PLATFORM_CHUNK, start is 128-aligned
 *   bump chunk: start == bump_space_start (a reset moves top back to it)
 *   bin chunk: used bit i set => slot i live; no bit at or past top
 *   pagemap_lookup(a) == chunk for every a in [chunk, chunk + size)
 *   every chunk list ends (no cycle)
 */
typedef struct bump_chunk {
    struct bump_chunk *next;           /* next chunk of the same bin, or of bump space */
    struct warden_bump *arena;         /* the owner */
    uint32_t kind;                     /* bin index, or BUMP_KIND_LARGE */
    uint32_t slot_size;                /* bin: bytes per slot; bump space: 0 */
    size_t size;                       /* bytes mapped */
    char *start;                       /* first slot, or first byte of bump space */
    char *top;                         /* bin: first slot never handed out; bump: the bump pointer */
    char *end;                         /* end of usable space */
    uint64_t used[BUMP_BITMAP_WORDS];  /* bin: bit i set <=> slot i is live */
} bump_chunk;

/* The header, then at least 16 bytes no object holds (Memcheck's redzone
 * before the first slot must not cover the bitmap), rounded to 128. */
#define BUMP_CHUNK_HEADER (((sizeof(bump_chunk) + 16 + BUMP_MAX_SLOT - 1) / BUMP_MAX_SLOT) * BUMP_MAX_SLOT)
_Static_assert((PLATFORM_CHUNK - BUMP_CHUNK_HEADER) / 16 <= BUMP_BITMAP_WORDS * 64,
               "a bin chunk's bitmap covers all its slots");

/*
 * A bin: its chunks in the order they were mapped, the chunk slots are cut
 * from, and a singly linked free list threaded through free slots. A link
 * is stored XORed with the slot address and the process secret, so a write
 * after free turns it into a pointer the page map refuses.
 *
 * Invariants:
 *   every free-list node is a slot of a chunk of this bin, below its top,
 *     with its used bit clear, listed once;  free_count == list length
 *   live == used bits set in all chunks
 */
typedef struct bump_bin {
    bump_chunk *chunks;   /* first chunk, or NULL */
    bump_chunk *current;  /* the chunk new slots come from, or NULL */
    void *free;           /* first free slot, or NULL */
    size_t live;          /* slots handed out and not freed */
    size_t free_count;    /* slots on the free list */
} bump_bin;

struct warden_bump {
    uint64_t seal;             /* proves a handle: address ^ secret */
    spinlock lock;             /* held around every operation */
    bump_bin bins[BUMP_BINS];  /* 16, 32, 64, 128 */
    bump_chunk *large;         /* bump space: the first chunk (which holds this struct: bump_arena_chunk) */
    bump_chunk *large_current; /* the chunk the bump pointer is in */
    void *last;                /* the most recent bump allocation, or NULL */
};

/* Where a chunk's space starts (its first slot, or its first byte of bump
 * space): just past its header. */
static inline char *bump_chunk_space(const bump_chunk *c)
{
    return (char *)(uintptr_t)c + BUMP_CHUNK_HEADER;
}

/* The chunk holding the arena: warden_bump_create puts the arena at the
 * start of its first chunk's space, just past the header. */
static inline bump_chunk *bump_arena_chunk(const warden_bump *bump)
{
    return (bump_chunk *)(uintptr_t)((const char *)bump - BUMP_CHUNK_HEADER);
}

/* Where a bump chunk's space starts: past the arena and a redzone in the
 * arena's chunk, where any chunk's does in any other. */
static inline char *bump_space_start(const warden_bump *bump, const bump_chunk *c)
{
    if (c == bump_arena_chunk(bump))
        return (char *)(uintptr_t)bump + ((sizeof *bump + 15) & ~(size_t)15) + BUMP_REDZONE;
    return bump_chunk_space(c);
}

static inline uint64_t bump_seal_of(const warden_bump *bump)
{
    return ((uint64_t)(uintptr_t)bump ^ integrity_secret()) + 0x62756d70u /* "bump" */;
}

/* Aborts with a one-line report unless bump is a live arena. */
void bump_verify(const warden_bump *bump, const char *op);

/* The stored form of a free-list link in slot at. */
static inline void *bump_link_code(const void *at, const void *next)
{
    return (void *)((uintptr_t)next ^ (uintptr_t)at ^ (uintptr_t)integrity_secret());
}

/* The next free slot after free slot at, as its stored link says. */
static inline void *bump_link_load(const void *at)
{
    san_meta_open(at, sizeof(void *));
    void *code = *(void *const *)at;
    san_meta_close(at, sizeof(void *));
    return bump_link_code(at, code);
}

static inline void bump_link_store(void *at, const void *next)
{
    san_meta_open(at, sizeof(void *));
    *(void **)at = bump_link_code(at, next);
    san_meta_close(at, sizeof(void *));
}

#endif /* WARDEN_BUMP_INTERNAL_H */
