#!/usr/bin/env bash
# tests/real/run.sh LIB [WORKDIR] — real programs under an LD_PRELOAD malloc.
#
# Runs programs that no one here wrote, each twice: once with the system
# allocator (glibc) and once with LD_PRELOAD=LIB, and compares the results:
#   python   Debian's CPython 3.11 (/usr/bin/python3) running a part of its own
#            test suite (libpython3.11-testsuite) with PYTHONMALLOC=malloc, in one
#            process; compares regrtest's summary and every test case's status
#   sqlite3  the sqlite3 CLI: 200k+ rows from a fixed-seed generator, indexes,
#            aggregates, window functions, FTS5, update/delete, VACUUM,
#            integrity_check; compares the query output and the database file
#   git      a fresh repository: 240 commits, branches, merges, tags (fixed
#            names and dates), gc --aggressive, fsck --full --strict; compares
#            commit and tree ids, fsck, log -p, blame and archive checksums
#   sort     2.5 million generated lines: plain (with temporary files and
#            with its default buffer), -n, -u, keyed, stable, C.UTF-8 -f, -m,
#            -c; compares checksums of the outputs
#   g++      compiles tests/real/prog.cc (templates, <map>, <regex>, <thread>,
#            exceptions) at -O2 -frandom-seed (cc1plus, as, ld inherit the
#            preload), runs it; compares its output and the .o/executable hashes
# A program fails when its result differs, when its run under LIB exits
# differently, when LIB was not actually loaded, or when that run's stderr
# (or a log of it) has a line starting with "warden:" (the allocator's
# reports; so WARDEN_OPTIONS=verbose=1 or stats=1 also fails it; not the
# notice that the guard pool is full).
# Prints one line per program: name, result, wall seconds under glibc and
# under LIB; ends with "real: N passed, N failed" and exits non-zero if any
# failed. Scratch files go to WORKDIR (default: a mktemp -d, removed at exit).
# REAL_PROGRAMS (default "python sqlite3 git sort g++") chooses which run;
# WARDEN_OPTIONS passes through (ci/test.sh runs them in the debug profile too).
# Installs what it needs with ci/deps.sh. 3-4 minutes on 2 idle cores.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
here=$(dirname "$self")
root=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3
PYTESTS=(test_list test_dict test_set test_json test_re test_unicode test_pickle test_threading
         test_collections test_deque test_itertools test_bytes test_sort test_gc test_weakref
         test_struct test_functools test_decimal test_queue)
SORT_LINES=2500000

# Runs a program under test: with LD_PRELOAD=$PRE when PRE is set.
# A failure names the command on stderr (also inside a pipeline).
X() {
    if [[ -n ${PRE:-} ]]; then LD_PRELOAD=$PRE "$@"; else "$@"; fi || {
        local rc=$?
        echo "run.sh: $* -> $( ((rc > 128)) && echo "SIG$(kill -l $((rc - 128)))" || echo "exit $rc")" >&2
        return $rc
    }
}

# ---- the workloads; each runs in its own bash (run.sh --work), set -e, in
# ---- its own directory $1, with shared inputs in $2; stdout is the result
# ---- compared between the two runs, $1/summary one short line for the table.

work_python() {
    local d=$1 rc=0
    mkdir -p "$d/tmp"
    cd "$d"
    PYTHONMALLOC=malloc TMPDIR=$d/tmp X "$PY" -s -m test --junit-xml "$d/junit.xml" "${PYTESTS[@]}" \
        > "$d/regrtest.log" || rc=$?
    echo "regrtest exit $rc"
    sed -n '/^== Tests result/,$p' "$d/regrtest.log" | grep -v '^Total duration'
    [[ -s $d/junit.xml ]] || { echo "no junit xml"; echo "no junit xml (regrtest exit $rc)" > "$d/summary"; return 0; }
    "$PY" - "$d/junit.xml" "$d/summary" "${#PYTESTS[@]}" <<'EOF'
import collections, sys, xml.etree.ElementTree as ET
counts = collections.Counter()
for case in ET.parse(sys.argv[1]).getroot().iter('testcase'):
    status = 'ok'
    for child in case:
        if child.tag in ('failure', 'error', 'skipped'):
            status = child.tag
            break
    counts[status] += 1
    print(case.get('name'), status)
with open(sys.argv[2], 'w') as f:
    f.write('%s modules, %d cases: %s\n' % (sys.argv[3], sum(counts.values()),
            ', '.join('%d %s' % (n, s) for s, n in sorted(counts.items()))))
EOF
}

work_sqlite3() {
    local d=$1
    cd "$d"
    X sqlite3 -bail wk.db > sql.out <<'SQL'
PRAGMA page_size = 4096;
PRAGMA cache_size = -65536;
PRAGMA temp_store = MEMORY;
PRAGMA journal_mode = WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, g INTEGER, name TEXT, val REAL, pad TEXT);
-- a linear congruential generator with a fixed seed: the same rows every run
WITH RECURSIVE s(n, x) AS (
  SELECT 1, 12345
  UNION ALL
  SELECT n + 1, (x * 1103515245 + 12345) % 2147483648 FROM s WHERE n < 200000)
INSERT INTO t SELECT n, x % 100003, (x >> 8) % 97, printf('n%08x-%d', x, n % 13),
                     (x % 1000000) / 1000.0, substr(hex(x * 2654435761), 1, x % 40) FROM s;
SELECT 'rows', count(*), sum(k), min(name), max(name), round(sum(val), 3) FROM t;
SELECT 'sorted', hex(sha3_query('SELECT pad, name FROM t ORDER BY pad, name, id'));
CREATE INDEX t_k ON t(k);
CREATE INDEX t_g_name ON t(g, name);
CREATE INDEX t_pad ON t(pad, val);
SELECT 'group', g, count(*), sum(k), round(avg(val), 4), min(name), max(pad) FROM t GROUP BY g ORDER BY g;
SELECT 'dups', k, count(*) AS c FROM t GROUP BY k HAVING c > 4 ORDER BY c DESC, k LIMIT 20;
SELECT 'distinct', count(DISTINCT k), count(DISTINCT name), count(DISTINCT pad) FROM t;
SELECT 'rank', g, name, r FROM (
  SELECT g, name, rank() OVER (PARTITION BY g ORDER BY val DESC, id) AS r FROM t) WHERE r <= 2 ORDER BY g, r;
SELECT 'running', hex(sha3_query('SELECT id, sum(k) OVER (ORDER BY id ROWS BETWEEN 50 PRECEDING AND CURRENT ROW) FROM t'));
CREATE TABLE grp AS SELECT g, count(*) AS n, group_concat(id, ',') AS ids FROM (SELECT g, id FROM t WHERE k < 3000 ORDER BY id) GROUP BY g;
SELECT 'join', count(*), sum(grp.n), sum(length(grp.ids)) FROM t JOIN grp USING (g) WHERE t.k BETWEEN 100 AND 20000;
SELECT 'json', length(j), hex(sha3(j)) FROM (SELECT json_group_array(json_object('id', id, 'name', name)) AS j FROM (SELECT id, name FROM t WHERE k < 5000 ORDER BY name));
CREATE VIRTUAL TABLE doc USING fts5(body);
INSERT INTO doc(rowid, body) SELECT id, printf('w%d w%d w%d %s', k % 500, g, k % 37, pad) FROM t WHERE id % 4 = 0;
SELECT 'fts', (SELECT count(*) FROM doc WHERE doc MATCH 'w7'), (SELECT count(*) FROM doc WHERE doc MATCH 'w7 AND w13'),
              (SELECT count(*) FROM doc WHERE doc MATCH 'w1*');
SELECT 'fts-top', rowid FROM doc WHERE doc MATCH 'w42 OR w43' ORDER BY rank, rowid LIMIT 5;
BEGIN;
UPDATE t SET val = val * 2, name = name || '-u' WHERE id % 10 = 3;
DELETE FROM t WHERE k % 20 = 7;
WITH RECURSIVE s(n, x) AS (
  SELECT 200001, 777
  UNION ALL
  SELECT n + 1, (x * 1103515245 + 12345) % 2147483648 FROM s WHERE n < 260000)
INSERT INTO t SELECT n, x % 100003, (x >> 8) % 97, printf('m%08x', x), x % 1000, printf('p%d', x % 977) FROM s;
COMMIT;
BEGIN;
DELETE FROM t WHERE g = 5;
ROLLBACK;
DELETE FROM doc WHERE rowid % 3 = 0;
INSERT INTO doc(doc) VALUES ('optimize');
PRAGMA journal_mode = DELETE;
VACUUM;
SELECT 'integrity', * FROM pragma_integrity_check;
SELECT 'fts-integrity'; INSERT INTO doc(doc, rank) VALUES ('integrity-check', 1);
SELECT 'after', count(*), sum(k), round(sum(val), 3), count(DISTINCT name), max(id) FROM t;
SELECT 'table', hex(sha3_query('SELECT * FROM t ORDER BY id'));
SELECT 'index', hex(sha3_query('SELECT g, name FROM t INDEXED BY t_g_name WHERE g >= 0 ORDER BY g, name'));
SELECT 'pages', page_count, freelist_count FROM pragma_page_count, pragma_freelist_count;
SQL
    cat sql.out
    echo "db file sha256 $(sha256sum < wk.db | cut -d' ' -f1)"
    awk '$1 == "after" || $1 == "rows" { split($0, f, "|"); n[$1] = f[2] }
         $1 ~ /^integrity/ { split($0, f, "|"); ic = f[2] }
         END { printf "%d rows, %d after update/delete; integrity_check %s\n", n["rows"], n["after"], ic }' \
        FS='|' sql.out > summary
}

work_git() {
    local d=$1 i f b=0 rc=0
    export HOME=$d GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
    export GIT_AUTHOR_NAME="A U Thor" GIT_AUTHOR_EMAIL=author@example.com
    export GIT_COMMITTER_NAME="C O Mitter" GIT_COMMITTER_EMAIL=committer@example.com
    g() { X git "$@"; }
    stamp() { export GIT_AUTHOR_DATE="@$((1700000000 + $1 * 61)) +0000" GIT_COMMITTER_DATE="@$((1700000000 + $1 * 61 + 7)) +0000"; }
    # writes generated content: file $1, commit number $2
    gen() {
        local j
        mkdir -p "$(dirname "$1")"
        { for ((j = 0; j < 12; j++)); do printf 'line %d of commit %d: %08x %s\n' "$j" "$2" $(( ($2 * 2654435761 + j * 40503) % 4294967296 )) "$1"; done; } >> "$1"
    }
    cd "$d"
    g init -q -b main repo
    cd repo
    g config gc.auto 0
    for ((i = 1; i <= 200; i++)); do
        stamp "$i"
        gen "src/f$((i % 25)).txt" "$i"
        gen "src/dir$((i % 4))/g$((i * 7 % 13)).txt" "$i"
        # rewrite the middle of an older file, so commits are not only appends
        f=src/f$(( (i + 11) % 25 )).txt
        if [[ -f $f ]]; then sed -i "3s/.*/rewritten at $i/" "$f"; fi
        if (( i % 50 == 25 )); then g mv -k "src/f$(( (i + 3) % 25 )).txt" "src/moved$i.txt"; fi
        if (( i % 60 == 30 )); then g rm -q -r -f --ignore-unmatch "src/dir$((i % 4))"; fi
        g add -A
        g commit -q -m "commit $i" -m "generated change number $i"
        if (( i % 40 == 20 )); then
            # a topic branch: 8 commits of its own files, merged back 20 commits later
            b=$((i / 40 + 1))
            g checkout -q -b "topic$b"
            for ((f = 1; f <= 8; f++)); do
                stamp "$((1000 + b * 10 + f))"
                gen "topic$b/t$((f % 3)).txt" "$((1000 + b * 10 + f))"
                g add -A
                g commit -q -m "topic $b step $f"
            done
            g checkout -q main
        fi
        if (( i % 40 == 0 )); then
            stamp "$((2000 + i))"
            g merge -q --no-ff -m "merge topic$((i / 40))" "topic$((i / 40))"
            g tag -a -m "release $((i / 40))" "v$((i / 40))"
        fi
    done
    g gc -q --aggressive --prune=now
    g fsck --full --strict --no-progress > "$d/fsck.out" || rc=$?
    echo "fsck exit $rc"
    cat "$d/fsck.out"
    echo "head $(g rev-parse HEAD) tree $(g rev-parse 'HEAD^{tree}')"
    g log --all --topo-order --format='%H %T %P %s'
    g count-objects -v | grep -E '^(count|in-pack|packs|prune-packable|garbage):'
    echo "objects $(g rev-list --objects --all | wc -l)"
    echo "log-p $(g log -p --stat --all | sha256sum | cut -d' ' -f1)"
    echo "blame $(g blame -w src/f7.txt | sha256sum | cut -d' ' -f1)"
    echo "archive $(g archive --format=tar HEAD | sha256sum | cut -d' ' -f1)"
    echo "diff $(g diff --stat v1 HEAD | tail -1)"
    echo "grep $(g grep -c 'commit 1' HEAD | sha256sum | cut -d' ' -f1)"
    echo "$(g rev-list --count --all) commits ($(g rev-list --merges --count --all) merges), fsck --full exit $rc" > "$d/summary"
}

work_sort() {
    local d=$1 in=$2/sort.in
    mkdir -p "$d/tmp"
    cd "$d"
    X sort -S 32M -T "$d/tmp" --parallel=2 "$in" > plain.out
    echo "plain $(sha256sum < plain.out)"
    X sort "$in" | cmp - plain.out && echo "plain, default buffer: same"
    X sort -c plain.out && echo "sorted: yes"
    X sort -m plain.out plain.out | sha256sum | sed 's/^/merge /'
    X sort -n -t ' ' -k3,3 -S 48M -T "$d/tmp" "$in" | sha256sum | sed 's/^/numeric /'
    X sort -u -t ' ' -k2,2 "$in" > uniq.out
    echo "unique $(wc -l < uniq.out) $(sha256sum < uniq.out)"
    X sort -u -S 64M -T "$d/tmp" plain.out "$in" | sha256sum | sed 's/^/unique-lines /'
    X sort -s -t ' ' -k2,2 -k3,3nr "$in" | sha256sum | sed 's/^/stable-keyed /'
    LC_ALL=C.UTF-8 X sort -f -t ' ' -k2,2 -k1,1r "$in" | sha256sum | sed 's/^/c.utf8-fold /'
    echo "$(wc -l < "$in") lines, 9 sorts, $(wc -l < uniq.out) unique keys" > summary
}

work_g++() {
    local d=$1
    cd "$d"
    cp "$2/prog.cc" prog.cc
    X g++ -std=c++17 -O2 -pthread -frandom-seed=warden -c prog.cc -o prog.o
    X g++ -O2 -pthread prog.o -o prog
    X ./prog > prog.out
    cat prog.out
    echo "prog.o sha256 $(sha256sum < prog.o | cut -d' ' -f1)"
    echo "prog sha256 $(sha256sum < prog | cut -d' ' -f1)"
    echo "prog.cc -O2: $(stat -c %s prog.o) B object, ran ok" > summary
}

if [[ ${1:-} == --work ]]; then
    set -E
    work=$2
    trap 'rc=$?; [[ $BASH_COMMAND == return* ]] || echo "run.sh: $work: command failed (exit $rc): $BASH_COMMAND" >&2' ERR
    "work_$2" "$3" "$4"
    exit 0
fi

# ---- the driver --------------------------------------------------------------

die() { echo "run.sh: $*" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || die "usage: tests/real/run.sh LIB [WORKDIR]"
[[ -f $1 ]] || die "LIB '$1' not found"
LIB=$(realpath "$1")
if [[ $# -eq 2 ]]; then
    mkdir -p "$2"
    W=$(realpath "$2")
else
    W=$(mktemp -d /tmp/warden-real.XXXXXX)
    trap 'rm -rf "$W"' EXIT
fi
unset LD_PRELOAD
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C TZ=UTC
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE PYTHONSAFEPATH

# ci/deps.sh can meet the dpkg lock held by another apt-get: try again a while.
for try in 1 2 3 4 5 6 7 8 9 10 11 12; do
    if "$root/ci/deps.sh" python3.11 libpython3.11-testsuite sqlite3 git g++ coreutils mawk; then break; fi
    [[ $try -lt 12 ]] || die "ci/deps.sh failed"
    echo "run.sh: ci/deps.sh failed; trying again in 10 s" >&2
    sleep 10
done
pytestdir=/usr/lib/python3.11/test
[[ -x $PY && -d $pytestdir ]] || die "$PY or $pytestdir missing"
# the string test module is test_unicode up to 3.11, test_str from 3.12
[[ -e $pytestdir/test_unicode.py ]] || PYTESTS=("${PYTESTS[@]/#test_unicode/test_str}")

# LIB must really be loaded: ld.so only warns and runs on without it otherwise.
LD_PRELOAD=$LIB /bin/cat /proc/self/maps > "$W/preload.maps" 2> "$W/preload.err" || true
grep -qF "$LIB" "$W/preload.maps" || die "LD_PRELOAD=$LIB is not loaded: $(head -3 "$W/preload.err")"

shared=$W/shared
mkdir -p "$shared"
cp "$here/prog.cc" "$shared/prog.cc"
# deterministic input for sort: a MINSTD generator with a fixed seed
mawk -v n="$SORT_LINES" 'BEGIN { v = 12345
    split("ka lo mi nu pe ra si tu vo xe za bi", syl, " ")
    for (i = 1; i <= n; i++) {
        v = (v * 48271) % 2147483647; w = v % 4999
        printf "%08x %s%s%s %d.%02d\n", v, syl[1 + w % 12], syl[1 + int(w / 12) % 12], syl[1 + int(w / 144) % 12],
               (v % 2000001) - 1000000, v % 100 } }' > "$shared/sort.in"

signame() {
    if (( $1 == 124 )); then echo "timed out"
    elif (( $1 > 128 )); then echo "killed by SIG$(kill -l $(( $1 - 128 )) 2>/dev/null || echo $(( $1 - 128 )))"
    else echo "exit $1"; fi
}

echo "real programs: glibc vs LD_PRELOAD=$LIB (workdir $W)"
printf '%-8s %-6s %9s %9s  %s\n' program result glibc LIB "what ran"
passed=0 failed=0 failures=()
run_prog() {
    local name=$1 limit=$2 mode pre dir t0 rc why=() sum
    declare -A rcs secs
    for mode in glibc lib; do
        dir=$W/$name/$mode
        rm -rf "$dir"
        mkdir -p "$dir"
        pre=
        [[ $mode == lib ]] && pre=$LIB
        t0=$EPOCHREALTIME
        set +e
        PRE=$pre timeout -k 10 "$limit" bash "$self" --work "$name" "$dir" "$shared" > "$dir.result" 2> "$dir.stderr"
        rc=$?
        set -e
        rcs[$mode]=$rc
        secs[$mode]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    done
    dir=$W/$name
    # each reason: a line, then details (indented when printed)
    if (( rcs[glibc] != 0 )); then
        why+=("the glibc run itself failed ($(signame "${rcs[glibc]}")); its stderr ends:
$(tail -5 "$dir/glibc.stderr")")
    fi
    if (( rcs[lib] != rcs[glibc] )); then
        why+=("the LIB run exits differently: glibc $(signame "${rcs[glibc]}"), LIB $(signame "${rcs[lib]}")
$( (grep '^run.sh: ' "$dir/lib.stderr" || tail -5 "$dir/lib.stderr") | head -5)")
    fi
    local reports
    # (not --guard's notice that the guard pool is full: a program with more
    # live blocks than slots gets canaries for the rest, as documented)
    reports=$(grep -h '^warden:' "$dir/lib.stderr" $(find "$dir/lib" -maxdepth 1 -name '*.log') 2>/dev/null |
      grep -v 'further blocks get canaries only$' | sort | uniq -c | sort -rn | head -5 || true)
    [[ -z $reports ]] || why+=("LIB reported (count, line):
$reports")
    if grep -q 'cannot be preloaded' "$dir/lib.stderr"; then
        why+=("ld.so could not preload LIB: $(grep -m1 'cannot be preloaded' "$dir/lib.stderr")")
    fi
    if ! cmp -s "$dir/glibc.result" "$dir/lib.result"; then
        diff "$dir/glibc.result" "$dir/lib.result" | grep '^[<>]' > "$dir/result.diff" || true
        if (( rcs[lib] != rcs[glibc] )); then
            why+=("its result differs too ($(wc -l < "$dir/result.diff") lines), as the run stopped early")
        else
            why+=("its result differs ($(wc -l < "$dir/result.diff") lines differ; < glibc, > LIB):
$(head -12 "$dir/result.diff")")
        fi
    fi
    sum=$(cat "$dir/lib/summary" 2>/dev/null || cat "$dir/glibc/summary" 2>/dev/null || echo "-")
    if [[ ${#why[@]} -eq 0 ]]; then
        passed=$((passed + 1))
        printf '%-8s %-6s %8ss %8ss  %s\n' "$name" same "${secs[glibc]}" "${secs[lib]}" "$sum"
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf '%-8s %-6s %8ss %8ss  %s\n' "$name" FAIL "${secs[glibc]}" "${secs[lib]}" "$sum"
        local w
        for w in "${why[@]}"; do
            echo "run.sh: FAIL $name: ${w%%$'\n'*}" >&2
            [[ $w != *$'\n'* ]] || sed 's/^/    /' <<< "${w#*$'\n'}" >&2
        done
        echo "run.sh: FAIL $name: files in $dir (kept only if WORKDIR was given)" >&2
    fi
}

declare -A limits=([python]=900 [sqlite3]=300 [git]=300 [sort]=300 [g++]=300)
for p in ${REAL_PROGRAMS:-python sqlite3 git sort g++}; do
    [[ -n ${limits[$p]:-} ]] || { echo "run.sh: unknown program $p in REAL_PROGRAMS" >&2; exit 2; }
    run_prog "$p" "${limits[$p]}"
done

echo "real: $passed passed, $failed failed"
if (( failed > 0 )); then
    echo "run.sh: under LD_PRELOAD=$LIB these programs failed: ${failures[*]}" >&2
    exit 1
fi
