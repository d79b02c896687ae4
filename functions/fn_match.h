/*
 * fn_match.h -- counters and caps of f_match and f_matchText (PCRE2 regex
 * matching).
 *
 * f_match(text, pattern) itself is reached through the function registry
 * (analog/functions.h); this header only lets the run summary show how
 * often hostile input hit f_match's caps.
 */
#ifndef FN_MATCH_H
#define FN_MATCH_H

#include <stdint.h>

/* PCRE2 match limit per call: a pattern/text pair that needs more
 * backtracking steps fails with an error and counts a limit hit. */
#define FN_MATCH_LIMIT 1000000u
/* Heap PCRE2 may use for one match's backtracking, in KiB. */
#define FN_MATCH_HEAP_LIMIT_KIB 16384u
/* Compiled non-constant patterns each thread keeps (round-robin). */
#define FN_MATCH_CACHE 8
/* Longest non-constant pattern compiled, in bytes. */
#define FN_MATCH_PATTERN_MAX 8192u

typedef struct fn_match_stats {
    uint64_t limit_hits;      /* matches stopped by a limit (no answer) */
    uint64_t compiles;        /* non-constant patterns compiled (cache misses) */
    uint64_t compile_errors;  /* non-constant patterns that did not compile */
    uint64_t evictions;       /* compiled patterns dropped from a full cache */
    uint64_t jit_fallbacks;   /* patterns PCRE2 could not JIT-compile */
} fn_match_stats;

/** Copies the counters (totals over all threads since start) to *out. */
void fn_match_stats_get(fn_match_stats *out);

#endif
