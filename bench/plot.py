#!/usr/bin/python3
"""bench/plot.py OUT — turns bench/run.sh's OUT/raw.csv (and pair.csv,
meta.txt) into OUT/table.md and OUT/bench.png.

Per workload and allocator: the median over rounds of the per-round ratio
to glibc's run of the same round (time and peak RSS), the median absolute
time and peak RSS; per allocator the geometric mean of the median ratios
over the workloads it passed in every round. A cell with any failed run
(exit status, signal, timeout, checksum differing from glibc's) is marked
FAIL and left out of the geometric mean."""
import csv
import math
import os
import statistics
import sys
from collections import Counter, OrderedDict

ORDER = ["glibc", "jemalloc", "mimalloc", "tcmalloc", "scudo", "warden"]


# The helpers below are shared with bench/debug_table.py (which imports this
# file: keep its top level free of matplotlib).

def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def read_meta(path, keep_last=lambda k: True):
    """OUT/meta.txt's "key: value" lines; a key given twice keeps its last
    value where keep_last(key), else its first."""
    meta = OrderedDict()
    if os.path.exists(path):
        for line in open(path):
            k, _, v = line.rstrip("\n").partition(": ")
            if keep_last(k) or k not in meta:
                meta[k] = v
    return meta


def medians(run, workloads, names, rounds):
    """(workload, name) -> the medians over rounds of the runs that passed
    (t: wall time, rss: peak RSS) and of the per-round ratios to glibc's run
    (tr, rr); fails: the failed runs' rows; n: rounds run; bound: where a run
    timed out (rows with timeout_s), the least slowdown to glibc it means.
    run: (workload, name, round) -> the row of raw.csv."""
    cell = {}
    for w in workloads:
        for a in names:
            fails, tr, rr, ts, rs, bound = [], [], [], [], [], []
            for k in rounds:
                x, g = run.get((w, a, k)), run.get((w, "glibc", k))
                if x is None:
                    continue
                if x["status"] != "ok":
                    fails.append(x)
                    if x["status"] == "timeout" and "timeout_s" in x and g is not None and g["status"] == "ok":
                        bound.append(float(x["timeout_s"]) / float(g["wall_s"]))
                    continue
                ts.append(float(x["wall_s"]))
                rs.append(int(x["maxrss_kib"]))
                if g is not None and g["status"] == "ok":
                    tr.append(float(x["wall_s"]) / float(g["wall_s"]))
                    rr.append(int(x["maxrss_kib"]) / int(g["maxrss_kib"]))
            cell[(w, a)] = {
                "fails": fails,
                "n": sum(1 for k in rounds if (w, a, k) in run),
                "t": statistics.median(ts) if ts else None,
                "rss": statistics.median(rs) if rs else None,
                "tr": statistics.median(tr) if tr else None,
                "rr": statistics.median(rr) if rr else None,
                "bound": min(bound) if bound else None,
            }
    return cell


def passed(c):
    """The cell passed in every round, with a ratio to glibc."""
    return not c["fails"] and c["tr"] is not None


def gm_of(cell, workloads, a):
    """The geometric means of a's time and RSS ratios over the workloads it
    passed, and how many those are."""
    good = [w for w in workloads if passed(cell[(w, a)])]
    return geomean([cell[(w, a)]["tr"] for w in good]), geomean([cell[(w, a)]["rr"] for w in good]), len(good)


def head(cols):
    """A markdown table's header and separator lines."""
    return ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]


def ratio_table(cell, workloads, others, failtext, fmt):
    """The lines of the ratio table without its geomean row: per workload
    glibc's absolute medians, then per other allocator its time / RSS
    ratios as fmt formats them, or failtext(cell) where it failed."""
    L = head(["workload", "glibc time", "glibc RSS"] + others)
    for w in workloads:
        g = cell[(w, "glibc")]
        gt = f"{g['t']:.3f} s" if g["t"] is not None else "-"
        gr = f"{g['rss'] / 1024:.1f} MiB" if g["rss"] is not None else "-"
        if g["fails"]:
            gt = failtext(g)
        cs = []
        for a in others:
            c = cell[(w, a)]
            if c["fails"]:
                cs.append(failtext(c))
            elif c["tr"] is None:
                cs.append("-")
            else:
                cs.append(f"{fmt(c['tr'])} / {fmt(c['rr'])}")
        L.append(f"| {w} | {gt} | {gr} | " + " | ".join(cs) + " |")
    return L


def abs_table(cell, workloads, names, fmt):
    """The lines of the table of absolute medians: fmt(cell) per workload and name."""
    return head(["workload"] + names) + [f"| {w} | " + " | ".join(fmt(cell[(w, a)]) for a in names) + " |"
                                         for w in workloads]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    rp = os.path.join(out, "raw.csv")
    rows = list(csv.DictReader(open(rp))) if os.path.exists(rp) else []
    meta = read_meta(os.path.join(out, "meta.txt"))
    workloads = list(OrderedDict.fromkeys(r["workload"] for r in rows))
    pp = os.path.join(out, "pair.csv")
    prow = list(csv.DictReader(open(pp))) if os.path.exists(pp) else []
    present = set(r["allocator"] for r in rows) | set(r["allocator"] for r in prow)
    allocs = [a for a in ORDER if a in present] + sorted(present - set(ORDER))
    others = [a for a in allocs if a != "glibc"]

    run = {}  # (workload, alloc, round) -> row
    for r in rows:
        run[(r["workload"], r["allocator"], r["round"])] = r
    rounds = sorted(set(r["round"] for r in rows + prow), key=int)

    cell = medians(run, workloads, allocs, rounds)

    def ok(w, a):
        return passed(cell[(w, a)])

    def failtext(c):
        return "**FAIL** " + ", ".join(f"{s}×{n}" for s, n in sorted(Counter(x["status"] for x in c["fails"]).items()))

    gm = {a: gm_of(cell, workloads, a) for a in allocs}

    L = []
    L.append("# Malloc benchmark: time and peak RSS relative to glibc")
    L.append("")
    L.append(f"Command: `{meta.get('command', '?')}`; date: {meta.get('date', '?')}; rounds: {meta.get('rounds', len(rounds))}; "
             f"scale: {meta.get('scale', '?')}.  ")
    L.append(f"Machine: {meta.get('machine', '?')}.  ")
    libs = [f"{k[4:]} = `{v}`" for k, v in meta.items() if k.startswith("lib ")]
    if libs:
        L.append("Preloaded: " + "; ".join(libs) + ".")
    L.append("")
    L.append("Each cell: **time ratio / peak-RSS ratio** to glibc, the median over rounds of the per-round ratio "
             "(lower is better; the allocator order is rotated every round). glibc's columns are its absolute medians. "
             "Geomean: over the workloads the allocator passed in every round.")
    L.append("")
    L += ratio_table(cell, workloads, others, failtext, lambda x: f"{x:.2f}")
    L.append("| **geomean** | 1 | 1 | " + " | ".join(
        ("-" if not gm[a][2] else f"**{gm[a][0]:.2f} / {gm[a][1]:.2f}**")
        + ("" if gm[a][2] == len(workloads) else f" ({gm[a][2]} of {len(workloads)})")
        for a in others) + " |")
    L.append("")
    L.append("Absolute medians, **wall time / peak RSS**:")
    L.append("")

    def absolute(c):
        if c["t"] is None:
            return failtext(c) if c["fails"] else "-"
        return f"{c['t']:.3f} s / {c['rss'] / 1024:.1f} MiB" + (" (" + failtext(c) + ")" if c["fails"] else "")
    L += abs_table(cell, workloads, allocs, absolute)
    if "larson" in workloads:  # its output: larson THREADS PAIRS BYTES bad=N
        cells = []
        for a in allocs:
            c = cell[("larson", a)]
            outs = [r["output"] for r in rows if r["workload"] == "larson" and r["allocator"] == a and r["status"] == "ok"]
            try:
                pairs = int(outs[0].split()[2])
                cells.append(f"{pairs / c['t'] / 1e6:.1f}")
            except (IndexError, ValueError, TypeError, ZeroDivisionError):
                cells.append("-")
        L.append("| larson, M pairs/s | " + " | ".join(cells) + " |")

    if prow:
        L.append("")
        L.append("malloc(48)+free pair on the main thread (`bench/malloc/pair`), median ns per pair: "
                 "LIFO (same block) / batch (64 mallocs, then 64 frees):")
        L.append("")
        pa = [a for a in allocs if any(r["allocator"] == a for r in prow)]
        L.append("| | " + " | ".join(pa) + " |")
        L.append("|" + " --- |" * (1 + len(pa)))
        for col, name in (("lifo_ns", "LIFO"), ("batch_ns", "batch")):
            cells = []
            for a in pa:
                v = [float(r[col]) for r in prow if r["allocator"] == a and r["status"] == "ok"]
                cells.append(f"{statistics.median(v):.1f}" if v else "**FAIL**")
            L.append(f"| {name} | " + " | ".join(cells) + " |")
    open(os.path.join(out, "table.md"), "w").write("\n".join(L) + "\n")
    print(f"plot.py: wrote {os.path.join(out, 'table.md')}")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("plot.py: warning: no matplotlib (apt-get install python3-matplotlib): no bench.png", file=sys.stderr)
        return
    if not workloads:
        return
    groups = workloads + ["geomean"]
    fig, axes = plt.subplots(2, 1, figsize=(max(10, 1.0 * len(groups) * max(1, len(others)) / 4 + 4), 9), sharex=True)
    width = 0.8 / max(1, len(others))
    colors = {"jemalloc": "#1f77b4", "mimalloc": "#2ca02c", "tcmalloc": "#ff7f0e", "scudo": "#9467bd", "warden": "#d62728"}
    for ax, key, gi, title in ((axes[0], "tr", 0, "wall time / glibc"), (axes[1], "rr", 1, "peak RSS / glibc")):
        for j, a in enumerate(others):
            xs, ys = [], []
            for i, w in enumerate(groups):
                v = gm[a][gi] if w == "geomean" else (cell[(w, a)][key] if ok(w, a) else None)
                if v is not None and v == v:
                    xs.append(i + (j - (len(others) - 1) / 2) * width)
                    ys.append(v)
            ax.bar(xs, ys, width, label=a, color=colors.get(a))
            for i, w in enumerate(groups):
                if w != "geomean" and cell[(w, a)]["fails"]:
                    ax.text(i + (j - (len(others) - 1) / 2) * width, 1.0, "✗", ha="center", color=colors.get(a, "k"))
        ax.axhline(1.0, color="black", linewidth=1)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.tick_params(axis="y", which="minor", labelsize="x-small")
        ax.set_ylabel(title + " (log)")
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0].legend(ncol=len(others), loc="upper left", fontsize="small")
    axes[1].set_xticks(range(len(groups)))
    axes[1].set_xticklabels(groups, rotation=30, ha="right")
    axes[0].set_title(f"malloc benchmarks: ratio to glibc, median of {len(rounds)} round(s) ({meta.get('date', '')})")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bench.png"), dpi=110)
    print(f"plot.py: wrote {os.path.join(out, 'bench.png')}")


if __name__ == "__main__":
    main()
