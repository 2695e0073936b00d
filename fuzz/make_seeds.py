#!/usr/bin/env python3
"""make_seeds.py — writes the hand-made seed inputs of corpus/<api>/ (named
seed-*), each covering one path of the allocator (the malloc harnesses'
also reach each WARDEN_FAULT of theirs, for ci/faults.sh), in the input
format of fuzz/harness.h, and the dictionaries fuzz/<api>.dict (the
options harness's from src/options.inc).
Crashes found by fuzzing are added to the corpus beside them (crash-*),
minimized, and are never regenerated."""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

HEAP = dict(alloc=0, calloc=1, aligned=2, realloc=3, free=4, free_all=5, usable=6, realloc_slot=7)
BUMP = dict(alloc=0, zeroed=1, aligned=2, realloc=3, free=4, reset=5, stats=6, again=7)
MALLOC = dict(malloc=0, calloc=1, aligned=2, realloc=3, free=4, switch=5, probe=6, again=7)
# the probes (fuzz_malloc.c), chosen by the alignment bits
PROBE = dict(reallocarray=0, trim=1, sizes=2, stale=3, overflow=4, write_after_free=5, double_free=6,
             invalid_free=7)


def op(code, slot=0, size=0, align_log=0):
    """One 4-byte operation: sizes under 256 in range 0, up to 65535 in
    range 5, larger ones (rounded down to 16) in range 7 (x16)."""
    if size < 256:
        rng, raw = 0, size
    elif size <= 0xFFFF:
        rng, raw = 5, size
    else:
        rng, raw = 7, min(size // 16, 0xFFFF)
    return bytes([code | (slot << 3), align_log | (rng << 4)]) + struct.pack("<H", raw)


def heap_header(buckets=0, first=7, growth=6, region=0, no_lock=False, quarantine=False):
    return bytes([buckets | (0x80 if no_lock else 0) | (0x40 if quarantine else 0), first, growth, region])


def heap_seeds():
    A, F = HEAP, op
    s = {}
    h = heap_header()
    s["split"] = h + F(A["alloc"], 0, 100) + F(A["free"], 0)
    s["coalesce-next"] = h + F(0, 0, 64) + F(0, 1, 64) + F(0, 2, 64) + F(4, 1) + F(4, 0)
    s["coalesce-prev"] = h + F(0, 0, 64) + F(0, 1, 64) + F(0, 2, 64) + F(4, 0) + F(4, 1)
    s["coalesce-both"] = h + b"".join(F(0, i, 48) for i in range(4)) + F(4, 0) + F(4, 2) + F(4, 1)
    s["grow-in-place"] = h + F(0, 0, 200) + F(0, 1, 200) + F(0, 2, 200) + F(4, 1) + F(A["realloc"], 0, 400)
    s["grow-blocked"] = h + F(0, 0, 200) + F(0, 1, 200) + F(A["realloc"], 0, 400)
    s["shrink-in-place"] = h + F(0, 0, 1000) + F(A["realloc"], 0, 100) + F(A["realloc"], 0, 90)
    s["realloc-buckets"] = h + F(0, 0, 50) + F(3, 0, 5000) + F(3, 0, 20) + F(3, 0, 200000)
    s["region-return"] = heap_header(region=1) + b"".join(F(0, i, 60000) for i in range(3)) + F(A["free_all"])
    s["every-bucket"] = heap_header(buckets=4, first=1, growth=2) + b"".join(
        F(0, i, size) for i, size in enumerate([1, 16, 17, 60, 200, 900, 4000, 30000, 300000]))
    s["large-alignment"] = h + F(A["aligned"], 0, 16, 15) + F(A["aligned"], 1, 70000, 12) + \
        F(A["aligned"], 2, 1, 5) + F(4, 1) + F(A["aligned"], 3, 3000, 14)
    s["calloc-reuse"] = h + F(0, 0, 96) + F(4, 0) + F(A["calloc"], 1, 96) + F(A["usable"], 1)
    s["no-lock-mix"] = heap_header(buckets=2, first=3, no_lock=True, region=2) + \
        F(0, 0, 10) + F(0, 1, 2000) + F(3, 0, 3000) + F(A["realloc_slot"], 1, 7) + F(5)
    s["quarantine"] = heap_header(quarantine=True, growth=0) + b"".join(F(0, i, 500) for i in range(12)) + \
        b"".join(F(4, i) for i in range(0, 12, 2)) + F(0, 0, 500) + F(A["free_all"])
    # op 6's probes by its alignment bits (fuzz_heap.c): 1 refusals, 2 the
    # malloc layer's calls, 3..7 death probes (id by size % 4), 8..15 damage
    # the checker must find (kind by size % 4 as well)
    damage = lambda slot, k: F(6, slot, k // 8, 8 + k % 8)
    death = lambda k: F(6, 0, k % 4, 3 + k // 4)
    q = heap_header(quarantine=True, growth=0)
    s["probe-damage-headers"] = h + b"".join(F(0, i, 64) for i in range(4)) + F(4, 2) + \
        b"".join(damage(1, k) for k in range(12)) + damage(3, 9) + damage(0, 8) + F(6, 0, 9, 8)
    s["probe-damage-lists"] = h + F(0, 0, 64) + F(0, 1, 64) + F(0, 2, 64) + F(4, 1) + \
        b"".join(damage(0, k) for k in range(12, 18))
    s["probe-damage-region"] = h + F(0, 0, 100) + F(0, 1, 60000) + b"".join(damage(0, k) for k in range(18, 23)) + \
        damage(1, 21)
    s["probe-damage-counts"] = h + F(0, 0, 64) + b"".join(damage(0, k) for k in range(23, 32))
    s["probe-damage-quarantine"] = q + b"".join(F(0, i, 500) for i in range(4)) + F(4, 1) + F(4, 2) + \
        b"".join(damage(0, k) for k in range(23, 32))
    s["probe-death"] = h + F(0, 0, 100) + b"".join(death(k) for k in range(20))
    s["probe-refusals"] = h + F(0, 0, 100) + F(0, 1, 300000) + F(6, 0, 0, 1) + F(6, 1, 1, 1) + F(6, 1, 0x25, 1)
    s["probe-layer-above"] = heap_header(buckets=2, first=3) + F(0, 0, 100) + F(0, 1, 70000) + F(0, 2, 100) + \
        F(4, 1) + F(6, 0, 0, 2) + F(6, 2, 3, 2) + F(0, 3, 5000) + F(6, 3, 1, 2) + F(6, 0, 0x46, 2)
    rnd = random.Random(1)
    s["random-walk"] = heap_header(buckets=3, region=1) + b"".join(
        F(rnd.randrange(8), rnd.randrange(32), rnd.choice([rnd.randrange(200), rnd.randrange(5000),
                                                            rnd.randrange(100000)]), rnd.randrange(16))
        for _ in range(300))
    return s


def bump_seeds():
    B, F = BUMP, op
    s = {}
    h = bytes([0, 0, 0, 0])
    r = bytes([1, 0, 0, 0])  # resets allowed
    s["bins"] = h + b"".join(F(0, i, n) for i, n in enumerate([0, 1, 16, 17, 32, 33, 64, 65, 128]))
    s["bin-reuse"] = h + F(0, 0, 24) + F(4, 0) + F(0, 1, 30) + F(B["again"], 1, 20)
    s["bump-realloc-last"] = h + F(0, 0, 300) + F(0, 1, 300) + F(3, 1, 5000) + F(3, 1, 200) + F(3, 0, 600)
    s["reset"] = r + b"".join(F(0, i, 40 * i) for i in range(20)) + F(B["reset"]) + \
        b"".join(F(0, i, 40 * i) for i in range(20)) + F(B["reset"])
    s["aligned"] = h + F(B["aligned"], 0, 8, 6) + F(B["aligned"], 1, 200, 12) + F(B["aligned"], 2, 1, 7)
    s["zeroed-reuse"] = h + F(0, 0, 64) + F(4, 0) + F(B["zeroed"], 1, 60) + F(0, 2, 5000) + F(B["zeroed"], 3, 5000)
    s["big"] = h + F(0, 0, 700000) + F(0, 1, 900000) + F(3, 1, 1000000)
    # op 6's alignment bits: the probes of fuzz_bump.c (the checker's: kind = size % 21, variant = size / 21)
    P = dict(checker=8, death=9, refusals=10, fill=11)
    s["probe-checker-bin"] = h + F(B["alloc"], 0, 24) + F(B["alloc"], 1, 24) + F(B["free"], 1) + F(B["alloc"], 2, 24) + \
        b"".join(F(B["stats"], 0, k + 21 * v, P["checker"]) for k in range(21) for v in range(2)) + \
        F(B["stats"], 0, 9 + 42, P["checker"]) + F(B["stats"], 0, 9 + 63, P["checker"])
    s["probe-checker-bump"] = h + F(B["alloc"], 0, 8) + F(B["alloc"], 2, 300) + b"".join(
        F(B["stats"], sl, k + 21 * v, P["checker"]) for sl in (2, 3) for k in (0, 1, 2, 3, 4, 5, 16, 17, 18, 19, 20)
        for v in range(2))
    s["probe-death"] = h + F(B["alloc"], 0, 24) + F(B["alloc"], 1, 300) + \
        b"".join(F(B["stats"], 0, k, P["death"]) for k in range(12)) + F(B["stats"], 1, 8, P["death"])
    s["probe-refusals"] = h + F(B["alloc"], 0, 24) + F(B["alloc"], 2, 300) + F(B["stats"], 0, 2, P["refusals"]) + \
        F(B["stats"], 0, 3, P["refusals"]) + F(B["stats"], 2, 100, P["refusals"]) + F(B["stats"], 1, 40, P["refusals"]) + \
        F(B["stats"], 3, 600, P["refusals"]) + F(B["free"], 1) + F(B["realloc"], 3, 700)
    s["probe-fill"] = r + F(B["alloc"], 0, 100) + F(B["stats"], 0, 0, P["fill"]) + F(B["alloc"], 1, 100) + \
        F(B["stats"], 1, 15, P["checker"]) + F(B["stats"], 1, 15 + 21, P["checker"]) + F(B["stats"], 1, 10, P["checker"]) + \
        F(B["free"], 0) + F(B["reset"]) + F(B["alloc"], 2, 100) + F(B["stats"], 2, 8, P["checker"])
    rnd = random.Random(2)
    s["random-walk"] = r + b"".join(
        F(rnd.randrange(8), rnd.randrange(32), rnd.choice([rnd.randrange(130), rnd.randrange(3000)]),
          rnd.randrange(16)) for _ in range(300))
    return s


def malloc_seeds(debug):
    M, P, F = MALLOC, PROBE, op
    s = {}
    h = bytes([0, 0, 0, 0])
    s["tcache"] = h + b"".join(F(0, i, 16 * i) for i in range(20)) + b"".join(F(4, i) for i in range(20))
    # frees of blocks its bin never gave (aligned to 32: from the heap) until the bin is full
    s["tcache-full"] = h + (b"".join(F(M["aligned"], i, 16, 2) for i in range(32)) +
                            b"".join(F(4, i) for i in range(32))) * 2
    s["remote-free"] = h + F(0, 0, 64) + F(0, 1, 64) + F(M["switch"]) + F(4, 0) + F(4, 1) + F(M["switch"])
    s["remote-batch"] = h + b"".join(F(0, i, 40) for i in range(30)) + F(M["switch"]) + \
        b"".join(F(4, i) for i in range(30)) + b"".join(F(0, i, 40) for i in range(30))
    s["bins-overflow"] = h + b"".join(F(7, i % 32, 32) for i in range(60)) + b"".join(F(4, i) for i in range(32))
    s["sizes"] = h + b"".join(F(0, i, n) for i, n in enumerate([0, 1, 1024, 1025, 8192, 8193, 70000, 1000000]))
    s["aligned"] = h + F(M["aligned"], 0, 10, 3) + F(M["aligned"], 1, 100, 9) + F(M["aligned"], 2, 5000, 13)
    s["realloc"] = h + F(0, 0, 20) + F(3, 0, 900) + F(3, 0, 9000) + F(3, 0, 5) + F(3, 1, 30) + F(3, 1, 0)
    # (malloc_trim: slot 0 and a fill byte under 16, which size 92 gives)
    s["probes"] = h + F(0, 0, 100) + F(4, 0) + F(0, 1, 50) + b"".join(
        F(M["probe"], 0 if k == 1 else 1, 92 if k == 1 else 7, k) for k in range(4))
    # probe 3, by size % 8: a real thread (1, one call in 16), fork (2), damage to a thread
    # cache (3, the kind by the fill byte), misuse that stops a release
    # build (4, the kind by slot), guard page faults (5, debug, by slot)
    held = F(0, 0, 100) + F(0, 1, 48) + F(0, 2, 48) + F(0, 3, 200) + F(0, 5, 48) + F(4, 1) + F(4, 2) + \
        F(M["switch"]) + F(0, 4, 48) + F(0, 6, 48) + F(4, 4) + F(4, 6) + F(0, 7, 48) + F(M["switch"]) + F(4, 7)
    s["process"] = h + held + F(M["probe"], 1, 9, P["stale"]) + F(M["probe"], 1, 1, P["stale"]) + \
        F(M["probe"], 0, 2, P["stale"]) + b"".join(F(M["probe"], k, 3 + 8 * k, P["stale"]) for k in range(12))
    s["process-misuse"] = h + held + b"".join(F(M["probe"], k, 4, P["stale"]) for k in range(5))
    # header bit 2: through libwarden-malloc's exports (the C names, prefixed wfz_)
    c = bytes([4, 0, 0, 0])
    s["c-names"] = c + held + F(1, 8, 300) + F(M["aligned"], 9, 64, 2) + F(M["aligned"], 10, 64, 3) + \
        F(M["aligned"], 11, 64, 4) + F(M["aligned"], 12, 100, 5) + F(M["aligned"], 13, 100, 6) + F(3, 0, 900) + \
        F(3, 0, 50, 1) + F(M["probe"], 0, 7, P["reallocarray"]) + F(M["probe"], 0, 92, P["trim"]) + \
        F(M["probe"], 1, 17, P["trim"]) + F(M["probe"], 1, 7, P["sizes"]) + F(M["probe"], 1, 2, P["stale"])
    s["valloc"] = h + F(M["aligned"], 3, 100, 1) + F(M["aligned"], 4, 5000, 2) + F(M["aligned"], 8, 0, 3) + \
        F(M["aligned"], 9, 1, 4) + F(3, 3, 200, 1) + F(3, 4, 0, 1)
    if debug:
        s["process-guard"] = h + F(0, 0, 100) + b"".join(F(M["probe"], k, 5 + 8 * k, P["stale"]) for k in range(9)) + \
            F(M["probe"], 2, 13, P["stale"]) + F(M["probe"], 2, 29, P["stale"])
        # the first block of an input is guarded (guard_rate=3), the next two not
        s["overflow"] = h + F(0, 0, 100) + F(0, 1, 100) + F(M["probe"], 1, 0, P["overflow"]) + \
            F(M["probe"], 0, 0, P["overflow"])
        s["write-after-free"] = h + F(0, 0, 100) + F(0, 1, 100) + F(4, 1) + \
            F(M["probe"], 1, 0, P["write_after_free"])
        s["double-free"] = h + F(0, 0, 100) + F(0, 1, 100) + F(4, 1) + F(M["probe"], 1, 0, P["double_free"]) + \
            F(M["probe"], 0, 0, P["invalid_free"])
        # the leak check (probe 1 in slot 1) with a block lost, blocks held, one pointing at another
        s["leaks"] = h + F(0, 0, 100) + F(0, 1, 5000) + F(M["aligned"], 2, 64, 6) + F(M["probe"], 1, 17, P["trim"])
        s["guard-reuse"] = h + F(0, 0, 100) + F(4, 0) + F(0, 1, 10) + F(0, 2, 10) + F(0, 3, 10)
    rnd = random.Random(3 + debug)
    s["random-walk"] = h + b"".join(
        F(rnd.randrange(8), rnd.randrange(32), rnd.choice([rnd.randrange(200), rnd.randrange(5000)]),
          rnd.randrange(16)) for _ in range(60))
    return s


def options_dictionary():
    """Every key of options.inc as key=, and the values and separators."""
    import re
    with open(os.path.join(ROOT, "src", "options.inc")) as f:
        keys = re.findall(r"^OPTION\((\w+),", f.read(), re.M)
    lines = ['# every WARDEN_OPTIONS key (src/options.inc) and the value forms; written by make_seeds.py']
    lines += ['key_%s="%s="' % (k, k) for k in keys]
    lines += ['sep_colon=":"', 'sep_comma=","', 'sep_space=" "', 'yes="yes"', 'false="false"',
              'k="k"', 'm="m"', 'g="g"', 'big="18446744073709551616"', 'max="4294967295"']
    return "\n".join(lines) + "\n"


def dictionary(names_ops, what="one 4-byte operation per token (fuzz/harness.h)"):
    lines = ['# %s; written by make_seeds.py' % what]
    for name, data in names_ops:
        lines.append('%s="%s"' % (name, "".join("\\x%02x" % b for b in data)))
    return "\n".join(lines) + "\n"


def report_seeds():
    # bit 2 of byte 0: the symbolizer probe, after what the other bits read:
    # three PCs (big-endian), the text before (1 byte), the buffer's room (2)
    pcs = lambda *v: struct.pack(">QQQ", *v)
    return {"probe-symbolize": b"\x04\x40" + bytes(25) + pcs(0, 0x100000000000, 0xffffffffffffffff) + b"\x00\xff\xff",
            "probe-symbolize-cut": b"\x04\x40" + bytes(25) + pcs(1, 1, 0x7fffffffffff) + b"\x11\x00\x64"}


def main():
    for api, seeds in (("heap", heap_seeds()), ("bump", bump_seeds()), ("malloc", malloc_seeds(0)),
                       ("debug", malloc_seeds(1)), ("report", report_seeds())):
        d = os.path.join(ROOT, "corpus", api)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)
    with open(os.path.join(HERE, "heap.dict"), "w") as f:
        f.write(dictionary([("alloc_64", op(0, 0, 64)), ("alloc_8k", op(0, 1, 8192)),
                            ("alloc_300k", op(0, 2, 300000)), ("calloc_100", op(1, 3, 100)),
                            ("aligned_4k", op(2, 4, 100, 11)), ("aligned_64k", op(2, 5, 16, 15)),
                            ("realloc_grow", op(3, 0, 2000)), ("realloc_shrink", op(3, 0, 8)),
                            ("free", op(4, 0)), ("free_all", op(5)), ("again", op(7, 1, 48)),
                            ("refusals", op(6, 0, 0, 1)), ("layer_above", op(6, 0, 0, 2)),
                            ("death", op(6, 0, 0, 3)), ("damage", op(6, 0, 1, 8))]))
    with open(os.path.join(HERE, "bump.dict"), "w") as f:
        f.write(dictionary([("alloc_16", op(0, 0, 16)), ("alloc_128", op(0, 1, 128)),
                            ("alloc_2k", op(0, 2, 2000)), ("zeroed_64", op(1, 3, 64)),
                            ("aligned_4k", op(2, 4, 100, 12)), ("realloc_grow", op(3, 0, 4000)),
                            ("realloc_shrink", op(3, 0, 10)), ("free", op(4, 0)), ("reset", op(5)),
                            ("again", op(7, 1, 33))]))


    for api in ("malloc", "debug"):
        with open(os.path.join(HERE, api + ".dict"), "w") as f:
            f.write(dictionary([("malloc_64", op(0, 0, 64)), ("malloc_2k", op(0, 1, 2000)),
                                ("calloc_100", op(1, 2, 100)), ("aligned_4k", op(2, 3, 100, 9)),
                                ("realloc_grow", op(3, 0, 3000)), ("free", op(4, 0)), ("switch", op(5)),
                                ("again", op(7, 1, 48))] +
                               [("probe_" + k, op(6, 0, 0, v)) for k, v in PROBE.items()] +
                               [("process_" + k, op(6, 0, n, PROBE["stale"])) for k, n in
                                (("thread", 1), ("fork", 2), ("cache_damage", 3), ("misuse", 4), ("guard", 5))]))
    with open(os.path.join(HERE, "options.dict"), "w") as f:
        f.write(options_dictionary())
    with open(os.path.join(HERE, "report.dict"), "w") as f:
        f.write(dictionary([("format", b"\x00\x40"), ("bug", b"\x01\x00"), ("leaks", b"\x02\x00"),
                            ("all", b"\x03\xff"), ("stored_stack", b"\x00\x00\x00\x03"), ("symbolize", b"\x04")],
                           "fuzz_report.c's selectors"))


if __name__ == "__main__":
    main()
