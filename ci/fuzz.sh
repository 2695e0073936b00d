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
#                                   then the seconds libFuzzer and AFL++ take to
#                                   find it from an empty corpus: the median of 5
#                                   trials (seeds 1..5) capped at seconds (default
#                                   120); fails when a median is 60 s or more
#   FUZZ_HARNESSES="heap malloc" ci/fuzz.sh ...   only those harnesses
#   FUZZ_FAULTS="remote_lost canary_late" ci/fuzz.sh --faults   only those faults
#   ci/fuzz.sh --speed [runs]       executions per CPU second of each harness under
#                                   libFuzzer: runs mutations (default 50000) from
#                                   the committed corpus with a fixed seed, 3 rounds,
#                                   the median; the checker runs after every operation
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds="" merge=0 faults=0 speed=0
for arg in "$@"; do
  case "$arg" in
    --merge) merge=1 ;;
    --faults) faults=1 ;;
    --speed) speed=1 ;;
    ''|*[!0-9]*) echo "ci/fuzz.sh: bad argument '$arg' (expected seconds, --merge, --faults or --speed)" >&2; exit 2 ;;
    *) seconds=$arg ;;
  esac
done
if [ -n "$seconds" ] && [ "$seconds" -lt 1 ]; then
  echo "ci/fuzz.sh: seconds must be at least 1" >&2
  exit 2
fi

harnesses=(${FUZZ_HARNESSES:-heap bump malloc debug options report})
targets=("${harnesses[@]/#/fuzz_}")
# Longest input each harness is given: 31 to 63 operations of the
# allocator harnesses (their state outlives an input: the malloc layer's
# caches and arenas are the process's), a string of 512.
declare -A max_len=([heap]=192 [bump]=256 [malloc]=128 [debug]=128 [options]=512 [report]=512)
out=build/fuzz-out
mkdir -p "$out"
ci/deps.sh cmake make clang afl++ libclang-rt-14-dev libunwind8

export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_QUIET=1 AFL_NO_AFFINITY=1

build_libfuzzer() { # build dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DWARDEN_FUZZ=libfuzzer -DWARDEN_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}" >/dev/null
}

build_afl() { # build dir, extra cmake args...
  local dir=$1; shift
  AFL_USE_ASAN=1 CC=afl-clang-fast cmake -S . -B "$dir" -DWARDEN_FUZZ=afl \
    -DWARDEN_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  AFL_USE_ASAN=1 cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}" >/dev/null
}

libfuzzer_flags() { # harness
  echo "-timeout=10 -max_len=${max_len[$1]} -dict=$root/fuzz/$1.dict -print_final_stats=1"
}

median() { # numbers...
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ---- executions per second ----------------------------------------------------------
if [ $speed -eq 1 ]; then
  runs=${seconds:-50000}
  build_libfuzzer build/fuzz-libfuzzer
  table="$out/speed.md"
  printf '| harness | executions per CPU second (3 rounds) | median | edges (cov:) |\n| --- | --- | --- | --- |\n' > "$table"
  for h in "${harnesses[@]}"; do
    rates=()
    for round in 1 2 3; do
      work="$out/speed-$h"
      rm -rf "$work" && mkdir -p "$work" && cp -r "corpus/$h" "$work/corpus"
      TIMEFORMAT='%3U %3S'
      cpu=$( { time "build/fuzz-libfuzzer/fuzz/fuzz_$h" $(libfuzzer_flags "$h") -seed=$round -runs="$runs" \
               "$work/corpus" > "$work/log.txt" 2>&1; } 2>&1 )
      execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$')
      rates+=("$(awk -v n="$execs" -v t="$cpu" 'BEGIN { split(t, a, " "); printf "%d", n / (a[1] + a[2]) }')")
    done
    cov=$(grep -o 'cov: [0-9]*' "$work/log.txt" | tail -1 | grep -o '[0-9]*')
    echo "| $h | ${rates[*]} | $(median "${rates[@]}") | $cov |" | tee -a "$table"
  done
  echo "written to $table"
  exit 0
fi

# ---- the fault matrix ----------------------------------------------------------
if [ $faults -eq 1 ]; then
  cap=${seconds:-120}
  ci/faults.sh
  FAULTS_TABLES_ONLY=1 . ci/faults.sh # harness[fault], all_faults
  table="$out/faults.md"
  printf '| fault | harness | libFuzzer: seconds to crash (5 trials) | median | AFL++: seconds to crash (5 trials) | median |\n| --- | --- | --- | --- | --- | --- |\n' > "$table"
  status=0
  for f in ${FUZZ_FAULTS:-${all_faults[@]}}; do
    h=${harness[$f]}
    targets=("fuzz_$h") # only the harness that finds it
    build_libfuzzer "build/fuzz-fault-$f" -DWARDEN_FAULT="$f"
    build_afl "build/fuzz-afl-fault-$f" -DWARDEN_FAULT="$f"
    row="| $f | $h |"
    for engine in libFuzzer AFL++; do
      times=()
      for trial in 1 2 3 4 5; do
        work="$out/fault-$f-$engine-$trial"
        rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts" "$work/in"
        printf '\0\0\0\0' > "$work/in/empty" # AFL++ wants one input: a header alone, no operation
        t0=$(date +%s.%N)
        set +e
        if [ $engine = libFuzzer ]; then
          "build/fuzz-fault-$f/fuzz/fuzz_$h" $(libfuzzer_flags "$h") -seed=$trial -max_total_time="$cap" \
            -artifact_prefix="$work/artifacts/" "$work/corpus" > "$work/log.txt" 2>&1
        else
          AFL_BENCH_UNTIL_CRASH=1 afl-fuzz -s "$trial" -V "$cap" -t 5000 -G "${max_len[$h]}" -i "$work/in" \
            -o "$work/afl" -x "fuzz/$h.dict" -- "build/fuzz-afl-fault-$f/fuzz/fuzz_$h" > "$work/log.txt" 2>&1
        fi
        set -e
        t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        if compgen -G "$work/artifacts/crash-*" >/dev/null || compgen -G "$work/afl/default/crashes/id:*" >/dev/null; then
          times+=("$t")
        else
          times+=("$cap+")
        fi
      done
      m=$(median "${times[@]/%+/}")
      row="$row ${times[*]} | $m |"
      if awk -v m="$m" 'BEGIN { exit !(m >= 60) }'; then # (a trial that found nothing counts as the cap)
        status=1
      fi
    done
    echo "$row" | tee -a "$table"
  done
  echo "fault matrix written to $table (a time with + is a trial that found nothing within the cap)"
  exit $status
fi

# ---- continuous fuzzing ----------------------------------------------------------
seconds=${seconds:-60}
echo "ci/fuzz.sh: building the harnesses for libFuzzer and AFL++"
build_libfuzzer build/fuzz-libfuzzer
build_afl build/fuzz-afl

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
    "build/fuzz-libfuzzer/fuzz/fuzz_$h" -merge=1 -max_len="${max_len[$h]}" "corpus/$h" "$work/corpus" > "$work/merge.txt" 2>&1
    echo "merged: corpus/$h holds $(ls "corpus/$h" | wc -l) inputs (was $before)"
  fi

  # AFL++: persistent mode, the committed corpus as input
  afl_out="$out/afl-$h"
  rm -rf "$afl_out"
  echo "AFL++: fuzz_$h for ${seconds} s"
  afl-fuzz -V "$seconds" -t 5000 -G "${max_len[$h]}" -i "corpus/$h" -o "$afl_out" -x "fuzz/$h.dict" -- \
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
