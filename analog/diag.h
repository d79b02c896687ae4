/*
 * diag.h -- diagnostics of the ANALOG front end (errors and warnings).
 *
 * Each diagnostic is printed like gcc/clang:
 *
 *     file:line:col: error: message
 *     the offending source line
 *              ^
 *
 * The caller names the source once with analog_diag_set_source(); every
 * add copies the file name and the offending line, so the source need
 * only live until the last add. At most ANALOG_DIAG_MAX diagnostics are
 * kept; later ones are counted and summarised as "too many errors".
 * Lines and columns are 1-based; columns count bytes.
 */
#ifndef ANALOG_DIAG_H
#define ANALOG_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ANALOG_DIAG_MAX 100

typedef struct analog_diag analog_diag;

/** New empty list; the caller owns it (analog_diag_destroy). */
analog_diag *analog_diag_new(void);
void analog_diag_destroy(analog_diag **d);
/** Names the source later adds refer to. file and src are borrowed until
 *  the next call or the last add. */
void analog_diag_set_source(analog_diag *d, const char *file, const char *src, size_t len);
/** Adds an error at line:col of the current source (printf-style). */
void analog_diag_error(analog_diag *d, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Adds a warning at line:col of the current source (printf-style). */
void analog_diag_warning(analog_diag *d, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Number of errors added (kept or not). */
unsigned analog_diag_errors(const analog_diag *d);
unsigned analog_diag_warnings(const analog_diag *d);
/** True once the cap is reached: further adds are only counted, and the
 *  parser stops early. */
int analog_diag_full(const analog_diag *d);
/** Prints every kept diagnostic, in the order added, then the summary
 *  of those dropped. */
void analog_diag_print(const analog_diag *d, FILE *out);

#endif
