/* block.h — the in-band layout of a heap block: its 16-byte header, the
 * free-list links a free block keeps in its payload, and the only pointer
 * arithmetic on blocks in the tree. Every read and write of a header or a
 * link goes through these accessors, which open exactly those bytes to
 * Valgrind/ASan for the access and close them again (sanitize.h). */
#ifndef WARDEN_BLOCK_H
#define WARDEN_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "integrity.h"
#include "sanitize.h"

/*
 * A block, allocated or free:
 *
 *   0        4           8        12       16                       size*16
 *   +--------+-----------+--------+--------+------------------------+
 *   | size   | prev_size | flags  | seal   | payload ...            |
 *   +--------+-----------+--------+--------+------------------------+
 *     granules of this     state bits,       free block: next, prev
 *     block and the one    and the slack     links (block_links)
 *     before it (0: first) (usable - asked)
 *
 * The seal covers the address, size and state (FREE, QUARANTINED): what the
 * header says of its own block. prev_size is a copy of the previous block's
 * sealed size (a boundary tag), proved against that header whenever it is
 * used, so updating it costs no hash. The slack is bookkeeping for the
 * sanitizer hooks (a chunk is exactly the bytes asked for).
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

#define BLOCK_FREE 0x1u        /* on a free list */
#define BLOCK_MARK 0x2u        /* scratch bit of the checker, outside the seal */
#define BLOCK_QUARANTINED 0x4u /* freed by the user, held back from reuse */
#define BLOCK_CACHED 0x8u      /* freed by the user into the malloc layer's thread cache:
                                  live to the heap, sealed as seal_live ^ the cache key */
#define BLOCK_HASHED_STATE (BLOCK_FREE | BLOCK_QUARANTINED) /* the state bits inside the hash */
#define BLOCK_STATE (BLOCK_HASHED_STATE | BLOCK_CACHED)     /* not the user's: any of these */
#define BLOCK_SLACK_SHIFT 16   /* flags >> 16: usable bytes minus bytes asked for */

typedef struct block {
    uint32_t size_;      /* granules, header included */
    uint32_t prev_size_; /* granules of the block just before; 0 for a region's first */
    uint64_t state_;     /* flags (BLOCK_* bits | slack << BLOCK_SLACK_SHIFT) | seal << 32 */
} block;

/* A header as read: the same four fields, loose. */
typedef struct block_hdr {
    uint32_t size_, prev_size_, flags_, seal_;
} block_hdr;

_Static_assert(sizeof(block) == BLOCK_HEADER, "a block header is 16 bytes");
_Static_assert(BLOCK_HASHED_STATE < 8, "the hashed state bits sit below size << 3");
_Static_assert(2 * sizeof(void *) <= (BLOCK_MIN_GRANULES * GRANULE) - BLOCK_HEADER,
               "a minimum block holds the free-list links");

/*
 * Threads: the malloc layer's thread caches flip a live block's state
 * (flags and seal) without the bucket lock, while the lock holder may be
 * writing the same header's boundary tag (a neighbour merging) or reading
 * its state (proving a neighbour). So flags and seal are one word, read and
 * written whole and atomically; the tag is written alone; the lock-free
 * paths never touch prev_size_. Everything else runs under the lock.
 */
static inline uint64_t block_state_load(const block *b)
{
    return atomic_peek_u64(&b->state_);
}

static inline void block_state_store(block *b, uint32_t flags, uint32_t seal)
{
    atomic_put_u64(&b->state_, (uint64_t)flags | ((uint64_t)seal << 32));
}

/* ---- reading and writing a header: whole, bracketed -------------------------- */

static inline block_hdr block_load(const block *b)
{
    san_meta_open(b, BLOCK_HEADER);
    uint64_t state = block_state_load(b);
    block_hdr h = {b->size_, b->prev_size_, (uint32_t)state, (uint32_t)(state >> 32)};
    san_meta_close(b, BLOCK_HEADER);
    return h;
}

static inline void block_store(block *b, block_hdr h)
{
    san_meta_open(b, BLOCK_HEADER);
    b->size_ = h.size_;
    b->prev_size_ = h.prev_size_;
    block_state_store(b, h.flags_, h.seal_);
    san_meta_close(b, BLOCK_HEADER);
}

/* The seal of a live block of size granules at `at`: one hash. A free or
 * quarantined block hashes its state in; a cached one is the live seal
 * xor the cache key, so entering and leaving a thread cache costs one
 * xor, and a block freed twice is told from a damaged one. */
static inline uint32_t block_seal_hashed(const block *at, uint32_t size, uint32_t hashed_state)
{
    return (uint32_t)(integrity_hash(at, ((uint64_t)size << 3) | hashed_state) >> 32);
}

static inline uint32_t block_seal_for(const block *at, const block_hdr *h)
{
    uint32_t seal = block_seal_hashed(at, h->size_, h->flags_ & BLOCK_HASHED_STATE);
    return (h->flags_ & BLOCK_CACHED) ? seal ^ integrity_cache_key() : seal;
}

/* ---- fields -------------------------------------------------------------------- */

static inline uint32_t block_size(const block *b)
{
    return block_load(b).size_;
}

static inline uint32_t block_prev_size(const block *b)
{
    return block_load(b).prev_size_;
}

static inline uint32_t block_flags(const block *b)
{
    return block_load(b).flags_;
}

static inline int block_is_free(const block *b)
{
    return (block_flags(b) & BLOCK_FREE) != 0;
}

static inline int block_is_quarantined(const block *b)
{
    return (block_flags(b) & BLOCK_QUARANTINED) != 0;
}

static inline int block_is_sealed(const block *b)
{
    block_hdr h = block_load(b);
    return h.seal_ == block_seal_for(b, &h);
}

static inline size_t block_bytes(const block *b)
{
    return (size_t)block_size(b) << GRANULE_SHIFT;
}

static inline size_t block_usable(const block *b)
{
    return block_bytes(b) - BLOCK_HEADER;
}

/* The bytes the user asked for (usable minus the recorded slack). */
static inline size_t block_requested(const block *b)
{
    block_hdr h = block_load(b);
    return ((size_t)h.size_ << GRANULE_SHIFT) - BLOCK_HEADER - (h.flags_ >> BLOCK_SLACK_SHIFT);
}

/* ---- writing, always resealed ------------------------------------------------------ */

/* Writes a whole header and seals it. */
static inline void block_write(block *b, uint32_t size, uint32_t prev_size, uint32_t flags)
{
    block_hdr h = {size, prev_size, flags, 0};
    h.seal_ = block_seal_for(b, &h);
    block_store(b, h);
}

static inline void block_set_size(block *b, uint32_t size)
{
    block_hdr h = block_load(b);
    h.size_ = size;
    h.seal_ = block_seal_for(b, &h);
    block_store(b, h);
}

/* The boundary tag is not sealed: writing it needs no hash. It is written
 * alone: the block may be live, its state flipped by a thread cache. */
static inline void block_set_prev_size(block *b, uint32_t prev_size)
{
    san_meta_open(b, BLOCK_HEADER);
    b->prev_size_ = prev_size;
    san_meta_close(b, BLOCK_HEADER);
}

static inline void block_set_flags(block *b, uint32_t flags)
{
    block_hdr h = block_load(b);
    h.flags_ = flags;
    h.seal_ = block_seal_for(b, &h);
    block_store(b, h);
}

/* Flags of a live block whose user asked for requested bytes. */
static inline uint32_t block_live_flags(size_t usable, size_t requested)
{
    return (uint32_t)(usable - requested) << BLOCK_SLACK_SHIFT;
}

/* The checker's scratch bit; outside the seal. */
static inline void block_set_mark(block *b, int on)
{
    block_hdr h = block_load(b);
    h.flags_ = on ? h.flags_ | BLOCK_MARK : h.flags_ & ~BLOCK_MARK;
    block_store(b, h);
}

/* ---- neighbours and payload -------------------------------------------------------- */

static inline void *block_payload(const block *b)
{
    return (char *)b + BLOCK_HEADER;
}

static inline block *block_of_payload(const void *payload)
{
    return (block *)((char *)payload - BLOCK_HEADER);
}

/* The block just after b in its region (the fence after the last). */
static inline block *block_next(const block *b)
{
    return (block *)((char *)b + block_bytes(b));
}

/* The block just before b; only when its prev_size != 0. */
static inline block *block_prev(const block *b)
{
    return (block *)((char *)b - ((size_t)block_prev_size(b) << GRANULE_SHIFT));
}

/* ---- free-list links, in the first bytes of a free block's payload ----------------- */

typedef struct block_links {
    block *next; /* next block of the same list, or NULL */
    block *prev; /* previous block of the same list, or NULL at the head */
} block_links;

static inline block_links block_links_load(const block *b)
{
    const block_links *at = block_payload(b);
    san_meta_open(at, sizeof *at);
    block_links l = *at;
    san_meta_close(at, sizeof *at);
    return l;
}

static inline void block_links_store(block *b, block_links l)
{
    block_links *at = block_payload(b);
    san_meta_open(at, sizeof *at);
    *at = l;
    san_meta_close(at, sizeof *at);
}

static inline block *block_link_next(const block *b)
{
    return block_links_load(b).next;
}

static inline block *block_link_prev(const block *b)
{
    return block_links_load(b).prev;
}

static inline void block_link_set_next(block *b, block *next)
{
    block_links l = block_links_load(b);
    l.next = next;
    block_links_store(b, l);
}

static inline void block_link_set_prev(block *b, block *prev)
{
    block_links l = block_links_load(b);
    l.prev = prev;
    block_links_store(b, l);
}

/* ---- the malloc layer's thread cache: entering and leaving it ------------------- */

/* Proves b a live block (sealed, no state bit) and marks it cached, for a
 * free: returns its granules, or 0 when it is not a live block (a double
 * free, a damaged header, not a block at all) and nothing was written. */
/* The granules of b when it is a live block (sealed, no state bit), with
 * its seal in *seal; 0 otherwise. Read without the lock by the thread that
 * owns the block: never prev_size_, the state word whole. */
static inline uint32_t block_live_size(const block *b, uint32_t *seal)
{
    san_meta_open(b, BLOCK_HEADER);
    uint32_t size = b->size_;
    uint64_t state = block_state_load(b);
    san_meta_close(b, BLOCK_HEADER);
    *seal = block_seal_hashed(b, size, 0);
    return (state & BLOCK_STATE) || (uint32_t)(state >> 32) != *seal ? 0 : size;
}

static inline int block_is_live(const block *b)
{
    uint32_t seal;
    return block_live_size(b, &seal) != 0;
}

/* Rewrites a live or cached block's flags for a request of requested bytes,
 * its seal xored with flip (0, or the cache key to leave the cache); no hash. */
static inline void block_restate(block *b, size_t requested, uint32_t flip)
{
    san_meta_open(b, BLOCK_HEADER);
    uint32_t size = b->size_;
    uint64_t state = block_state_load(b);
    block_state_store(b, block_live_flags(((size_t)size << GRANULE_SHIFT) - BLOCK_HEADER, requested),
                      (uint32_t)(state >> 32) ^ flip);
    san_meta_close(b, BLOCK_HEADER);
}

static inline uint32_t block_cache_enter(block *b)
{
    uint32_t seal, size = block_live_size(b, &seal);
    if (!size)
        return 0;
    san_meta_open(b, BLOCK_HEADER);
    block_state_store(b, BLOCK_CACHED, seal ^ integrity_cache_key());
    san_meta_close(b, BLOCK_HEADER);
    return size;
}

/* Hands a cached block out again for a request of requested bytes: one
 * xor, no hash. A header damaged while cached stays unsealed, and the next
 * free or check names it. */
static inline void block_cache_leave(block *b, size_t requested)
{
    block_restate(b, requested, integrity_cache_key());
}

/* Records a new request size of live block b, in place (the slack is not
 * sealed: no hash); by its owner, without the lock. */
static inline void block_set_requested(block *b, size_t requested)
{
    block_restate(b, requested, 0);
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
