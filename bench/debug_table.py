#!/usr/bin/python3
"""bench/debug_table.py OUT — turns bench/debug_peers.sh's OUT/raw.csv (and
OUT/meta.txt) into OUT/table.md.

Per workload: glibc's median absolute time and peak RSS; per tool the median
over rounds of the per-round ratio to glibc's run of the same round (time,
peak RSS), or, when the tool failed in any round, the failure: the kind of
message its last stderr lines name (mmap, mprotect, ENOMEM, max_map_count;
a workload's "malloc returned NULL" is ENOMEM) and the status (timeout,
SIGSEGV, exit=N, checksum). Per tool the geometric
mean of the median ratios over the workloads it passed in every round, and
how many those are. Standard library only, with bench/plot.py's table helpers (its table is for
allocators that pass; this one is about the ways debug tools fail)."""
import csv
import os
import re
import signal
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True  # no bench/__pycache__ from the import below
from plot import abs_table, geomean, gm_of, head, medians, passed as cell_passed, ratio_table, read_meta  # noqa: E402

ORDER = ["glibc", "warden-debug", "warden-guard", "warden-variant", "efence", "duma", "dislocator", "memcheck", "mallocheck"]


def status_word(st):
    if st.startswith("signal="):
        try:
            return signal.Signals(int(st[7:])).name
        except ValueError:
            return st
    return st


def message_word(msg):
    """The call that failed (mmap, mprotect) and the error (ENOMEM), or the
    mapping limit, as the message names them; None when it names none."""
    m = msg.lower()
    words = []
    if "max_map_count" in m or "page mappings" in m:  # DUMA names the limit so
        words.append("max_map_count")
    if "mprotect" in m:
        words.append("mprotect")
    elif "mmap" in m:
        words.append("mmap")
    if ("cannot allocate memory" in m or "out of memory" in m or "enomem" in m or re.search(r"\boom\b", m)
            or re.search(r"errno\W.*\bis 12\b", m) or "returned null" in m):
        words.append("ENOMEM")
    return " ".join(words) or None


def stderr_of(row):
    return row.get("stderr_tail") or row.get("stderr_last") or ""


def failure_word(row):
    base = status_word(row["status"])
    if row["status"] == "timeout":
        return base
    w = message_word(stderr_of(row))
    if w and "ENOMEM" in w:  # how much it held: the machine's memory, or the run's limit, or neither
        w += f" at {int(row['maxrss_kib']) / 1048576:.1f} GiB"
    return f"{w} ({base})" if w else base


def ratio(x):
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/debug-peers"
    rows = list(csv.DictReader(open(os.path.join(out, "raw.csv"))))
    meta = read_meta(os.path.join(out, "meta.txt"), keep_last=lambda k: k.startswith("tool "))
    workloads = list(OrderedDict.fromkeys(r["workload"] for r in rows))
    present = OrderedDict.fromkeys(r["tool"] for r in rows)
    tools = [t for t in ORDER if t in present] + [t for t in present if t not in ORDER]
    others = [t for t in tools if t != "glibc"]
    rounds = sorted(set(r["round"] for r in rows), key=int)
    run = {(r["workload"], r["tool"], r["round"]): r for r in rows}

    cell = medians(run, workloads, tools, rounds)

    def passed(w, t):
        return cell_passed(cell[(w, t)])

    def failtext(c):
        words = list(OrderedDict.fromkeys(failure_word(x) for x in c["fails"]))
        s = "**" + " / ".join(words) + "**"
        if c["bound"] is not None:
            s += f" (>{c['bound']:.0f}×)"
        if len(c["fails"]) < c["n"]:
            s += f" ({len(c['fails'])} of {c['n']} rounds)"
        return s

    L = ["# Debug allocators on the malloc bench: time and peak RSS relative to glibc", ""]
    L.append(f"Command: `{meta.get('command', '?')}`; date: {meta.get('date', '?')}; rounds: {meta.get('rounds', len(rounds))}; "
             f"scale: {meta.get('scale', '?')}; run time: {meta.get('run time', '?')}.  ")
    L.append(f"Machine: {meta.get('machine', '?')}; `vm.max_map_count` = {meta.get('max_map_count', '?')}; "
             f"load average (1/5/15 min) at start {meta.get('load at start', '?')}, at end {meta.get('load at end', '?')} "
             "(other work on the 2 CPUs shows here: the times are noisy, the multi-threaded workloads most).  ")
    L.append(f"Timeout of a run: {meta.get('timeout', '?')} (glibc's time of the same round, or of the round before "
             "when glibc comes later in the rotated order).  ")
    L.append(f"Memory limit of a run: {meta.get('memory limit', '?')} (a tool that reaches it fails with ENOMEM).  ")
    L.append(f"Versions: {meta.get('versions', '?')}; warden {meta.get('warden', '?')}"
             + (f"; **{meta['warden rebuilt during the runs']}** (the warden runs straddle two builds)"
                if "warden rebuilt during the runs" in meta else "") + ".")
    L.append("")
    L.append("Tools:")
    L.append("")
    for t in others:
        L.append(f"- {t}: `{meta.get('tool ' + t, '?').strip()}`")
    L.append("")
    L.append("Each cell: **time ratio / peak-RSS ratio** to glibc, the median over rounds of the per-round ratio "
             "(the tool order is rotated every round); glibc's columns are its absolute medians. A tool that failed "
             "in any round shows the failure instead: the call and error its last stderr lines name (mmap, "
             "mprotect, ENOMEM with the peak RSS it had reached, max_map_count) and the status (timeout, a signal, "
             "exit=N, checksum = wrong output); "
             "a timeout gives the lower bound of the slowdown it means. Geomean: over the workloads the tool passed "
             "in every round.")
    L.append("")
    L += ratio_table(cell, workloads, others, failtext, ratio)
    gm_cells = []
    for t in others:
        gt_, gr_, n = gm_of(cell, workloads, t)
        gm_cells.append(f"**{ratio(gt_)} / {ratio(gr_)}** ({n} of {len(workloads)} passed)" if n
                        else f"- (0 of {len(workloads)})")
    L.append("| **geomean** | 1 | 1 | " + " | ".join(gm_cells) + " |")
    if "warden-debug" in others:
        L.append("")
        L.append("The same geomeans over only the workloads both warden-debug and the tool passed:")
        L.append("")
        L += head(["tool", "workloads", "tool", "warden-debug"])
        for t in others:
            if t == "warden-debug":
                continue
            good = [w for w in workloads if passed(w, t) and passed(w, "warden-debug")]
            if not good:
                L.append(f"| {t} | 0 | - | - |")
                continue
            a = (geomean([cell[(w, t)]["tr"] for w in good]), geomean([cell[(w, t)]["rr"] for w in good]))
            b = (geomean([cell[(w, "warden-debug")]["tr"] for w in good]), geomean([cell[(w, "warden-debug")]["rr"] for w in good]))
            L.append(f"| {t} | {len(good)} | {ratio(a[0])} / {ratio(a[1])} | {ratio(b[0])} / {ratio(b[1])} |")

    L.append("")
    L.append("Absolute medians of the runs that passed, **wall time / peak RSS**:")
    L.append("")
    L += abs_table(cell, workloads, tools, lambda c: "-" if c["t"] is None else f"{c['t']:.3f} s / {c['rss'] / 1024:.1f} MiB")

    fl = [(w, t) for w in workloads for t in tools if cell[(w, t)]["fails"]]
    L.append("")
    L.append("Failures (round: status after wall time, timeout, peak RSS; the last lines of stderr, joined by ' / '):")
    L.append("")
    if not fl:
        L.append("none")
    for w, t in fl:
        L.append(f"- {w}, {t}:")
        for x in cell[(w, t)]["fails"]:
            msg = stderr_of(x).replace("`", "'")
            L.append(f"  - round {x['round']}: {status_word(x['status'])} after {float(x['wall_s']):.1f} s "
                     f"(timeout {x['timeout_s']} s), peak RSS {int(x['maxrss_kib']) / 1024:.0f} MiB"
                     + (f": `{msg}`" if msg else ": no stderr"))
    noisy = OrderedDict()
    for r in rows:
        # a workload's own report on stderr (larson's "larson: ...") is not the tool's
        if r["status"] == "ok" and r.get("stderr_last") and not r["stderr_last"].startswith(r["workload"] + ":"):
            noisy.setdefault((r["workload"], r["tool"]), []).append(r["stderr_last"])
    if noisy:
        L.append("")
        L.append("Runs that passed but wrote to stderr (the last line; the tail of each is in logs/):")
        L.append("")
        for (w, t), msgs in noisy.items():
            u = list(OrderedDict.fromkeys(m.replace("`", "'") for m in msgs))
            L.append(f"- {w}, {t} ({len(msgs)} run(s)): " + "; ".join(f"`{m}`" for m in u[:2]))
    open(os.path.join(out, "table.md"), "w").write("\n".join(L) + "\n")
    print(f"debug_table.py: wrote {os.path.join(out, 'table.md')}")


if __name__ == "__main__":
    main()
