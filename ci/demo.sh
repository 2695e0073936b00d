#!/usr/bin/env bash
# ci/demo.sh — builds warden (Release) and runs the bundled example: a heap
# at work, its invariant checker, and misuse caught. README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/deps.sh cmake make gcc pkg-config
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DWARDEN_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" --target heap_example >/dev/null
build/demo/heap_example
