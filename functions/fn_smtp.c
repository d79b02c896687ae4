/*
 * fn_smtp.c -- SMTP mail assembly for ANALOG programs:
 * f_processSMTPSegment(TCP_MESSAGE, FLOW_ID), f_mailSummary(MAIL),
 * f_mailRaw(MAIL).
 *
 * f_processSMTPSegment is stateful: its state (one per context key, i.e.
 * per connection, always run in that key's lane, so no lock) holds the
 * connection's SMTP session (functions/smtp.c). Each call feeds one
 * TCP_MESSAGE from f_processTCP -- "" (nothing), or a record {dir,
 * data, event, client, cport, server, sport} -- and returns a mail
 * record, or "" when no mail is ready. A close, reset or timeout event
 * ends the session after its data (a mail still in transfer is counted
 * incomplete); a later message starts a new one.
 *
 * One result per call: the evaluator has no multi-valued functions yet,
 * so when one message completes several mails (pipelined BDAT), the
 * first is returned and the others wait in the state's queue, oldest
 * first, one returned per later call for the connection (counted
 * "deferred"). At most SMTP_QUEUE_MAX wait; beyond that, and whatever
 * is still queued when the state is freed, is dropped and counted
 * "lost". This goes away when functions may return several values.
 *
 * A mail record's fields, in order: mail_from, rcpt_to (list), from,
 * to, subject, message_id (headers, unfolded, RFC 2047 decoded, "" when
 * absent), size (bytes sent), index (1, 2, ... in the session),
 * transfer ("DATA"/"BDAT"), truncated (bool), raw (bytes: the message,
 * at most smtp.max_mail_bytes), text (functions/mime.h's decoded text,
 * at most smtp.max_text_bytes, what f_match matches a mail against).
 */
#include <string.h>

#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/fn_args.h"
#include "functions/mime.h"
#include "functions/smtp.h"
#include "proto/alloc.h"

/* Mails waiting to be returned by later calls, per connection. */
#define SMTP_QUEUE_MAX 32u
/* Longest header value kept in a mail record's from/to/subject/message_id. */
#define SMTP_HEADER_MAX (64u * 1024u)
/* Packet time a connection's state may stay idle. */
#define SMTP_IDLE_NS (10LL * 60 * 1000000000LL)
/* Default cap of a mail's decoded text. */
#define SMTP_TEXT_BYTES (8u * 1024u * 1024u)

static const analog_setting_def max_mail_setting = {
    .name = "smtp.max_mail_bytes", .def = FN_SMTP_MAX_MAIL_BYTES, .min = 1,
    .max = 4LL * 1024 * 1024 * 1024, .unit = "bytes",
    .summary = "f_processSMTPSegment: message bytes kept per mail (the rest counted, dropped)"};
ANALOG_SETTING_REGISTER(max_mail_setting)
static const analog_setting_def max_line_setting = {
    .name = "smtp.max_line_bytes", .def = FN_SMTP_MAX_LINE_BYTES, .min = 512, .max = 1 << 20,
    .unit = "bytes", .summary = "f_processSMTPSegment: longest SMTP command line parsed"};
ANALOG_SETTING_REGISTER(max_line_setting)
static const analog_setting_def max_rcpt_setting = {
    .name = "smtp.max_rcpt", .def = FN_SMTP_MAX_RCPT, .min = 1, .max = 1000000,
    .unit = "addresses", .summary = "f_processSMTPSegment: RCPT TO addresses kept per mail"};
ANALOG_SETTING_REGISTER(max_rcpt_setting)
static const analog_setting_def max_text_setting = {
    .name = "smtp.max_text_bytes", .def = SMTP_TEXT_BYTES, .min = 1024,
    .max = 4LL * 1024 * 1024 * 1024, .unit = "bytes",
    .summary = "f_processSMTPSegment: decoded text (for f_match) kept per mail"};
ANALOG_SETTING_REGISTER(max_text_setting)

/** One connection's state. */
typedef struct smtp_state {
    fn_smtp_session *session; /* NULL between connections */
    fn_smtp_limits lim;       /* the settings, read when the state was made */
    size_t text_cap;
    sx_value queue[SMTP_QUEUE_MAX]; /* mails not yet returned, a ring */
    unsigned head, count;
} smtp_state;

/* ---- building a mail record ---- */

/** A string value of a mail header (decoded, "" when absent). */
static sx_value header_field(const fn_smtp_mail *m, const char *name, fn_mime_buf *buf)
{
    if (!fn_mime_header(m->raw, m->raw_len, name, SMTP_HEADER_MAX, buf) || !buf->len)
        return sx_value_str("", 0);
    return sx_value_str((const char *)buf->data, buf->len);
}

/** The list of m's recipients. */
static sx_value rcpt_list(const fn_smtp_mail *m)
{
    sx_value l = sx_value_list((uint32_t)m->rcpt_count);
    for (size_t i = 0; i < m->rcpt_count; i++)
        sx_value_list_set(&l, (uint32_t)i, NULL, sx_value_cstr(m->rcpt[i]));
    return l;
}

/** m as a mail record (fields as the file comment lists them), its
 *  text cut at text_cap. The caller owns it. */
static sx_value mail_record(const fn_smtp_mail *m, size_t text_cap)
{
    fn_mime_buf buf;
    fn_mime_buf_init(&buf, 0);
    sx_value r = sx_value_record(12);
    sx_value_list_set(&r, 0, "mail_from", sx_value_cstr(m->mail_from));
    sx_value_list_set(&r, 1, "rcpt_to", rcpt_list(m));
    sx_value_list_set(&r, 2, "from", header_field(m, "From", &buf));
    sx_value_list_set(&r, 3, "to", header_field(m, "To", &buf));
    sx_value_list_set(&r, 4, "subject", header_field(m, "Subject", &buf));
    sx_value_list_set(&r, 5, "message_id", header_field(m, "Message-ID", &buf));
    sx_value_list_set(&r, 6, "size", sx_value_int((int64_t)m->size));
    sx_value_list_set(&r, 7, "index", sx_value_int(m->index));
    sx_value_list_set(&r, 8, "transfer", sx_value_cstr(m->transfer));
    sx_value_list_set(&r, 9, "truncated", sx_value_bool(m->truncated));
    sx_value_list_set(&r, 10, "raw", sx_value_bytes(m->raw, m->raw_len));
    fn_mime_text(m->raw, m->raw_len, text_cap, &buf);
    sx_value_list_set(&r, 11, "text", sx_value_str(buf.len ? (const char *)buf.data : "", buf.len));
    fn_mime_buf_free(&buf);
    return r;
}

/* ---- the queue of mails not yet returned ---- */

/** Callback of the session: queues the completed mail as a record. A
 *  mail queued behind another is returned by a later call (deferred);
 *  one that finds the queue full is dropped (lost). */
static void on_mail(const fn_smtp_mail *m, void *arg)
{
    smtp_state *st = arg;
    if (st->count == SMTP_QUEUE_MAX) {
        fn_smtp_count_queue(0, 1);
        return;
    }
    if (st->count)
        fn_smtp_count_queue(1, 0);
    st->queue[(st->head + st->count) % SMTP_QUEUE_MAX] = mail_record(m, st->text_cap);
    st->count++;
}

/** The oldest queued mail, removed (the caller owns it), or "". */
static sx_value queue_pop(smtp_state *st)
{
    if (!st->count)
        return sx_value_str("", 0);
    sx_value v = st->queue[st->head];
    st->queue[st->head] = sx_value_null();
    st->head = (st->head + 1) % SMTP_QUEUE_MAX;
    st->count--;
    return v;
}

/* ---- state ---- */

/** A connection's state, with the caps read from the settings. */
static void *smtp_state_new(void)
{
    smtp_state *st = sx_calloc(1, sizeof *st);
    st->lim.max_mail_bytes = (size_t)analog_setting_get(max_mail_setting.name);
    st->lim.max_line_bytes = (size_t)analog_setting_get(max_line_setting.name);
    st->lim.max_rcpt = (size_t)analog_setting_get(max_rcpt_setting.name);
    st->text_cap = (size_t)analog_setting_get(max_text_setting.name);
    return st;
}

/** Ends the connection's session (mails it completes are queued). */
static void session_end(smtp_state *st)
{
    if (!st->session)
        return;
    fn_smtp_finish(st->session, on_mail, st);
    fn_smtp_session_destroy(&st->session);
}

/** Frees a state; queued mails are lost (counted). */
static void smtp_state_free(void *p)
{
    smtp_state *st = p;
    fn_smtp_session_destroy(&st->session);
    fn_smtp_count_queue(0, st->count);
    while (st->count) {
        sx_value v = queue_pop(st);
        sx_value_release(&v);
    }
    free(st);
}

/* ---- f_processSMTPSegment ---- */

/** True when text value v holds exactly the C string s. */
static bool text_is(const sx_value *v, const char *s)
{
    size_t n = strlen(s), len = v->u.blob ? v->u.blob->len : 0;
    return len == n && (n == 0 || memcmp(v->u.blob->data, s, n) == 0);
}

/** The text field name of record msg into *out (a missing field reads
 *  as ""); -1 with a message when it is not text. */
static int text_field(analog_fn_ctx *ctx, const sx_value *msg, const char *name,
                      const sx_value **out)
{
    static const sx_value empty = {.kind = SX_STR};
    const sx_value *v = sx_value_field(msg, name);
    *out = v ? v : &empty;
    if (fn_args_is_text(*out))
        return 0;
    return fn_args_errorf(ctx->err, ctx->errlen,
                          "f_processSMTPSegment: argument 1: field %s must be a string or bytes, "
                          "not %s", name, sx_kind_name((sx_kind)(*out)->kind));
}

/** The session direction of dir ("c2s"/"s2c"), or -1 with a message. */
static int direction(analog_fn_ctx *ctx, const sx_value *dir)
{
    if (text_is(dir, "c2s"))
        return FN_SMTP_C2S;
    if (text_is(dir, "s2c"))
        return FN_SMTP_S2C;
    return fn_args_errorf(ctx->err, ctx->errlen, "f_processSMTPSegment: argument 1: data "
                          "with dir \"%s\" (want \"c2s\" or \"s2c\")",
                          dir->u.blob ? (const char *)dir->u.blob->data : "");
}

/** Feeds one TCP message record to the connection's session. An "open"
 *  event starts a new session; close, reset and timeout end it after
 *  the data; any other event is data. 0, or -1 with a message. */
static int segment_feed(analog_fn_ctx *ctx, smtp_state *st, const sx_value *msg)
{
    const sx_value *dir, *data, *event;
    if (text_field(ctx, msg, "dir", &dir) || text_field(ctx, msg, "data", &data) ||
        text_field(ctx, msg, "event", &event))
        return -1;
    if (text_is(event, "open"))
        session_end(st);
    size_t len = data->u.blob ? data->u.blob->len : 0;
    if (len) {
        int d = direction(ctx, dir);
        if (d < 0)
            return -1;
        if (!st->session)
            st->session = fn_smtp_session_new(&st->lim);
        fn_smtp_feed(st->session, d, data->u.blob->data, len, on_mail, st);
    } else if (!st->session && text_is(event, "open")) {
        st->session = fn_smtp_session_new(&st->lim);
    }
    if (text_is(event, "close") || text_is(event, "reset") || text_is(event, "timeout"))
        session_end(st);
    return 0;
}

/** Feeds a TCP_MESSAGE to the connection's SMTP session; returns the
 *  oldest completed mail not yet returned, or "". */
static int f_process_smtp_segment(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                                  sx_value *result)
{
    smtp_state *st = ctx->state;
    const sx_value *msg = &args[0];
    if (!st)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_processSMTPSegment: no state");
    if (msg->kind == SX_RECORD) {
        if (segment_feed(ctx, st, msg) != 0)
            return -1;
    } else if (!fn_args_is_text(msg) || !text_is(msg, "")) {
        return fn_args_type_error(ctx, "f_processSMTPSegment", 1,
                                  "a TCP message record (from f_processTCP) or \"\"", msg);
    }
    *result = queue_pop(st);
    return 0;
}

static const analog_fn_def fn_process_smtp_segment_def = {
    .name = "f_processSMTPSegment", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_STATEFUL,
    .call = f_process_smtp_segment,
    .state_new = smtp_state_new,
    .state_free = smtp_state_free,
    .idle_timeout_ns = SMTP_IDLE_NS,
    .summary = "f_processSMTPSegment(tcp_message, flow_id): a completed mail record of the "
               "connection's SMTP session, or \"\"",
};
ANALOG_FN_REGISTER(fn_process_smtp_segment_def)

/* ---- f_mailSummary, f_mailRaw ---- */

/** True for the fields a summary leaves out. */
static bool bulky(const sx_blob *name)
{
    static const char *const fields[] = {"raw", "text"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t n = strlen(fields[i]);
        if (name && name->len == n && memcmp(name->data, fields[i], n) == 0)
            return true;
    }
    return false;
}

/** The mail record without its raw and text fields. */
static int f_mail_summary(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                          sx_value *result)
{
    if (args[0].kind != SX_RECORD)
        return fn_args_type_error(ctx, "f_mailSummary", 1, "a mail record", &args[0]);
    const sx_list *l = args[0].u.list;
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->n; i++)
        n += !bulky(l->names[i]);
    *result = sx_value_record(n);
    for (uint32_t i = 0, j = 0; i < l->n; i++) {
        if (bulky(l->names[i]))
            continue;
        const char *name = l->names[i] ? (const char *)l->names[i]->data : "";
        sx_value_list_set(result, j++, name, sx_value_copy(&l->items[i]));
    }
    return 0;
}

static const analog_fn_def fn_mail_summary_def = {
    .name = "f_mailSummary", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_mail_summary,
    .summary = "f_mailSummary(mail): the mail record without its raw and text fields",
};
ANALOG_FN_REGISTER(fn_mail_summary_def)

/** The raw message bytes of a mail record. */
static int f_mail_raw(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                      sx_value *result)
{
    const sx_value *raw = sx_value_field(&args[0], "raw");
    if (!raw || raw->kind != SX_BYTES)
        return fn_args_type_error(ctx, "f_mailRaw", 1, "a mail record (with raw bytes)",
                                  &args[0]);
    *result = sx_value_copy(raw);
    return 0;
}

static const analog_fn_def fn_mail_raw_def = {
    .name = "f_mailRaw", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_mail_raw,
    .summary = "f_mailRaw(mail): the mail's raw message (bytes), as sent, dot-unstuffed",
};
ANALOG_FN_REGISTER(fn_mail_raw_def)
