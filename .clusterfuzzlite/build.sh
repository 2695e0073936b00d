#!/bin/bash -eu
# .clusterfuzzlite/build.sh — builds warden's fuzz targets the way OSS-Fuzz
# and ClusterFuzzLite do: instrumentation from $CC/$CFLAGS, the engine from
# $LIB_FUZZING_ENGINE, everything into $OUT. ci/clusterfuzzlite.sh runs this
# script outside Docker with the same variables.
cmake -S "$SRC/warden" -B "$WORK/warden-build" -DCMAKE_BUILD_TYPE=Release \
  -DWARDEN_FUZZ=external -DWARDEN_BUILD_TESTS=OFF
harnesses="heap bump malloc debug options report"
cmake --build "$WORK/warden-build" -j"$(nproc)" --target $(printf 'fuzz_%s ' $harnesses)
for h in $harnesses; do
  case $h in heap) max_len=192 ;; bump) max_len=256 ;; malloc|debug) max_len=128 ;; *) max_len=512 ;; esac # as ci/fuzz.sh
  cp "$WORK/warden-build/fuzz/fuzz_$h" "$OUT/"
  rm -f "$OUT/fuzz_${h}_seed_corpus.zip"
  (cd "$SRC/warden/corpus/$h" && zip -q -j "$OUT/fuzz_${h}_seed_corpus.zip" ./*)
  cp "$SRC/warden/fuzz/$h.dict" "$OUT/fuzz_$h.dict"
  printf '[libfuzzer]\nmax_len = %s\ntimeout = 10\ndict = fuzz_%s.dict\n' "$max_len" "$h" > "$OUT/fuzz_$h.options"
done
