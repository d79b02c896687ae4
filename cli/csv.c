/*
 * csv.c -- tuples as CSV rows (RFC 4180); the value rules are in csv.h.
 *
 * Scalar fields are formatted straight onto the FILE. A list or record
 * is first written as JSON into a scratch memory stream (reused, so a
 * row costs no allocation once it has grown) because its quotes must be
 * doubled before it goes out as one quoted field.
 */
#include "cli/csv.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/json.h"

struct cli_csv {
    FILE *f;         /* borrowed */
    FILE *scratch;   /* JSON text of a nested value; opened on first need */
    char *buf;
    size_t len;
};

cli_csv *cli_csv_new(FILE *f)
{
    cli_csv *w = sx_calloc(1, sizeof *w);
    w->f = f;
    return w;
}

void cli_csv_destroy(cli_csv **w)
{
    if (!*w)
        return;
    if ((*w)->scratch)
        fclose((*w)->scratch);
    free((*w)->buf);
    free(*w);
    *w = NULL;
}

/** Writes len bytes as one field: quoted when forced, when empty (so
 *  that "" differs from a null's empty field) or when it holds a comma,
 *  a quote, CR or LF; quotes inside are doubled. 0 or -1. */
static int write_field(FILE *f, const char *s, size_t len, bool quote)
{
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote && len > 0)
        return fwrite(s, 1, len, f) == len ? 0 : -1;
    int bad = putc('"', f) == EOF;
    for (size_t i = 0; i < len && !bad; i++)
        bad = putc(s[i], f) == EOF || (s[i] == '"' && putc('"', f) == EOF);
    return bad || putc('"', f) == EOF ? -1 : 0;
}

/** Writes len bytes as padded base64 (no quoting needed: no , or "). */
static int write_base64(FILE *f, const uint8_t *s, size_t len)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (len == 0)
        return fputs("\"\"", f) == EOF ? -1 : 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t k = len - i < 3 ? len - i : 3;
        uint32_t v = (uint32_t)s[i] << 16 | (k > 1 ? (uint32_t)s[i + 1] << 8 : 0) |
                     (k > 2 ? s[i + 2] : 0);
        char q[4] = {digits[v >> 18], digits[(v >> 12) & 63], k > 1 ? digits[(v >> 6) & 63] : '=',
                     k > 2 ? digits[v & 63] : '='};
        if (fwrite(q, 1, 4, f) != 4)
            return -1;
    }
    return 0;
}

/** Writes a float with the fewest digits (15 to 17) that read back as
 *  the same double: 0.1 stays 0.1, 3.0 is 3. */
static int write_float(FILE *f, double v)
{
    if (isnan(v))
        return fputs("nan", f) == EOF ? -1 : 0;
    if (isinf(v))
        return fputs(v > 0 ? "inf" : "-inf", f) == EOF ? -1 : 0;
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return fputs(buf, f) == EOF ? -1 : 0;
}

/** Writes a list or record as its JSON text in a quoted field. */
static int write_nested(cli_csv *w, const sx_value *v)
{
    if (!w->scratch && !(w->scratch = open_memstream(&w->buf, &w->len)))
        return -1;
    if (fseek(w->scratch, 0, SEEK_SET) != 0 || sx_json_write_value(w->scratch, v, NULL) != 0 ||
        fflush(w->scratch) != 0)
        return -1;
    return write_field(w->f, w->buf, w->len, true);
}

/** Writes one value as a field. */
static int write_value(cli_csv *w, const sx_value *v)
{
    char ip[INET6_ADDRSTRLEN];
    switch ((sx_kind)v->kind) {
    case SX_NULL:
        return 0;
    case SX_INT:
        return fprintf(w->f, "%lld", (long long)v->u.i) < 0 ? -1 : 0;
    case SX_FLOAT:
        return write_float(w->f, v->u.f);
    case SX_BOOL:
        return fputs(v->u.b ? "true" : "false", w->f) == EOF ? -1 : 0;
    case SX_STR:
        return write_field(w->f, (const char *)v->u.blob->data, v->u.blob->len, false);
    case SX_BYTES:
        return write_base64(w->f, v->u.blob->data, v->u.blob->len);
    case SX_IP:
        inet_ntop(v->u.ip.family == 6 ? AF_INET6 : AF_INET, v->u.ip.addr, ip, sizeof ip);
        return fputs(ip, w->f) == EOF ? -1 : 0;
    case SX_LIST:
    case SX_RECORD:
        return write_nested(w, v);
    }
    return 0; /* an unknown kind reads as null */
}

int cli_csv_header(cli_csv *w, const char *const *names, uint32_t n)
{
    int bad = 0;
    for (uint32_t i = 0; i < n && !bad; i++)
        bad = (i && putc(',', w->f) == EOF) || write_field(w->f, names[i], strlen(names[i]), false);
    return bad || putc('\n', w->f) == EOF ? -1 : 0;
}

int cli_csv_row(cli_csv *w, const sx_tuple *t)
{
    int bad = 0;
    for (uint32_t i = 0; i < t->n && !bad; i++)
        bad = (i && putc(',', w->f) == EOF) || write_value(w, &t->vals[i]);
    return bad || putc('\n', w->f) == EOF ? -1 : 0;
}
