#!/usr/bin/env bash
# tests/cli/options.sh LIB README — WARDEN_OPTIONS as a user meets it under
# LD_PRELOAD: a bad key or value stops the program with one line and exit
# status 1; help=1 prints the table of keys, which must be the README's;
# verbose=1 and stats=1 speak; tcache=0 still catches a double free.
set -uo pipefail
lib=$1 readme=$2
fail() { echo "options.sh: $*" >&2; exit 1; }
run() { # options, command...: sets out and rc
  local o=$1; shift
  out=$(WARDEN_OPTIONS=$o LD_PRELOAD=$lib "$@" 2>&1); rc=$?
}
keys="help, verbose, stats, arenas, tcache, tcache_bytes, central_bytes, pool_bytes, large_reserve, redzone, quarantine_bytes, junk_alloc, junk_free, junk_bytes, stack_depth, check_every, guard_rate, guard_slots, guard_markers, detect_leaks, leak_reachable, halt_on_error, exitcode, symbolize, log_path"

run "bogus=1" /bin/true
[ $rc -eq 1 ] || fail "unknown key: exit $rc, want 1"
[ "$out" = "warden: WARDEN_OPTIONS: unknown key 'bogus' (keys: $keys)" ] || fail "unknown key said: $out"

run "arenas=100" /bin/echo hi
[ $rc -eq 1 ] || fail "bad value: exit $rc"
[ "$out" = "warden: WARDEN_OPTIONS: bad value '100' for arenas (accepts an integer 0..64)" ] || fail "bad value said: $out"

run "tcache_bytes=lots" /bin/true
[ $rc -eq 1 ] && [[ "$out" == "warden: WARDEN_OPTIONS: bad value 'lots' for tcache_bytes (accepts bytes 1024..1048576 (k, m, g suffixes))" ]] \
  || fail "bad size said ($rc): $out"

run "stats" /bin/true
[ $rc -eq 1 ] && [ "$out" = "warden: WARDEN_OPTIONS: key 'stats' has no value (write stats=VALUE)" ] || fail "no value: $out"

run "help=1" /bin/echo ran
[ $rc -eq 0 ] || fail "help=1: exit $rc"
grep -q '^ran$' <<< "$out" || fail "help=1 did not run the program"
table=$(grep '^|' <<< "$out")
readme_table=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' "$readme" | grep '^|')
[ -n "$table" ] && [ "$table" = "$readme_table" ] || {
  diff <(echo "$table") <(echo "$readme_table") >&2
  fail "help=1's table and README's differ (update README.md from WARDEN_OPTIONS=help=1)"
}
for k in ${keys//,/}; do grep -q "^| \`$k\` |" <<< "$table" || fail "help=1 does not list $k"; done

run "verbose=1:arenas=3" /bin/true
[ $rc -eq 0 ] && grep -q "^warden: options help=0 verbose=1 stats=0 arenas=3 tcache=1 " <<< "$out" || fail "verbose said: $out"

run "stats=1" /bin/ls /
[ $rc -eq 0 ] && grep -q "^warden: stats: .* arenas, .* bytes mapped" <<< "$out" || fail "stats=1 said: $out"

echo "options ok"
