/*
 * fn_sip.c -- SIP for ANALOG programs: f_processUDPDetector(IP_PKT),
 * f_sipEventParse(IP_PKT), f_sipStreamParse(TCP_MESSAGE, FLOW_ID),
 * f_sipcallid(EVENT).
 *
 * Each SIP message becomes an event record (functions/sip_msg.h parses
 * it with libosip2); its fields, in this order:
 *   time_ns (int, the capture time), transport ("UDP"/"TCP"), src (ip),
 *   sport (int), dst (ip), dport (int), request (bool), method (the
 *   request's, or a response's CSeq method), status (int, 0 for a
 *   request), reason ("" for a request), request_uri ("" for a
 *   response), call_id, cseq (int), cseq_method, from_uri, from_tag,
 *   to_uri, to_tag, via_branch (topmost Via), contact (first Contact's
 *   URI), content_type ("type/subtype"), content_length (int: body bytes
 *   present), size (int: bytes of the whole message).
 * Strings are "" when absent. Bad content is never an error: a message
 * that is not SIP, is cut short or lacks Call-ID, CSeq, From or To is
 * counted (sip.malformed and one sip.<reason> counter) and yields ""
 * (UDP) or nothing (TCP). Errors (-1) are for arguments of the wrong
 * type only.
 *
 * f_sipStreamParse keeps per connection (its context key, so one lane
 * and no lock) a buffer per direction holding the start of a message
 * not yet complete, at most sip.max_message_bytes. A direction that
 * cannot be framed (no Content-Length, a header block over
 * sip.max_header_bytes, bytes that are not SIP) or whose message would
 * exceed the cap is given up for the connection's life: counted
 * sip.stream_desync, its later bytes counted sip.stream_bytes_ignored.
 * An open, close, reset or timeout event starts afresh; the bytes of
 * an incomplete message dropped then are counted
 * sip.stream_leftover_bytes.
 */
#include <string.h>

#include "analog/counters.h"
#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/fn_args.h"
#include "functions/sip_msg.h"
#include "proto/alloc.h"

#define IP4_HDR_MIN 20
#define UDP_HDR_LEN 8
#define IP_PROTO_UDP 17
#define IP4_MF 0x2000u
#define IP4_OFFSET_MASK 0x1fffu
/* Packet time a connection's state may stay idle. */
#define SIP_IDLE_NS (10LL * 60 * 1000000000LL)
/* Default cap of a message buffered from a stream. */
#define SIP_MAX_MESSAGE_BYTES (64u * 1024u)
/* Fields of an event record. */
#define SIP_EVENT_FIELDS 23u

static const analog_setting_def max_header_setting = {
    .name = "sip.max_header_bytes", .def = FN_SIP_MAX_HEADER_BYTES, .min = 256,
    .max = 16LL * 1024 * 1024, .unit = "bytes",
    .summary = "SIP: longest header block (start line to empty line) parsed; longer is malformed"};
ANALOG_SETTING_REGISTER(max_header_setting)
static const analog_setting_def max_items_setting = {
    .name = "sip.max_header_items", .def = FN_SIP_MAX_HEADER_ITEMS, .min = 16, .max = 1000000,
    .unit = "items",
    .summary = "SIP: most header lines, ',' and ';' in a header block (libosip2's time grows "
               "with their square); more is malformed"};
ANALOG_SETTING_REGISTER(max_items_setting)
static const analog_setting_def max_message_setting = {
    .name = "sip.max_message_bytes", .def = SIP_MAX_MESSAGE_BYTES, .min = 256,
    .max = 64LL * 1024 * 1024, .unit = "bytes",
    .summary = "f_sipStreamParse: longest message buffered per direction; beyond, the "
               "direction is given up"};
ANALOG_SETTING_REGISTER(max_message_setting)

/* ---- counters ---- */

#define SIP_COUNTER(var, cname, text)                                                           \
    static analog_counter var = {.name = cname, .summary = text};                               \
    ANALOG_COUNTER_REGISTER(var)
SIP_COUNTER(c_udp_detected, "sip.udp_detected",
            "UDP packets f_processUDPDetector recognized as SIP")
SIP_COUNTER(c_events_udp, "sip.messages_udp", "SIP messages over UDP parsed into events")
SIP_COUNTER(c_events_tcp, "sip.messages_tcp", "SIP messages over TCP parsed into events")
SIP_COUNTER(c_malformed, "sip.malformed",
            "SIP messages refused as malformed (each also counted under its reason)")
SIP_COUNTER(c_bad_packet, "sip.bad_packet",
            "f_sipEventParse packets that are no whole IPv4 UDP datagram (malformed)")
SIP_COUNTER(c_udp_bad, "udp.bad_length",
            "UDP packets f_processUDPDetector could not inspect: cut short or lying lengths")
SIP_COUNTER(c_desync, "sip.stream_desync",
            "TCP directions given up: unframable, or a message over sip.max_message_bytes")
SIP_COUNTER(c_ignored, "sip.stream_bytes_ignored", "TCP bytes not inspected after a desync")
SIP_COUNTER(c_leftover, "sip.stream_leftover_bytes",
            "TCP bytes of incomplete SIP messages dropped at a connection's end")

/* One counter per reason a message is malformed (FN_SIP_NO_LENGTH
 * only ever stops framing: it is part of sip.stream_desync). */
static analog_counter c_reason[FN_SIP_ERROR_COUNT] = {
    [FN_SIP_NOT_SIP] = {.name = "sip.not_sip", .summary = "malformed SIP: no SIP start line"},
    [FN_SIP_HEADER_TOO_BIG] = {.name = "sip.header_too_big",
                               .summary = "malformed SIP: header block over sip.max_header_bytes"},
    [FN_SIP_TOO_MANY_ITEMS] = {.name = "sip.too_many_items",
                               .summary = "malformed SIP: header lines, ',' and ';' over "
                                          "sip.max_header_items"},
    [FN_SIP_TRUNCATED] = {.name = "sip.truncated",
                          .summary = "malformed SIP: no empty line after the headers, or a "
                                     "body shorter than Content-Length"},
    [FN_SIP_BINARY] = {.name = "sip.binary", .summary = "malformed SIP: NUL byte in the headers"},
    [FN_SIP_BAD_LENGTH] = {.name = "sip.bad_content_length",
                           .summary = "malformed SIP: Content-Length not a number, or two "
                                      "different ones"},
    [FN_SIP_UNPARSABLE] = {.name = "sip.unparsable", .summary = "malformed SIP: libosip2 "
                                                                "refused the message"},
    [FN_SIP_MISSING_CALL_ID] = {.name = "sip.missing_call_id",
                                .summary = "malformed SIP: no Call-ID"},
    [FN_SIP_MISSING_CSEQ] = {.name = "sip.missing_cseq", .summary = "malformed SIP: no CSeq"},
    [FN_SIP_BAD_CSEQ] = {.name = "sip.bad_cseq",
                         .summary = "malformed SIP: CSeq number not below 2^31, or no method"},
    [FN_SIP_MISSING_FROM] = {.name = "sip.missing_from", .summary = "malformed SIP: no From"},
    [FN_SIP_MISSING_TO] = {.name = "sip.missing_to", .summary = "malformed SIP: no To"},
};

/** Registers the reason counters (those with a name). */
__attribute__((constructor)) static void register_reason_counters(void)
{
    for (int i = 0; i < FN_SIP_ERROR_COUNT; i++)
        if (c_reason[i].name && analog_counter_register(&c_reason[i]) != 0)
            analog_counter_refused(c_reason[i].name);
}

/** Counts a malformed message and its reason. */
static void count_malformed(fn_sip_error e)
{
    analog_counter_add(&c_malformed, 1);
    if ((unsigned)e < FN_SIP_ERROR_COUNT && c_reason[e].name)
        analog_counter_add(&c_reason[e], 1);
}

/* ---- the event record ---- */

/** Where a message went: addresses (ip values) and ports. */
typedef struct endpoints {
    sx_value src, dst; /* borrowed: copied into each record */
    int64_t sport, dport;
} endpoints;

/** m as an event record (the file comment lists its fields). The
 *  caller owns it. */
static sx_value event_record(const fn_sip_msg *m, int64_t now_ns, const char *transport,
                             const endpoints *ep)
{
    sx_value r = sx_value_record(SIP_EVENT_FIELDS);
    uint32_t i = 0;
    sx_value_list_set(&r, i++, "time_ns", sx_value_int(now_ns));
    sx_value_list_set(&r, i++, "transport", sx_value_cstr(transport));
    sx_value_list_set(&r, i++, "src", sx_value_copy(&ep->src));
    sx_value_list_set(&r, i++, "sport", sx_value_int(ep->sport));
    sx_value_list_set(&r, i++, "dst", sx_value_copy(&ep->dst));
    sx_value_list_set(&r, i++, "dport", sx_value_int(ep->dport));
    sx_value_list_set(&r, i++, "request", sx_value_bool(m->request));
    sx_value_list_set(&r, i++, "method", sx_value_cstr(m->method));
    sx_value_list_set(&r, i++, "status", sx_value_int(m->status));
    sx_value_list_set(&r, i++, "reason", sx_value_cstr(m->reason));
    sx_value_list_set(&r, i++, "request_uri", sx_value_cstr(m->request_uri));
    sx_value_list_set(&r, i++, "call_id", sx_value_cstr(m->call_id));
    sx_value_list_set(&r, i++, "cseq", sx_value_int(m->cseq));
    sx_value_list_set(&r, i++, "cseq_method", sx_value_cstr(m->cseq_method));
    sx_value_list_set(&r, i++, "from_uri", sx_value_cstr(m->from_uri));
    sx_value_list_set(&r, i++, "from_tag", sx_value_cstr(m->from_tag));
    sx_value_list_set(&r, i++, "to_uri", sx_value_cstr(m->to_uri));
    sx_value_list_set(&r, i++, "to_tag", sx_value_cstr(m->to_tag));
    sx_value_list_set(&r, i++, "via_branch", sx_value_cstr(m->via_branch));
    sx_value_list_set(&r, i++, "contact", sx_value_cstr(m->contact));
    sx_value_list_set(&r, i++, "content_type", sx_value_cstr(m->content_type));
    sx_value_list_set(&r, i++, "content_length", sx_value_int((int64_t)m->content_length));
    sx_value_list_set(&r, i++, "size", sx_value_int((int64_t)m->size));
    return r;
}

/** Parses buf[0..len) as one message into *event (an event record);
 *  false, counted, when it is malformed. */
static bool parse_event(const uint8_t *buf, size_t len, int64_t now_ns, const char *transport,
                        const endpoints *ep, sx_value *event)
{
    fn_sip_msg m;
    fn_sip_limits lim = {
        .max_header_bytes = (size_t)analog_setting_get(max_header_setting.name),
        .max_header_items = (size_t)analog_setting_get(max_items_setting.name)};
    fn_sip_error e = fn_sip_parse(buf, len, &lim, &m);
    if (e == FN_SIP_OK)
        *event = event_record(&m, now_ns, transport, ep);
    else
        count_malformed(e);
    fn_sip_msg_clear(&m);
    return e == FN_SIP_OK;
}

/* ---- UDP datagrams ---- */

/** A whole IPv4 UDP datagram, pointing into the packet's bytes. */
typedef struct udp_view {
    const uint8_t *src, *dst; /* 4 address bytes each */
    unsigned sport, dport;
    const uint8_t *payload;
    size_t len;
} udp_view;

/** Big-endian 16-bit read; the caller has checked p[0..2) is present. */
static unsigned rd16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/** Fills *u when b holds one whole IPv4 packet (not a fragment, not cut
 *  short) carrying UDP with a consistent length. Packets are hostile:
 *  every read is checked against the bytes present. */
static bool udp_parse(const sx_blob *b, udp_view *u)
{
    const uint8_t *p = b ? b->data : NULL;
    size_t len = b ? b->len : 0;
    if (len < IP4_HDR_MIN || p[0] >> 4 != 4)
        return false;
    size_t hlen = (size_t)(p[0] & 0x0f) * 4, total = rd16(p + 2);
    if (hlen < IP4_HDR_MIN || total < hlen + UDP_HDR_LEN || total > len || p[9] != IP_PROTO_UDP ||
        (rd16(p + 6) & (IP4_MF | IP4_OFFSET_MASK)) != 0)
        return false;
    const uint8_t *t = p + hlen;
    size_t ulen = rd16(t + 4);
    if (ulen < UDP_HDR_LEN || ulen > total - hlen)
        return false;
    *u = (udp_view){.src = p + 12, .dst = p + 16, .sport = rd16(t), .dport = rd16(t + 2),
                    .payload = t + UDP_HDR_LEN, .len = ulen - UDP_HDR_LEN};
    return true;
}

/** f_processUDPDetector(IP_PKT): "SIP" when the packet is UDP whose
 *  payload starts with a SIP start line (any port), else "UNKNOWN". */
static int f_process_udp_detector(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                                  sx_value *result)
{
    if (args[0].kind != SX_BYTES)
        return fn_args_type_error(ctx, "f_processUDPDetector", 1, "bytes (an IPv4 packet)",
                                  &args[0]);
    udp_view u;
    const sx_blob *b = args[0].u.blob;
    bool whole = udp_parse(b, &u);
    bool sip = whole && fn_sip_looks_like(u.payload, u.len);
    if (sip)
        analog_counter_add(&c_udp_detected, 1);
    else if (!whole && b && b->len >= IP4_HDR_MIN && b->data[9] == IP_PROTO_UDP)
        analog_counter_add(&c_udp_bad, 1); /* never silently: a UDP packet not inspected */
    *result = sx_value_cstr(sip ? "SIP" : "UNKNOWN");
    return 0;
}

static const analog_fn_def fn_process_udp_detector_def = {
    .name = "f_processUDPDetector", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_process_udp_detector,
    .summary = "f_processUDPDetector(IP_PKT): \"SIP\" when the UDP payload starts with a SIP "
               "request or status line (any port), else \"UNKNOWN\"",
};
ANALOG_FN_REGISTER(fn_process_udp_detector_def)

/** f_sipEventParse(IP_PKT): the UDP payload's SIP message as an event
 *  record, or "" (counted) when it is malformed. */
static int f_sip_event_parse(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                             sx_value *result)
{
    if (args[0].kind != SX_BYTES)
        return fn_args_type_error(ctx, "f_sipEventParse", 1, "bytes (an IPv4 packet)", &args[0]);
    udp_view u;
    if (!udp_parse(args[0].u.blob, &u)) {
        analog_counter_add(&c_malformed, 1);
        analog_counter_add(&c_bad_packet, 1);
        *result = sx_value_cstr("");
        return 0;
    }
    endpoints ep = {.src = sx_value_ip4(u.src), .dst = sx_value_ip4(u.dst), .sport = u.sport,
                    .dport = u.dport};
    if (parse_event(u.payload, u.len, ctx->now_ns, "UDP", &ep, result))
        analog_counter_add(&c_events_udp, 1);
    else
        *result = sx_value_cstr("");
    return 0;
}

static const analog_fn_def fn_sip_event_parse_def = {
    /* not pure: the record carries the packet time (ctx->now_ns) */
    .name = "f_sipEventParse", .min_args = 1, .max_args = 1, .flags = 0,
    .call = f_sip_event_parse,
    .summary = "f_sipEventParse(IP_PKT): the UDP payload's SIP message as an event record "
               "{time_ns, transport, src, sport, dst, dport, request, method, status, ..., "
               "call_id, cseq, ...}, or \"\" when malformed (counted)",
};
ANALOG_FN_REGISTER(fn_sip_event_parse_def)

/* ---- TCP streams: state ---- */

/** One direction of a connection. */
typedef struct sip_dir {
    uint8_t *buf;         /* the start of a message not yet complete */
    size_t len, cap;
    fn_sip_frame_pos pos; /* framing progress on buf's message */
    bool dead;            /* given up (desync) until the connection ends */
} sip_dir;

/** One connection's state: both directions and the caps. */
typedef struct sip_stream {
    sip_dir dir[2]; /* 0: from the client (c2s), 1: from the server */
    size_t max_header, max_message;
} sip_stream;

/** A connection's state, with the caps read from the settings. */
static void *sip_stream_new(void)
{
    sip_stream *st = sx_calloc(1, sizeof *st);
    st->max_header = (size_t)analog_setting_get(max_header_setting.name);
    st->max_message = (size_t)analog_setting_get(max_message_setting.name);
    return st;
}

/** Empties a direction: the bytes of an incomplete message are counted
 *  as left over; the buffer is freed. */
static void dir_reset(sip_dir *d)
{
    if (d->len)
        analog_counter_add(&c_leftover, d->len);
    free(d->buf);
    *d = (sip_dir){0};
}

/** Frees a state (bytes still buffered are counted as left over). */
static void sip_stream_free(void *p)
{
    sip_stream *st = p;
    dir_reset(&st->dir[0]);
    dir_reset(&st->dir[1]);
    free(st);
}

/** Gives a direction up for the connection's life; ignored bytes
 *  (buffered or not yet looked at) are counted. */
static void dir_desync(sip_dir *d, size_t ignored)
{
    analog_counter_add(&c_desync, 1);
    analog_counter_add(&c_ignored, ignored);
    free(d->buf);
    *d = (sip_dir){.dead = true};
}

/** Appends p[0..n) to a direction's buffer. */
static void dir_append(sip_dir *d, const uint8_t *p, size_t n)
{
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 512;
        while (cap < d->len + n)
            cap *= 2;
        d->buf = sx_realloc(d->buf, cap);
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
}

/* ---- TCP streams: framing ---- */

/** Events completed by one call, in order. */
typedef struct events {
    sx_value *v;
    size_t n, cap;
} events;

/** Adds an event (taking it over). */
static void events_push(events *ev, sx_value v)
{
    if (ev->n == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 4;
        ev->v = sx_realloc(ev->v, ev->cap * sizeof *ev->v);
    }
    ev->v[ev->n++] = v;
}

/** What one call knows about the bytes it feeds. */
typedef struct feed_ctx {
    sip_stream *st;
    const endpoints *ep;
    int64_t now_ns;
    events *out;
} feed_ctx;

/** Frames and parses the complete messages at the start of b[0..n), a
 *  direction's bytes; returns how many bytes they (and CR/LF between
 *  them) took. A direction that cannot be framed is given up (d->dead)
 *  and the rest counted as ignored. */
static size_t dir_consume(const feed_ctx *fc, sip_dir *d, const uint8_t *b, size_t n)
{
    size_t off = 0;
    for (;;) {
        if (d->pos.searched == 0 && !d->pos.start_ok)
            off += fn_sip_skip_crlf(b + off, n - off); /* keep-alives between messages */
        if (off == n)
            return off;
        int64_t r = fn_sip_frame_len(b + off, n - off, fc->st->max_header, &d->pos, NULL);
        if (r < 0 || (uint64_t)r > fc->st->max_message ||
            (uint64_t)d->pos.total > fc->st->max_message) {
            dir_desync(d, n - off);
            return n;
        }
        if (r == 0)
            return off;
        sx_value ev;
        if (parse_event(b + off, (size_t)r, fc->now_ns, "TCP", fc->ep, &ev)) {
            analog_counter_add(&c_events_tcp, 1);
            events_push(fc->out, ev);
        }
        off += (size_t)r;
        d->pos = (fn_sip_frame_pos){0};
    }
}

/** Feeds p[0..n), new in-order bytes of direction d. Messages are
 *  parsed straight from p when nothing is buffered; only the start of
 *  an incomplete message is copied into the buffer, which is freed as
 *  soon as it is empty. */
static void dir_feed(const feed_ctx *fc, sip_dir *d, const uint8_t *p, size_t n)
{
    if (d->dead) {
        analog_counter_add(&c_ignored, n);
        return;
    }
    bool buffered = d->len > 0;
    if (buffered)
        dir_append(d, p, n);
    const uint8_t *b = buffered ? d->buf : p;
    size_t blen = buffered ? d->len : n;
    size_t off = dir_consume(fc, d, b, blen);
    if (d->dead)
        return;
    if (buffered) {
        memmove(d->buf, d->buf + off, blen - off);
        d->len = blen - off;
    } else if (off < n) {
        dir_append(d, p + off, n - off);
    }
    if (d->len > fc->st->max_message) {
        dir_desync(d, d->len);
    } else if (d->len == 0) { /* most connections sit idle between messages */
        free(d->buf);
        d->buf = NULL;
        d->cap = 0;
    }
}

/* ---- TCP streams: f_sipStreamParse ---- */

/** True when text value v holds exactly the C string s. */
static bool text_is(const sx_value *v, const char *s)
{
    if (!fn_args_is_text(v))
        return false;
    size_t n = strlen(s), len = v->u.blob ? v->u.blob->len : 0;
    return len == n && (n == 0 || memcmp(v->u.blob->data, s, n) == 0);
}

/** Field name of record msg, checked to be of kind want (a missing
 *  field reads as NULL); -1 with a message when it has another kind. */
static int field(analog_fn_ctx *ctx, const sx_value *msg, const char *name, sx_kind want,
                 const sx_value **out)
{
    *out = sx_value_field(msg, name);
    bool ok = !*out || (*out)->kind == want ||
              (want == SX_BYTES && fn_args_is_text(*out));
    if (ok)
        return 0;
    return fn_args_errorf(ctx->err, ctx->errlen, "f_sipStreamParse: argument 1: field %s must "
                          "be %s, not %s", name, want == SX_BYTES ? "a string or bytes" :
                          sx_kind_name(want), sx_kind_name((sx_kind)(*out)->kind));
}

/** The endpoints of data sent in direction dir (0 c2s, 1 s2c) of the
 *  connection msg describes; -1 with a message when its addresses or
 *  ports are missing. */
static int message_endpoints(analog_fn_ctx *ctx, const sx_value *msg, int dir, endpoints *ep)
{
    const sx_value *client, *server, *cport, *sport;
    if (field(ctx, msg, "client", SX_IP, &client) || field(ctx, msg, "server", SX_IP, &server) ||
        field(ctx, msg, "cport", SX_INT, &cport) || field(ctx, msg, "sport", SX_INT, &sport))
        return -1;
    if (!client || !server || !cport || !sport)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_sipStreamParse: argument 1: a TCP "
                              "message needs client, cport, server and sport fields");
    *ep = dir == 0 ? (endpoints){*client, *server, cport->u.i, sport->u.i}
                   : (endpoints){*server, *client, sport->u.i, cport->u.i};
    return 0;
}

/** Feeds the data of one TCP message record (dir, data). 0, or -1
 *  with a message. */
static int feed_data(analog_fn_ctx *ctx, sip_stream *st, const sx_value *msg, events *out)
{
    const sx_value *dir, *data;
    if (field(ctx, msg, "dir", SX_BYTES, &dir) || field(ctx, msg, "data", SX_BYTES, &data))
        return -1;
    size_t n = data && data->u.blob ? data->u.blob->len : 0;
    if (n == 0)
        return 0;
    int d = dir && text_is(dir, "c2s") ? 0 : dir && text_is(dir, "s2c") ? 1 : -1;
    if (d < 0)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_sipStreamParse: argument 1: data with "
                              "dir other than \"c2s\" or \"s2c\"");
    endpoints ep;
    if (message_endpoints(ctx, msg, d, &ep) != 0)
        return -1;
    feed_ctx fc = {.st = st, .ep = &ep, .now_ns = ctx->now_ns, .out = out};
    dir_feed(&fc, &st->dir[d], data->u.blob->data, n);
    return 0;
}

/** Feeds one TCP message record: an open event starts afresh, then the
 *  data, then a close, reset or timeout ends the connection's buffers. */
static int stream_feed(analog_fn_ctx *ctx, sip_stream *st, const sx_value *msg, events *out)
{
    const sx_value *event;
    if (field(ctx, msg, "event", SX_BYTES, &event) != 0)
        return -1;
    bool open = event && text_is(event, "open");
    bool end = event && (text_is(event, "close") || text_is(event, "reset") ||
                         text_is(event, "timeout"));
    if (open || end) {
        dir_reset(&st->dir[0]);
        dir_reset(&st->dir[1]);
    }
    if (feed_data(ctx, st, msg, out) != 0)
        return -1;
    if (end) {
        dir_reset(&st->dir[0]);
        dir_reset(&st->dir[1]);
    }
    return 0;
}

/** f_sipStreamParse(TCP_MESSAGE, FLOW_ID): the list of event records of
 *  the SIP messages this TCP message completed (usually none or one). */
static int f_sip_stream_parse(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                              sx_value *result)
{
    sip_stream *st = ctx->state;
    const sx_value *msg = &args[0];
    if (!st)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_sipStreamParse: no state");
    if (msg->kind != SX_RECORD && !text_is(msg, ""))
        return fn_args_type_error(ctx, "f_sipStreamParse", 1,
                                  "a TCP message record (from f_processTCP) or \"\"", msg);
    events ev = {0};
    int rc = msg->kind == SX_RECORD ? stream_feed(ctx, st, msg, &ev) : 0;
    if (rc == 0) {
        *result = sx_value_list((uint32_t)ev.n);
        for (size_t i = 0; i < ev.n; i++)
            sx_value_list_set(result, (uint32_t)i, NULL, ev.v[i]);
    } else {
        for (size_t i = 0; i < ev.n; i++)
            sx_value_release(&ev.v[i]);
    }
    free(ev.v);
    return rc;
}

static const analog_fn_def fn_sip_stream_parse_def = {
    .name = "f_sipStreamParse", .min_args = 2, .max_args = 2,
    .flags = ANALOG_FN_STATEFUL | ANALOG_FN_MULTI, .call = f_sip_stream_parse,
    .state_new = sip_stream_new, .state_free = sip_stream_free, .idle_timeout_ns = SIP_IDLE_NS,
    .summary = "f_sipStreamParse(TCP_MESSAGE, FLOW_ID): the SIP messages the TCP message "
               "completed, as event records (like f_sipEventParse's, transport \"TCP\"); the "
               "rule fires once per message",
};
ANALOG_FN_REGISTER(fn_sip_stream_parse_def)

/* ---- f_sipcallid ---- */

/** f_sipcallid(EVENT): the event record's call_id. */
static int f_sip_call_id(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                         sx_value *result)
{
    const sx_value *id = sx_value_field(&args[0], "call_id");
    if (args[0].kind != SX_RECORD || !id || id->kind != SX_STR)
        return fn_args_type_error(ctx, "f_sipcallid", 1, "a SIP event record (with a call_id)",
                                  &args[0]);
    *result = sx_value_copy(id);
    return 0;
}

static const analog_fn_def fn_sip_call_id_def = {
    .name = "f_sipcallid", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_sip_call_id,
    .summary = "f_sipcallid(EVENT): the SIP event record's call_id (a string)",
};
ANALOG_FN_REGISTER(fn_sip_call_id_def)
