#!/usr/bin/env bash
# bench/debug_peers.sh [--rounds N] [--quick] [--only LIST] [--tools LIST]
#
# Runs the malloc workloads of bench/run.sh (bench/malloc/) under the debug
# allocators warden's debug profile replaces, in rounds: every round runs
# each workload once under each tool, the tool order rotated from round to
# round. bench/malloc/runner measures each run as in bench/run.sh (wall time,
# peak RSS of the child it spawns, its exit status, its checksum line
# against glibc's). Tools:
#   glibc        nothing preloaded: the baseline
#   warden-debug LD_PRELOAD=libwarden-malloc.so, WARDEN_OPTIONS = the profile
#                of tools/warden-run.in (its profile="..." line, read at run time)
#   warden-guard the same, WARDEN_OPTIONS = profile:$WARDEN_GUARD_OPTIONS
#                (skipped with a warning when WARDEN_GUARD_OPTIONS is unset)
#   warden-variant the same, WARDEN_OPTIONS = profile:$WARDEN_VARIANT_OPTIONS: the
#                profile with keys of your own, side by side with it (skipped
#                with a warning when WARDEN_VARIANT_OPTIONS is unset)
#   efence       Electric Fence, LD_PRELOAD=libefence.so.0 (Debian electric-fence)
#   duma         DUMA, LD_PRELOAD=libduma.so (Debian duma)
#   dislocator   AFL++'s libdislocator.so (Debian afl++)
#   memcheck     valgrind --tool=memcheck -q: the runner runs valgrind as the
#                program, so time and peak RSS are valgrind's with the program
#   mallocheck   MALLOC_CHECK_=3, LD_PRELOAD=libc_malloc_debug.so.0 (glibc >= 2.34)
# efence's and DUMA's banners are off (EF_DISABLE_BANNER=1, DUMA_DISABLE_BANNER=1);
# every other setting is the tool's default.
# Each run's timeout: TIMEOUT_FACTOR (default 150) times glibc's time for the
# workload in this round (in rounds after the first, where glibc may come
# later in the order, its time of the round before), at least 10 s; glibc's
# first run of a workload has bench/run.sh's 300 s. Each run's address space
# is limited to MEM_LIMIT_MIB (default 12288, half this 24 GiB machine; 0: no
# limit) with ulimit -v: libdislocator never returns freed pages and reached
# 18 GiB of RSS within larson's timeout, on a machine others use too. Then
# bench/debug_table.py writes, into $OUT:
#   raw.csv   every run (status, wall time, peak RSS, timeout, its first stdout
#             line, the last line and the last 4 lines of its stderr)
#   table.md  per workload glibc's absolute time and RSS, and per tool the
#             median over rounds of the per-round time / RSS ratio to glibc,
#             or the failure (timeout, SIGSEGV, ENOMEM, ...) when the tool
#             failed in any round; geometric means over the workloads each
#             tool passed; vm.max_map_count; every failure's last stderr line
#   logs/     the last 200 lines of each run's stderr
#
#   --rounds N   rounds (default 3)
#   --quick      1 round at a small scale (as bench/run.sh --quick)
#   --only LIST  comma-separated workloads, default all of bench/run.sh's
#   --tools LIST comma-separated tools, default all; glibc always runs
# Environment: BUILD (default build/release) holds bench/malloc/* and
# libwarden-malloc.so (WARDEN_SO overrides that path); OUT (default
# /tmp/debug-peers); TIMEOUT_FACTOR (default 150); MEM_LIMIT_MIB (default
# 12288); WARDEN_GUARD_OPTIONS
# (e.g. guard_rate=1); WARDEN_VARIANT_OPTIONS (e.g. quarantine_bytes=64m); BENCH_NO_DEPS=1 skips the package install
# (ci/deps.sh electric-fence duma afl++ valgrind). Takes the lock of
# bench/run.sh: one benchmark at a time.
set -euo pipefail
cmdline="bench/debug_peers.sh${*:+ $*}"
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/release}
OUT=${OUT:-/tmp/debug-peers}
TIMEOUT_FACTOR=${TIMEOUT_FACTOR:-150}
MEM_LIMIT_MIB=${MEM_LIMIT_MIB:-12288}
ALL_TOOLS="glibc warden-debug warden-guard warden-variant efence duma dislocator memcheck mallocheck"
die() { echo "debug_peers.sh: $*" >&2; exit 2; }
warn() { echo "debug_peers.sh: warning: $*" >&2; }

# the workloads are bench/run.sh's (its WORKLOADS="..." line)
WORKLOADS=$(sed -n 's/^WORKLOADS="\(.*\)"$/\1/p' bench/run.sh | head -n 1)
[ -n "$WORKLOADS" ] || die "no WORKLOADS=\"...\" line in bench/run.sh"
# shellcheck disable=SC2034 # rounds_set: bench_parse_args reads it
rounds=3 rounds_set=0 quick=0 only=$WORKLOADS tools=$ALL_TOOLS
# shellcheck source=bench/malloc/args.sh
. bench/malloc/args.sh
bench_parse_args --tools tools "$@"
case "$TIMEOUT_FACTOR" in ''|*[!0-9.]*) die "TIMEOUT_FACTOR must be a number" ;; esac
case "$MEM_LIMIT_MIB" in ''|*[!0-9]*) die "MEM_LIMIT_MIB must be a whole number" ;; esac
bench_check_names workload "$only" "$WORKLOADS"
bench_check_names tool "$tools" "$ALL_TOOLS"

[ -n "${BENCH_NO_DEPS:-}" ] || ci/deps.sh electric-fence duma afl++ valgrind

bin=$BUILD/bench/malloc
[ -x "$bin/runner" ] || die "$bin/runner not found: build first (cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD -j)"
for w in $only; do [ -x "$bin/$w" ] || die "$bin/$w not found: rebuild $BUILD"; done

pkg_file() { # package, file name regex: the first file of the package that matches
  dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | head -n 1
}
# lib_ok FILE: exists and ld.so preloads it (it ignores one it cannot, with a message)
lib_ok() {
  local msg
  [ -n "$1" ] && [ -e "$1" ] || return 1
  msg=$(LD_PRELOAD=$1 EF_DISABLE_BANNER=1 DUMA_DISABLE_BANNER=1 /bin/true 2>&1) || return 1
  [[ $msg != *"cannot be preloaded"* ]]
}
wardenlib_time() { stat -L -c %y "${WARDEN_SO:-$BUILD/libwarden-malloc.so}" 2>/dev/null | cut -d. -f1 || echo '?'; }
profile=$(sed -n 's/^profile="\(.*\)"$/\1/p' tools/warden-run.in | head -n 1)
[ -n "$profile" ] || die "no profile=\"...\" line in tools/warden-run.in"

# per tool: its preload (lib), its other environment (envs, as "A=x B=y"), a
# command before the program (pre)
names=(glibc) libs=("") envs=("") pres=("")
for t in $tools; do
  [ "$t" = glibc ] && continue
  lib="" env="" pre=""
  case "$t" in
    warden-debug) lib=${WARDEN_SO:-$BUILD/libwarden-malloc.so} env="WARDEN_OPTIONS=$profile" ;;
    warden-guard)
      if [ -z "${WARDEN_GUARD_OPTIONS:-}" ]; then warn "WARDEN_GUARD_OPTIONS is unset, warden-guard skipped"; continue; fi
      lib=${WARDEN_SO:-$BUILD/libwarden-malloc.so} env="WARDEN_OPTIONS=$profile:$WARDEN_GUARD_OPTIONS" ;;
    warden-variant)
      if [ -z "${WARDEN_VARIANT_OPTIONS:-}" ]; then warn "WARDEN_VARIANT_OPTIONS is unset, warden-variant skipped"; continue; fi
      lib=${WARDEN_SO:-$BUILD/libwarden-malloc.so} env="WARDEN_OPTIONS=$profile:$WARDEN_VARIANT_OPTIONS" ;;
    efence) lib=$(pkg_file electric-fence 'libefence\.so\.0') ;;
    duma) lib=$(pkg_file duma 'libduma\.so') ;;
    dislocator) lib=$(pkg_file afl++ 'libdislocator\.so') ;;
    mallocheck) lib=/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 env="MALLOC_CHECK_=3" ;;
    memcheck)
      command -v valgrind > /dev/null || { warn "valgrind not found, memcheck skipped"; continue; }
      pre="valgrind --tool=memcheck -q" ;;
  esac
  if [ "$t" != memcheck ]; then
    lib_ok "$lib" || { warn "$t: library '${lib:-?}' missing or not preloadable, skipped"; continue; }
    lib=$(readlink -f "$lib")
  fi
  names+=("$t") libs+=("$lib") envs+=("$env") pres+=("$pre")
done
n=${#names[@]}

timeout_for() { # glibc seconds (empty: unknown) -> whole seconds
  if [ -z "$1" ]; then echo 300; return; fi
  awk -v g="$1" -v f="$TIMEOUT_FACTOR" 'BEGIN { t = g * f; t = (t == int(t)) ? t : int(t) + 1; print (t < 10 ? 10 : t) }'
}

# one benchmark at a time on this machine: bench/run.sh's lock
exec 9> "${TMPDIR:-/tmp}/warden-bench.lock"
flock -n 9 || { echo "debug_peers.sh: another benchmark is running, waiting for it" >&2; flock 9; }

mkdir -p "$OUT/logs"
rm -f "$OUT"/logs/*.stderr
raw=$OUT/raw.csv
echo "round,workload,tool,position,status,wall_s,maxrss_kib,timeout_s,output,stderr_last,stderr_tail" > "$raw"
{
  echo "command: $cmdline"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "rounds: $rounds"
  echo "scale: $([ $quick = 1 ] && echo 'quick (0.1; malloc_large 0.05)' || echo 1)"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), kernel $(uname -r), $(ldd --version | head -n 1 | sed 's/^ldd //'), $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "max_map_count: $(cat /proc/sys/vm/max_map_count)"
  echo "timeout: $TIMEOUT_FACTOR x glibc's time, at least 10 s"
  echo "memory limit: $([ "$MEM_LIMIT_MIB" = 0 ] && echo none || echo "address space (ulimit -v) $MEM_LIMIT_MIB MiB per run")"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "versions: electric-fence $(dpkg-query -W -f='${Version}' electric-fence 2>/dev/null || echo '?'), duma $(dpkg-query -W -f='${Version}' duma 2>/dev/null || echo '?'), afl++ $(dpkg-query -W -f='${Version}' afl++ 2>/dev/null || echo '?'), $(valgrind --version 2>/dev/null || echo 'valgrind ?'), libc6 $(dpkg-query -W -f='${Version}' libc6 2>/dev/null || echo '?')"
  for i in $(seq 1 $((n - 1))); do
    echo "tool ${names[$i]}: ${envs[$i]:+${envs[$i]} }${libs[$i]:+LD_PRELOAD=${libs[$i]} }${pres[$i]}"
  done
  echo "warden: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified)'), library built $(wardenlib_time)"
} > "$OUT/meta.txt"

ulimit -c 0
clean_env=(-u LD_PRELOAD -u WARDEN_OPTIONS -u MALLOC_CHECK_ -u MALLOC_PERTURB_ -u GLIBC_TUNABLES
  -u EF_PROTECT_BELOW -u EF_ALIGNMENT -u EF_PROTECT_FREE -u DUMA_PROTECT_BELOW -u DUMA_ALIGNMENT -u DUMA_PROTECT_FREE
  -u AFL_LD_LIMIT_MB -u AFL_LD_HARD_FAIL -u AFL_LD_VERBOSE)
declare -A ref glibc_t
start=$SECONDS
for ((r = 1; r <= rounds; r++)); do
  order=()
  for ((k = 0; k < n; k++)); do order+=($(((k + r - 1) % n))); done
  for w in $only; do
    for ((pos = 0; pos < n; pos++)); do
      i=${order[$pos]} a=${names[$i]}
      exp=()
      [ -n "${ref[$w]:-}" ] && exp=(-e "${ref[$w]}")
      to=$(timeout_for "${glibc_t[$w]:-}")
      read -r -a env <<< "${envs[$i]}"
      read -r -a pre <<< "${pres[$i]}"
      err=$OUT/logs/$r.$w.$a.stderr
      line=$([ "$MEM_LIMIT_MIB" = 0 ] || ulimit -v $((MEM_LIMIT_MIB * 1024))
        exec env "${clean_env[@]}" EF_DISABLE_BANNER=1 DUMA_DISABLE_BANNER=1 "${env[@]}" \
        "$bin/runner" -p "${libs[$i]}" -t "$to" "${exp[@]}" -- "${pre[@]}" "$bin/$w" "$(scale_of "$w")" 2> "$err.full") || true
      tail -n 200 "$err.full" > "$err"; rm -f "$err.full"
      [ -s "$err" ] || rm -f "$err"
      [ -n "$line" ] || line="runner-failed,0,0,"
      IFS=, read -r st wall rss output <<< "$line"
      # the last line of stderr, and its last 4 lines joined by " / " (a message may span lines)
      last="" tail4=""
      if [ -e "$err" ]; then
        last=$(grep -v '^[[:space:]]*$' "$err" | tail -n 1 | tr ',"\r' ';;;' || true)
        tail4=$(grep -v '^[[:space:]]*$' "$err" | tail -n 4 | tr ',"\r' ';;;' | sed 's/^[[:space:]]*//' | paste -sd '\t' | sed 's/\t/ \/ /g' || true)
      fi
      if [ "$a" = glibc ] && [ "$st" = ok ]; then
        [ -z "${ref[$w]:-}" ] && ref[$w]=$output
        glibc_t[$w]=$wall
      fi
      echo "$r,$w,$a,$pos,$st,$wall,$rss,$to,$output,${last:0:300},${tail4:0:600}" >> "$raw"
      printf '[%d/%d %5ds] %-13s %-12s %9.3f s %8.1f MiB  %s%s\n' "$r" "$rounds" $((SECONDS - start)) "$w" "$a" "$wall" \
        "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$st" "${last:+  ($last)}"
    done
  done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/meta.txt"
if ! grep -qF "library built $(wardenlib_time)" "$OUT/meta.txt"; then
  warn "libwarden-malloc.so was rebuilt during the runs (now $(wardenlib_time))"
  echo "warden rebuilt during the runs: library built $(wardenlib_time) at the end" >> "$OUT/meta.txt"
fi
echo "run time: $((SECONDS - start)) s" >> "$OUT/meta.txt"
echo "debug_peers.sh: $((SECONDS - start)) s of runs" >&2
/usr/bin/python3 bench/debug_table.py "$OUT"
