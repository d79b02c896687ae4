/*
 * sip_msg.c -- one SIP message parsed with libosip2 (osipparser2), and
 * the framing of messages in a stream.
 *
 * Design: the cheap checks are ours, the grammar is libosip2's. Before
 * osip sees a byte we check that the first line is a SIP start line,
 * find the empty line that ends the header block within the cap, refuse
 * NUL bytes there (osip works on C strings: a NUL would cut a header
 * short, and binary garbage is where parsers break), and work out the
 * body from Content-Length, so osip only ever parses a bounded, textual
 * header block and a body whose length we checked. Then osip parses,
 * we copy the fields the event record needs into one block owned by
 * the fn_sip_msg, and free osip's message at once.
 *
 * Thread safety of libosip2 (5.3, read in its source, osip_parser_cfg.c
 * and osip_port.c): parser_init() fills static tables (the header-name
 * hash table and the setter table) and must run once before any parse.
 * Debian builds the library with ENABLE_TRACE, and osip_trace(), called
 * on every parse error, initialises a default logger lazily when none
 * is set -- writing its globals from whichever thread errs first, then
 * printing each error with a timestamp (localtime) to stdout. So, once,
 * under pthread_once, we run parser_init() and install a trace function
 * with every level off: osip_trace then returns at its first test and
 * only reads globals. After that, osip_message_parse reads the tables,
 * allocates through osip_malloc (plain malloc: we never call
 * osip_set_allocators) and writes no global, so parses of distinct
 * osip_message_t run concurrently without a lock. A message object is
 * never shared: each parse makes and frees its own.
 */
#include "functions/sip_msg.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "proto/alloc.h"

/* Longest Content-Length value, in digits: 10 decimal digits bound the
 * length far beyond any cap and keep the sum in an int64_t. */
#define CLEN_DIGITS_MAX 10
/* RFC 3261 8.1.1.5: a CSeq number is below 2**31. */
#define CSEQ_MAX 2147483647LL

/* ---- libosip2 set-up, once per process ---- */

static pthread_once_t osip_once = PTHREAD_ONCE_INIT;
static int osip_init_rc = -1; /* written only inside osip_once */

/** libosip2's trace output goes nowhere: malformed input is counted
 *  by the callers, not logged line by line. */
static void osip_trace_discard(const char *file, int line, osip_trace_level_t level,
                               const char *fmt, va_list ap)
{
}

/** Silences osip's tracing (level 0: every level off) and runs
 *  parser_init(); pthread_once guarantees once, and that every thread
 *  sees the tables filled. */
static void osip_init_once(void)
{
    osip_trace_initialize_func(TRACE_LEVEL0, osip_trace_discard);
    osip_init_rc = parser_init();
}

/** True when libosip2's parser is ready. */
static bool osip_ready(void)
{
    pthread_once(&osip_once, osip_init_once);
    return osip_init_rc == 0;
}

/* ---- names ---- */

const char *fn_sip_error_name(fn_sip_error e)
{
    static const char *const names[FN_SIP_ERROR_COUNT] = {
        [FN_SIP_OK] = "ok",
        [FN_SIP_NOT_SIP] = "not_sip",
        [FN_SIP_HEADER_TOO_BIG] = "header_too_big",
        [FN_SIP_TOO_MANY_ITEMS] = "too_many_items",
        [FN_SIP_TRUNCATED] = "truncated",
        [FN_SIP_BINARY] = "binary",
        [FN_SIP_BAD_LENGTH] = "bad_content_length",
        [FN_SIP_NO_LENGTH] = "no_content_length",
        [FN_SIP_UNPARSABLE] = "unparsable",
        [FN_SIP_MISSING_CALL_ID] = "missing_call_id",
        [FN_SIP_MISSING_CSEQ] = "missing_cseq",
        [FN_SIP_BAD_CSEQ] = "bad_cseq",
        [FN_SIP_MISSING_FROM] = "missing_from",
        [FN_SIP_MISSING_TO] = "missing_to",
    };
    return (unsigned)e < FN_SIP_ERROR_COUNT ? names[e] : "unknown";
}

/* ---- the start line ---- */

/** True for RFC 3261 token characters: alphanum and -.!%*_+`'~ */
static bool is_token(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("-.!%*_+`'~", c) != NULL);
}

static bool is_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/** Request-URI -> scheme ":" 1*(visible character): any scheme (sip,
 *  sips, tel, ...), no space or control byte. Returns its length in
 *  s[0..n), or 0 when s does not start with one. */
static size_t uri_len(const uint8_t *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_alpha(s[0]))
        return 0;
    while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' ||
                     s[i] == '.'))
        i++;
    if (i == n || s[i] != ':')
        return 0;
    size_t start = ++i;
    while (i < n && s[i] > 0x20 && s[i] < 0x7f)
        i++;
    return i > start ? i : 0;
}

/** Request-Line -> Method SP Request-URI SP "SIP/2.0"; line[0..n)
 *  without its line end. */
static bool request_line(const uint8_t *line, size_t n)
{
    size_t i = 0;
    while (i < n && is_token(line[i]))
        i++;
    if (i == 0 || i == n || line[i] != ' ')
        return false;
    i++;
    size_t u = uri_len(line + i, n - i);
    if (u == 0)
        return false;
    i += u;
    return n - i == 8 && memcmp(line + i, " SIP/2.0", 8) == 0;
}

/** Status-Line -> "SIP/2.0" SP 3DIGIT SP Reason-Phrase; line[0..n)
 *  without its line end. */
static bool status_line(const uint8_t *line, size_t n)
{
    return n >= 12 && memcmp(line, "SIP/2.0 ", 8) == 0 && is_digit(line[8]) &&
           is_digit(line[9]) && is_digit(line[10]) && line[11] == ' ';
}

bool fn_sip_looks_like(const uint8_t *buf, size_t len)
{
    const uint8_t *lf = buf ? memchr(buf, '\n', len) : NULL;
    if (!lf)
        return false;
    size_t n = (size_t)(lf - buf);
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    return buf[0] == 'S' ? status_line(buf, n) || request_line(buf, n) : request_line(buf, n);
}

size_t fn_sip_skip_crlf(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return i;
}

/* ---- the header block ---- */

/** Searches buf[from..w) for the empty line ending a header block: an
 *  LF followed by LF or by CR LF (so CRLFCRLF, LFLF and mixes). Returns
 *  the offset just past it, or 0 when it is not wholly within w. */
static size_t header_end(const uint8_t *buf, size_t from, size_t w)
{
    while (from < w) {
        const uint8_t *lf = memchr(buf + from, '\n', w - from);
        if (!lf)
            return 0;
        size_t i = (size_t)(lf - buf);
        if (i + 1 < w && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < w && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
        from = i + 1;
    }
    return 0;
}

/** True when name[0..n) (trailing blanks allowed) is the header name
 *  want, case-insensitively. */
static bool header_named(const uint8_t *name, size_t n, const char *want)
{
    while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    return n == strlen(want) && strncasecmp((const char *)name, want, n) == 0;
}

/** Reads a Content-Length value v[0..n) (the line after the colon):
 *  blanks, 1 to CLEN_DIGITS_MAX digits, blanks. -1 when malformed. */
static int64_t clen_value(const uint8_t *v, size_t n)
{
    size_t i = 0, digits = 0;
    int64_t x = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    for (; i < n && is_digit(v[i]); i++, digits++)
        if (digits < CLEN_DIGITS_MAX) /* beyond, refused below: no overflow */
            x = x * 10 + (v[i] - '0');
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r'))
        i++;
    return digits == 0 || digits > CLEN_DIGITS_MAX || i != n ? -1 : x;
}

/** Finds Content-Length ("l" in compact form) in the header block
 *  buf[0..end). Returns its value, -1 when absent, or -2 when a value is
 *  malformed or two values differ. Continuation lines are skipped. */
static int64_t content_length(const uint8_t *buf, size_t end)
{
    int64_t found = -1;
    const uint8_t *lf = memchr(buf, '\n', end);
    for (size_t s = lf ? (size_t)(lf - buf) + 1 : end; s < end;) {
        lf = memchr(buf + s, '\n', end - s);
        size_t e = lf ? (size_t)(lf - buf) : end;
        const uint8_t *colon = memchr(buf + s, ':', e - s);
        if (colon && buf[s] != ' ' && buf[s] != '\t') {
            size_t nlen = (size_t)(colon - (buf + s));
            if (header_named(buf + s, nlen, "content-length") || header_named(buf + s, nlen, "l")) {
                int64_t v = clen_value(colon + 1, (size_t)(buf + e - colon - 1));
                if (v < 0 || (found >= 0 && v != found))
                    return -2;
                found = v;
            }
        }
        s = e + 1;
    }
    return found;
}

/** True when the header block buf[0..end) holds more than max header
 *  lines, ',' and ';' together. */
static bool too_many_items(const uint8_t *buf, size_t end, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < end; i++)
        n += buf[i] == '\n' || buf[i] == ',' || buf[i] == ';';
    return n > max;
}

/** Sets *why (when not NULL) to e and returns -1. */
static int64_t frame_fail(fn_sip_error *why, fn_sip_error e)
{
    if (why)
        *why = e;
    return -1;
}

/** The first half of framing: checks the first line once it is
 *  complete. Returns 1 when it is a SIP start line (pos->searched is
 *  then its LF, where the empty line's search starts), 0 when more
 *  bytes are needed, -1 when the stream cannot be framed. */
static int frame_start(const uint8_t *buf, size_t len, size_t max_header,
                       fn_sip_frame_pos *pos, fn_sip_error *why)
{
    size_t w = len < max_header ? len : max_header;
    size_t from = pos->searched < w ? pos->searched : 0;
    const uint8_t *lf = memchr(buf + from, '\n', w - from);
    if (!lf) {
        pos->searched = w;
        return len >= max_header ? (int)frame_fail(why, FN_SIP_HEADER_TOO_BIG) : 0;
    }
    if (!fn_sip_looks_like(buf, len))
        return (int)frame_fail(why, FN_SIP_NOT_SIP);
    pos->start_ok = true;
    pos->searched = (size_t)(lf - buf);
    return 1;
}

int64_t fn_sip_frame_len(const uint8_t *buf, size_t len, size_t max_header,
                         fn_sip_frame_pos *pos, fn_sip_error *why)
{
    fn_sip_frame_pos scratch = {0};
    if (!pos)
        pos = &scratch;
    if (pos->total > 0)
        return len >= (uint64_t)pos->total ? pos->total : 0;
    if (len == 0)
        return 0;
    size_t w = len < max_header ? len : max_header;
    if (!pos->start_ok) {
        int r = frame_start(buf, len, max_header, pos, why);
        if (r <= 0)
            return r;
    }
    /* resume where the last search stopped, less the 2 bytes a
     * terminator may have begun in ("\n\r" then "\n") */
    size_t from = pos->searched >= 2 ? pos->searched - 2 : 0;
    size_t end = header_end(buf, from < w ? from : 0, w);
    if (end == 0) {
        if (len >= max_header)
            return frame_fail(why, FN_SIP_HEADER_TOO_BIG);
        pos->searched = w;
        return 0;
    }
    int64_t clen = content_length(buf, end);
    if (clen == -1)
        return frame_fail(why, FN_SIP_NO_LENGTH);
    if (clen < 0)
        return frame_fail(why, FN_SIP_BAD_LENGTH);
    pos->total = (int64_t)end + clen;
    return len >= (uint64_t)pos->total ? pos->total : 0;
}

/* ---- parsing with libosip2 ---- */

/** The strings of a message, before they are packed into its block. */
enum {
    T_METHOD, T_REASON, T_RURI, T_CALL_ID, T_CSEQ_METHOD, T_FROM_URI, T_FROM_TAG,
    T_TO_URI, T_TO_TAG, T_BRANCH, T_CONTACT, T_CTYPE, T_COUNT
};

typedef struct texts {
    const char *s[T_COUNT];    /* NULL reads as "" */
    const char *sub[T_COUNT];  /* when set, packed as s "/" sub (Content-Type) */
    char *osip_owned[T_COUNT]; /* what osip's *_to_str allocated, freed after packing */
} texts;

/** Frees what osip allocated for t. */
static void texts_free(texts *t)
{
    for (int i = 0; i < T_COUNT; i++)
        if (t->osip_owned[i])
            osip_free(t->osip_owned[i]);
}

/** Sets text i from an osip *_to_str result (rc 0 and a string), which
 *  t then owns. */
static void text_take(texts *t, int i, int rc, char *s)
{
    if (rc == 0 && s) {
        t->osip_owned[i] = s;
        t->s[i] = s;
    } else if (s) {
        osip_free(s);
    }
}

/** A generic parameter's value ("tag", "branch"), or NULL. */
static const char *param_value(osip_list_t *params, const char *name)
{
    osip_generic_param_t *p = NULL;
    if (osip_generic_param_get_byname(params, (char *)name, &p) < 0 || !p)
        return NULL;
    return p->gvalue;
}

/** A From, To or Contact URI as osip_uri_to_str writes it into text i. */
static void uri_text(texts *t, int i, const osip_uri_t *uri)
{
    char *s = NULL;
    if (uri) {
        int rc = osip_uri_to_str(uri, &s);
        text_take(t, i, rc, s);
    }
}

/** Reads the CSeq number: decimal digits below 2**31. -1 if not. */
static int64_t cseq_number(const char *s)
{
    int64_t x = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (!is_digit((uint8_t)*s) || (x = x * 10 + (*s - '0')) > CSEQ_MAX)
            return -1;
    }
    return x;
}

/** Checks the headers every message must have (Call-ID, a numeric
 *  CSeq with a method, From, To) and fills their texts and out->cseq. */
static fn_sip_error mandatory(osip_message_t *m, texts *t, fn_sip_msg *out)
{
    if (!m->call_id || !m->call_id->number || !*m->call_id->number)
        return FN_SIP_MISSING_CALL_ID;
    if (!m->cseq)
        return FN_SIP_MISSING_CSEQ;
    out->cseq = cseq_number(m->cseq->number);
    if (out->cseq < 0 || !m->cseq->method || !*m->cseq->method)
        return FN_SIP_BAD_CSEQ;
    if (!m->from)
        return FN_SIP_MISSING_FROM;
    if (!m->to)
        return FN_SIP_MISSING_TO;
    char *s = NULL;
    int rc = osip_call_id_to_str(m->call_id, &s);
    text_take(t, T_CALL_ID, rc, s);
    t->s[T_CSEQ_METHOD] = m->cseq->method;
    uri_text(t, T_FROM_URI, m->from->url);
    t->s[T_FROM_TAG] = param_value(&m->from->gen_params, "tag");
    uri_text(t, T_TO_URI, m->to->url);
    t->s[T_TO_TAG] = param_value(&m->to->gen_params, "tag");
    return FN_SIP_OK;
}

/** The optional fields: start line, top Via branch, first Contact,
 *  Content-Type. */
static void optional(osip_message_t *m, texts *t, fn_sip_msg *out)
{
    out->request = MSG_IS_REQUEST(m);
    out->status = m->status_code;
    t->s[T_METHOD] = out->request ? m->sip_method : m->cseq->method;
    t->s[T_REASON] = m->reason_phrase;
    uri_text(t, T_RURI, m->req_uri);
    osip_via_t *via = osip_list_get(&m->vias, 0);
    if (via)
        t->s[T_BRANCH] = param_value(&via->via_params, "branch");
    osip_contact_t *contact = osip_list_get(&m->contacts, 0);
    if (contact && contact->url)
        uri_text(t, T_CONTACT, contact->url);
    else if (contact && contact->displayname)
        t->s[T_CONTACT] = contact->displayname; /* "*" */
    if (m->content_type && m->content_type->type && m->content_type->subtype) {
        t->s[T_CTYPE] = m->content_type->type;
        t->sub[T_CTYPE] = m->content_type->subtype;
    }
}

/** Copies the texts into one block that out owns, and points its
 *  string fields there. */
static void pack(const texts *t, fn_sip_msg *out)
{
    size_t len[T_COUNT], sub[T_COUNT], total = 0;
    for (int i = 0; i < T_COUNT; i++) {
        len[i] = t->s[i] ? strlen(t->s[i]) : 0;
        sub[i] = t->sub[i] ? strlen(t->sub[i]) : 0;
        total += len[i] + (t->sub[i] ? sub[i] + 1 : 0) + 1;
    }
    char *p = out->store_ = sx_malloc(total);
    const char **field[T_COUNT] = {
        [T_METHOD] = &out->method, [T_REASON] = &out->reason, [T_RURI] = &out->request_uri,
        [T_CALL_ID] = &out->call_id, [T_CSEQ_METHOD] = &out->cseq_method,
        [T_FROM_URI] = &out->from_uri, [T_FROM_TAG] = &out->from_tag,
        [T_TO_URI] = &out->to_uri, [T_TO_TAG] = &out->to_tag, [T_BRANCH] = &out->via_branch,
        [T_CONTACT] = &out->contact, [T_CTYPE] = &out->content_type,
    };
    for (int i = 0; i < T_COUNT; i++) {
        *field[i] = p;
        if (len[i])
            memcpy(p, t->s[i], len[i]);
        p += len[i];
        if (t->sub[i]) {
            *p++ = '/';
            memcpy(p, t->sub[i], sub[i]);
            p += sub[i];
        }
        *p++ = 0;
    }
}

/** Has osip parse buf[0..size) (a checked header block and body) and
 *  fills *out from it. */
static fn_sip_error osip_fill(const uint8_t *buf, size_t size, fn_sip_msg *out)
{
    osip_message_t *m = NULL;
    if (!osip_ready() || osip_message_init(&m) != 0)
        return FN_SIP_UNPARSABLE;
    fn_sip_error e = FN_SIP_UNPARSABLE;
    texts t = {0};
    if (osip_message_parse(m, (const char *)buf, size) == 0 &&
        (e = mandatory(m, &t, out)) == FN_SIP_OK) {
        optional(m, &t, out);
        pack(&t, out);
    }
    texts_free(&t);
    osip_message_free(m);
    return e;
}

fn_sip_error fn_sip_parse(const uint8_t *buf, size_t len, const fn_sip_limits *lim,
                          fn_sip_msg *out)
{
    static const fn_sip_limits defaults = {FN_SIP_MAX_HEADER_BYTES, FN_SIP_MAX_HEADER_ITEMS};
    size_t max_header = (lim ? lim : &defaults)->max_header_bytes;
    *out = (fn_sip_msg){0};
    if (!buf)
        return FN_SIP_NOT_SIP;
    size_t skip = fn_sip_skip_crlf(buf, len);
    buf += skip;
    len -= skip;
    if (!fn_sip_looks_like(buf, len))
        return FN_SIP_NOT_SIP;
    size_t w = len < max_header ? len : max_header;
    size_t end = header_end(buf, 0, w);
    if (end == 0)
        return len >= max_header ? FN_SIP_HEADER_TOO_BIG : FN_SIP_TRUNCATED;
    if (memchr(buf, 0, end))
        return FN_SIP_BINARY;
    if (too_many_items(buf, end, (lim ? lim : &defaults)->max_header_items))
        return FN_SIP_TOO_MANY_ITEMS;
    int64_t clen = content_length(buf, end);
    if (clen == -2)
        return FN_SIP_BAD_LENGTH;
    if (clen > (int64_t)(len - end))
        return FN_SIP_TRUNCATED;
    size_t body = clen >= 0 ? (size_t)clen : len - end;
    fn_sip_error e = osip_fill(buf, end + body, out);
    if (e != FN_SIP_OK) {
        fn_sip_msg_clear(out);
        return e;
    }
    out->content_length = body;
    out->size = end + body;
    return FN_SIP_OK;
}

void fn_sip_msg_clear(fn_sip_msg *m)
{
    free(m->store_);
    *m = (fn_sip_msg){0};
}
