#!/usr/bin/env bash
# tests/debug/matrix.sh [--kinds LIST] [--tools LIST]
#
# The bug-kind detection matrix: every bug of tests/debug/bugs.c (the kinds
# are read from its strcmp(kind, "...") lines at run time) under every debug
# allocator warden is measured against, one run each with a 60 s timeout.
# Prints a markdown table (kinds x tools) and writes it to $OUT/matrix.md;
# each run's command, exit status, stdout and stderr go to
# $OUT/runs/KIND.TOOL.txt.
#
# Tools (columns):
#   glibc          nothing preloaded: the baseline every other run is compared to
#   warden-release LD_PRELOAD=libwarden-malloc.so, no WARDEN_OPTIONS
#   warden-debug   the same with WARDEN_OPTIONS = the profile of tools/warden-run.in
#   warden-guard   the profile + ':' + $WARDEN_GUARD_OPTIONS (skipped when unset)
#   efence         Electric Fence (libefence.so.0), defaults
#   efence-below   the same with EF_PROTECT_BELOW=1 (guard page below the block)
#   duma           DUMA (libduma.so), defaults
#   duma-below     the same with DUMA_PROTECT_BELOW=1
#   dislocator     AFL++'s libdislocator.so
#   mallocheck     glibc's MALLOC_CHECK_=3 with libc_malloc_debug.so.0 preloaded
#   memcheck       valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
#                  --errors-for-leak-kinds=definite,indirect
#
# Cell rule, applied in this order to each run:
#   timeout   the run took over 60 s (killed)
#   yes       the tool named the bug: its own report text is in stdout/stderr
#             (warden: a line starting "warden: "; efence "ElectricFence
#             Aborting/Exiting"; DUMA "DUMA Aborting" or "detected overwrite";
#             libdislocator "*** [AFL] ..."; glibc/mallocheck glibc's own
#             "free(): ...", "double free ...", "corrupted ..." messages;
#             memcheck "Invalid read/write/free", "Mismatched free",
#             "uninitialised", "overlap"). A leak report (memcheck "are
#             definitely/indirectly lost", DUMA "not freed") counts only for
#             a kind whose name contains "leak"; elsewhere it gives
#   leak-only the one thing said was a leak (a miss for that kind)
#   crash? SIG/exit=N  the run died by a signal or exited with a status the
#             glibc run did not have, without any text of the tool naming the
#             bug (e.g. a guard page's bare SIGSEGV at the faulting access)
#   no (SIG as glibc)  it died just as the glibc run did, naming nothing: a
#             miss by this rule (where glibc itself crashes, a guard page's
#             SIGSEGV cannot be told from glibc's later one)
#   no        the run ended cleanly (normally "survived KIND", exit 0)
# glibc's own column is held to a clean exit (a crash there is "crash?").
# A kind whose strcmp line in bugs.c has a comment starting "correct" is a
# correct program, a control: "ok" when nothing was reported, "FALSE report"
# (a report, as "yes" above) or "FALSE? SIG..." (a crash) otherwise.
# Every run has EF_DISABLE_BANNER=1 DUMA_DISABLE_BANNER=1; all else is each
# tool's default unless its column says otherwise.
#
#   --kinds LIST   comma-separated kinds, default every kind of bugs.c
#   --tools LIST   comma-separated tools, default all; glibc always runs
# Environment: BUILD (default build/release) holds libwarden-malloc.so
# (WARDEN_SO overrides the path); OUT (default /tmp/debug-matrix);
# WARDEN_GUARD_OPTIONS (e.g. guard_rate=1); BUGS: a bugs binary to use
# instead of the one this script compiles from tests/debug/bugs.c, with
# -O1 -g -fno-builtin as tests/debug/CMakeLists.txt does, so that its kinds
# are the source's and no allocator is linked in (a program linked with
# libwarden-malloc would make every "glibc" run warden's). bugs.c's weak
# warden_* declarations need nothing; a call of warden's API that is not
# weak is linked to a stub library whose functions return 0, and a
# preloaded libwarden-malloc.so, coming first, supplies the real one.
# BENCH_NO_DEPS=1 skips the package install (ci/deps.sh).
set -euo pipefail
cmdline="tests/debug/matrix.sh${*:+ $*}"
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
OUT=${OUT:-/tmp/debug-matrix}
SRC=tests/debug/bugs.c
ALL_TOOLS="glibc warden-release warden-debug warden-guard efence efence-below duma duma-below dislocator mallocheck memcheck"
TIMEOUT=60
die() { echo "matrix.sh: $*" >&2; exit 2; }
warn() { echo "matrix.sh: warning: $*" >&2; }

kinds_all=$(grep -o 'strcmp(kind, "[^"]*")' "$SRC" | sed 's/^strcmp(kind, "\(.*\)")$/\1/')
[ -n "$kinds_all" ] || die "no strcmp(kind, \"...\") in $SRC"
# correct programs (controls): a kind whose strcmp line has a comment starting "correct"
controls=$(grep -o 'strcmp(kind, "[^"]*")) { /\* correct' "$SRC" | sed 's/^strcmp(kind, "\([^"]*\)".*/\1/' | tr '\n' ' ' || true)
kinds=$kinds_all tools=$ALL_TOOLS
while [ $# -gt 0 ]; do
  case "$1" in
    --kinds) [ $# -ge 2 ] || die "--kinds needs a list"; kinds=${2//,/ }; shift 2 ;;
    --kinds=*) kinds=${1#*=}; kinds=${kinds//,/ }; shift ;;
    --tools) [ $# -ge 2 ] || die "--tools needs a list"; tools=${2//,/ }; shift 2 ;;
    --tools=*) tools=${1#*=}; tools=${tools//,/ }; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for k in $kinds; do
  grep -qxF -- "$k" <<< "$kinds_all" || die "unknown kind '$k' (one of: $(tr '\n' ' ' <<< "$kinds_all"))"
done
for t in $tools; do
  case " $ALL_TOOLS " in *" $t "*) ;; *) die "unknown tool '$t' (one of: $ALL_TOOLS)" ;; esac
done

[ -n "${BENCH_NO_DEPS:-}" ] || ci/deps.sh electric-fence duma afl++ valgrind

pkg_file() { # package, file name regex: the first file of the package that matches
  dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | head -n 1
}
profile=$(sed -n 's/^profile="\(.*\)"$/\1/p' tools/warden-run.in | head -n 1)
[ -n "$profile" ] || die "no profile=\"...\" line in tools/warden-run.in"
warden_so=${WARDEN_SO:-$BUILD/libwarden-malloc.so}
efence_so=$(pkg_file electric-fence 'libefence\.so\.0')
duma_so=$(pkg_file duma 'libduma\.so')
disloc_so=$(pkg_file afl++ 'libdislocator\.so')
mcheck_so=/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0

# lib_ok FILE: exists and ld.so preloads it (it ignores one it cannot, with a message)
lib_ok() {
  local msg
  [ -n "$1" ] && [ -e "$1" ] || return 1
  msg=$(LD_PRELOAD=$1 EF_DISABLE_BANNER=1 DUMA_DISABLE_BANNER=1 /bin/true 2>&1) || return 1
  [[ $msg != *"cannot be preloaded"* ]]
}
# the tools that can run here, glibc first
cols=(glibc)
for t in $tools; do
  [ "$t" = glibc ] && continue
  case "$t" in
    warden-*) lib=$warden_so ;;
    efence*) lib=$efence_so ;;
    duma*) lib=$duma_so ;;
    dislocator) lib=$disloc_so ;;
    mallocheck) lib=$mcheck_so ;;
    memcheck) command -v valgrind > /dev/null || { warn "valgrind not found, memcheck skipped"; continue; }; lib=/bin/true ;;
  esac
  if [ "$t" = warden-guard ] && [ -z "${WARDEN_GUARD_OPTIONS:-}" ]; then
    warn "WARDEN_GUARD_OPTIONS is unset, warden-guard skipped"; continue
  fi
  [ "$t" = memcheck ] || lib_ok "$lib" || { warn "$t: library '${lib:-?}' missing or not preloadable, skipped"; continue; }
  cols+=("$t")
done
[ -e "$warden_so" ] && warden_so=$(readlink -f "$warden_so")

# the bugs program: the given one, or one compiled here with no allocator
mkdir -p "$OUT/runs" "$OUT/bin"
rm -f "$OUT"/runs/*.txt "$OUT"/bin/libwarden-stub.so "$OUT"/bin/warden_stub.c
if [ -n "${BUGS:-}" ]; then
  bugs=$BUGS
  [ -x "$bugs" ] || die "BUGS=$bugs is not an executable"
  if ldd "$bugs" 2>/dev/null | grep -q libwarden; then warn "$bugs links libwarden: its glibc column is warden's release mode"; fi
else
  cc=${CC:-cc}
  "$cc" -O1 -g -fno-builtin -pthread -Iinclude -c "$SRC" -o "$OUT/bin/bugs.o"
  stubs=$(nm -u "$OUT/bin/bugs.o" | awk '$1 == "U" && $2 ~ /^warden_/ { print $2 }')
  stub_link=()
  if [ -n "$stubs" ]; then # calls of warden's API that are not weak: a stub library that returns 0
    {
      echo "/* generated by tests/debug/matrix.sh: bugs.c's warden_* calls, returning 0 */"
      for f in $stubs; do echo "long $f(void) { return 0; }"; done
    } > "$OUT/bin/warden_stub.c"
    "$cc" -shared -fPIC -O1 -Wl,-soname,libwarden-stub.so "$OUT/bin/warden_stub.c" -o "$OUT/bin/libwarden-stub.so"
    stub_link=(-L"$OUT/bin" -lwarden-stub "-Wl,-rpath,$(cd "$OUT/bin" && pwd)")
  fi
  "$cc" -pthread "$OUT/bin/bugs.o" "${stub_link[@]}" -o "$OUT/bin/bugs"
  bugs=$OUT/bin/bugs
fi
bugs=$(readlink -f "$bugs")

# the environment and command prefix of a tool: sets envs and pre
tool_setup() {
  envs=() pre=()
  case "$1" in
    glibc) ;;
    warden-release) envs=("LD_PRELOAD=$warden_so") ;;
    warden-debug) envs=("LD_PRELOAD=$warden_so" "WARDEN_OPTIONS=$profile") ;;
    warden-guard) envs=("LD_PRELOAD=$warden_so" "WARDEN_OPTIONS=$profile:$WARDEN_GUARD_OPTIONS") ;;
    efence) envs=("LD_PRELOAD=$efence_so") ;;
    efence-below) envs=("LD_PRELOAD=$efence_so" EF_PROTECT_BELOW=1) ;;
    duma) envs=("LD_PRELOAD=$duma_so") ;;
    duma-below) envs=("LD_PRELOAD=$duma_so" DUMA_PROTECT_BELOW=1) ;;
    dislocator) envs=("LD_PRELOAD=$disloc_so") ;;
    mallocheck) envs=("LD_PRELOAD=$mcheck_so" MALLOC_CHECK_=3) ;;
    memcheck) pre=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full '--errors-for-leak-kinds=definite,indirect') ;;
  esac
}
# the text of a tool that names a bug (grep -E), and of a leak report
GLIBC_RE='(free|realloc|malloc|munmap_chunk|malloc_consolidate|_int_free|_int_malloc)\(\): |double free|corrupted (size|double-linked|top)|memory corruption'
error_re() {
  case "$1" in
    glibc|mallocheck) echo "$GLIBC_RE" ;;
    warden-*) echo '^warden: ' ;;
    efence*) echo 'ElectricFence (Aborting|Exiting)' ;;
    duma*) echo 'DUMA Aborting|detected overwrite|DUMA: .*already freed' ;;
    dislocator) echo '\*\*\* \[AFL\]' ;;
    memcheck) echo '^==[0-9]+== (Invalid (read|write|free)|Mismatched free|.*uninitialised (value|byte)|Source and destination overlap|Argument .* of function .* has a fishy)' ;;
  esac
}
leak_re() {
  case "$1" in
    memcheck) echo '^==[0-9]+== .* are (definitely|indirectly) lost' ;;
    duma*) echo 'not freed' ;;
    *) echo 'x^' ;; # matches nothing
  esac
}
status_word() { # exit status as the shell saw it -> SIGSEGV / exit=N
  if [ "$1" -gt 128 ] && kill -l $(($1 - 128)) > /dev/null 2>&1; then echo "SIG$(kill -l $(($1 - 128)))"; else echo "exit=$1"; fi
}

ulimit -c 0
clean_env=(-u LD_PRELOAD -u WARDEN_OPTIONS -u MALLOC_CHECK_ -u MALLOC_PERTURB_ -u GLIBC_TUNABLES
  -u EF_PROTECT_BELOW -u EF_ALIGNMENT -u EF_PROTECT_FREE -u DUMA_PROTECT_BELOW -u DUMA_ALIGNMENT -u DUMA_PROTECT_FREE
  -u AFL_LD_LIMIT_MB -u AFL_LD_HARD_FAIL -u AFL_LD_VERBOSE)
declare -A cell said base_rc
n=0 total=$(( $(wc -w <<< "$kinds") * ${#cols[@]} ))
for k in $kinds; do
  for t in "${cols[@]}"; do
    n=$((n + 1))
    tool_setup "$t"
    f=$OUT/runs/$k.$t.txt
    rc=0 t0=$SECONDS
    { timeout -k 5 "$TIMEOUT" env "${clean_env[@]}" EF_DISABLE_BANNER=1 DUMA_DISABLE_BANNER=1 "${envs[@]}" "${pre[@]}" "$bugs" "$k" \
        > "$f.stdout" 2> "$f.stderr"; } 2>/dev/null || rc=$?
    {
      echo "command: env ${envs[*]} ${pre[*]} $bugs $k"
      echo "exit status: $rc"
      echo "--- stdout"; cat "$f.stdout"
      echo "--- stderr"; cat "$f.stderr"
    } > "$f"
    both=$(cat "$f.stdout" "$f.stderr")
    last="stdout: '$(grep -v '^[[:space:]]*$' "$f.stdout" | tail -n 1 || true)', stderr: '$(grep -v '^[[:space:]]*$' "$f.stderr" | tail -n 1 || true)'"
    rm -f "$f.stdout" "$f.stderr"
    [ "$t" = glibc ] && base_rc[$k]=$rc
    ref=${base_rc[$k]}
    [ "$t" = glibc ] && ref=0 # glibc's own run is held to a clean exit
    ere=$(error_re "$t") lre=$(leak_re "$t")
    hit=$(grep -m1 -E -- "$ere" <<< "$both" || true)
    leak=$(grep -m1 -E -- "$lre" <<< "$both" || true)
    if [ $rc = 124 ] || { [ $rc = 137 ] && [ $((SECONDS - t0)) -ge $TIMEOUT ]; }; then
      c=timeout; s="killed after ${TIMEOUT} s"
    elif [ -n "$hit" ]; then
      c=yes; s=$hit
    elif [ -n "$leak" ] && [[ $k == *leak* ]]; then
      c=yes; s=$leak
    elif [ -n "$leak" ]; then
      c='leak-only'; s=$leak
    elif [ "$rc" != 0 ] && [ "$rc" != "$ref" ]; then
      c="crash? $(status_word "$rc")"; s=$last
    elif [ "$rc" != 0 ]; then
      c="no ($(status_word "$rc") as glibc)"; s=$last
    else
      c=no; s=$last
    fi
    if [[ " $controls " == *" $k "* ]]; then # a correct program: any report is a false one
      case "$c" in
        yes|leak-only) c="FALSE report" ;;
        crash*) c="FALSE? ${c#crash? }" ;;
        no*) c=ok ;;
      esac
    fi
    cell[$k,$t]=$c said[$k,$t]="exit $rc: ${s:0:160}"
    printf '[%3d/%d] %-26s %-14s %-16s exit %s\n' "$n" "$total" "$k" "$t" "$c" "$rc" >&2
  done
done

md=$OUT/matrix.md
{
  echo "# Heap-bug detection matrix"
  echo
  echo "Command: \`$cmdline\`; date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(ldd --version | head -n 1 | sed 's/^ldd //');" \
    "bugs program: \`$bugs\` (from \`$SRC\`); one run per cell, timeout $TIMEOUT s."
  echo
  echo "Rule, in this order: **timeout** the run was killed after $TIMEOUT s; **yes** the tool's own report text" \
    "named the bug (warden \"warden: ...\", efence \"ElectricFence Aborting\", DUMA \"DUMA Aborting\"/\"detected overwrite\"," \
    "libdislocator \"*** [AFL] ...\", glibc's \"free(): ...\"/\"double free\"/\"corrupted ...\", memcheck \"Invalid read/write/free\"," \
    "\"uninitialised\", ...; a leak report counts only for a kind named *leak*); **leak-only** the only thing reported was a leak," \
    "for a kind that is not a leak (a miss); **crash? SIG/exit=N** the run died by a signal or exited with a status" \
    "the glibc run did not have, with no text of the tool (a guard page's bare SIGSEGV at the faulting access is this);" \
    "**no (SIG... as glibc)** it died as the glibc run did, with no text of the tool (a miss by this rule, though a guard page" \
    "may have fired where glibc's own crash came later); **no** it ended cleanly (normally \"survived KIND\", exit 0)." \
    "glibc's own column is held to a clean exit (its crashes are \"crash?\")." \
    "Kinds marked *correct program* (their bugs.c line has a /* correct ... */ comment) are controls: **ok** nothing was reported," \
    "**FALSE report** the tool reported anyway, **FALSE? SIG...** it crashed. The efence and DUMA banners are off" \
    "(EF_DISABLE_BANNER=1, DUMA_DISABLE_BANNER=1); everything else is each tool's default unless the column says otherwise."
  echo
  echo "Columns: glibc = nothing preloaded (the baseline; its cells are glibc's own checks);" \
    "warden-release = \`LD_PRELOAD=$warden_so\`; warden-debug = the same with \`WARDEN_OPTIONS=$profile\` (tools/warden-run.in);"
  [[ " ${cols[*]} " == *" warden-guard "* ]] && echo "warden-guard = \`WARDEN_OPTIONS=$profile:$WARDEN_GUARD_OPTIONS\`;"
  echo "efence = \`$efence_so\` ($(dpkg-query -W -f='${Version}' electric-fence 2>/dev/null)), efence-below + \`EF_PROTECT_BELOW=1\`;" \
    "duma = \`$duma_so\` ($(dpkg-query -W -f='${Version}' duma 2>/dev/null)), duma-below + \`DUMA_PROTECT_BELOW=1\`;" \
    "dislocator = \`$disloc_so\` (afl++ $(dpkg-query -W -f='${Version}' afl++ 2>/dev/null));" \
    "mallocheck = \`MALLOC_CHECK_=3 LD_PRELOAD=$mcheck_so\`;" \
    "memcheck = \`valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect\`" \
    "($(valgrind --version 2>/dev/null || echo '?'))."
  [[ " ${cols[*]} " == *" warden-guard "* ]] || echo "warden-guard was not run: WARDEN_GUARD_OPTIONS was unset."
  echo
  printf '| kind |'; printf ' %s |' "${cols[@]}"; echo
  printf '| --- |'; printf ' --- |%.0s' "${cols[@]}"; echo
  for k in $kinds; do
    if [[ " $controls " == *" $k "* ]]; then printf '| %s (correct program) |' "$k"; else printf '| %s |' "$k"; fi
    for t in "${cols[@]}"; do printf ' %s |' "${cell[$k,$t]}"; done
    echo
  done
  printf '| **detected** (yes, of the bugs) |'
  for t in "${cols[@]}"; do
    y=0 all=0
    for k in $kinds; do
      [[ " $controls " == *" $k "* ]] && continue
      all=$((all + 1)); [ "${cell[$k,$t]}" = yes ] && y=$((y + 1))
    done
    printf ' %s of %s |' "$y" "$all"
  done
  echo
  if [ -n "$controls" ]; then
    printf '| **false reports** (of the correct programs) |'
    for t in "${cols[@]}"; do
      y=0 all=0
      for k in $kinds; do
        [[ " $controls " == *" $k "* ]] || continue
        all=$((all + 1)); [ "${cell[$k,$t]}" != ok ] && y=$((y + 1))
      done
      printf ' %s of %s |' "$y" "$all"
    done
    echo
  fi
  echo
  echo "What each run said (the matching report line, or the last line of output), exit status as the shell saw it" \
    "(128+N: signal N); full output in \`$OUT/runs/KIND.TOOL.txt\`:"
  echo
  for k in $kinds; do
    echo "- **$k**"
    for t in "${cols[@]}"; do
      s=${said[$k,$t]}
      echo "  - $t (${cell[$k,$t]}): \`${s//\`/\'}\`"
    done
  done
} > "$md"
echo >&2
sed -n '/^| kind |/,/^$/p' "$md"
echo "matrix.sh: wrote $md and $OUT/runs/" >&2
