# bench/malloc/allocators.sh — sourced by bench/run.sh and bench/callgrind.sh.
# alloc_lib NAME: prints the library to LD_PRELOAD for allocator NAME (empty
# for glibc); returns 1 when it is not installed. Needs $BUILD for warden
# ($WARDEN_SO overrides its path).
ALL_ALLOCATORS="glibc jemalloc mimalloc tcmalloc scudo warden"
ALLOC_PACKAGES="libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 libclang-rt-14-dev"

_dpkg_lib() { # package, file name pattern
  dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | head -n 1
}
alloc_lib() {
  local f=
  case "$1" in
    glibc) return 0 ;;
    jemalloc) f=$(_dpkg_lib libjemalloc2 'libjemalloc\.so\.2') ;;
    mimalloc) f=$(_dpkg_lib libmimalloc2.0 'libmimalloc\.so\.2') ;;
    tcmalloc) f=$(_dpkg_lib libtcmalloc-minimal4 'libtcmalloc_minimal\.so\.4') ;;
    scudo)
      f=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.scudo_standalone-x86_64.so
      [ -e "$f" ] || f=$(_dpkg_lib libclang-rt-14-dev 'libclang_rt\.scudo_standalone-x86_64\.so') ;;
    warden) f=${WARDEN_SO:-$BUILD/libwarden-malloc.so} ;;
    *) echo "unknown allocator '$1' (one of: $ALL_ALLOCATORS)" >&2; return 2 ;;
  esac
  [ -n "$f" ] && [ -e "$f" ] || return 1
  # a library that cannot be preloaded is ignored by ld.so with a message
  # on stderr, and the program runs on glibc: refuse that
  local msg
  if ! msg=$(LD_PRELOAD=$f /bin/true 2>&1) || [[ $msg == *"cannot be preloaded"* ]]; then
    echo "$1: $f cannot be preloaded" >&2
    return 1
  fi
  printf '%s\n' "$(readlink -f "$f")"
}
