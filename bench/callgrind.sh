#!/usr/bin/env bash
# bench/callgrind.sh [N] [--alloc LIST] — instructions per malloc(48)+free
# pair, counted by Valgrind's callgrind, for glibc and each allocator of
# bench/run.sh (default all that are installed; warden from
# $BUILD/libwarden-malloc.so or $WARDEN_SO). For each of LIFO and batch
# (bench/malloc/pair lifo|batch N) it runs N and 2N pairs and prints
# (Ir(2N) - Ir(N)) / N, which cancels start-up and exit. Default N = 200000.
#
# The allocator goes in by LD_PRELOAD in Valgrind's own environment: the
# launcher passes it on to the client program, and callgrind (unlike
# memcheck) replaces no malloc of its own, so the client runs the preloaded
# allocator. Each run's profile is checked to contain the library's code,
# so a preload that silently failed is reported instead of counted.
# Scudo (clang 14) cannot run under Valgrind: its primary reserves an address
# range Valgrind refuses ("Scudo ERROR: internal map or unmap failure"), so
# its row reads FAIL.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/release}
. bench/malloc/allocators.sh
n=200000 allocs=$ALL_ALLOCATORS
while [ $# -gt 0 ]; do
  case "$1" in
    --alloc) allocs=${2//,/ }; shift 2 ;;
    --alloc=*) allocs=${1#*=}; allocs=${allocs//,/ }; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*|'') echo "callgrind.sh: unknown argument '$1'" >&2; exit 2 ;;
    *) n=$1; shift ;;
  esac
done
[ -n "${BENCH_NO_DEPS:-}" ] || ci/deps.sh valgrind $ALLOC_PACKAGES
pair=$BUILD/bench/malloc/pair
[ -x "$pair" ] || { echo "callgrind.sh: $pair not found: build $BUILD first" >&2; exit 2; }
exec 9> "${TMPDIR:-/tmp}/warden-bench.lock"
flock -n 9 || { echo "callgrind.sh: another benchmark is running, waiting for it" >&2; flock 9; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ir LIB MODE COUNT: total instructions of one run
ir() {
  local out=$tmp/cg.out
  LD_PRELOAD=$1 valgrind --tool=callgrind --callgrind-out-file="$out" "$pair" "$2" "$3" 2>"$tmp/log" ||
    { grep -v '^==' "$tmp/log" | head -n 3 >&2; return 1; }
  if [ -n "$1" ] && ! grep -qE "^c?ob=\([0-9]+\) .*/$(basename "$1")\$" "$out"; then
    echo "callgrind.sh: $1 does not appear in the profile: not preloaded?" >&2
    return 1
  fi
  sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/log"
}

printf '%-10s %12s %12s   (instructions per malloc(48)+free pair, N = %d)\n' allocator LIFO batch "$n"
for a in glibc ${allocs//glibc/}; do
  rc=0; lib=$(alloc_lib "$a") || rc=$?
  [ $rc = 2 ] && exit 2
  if [ $rc != 0 ]; then echo "callgrind.sh: warning: $a not available, skipped" >&2; continue; fi
  row=()
  for mode in lifo batch; do
    one=$(ir "$lib" $mode "$n") && two=$(ir "$lib" $mode $((2 * n))) &&
      row+=("$(awk -v a="$one" -v b="$two" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')") || row+=(FAIL)
  done
  printf '%-10s %12s %12s\n' "$a" "${row[0]}" "${row[1]}"
done
