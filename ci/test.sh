#!/usr/bin/env bash
# ci/test.sh — warden's whole test suite, as CI runs it on a fresh machine:
# installs what it needs, then builds and runs every ctest suite in a
# Release build, a Debug+ASan+UBSan build, a TSan build, a memcheck-aware
# build and an MSan build (each with the sanitizer tests its flavour runs),
# shows the use-after-free tests need the poisoning, runs the Release
# tests under Valgrind, builds the bump arena for wasm32-wasi and runs its
# suite under Node's WASI, cross-compiles for Windows and runs that under Wine, measures
# what the corpus and the suite cover (ci/coverage.sh, with floors), and installs
# warden to build a program against it with pkg-config and find_package.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ci/deps.sh
jobs=$(nproc)

section() { printf '\n==== %s ====\n' "$*"; }

build_and_test() { # name, cmake args...
  local name=$1; shift
  section "$name: build"
  rm -rf "build/$name" # a stale cache with another compiler would drop these -D options
  cmake -S . -B "build/$name" -DWARDEN_WERROR=ON "$@" >/dev/null
  cmake --build "build/$name" -j"$jobs"
  section "$name: ctest"
  (cd "build/$name" && ctest --output-on-failure -j"$jobs" --timeout 900)
}

build_and_test release -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build_and_test asan-ubsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
  -DWARDEN_SANITIZER=address,undefined
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  build_and_test tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DWARDEN_SANITIZER=thread
# memcheck-aware: Valgrind client requests compiled in; tests/sanitize runs
# each bug program under Memcheck and asserts its exact report
build_and_test memcheck -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DWARDEN_VALGRIND=ON
# MSan: the uninitialised read, the correct program, the corpus replays
build_and_test msan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DWARDEN_SANITIZER=memory

section "skip_poison: with freed blocks left addressable, the use-after-free tests go unreported"
for flavour in memcheck asan; do
  args=(-DWARDEN_VALGRIND=ON -DCMAKE_C_COMPILER=gcc)
  [ $flavour = asan ] && args=(-DWARDEN_SANITIZER=address -DCMAKE_C_COMPILER=clang)
  rm -rf "build/$flavour-skip-poison"
  cmake -S . -B "build/$flavour-skip-poison" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWARDEN_FAULT=skip_poison \
    -DWARDEN_WERROR=ON "${args[@]}" >/dev/null
  cmake --build "build/$flavour-skip-poison" -j"$jobs" --target san_uaf_read san_uaf_write san_realloc_moved >/dev/null
  (cd "build/$flavour-skip-poison" && ctest --output-on-failure -R 'san_')
done

section "valgrind: every release suite under memcheck"
under_valgrind() { # program...: quiet when clean, everything shown when not (fair scheduling:
  # a thread spinning on a lock must not starve the others, as Valgrind runs one at a time)
  local out
  echo "valgrind $*"
  if ! out=$(WARDEN_STRESS_OPS=600 valgrind -q --fair-sched=yes --error-exitcode=99 --track-origins=yes "$@" 2>&1); then
    printf '%s\n' "$out"
    echo "ci/test.sh: $* failed under valgrind" >&2
    exit 1
  fi
}
for t in build/release/tests/test_*; do
  under_valgrind "$t"
done
under_valgrind build/release/heap_example

section "real programs with warden as their malloc: CPython's tests, sqlite3, git, sort, g++"
tests/real/run.sh "$root/build/release/libwarden-malloc.so"

# (detect_leaks=0 here: git, sort, g++ and CPython's forked children leak for
# real, as Memcheck finds too; tests/real/leaks.sh compares the two on them)
profile=$(sed -n 's/^profile="\(.*\)"$/\1/p' tools/warden-run.in)
guard=$(sed -n 's/^guard="\(.*\)"$/\1/p' tools/warden-run.in)
section "real programs in the debug profile (warden-run's keys): sqlite3, git, sort, g++, no report, same results"
WARDEN_OPTIONS=$profile:detect_leaks=0 REAL_PROGRAMS="sqlite3 git sort g++" \
  tests/real/run.sh "$root/build/release/libwarden-malloc.so"
section "real programs under warden-run --guard's keys: sqlite3, git, sort, g++, no report, same results"
WARDEN_OPTIONS=$profile:$guard:detect_leaks=0 REAL_PROGRAMS="sqlite3 git sort g++" \
  tests/real/run.sh "$root/build/release/libwarden-malloc.so"
section "leaks: warden's leak check finds what Memcheck finds in real programs"
tests/real/leaks.sh "$root/build/release/warden-run"

section "faults: the checker catches every injected bug on its crafted input"
ci/faults.sh

section "coverage: src/ lines and branches reached by the corpus replay, and by the whole suite"
ci/coverage.sh

section "wasm32-wasi: the bump arena and its suite under Node's WASI"
ci/deps.sh clang wasi-libc libclang-rt-14-dev-wasm32 nodejs
build_and_test wasm -DCMAKE_TOOLCHAIN_FILE=ci/wasm32-wasi.cmake -DCMAKE_BUILD_TYPE=Release
echo "minimal wasm module using the arena: $(wc -c < build/wasm/bump_minimal.wasm) bytes (-Os, stripped)"

section "windows: the library cross-compiled with mingw-w64 (VirtualAlloc page source), run under Wine"
ci/deps.sh gcc-mingw-w64-x86-64-posix
cmake -S . -B build/windows -DCMAKE_TOOLCHAIN_FILE=ci/mingw-w64.cmake -DCMAKE_BUILD_TYPE=Release \
  -DWARDEN_BUILD_TESTS=OFF -DWARDEN_WERROR=ON >/dev/null
cmake --build build/windows -j"$jobs"
# ... and run under Wine: the heap and the arena with their checkers, then a
# double free that must end in the warden: line and abort() (exit status 3)
ci/deps.sh wine64
export WINEDEBUG=-all WINEPREFIX="$root/build/wineprefix"
wine=/usr/lib/wine/wine64
"$wine" build/windows/win_smoke.exe 2>/dev/null | grep -a "heap and arena ok"
set +e
misuse=$("$wine" build/windows/win_smoke.exe double-free 2>&1)
rc=$?
set -e
if [ $rc -ne 3 ] || ! grep -aq "warden: warden_heap_free(.*): double free" <<< "$misuse"; then
  echo "ci/test.sh: the double free under Wine was not caught (exit $rc): $misuse" >&2
  exit 1
fi
echo "double free under Wine: caught, exit status 3"

section "install: pkg-config and find_package consumers"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build/release --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name warden.pc)")
cc -Wall -Wextra -Werror tests/install/consumer.c -o "$prefix/consumer_pc" \
  $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs warden)
LD_LIBRARY_PATH=$(dirname "$pcdir") "$prefix/consumer_pc"
cmake -S tests/install -B "$prefix/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
LD_LIBRARY_PATH=$(dirname "$pcdir") "$prefix/consumer-build/consumer_shared"
"$prefix/consumer-build/consumer_static"
# libwarden-malloc: linked through pkg-config and find_package, and preloaded
cc -Wall -Wextra -Werror tests/install/malloc_consumer.c -o "$prefix/malloc_consumer_pc" \
  $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs warden-malloc)
LD_LIBRARY_PATH=$(dirname "$pcdir") "$prefix/malloc_consumer_pc"
LD_LIBRARY_PATH=$(dirname "$pcdir") "$prefix/consumer-build/malloc_consumer_shared"
"$prefix/consumer-build/malloc_consumer_static"
LD_PRELOAD="$(dirname "$pcdir")/libwarden-malloc.so" sort --version >/dev/null
# the memcheck-aware and ASan flavours install beside it, each its own .pc
cmake --install build/memcheck --prefix "$prefix" >/dev/null
cmake --install build/asan-ubsan --prefix "$prefix" >/dev/null
cc tests/install/consumer.c -o "$prefix/consumer_memcheck" $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs warden-memcheck)
LD_LIBRARY_PATH=$(dirname "$pcdir") valgrind -q --error-exitcode=99 "$prefix/consumer_memcheck"
clang tests/install/consumer.c -o "$prefix/consumer_asan" $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs warden-asan)
LD_LIBRARY_PATH=$(dirname "$pcdir") "$prefix/consumer_asan"

# The way the README tells a user: the default prefix, plain pkg-config.
if [ -w /usr/local/lib ]; then
  cmake --install build/release >/dev/null
  command -v ldconfig >/dev/null && ldconfig
  cc tests/install/consumer.c -o "$prefix/consumer_usr_local" $(pkg-config --cflags --libs warden)
  "$prefix/consumer_usr_local"
fi

section "all tests passed"
