#!/usr/bin/env bash
# bench/valgrind_cost.sh [rounds] — what WARDEN_VALGRIND=ON costs a program
# that is NOT running under Valgrind: builds bench_heap against a plain
# Release warden and a memcheck-aware Release warden, runs the two binaries
# alternately (rounds times each, default 7) and prints the median ns per
# alloc+free pair of warden_heap for each workload, and their ratio.
# Two rows per workload: the memcheck-aware build as shipped (its heaps keep
# a quarantine by default) and with --no-quarantine (the client requests alone).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
case "$rounds" in ''|*[!0-9]*) echo "valgrind_cost.sh: rounds must be a number" >&2; exit 2 ;; esac
for b in plain memcheck; do
  extra=()
  [ $b = memcheck ] && extra=(-DWARDEN_VALGRIND=ON)
  cmake -S . -B "build/bench-$b" -DCMAKE_BUILD_TYPE=Release -DWARDEN_BUILD_TESTS=OFF "${extra[@]}" >/dev/null
  cmake --build "build/bench-$b" -j"$(nproc)" --target bench_heap >/dev/null
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 0; r < rounds; r++)); do
  for b in plain memcheck; do
    for q in "" --no-quarantine; do
      "build/bench-$b/bench/bench_heap" --runs 1 $q |
        awk -v b="$b" -v q="${q:-default}" '/^[a-z0-9]+:/ { w = $1 } / warden_heap  / { print w, b, q, $2 }' >> "$out"
    done
  done
done
awk -v rounds="$rounds" '
  function median(key,   n, i, j, t, v) {
    n = split(vals[key], v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  { vals[$1 " " $2 " " $3] = vals[$1 " " $2 " " $3] " " $4; seen[$1] = 1 }
  END {
    for (w in seen) for (q = 0; q < 2; q++) {
      qn = q ? "--no-quarantine" : "default"
      p = median(w " plain " qn); m = median(w " memcheck " qn)
      printf "%-9s %-16s %10.1f %14.1f %6.2fx\n", w, qn, p, m, m / p
    }
  }' "$out" > "$out.rows"
echo "warden_heap ns per alloc+free, median of $rounds alternating runs (not under Valgrind)"
printf "%-9s %-16s %10s %14s %7s\n" workload quarantine plain memcheck-aware ratio
sort -k1,1 -k2,2 "$out.rows"
rm -f "$out.rows"
