#!/usr/bin/env bash
# ci/faults.sh — proves the invariant checker catches every fault that
# WARDEN_FAULT can inject: for each one, builds the replay driver with the
# fault compiled in and replays the crafted input that reaches it; the run
# must abort with "invariant broken" (the checker's verdict, the block count
# or a misuse the debug profile let by). A plain build must pass
# the same inputs (ctest's corpus tests show that).
#   ci/faults.sh [fault...]     (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

# fault -> harness and the seed (corpus/<harness>/seed-<name>) that reaches it
# (ci/fuzz.sh --faults reads these two tables)
declare -A harness=(
  [coalesce_next]=heap [coalesce_prev]=heap [freelist_drop]=heap
  [split_overrun]=heap [grow_overlap]=heap [bump_double_slot]=bump
  [tcache_double_free]=malloc [remote_lost]=malloc [quarantine_skips_junk]=debug
  [canary_late]=debug [guard_early_reuse]=debug)
declare -A crafted=(
  [coalesce_next]=coalesce-next [coalesce_prev]=coalesce-prev [freelist_drop]=coalesce-next
  [split_overrun]=split [grow_overlap]=grow-blocked [bump_double_slot]=bins
  [tcache_double_free]=tcache-full [remote_lost]=remote-free [quarantine_skips_junk]=write-after-free
  [canary_late]=overflow [guard_early_reuse]=guard-reuse)
all_faults=(coalesce_next coalesce_prev freelist_drop split_overrun grow_overlap bump_double_slot
            tcache_double_free remote_lost quarantine_skips_junk canary_late guard_early_reuse)
[ "${FAULTS_TABLES_ONLY:-0}" = 1 ] && return 0

faults=("$@")
[ ${#faults[@]} -eq 0 ] && faults=("${all_faults[@]}")
for f in "${faults[@]}"; do
  if [ -z "${harness[$f]:-}" ]; then
    echo "ci/faults.sh: unknown fault '$f' (one of: ${!harness[*]})" >&2
    exit 2
  fi
done

failed=0
for f in "${faults[@]}"; do
  h=${harness[$f]}
  input=corpus/$h/seed-${crafted[$f]}
  dir=build/fault-$f
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DWARDEN_FAULT="$f" -DWARDEN_BUILD_TESTS=OFF >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target "replay_$h" >/dev/null
  set +e
  out=$("$dir/fuzz/replay_$h" "$input" 2>&1)
  rc=$?
  set -e
  line=$(printf '%s\n' "$out" | grep -m1 "invariant broken" || true)
  if [ $rc -ne 0 ] && [[ $line == *"invariant broken: "* ]]; then
    printf '%-22s caught on %s: %s\n' "$f" "$input" "${line#*invariant broken: }"
  else
    printf '%-22s NOT caught on %s (exit %d): %s\n' "$f" "$input" "$rc" "$out"
    failed=1
  fi
done
exit $failed
