/*
 * mime.c -- an RFC 5322 / MIME message decoded into matchable text.
 *
 * Design: the message is walked in place as spans (pointer + length) of
 * the caller's bytes; nothing is copied but the decoded output. An
 * entity is split at its first empty line into headers and body; a
 * multipart body is cut at its "--boundary" lines and each part is an
 * entity one level deeper; a leaf body is decoded by its
 * Content-Transfer-Encoding straight into the output buffer.
 *
 * Hostile input: every read is bounded by a span's length; recursion
 * stops at FN_MIME_DEPTH_MAX (deeper bodies are copied undecoded, so
 * nesting cannot hide text from a regex); output stops at the caller's
 * cap; and every scan moves forward, so the work is linear in the
 * message per nesting level (encoded-words are cut at the first '?' of
 * their text, which is why failed attempts cannot rescan the value).
 * What is tolerated: bare LF line ends, base64 with line breaks or junk
 * characters or missing padding, a missing closing boundary. Counted:
 * cut output, nesting beyond the cap, multipart bodies whose boundary
 * never appears, missing closing boundaries.
 */
#include "functions/mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analog/counters.h"
#include "proto/alloc.h"

/* First allocation of an output buffer; it doubles up to its cap. */
#define BUF_START 256u
/* Longest charset name of an encoded-word ("iso-8859-15*en"). */
#define CHARSET_MAX 64u

/** A piece of the caller's bytes: p[0..n) is readable. */
typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

/** One header field: its name and raw (folded) value. */
typedef struct header {
    span name;
    span value;
} header;

/** What a Content-Type says about how to walk a body. */
typedef struct content_type {
    bool multipart; /* multipart/... */
    bool message;   /* message/rfc822 */
    size_t blen;    /* boundary length; 0 when absent or too long */
    char boundary[FN_MIME_BOUNDARY_MAX];
} content_type;

/** A walk over one message: where text goes and a scratch buffer for
 *  unfolding header values. */
typedef struct walk {
    fn_mime_buf *out;
    fn_mime_buf scratch;
} walk;

/* Counters, in the run summary through the registry (analog/counters.h). */
static analog_counter c_texts = {.name = "mime.texts", .summary = "mails decoded for matching"};
ANALOG_COUNTER_REGISTER(c_texts)
static analog_counter c_truncated = {
    .name = "mime.texts_truncated", .summary = "decoded mail texts cut at smtp.max_text_bytes"};
ANALOG_COUNTER_REGISTER(c_truncated)
static analog_counter c_headers_cut = {
    .name = "mime.headers_cut", .summary = "decoded header values cut at their cap"};
ANALOG_COUNTER_REGISTER(c_headers_cut)
static analog_counter c_too_deep = {
    .name = "mime.too_deep", .summary = "MIME bodies nested too deep, kept undecoded"};
ANALOG_COUNTER_REGISTER(c_too_deep)
static analog_counter c_bad_multipart = {
    .name = "mime.bad_multipart", .summary = "multipart bodies without their boundary, kept as is"};
ANALOG_COUNTER_REGISTER(c_bad_multipart)
static analog_counter c_unterminated = {
    .name = "mime.unterminated", .summary = "multipart bodies missing their closing boundary"};
ANALOG_COUNTER_REGISTER(c_unterminated)

/** Adds one to a counter. */
static void count(analog_counter *c)
{
    analog_counter_add(c, 1);
}

void fn_mime_stats_get(fn_mime_stats *out)
{
    out->texts = analog_counter_read(&c_texts);
    out->truncated = analog_counter_read(&c_truncated);
    out->headers_cut = analog_counter_read(&c_headers_cut);
    out->too_deep = analog_counter_read(&c_too_deep);
    out->bad_multipart = analog_counter_read(&c_bad_multipart);
    out->unterminated = analog_counter_read(&c_unterminated);
}

/* ---- output buffers ---- */

void fn_mime_buf_init(fn_mime_buf *b, size_t cap)
{
    *b = (fn_mime_buf){.cap = cap};
}

void fn_mime_buf_free(fn_mime_buf *b)
{
    free(b->data);
    fn_mime_buf_init(b, 0);
}

/** Empties b, keeping its storage, and sets its cap. */
static void buf_reset(fn_mime_buf *b, size_t cap)
{
    b->len = 0;
    b->cap = cap;
    b->truncated = false;
}

/** Makes room for n more bytes where the cap allows; returns how many
 *  of them fit. */
static size_t buf_room(fn_mime_buf *b, size_t n)
{
    size_t fit = b->cap - b->len < n ? b->cap - b->len : n;
    if (b->len + fit > b->alloc) {
        size_t a = b->alloc ? b->alloc : BUF_START;
        while (a < b->len + fit)
            a = a > SIZE_MAX / 2 ? SIZE_MAX : a * 2;
        if (a > b->cap)
            a = b->cap;
        b->data = sx_realloc(b->data, a);
        b->alloc = a;
    }
    return fit;
}

/** Appends n bytes, cutting at the cap (and flagging it). */
static void buf_put(fn_mime_buf *b, const void *p, size_t n)
{
    size_t fit = buf_room(b, n);
    if (fit)
        memcpy(b->data + b->len, p, fit);
    b->len += fit;
    if (fit < n)
        b->truncated = true;
}

/** Appends one byte. */
static void buf_putc(fn_mime_buf *b, uint8_t c)
{
    if (b->len < b->alloc && b->len < b->cap)
        b->data[b->len++] = c;
    else
        buf_put(b, &c, 1);
}

/** Appends a newline unless b is empty or already ends in one. */
static void buf_newline(fn_mime_buf *b)
{
    if (b->len && b->data[b->len - 1] != '\n')
        buf_putc(b, '\n');
}

/* ---- spans, lines and headers ---- */

/** True for the linear white space of headers. */
static bool is_wsp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/** s without leading and trailing white space (CR and LF included). */
static span trim(span s)
{
    while (s.n && (is_wsp(s.p[0]) || s.p[0] == '\r' || s.p[0] == '\n')) {
        s.p++;
        s.n--;
    }
    while (s.n && (is_wsp(s.p[s.n - 1]) || s.p[s.n - 1] == '\r' || s.p[s.n - 1] == '\n'))
        s.n--;
    return s;
}

/** True when s equals the C string t, ignoring ASCII case. */
static bool span_is(span s, const char *t)
{
    return strlen(t) == s.n && strncasecmp((const char *)s.p, t, s.n) == 0;
}

/** Takes the next line off *rest into *line (without its LF or CRLF).
 *  False when *rest is empty. */
static bool line_next(span *rest, span *line)
{
    if (!rest->n)
        return false;
    const uint8_t *nl = memchr(rest->p, '\n', rest->n);
    size_t n = nl ? (size_t)(nl - rest->p) : rest->n;
    *line = (span){rest->p, n};
    if (n && line->p[n - 1] == '\r')
        line->n--;
    size_t used = nl ? n + 1 : n;
    rest->p += used;
    rest->n -= used;
    return true;
}

/* entity -> headers CRLF body: headers end at the first empty line; with
 * none, all of it is headers. */
/** Splits entity e into its header block and body. */
static void split_entity(span e, span *headers, span *body)
{
    span rest = e, line;
    while (line_next(&rest, &line)) {
        if (line.n == 0) {
            *headers = (span){e.p, (size_t)(line.p - e.p)};
            *body = rest;
            return;
        }
    }
    *headers = e;
    *body = (span){e.p + e.n, 0};
}

/* field -> name ":" value *(CRLF WSP value) */
/** Takes the next header field off *rest (a header block). A line
 *  without a colon comes back whole as a value with an empty name.
 *  False at the end of the block. */
static bool header_next(span *rest, header *h)
{
    span line;
    if (!line_next(rest, &line))
        return false;
    const uint8_t *colon = memchr(line.p, ':', line.n);
    h->name = colon ? trim((span){line.p, (size_t)(colon - line.p)}) : (span){line.p, 0};
    const uint8_t *v = colon ? colon + 1 : line.p;
    const uint8_t *end = line.p + line.n;
    span peek = *rest, next;
    while (line_next(&peek, &next) && next.n && is_wsp(next.p[0])) {
        end = next.p + next.n; /* a continuation line folds into this field */
        *rest = peek;
    }
    h->value = (span){v, (size_t)(end - v)};
    return true;
}

/** Finds the first field named name in a header block; its raw value
 *  goes to *value. */
static bool header_find(span headers, const char *name, span *value)
{
    header h;
    while (header_next(&headers, &h)) {
        if (span_is(h.name, name)) {
            *value = h.value;
            return true;
        }
    }
    return false;
}

/** Unfolds a raw header value into b (CR and LF dropped, the white
 *  space that folded kept) and returns it trimmed. */
static span unfold(span v, fn_mime_buf *b)
{
    buf_reset(b, v.n);
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] != '\r' && v.p[i] != '\n')
            buf_putc(b, v.p[i]);
    return trim((span){b->data, b->len});
}

/* ---- transfer encodings ---- */

/** The value of hex digit c, or -1. */
static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/** The 6-bit value of base64 character c, or -1. */
static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Tolerant on purpose: mail in the wild has line breaks, stray
 * characters and lost padding in base64; each is skipped, and '='
 * drops the partial quantum so concatenated padded pieces decode. */
/** Decodes base64 text into out, skipping anything not base64. */
static void decode_base64(span in, fn_mime_buf *out)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < in.n && !out->truncated; i++) {
        int v = b64_value(in.p[i]);
        if (v < 0) {
            if (in.p[i] == '=')
                acc = bits = 0;
            continue;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(out, (uint8_t)(acc >> bits));
            acc &= (1u << bits) - 1;
        }
    }
}

/** Length of a quoted-printable soft line break ("=" [WSP] CRLF or LF,
 *  or "=" at the very end) starting at p[0] == '=', or 0. */
static size_t qp_soft_break(const uint8_t *p, size_t n)
{
    size_t j = 1;
    while (j < n && is_wsp(p[j]))
        j++;
    if (j == n)
        return n;
    if (p[j] == '\n')
        return j + 1;
    if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n')
        return j + 2;
    return 0;
}

/** Decodes quoted-printable text into out: =XX escapes and soft line
 *  breaks; a stray '=' is kept as is. */
static void decode_qp(span in, fn_mime_buf *out)
{
    size_t i = 0;
    while (i < in.n && !out->truncated) {
        const uint8_t *eq = memchr(in.p + i, '=', in.n - i);
        size_t run = eq ? (size_t)(eq - (in.p + i)) : in.n - i;
        buf_put(out, in.p + i, run);
        i += run;
        if (i >= in.n)
            break;
        int hi = i + 1 < in.n ? hex_value(in.p[i + 1]) : -1;
        int lo = i + 2 < in.n ? hex_value(in.p[i + 2]) : -1;
        size_t soft = qp_soft_break(in.p + i, in.n - i);
        if (hi >= 0 && lo >= 0) {
            buf_putc(out, (uint8_t)(hi << 4 | lo));
            i += 3;
        } else if (soft) {
            i += soft;
        } else {
            buf_putc(out, '=');
            i++;
        }
    }
}

/** Decodes RFC 2047 "Q" text into out: '_' is a space, =XX a byte. */
static void decode_q(span in, fn_mime_buf *out)
{
    for (size_t i = 0; i < in.n; i++) {
        int hi = i + 1 < in.n ? hex_value(in.p[i + 1]) : -1;
        int lo = i + 2 < in.n ? hex_value(in.p[i + 2]) : -1;
        if (in.p[i] == '=' && hi >= 0 && lo >= 0) {
            buf_putc(out, (uint8_t)(hi << 4 | lo));
            i += 2;
        } else {
            buf_putc(out, in.p[i] == '_' ? ' ' : in.p[i]);
        }
    }
}

/* ---- RFC 2047 encoded-words ---- */

/* encoded-word -> "=?" charset "?" ("B" | "Q") "?" encoded-text "?="
 * where charset and encoded-text hold no '?' and no white space. */
/** Parses the encoded-word at p[0..n): its encoded text goes to *text
 *  and whether it is base64 to *base64. Returns its length, or 0 when p
 *  does not start one. */
static size_t encoded_word(const uint8_t *p, size_t n, span *text, bool *base64)
{
    if (n < 8 || p[0] != '=' || p[1] != '?')
        return 0;
    size_t i = 2;
    while (i < n && i - 2 <= CHARSET_MAX && p[i] != '?' && !is_wsp(p[i]))
        i++;
    if (i == 2 || i + 2 >= n || p[i] != '?' || p[i + 2] != '?')
        return 0;
    uint8_t enc = p[i + 1] | 0x20;
    if (enc != 'b' && enc != 'q')
        return 0;
    size_t t = i + 3, e = t;
    while (e < n && p[e] != '?' && !is_wsp(p[e]))
        e++;
    if (e + 1 >= n || p[e] != '?' || p[e + 1] != '=')
        return 0;
    *text = (span){p + t, e - t};
    *base64 = enc == 'b';
    return e + 2;
}

/** Writes header value v (unfolded) to out with its encoded-words
 *  decoded; white space between two adjacent encoded-words is dropped,
 *  as RFC 2047 says. */
static void decode_words(span v, fn_mime_buf *out)
{
    bool after_word = false;
    size_t i = 0;
    while (i < v.n && !out->truncated) {
        size_t gap = i;
        while (i < v.n && is_wsp(v.p[i]))
            i++;
        if (i == v.n) {
            buf_put(out, v.p + gap, i - gap);
            break;
        }
        span text;
        bool base64 = false;
        size_t used = v.p[i] == '=' ? encoded_word(v.p + i, v.n - i, &text, &base64) : 0;
        if (!used || !after_word)
            buf_put(out, v.p + gap, i - gap);
        if (used && base64)
            decode_base64(text, out);
        else if (used)
            decode_q(text, out);
        else
            buf_putc(out, v.p[i]);
        i += used ? used : 1;
        after_word = used != 0;
    }
}

/** Writes raw header value v unfolded, trimmed and decoded to out. */
static void header_value(span v, fn_mime_buf *scratch, fn_mime_buf *out)
{
    decode_words(unfold(v, scratch), out);
}

/* ---- Content-Type ---- */

/** Lower-case compare of the start of s with prefix. */
static bool span_starts(span s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && strncasecmp((const char *)s.p, prefix, n) == 0;
}

/* parameter -> name "=" (token | quoted-string) */
/** Reads one parameter value at s->p (a quoted string or a token) into
 *  dst (at most cap bytes); returns its length, or cap + 1 when longer.
 *  Advances *s past it. */
static size_t param_value(span *s, char *dst, size_t cap)
{
    size_t len = 0;
    bool quoted = s->n && s->p[0] == '"';
    size_t i = quoted ? 1 : 0;
    for (; i < s->n; i++) {
        uint8_t c = s->p[i];
        if (quoted && c == '"') {
            i++;
            break;
        }
        if (!quoted && (c == ';' || is_wsp(c)))
            break;
        if (quoted && c == '\\' && i + 1 < s->n)
            c = s->p[++i];
        if (len < cap)
            dst[len] = (char)c;
        if (len <= cap) /* stops at cap + 1: too long */
            len++;
    }
    s->p += i;
    s->n -= i;
    return len;
}

/* content-type -> type "/" subtype *(";" parameter) */
/** Parses an unfolded Content-Type value into *ct. */
static void content_type_parse(span v, content_type *ct)
{
    *ct = (content_type){0};
    if (!v.n)
        return;
    ct->multipart = span_starts(v, "multipart/");
    ct->message = span_starts(v, "message/rfc822");
    const uint8_t *semi = memchr(v.p, ';', v.n);
    span rest = semi ? (span){semi, (size_t)(v.p + v.n - semi)} : (span){v.p + v.n, 0};
    while (rest.n) {
        rest.p++; /* the ';' */
        rest.n--;
        rest = trim(rest);
        const uint8_t *semi_next = memchr(rest.p, ';', rest.n);
        size_t upto = semi_next ? (size_t)(semi_next - rest.p) : rest.n;
        const uint8_t *eq = memchr(rest.p, '=', upto);
        if (eq) {
            span name = trim((span){rest.p, (size_t)(eq - rest.p)});
            rest = trim((span){eq + 1, (size_t)(rest.p + rest.n - (eq + 1))});
            char value[FN_MIME_BOUNDARY_MAX];
            size_t len = param_value(&rest, value, sizeof value);
            if (span_is(name, "boundary") && len <= sizeof value && !ct->blen) {
                memcpy(ct->boundary, value, len);
                ct->blen = len;
            }
            semi_next = memchr(rest.p, ';', rest.n); /* after a quoted value */
        }
        rest = semi_next ? (span){semi_next, (size_t)(rest.p + rest.n - semi_next)}
                         : (span){rest.p + rest.n, 0};
    }
}

/* ---- walking entities ---- */

static void entity(walk *w, span e, int depth, bool show_headers);

/** Writes each header of a block as "Name: value\n" (decoded). */
static void headers_text(walk *w, span headers)
{
    header h;
    while (header_next(&headers, &h) && !w->out->truncated) {
        if (h.name.n) {
            buf_put(w->out, h.name.p, h.name.n);
            buf_put(w->out, ": ", 2);
        }
        header_value(h.value, &w->scratch, w->out);
        buf_putc(w->out, '\n');
    }
}

/** Writes a leaf body decoded by its Content-Transfer-Encoding (raw
 *  header value cte; anything but base64 and quoted-printable is kept
 *  as is). */
static void leaf(walk *w, span body, span cte)
{
    span enc = unfold(cte, &w->scratch);
    buf_newline(w->out);
    if (span_is(enc, "base64"))
        decode_base64(body, w->out);
    else if (span_is(enc, "quoted-printable"))
        decode_qp(body, w->out);
    else
        buf_put(w->out, body.p, body.n);
}

/** Where the next delimiter line ("--boundary" at a line start, then
 *  "--", white space or the line's end; not a longer boundary that
 *  starts the same) begins in body at or after from, or NULL. */
static const uint8_t *delimiter_find(span body, const uint8_t *from, const char *delim,
                                     size_t dlen)
{
    const uint8_t *end = body.p + body.n;
    while (from < end) {
        const uint8_t *d = memmem(from, (size_t)(end - from), delim, dlen);
        if (!d)
            return NULL;
        const uint8_t *after = d + dlen;
        bool line_start = d == body.p || d[-1] == '\n';
        bool close = end - after >= 2 && after[0] == '-' && after[1] == '-';
        bool line_end = after == end || close || is_wsp(*after) || *after == '\r' ||
                        *after == '\n';
        if (line_start && line_end)
            return d;
        from = d + 1;
    }
    return NULL;
}

/** The start of the line after the one at p (or end). */
static const uint8_t *next_line(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl + 1 : end;
}

/* multipart-body -> [preamble] 1*(delimiter CRLF part) close-delimiter [epilogue] */
/** Walks a multipart body: each part between delimiter lines is an
 *  entity one level deeper. Without any delimiter the body is kept as
 *  is; a missing close delimiter ends the last part at the body's end. */
static void multipart(walk *w, span body, const content_type *ct, int depth)
{
    char delim[2 + FN_MIME_BOUNDARY_MAX];
    size_t dlen = 2 + ct->blen;
    memcpy(delim, "--", 2);
    memcpy(delim + 2, ct->boundary, ct->blen);
    const uint8_t *end = body.p + body.n;
    const uint8_t *d = delimiter_find(body, body.p, delim, dlen);
    if (!d) {
        count(&c_bad_multipart);
        leaf(w, body, (span){NULL, 0});
        return;
    }
    while (!w->out->truncated) {
        const uint8_t *after = d + dlen;
        if (end - after >= 2 && after[0] == '-' && after[1] == '-')
            return; /* the close delimiter */
        const uint8_t *start = next_line(after, end);
        const uint8_t *next = delimiter_find(body, start, delim, dlen);
        const uint8_t *stop = next ? next : end;
        if (next && stop > start && stop[-1] == '\n') /* that CRLF belongs to the delimiter */
            stop--;
        if (next && stop > start && stop[-1] == '\r')
            stop--;
        entity(w, (span){start, (size_t)(stop - start)}, depth + 1, false);
        if (!next) {
            count(&c_unterminated);
            return;
        }
        d = next;
    }
}

/** Walks one entity at nesting depth: its headers when show_headers
 *  (a message's, not a part's), then its body by Content-Type. */
static void entity(walk *w, span e, int depth, bool show_headers)
{
    span headers, body, v = {NULL, 0}, cte = {NULL, 0};
    split_entity(e, &headers, &body);
    if (show_headers) {
        buf_newline(w->out);
        headers_text(w, headers);
        buf_putc(w->out, '\n');
    }
    content_type ct = {0};
    if (header_find(headers, "Content-Type", &v))
        content_type_parse(unfold(v, &w->scratch), &ct);
    header_find(headers, "Content-Transfer-Encoding", &cte);
    bool nested = (ct.multipart && ct.blen) || ct.message;
    if (nested && depth >= FN_MIME_DEPTH_MAX) {
        count(&c_too_deep);
        leaf(w, body, (span){NULL, 0});
    } else if (ct.multipart && ct.blen) {
        multipart(w, body, &ct, depth);
    } else if (ct.message) {
        entity(w, body, depth + 1, true);
    } else {
        if (ct.multipart)
            count(&c_bad_multipart); /* no usable boundary parameter */
        leaf(w, body, cte);
    }
}

int fn_mime_text(const uint8_t *msg, size_t len, size_t cap, fn_mime_buf *out)
{
    walk w = {.out = out};
    if (!msg) /* keeps pointer arithmetic off NULL */
        msg = (const uint8_t *)"", len = 0;
    fn_mime_buf_init(&w.scratch, 0);
    buf_reset(out, cap);
    entity(&w, (span){msg, len}, 0, true);
    fn_mime_buf_free(&w.scratch);
    count(&c_texts);
    if (out->truncated)
        count(&c_truncated);
    return 0;
}

int fn_mime_header(const uint8_t *msg, size_t len, const char *name, size_t cap,
                   fn_mime_buf *out)
{
    span headers, body, v;
    buf_reset(out, cap);
    if (!msg)
        msg = (const uint8_t *)"", len = 0;
    split_entity((span){msg, len}, &headers, &body);
    if (!header_find(headers, name, &v))
        return 0;
    fn_mime_buf scratch;
    fn_mime_buf_init(&scratch, 0);
    header_value(v, &scratch, out);
    fn_mime_buf_free(&scratch);
    if (out->truncated)
        count(&c_headers_cut);
    return 1;
}
