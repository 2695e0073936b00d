#!/usr/bin/env bash
# tests/real/leaks.sh WARDEN_RUN — warden's leak check against Memcheck's on
# real programs that leak for real: for each, the bytes and blocks warden
# reports lost (detect_leaks=1, warden-run's profile) must be the bytes and
# blocks Memcheck calls definitely + indirectly lost with glibc's malloc.
#   git config   a strdup'ed value git never frees
#   sort         a 40-byte block of coreutils' sort
# and programs that leak nothing by Memcheck (python -c, sqlite3 :memory:)
# must draw no report from warden. CPython's child after a fork leaks the
# locks it makes anew (how many depends on its threads' timing): both tools
# must find blocks lost there, warden's allocated by PyThread_allocate_lock.
# Needs valgrind, git, python3, sqlite3.
set -uo pipefail
run=$1
failed=0
fail() { echo "FAIL $*" >&2; failed=1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
git init -q repo
seq 2000 | sort -R --random-source=<(yes) > lines
cat > fork.py <<'PY'
import os, threading
t = threading.Thread(target=lambda: None); t.start(); t.join()
pid = os.fork()
if pid == 0:
    print("child")
else:
    os.waitpid(pid, 0)
PY

# "N bytes in M blocks" lost by warden (summed over processes) and by Memcheck
warden_lost() {
  sed -n 's/.*memory leaks: \([0-9]*\) bytes in \([0-9]*\) blocks\{0,1\} lost.*/\1 \2/p' <<< "$1" |
    awk '{b += $1; n += $2} END {print b + 0, n + 0}'
}
memcheck_lost() {
  sed -n 's/.*\(definitely\|indirectly\) lost: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\2 \3/p' <<< "$1" | tr -d , |
    awk '{b += $1; n += $2} END {print b + 0, n + 0}'
}
check() { # name, command...
  local name=$1; shift
  local w m
  w=$(PYTHONMALLOC=malloc "$run" "$@" 2>&1 >/dev/null)
  m=$(PYTHONMALLOC=malloc valgrind --leak-check=full "$@" 2>&1 >/dev/null)
  local wl ml
  wl=$(warden_lost "$w") ml=$(memcheck_lost "$m")
  [ "$wl" = "$ml" ] && echo "ok   $name: warden and Memcheck both find '$wl' (bytes blocks) lost" \
    || { fail "$name: warden finds '$wl' lost, Memcheck '$ml'"; echo "$w" | grep -v '^    #' >&2; }
}
check "git config" git -C repo config gc.auto 0
check "sort" sort -S 1M lines
w=$(PYTHONMALLOC=malloc "$run" /usr/bin/python3 fork.py 2>&1 >/dev/null)
m=$(PYTHONMALLOC=malloc valgrind --leak-check=full /usr/bin/python3 fork.py 2>&1 >/dev/null)
[ "$(warden_lost "$w" | cut -d' ' -f2)" -gt 0 ] && [ "$(memcheck_lost "$m" | cut -d' ' -f2)" -gt 0 ] &&
  grep -q "in PyThread_allocate_lock" <<< "$w" &&
  echo "ok   python fork: both find blocks lost in the child ('$(warden_lost "$w")' / '$(memcheck_lost "$m")')" ||
  { fail "python fork: warden '$(warden_lost "$w")', Memcheck '$(memcheck_lost "$m")'"; echo "$w" >&2; }
check "python -c" /usr/bin/python3 -c "import json, re; print(json.dumps([1]))"
check "sqlite3" sqlite3 :memory: "create table t(x); insert into t values (1),(2); select sum(x) from t;"
exit $failed
