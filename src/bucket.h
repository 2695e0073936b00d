/* bucket.h — a bucket: the regions that serve one range of request sizes,
 * their free lists, their lock and their counts. Allocation, free and
 * in-place resizing of blocks (split, coalesce, grow into the next block)
 * happen here; callers hold the bucket's lock. */
#ifndef WARDEN_BUCKET_H
#define WARDEN_BUCKET_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "freelist.h"
#include "platform.h"
#include "region.h"

/* Empty regions a bucket keeps mapped rather than return to the OS, so that
 * alloc/free at a region boundary does not call mmap every time (the
 * default; heap_tune sets another per bucket). */
#define BUCKET_EMPTY_RESERVE 1u

/* The words a misuse report uses for one public entry point. */
typedef struct bucket_site {
    const char *op;        /* the public function, e.g. "warden_heap_free" */
    const char *freed;     /* fault for a pointer to a freed block */
    const char *foreign;   /* fault for a pointer that is not a block of this heap */
} bucket_site;

/*
 * Invariants (proved by heap_check):
 *   regions lists exactly the regions with owner == this bucket
 *   region_count, mapped_bytes == count and bytes of that list
 *   empty_regions == regions whose one block is free, <= empty_reserve
 *   live_blocks, live_bytes == allocated blocks and their usable bytes
 *   quarantine list == the blocks marked QUARANTINED, oldest first;
 *     quarantine_bytes <= quarantine_limit
 */
typedef struct bucket {
    platform_lock lock;     /* held around every operation, unless !locked */
    int locked;             /* 0: the heap was made with WARDEN_HEAP_NO_LOCK */
    unsigned index;         /* position in the heap's bucket array */
    const void *heap;       /* the heap this bucket belongs to */
    size_t limit;           /* largest request served; SIZE_MAX for the large bucket */
    size_t region_size;     /* least bytes mapped per new region */
    region *regions;        /* first region, or NULL */
    size_t region_count;    /* regions mapped right now */
    size_t mapped_bytes;    /* their bytes */
    size_t empty_regions;   /* regions kept mapped although all free */
    size_t empty_reserve;   /* most empty regions kept (BUCKET_EMPTY_RESERVE unless tuned) */
    size_t live_blocks;     /* allocated blocks */
    size_t live_bytes;      /* their usable bytes */
    size_t quarantine_limit; /* most usable bytes held in quarantine; 0: none */
    block *quarantine_head;  /* oldest quarantined block (FIFO through its first link), or NULL */
    block *quarantine_tail;  /* newest, or NULL */
    size_t quarantine_blocks; /* blocks held */
    size_t quarantine_bytes;  /* their usable bytes */
    freelist free;          /* the free blocks of all regions */
    unsigned check_word;    /* the free-list word whose clear bits the next check proves */
} bucket;

void bucket_init(bucket *b, const void *heap, unsigned index, size_t limit, size_t region_size,
                 int locked, size_t quarantine_limit);
/* Unmaps every region; the bucket is empty afterwards. */
void bucket_release_all(bucket *b);

static inline void bucket_lock(bucket *b)
{
    if (b->locked)
        platform_lock_acquire(&b->lock);
}

static inline void bucket_unlock(bucket *b)
{
    if (b->locked)
        platform_lock_release(&b->lock);
}

/* A block for size bytes (block_granules_for(size) != 0) whose payload is
 * aligned to alignment (a power of two); NULL when the OS refuses memory. */
void *bucket_alloc(bucket *b, size_t size, size_t alignment, const bucket_site *site);
/* The live block whose payload is ptr, a pointer inside region r (whose
 * bucket's lock is held); aborts with site's words when ptr is not one. */
block *bucket_block_of(region *r, const void *ptr, const bucket_site *site);
/* Frees a live block of region r: into the quarantine when the bucket keeps one (its
 * oldest blocks leave it), else merged with free neighbours at once; a
 * region it empties goes back to the OS. */
void bucket_free(bucket *b, region *r, block *blk, const bucket_site *site);
/* Makes blk hold size bytes without moving it: 1 on success, 0 when it cannot grow. */
int bucket_resize(bucket *b, block *blk, size_t size, const bucket_site *site);

/* Gives the pages inside the free blocks of every region back to the OS
 * (headers and links stay); returns the bytes of the blocks that had room. */
size_t bucket_purge(bucket *b);

#endif /* WARDEN_BUCKET_H */
