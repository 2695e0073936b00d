#!/usr/bin/env bash
# bench/run.sh [--rounds N] [--quick] [--only LIST] [--alloc LIST]
#
# Runs the malloc workloads (bench/malloc/) under glibc, jemalloc, mimalloc,
# tcmalloc, Scudo and warden (libwarden-malloc.so), each by LD_PRELOAD, in
# rounds: every round runs each workload once under each allocator, the
# allocator order rotated from round to round. bench/malloc/runner measures
# each run (wall time, peak RSS) and checks its exit status and its checksum
# line against glibc's. Then bench/plot.py writes, into $OUT:
#   raw.csv   every run;  pair.csv  the malloc(48)+free micro-benchmark
#   table.md  medians of the per-round ratios to glibc, time and peak RSS,
#             absolute medians, geometric means over the suite
#   bench.png the time and RSS ratios as grouped bars
#
#   --rounds N   rounds (default 5)
#   --quick      1 round at a small scale: a smoke run (well under 2 minutes)
#   --only LIST  comma-separated workloads (and/or "pair"), default all
#   --alloc LIST comma-separated allocators, default all; glibc always runs
#                (it is the baseline)
# Environment: BUILD (default build/release) holds bench/malloc/* and
# libwarden-malloc.so (WARDEN_SO overrides that path; missing: warden is
# skipped with a warning); OUT (default bench/results); BENCH_NO_DEPS=1 skips
# the package install (ci/deps.sh). Build first, e.g.:
#   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j
set -euo pipefail
cmdline="bench/run.sh${*:+ $*}"
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/release}
OUT=${OUT:-bench/results}
. bench/malloc/allocators.sh

WORKLOADS="cfrac espresso larson xmalloc alloc_test1 alloc_test2 glibc_simple glibc_thread mstress realloc_grow malloc_large cache_scratch"
# shellcheck disable=SC2034 # rounds_set: bench_parse_args reads it
rounds=5 rounds_set=0 quick=0 only="$WORKLOADS pair" allocs=$ALL_ALLOCATORS
die() { echo "run.sh: $*" >&2; exit 2; }
# shellcheck source=bench/malloc/args.sh
. bench/malloc/args.sh
bench_parse_args --alloc allocs "$@"
bench_check_names workload "$only" "$WORKLOADS pair"

[ -n "${BENCH_NO_DEPS:-}" ] || ci/deps.sh $ALLOC_PACKAGES python3-matplotlib

bin=$BUILD/bench/malloc
[ -x "$bin/runner" ] || die "$bin/runner not found: build first (cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD -j)"
for w in $only; do [ -x "$bin/$w" ] || die "$bin/$w not found: rebuild $BUILD"; done

names=(glibc) libs=("")
for a in $allocs; do
  [ "$a" = glibc ] && continue
  rc=0; lib=$(alloc_lib "$a") || rc=$?
  [ $rc = 2 ] && exit 2
  if [ $rc != 0 ]; then
    echo "run.sh: warning: $a not available, skipped" >&2
    continue
  fi
  names+=("$a"); libs+=("$lib")
done
n=${#names[@]}

timeout=$([ $quick = 1 ] && echo 60 || echo 300)

# one benchmark at a time on this machine: wait for another run.sh or callgrind.sh
exec 9> "${TMPDIR:-/tmp}/warden-bench.lock"
flock -n 9 || { echo "run.sh: another benchmark is running, waiting for it" >&2; flock 9; }

mkdir -p "$OUT"
raw=$OUT/raw.csv pair=$OUT/pair.csv log=$OUT/stderr.log
echo "round,workload,allocator,position,status,wall_s,maxrss_kib,output" > "$raw"
echo "round,allocator,position,status,lifo_ns,batch_ns" > "$pair"
: > "$log"
{
  echo "command: $cmdline"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "rounds: $rounds"
  echo "scale: $([ $quick = 1 ] && echo 'quick (0.1; malloc_large 0.05)' || echo 1)"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), kernel $(uname -r), $(ldd --version | head -n 1 | sed 's/^ldd //')"
  for i in $(seq 1 $((n - 1))); do echo "lib ${names[$i]}: ${libs[$i]}"; done
} > "$OUT/meta.txt"

declare -A ref
start=$SECONDS
for ((r = 1; r <= rounds; r++)); do
  order=()
  for ((k = 0; k < n; k++)); do order+=($(((k + r - 1) % n))); done
  for w in $only; do
    [ "$w" = pair ] && continue
    for ((pos = 0; pos < n; pos++)); do
      i=${order[$pos]} a=${names[$i]}
      exp=()
      [ -n "${ref[$w]:-}" ] && exp=(-e "${ref[$w]}")
      echo "== round $r $w $a" >> "$log"
      line=$("$bin/runner" -p "${libs[$i]}" -t "$timeout" "${exp[@]}" -- "$bin/$w" "$(scale_of "$w")" 2>>"$log") || true
      [ -n "$line" ] || line="runner-failed,0,0,"
      IFS=, read -r st wall rss output <<< "$line"
      [ "$a" = glibc ] && [ "$st" = ok ] && [ -z "${ref[$w]:-}" ] && ref[$w]=$output
      echo "$r,$w,$a,$pos,$line" >> "$raw"
      printf '[%d/%d %4ds] %-13s %-9s %8.3f s %8.1f MiB  %s\n' "$r" "$rounds" $((SECONDS - start)) "$w" "$a" "$wall" \
        "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$st"
    done
  done
  case " $only " in *" pair "*)
    for ((pos = 0; pos < n; pos++)); do
      i=${order[$pos]} a=${names[$i]}
      line=$("$bin/runner" -p "${libs[$i]}" -t "$timeout" -- "$bin/pair" 2>>"$log") || true
      IFS=, read -r st wall rss output <<< "${line:-runner-failed,0,0,}"
      read -r _ lifo _ _ batch _ <<< "${output:-x 0 x x 0 x}"
      echo "$r,$a,$pos,$st,$lifo,$batch" >> "$pair"
      printf '[%d/%d %4ds] %-13s %-9s lifo %6s ns  batch %6s ns  %s\n' "$r" "$rounds" $((SECONDS - start)) pair "$a" "$lifo" "$batch" "$st"
    done ;;
  esac
done
echo "run.sh: $((SECONDS - start)) s of runs" >&2
/usr/bin/python3 bench/plot.py "$OUT"
