/*
 * fn_string.c -- string functions: f_concat, f_strlen, f_substr, f_lower,
 * f_upper, f_contains, f_tostring, f_toint.
 *
 * Strings are byte strings: lengths and offsets count bytes, case
 * mapping is ASCII only, and a string may hold any byte. A function
 * that returns a transformed text keeps its input's kind (string in,
 * string out; bytes in, bytes out). All functions are pure and keep no
 * state, so any thread may call them.
 *
 * Cap: no result grows beyond FN_STRING_MAX bytes (the largest value a
 * batch can carry on the wire); f_concat fails rather than build one.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/functions.h"
#include "functions/fn_args.h"

#define FN_STRING_MAX (64u * 1024u * 1024u)

/** The bytes of a text value (string or bytes). */
static const uint8_t *text_data(const sx_value *v)
{
    return v->u.blob ? v->u.blob->data : (const uint8_t *)"";
}

/** The length of a text value (string or bytes). */
static size_t text_len(const sx_value *v)
{
    return v->u.blob ? v->u.blob->len : 0;
}

/** Checks that args[i] is a string or bytes; -1 with the message if not. */
static int want_text(analog_fn_ctx *ctx, const char *fn, const sx_value *args, uint32_t i)
{
    if (fn_args_is_text(&args[i]))
        return 0;
    return fn_args_type_error(ctx, fn, i + 1, "a string or bytes", &args[i]);
}

/** Checks that args[i] is an int >= 0 and stores it in *out. */
static int want_count(analog_fn_ctx *ctx, const char *fn, const sx_value *args, uint32_t i,
                      size_t *out)
{
    if (args[i].kind != SX_INT)
        return fn_args_type_error(ctx, fn, i + 1, "an int", &args[i]);
    if (args[i].u.i < 0)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: argument %" PRIu32
                              " must not be negative (%" PRId64 ")", fn, i + 1, args[i].u.i);
    *out = (size_t)args[i].u.i;
    return 0;
}

/* ---- f_concat(x, ...) ---- */

/** Length args[i] adds to a concatenation, or -1 (message set) when it
 *  is of a kind that has no text form here. */
static long long concat_piece_len(analog_fn_ctx *ctx, const sx_value *v, uint32_t i)
{
    if (fn_args_is_text(v))
        return (long long)text_len(v);
    char buf[FN_ARGS_SCALAR_MAX];
    int n = fn_args_format(v, buf, sizeof buf);
    if (n < 0)
        return fn_args_type_error(ctx, "f_concat", i + 1,
                                  "a string, bytes, int, float, bool or IP", v);
    return n;
}

/** Copies the text form of v to out (which has room for it); returns
 *  the number of bytes written. */
static size_t concat_piece_put(const sx_value *v, uint8_t *out)
{
    if (fn_args_is_text(v)) {
        memcpy(out, text_data(v), text_len(v));
        return text_len(v);
    }
    char buf[FN_ARGS_SCALAR_MAX];
    int n = fn_args_format(v, buf, sizeof buf);
    memcpy(out, buf, (size_t)n);
    return (size_t)n;
}

/** Concatenates the text forms of all arguments into one string. Two
 *  passes: sum the lengths, then fill one blob of exactly that size. */
static int f_concat(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    size_t total = 0;
    for (uint32_t i = 0; i < nargs; i++) {
        long long n = concat_piece_len(ctx, &args[i], i);
        if (n < 0)
            return -1;
        total += (size_t)n;
        if (total > FN_STRING_MAX)
            return fn_args_errorf(ctx->err, ctx->errlen,
                                  "f_concat: result longer than %u bytes", FN_STRING_MAX);
    }
    sx_blob *b = sx_blob_new(NULL, total);
    size_t at = 0;
    for (uint32_t i = 0; i < nargs; i++)
        at += concat_piece_put(&args[i], b->data + at);
    *result = sx_value_from_blob(SX_STR, b);
    return 0;
}

static const analog_fn_def fn_concat_def = {
    .name = "f_concat", .min_args = 1, .max_args = ANALOG_FN_VARIADIC, .flags = ANALOG_FN_PURE,
    .call = f_concat,
    .summary = "f_concat(x, ...): the text forms of the arguments joined into one string",
};
ANALOG_FN_REGISTER(fn_concat_def)

/* ---- f_strlen(s) ---- */

/** Length of a string or byte string, in bytes. */
static int f_strlen(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    if (want_text(ctx, "f_strlen", args, 0) != 0)
        return -1;
    *result = sx_value_int((int64_t)text_len(&args[0]));
    return 0;
}

static const analog_fn_def fn_strlen_def = {
    .name = "f_strlen", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_strlen,
    .summary = "f_strlen(s): length of a string or bytes in bytes",
};
ANALOG_FN_REGISTER(fn_strlen_def)

/* ---- f_substr(s, start, len) ---- */

/** The len bytes of s from byte offset start (0-based), clipped to the
 *  end of s: a start past the end gives an empty result, not an error.
 *  Negative start or len is an error. */
static int f_substr(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    size_t start, len;
    if (want_text(ctx, "f_substr", args, 0) != 0 ||
        want_count(ctx, "f_substr", args, 1, &start) != 0 ||
        want_count(ctx, "f_substr", args, 2, &len) != 0)
        return -1;
    size_t n = text_len(&args[0]);
    if (start > n)
        start = n;
    if (len > n - start)
        len = n - start;
    sx_blob *b = sx_blob_new(text_data(&args[0]) + start, len);
    *result = sx_value_from_blob((sx_kind)args[0].kind, b);
    return 0;
}

static const analog_fn_def fn_substr_def = {
    .name = "f_substr", .min_args = 3, .max_args = 3, .flags = ANALOG_FN_PURE,
    .call = f_substr,
    .summary = "f_substr(s, start, len): len bytes of s from offset start (0-based), clipped",
};
ANALOG_FN_REGISTER(fn_substr_def)

/* ---- f_lower(s), f_upper(s) ---- */

/** A copy of args[0] (text, checked by the caller) with every ASCII
 *  letter mapped to lower (upper == false) or upper case. */
static sx_value map_case(const sx_value *s, bool upper)
{
    size_t n = text_len(s);
    const uint8_t *in = text_data(s);
    sx_blob *b = sx_blob_new(NULL, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (upper && c >= 'a' && c <= 'z')
            c = (uint8_t)(c - ('a' - 'A'));
        else if (!upper && c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + ('a' - 'A'));
        b->data[i] = c;
    }
    return sx_value_from_blob((sx_kind)s->kind, b);
}

/** s with ASCII letters in lower case. */
static int f_lower(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    if (want_text(ctx, "f_lower", args, 0) != 0)
        return -1;
    *result = map_case(&args[0], false);
    return 0;
}

/** s with ASCII letters in upper case. */
static int f_upper(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    if (want_text(ctx, "f_upper", args, 0) != 0)
        return -1;
    *result = map_case(&args[0], true);
    return 0;
}

static const analog_fn_def fn_lower_def = {
    .name = "f_lower", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_lower,
    .summary = "f_lower(s): s with ASCII letters in lower case",
};
ANALOG_FN_REGISTER(fn_lower_def)

static const analog_fn_def fn_upper_def = {
    .name = "f_upper", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_upper,
    .summary = "f_upper(s): s with ASCII letters in upper case",
};
ANALOG_FN_REGISTER(fn_upper_def)

/* ---- f_contains(s, needle) ---- */

/** "true" when needle occurs in s (bytewise; an empty needle always
 *  does), else "false". */
static int f_contains(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    if (want_text(ctx, "f_contains", args, 0) != 0 || want_text(ctx, "f_contains", args, 1) != 0)
        return -1;
    size_t nn = text_len(&args[1]);
    bool found =
        nn == 0 || memmem(text_data(&args[0]), text_len(&args[0]), text_data(&args[1]), nn);
    *result = fn_args_truth(found);
    return 0;
}

static const analog_fn_def fn_contains_def = {
    .name = "f_contains", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE,
    .call = f_contains,
    .summary = "f_contains(s, needle): \"true\" if needle occurs in s, else \"false\"",
};
ANALOG_FN_REGISTER(fn_contains_def)

/* ---- f_tostring(x) ---- */

/** The text sx_value_print writes for x (null, lists, records). */
static int print_to_string(analog_fn_ctx *ctx, const sx_value *x, sx_value *result)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_tostring: %s", strerror(errno));
    int rc = sx_value_print(f, x);
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0)
        *result = sx_value_str(buf, len);
    free(buf);
    if (rc != 0)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_tostring: cannot format a %s",
                              sx_kind_name((sx_kind)x->kind));
    return 0;
}

/** x as a string: a string is returned as is, bytes become a string
 *  of the same bytes (sharing storage), ints/floats/bools/IPs their text
 *  form, null "null", lists and records their JSON-like form. */
static int f_tostring(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    const sx_value *x = &args[0];
    if (x->kind == SX_STR) {
        *result = sx_value_copy(x);
        return 0;
    }
    if (x->kind == SX_BYTES) {
        *result = sx_value_from_blob(SX_STR, sx_blob_ref(x->u.blob));
        return 0;
    }
    char buf[FN_ARGS_SCALAR_MAX];
    int n = fn_args_format(x, buf, sizeof buf);
    if (n < 0)
        return print_to_string(ctx, x, result);
    *result = sx_value_str(buf, (size_t)n);
    return 0;
}

static const analog_fn_def fn_tostring_def = {
    .name = "f_tostring", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_tostring,
    .summary = "f_tostring(x): x as a string (numbers, bools, IPs in their text form)",
};
ANALOG_FN_REGISTER(fn_tostring_def)

/* ---- f_toint(x) ---- */

/** True for the ASCII white space strtoll skips. */
static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/** Parses a decimal integer (optional sign, surrounding white space
 *  allowed) that fills all of text v; -1 with a message otherwise. */
static int parse_int(analog_fn_ctx *ctx, const sx_value *v, int64_t *out)
{
    const char *s = (const char *)text_data(v);
    size_t n = text_len(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    bool bad = end == s || (size_t)(end - s) > n;
    while (!bad && (size_t)(end - s) < n && is_space((uint8_t)*end))
        end++;
    if (bad || (size_t)(end - s) != n)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_toint: argument 1 is not a number");
    if (errno == ERANGE)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_toint: argument 1 is out of range");
    *out = x;
    return 0;
}

/** A float truncated toward zero; -1 for NaN or out of int64 range. */
static int float_to_int(analog_fn_ctx *ctx, double f, int64_t *out)
{
    /* 2^63 is exact as a double; every double in (-2^63-1, 2^63) truncates
     * to a representable int64. */
    if (isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_toint: %g does not fit an int", f);
    *out = (int64_t)f;
    return 0;
}

/** x as an int: an int as is, a float truncated toward zero, a string
 *  or bytes parsed as a decimal number. Anything else, or text that is
 *  not a number, is an error. */
static int f_toint(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    const sx_value *x = &args[0];
    int64_t v = 0;
    switch ((sx_kind)x->kind) {
    case SX_INT:
        v = x->u.i;
        break;
    case SX_FLOAT:
        if (float_to_int(ctx, x->u.f, &v) != 0)
            return -1;
        break;
    case SX_STR:
    case SX_BYTES:
        if (parse_int(ctx, x, &v) != 0)
            return -1;
        break;
    default:
        return fn_args_type_error(ctx, "f_toint", 1, "a string, bytes, int or float", x);
    }
    *result = sx_value_int(v);
    return 0;
}

static const analog_fn_def fn_toint_def = {
    .name = "f_toint", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_toint,
    .summary = "f_toint(x): x as an int (decimal text parsed, floats truncated)",
};
ANALOG_FN_REGISTER(fn_toint_def)
