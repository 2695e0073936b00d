/* sanitize.c — the one piece of state behind sanitize.h: whether the
 * program runs under Valgrind (asked once, when the first heap or arena is
 * created). */
#include "sanitize.h"

#if SAN_VALGRIND
int san_valgrind_active;
#endif
