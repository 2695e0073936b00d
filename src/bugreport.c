/* bugreport.c — writing the debug profile's reports (bugreport.h). One
 * report at a time (a lock), built in a static buffer and written in one
 * piece; each (kind, block, allocation stack) once: a block freed and its
 * address handed out again from another place is another bug (with
 * stack_depth=0 every stack is 0: each (kind, block) once). */
#include "bugreport.h"

#include "platform.h"
#include "platform_debug.h"
#include "report.h"
#include "symbolize.h"

#define SEEN_MAX 512 /* bugs remembered for "once each" */
#define TEXT_MAX 65536

static int halting = 1;
static uint32_t (*thread_of_caller)(void);
static platform_lock report_lock;
static int lock_ready;
static unsigned reports;
static struct seen {
    const char *kind;
    const void *at;
    stack_id alloc_stack;
} seen[SEEN_MAX];
static unsigned seen_count;
static char text[TEXT_MAX];
static WARDEN_TLS int reporting; /* this thread is inside a report */

void bugreport_setup(int halt, uint32_t (*thread_of)(void))
{
    halting = halt;
    thread_of_caller = thread_of;
    platform_lock_init(&report_lock);
    lock_ready = 1;
}

static int seen_before(const bug *b)
{
    const void *at = b->block ? b->block : b->addr;
    for (unsigned i = 0; i < seen_count; i++)
        if (seen[i].kind == b->kind && seen[i].at == at && seen[i].alloc_stack == b->alloc_stack)
            return 1;
    if (seen_count < SEEN_MAX)
        seen[seen_count++] = (struct seen){b->kind, at, b->alloc_stack};
    return 0;
}

static size_t stack_lines(size_t len, const uintptr_t *pcs, size_t n)
{
    if (n == 0)
        return len + report_format(text + len, TEXT_MAX - len, "    (no stack: stack_depth=0 or no unwinder)\n");
    return symbolize_stack(pcs, n, text, len, TEXT_MAX);
}

static size_t stored_stack(size_t len, stack_id id)
{
    uintptr_t pcs[DEPOT_MAX_DEPTH];
    return stack_lines(len, pcs, depot_frames(id, pcs, DEPOT_MAX_DEPTH));
}

void bugreport(const bug *b)
{
    if (reporting) { /* a bug found while reporting one: say it plainly */
        report_fatal(b->op, b->addr, "%s while writing a report", b->kind);
    }
    reporting = 1;
    platform_flush_stdio(); /* what the program printed before the bug comes before the report */
    uintptr_t now[DEPOT_MAX_DEPTH];
    size_t depth = b->with_stack ? depot_walk(now, 32) : 0;
    for (size_t i = 0; b->fault_pc && i < depth; i++) { /* from the faulting instruction on, not the handler */
        if (now[i] != b->fault_pc)
            continue;
        depth -= i;
        for (size_t j = 0; j < depth; j++)
            now[j] = now[i + j];
        now[0]++; /* an instruction, not a return address: the symbolizer looks up pc - 1 */
        break;
    }
    if (lock_ready)
        platform_lock_acquire(&report_lock);
    if (!seen_before(b)) {
        reports++;
        uint32_t t = thread_of_caller ? thread_of_caller() : 0;
        size_t len = report_format(text, TEXT_MAX, "warden: ERROR: %s: %s\n", b->kind, b->what);
        if (b->with_stack) {
            len += report_format(text + len, TEXT_MAX - len, "  %s(%p) in thread T%u:\n", b->op, b->addr, t);
            len = stack_lines(len, now, depth);
        } else {
            len += report_format(text + len, TEXT_MAX - len, "  found by %s in thread T%u\n", b->op, t);
        }
        if (b->block) {
            len += report_format(text + len, TEXT_MAX - len, "  the %zu-byte block at %p was allocated by thread T%u:\n",
                                 b->size, b->block, b->alloc_thread);
            len = stored_stack(len, b->alloc_stack);
            if (b->freed) {
                len += report_format(text + len, TEXT_MAX - len, "  and freed by thread T%u:\n", b->free_thread);
                len = stored_stack(len, b->free_stack);
            }
        }
        if (halting)
            len += report_format(text + len, TEXT_MAX - len, "warden: aborting (halt_on_error=1)\n");
        platform_write_error(text, len);
    }
    if (lock_ready)
        platform_lock_release(&report_lock);
    reporting = 0;
    if (halting)
        platform_abort();
}

static const char *const leak_words[LEAK_KINDS] = {"Direct leak of", "Indirect leak of", "Still reachable:"};

void bugreport_leaks(const leak_group *g, size_t n, size_t lost_bytes, size_t lost_blocks)
{
    if (n == 0)
        return;
    platform_flush_stdio();
    if (lock_ready)
        platform_lock_acquire(&report_lock);
    size_t len = lost_blocks ? report_format(text, TEXT_MAX, "warden: ERROR: memory leaks: %zu bytes in %zu block%s lost (no pointer to them was left)\n",
                                             lost_bytes, lost_blocks, lost_blocks == 1 ? "" : "s")
                             : report_format(text, TEXT_MAX, "warden: no leaks; blocks still reachable at exit:\n");
    platform_write_error(text, len);
    size_t hidden_bytes = 0, hidden = 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= LEAK_SHOWN) {
            hidden_bytes += g[i].bytes;
            hidden++;
            continue;
        }
        len = report_format(text, TEXT_MAX, "  %s %zu bytes in %zu block%s, allocated at:\n", leak_words[g[i].kind],
                            g[i].bytes, g[i].blocks, g[i].blocks == 1 ? "" : "s");
        len = stored_stack(len, g[i].stack);
        platform_write_error(text, len);
    }
    len = 0;
    if (hidden)
        len += report_format(text, TEXT_MAX, "  ... and %zu more groups (%zu bytes), not shown\n", hidden, hidden_bytes);
    if (lost_blocks)
        len += report_format(text + len, TEXT_MAX - len, "warden: SUMMARY: %zu bytes leaked in %zu block%s\n", lost_bytes,
                             lost_blocks, lost_blocks == 1 ? "" : "s");
    if (len)
        platform_write_error(text, len);
    if (lock_ready)
        platform_lock_release(&report_lock);
}

unsigned bugreport_count(void)
{
    return __atomic_load_n(&reports, __ATOMIC_RELAXED);
}
