/* block.h — the in-band layout of a heap block: its 16-byte header, the
 * free-list links a free block keeps in its payload, and the only pointer
 * arithmetic on blocks in the tree.  Every read and write of a header goes
 * through these accessors. */
#ifndef WARDEN_BLOCK_H
#define WARDEN_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "integrity.h"

/*
 * A block, allocated or free:
 *
 *   0        4           8        12       16                       size*16
 *   +--------+-----------+--------+--------+------------------------+
 *   | size   | prev_size | flags  | seal   | payload ...            |
 *   +--------+-----------+--------+--------+------------------------+
 *     granules of this     BLOCK_FREE,       free block: next, prev
 *     block and the one    BLOCK_MARK        links (struct block_links)
 *     before it (0: first)
 *
 * The seal covers the address, size and BLOCK_FREE: what the header says of
 * its own block. prev_size is a copy of the previous block's sealed size (a
 * boundary tag), proved against that header whenever it is used, so
 * updating it costs no hash.
 *
 * Invariants (proved by heap_check):
 *   size >= BLOCK_MIN_GRANULES;  block + size*16 <= region's fence
 *   next(b)->prev_size == b->size;  first block: prev_size == 0
 *   seal == block_seal_of(b)  (BLOCK_MARK is not sealed: it is the checker's)
 *   b free  =>  next(b) and prev(b) are not free
 */
#define GRANULE ((size_t)16)
#define GRANULE_SHIFT 4
#define BLOCK_HEADER ((size_t)16)
#define BLOCK_MIN_GRANULES 2u /* a header and room for the two links */
#define BLOCK_MAX_GRANULES UINT32_MAX

#define BLOCK_FREE 0x1u /* on a free list */
#define BLOCK_MARK 0x2u /* scratch bit of the checker, outside the seal */

typedef struct block {
    uint32_t size;      /* granules, header included */
    uint32_t prev_size; /* granules of the block just before; 0 for a region's first */
    uint32_t flags;     /* BLOCK_FREE | BLOCK_MARK */
    uint32_t seal;      /* keyed hash of address, size and BLOCK_FREE */
} block;

typedef struct block_links {
    block *next; /* next block of the same free list, or NULL */
    block *prev; /* previous block of the same free list, or NULL at the head */
} block_links;

_Static_assert(sizeof(block) == BLOCK_HEADER, "a block header is 16 bytes");
_Static_assert(sizeof(block_links) <= (BLOCK_MIN_GRANULES * GRANULE) - BLOCK_HEADER,
               "a minimum block holds the free-list links");

static inline void *block_payload(const block *b)
{
    return (char *)b + BLOCK_HEADER;
}

static inline block *block_of_payload(const void *payload)
{
    return (block *)((char *)payload - BLOCK_HEADER);
}

static inline size_t block_bytes(const block *b)
{
    return (size_t)b->size << GRANULE_SHIFT;
}

static inline size_t block_usable(const block *b)
{
    return block_bytes(b) - BLOCK_HEADER;
}

static inline int block_is_free(const block *b)
{
    return (b->flags & BLOCK_FREE) != 0;
}

/* The block just after b in its region (may be the region's end). */
static inline block *block_next(const block *b)
{
    return (block *)((char *)b + block_bytes(b));
}

/* The block just before b; only when b->prev_size != 0. */
static inline block *block_prev(const block *b)
{
    return (block *)((char *)b - ((size_t)b->prev_size << GRANULE_SHIFT));
}

static inline block *block_at(void *addr)
{
    return (block *)addr;
}

static inline block_links *block_links_of(const block *b)
{
    return (block_links *)block_payload(b);
}

static inline uint32_t block_seal_of(const block *b)
{
    return (uint32_t)(integrity_hash(b, ((uint64_t)b->size << 1) | (b->flags & BLOCK_FREE)) >> 32);
}

static inline int block_is_sealed(const block *b)
{
    return b->seal == block_seal_of(b);
}

/* Writes a whole header and seals it. */
static inline void block_write(block *b, uint32_t size, uint32_t prev_size, uint32_t flags)
{
    b->size = size;
    b->prev_size = prev_size;
    b->flags = flags;
    b->seal = block_seal_of(b);
}

static inline void block_set_size(block *b, uint32_t size)
{
    b->size = size;
    b->seal = block_seal_of(b);
}

/* The boundary tag is not sealed: writing it needs no hash. */
static inline void block_set_prev_size(block *b, uint32_t prev_size)
{
    b->prev_size = prev_size;
}

static inline void block_set_flags(block *b, uint32_t flags)
{
    b->flags = flags;
    b->seal = block_seal_of(b);
}

/* Granules of a block whose payload holds at least size bytes, or 0 when
 * no block can be that large. */
static inline uint32_t block_granules_for(size_t size)
{
    if (size > ((uint64_t)BLOCK_MAX_GRANULES << GRANULE_SHIFT) - BLOCK_HEADER - GRANULE)
        return 0;
    uint64_t g = ((uint64_t)size + BLOCK_HEADER + GRANULE - 1) >> GRANULE_SHIFT;
    return g < BLOCK_MIN_GRANULES ? BLOCK_MIN_GRANULES : (uint32_t)g;
}

#endif /* WARDEN_BLOCK_H */
