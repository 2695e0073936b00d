#!/usr/bin/env bash
# ci/clusterfuzzlite.sh — runs .clusterfuzzlite/build.sh outside Docker with
# the variables ClusterFuzzLite/OSS-Fuzz set (CC, CXX, CFLAGS, CXXFLAGS,
# LIB_FUZZING_ENGINE, SRC, WORK, OUT), in a libFuzzer+ASan flavour and an
# AFL++ flavour, then checks $OUT and runs each target briefly on its seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/deps.sh clang afl++ zip unzip cmake make
base=$(pwd)/build/cfl
rm -rf "$base"
for flavour in libfuzzer afl; do
  export SRC=$base/$flavour/src WORK=$base/$flavour/work OUT=$base/$flavour/out
  mkdir -p "$SRC" "$WORK" "$OUT"
  ln -s "$(pwd)" "$SRC/warden"
  if [ $flavour = libfuzzer ]; then
    export CC=clang CXX=clang++ LIB_FUZZING_ENGINE=-fsanitize=fuzzer
    export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
  else
    export CC=afl-clang-fast CXX=afl-clang-fast++ LIB_FUZZING_ENGINE=/usr/lib/afl/libAFLDriver.a AFL_QUIET=1
    export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address"
  fi
  export CXXFLAGS=$CFLAGS
  echo "== build.sh, $flavour flavour"
  bash .clusterfuzzlite/build.sh >/dev/null
  for h in heap bump malloc debug options report; do
    for f in "fuzz_$h" "fuzz_${h}_seed_corpus.zip" "fuzz_$h.dict" "fuzz_$h.options"; do
      [ -s "$OUT/$f" ] || { echo "ci/clusterfuzzlite.sh: $flavour: \$OUT/$f missing" >&2; exit 1; }
    done
    seeds=$WORK/seeds-$h
    mkdir -p "$seeds" && unzip -q -o "$OUT/fuzz_${h}_seed_corpus.zip" -d "$seeds"
    if [ $flavour = libfuzzer ]; then
      "$OUT/fuzz_$h" -runs=2000 -max_len="$(sed -n 's/^max_len = //p' "$OUT/fuzz_$h.options")" -dict="$OUT/fuzz_$h.dict" "$seeds" > "$WORK/run-$h.txt" 2>&1
      echo "$flavour fuzz_$h: $(grep -c . "$WORK/run-$h.txt") log lines, $(grep -o 'cov: [0-9]*' "$WORK/run-$h.txt" | tail -1), dictionary $(grep -o 'Dictionary: [0-9]* entries' "$WORK/run-$h.txt")"
    else
      "$OUT/fuzz_$h" "$seeds"/* > "$WORK/run-$h.txt" 2>&1
      echo "$flavour fuzz_$h: replayed $(ls "$seeds" | wc -l) seeds"
    fi
  done
done
unset CC CXX CFLAGS CXXFLAGS LIB_FUZZING_ENGINE
echo "ci/clusterfuzzlite.sh: both flavours built and ran"
