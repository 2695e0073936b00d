# shellcheck shell=bash
# bench/malloc/args.sh — sourced by bench/run.sh and bench/debug_peers.sh:
# their shared options and what --quick means. Needs die() (prints its
# arguments and exits 2) and the defaults of rounds, rounds_set, quick, only
# and the list variable.
#
# bench_parse_args LISTOPT VAR ARGS...: parses --rounds N, --quick, --only
# LIST, LISTOPT LIST (into the variable VAR; e.g. --alloc allocs), -h/--help
# (prints the script's header comment: its lines 2 to "set -euo"), each
# "--opt=value" as well, commas in a list read as spaces; checks that rounds
# is a positive number; --quick without --rounds: 1 round.
bench_parse_args() {
  local listopt=$1 var=$2 v
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
      --rounds) [ $# -ge 2 ] || die "--rounds needs a number"; rounds=$2; rounds_set=1; shift 2 ;;
      --rounds=*) rounds=${1#*=}; rounds_set=1; shift ;;
      --quick) quick=1; shift ;;
      --only) [ $# -ge 2 ] || die "--only needs a list"; only=${2//,/ }; shift 2 ;;
      --only=*) only=${1#*=}; only=${only//,/ }; shift ;;
      "$listopt") [ $# -ge 2 ] || die "$listopt needs a list"; printf -v "$var" '%s' "${2//,/ }"; shift 2 ;;
      "$listopt"=*) v=${1#*=}; printf -v "$var" '%s' "${v//,/ }"; shift ;;
      -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
  done
  case "$rounds" in ''|*[!0-9]*|0) die "--rounds must be a positive number" ;; esac
  [ "$quick" = 1 ] && [ "$rounds_set" = 0 ] && rounds=1
  return 0
}

# bench_check_names WHAT LIST VALID: dies on the first name of LIST that is
# not one of VALID ("unknown WHAT 'x' (one of: VALID)")
bench_check_names() {
  local x
  for x in $2; do
    case " $3 " in *" $x "*) ;; *) die "unknown $1 '$x' (one of: $3)" ;; esac
  done
}

# scale_of WORKLOAD: 1 by default; --quick: a tenth (malloc_large a twentieth)
scale_of() {
  if [ "$quick" = 1 ]; then
    [ "$1" = malloc_large ] && echo 0.05 || echo 0.1
  else
    echo 1
  fi
}
