#!/usr/bin/env bash
# tests/debug/memcheck.sh WARDEN_BUGS GLIBC_BUGS — the memcheck-aware
# libwarden-malloc under Valgrind: bugs.c linked with it (WARDEN_BUGS) must
# draw the same Memcheck reports as bugs.c on glibc's malloc (GLIBC_BUGS):
# the same kinds of error, block sizes and offsets, with the allocation
# (and free) stacks naming bugs.c's functions; and a correct program none.
# Valgrind must be told to leave a malloc that is not libc's alone
# (--soname-synonyms=somalloc=nouseroverride), or it puts its own in place.
set -uo pipefail
warden=$1 glibc=$2
failed=0
fail() { echo "FAIL $*" >&2; failed=1; }
vg=(valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes)
# Memcheck's words for each error, sizes and offsets kept, stacks dropped;
# "alloc'd" (glibc) and "client-defined" (a block a custom allocator
# declared) name the same thing
kinds() {
  sed -n 's/^==[0-9]*== //p' <<< "$1" |
    grep -E "^(Invalid |Conditional jump|Use of uninit|Uninitialised value was created|Mismatched|.* bytes in .* blocks are (definitely|indirectly) lost| *Address .* is )" |
    sed -E "s/ *Address 0x[0-9a-f]+ is/address is/; s/ (alloc'd|client-defined)\$//; s/ in loss record [0-9]+ of [0-9]+//" | sort -u
}
# (not leak_indirect: with blocks in an allocator's own mappings, Memcheck
# takes a lost block's pointers for roots, so its child shows as reachable)
for kind in use_after_free_read use_after_free_write overflow_read overflow underflow leak uninitialised; do
  g=$("${vg[@]}" "$glibc" "$kind" 2>&1)
  w=$("${vg[@]}" --soname-synonyms=somalloc=nouseroverride "$warden" "$kind" 2>&1)
  gk=$(kinds "$g") wk=$(kinds "$w")
  if [ -z "$gk" ]; then
    fail "$kind: Memcheck reported nothing with glibc's malloc"; echo "$g" >&2; continue
  fi
  [ "$gk" = "$wk" ] || { fail "$kind: Memcheck's reports differ (glibc / warden):"; diff <(echo "$gk") <(echo "$wk") >&2; echo "$w" >&2; continue; }
  grep -q "bucket_alloc\|heap_alloc" <<< "$w" || { fail "$kind: warden did not serve the block"; echo "$w" >&2; continue; }
  case $kind in
    leak*|uninitialised) ;;
    *) grep -q "allocate_block (bugs.c" <<< "$w" || { fail "$kind: no allocation stack naming allocate_block"; echo "$w" >&2; continue; } ;;
  esac
  case $kind in use_after_free*)
    grep -A4 "free'd" <<< "$w" | grep -q "release_block (bugs.c" || { fail "$kind: no free stack naming release_block"; echo "$w" >&2; continue; } ;;
  esac
  echo "ok   $kind: $(head -n 1 <<< "$wk")"
done
# a correct program: no error, no definite or indirect leak
w=$("${vg[@]}" --soname-synonyms=somalloc=nouseroverride "$warden" keeps_globals 2>&1); rc=$?
[ "$rc" -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" <<< "$w" && echo "ok   keeps_globals: 0 errors" \
  || { fail "keeps_globals: exit $rc"; echo "$w" >&2; }
exit $failed
