#!/usr/bin/env bash
# ci/coverage.sh — what the tests reach: builds warden with clang's
# source-based coverage (-fprofile-instr-generate -fcoverage-mapping) and
# prints the line and branch coverage of src/, per file, by
#   (a) the corpus replay alone (every fuzz/replay_<harness> over corpus/<harness>/)
#   (b) the whole ctest suite (the corpus replays among it). A process
#       that dies by abort() or _exit() never reaches the profile runtime's
#       writer: warden's own platform_abort and platform_exit write the
#       counts first (src/platform_posix.c), so what only the death tests
#       reach is counted, but for the few lines after that write.
# Fails when a total is under its floor (the coverage reached when the floor
# was set; raise it as tests are added, never lower it to pass).
#
#   ci/coverage.sh            both, into build/coverage/coverage-{replay,suite}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

FLOOR_REPLAY_LINES=92.0
FLOOR_SUITE_LINES=96.8

ci/deps.sh
ci/deps.sh clang llvm
dir=$root/build/coverage
# DWARF 4: the suite runs some programs under Valgrind, whose reader has no DWARF 5
flags="-fprofile-instr-generate -fcoverage-mapping -gdwarf-4"
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" -DCMAKE_SHARED_LINKER_FLAGS="-fprofile-instr-generate" \
  >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null

# Every instrumented ELF file of the build: the programs and the libraries
# preloaded into the tests' programs.
objects=()
while IFS= read -r f; do
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = 177ELF ] && objects+=("$f")
done < <(find "$dir" -type f \( -perm -u+x -o -name '*.so*' \) ! -name '*.o' ! -path '*/CMakeFiles/*' | sort)
object_args=("${objects[0]}")
for f in "${objects[@]:1}"; do
  object_args+=(-object "$f")
done

report() { # name profile-dir
  local name=$1 prof=$2
  llvm-profdata-14 merge -sparse -o "$dir/$name.profdata" "$prof"/*.profraw
  llvm-cov-14 report -instr-profile "$dir/$name.profdata" "${object_args[@]}" "$root/src" \
    > "$dir/coverage-$name.txt" 2>/dev/null
  # file rows: name, regions, missed, cover, functions, missed, executed, lines, missed, cover, branches, missed, cover
  awk -v root="$root/" '
    /^Filename/ || /^-+$/ || $1 == "TOTAL" { next }
    NF >= 13 && $10 != "-" { f = $1; sub(root, "", f); printf "  %-32s lines %7s   branches %7s\n", f, $10, $13 }' \
    "$dir/coverage-$name.txt" | sort
  awk '$1 == "TOTAL" { printf "  %-32s lines %7s   branches %7s\n", "TOTAL", $10, $13 }' "$dir/coverage-$name.txt"
}

total_lines() { # name: the TOTAL row's line coverage, without the %
  awk '$1 == "TOTAL" { sub("%", "", $10); print $10 }' "$dir/coverage-$1.txt"
}

echo "== (a) coverage of src/ by the corpus replay alone"
rm -rf "$dir/prof-replay" && mkdir -p "$dir/prof-replay"
for replay in "$dir"/fuzz/replay_*; do
  h=${replay##*/replay_}
  LLVM_PROFILE_FILE="$dir/prof-replay/$h-%p.profraw" "$replay" "corpus/$h" >/dev/null
done
report replay "$dir/prof-replay"

echo "== (b) coverage of src/ by the whole ctest suite"
rm -rf "$dir/prof-suite" && mkdir -p "$dir/prof-suite"
(cd "$dir" && LLVM_PROFILE_FILE="$dir/prof-suite/%p-%m.profraw" ctest -j"$(nproc)" --timeout 600 >"$dir/ctest.log" 2>&1) || {
  echo "ci/coverage.sh: the suite failed in the coverage build:" >&2
  grep -E "\*\*\*|Failed" "$dir/ctest.log" >&2 || tail -20 "$dir/ctest.log" >&2
  exit 1
}
report suite "$dir/prof-suite"

a=$(total_lines replay) b=$(total_lines suite)
echo "ci/coverage.sh: lines of src/ covered: (a) corpus replay ${a}% (floor ${FLOOR_REPLAY_LINES}%), (b) ctest suite ${b}% (floor ${FLOOR_SUITE_LINES}%)"
awk -v a="$a" -v b="$b" -v fa="$FLOOR_REPLAY_LINES" -v fb="$FLOOR_SUITE_LINES" 'BEGIN { exit !(a >= fa && b >= fb) }' || {
  echo "ci/coverage.sh: coverage fell under its floor" >&2
  exit 1
}
