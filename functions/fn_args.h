/*
 * fn_args.h -- argument checking and conversion shared by the built-in
 * ANALOG functions (functions/fn_*.c).
 *
 * Every built-in reports a bad argument the same way:
 *   "f_strlen: argument 1 must be a string or bytes, not int"
 * (positions count from 1), writes it to ctx->err and returns -1, so the
 * evaluator can count the failure and print a message a user can act on.
 */
#ifndef FN_ARGS_H
#define FN_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analog/functions.h"

/* Room fn_args_format needs for any scalar (an IPv6 address is the
 * longest: 45 bytes). */
#define FN_ARGS_SCALAR_MAX 64

/** Writes a printf-style message to err (NULL or errlen 0: nothing is
 *  written) and returns -1, so a caller can `return fn_args_errorf(...)`. */
int fn_args_errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Writes "FN: argument POS must be WANT, not KIND" to ctx->err; returns -1.
 *  pos counts from 1. */
int fn_args_type_error(analog_fn_ctx *ctx, const char *fn, uint32_t pos, const char *want,
                       const sx_value *got);
/** True for a string or a byte string (both carry a blob). */
bool fn_args_is_text(const sx_value *v);
/** The string "true" or "false", the form ANALOG programs compare
 *  against (MATCH == "true"). The caller owns the value. */
sx_value fn_args_truth(bool b);
/** Writes the text form of an int, float, bool or IP value to buf (size
 *  at least FN_ARGS_SCALAR_MAX) and returns its length, or -1 if v is
 *  of another kind. Floats use %.17g (round-trips) and nan/inf/-inf. */
int fn_args_format(const sx_value *v, char *buf, size_t size);

#endif
