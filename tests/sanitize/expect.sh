#!/usr/bin/env bash
# expect.sh TOOL VERDICT SOURCE PROGRAM [PATTERN...] — runs one sanitizer
# test program and judges what the tool printed.
#   TOOL     memcheck: under valgrind (error exit 42, leak check, origins)
#            direct:   as built (ASan/MSan/UBSan report on their own)
#   VERDICT  report: the tool must fail the run, print every PATTERN (grep -E)
#                    and, for direct runs, name the line of SOURCE marked BUG
#            clean:  the run must pass with no report at all
set -uo pipefail
tool=$1 verdict=$2 source=$3 program=$4
shift 4
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ "$tool" = memcheck ]; then
  valgrind --error-exitcode=42 --leak-check=full --errors-for-leak-kinds=definite \
    --track-origins=yes "$program" > "$log" 2>&1
else
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$program" > "$log" 2>&1
fi
rc=$?
out=$(head -c 1000000 "$log") # a runaway report must not take the machine's memory
fail() {
  printf '%s\n' "$out" | head -200
  echo "expect.sh: $(basename "$program") under $tool: $*" >&2
  exit 1
}
if [ "$verdict" = clean ]; then
  [ $rc -eq 0 ] || fail "expected a clean run, exit status $rc"
  if grep -qE 'ERROR: AddressSanitizer|WARNING: MemorySanitizer|runtime error:' <<< "$out"; then
    fail "expected a clean run, a sanitizer reported"
  fi
  if [ "$tool" = memcheck ] && ! grep -q 'ERROR SUMMARY: 0 errors' <<< "$out"; then
    fail "expected ERROR SUMMARY: 0 errors"
  fi
  echo "clean, as expected"
  exit 0
fi
[ $rc -ne 0 ] || fail "expected a report, the run passed"
[ "$tool" = memcheck ] && [ $rc -ne 42 ] && fail "expected valgrind's error exit 42, got $rc"
for pattern in "$@"; do
  grep -qE -- "$pattern" <<< "$out" || fail "missing: $pattern"
done
if [ "$tool" = direct ]; then
  line=$(grep -n '/\* BUG \*/' "$source" | cut -d: -f1)
  grep -q "$(basename "$source"):$line" <<< "$out" || fail "the report does not name $(basename "$source"):$line"
fi
echo "reported, as expected:"
grep -E -- "$(IFS='|'; echo "$*")" <<< "$out" | head -8 || true
