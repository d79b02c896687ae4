/*
 * fn_args.c -- argument checking and conversion shared by the built-ins.
 *
 * Kept apart so that each fn_*.c file holds only its own concern and
 * every function words its errors the same way. Nothing here keeps
 * state; every function is safe to call from any thread.
 */
#include "functions/fn_args.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fn_args_errorf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int fn_args_type_error(analog_fn_ctx *ctx, const char *fn, uint32_t pos, const char *want,
                       const sx_value *got)
{
    return fn_args_errorf(ctx->err, ctx->errlen, "%s: argument %" PRIu32 " must be %s, not %s",
                          fn, pos, want, sx_kind_name((sx_kind)got->kind));
}

bool fn_args_is_text(const sx_value *v)
{
    return v->kind == SX_STR || v->kind == SX_BYTES;
}

sx_value fn_args_truth(bool b)
{
    return b ? sx_value_str("true", 4) : sx_value_str("false", 5);
}

/** Formats a float as sx_value_print does: %.17g, nan, inf, -inf. */
static int format_float(double f, char *buf, size_t size)
{
    if (isnan(f))
        return snprintf(buf, size, "nan");
    if (isinf(f))
        return snprintf(buf, size, f < 0 ? "-inf" : "inf");
    return snprintf(buf, size, "%.17g", f);
}

/** Formats an IP value with inet_ntop; -1 on a malformed family. */
static int format_ip(const sx_value *v, char *buf, size_t size)
{
    int af = v->u.ip.family == 4 ? AF_INET : v->u.ip.family == 6 ? AF_INET6 : -1;
    if (af < 0 || !inet_ntop(af, v->u.ip.addr, buf, (socklen_t)size))
        return -1;
    return (int)strlen(buf);
}

int fn_args_format(const sx_value *v, char *buf, size_t size)
{
    switch ((sx_kind)v->kind) {
    case SX_INT:
        return snprintf(buf, size, "%" PRId64, v->u.i);
    case SX_FLOAT:
        return format_float(v->u.f, buf, size);
    case SX_BOOL:
        return snprintf(buf, size, "%s", v->u.b ? "true" : "false");
    case SX_IP:
        return format_ip(v, buf, size);
    default:
        return -1;
    }
}
