/*
 * json.c -- JSON lines for tuples: the sink's writer and --tuples reader.
 *
 * The writer never produces invalid JSON: string bytes that are not
 * valid UTF-8 are escaped one by one as \u00XX, control characters as
 * \uXXXX, and non-finite floats become strings.
 *
 * The reader is a small recursive-descent parser for exactly the input
 * format in json.h. Input is hostile: nesting is capped at
 * SX_JSON_MAX_DEPTH, every error names its byte column, and nothing is
 * leaked on any error path (a half-built value is released).
 */
#include "proto/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

#define SX_JSON_MAX_DEPTH 32

/* ================================ writing ================================ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((len == 2 && c < 0xC2) || (len == 3 && c == 0xE0 && s[1] < 0xA0) ||
        (len == 3 && c == 0xED && s[1] >= 0xA0) || (len == 4 && c == 0xF0 && s[1] < 0x90) ||
        (len == 4 && c > 0xF4) || (len == 4 && c == 0xF4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate or out of range */
    return len;
}

int sx_json_write_string(FILE *f, const void *data, size_t len)
{
    const uint8_t *s = data;
    int bad = putc('"', f) == EOF;
    for (size_t i = 0; i < len && !bad;) {
        uint8_t c = s[i];
        size_t u = utf8_len(s + i, len - i);
        if (c == '"' || c == '\\') {
            bad = fprintf(f, "\\%c", c) < 0;
        } else if (c == '\n') {
            bad = fputs("\\n", f) == EOF;
        } else if (c == '\t') {
            bad = fputs("\\t", f) == EOF;
        } else if (c == '\r') {
            bad = fputs("\\r", f) == EOF;
        } else if (c < 0x20 || c == 0x7f || u == 0) {
            bad = fprintf(f, "\\u%04x", c) < 0;
            u = 1;
        } else {
            bad = fwrite(s + i, 1, u, f) != u;
        }
        i += u ? u : 1;
    }
    return bad || putc('"', f) == EOF ? -1 : 0;
}

/** Writes len bytes as a base64 JSON string. */
static int write_base64(FILE *f, const uint8_t *s, size_t len)
{
    int bad = putc('"', f) == EOF;
    for (size_t i = 0; i < len && !bad; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0) |
                     (i + 2 < len ? s[i + 2] : 0);
        char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < len ? b64[(v >> 6) & 63] : '=',
                     i + 2 < len ? b64[v & 63] : '='};
        bad = fwrite(q, 1, 4, f) != 4;
    }
    return bad || putc('"', f) == EOF ? -1 : 0;
}

/** Writes a list or record. */
static int write_list(FILE *f, const sx_value *v, const sx_json_opts *o)
{
    const sx_list *l = v->u.list;
    bool rec = v->kind == SX_RECORD;
    if (putc(rec ? '{' : '[', f) == EOF)
        return -1;
    for (uint32_t i = 0; i < l->n; i++) {
        if (i && fputs(", ", f) == EOF)
            return -1;
        if (rec) {
            const sx_blob *name = l->names ? l->names[i] : NULL;
            if (sx_json_write_string(f, name ? name->data : (const uint8_t *)"", name ? name->len : 0) ||
                fputs(": ", f) == EOF)
                return -1;
        }
        if (sx_json_write_value(f, &l->items[i], o))
            return -1;
    }
    return putc(rec ? '}' : ']', f) == EOF ? -1 : 0;
}

int sx_json_write_value(FILE *f, const sx_value *v, const sx_json_opts *o)
{
    char ip[INET6_ADDRSTRLEN];
    switch ((sx_kind)v->kind) {
    case SX_NULL:
        return fputs("null", f) == EOF ? -1 : 0;
    case SX_INT:
        return fprintf(f, "%lld", (long long)v->u.i) < 0 ? -1 : 0;
    case SX_FLOAT:
        if (isnan(v->u.f))
            return fputs("\"nan\"", f) == EOF ? -1 : 0;
        if (isinf(v->u.f))
            return fputs(v->u.f > 0 ? "\"inf\"" : "\"-inf\"", f) == EOF ? -1 : 0;
        return fprintf(f, "%.17g", v->u.f) < 0 ? -1 : 0;
    case SX_BOOL:
        return fputs(v->u.b ? "true" : "false", f) == EOF ? -1 : 0;
    case SX_STR:
        return sx_json_write_string(f, v->u.blob->data, v->u.blob->len);
    case SX_BYTES: {
        size_t n = v->u.blob->len;
        if (o && o->max_bytes && n > o->max_bytes)
            n = o->max_bytes;
        return write_base64(f, v->u.blob->data, n);
    }
    case SX_IP:
        inet_ntop(v->u.ip.family == 6 ? AF_INET6 : AF_INET, v->u.ip.addr, ip, sizeof ip);
        return fprintf(f, "\"%s\"", ip) < 0 ? -1 : 0;
    case SX_LIST:
    case SX_RECORD:
        return write_list(f, v, o);
    }
    return fputs("null", f) == EOF ? -1 : 0;
}

int sx_json_write_tuple(FILE *f, const char *pipeline, const sx_batch *b, const sx_tuple *t,
                        const char *const *names, uint32_t nnames, const sx_json_opts *o)
{
    int bad = fputs("{\"pipeline\": ", f) == EOF || sx_json_write_string(f, pipeline, strlen(pipeline)) ||
              fputs(", \"relation\": ", f) == EOF ||
              sx_json_write_string(f, t->relation ? t->relation->data : (const uint8_t *)"",
                                   t->relation ? t->relation->len : 0) ||
              fprintf(f, ", \"token\": %llu, \"time\": %lld.%06lld", (unsigned long long)b->token,
                      (long long)(b->time_ns / 1000000000), (long long)(b->time_ns % 1000000000 / 1000)) < 0;
    for (uint32_t i = 0; i < t->n && !bad; i++) {
        char fallback[16];
        const char *name = names && i < nnames && names[i] ? names[i] : NULL;
        if (!name) {
            snprintf(fallback, sizeof fallback, "_%u", i);
            name = fallback;
        }
        bad = fputs(", ", f) == EOF || sx_json_write_string(f, name, strlen(name)) ||
              fputs(": ", f) == EOF || sx_json_write_value(f, &t->vals[i], o);
        if (!bad && t->vals[i].kind == SX_BYTES && o && o->max_bytes &&
            t->vals[i].u.blob->len > o->max_bytes)
            bad = fputs(", ", f) == EOF || fprintf(f, "\"%s_truncated\": true", name) < 0;
    }
    return bad || fputs("}\n", f) == EOF ? -1 : 0;
}

/* ================================ reading ================================ */

typedef struct reader {
    const char *s;
    size_t n, pos;
    char *err;
    size_t errlen;
} reader;

/** Records an error at the current column; returns -1. */
static int fail(reader *r, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->errlen, "column %zu: %s", r->pos + 1, msg);
    return -1;
}

/** Skips white space. */
static void ws(reader *r)
{
    while (r->pos < r->n && strchr(" \t\r\n", r->s[r->pos]) && r->s[r->pos])
        r->pos++;
}

/** Consumes c (after white space) or fails. */
static int expect(reader *r, char c)
{
    ws(r);
    if (r->pos >= r->n || r->s[r->pos] != c)
        return fail(r, "expected '%c'", c);
    r->pos++;
    return 0;
}

/** True (and consumed) when the next non-space character is c. */
static bool accept_char(reader *r, char c)
{
    ws(r);
    if (r->pos < r->n && r->s[r->pos] == c) {
        r->pos++;
        return true;
    }
    return false;
}

/** Appends the UTF-8 form of code point cp to buf. */
static size_t put_utf8(char *buf, uint32_t cp)
{
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | cp >> 6);
        buf[1] = (char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | cp >> 12);
        buf[1] = (char)(0x80 | ((cp >> 6) & 63));
        buf[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    buf[0] = (char)(0xF0 | cp >> 18);
    buf[1] = (char)(0x80 | ((cp >> 12) & 63));
    buf[2] = (char)(0x80 | ((cp >> 6) & 63));
    buf[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/** Reads 4 hex digits. */
static int hex4(reader *r, uint32_t *out)
{
    if (r->n - r->pos < 4)
        return fail(r, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->s[r->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return fail(r, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

/* string -> '"' { char | escape } '"'   (decoded into *out, caller frees) */
static int read_string(reader *r, char **out, size_t *len)
{
    ws(r);
    if (r->pos >= r->n || r->s[r->pos] != '"')
        return fail(r, "expected a string");
    r->pos++;
    char *buf = sx_malloc(r->n - r->pos + 1); /* decoding never grows it */
    size_t k = 0;
    while (r->pos < r->n && r->s[r->pos] != '"') {
        char c = r->s[r->pos++];
        if (c != '\\') {
            buf[k++] = c;
            continue;
        }
        if (r->pos >= r->n)
            break;
        char e = r->s[r->pos++];
        uint32_t cp = 0;
        switch (e) {
        case 'n': buf[k++] = '\n'; break;
        case 't': buf[k++] = '\t'; break;
        case 'r': buf[k++] = '\r'; break;
        case 'b': buf[k++] = '\b'; break;
        case 'f': buf[k++] = '\f'; break;
        case '/': case '\\': case '"': buf[k++] = e; break;
        case 'u':
            if (hex4(r, &cp)) {
                free(buf);
                return -1;
            }
            /* \u0000-\u00ff: one byte, as the writer escapes raw bytes */
            if (cp < 0x100)
                buf[k++] = (char)cp;
            else
                k += put_utf8(buf + k, cp);
            break;
        default:
            free(buf);
            return fail(r, "unknown escape \\%c", e);
        }
    }
    if (r->pos >= r->n) {
        free(buf);
        return fail(r, "unterminated string");
    }
    r->pos++;
    buf[k] = 0;
    *out = buf;
    *len = k;
    return 0;
}

/** Decodes base64 text into a bytes value. */
static int base64_value(reader *r, const char *s, size_t len, sx_value *v)
{
    uint8_t *out = sx_malloc(len / 4 * 3 + 3);
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = s[i] ? strchr(b64, s[i]) : NULL;
        if (s[i] == '=')
            break;
        if (!p) {
            free(out);
            return fail(r, "bad base64 character");
        }
        acc = acc << 6 | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    *v = sx_value_bytes(out, k);
    free(out);
    return 0;
}

static int read_value(reader *r, sx_value *v, unsigned depth);

/* array -> '[' [ value { ',' value } ] ']'   (into a list value) */
static int read_array(reader *r, sx_value *v, unsigned depth)
{
    size_t n = 0, cap = 4;
    sx_value *items = sx_malloc(cap * sizeof *items);
    int rc = 0;
    if (!accept_char(r, ']')) {
        do {
            if (n == cap)
                items = sx_realloc(items, (cap *= 2) * sizeof *items);
            if ((rc = read_value(r, &items[n], depth + 1)) != 0)
                break;
            n++;
        } while (accept_char(r, ','));
        if (rc == 0)
            rc = expect(r, ']');
    }
    if (rc == 0) {
        *v = sx_value_list((uint32_t)n);
        for (size_t i = 0; i < n; i++)
            sx_value_list_set(v, (uint32_t)i, NULL, items[i]);
    } else {
        for (size_t i = 0; i < n; i++)
            sx_value_release(&items[i]);
    }
    free(items);
    return rc;
}

/* record -> '{' [ string ':' value { ',' string ':' value } ] '}' */
static int read_record(reader *r, sx_value *v, unsigned depth)
{
    size_t n = 0, cap = 4;
    sx_value *items = sx_malloc(cap * sizeof *items);
    char **names = sx_malloc(cap * sizeof *names);
    int rc = 0;
    if (!accept_char(r, '}')) {
        do {
            if (n == cap) {
                cap *= 2;
                items = sx_realloc(items, cap * sizeof *items);
                names = sx_realloc(names, cap * sizeof *names);
            }
            size_t len;
            if ((rc = read_string(r, &names[n], &len)) != 0)
                break;
            if ((rc = expect(r, ':')) != 0 || (rc = read_value(r, &items[n], depth + 1)) != 0) {
                free(names[n]);
                break;
            }
            n++;
        } while (accept_char(r, ','));
        if (rc == 0)
            rc = expect(r, '}');
    }
    if (rc == 0) {
        *v = sx_value_record((uint32_t)n);
        for (size_t i = 0; i < n; i++)
            sx_value_list_set(v, (uint32_t)i, names[i], items[i]);
    } else {
        for (size_t i = 0; i < n; i++)
            sx_value_release(&items[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(items);
    return rc;
}

/* tagged -> '{' ("ip" | "bytes" | "record") ':' ... '}' */
static int read_tagged(reader *r, sx_value *v, unsigned depth)
{
    char *tag, *text = NULL;
    size_t len, tlen;
    if (read_string(r, &tag, &len))
        return -1;
    if (expect(r, ':')) {
        free(tag);
        return -1;
    }
    int rc;
    if (!strcmp(tag, "record")) {
        rc = expect(r, '{') ? -1 : read_record(r, v, depth + 1);
    } else if (!strcmp(tag, "ip") || !strcmp(tag, "bytes")) {
        text = NULL;
        rc = read_string(r, &text, &tlen);
        if (rc == 0 && tag[0] == 'b') {
            rc = base64_value(r, text, tlen, v);
        } else if (rc == 0) {
            uint8_t a[16];
            if (inet_pton(AF_INET, text, a) == 1)
                *v = sx_value_ip4(a);
            else if (inet_pton(AF_INET6, text, a) == 1)
                *v = sx_value_ip6(a);
            else
                rc = fail(r, "not an IP address: %.60s", text);
        }
        free(text);
    } else {
        rc = fail(r, "unknown value object {\"%.30s\": ...}: use ip, bytes or record", tag);
    }
    free(tag);
    if (rc == 0 && expect(r, '}')) {
        sx_value_release(v);
        rc = -1;
    }
    return rc;
}

/** Reads a number: an int unless it has '.', 'e' or 'E'. */
static int read_number(reader *r, sx_value *v)
{
    ws(r);
    size_t start = r->pos;
    bool is_float = false;
    while (r->pos < r->n && strchr("+-0123456789.eE", r->s[r->pos]) && r->s[r->pos]) {
        is_float |= strchr(".eE", r->s[r->pos]) != NULL;
        r->pos++;
    }
    char buf[64];
    size_t len = r->pos - start;
    if (len == 0 || len >= sizeof buf)
        return fail(r, "bad number");
    memcpy(buf, r->s + start, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    if (is_float) {
        double d = strtod(buf, &end);
        if (*end)
            return fail(r, "bad number %s", buf);
        *v = sx_value_float(d);
    } else {
        long long i = strtoll(buf, &end, 10);
        if (*end || errno == ERANGE)
            return fail(r, "bad or out-of-range integer %s", buf);
        *v = sx_value_int(i);
    }
    return 0;
}

/* value -> string | number | true | false | null | array | tagged */
static int read_value(reader *r, sx_value *v, unsigned depth)
{
    if (depth > SX_JSON_MAX_DEPTH)
        return fail(r, "nested deeper than %d", SX_JSON_MAX_DEPTH);
    ws(r);
    if (r->pos >= r->n)
        return fail(r, "expected a value, found the end of the line");
    char c = r->s[r->pos];
    if (c == '"') {
        char *s;
        size_t len;
        if (read_string(r, &s, &len))
            return -1;
        *v = sx_value_str(s, len);
        free(s);
        return 0;
    }
    if (c == '[') {
        r->pos++;
        return read_array(r, v, depth);
    }
    if (c == '{') {
        r->pos++;
        return read_tagged(r, v, depth);
    }
    static const struct { const char *word; int kind; } words[] = {
        {"true", 1}, {"false", 0}, {"null", 2}};
    for (size_t i = 0; i < 3; i++) {
        size_t wl = strlen(words[i].word);
        if (r->n - r->pos >= wl && !strncmp(r->s + r->pos, words[i].word, wl)) {
            r->pos += wl;
            *v = words[i].kind == 2 ? sx_value_null() : sx_value_bool(words[i].kind == 1);
            return 0;
        }
    }
    return read_number(r, v);
}

/** Reads the "values" array straight into tuple t. */
static int read_values(reader *r, sx_value *list)
{
    if (expect(r, '['))
        return -1;
    return read_array(r, list, 1);
}

int sx_json_read_tuple(const char *line, size_t len, sx_tuple *t, int64_t *time_ns, char *err,
                       size_t errlen)
{
    reader r = {line, len, 0, err, errlen};
    err[0] = 0;
    *time_ns = 0;
    char *relation = NULL;
    sx_value values = sx_value_null();
    int rc = expect(&r, '{');
    bool more = rc == 0 && !accept_char(&r, '}');
    while (rc == 0 && more) {
        char *key;
        size_t klen;
        if ((rc = read_string(&r, &key, &klen)) != 0 || (rc = expect(&r, ':')) != 0) {
            if (rc == 0)
                free(key);
            break;
        }
        if (!strcmp(key, "relation")) {
            free(relation);
            relation = NULL;
            rc = read_string(&r, &relation, &klen);
        } else if (!strcmp(key, "values")) {
            sx_value_release(&values);
            rc = read_values(&r, &values);
        } else if (!strcmp(key, "time")) {
            sx_value tv;
            if ((rc = read_number(&r, &tv)) == 0)
                *time_ns = tv.kind == SX_INT ? tv.u.i * 1000000000LL
                                             : (int64_t)llround(tv.u.f * 1e9);
        } else {
            rc = fail(&r, "unknown key \"%.40s\": use relation, time and values", key);
        }
        free(key);
        if (rc == 0 && !accept_char(&r, ','))
            rc = expect(&r, '}'), more = false;
    }
    if (rc == 0) {
        ws(&r);
        if (r.pos < r.n)
            rc = fail(&r, "unexpected text after the object");
        else if (!relation || !relation[0])
            rc = fail(&r, "no \"relation\"");
        else if (values.kind != SX_LIST || values.u.list->n == 0)
            rc = fail(&r, "no \"values\" (at least the location)");
    }
    if (rc == 0) {
        sx_tuple_init(t, relation, values.u.list->n);
        for (uint32_t i = 0; i < t->n; i++)
            t->vals[i] = sx_value_copy(&values.u.list->items[i]);
    }
    free(relation);
    sx_value_release(&values);
    return rc;
}
