/* symbolize.h — report stacks in words: each frame as its address, its
 * function and file:line where the module has debug information (asked of
 * llvm-symbolizer, run over pipes at report time), and always its module
 * and offset (which work on a stripped binary and need no tool). */
#ifndef WARDEN_SYMBOLIZE_H
#define WARDEN_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

/* The symbolizers looked for on PATH, in this order. */
#define SYMBOLIZE_TOOLS {"llvm-symbolizer", "llvm-symbolizer-16", "llvm-symbolizer-15", "llvm-symbolizer-14"}

/* Whether to run the symbolizer (0: module+offset only). */
void symbolize_setup(int use_tool);
/* Appends the lines "    #i 0xPC in FUNCTION FILE:LINE (MODULE+0xOFF)" for
 * the n return addresses pcs (innermost first) to out (a NUL-terminated
 * text of cap bytes); returns the new length. */
size_t symbolize_stack(const uintptr_t *pcs, size_t n, char *out, size_t len, size_t cap);

#endif /* WARDEN_SYMBOLIZE_H */
