#!/usr/bin/env bash
# ci/demo.sh — builds warden (Release), runs the bundled buggy program under
# warden-run (the debug profile's report, with its stacks), then the heap
# example: a heap at work, its invariant checker, misuse caught. README's
# first command.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/deps.sh cmake make gcc pkg-config llvm libunwind8
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DWARDEN_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" --target heap_example buggy_example warden_malloc >/dev/null
echo "\$ warden-run build/demo/buggy_example"
build/demo/warden-run build/demo/buggy_example || echo "(exit status $?: warden aborted it after the report)"
echo
build/demo/heap_example
