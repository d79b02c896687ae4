/*
 * fn_arith.c -- arithmetic functions: f_min, f_max, f_abs, f_div, f_hash.
 *
 * Numbers are ints (int64) and floats (double). f_min and f_max compare
 * ints and floats exactly (no rounding through double) and return the
 * winning argument unchanged, kind included; a NaN argument makes the
 * result NaN. Integer overflow (f_abs of the smallest int, smallest int
 * divided by -1) is an error, never undefined behaviour. All functions
 * are pure and keep no state.
 */
#include <inttypes.h>
#include <math.h>

#include "analog/functions.h"
#include "functions/fn_args.h"

/** True for an int or a float. */
static bool is_number(const sx_value *v)
{
    return v->kind == SX_INT || v->kind == SX_FLOAT;
}

/** Compares int i with (non-NaN) float f exactly: <0, 0 or >0. */
static int cmp_int_float(int64_t i, double f)
{
    if (f >= 9223372036854775808.0) /* 2^63: above every int64 */
        return -1;
    if (f < -9223372036854775808.0)
        return 1;
    int64_t t = (int64_t)f; /* truncates toward zero; exact in this range */
    if (i != t)
        return i < t ? -1 : 1;
    double frac = f - (double)t;
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

/** Compares two numbers (neither a NaN): <0, 0 or >0. */
static int cmp_number(const sx_value *a, const sx_value *b)
{
    if (a->kind == SX_INT && b->kind == SX_INT)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    if (a->kind == SX_FLOAT && b->kind == SX_FLOAT)
        return (a->u.f > b->u.f) - (a->u.f < b->u.f);
    if (a->kind == SX_INT)
        return cmp_int_float(a->u.i, b->u.f);
    return -cmp_int_float(b->u.i, a->u.f);
}

/** True for a float NaN. */
static bool is_nan(const sx_value *v)
{
    return v->kind == SX_FLOAT && isnan(v->u.f);
}

/** The least (sign < 0) or greatest (sign > 0) of the numeric
 *  arguments; the first of equal ones wins. */
static int extreme(analog_fn_ctx *ctx, const char *fn, int sign, const sx_value *args,
                   uint32_t nargs, sx_value *result)
{
    const sx_value *best = NULL;
    for (uint32_t i = 0; i < nargs; i++) {
        if (!is_number(&args[i]))
            return fn_args_type_error(ctx, fn, i + 1, "an int or a float", &args[i]);
        if (best && is_nan(best))
            continue;
        if (!best || is_nan(&args[i]) || cmp_number(&args[i], best) * sign > 0)
            best = &args[i];
    }
    *result = *best;
    return 0;
}

/** The smallest argument. */
static int f_min(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    return extreme(ctx, "f_min", -1, args, nargs, result);
}

/** The greatest argument. */
static int f_max(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    return extreme(ctx, "f_max", 1, args, nargs, result);
}

static const analog_fn_def fn_min_def = {
    .name = "f_min", .min_args = 1, .max_args = ANALOG_FN_VARIADIC, .flags = ANALOG_FN_PURE,
    .call = f_min,
    .summary = "f_min(x, ...): the smallest of the numbers",
};
ANALOG_FN_REGISTER(fn_min_def)

static const analog_fn_def fn_max_def = {
    .name = "f_max", .min_args = 1, .max_args = ANALOG_FN_VARIADIC, .flags = ANALOG_FN_PURE,
    .call = f_max,
    .summary = "f_max(x, ...): the greatest of the numbers",
};
ANALOG_FN_REGISTER(fn_max_def)

/** The absolute value of an int or a float; the smallest int has none
 *  (an error). */
static int f_abs(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    const sx_value *x = &args[0];
    if (x->kind == SX_FLOAT) {
        *result = sx_value_float(fabs(x->u.f));
        return 0;
    }
    if (x->kind != SX_INT)
        return fn_args_type_error(ctx, "f_abs", 1, "an int or a float", x);
    if (x->u.i == INT64_MIN)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_abs: %" PRId64 " overflows", x->u.i);
    *result = sx_value_int(x->u.i < 0 ? -x->u.i : x->u.i);
    return 0;
}

static const analog_fn_def fn_abs_def = {
    .name = "f_abs", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_abs,
    .summary = "f_abs(x): the absolute value of a number",
};
ANALOG_FN_REGISTER(fn_abs_def)

/** Integer division a / b, truncated toward zero (as C does). Division
 *  by zero and the one overflowing case are errors. */
static int f_div(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    for (uint32_t i = 0; i < 2; i++)
        if (args[i].kind != SX_INT)
            return fn_args_type_error(ctx, "f_div", i + 1, "an int", &args[i]);
    int64_t a = args[0].u.i, b = args[1].u.i;
    if (b == 0)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_div: division by zero");
    if (a == INT64_MIN && b == -1)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_div: %" PRId64 " / -1 overflows", a);
    *result = sx_value_int(a / b);
    return 0;
}

static const analog_fn_def fn_div_def = {
    .name = "f_div", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE,
    .call = f_div,
    .summary = "f_div(a, b): integer division truncated toward zero",
};
ANALOG_FN_REGISTER(fn_div_def)

/** sx_value_hash of x, as an int (the same bits). Equal values hash
 *  equal, so it can partition flows or sample by key. */
static int f_hash(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    *result = sx_value_int((int64_t)sx_value_hash(&args[0]));
    return 0;
}

static const analog_fn_def fn_hash_def = {
    .name = "f_hash", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_hash,
    .summary = "f_hash(x): a 64-bit hash of x as an int (equal values, equal hashes)",
};
ANALOG_FN_REGISTER(fn_hash_def)
