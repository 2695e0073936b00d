#!/usr/bin/env bash
# ci/fuzz.sh — warden's continuous fuzzing: builds every harness for
# libFuzzer (clang, ASan+UBSan) and AFL++ (afl-clang-fast, ASan, persistent
# mode), runs each for the given time under libFuzzer, then under AFL++,
# and fails on any crash. Prints executions per second and coverage.
#
#   ci/fuzz.sh [seconds]            default 60 per harness and engine
#   ci/fuzz.sh [seconds] --merge    also merge new coverage into corpus/<harness>/
#   ci/fuzz.sh --faults [seconds]   the fault matrix: for each WARDEN_FAULT, the
#                                   checker on its crafted input (ci/faults.sh),
#                                   then libFuzzer's time to find it from an empty
#                                   corpus (cap: seconds, default 300) and from
#                                   the seed corpus
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds="" merge=0 faults=0
for arg in "$@"; do
  case "$arg" in
    --merge) merge=1 ;;
    --faults) faults=1 ;;
    ''|*[!0-9]*) echo "ci/fuzz.sh: bad argument '$arg' (expected seconds, --merge or --faults)" >&2; exit 2 ;;
    *) seconds=$arg ;;
  esac
done
if [ -n "$seconds" ] && [ "$seconds" -lt 1 ]; then
  echo "ci/fuzz.sh: seconds must be at least 1" >&2
  exit 2
fi

harnesses=(heap bump)
out=build/fuzz-out
mkdir -p "$out"
ci/deps.sh cmake make clang afl++ libclang-rt-14-dev

export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_QUIET=1 AFL_NO_AFFINITY=1

build_libfuzzer() { # build dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DWARDEN_FUZZ=libfuzzer -DWARDEN_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target fuzz_heap fuzz_bump >/dev/null
}

build_afl() {
  AFL_USE_ASAN=1 CC=afl-clang-fast cmake -S . -B build/fuzz-afl -DWARDEN_FUZZ=afl \
    -DWARDEN_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  AFL_USE_ASAN=1 cmake --build build/fuzz-afl -j"$(nproc)" --target fuzz_heap fuzz_bump >/dev/null
}

libfuzzer_flags() { # harness
  echo "-timeout=10 -max_len=512 -dict=$root/fuzz/$1.dict -print_final_stats=1"
}

# ---- the fault matrix ----------------------------------------------------------
if [ $faults -eq 1 ]; then
  cap=${seconds:-300}
  ci/faults.sh
  declare -A harness_of=([coalesce_next]=heap [coalesce_prev]=heap [freelist_drop]=heap
                         [split_overrun]=heap [grow_overlap]=heap [bump_double_slot]=bump)
  table="$out/faults.md"
  printf '| fault | harness | seconds to find, empty corpus | seconds to find, seed corpus |\n| --- | --- | --- | --- |\n' > "$table"
  status=0
  for f in coalesce_next coalesce_prev freelist_drop split_overrun grow_overlap bump_double_slot; do
    h=${harness_of[$f]}
    build_libfuzzer "build/fuzz-fault-$f" -DWARDEN_FAULT="$f"
    row="| $f | $h |"
    for start in empty seed; do
      work="$out/fault-$f-$start"
      rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
      seeds=()
      [ $start = seed ] && seeds=("$root/corpus/$h")
      t0=$(date +%s.%N)
      set +e
      "build/fuzz-fault-$f/fuzz/fuzz_$h" $(libfuzzer_flags "$h") -max_total_time="$cap" \
        -artifact_prefix="$work/artifacts/" "$work/corpus" "${seeds[@]}" > "$work/log.txt" 2>&1
      rc=$?
      set -e
      t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
      if [ $rc -ne 0 ] && ls "$work/artifacts"/crash-* >/dev/null 2>&1; then
        row="$row $(printf '%.1f' "$t") |"
      else
        row="$row not found in ${cap} s |"
        status=1
      fi
    done
    echo "$row" | tee -a "$table"
  done
  echo "fault matrix written to $table"
  exit $status
fi

# ---- continuous fuzzing ----------------------------------------------------------
seconds=${seconds:-60}
echo "ci/fuzz.sh: building the harnesses for libFuzzer and AFL++"
build_libfuzzer build/fuzz-libfuzzer
build_afl

summary="$out/summary.md"
printf '| harness | engine | seconds | executions | exec/s | coverage | crashes |\n| --- | --- | --- | --- | --- | --- | --- |\n' > "$summary"
status=0
for h in "${harnesses[@]}"; do
  # libFuzzer: works on a copy, reads the committed corpus as seeds
  work="$out/libfuzzer-$h"
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  echo "libFuzzer: fuzz_$h for ${seconds} s"
  set +e
  "build/fuzz-libfuzzer/fuzz/fuzz_$h" $(libfuzzer_flags "$h") -max_total_time="$seconds" \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "corpus/$h" > "$work/log.txt" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$work/log.txt" | tail -1 | grep -o '[0-9]*' || echo 0)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  echo "| $h | libFuzzer | $seconds | $execs | $rate | $cov edges (cov:) | $crashes |" >> "$summary"
  if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
    echo "ci/fuzz.sh: libFuzzer found a crash in fuzz_$h (exit $rc):" >&2
    grep -E "invariant broken|ERROR|warden:" "$work/log.txt" | head -5 >&2
    find "$work/artifacts" -type f >&2
    status=1
  fi
  if [ $merge -eq 1 ]; then
    before=$(ls "corpus/$h" | wc -l)
    "build/fuzz-libfuzzer/fuzz/fuzz_$h" -merge=1 -max_len=512 "corpus/$h" "$work/corpus" > "$work/merge.txt" 2>&1
    echo "merged: corpus/$h holds $(ls "corpus/$h" | wc -l) inputs (was $before)"
  fi

  # AFL++: persistent mode, the committed corpus as input
  afl_out="$out/afl-$h"
  rm -rf "$afl_out"
  echo "AFL++: fuzz_$h for ${seconds} s"
  afl-fuzz -V "$seconds" -t 5000 -i "corpus/$h" -o "$afl_out" -x "fuzz/$h.dict" -- \
    "build/fuzz-afl/fuzz/fuzz_$h" > "$afl_out.log" 2>&1 || true
  stats="$afl_out/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    echo "ci/fuzz.sh: afl-fuzz did not run for fuzz_$h:" >&2
    tail -5 "$afl_out.log" >&2
    status=1
    continue
  fi
  field() { grep "^$1 " "$stats" | sed 's/.*: //'; }
  crashes=$(field saved_crashes)
  echo "| $h | AFL++ | $seconds | $(field execs_done) | $(field execs_per_sec) | $(field edges_found)/$(field total_edges) edges ($(field bitmap_cvg)) | $crashes |" >> "$summary"
  if [ "$crashes" != "0" ]; then
    echo "ci/fuzz.sh: AFL++ found $crashes crash(es) in fuzz_$h:" >&2
    ls "$afl_out/default/crashes" >&2
    status=1
  fi
done
cat "$summary"
exit $status
