#!/bin/sh
# run_interpose.sh PROGRAM — runs PROGRAM (with whatever LD_PRELOAD ctest set),
# shows what it printed, and passes only when it exited 0 and printed
# "interpose ok" (ctest's PASS_REGULAR_EXPRESSION alone ignores the status).
out=$("$1" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
  echo "run_interpose.sh: $1 exited with status $rc"
  exit 1
fi
case "$out" in
  *"interpose ok"*) exit 0 ;;
esac
echo "run_interpose.sh: $1 did not print \"interpose ok\""
exit 1
