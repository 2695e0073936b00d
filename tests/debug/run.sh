#!/usr/bin/env bash
# tests/debug/run.sh WARDEN_RUN BUGS LIB — every bug of bugs.c under
# warden-run (the debug profile): the exit status, the report's words, and
# the functions of bugs.c its stacks must name; then with halt_on_error=0
# and log_path; then the bugs the release mode (plain LD_PRELOAD) catches.
set -uo pipefail
run=$1 bugs=$2 lib=$3
failed=0
fail() { echo "FAIL $*" >&2; failed=1; }

# debug KIND STATUS WORDS... : runs `warden-run $mode bugs KIND`, wants STATUS
# and every WORDS (a grep -F pattern each; "@name" means a stack frame "in name")
mode=
debug() {
  local kind=$1 want=$2; shift 2
  out=$("$run" $mode "$bugs" "$kind" 2>&1); rc=$?
  [ "$rc" -eq "$want" ] || { fail "$kind: exit $rc, want $want"; echo "$out" >&2; return; }
  for w in "$@"; do
    if [[ $w == @* ]]; then
      grep -Eq "#[0-9]+ 0x[0-9a-f]+ in ${w#@} " <<< "$out" || { fail "$kind: no frame in ${w#@}"; echo "$out" >&2; }
    else
      grep -qF -- "$w" <<< "$out" || { fail "$kind: no '$w'"; echo "$out" >&2; }
    fi
  done
  echo "ok   ${mode:+$mode }$kind ($rc)"
}

# a report's "allocated by" stack, then its "freed by" stack, must name these
section_names() { # kind section function
  local s
  s=$(sed -n "/$2/,/^  [a-z]/p" <<< "$out" | grep -c "in $3 ") || true
  [ "$s" -gt 0 ] || { fail "$1: '$2' stack does not name $3"; echo "$out" >&2; }
}

debug overflow 134 "ERROR: heap-buffer-overflow" "at offset 16 of the 16-byte block" "byte 1 past its end" \
  "free(0x" @release_block @allocate_block @main "allocated by thread T0" "aborting (halt_on_error=1)"
section_names overflow "was allocated by" allocate_block
debug overflow_in_slack 134 "ERROR: heap-buffer-overflow" "at offset 10 of the 10-byte block" @release_block
# the stacks cached for 5000 blocks by one path must not stand for another
debug overflow_after_many 134 "ERROR: heap-buffer-overflow" @allocate_via_b @allocate_block
section_names overflow_after_many "was allocated by" allocate_via_b
grep -q "in allocate_via_a " <<< "$out" && fail "overflow_after_many: the stack of the other path: $out"
debug overflow_many_paths 134 "ERROR: heap-buffer-overflow" @allocate_via_7 @allocate_block
section_names overflow_many_paths "was allocated by" allocate_via_7
grep -Eq "in allocate_via_([0-689]|1[01]) " <<< "$out" && fail "overflow_many_paths: the stack of another path: $out"
debug underflow 134 "ERROR: heap-buffer-underflow" "at offset -1 of the 32-byte block" @release_block @allocate_block
debug overflow_at_exit 134 "survived overflow_at_exit" "ERROR: heap-buffer-overflow" "at offset 30 of the 24-byte block" \
  "found by the heap check" @allocate_block
debug overflow_check_all 134 "ERROR: heap-buffer-overflow" "at offset 41 of the 40-byte block" @allocate_block
debug use_after_free_write 134 "ERROR: heap-use-after-free" "a write into the 48-byte block" "the first at offset 5" \
  "found by the quarantine" @allocate_block @release_block
section_names use_after_free_write "and freed by" release_block
# junk_bytes bounds what the junk covers (4 KiB by default): a write past it is checked only when asked
debug use_after_free_write_far 0 "survived use_after_free_write_far"
grep -q "ERROR" <<< "$out" && fail "use_after_free_write_far: reported past junk_bytes: $out"
out=$(WARDEN_OPTIONS=junk_bytes=0 "$run" "$bugs" use_after_free_write_far 2>&1); rc=$?
[ "$rc" -eq 134 ] && grep -q "a write into the 8192-byte block at 0x[0-9a-f]* after it was freed: 1 bytes changed, the first at offset 6000" <<< "$out" \
  && echo "ok   use_after_free_write_far, junk_bytes=0 (134)" || { fail "junk_bytes=0: exit $rc"; echo "$out" >&2; }
# no quarantine (quarantine_bytes=0): a freed block goes back at once, an overflow is still caught at its free
out=$(WARDEN_OPTIONS=quarantine_bytes=0 "$run" "$bugs" overflow 2>&1); rc=$?
[ "$rc" -eq 134 ] && grep -q "ERROR: heap-buffer-overflow" <<< "$out" \
  && echo "ok   overflow, quarantine_bytes=0 (134)" || { fail "quarantine_bytes=0: exit $rc"; echo "$out" >&2; }
out=$(WARDEN_OPTIONS=quarantine_bytes=0 "$run" "$bugs" overflow_check_all 2>&1); rc=$?
[ "$rc" -eq 134 ] && grep -q "ERROR: heap-buffer-overflow" <<< "$out" \
  && echo "ok   overflow_check_all, quarantine_bytes=0 (134)" || { fail "quarantine_bytes=0 check_all: exit $rc"; echo "$out" >&2; }
debug use_after_free_write_thread 134 "ERROR: heap-use-after-free" "a write into the 48-byte block" "by thread T1" @release_block
debug double_free 134 "ERROR: double-free" "of the 32-byte block, freed already" @main @allocate_block @release_block
section_names double_free "and freed by" release_block
debug double_free_nonadjacent 134 "ERROR: double-free" "of the 32-byte block, freed already" @release_block
debug free_stack 134 "ERROR: invalid-free" "not an address warden handed out" @release_block
debug free_interior 134 "ERROR: invalid-free" "not the start of a block in use" @release_block
debug realloc_freed 134 "ERROR: heap-use-after-free" "realloc(0x" "freed already" @main @release_block
debug underflow_header 134 "ERROR: heap-buffer-underflow: the header before the block at 0x" \
  "was overwritten (a write before its start)" "free(0x" @release_block
debug usable_size_freed 134 "ERROR: heap-use-after-free: malloc_usable_size(0x" "of the 32-byte block, freed already" \
  @main @allocate_block @release_block
grep -q "^usable " <<< "$out" && fail "usable_size_freed: malloc_usable_size returned: $out"
debug heap_header_damaged 134 "ERROR: heap-corruption: arena 0: " "warden_check_all(" @main
grep -q "check_all " <<< "$out" && fail "heap_header_damaged: warden_check_all returned: $out"
# a damaged block leaving the quarantine at warden_check_all's flush, and at the flush of a thread's end
debug use_after_free_check_all 134 "ERROR: heap-use-after-free" "a write into the 48-byte block" \
  "found by the quarantine in thread T0" @quarantine_damaged_block
grep -q "check_all " <<< "$out" && fail "use_after_free_check_all: warden_check_all returned: $out"
debug use_after_free_thread_exit 134 "ERROR: heap-use-after-free" "a write into the 48-byte block" \
  "found by the quarantine in thread T1" @quarantine_damaged_block
# check_every=1: the overflow is found by the check before the free, not by the free
out=$(WARDEN_OPTIONS=check_every=1 "$run" "$bugs" overflow 2>&1); rc=$?
[ "$rc" -eq 134 ] && grep -q "ERROR: heap-buffer-overflow: a write at offset 16 of the 16-byte block" <<< "$out" \
  && grep -q "found by the heap check" <<< "$out" && ! grep -q "free(0x" <<< "$out" \
  && echo "ok   overflow, check_every=1 (found by the heap check)" || { fail "check_every=1: exit $rc"; echo "$out" >&2; }
debug uninitialised 0 "first byte 0xbe"
debug overflow_read 0 "survived overflow_read" # a read past the end: only a guard page sees it
debug segv_handler_chained 0 "the program's own handler ran" "survived segv_handler_chained"

# leaks: found by reachability at exit (status 23), grouped by allocation stack
debug leak 23 "survived leak" "ERROR: memory leaks: 100 bytes in 1 block lost" "Direct leak of 100 bytes in 1 block" \
  @allocate_block @main "SUMMARY: 100 bytes leaked in 1 block"
# a block at an address freed before, its quarantine entry long gone: still lost
out=$(WARDEN_OPTIONS=quarantine_bytes=64k "$run" "$bugs" leak_reused 2>&1); rc=$?
[ "$rc" -eq 23 ] && grep -qF "ERROR: memory leaks: 100 bytes in 1 block lost" <<< "$out" \
  && echo "ok   leak_reused (23)" || { fail "leak_reused: exit $rc"; echo "$out" >&2; }
debug leak_indirect 23 "ERROR: memory leaks: 64 bytes in 2 blocks lost" "Direct leak of 32 bytes in 1 block" \
  "Indirect leak of 32 bytes in 1 block" @allocate_head @allocate_child @lose_list
section_names leak_indirect "Direct leak" allocate_head
section_names leak_indirect "Indirect leak" allocate_child
debug leak_cycle 23 "Direct leak of 32 bytes" "Indirect leak of 32 bytes" @lose_list
debug leak_report_api 23 "warden_leak_report 40" "Direct leak of 40 bytes in 1 block" @allocate_block
[ "$(grep -c 'ERROR: memory leaks' <<< "$out")" -eq 2 ] || fail "leak_report_api: not reported on demand and at exit"
# a correct program keeping blocks in globals, TLS, another thread's stack, by an interior pointer
debug keeps_globals 0 "survived keeps_globals"
grep -q "warden: " <<< "$out" && fail "keeps_globals: a report: $out"
out=$(WARDEN_OPTIONS=leak_reachable=1 "$run" "$bugs" keeps_globals 2>&1); rc=$?
[ "$rc" -eq 0 ] && ! grep -q "ERROR" <<< "$out" && grep -q "Still reachable: 72 bytes in 1 block" <<< "$out" \
  && grep -q "Still reachable: 64 bytes in 1 block" <<< "$out" && echo "ok   keeps_globals, leak_reachable=1" \
  || { fail "leak_reachable=1: exit $rc"; echo "$out" >&2; }
out=$(WARDEN_OPTIONS=detect_leaks=0 "$run" "$bugs" leak 2>&1); rc=$?
[ "$rc" -eq 0 ] && ! grep -q "warden" <<< "$out" && echo "ok   detect_leaks=0" || fail "detect_leaks=0: exit $rc: $out"

# --guard: every block against an inaccessible page; faults at the instruction.
# Twice: with the kernel's guard markers (the default, where it has them)
# and with mprotect (guard_markers=0).
for markers in 1 0; do
export WARDEN_OPTIONS=guard_markers=$markers
echo "--- --guard, guard_markers=$markers"
mode=--guard
debug overflow_read 134 "ERROR: heap-buffer-overflow: a read at offset 32 of the 32-byte block" "byte 1 past its end" \
  "read(0x" @read_at @main @allocate_block
section_names overflow_read "was allocated by" allocate_block
# a SIGSEGV handler the program set with signal() is chained to, not put first
debug overflow_read_own_handler 134 "ERROR: heap-buffer-overflow: a read at offset 32 of the 32-byte block"
grep -q "the program's own handler ran" <<< "$out" && fail "overflow_read_own_handler: the program's handler took warden's fault: $out"
debug underflow_read 134 "ERROR: heap-buffer-underflow: a read at offset -1 of the 4096-byte block" @read_at @allocate_block
debug use_after_free_read 134 "ERROR: heap-use-after-free: a read at offset 8 of the 48-byte block" "after it was freed" \
  @read_at @allocate_block @release_block
section_names use_after_free_read "and freed by" release_block
debug overflow 134 "ERROR: heap-buffer-overflow: a write at offset 16 of the 16-byte block" "write(0x" @write_at @allocate_block
debug use_after_free_write 134 "ERROR: heap-use-after-free: a write at offset 5 of the 48-byte block" @write_at @release_block
debug overflow_in_slack 134 "ERROR: heap-buffer-overflow" "at offset 10 of the 10-byte block" @release_block # canary, at free
debug underflow 134 "ERROR: heap-buffer-underflow" "at offset -1 of the 32-byte block" @release_block
debug double_free 134 "ERROR: double-free" "of the 32-byte block, freed already" @allocate_block @release_block
debug double_free_nonadjacent 134 "ERROR: double-free" @release_block
debug free_stack 134 "ERROR: invalid-free" "not an address warden handed out" @release_block
debug free_interior 134 "ERROR: invalid-free" "not the start of a block in use" @release_block
debug realloc_freed 134 "ERROR: heap-use-after-free" "realloc(0x" "freed already" @release_block
debug overflow_at_exit 134 "ERROR: heap-buffer-overflow" "found by the heap check" @allocate_block
debug uninitialised 0 "first byte 0xbe"
debug leak 23 "Direct leak of 100 bytes in 1 block" @allocate_block
debug leak_indirect 23 "Direct leak of 32 bytes in 1 block" "Indirect leak of 32 bytes in 1 block" @allocate_child
debug keeps_globals 0 "survived keeps_globals"
grep -q "warden: " <<< "$out" && fail "--guard keeps_globals: a report: $out"
debug segv_handler_chained 0 "the program's own handler ran" "survived segv_handler_chained"
out=$(WARDEN_OPTIONS=$WARDEN_OPTIONS:halt_on_error=0 "$run" --guard "$bugs" overflow_read 2>&1); rc=$?
[ "$rc" -eq 23 ] && [ "$(grep -c 'ERROR:' <<< "$out")" -eq 1 ] && grep -q "survived overflow_read" <<< "$out" \
  && echo "ok   --guard overflow_read, halt_on_error=0 (the program goes on)" || { fail "--guard halt_on_error=0: exit $rc"; echo "$out" >&2; }
out=$(WARDEN_OPTIONS=$WARDEN_OPTIONS:guard_slots=64 "$run" --guard "$bugs" guard_pool_full 2>&1); rc=$?
[ "$rc" -eq 134 ] && [ "$(grep -c 'guard pool is in use' <<< "$out")" -eq 1 ] && grep -q "at offset 24 of the 24-byte block" <<< "$out" \
  && echo "ok   --guard guard_slots=64: the pool full, said once, canaries take over" || { fail "guard pool full: exit $rc"; echo "$out" >&2; }
# the program uses up the map count: guard pages refused (said once; with
# markers, opening pages makes no mapping), canaries take over (one block
# in two guarded: the heap has its region before, when no mapping is left)
out=$(WARDEN_OPTIONS=$WARDEN_OPTIONS:guard_rate=2 "$run" --guard "$bugs" guard_map_count 2>&1); rc=$?
[ "$rc" -eq 134 ] && grep -q "ERROR: heap-buffer-overflow: a write at offset 24 of the 24-byte block" <<< "$out" \
  && { [ "$markers" = 1 ] || [ "$(grep -c 'the kernel refused more guard pages (vm.max_map_count): further blocks get canaries only' <<< "$out")" -eq 1 ]; } \
  && echo "ok   --guard guard_map_count ($rc)" || { fail "guard_map_count: exit $rc"; echo "$out" >&2; }
debug wild_guard_read 134 "ERROR: wild-access: a read at 0x" "in warden's guard pool but in no block (a wild pointer)" \
  "read(0x" @read_at
debug guard_mappings 0 "mappings "
read -r _ maps[$markers] _ has_markers <<< "$(grep '^mappings ' <<< "$out")"
done
unset WARDEN_OPTIONS
mode=
# 150 live and 150 freed guarded blocks: with markers the pool stays one
# mapping, with mprotect each slot whose state differs from its neighbours' is one
if [ "$has_markers" = 1 ]; then
  [ "${maps[1]}" -lt $((maps[0] - 200)) ] && echo "ok   guard markers: ${maps[1]} mappings, mprotect: ${maps[0]}" \
    || fail "guard markers: ${maps[1]} mappings, not fewer than mprotect's ${maps[0]} - 200"
else
  echo "skip guard markers: this kernel has none (mprotect: ${maps[0]} mappings)"
fi

# halt_on_error=0: each bug once, the program goes on, and ends with status 23
out=$(WARDEN_OPTIONS=halt_on_error=0 "$run" "$bugs" four_threads_double_free 2>&1); rc=$?
n=$(grep -c "ERROR:" <<< "$out")
[ "$rc" -eq 23 ] && [ "$n" -eq 1 ] && grep -q "survived" <<< "$out" \
  && echo "ok   four_threads_double_free, halt_on_error=0 (one report, exit 23)" \
  || { fail "four threads: exit $rc, $n reports"; echo "$out" >&2; }
out=$(WARDEN_OPTIONS=halt_on_error=0:exitcode=7 "$run" "$bugs" overflow 2>&1); rc=$?
[ "$rc" -eq 7 ] && [ "$(grep -c 'ERROR:' <<< "$out")" -eq 1 ] && grep -q "survived overflow" <<< "$out" \
  && echo "ok   overflow, halt_on_error=0:exitcode=7" || { fail "exitcode=7: exit $rc"; echo "$out" >&2; }

# halt_on_error=0: a pointer warden never handed out, to malloc_usable_size and realloc: 0 and NULL
out=$(WARDEN_OPTIONS=halt_on_error=0 "$run" "$bugs" foreign_pointers 2>&1); rc=$?
[ "$rc" -eq 23 ] && grep -q "ERROR: invalid-free: malloc_usable_size(0x[0-9a-f]*): not an address warden handed out" <<< "$out" \
  && grep -q "^usable 0$" <<< "$out" && grep -q "^realloc NULL$" <<< "$out" && grep -q "survived" <<< "$out" \
  && echo "ok   foreign_pointers, halt_on_error=0 (0 and NULL, exit 23)" || { fail "foreign_pointers: exit $rc"; echo "$out" >&2; }

# Out of address space at start-up (ulimit -v): one line and status 1, never a
# program running unprotected. Each failure is found where it first shows:
# the lowest limit at which the program gets past the dynamic loader.
stage() { # KIB OPTIONS: 0 the loader failed, 1 no arenas, 2 no quarantine, 3 warden started
  local o
  o=$( (ulimit -v "$1"; LD_PRELOAD=$lib WARDEN_OPTIONS=$2 exec "$bugs" uninitialised) 2>&1)
  case $? in 127) echo 0; return ;; esac
  case $o in
    "warden: cannot map its arenas (out of memory)") echo 1 ;;
    "warden: cannot map its quarantine (out of memory)") echo 2 ;;
    *"cannot allocate TLS"*) echo 0 ;;
    *) echo 3 ;;
  esac
}
lowest() { # STAGE OPTIONS: the lowest limit (KiB) at which stage() is STAGE or more
  local lo=1024 hi=1048576 mid
  [ "$(stage $hi "$2")" -ge "$1" ] || { echo 0; return; }
  while [ $((hi - lo)) -gt 4 ]; do
    mid=$(((lo + hi) / 2))
    if [ "$(stage $mid "$2")" -ge "$1" ]; then hi=$mid; else lo=$mid; fi
  done
  echo $hi
}
for want in "1 tcache=1 arenas" "2 quarantine_bytes=1m quarantine"; do
  read -r n opts what <<< "$want"
  kib=$(lowest "$n" "$opts")
  got=$(stage "$kib" "$opts")
  [ "$kib" -gt 0 ] && [ "$got" -eq "$n" ] && echo "ok   ulimit -v $kib: cannot map its $what" \
    || fail "ulimit -v $kib, $opts: stage $got, not $n (cannot map its $what)"
done
# a guard pool larger than the address space left
out=$( (ulimit -v 4194304; WARDEN_OPTIONS=guard_slots=1048576 exec "$run" --guard "$bugs" uninitialised) 2>&1); rc=$?
[ "$rc" -eq 1 ] && [ "$out" = "warden: cannot reserve its guard pool of 1048576 slots (out of address space)" ] \
  && echo "ok   ulimit -v 4 GiB, guard_slots=1048576: cannot reserve" || fail "guard pool over ulimit: exit $rc: $out"
out=$( (ulimit -v 4194304; exec "$run" --guard "$bugs" uninitialised) 2>&1); rc=$?
[ "$rc" -eq 0 ] && grep -q "survived" <<< "$out" && echo "ok   ulimit -v 4 GiB, the default guard pool" \
  || fail "default guard pool under ulimit -v 4 GiB: exit $rc: $out"

# log_path: the report in PATH.PID, nothing on stderr
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
out=$(WARDEN_OPTIONS=log_path=$dir/w "$run" "$bugs" double_free 2>&1); rc=$?
log=$(cat "$dir"/w.* 2>/dev/null)
[ "$rc" -eq 134 ] && grep -q "ERROR: double-free" <<< "$log" && ! grep -q "ERROR" <<< "$out" \
  && echo "ok   log_path" || { fail "log_path: exit $rc, log: $log, stderr: $out"; }
out=$(WARDEN_OPTIONS=log_path=/nonexistent/dir/w "$run" /bin/true 2>&1); rc=$?
[ "$rc" -eq 1 ] && [ "$out" = "warden: cannot open log_path /nonexistent/dir/w.PID" ] && echo "ok   bad log_path" \
  || fail "bad log_path: exit $rc: $out"

# warden-run itself
"$run" --help | grep -q "usage: warden-run" && "$run" --version | grep -q "^warden-run " && echo "ok   --help, --version" \
  || fail "warden-run --help/--version"
out=$("$run" --bogus true 2>&1); rc=$?
[ "$rc" -eq 2 ] && grep -q "unknown option '--bogus'" <<< "$out" && echo "ok   unknown option" || fail "--bogus: $rc $out"
out=$("$run" sh -c 'exit 42' 2>&1); rc=$?
[ "$rc" -eq 42 ] && [ -z "$out" ] && echo "ok   exit status passes through" || fail "exit status: $rc $out"
out=$(LD_PRELOAD=/nonexistent-first.so "$run" sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
[[ $out == /nonexistent-first.so:*libwarden-malloc* ]] && echo "ok   LD_PRELOAD appended" || fail "LD_PRELOAD: $out"

# the release mode (plain preload): the bugs it catches on every free
release() { # kind words
  out=$(LD_PRELOAD=$lib "$bugs" "$1" 2>&1); rc=$?
  [ "$rc" -eq 134 ] && grep -qF -- "$2" <<< "$out" && echo "ok   release $1" || { fail "release $1: exit $rc: $out"; }
}
release double_free "): double free"
release double_free_nonadjacent "): double free"
release free_stack "warden: free("
release free_interior "warden: free("
release realloc_freed "warden: realloc("
exit $failed
