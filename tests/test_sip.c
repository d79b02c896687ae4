/*
 * test_sip.c -- SIP message parsing (functions/sip_msg.h) and the ANALOG
 * functions f_processUDPDetector, f_sipEventParse, f_sipStreamParse and
 * f_sipcallid, called as the evaluator calls them.
 *
 *   test_sip units    start lines, framing, then each function: a call
 *                     (INVITE, 180, 200, ACK, BYE, CANCEL, 486) over UDP
 *                     with every field checked, compact headers, the
 *                     detector, TCP streams (several messages in a
 *                     segment, one split in three, bodies, keep-alives,
 *                     no Content-Length, close mid-message), malformed
 *                     and hostile input with its counters.
 *   test_sip bench N  parses a typical INVITE N times and prints the rate
 *                     (by hand, never a test: timings are for bench/).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analog/counters.h"
#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/sip_msg.h"

#include "tests/check.h"
#include "tests/fn_call.h"

/* ---- building packets and TCP messages ---- */

#define NOW_NS 1700000000123456789LL

static const uint8_t ALICE[4] = {10, 0, 0, 1};
static const uint8_t BOB[4] = {10, 0, 0, 2};

/** An IPv4 packet (protocol proto) around payload[0..len) after a UDP
 *  header (proto 17) or 20 zero bytes of a TCP header (proto 6). The
 *  caller owns the bytes value. */
static sx_value ip_packet(unsigned proto, const uint8_t src[4], unsigned sport,
                          const uint8_t dst[4], unsigned dport, const void *payload, size_t len)
{
    size_t thl = proto == 17 ? 8 : 20, total = 20 + thl + len;
    CHECK(total <= 65535, "packet too big for IPv4");
    uint8_t *p = calloc(1, total);
    p[0] = 0x45;
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    p[8] = 64;
    p[9] = (uint8_t)proto;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    uint8_t *t = p + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    if (proto == 17) {
        t[4] = (uint8_t)((8 + len) >> 8);
        t[5] = (uint8_t)(8 + len);
    } else {
        t[12] = 5 << 4;
    }
    memcpy(t + thl, payload, len);
    sx_value v = sx_value_bytes(p, total);
    free(p);
    return v;
}

/** A UDP packet from ALICE:5060 to BOB:5060 carrying text. */
static sx_value sip_udp(const char *text)
{
    return ip_packet(17, ALICE, 5060, BOB, 5060, text, strlen(text));
}

/** A TCP message record as f_processTCP makes it: client ALICE:40000,
 *  server BOB:5060. */
static sx_value tcp_msg(const char *dir, const void *data, size_t len, const char *event)
{
    sx_value r = sx_value_record(7);
    sx_value_list_set(&r, 0, "dir", sx_value_cstr(dir));
    sx_value_list_set(&r, 1, "data", sx_value_bytes(data, len));
    sx_value_list_set(&r, 2, "event", sx_value_cstr(event));
    sx_value_list_set(&r, 3, "client", sx_value_ip4(ALICE));
    sx_value_list_set(&r, 4, "cport", sx_value_int(40000));
    sx_value_list_set(&r, 5, "server", sx_value_ip4(BOB));
    sx_value_list_set(&r, 6, "sport", sx_value_int(5060));
    return r;
}

/* ---- calling the functions ---- */

static char err[256];

/** f_name(arg) with ctx->now_ns NOW_NS; returns the result, checking
 *  the call succeeded. */
static sx_value call1(const char *name, sx_value arg)
{
    const analog_fn_def *def = analog_fn_lookup(name);
    CHECK(def, name);
    sx_value result = sx_value_null();
    analog_fn_ctx ctx = {.workers = 1, .now_ns = NOW_NS, .err = err, .errlen = sizeof err};
    err[0] = 0;
    int rc = def->call(&ctx, &arg, 1, &result);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, err);
    CHECK(rc == 0, "the call succeeds");
    sx_value_release(&arg);
    return result;
}

/** f_sipStreamParse(msg, flow) on state st; the list it returns. */
static sx_value stream_call(void *st, sx_value msg)
{
    const analog_fn_def *def = analog_fn_lookup("f_sipStreamParse");
    sx_value args[2] = {msg, sx_value_int(42)}, result = sx_value_null();
    analog_fn_ctx ctx = {.workers = 1, .now_ns = NOW_NS, .state = st, .err = err,
                         .errlen = sizeof err};
    err[0] = 0;
    int rc = def->call(&ctx, args, 2, &result);
    if (rc != 0)
        fprintf(stderr, "f_sipStreamParse: %s\n", err);
    CHECK(rc == 0 && result.kind == SX_LIST, "f_sipStreamParse returns a list");
    sx_value_release(&args[0]);
    return result;
}

/** The counter's value (it must exist). */
static uint64_t counter(const char *name)
{
    uint64_t v = analog_counter_get(name);
    if (v == UINT64_MAX)
        fprintf(stderr, "no counter %s\n", name);
    CHECK(v != UINT64_MAX, "the counter is registered");
    return v;
}

/* ---- checking records ---- */

/** True when v is the string s. */
static bool is_str(const sx_value *v, const char *s)
{
    size_t n = strlen(s);
    return v && v->kind == SX_STR && v->u.blob && v->u.blob->len == n &&
           memcmp(v->u.blob->data, s, n) == 0;
}

static void fail_field(int line, const sx_value *rec, const char *name, const char *want)
{
    fprintf(stderr, "FAIL line %d: field %s, want %s, record: ", line, name, want);
    sx_value_print(stderr, rec);
    fprintf(stderr, "\n");
    exit(1);
}

static void expect_str(int line, const sx_value *rec, const char *name, const char *want)
{
    if (!is_str(sx_value_field(rec, name), want))
        fail_field(line, rec, name, want);
}

static void expect_int(int line, const sx_value *rec, const char *name, int64_t want)
{
    const sx_value *v = sx_value_field(rec, name);
    if (!v || v->kind != SX_INT || v->u.i != want) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)want);
        fail_field(line, rec, name, buf);
    }
}

#define STR(rec, name, want) expect_str(__LINE__, (rec), (name), (want))
#define INT(rec, name, want) expect_int(__LINE__, (rec), (name), (want))

/** Checks the record's field names and order, its kinds, and the
 *  addresses: from src:sport to dst:dport over transport. */
static void expect_layout(const sx_value *rec, const char *transport, const uint8_t src[4],
                          int64_t sport, const uint8_t dst[4], int64_t dport)
{
    static const char *const names[] = {
        "time_ns", "transport", "src", "sport", "dst", "dport", "request", "method", "status",
        "reason", "request_uri", "call_id", "cseq", "cseq_method", "from_uri", "from_tag",
        "to_uri", "to_tag", "via_branch", "contact", "content_type", "content_length", "size"};
    size_t n = sizeof names / sizeof names[0];
    CHECK(rec->kind == SX_RECORD && rec->u.list->n == n, "an event record of 23 fields");
    for (size_t i = 0; i < n; i++) {
        const sx_blob *name = rec->u.list->names[i];
        CHECK(name && name->len == strlen(names[i]) && memcmp(name->data, names[i], name->len) == 0,
              "field names in order");
    }
    INT(rec, "time_ns", NOW_NS);
    STR(rec, "transport", transport);
    const sx_value *s = sx_value_field(rec, "src"), *d = sx_value_field(rec, "dst");
    CHECK(s->kind == SX_IP && s->u.ip.family == 4 && memcmp(s->u.ip.addr, src, 4) == 0, "src");
    CHECK(d->kind == SX_IP && d->u.ip.family == 4 && memcmp(d->u.ip.addr, dst, 4) == 0, "dst");
    INT(rec, "sport", sport);
    INT(rec, "dport", dport);
    CHECK(sx_value_field(rec, "request")->kind == SX_BOOL, "request is a bool");
}

static bool is_request(const sx_value *rec)
{
    return sx_value_field(rec, "request")->u.b;
}

/* ---- a call's messages (RFC 3665 style) ---- */

#define CALL_ID "a84b4c76e66710@pc33.atlanta.example.com"
#define SDP "v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n" \
            "s=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\n"

static char msgbuf[8192];

/** A message: start line, the call's common headers with the given
 *  To tag and CSeq, extra headers, and body (Content-Length set). */
static const char *message(const char *start, const char *to_tag, const char *cseq,
                           const char *extra, const char *body)
{
    snprintf(msgbuf, sizeof msgbuf,
             "%s\r\n"
             "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n"
             "Max-Forwards: 70\r\n"
             "To: Bob <sip:bob@biloxi.example.com>%s%s\r\n"
             "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
             "Call-ID: " CALL_ID "\r\n"
             "CSeq: %s\r\n"
             "%s"
             "Content-Length: %zu\r\n"
             "\r\n%s",
             start, to_tag ? ";tag=" : "", to_tag ? to_tag : "", cseq, extra, strlen(body), body);
    return msgbuf;
}

/** Checks the fields every message of the call shares. */
static void expect_call(const sx_value *rec, const char *to_tag, int64_t cseq,
                        const char *cseq_method)
{
    STR(rec, "call_id", CALL_ID);
    INT(rec, "cseq", cseq);
    STR(rec, "cseq_method", cseq_method);
    STR(rec, "from_uri", "sip:alice@atlanta.example.com");
    STR(rec, "from_tag", "9fxced76sl");
    STR(rec, "to_uri", "sip:bob@biloxi.example.com");
    STR(rec, "to_tag", to_tag);
    STR(rec, "via_branch", "z9hG4bKnashds8");
}

/** Parses text as a UDP datagram ALICE -> BOB; the event record. */
static sx_value udp_event(const char *text)
{
    sx_value r = call1("f_sipEventParse", sip_udp(text));
    if (r.kind != SX_RECORD)
        fprintf(stderr, "not parsed:\n%s\n", text);
    CHECK(r.kind == SX_RECORD, "f_sipEventParse parses the message");
    expect_layout(&r, "UDP", ALICE, 5060, BOB, 5060);
    INT(&r, "size", (int64_t)strlen(text));
    return r;
}

/** Checks a request's own fields. */
static void expect_request(const sx_value *r, const char *method, const char *ruri)
{
    CHECK(is_request(r), "a request");
    STR(r, "method", method);
    INT(r, "status", 0);
    STR(r, "reason", "");
    STR(r, "request_uri", ruri);
}

/** Checks a response's own fields. */
static void expect_response(const sx_value *r, const char *method, int status, const char *reason)
{
    CHECK(!is_request(r), "a response");
    STR(r, "method", method);
    INT(r, "status", status);
    STR(r, "reason", reason);
    STR(r, "request_uri", "");
}

/** INVITE, 180, 200, ACK, BYE over UDP, every field checked. */
static void test_udp_call(void)
{
    uint64_t parsed = counter("sip.messages_udp");
    sx_value r = udp_event(message("INVITE sip:bob@biloxi.example.com SIP/2.0", NULL,
                                   "314159 INVITE",
                                   "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
                                   "Content-Type: application/sdp\r\n", SDP));
    expect_request(&r, "INVITE", "sip:bob@biloxi.example.com");
    expect_call(&r, "", 314159, "INVITE");
    STR(&r, "contact", "sip:alice@pc33.atlanta.example.com");
    STR(&r, "content_type", "application/sdp");
    INT(&r, "content_length", (int64_t)strlen(SDP));
    sx_value id = call1("f_sipcallid", sx_value_copy(&r));
    CHECK(is_str(&id, CALL_ID), "f_sipcallid gives the Call-ID");
    sx_value_release(&id);
    sx_value_release(&r);

    r = udp_event(message("SIP/2.0 180 Ringing", "8321234356", "314159 INVITE",
                          "Contact: <sip:bob@192.0.2.4>\r\n", ""));
    expect_response(&r, "INVITE", 180, "Ringing");
    expect_call(&r, "8321234356", 314159, "INVITE");
    STR(&r, "contact", "sip:bob@192.0.2.4");
    STR(&r, "content_type", "");
    INT(&r, "content_length", 0);
    sx_value_release(&r);

    r = udp_event(message("SIP/2.0 200 OK", "8321234356", "314159 INVITE",
                          "Contact: <sip:bob@192.0.2.4>\r\nContent-Type: application/sdp\r\n",
                          SDP));
    expect_response(&r, "INVITE", 200, "OK");
    expect_call(&r, "8321234356", 314159, "INVITE");
    STR(&r, "content_type", "application/sdp");
    INT(&r, "content_length", (int64_t)strlen(SDP));
    sx_value_release(&r);

    r = udp_event(message("ACK sip:bob@192.0.2.4 SIP/2.0", "8321234356", "314159 ACK", "", ""));
    expect_request(&r, "ACK", "sip:bob@192.0.2.4");
    expect_call(&r, "8321234356", 314159, "ACK");
    STR(&r, "contact", "");
    INT(&r, "content_length", 0);
    sx_value_release(&r);

    r = udp_event(message("BYE sip:bob@192.0.2.4 SIP/2.0", "8321234356", "314160 BYE", "", ""));
    expect_request(&r, "BYE", "sip:bob@192.0.2.4");
    expect_call(&r, "8321234356", 314160, "BYE");
    sx_value_release(&r);
    CHECK(counter("sip.messages_udp") == parsed + 5, "five messages counted");
}

/** CANCEL and 486 Busy Here, and a tel: Request-URI. */
static void test_udp_failures(void)
{
    sx_value r = udp_event(message("CANCEL sip:bob@biloxi.example.com SIP/2.0", NULL,
                                   "314159 CANCEL", "", ""));
    expect_request(&r, "CANCEL", "sip:bob@biloxi.example.com");
    expect_call(&r, "", 314159, "CANCEL");
    sx_value_release(&r);

    r = udp_event(message("SIP/2.0 486 Busy Here", "3344", "314159 INVITE", "", ""));
    expect_response(&r, "INVITE", 486, "Busy Here");
    expect_call(&r, "3344", 314159, "INVITE");
    sx_value_release(&r);

    r = udp_event(message("INVITE tel:+1-201-555-0123 SIP/2.0", NULL, "1 INVITE", "", ""));
    expect_request(&r, "INVITE", "tel:+1-201-555-0123");
    sx_value_release(&r);
}

/** Compact header forms i: f: t: v: m: l: c:, and LF-only line ends. */
static void test_compact(void)
{
    const char *text = "INVITE sip:bob@example.com SIP/2.0\r\n"
                       "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcompact\r\n"
                       "f: \"A\" <sip:alice@example.com>;tag=f1\r\n"
                       "t: <sip:bob@example.com>\r\n"
                       "i: compact-1@192.0.2.1\r\n"
                       "CSeq: 7 INVITE\r\n"
                       "m: <sip:alice@192.0.2.1:5060>\r\n"
                       "c: application/sdp\r\n"
                       "l: 4\r\n"
                       "\r\n"
                       "v=0\n";
    sx_value r = udp_event(text);
    expect_request(&r, "INVITE", "sip:bob@example.com");
    STR(&r, "call_id", "compact-1@192.0.2.1");
    INT(&r, "cseq", 7);
    STR(&r, "from_uri", "sip:alice@example.com");
    STR(&r, "from_tag", "f1");
    STR(&r, "to_uri", "sip:bob@example.com");
    STR(&r, "to_tag", "");
    STR(&r, "via_branch", "z9hG4bKcompact");
    STR(&r, "contact", "sip:alice@192.0.2.1:5060");
    STR(&r, "content_type", "application/sdp");
    INT(&r, "content_length", 4);
    sx_value_release(&r);

    r = udp_event("OPTIONS sip:carol@example.com SIP/2.0\n"
                  "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKlf\n"
                  "From: <sip:alice@example.com>;tag=x\n"
                  "To: <sip:carol@example.com>\n"
                  "Call-ID: lf-only\n"
                  "CSeq: 2 OPTIONS\n"
                  "\n");
    expect_request(&r, "OPTIONS", "sip:carol@example.com");
    STR(&r, "call_id", "lf-only");
    INT(&r, "content_length", 0);
    sx_value_release(&r);
}

/** Datagram bodies: without Content-Length the rest of the datagram;
 *  bytes beyond Content-Length are not part of the message. */
static void test_udp_bodies(void)
{
    const char *head = "MESSAGE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
                       "Call-ID: m1\r\nCSeq: 5 MESSAGE\r\nContent-Type: text/plain\r\n";
    char text[1024];
    snprintf(text, sizeof text, "%s\r\nhello", head);
    sx_value r = udp_event(text);
    INT(&r, "content_length", 5);
    STR(&r, "content_type", "text/plain");
    sx_value_release(&r);

    snprintf(text, sizeof text, "%sContent-Length: 2\r\n\r\nhello", head);
    r = call1("f_sipEventParse", sip_udp(text));
    CHECK(r.kind == SX_RECORD, "parsed");
    INT(&r, "content_length", 2);
    INT(&r, "size", (int64_t)strlen(text) - 3);
    sx_value_release(&r);
}

/* ---- the detector ---- */

/** f_processUDPDetector on a packet: true for "SIP", false for
 *  "UNKNOWN". */
static bool detect(sx_value pkt)
{
    sx_value r = call1("f_processUDPDetector", pkt);
    bool sip = is_str(&r, "SIP");
    CHECK(sip || is_str(&r, "UNKNOWN"), "the detector says SIP or UNKNOWN");
    sx_value_release(&r);
    return sip;
}

static void test_detector(void)
{
    uint64_t before = counter("sip.udp_detected");
    CHECK(detect(sip_udp(message("INVITE sip:bob@x SIP/2.0", NULL, "1 INVITE", "", ""))),
          "an INVITE is SIP");
    CHECK(detect(ip_packet(17, ALICE, 33333, BOB, 40000, "SIP/2.0 200 OK\r\n", 16)),
          "a status line on any port is SIP");
    CHECK(detect(sip_udp("REGISTER sips:registrar.example.com SIP/2.0\r\n")), "sips: URI");
    CHECK(counter("sip.udp_detected") == before + 3, "detections counted");

    static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x03, 'w',  'w',  'w',  0x07, 'e',  'x',  'a',
                                  'm',  'p',  'l',  'e',  0x03, 'c',  'o',  'm',  0x00, 0x00,
                                  0x01, 0x00, 0x01, '\n'};
    CHECK(!detect(ip_packet(17, ALICE, 5353, BOB, 53, dns, sizeof dns)), "DNS is not SIP");
    const char *http = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
    CHECK(!detect(sip_udp(http)), "HTTP is not SIP");
    CHECK(!detect(sip_udp("INVITE sip:bob@x SIP/2.0")), "no line end yet: not SIP");
    CHECK(!detect(sip_udp("INVITE sip:bob@x SIP/3.0\r\n")), "another version");
    CHECK(!detect(sip_udp("INVITE bob@x SIP/2.0\r\n")), "a URI needs a scheme");
    CHECK(!detect(sip_udp("INV(TE sip:bob@x SIP/2.0\r\n")), "a method is a token");
    CHECK(!detect(sip_udp("SIP/2.0 2000 OK\r\n")), "3 digits");
    CHECK(!detect(sip_udp("")), "empty payload");
    const char *inv = "INVITE sip:bob@x SIP/2.0\r\n\r\n";
    CHECK(!detect(ip_packet(6, ALICE, 5060, BOB, 5060, inv, strlen(inv))), "TCP is UNKNOWN");
    sx_value pkt = sip_udp(inv);
    sx_value cut = sx_value_bytes(pkt.u.blob->data, 30);
    CHECK(!detect(cut), "a truncated packet is UNKNOWN");
    sx_value_release(&pkt);

    sx_value r;
    sx_value s = sx_value_cstr("INVITE");
    CHECK(fn_call("f_processUDPDetector", &s, 1, 0, NULL, &r, err, sizeof err) == -1 &&
              strstr(err, "argument 1"), "a string argument is an error");
    CHECK(fn_call("f_sipcallid", &s, 1, 0, NULL, &r, err, sizeof err) == -1,
          "f_sipcallid of a non-record is an error");
    CHECK(fn_call("f_sipEventParse", &s, 1, 0, NULL, &r, err, sizeof err) == -1,
          "f_sipEventParse of a string is an error");
    sx_value_release(&s);
}

/* ---- malformed input ---- */

/** Parses text over UDP expecting "" and the counter named reason (and
 *  sip.malformed) one up. */
static void expect_malformed_bytes(int line, const void *data, size_t len, const char *reason)
{
    uint64_t m = counter("sip.malformed"), c = counter(reason);
    sx_value r = call1("f_sipEventParse", ip_packet(17, ALICE, 5060, BOB, 5060, data, len));
    if (!is_str(&r, "") || counter("sip.malformed") != m + 1 || counter(reason) != c + 1) {
        fprintf(stderr, "FAIL line %d: want \"\" counted %s; got ", line, reason);
        sx_value_print(stderr, &r);
        fprintf(stderr, "\n");
        exit(1);
    }
    sx_value_release(&r);
}

#define MALFORMED(text, reason) expect_malformed_bytes(__LINE__, (text), strlen(text), (reason))

static void test_malformed(void)
{
    const char *full = message("INVITE sip:bob@x SIP/2.0", NULL, "1 INVITE", "", "");
    char cut[256];
    snprintf(cut, sizeof cut, "%.*s", 120, full);
    MALFORMED(cut, "sip.truncated");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
              "CSeq: 1 INVITE\r\n\r\n", "sip.missing_call_id");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
              "Call-ID: c1\r\n\r\n", "sip.missing_cseq");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
              "Call-ID: c1\r\nCSeq: one INVITE\r\n\r\n", "sip.bad_cseq");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\n"
              "CSeq: 1 INVITE\r\n\r\n", "sip.missing_from");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c1\r\n"
              "CSeq: 1 INVITE\r\n\r\n", "sip.missing_to");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
              "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 50\r\n\r\nshort",
              "sip.truncated");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nCall-ID: c1\r\nContent-Length: 1x\r\n\r\n",
              "sip.bad_content_length");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nCall-ID: c1\r\n"
              "Content-Length: 99999999999999999999999\r\n\r\n", "sip.bad_content_length");
    MALFORMED("INVITE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
              "Call-ID: c1\r\nCSeq: 4294967296 INVITE\r\n\r\n", "sip.bad_cseq");
    MALFORMED("HELLO WORLD\r\n\r\n", "sip.not_sip");
    static const char nul[] = "INVITE sip:bob@x SIP/2.0\r\nCall-ID: c\0d\r\n\r\n";
    expect_malformed_bytes(__LINE__, nul, sizeof nul - 1, "sip.binary");

    /* a non-UDP packet, and a UDP length beyond the packet */
    const char *inv = message("INVITE sip:bob@x SIP/2.0", NULL, "1 INVITE", "", "");
    uint64_t bad = counter("sip.bad_packet");
    sx_value r = call1("f_sipEventParse", ip_packet(6, ALICE, 5060, BOB, 5060, inv, strlen(inv)));
    CHECK(is_str(&r, "") && counter("sip.bad_packet") == bad + 1, "TCP packet: \"\", counted");
    sx_value_release(&r);
    sx_value pkt = sip_udp(inv);
    uint8_t *p = malloc(pkt.u.blob->len);
    memcpy(p, pkt.u.blob->data, pkt.u.blob->len);
    p[24] = 0xff; /* UDP length */
    r = call1("f_sipEventParse", sx_value_bytes(p, pkt.u.blob->len));
    CHECK(is_str(&r, "") && counter("sip.bad_packet") == bad + 2, "lying UDP length");
    sx_value_release(&r);
    free(p);
    sx_value_release(&pkt);
}

/** A 100 KB header line (refused cheaply by the module; over UDP, where
 *  a datagram holds at most 65507 bytes, with a smaller cap), and 4 KB
 *  of random bytes on port 5060. */
static void test_hostile(void)
{
    size_t big = 100 * 1024;
    char *text = malloc(big + 256);
    int n = snprintf(text, 256, "INVITE sip:bob@x SIP/2.0\r\nSubject: ");
    memset(text + n, 'a', big);
    strcpy(text + n + big, "\r\nCall-ID: c\r\n\r\n");
    fn_sip_msg m;
    CHECK(fn_sip_parse((const uint8_t *)text, strlen(text), NULL, &m) == FN_SIP_HEADER_TOO_BIG,
          "a 100 KB header line is over the cap");
    fn_sip_msg_clear(&m);

    char msg[64];
    CHECK(analog_setting_set("sip.max_header_bytes", "4096", msg, sizeof msg) == 0, msg);
    size_t udp_max = 65507 - 64;
    strcpy(text + n + udp_max, "\r\nCall-ID: c\r\n\r\n");
    expect_malformed_bytes(__LINE__, text, strlen(text), "sip.header_too_big");
    CHECK(analog_setting_set("sip.max_header_bytes", "65536", msg, sizeof msg) == 0, msg);
    free(text);

    /* a long Route list: libosip2 would take time growing with its square */
    char *routes = malloc(16384);
    n = snprintf(routes, 16384, "INVITE sip:bob@x SIP/2.0\r\nRoute: <sip:p0@x;lr>");
    for (int i = 1; i < 400; i++)
        n += snprintf(routes + n, 16384 - (size_t)n, ",<sip:p%d@x;lr>", i);
    snprintf(routes + n, 16384 - (size_t)n, "\r\nCall-ID: c\r\n\r\n");
    MALFORMED(routes, "sip.too_many_items");
    free(routes);

    uint8_t junk[4096];
    srand(7);
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rand();
        uint64_t m0 = counter("sip.malformed");
        sx_value r = call1("f_sipEventParse", ip_packet(17, ALICE, 5060, BOB, 5060, junk,
                                                        sizeof junk));
        CHECK(is_str(&r, "") && counter("sip.malformed") == m0 + 1, "random bytes: \"\", counted");
        sx_value_release(&r);
        CHECK(!detect(ip_packet(17, ALICE, 5060, BOB, 5060, junk, sizeof junk)),
              "random bytes are not SIP");
    }
}

/** Valid messages with random bytes changed, cut or inserted: whatever
 *  libosip2 makes of them, no crash, no leak (the ASan build checks),
 *  and every result is a record or "". */
static void test_mutations(void)
{
    const char *base = message("INVITE sip:bob@biloxi.example.com SIP/2.0", NULL,
                               "314159 INVITE",
                               "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
                               "Content-Type: application/sdp\r\n", SDP);
    size_t len = strlen(base);
    char *buf = malloc(len + 64);
    static const char alphabet[] = "\r\n :;<>@\"=,\t\\%0x";
    srand(11);
    int parsed = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, base, len);
        size_t n = len;
        for (int k = 1 + rand() % 4; k > 0; k--) {
            size_t at = (size_t)rand() % n;
            switch (rand() % 4) {
            case 0: buf[at] = alphabet[rand() % (sizeof alphabet - 1)]; break;
            case 1: buf[at] = (char)rand(); break;
            case 2: n = at + 1; break;
            default:
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = alphabet[rand() % (sizeof alphabet - 1)];
                n++;
                if (n > len + 32)
                    n = len + 32;
            }
        }
        sx_value r = call1("f_sipEventParse", ip_packet(17, ALICE, 5060, BOB, 5060, buf, n));
        CHECK(r.kind == SX_RECORD || is_str(&r, ""), "a record or \"\"");
        parsed += r.kind == SX_RECORD;
        sx_value_release(&r);
    }
    printf("mutations: %d of 20000 still parsed\n", parsed);
    free(buf);
}

/* ---- framing ---- */

static void test_framing(void)
{
    const char *inv = message("INVITE sip:bob@x SIP/2.0", NULL, "1 INVITE",
                              "Content-Type: application/sdp\r\n", SDP);
    size_t len = strlen(inv);
    const uint8_t *b = (const uint8_t *)inv;
    CHECK(fn_sip_frame_len(b, len, 65536, NULL, NULL) == (int64_t)len, "whole message framed");
    CHECK(fn_sip_frame_len(b, len - 1, 65536, NULL, NULL) == 0, "one byte short: wait");
    /* a byte at a time, carrying the position */
    fn_sip_frame_pos pos = {0};
    for (size_t i = 1; i <= len; i++) {
        int64_t r = fn_sip_frame_len(b, i, 65536, &pos, NULL);
        CHECK(i < len ? r == 0 : r == (int64_t)len, "byte at a time");
    }
    fn_sip_error why = FN_SIP_OK;
    const char *nolen = "BYE sip:bob@x SIP/2.0\r\nCall-ID: x\r\n\r\n";
    CHECK(fn_sip_frame_len((const uint8_t *)nolen, strlen(nolen), 65536, NULL, &why) == -1 &&
              why == FN_SIP_NO_LENGTH, "no Content-Length: unframable");
    const char *lflf = "BYE sip:bob@x SIP/2.0\nl: 3\n\nabcBYE";
    CHECK(fn_sip_frame_len((const uint8_t *)lflf, strlen(lflf), 65536, NULL, NULL) == 31,
          "LFLF and compact l:");
    const char *twice = "BYE sip:bob@x SIP/2.0\r\nl: 3\r\nContent-Length: 4\r\n\r\nabcd";
    CHECK(fn_sip_frame_len((const uint8_t *)twice, strlen(twice), 65536, NULL, &why) == -1 &&
              why == FN_SIP_BAD_LENGTH, "two different lengths");
    CHECK(fn_sip_frame_len((const uint8_t *)"GET / HTTP/1.1\r\n", 16, 65536, NULL, &why) == -1 &&
              why == FN_SIP_NOT_SIP, "HTTP: unframable as soon as its first line is in");
    char line[2048];
    memset(line, 'x', sizeof line);
    CHECK(fn_sip_frame_len((const uint8_t *)line, sizeof line, 1024, NULL, &why) == -1 &&
              why == FN_SIP_HEADER_TOO_BIG, "over the header cap");
    CHECK(fn_sip_skip_crlf((const uint8_t *)"\r\n\r\nX", 5) == 4, "keep-alive CRLFs");
    for (int e = 0; e < FN_SIP_ERROR_COUNT; e++)
        CHECK(strcmp(fn_sip_error_name((fn_sip_error)e), "unknown") != 0, "every error named");
}

/* ---- TCP streams ---- */

/** Feeds one TCP message to st and checks the number of events. The
 *  list is the caller's. */
static sx_value feed(void *st, const char *dir, const char *data, const char *event,
                     uint32_t want)
{
    sx_value l = stream_call(st, tcp_msg(dir, data, strlen(data), event));
    if (l.u.list->n != want) {
        fprintf(stderr, "got %u events, want %u: ", l.u.list->n, want);
        sx_value_print(stderr, &l);
        fprintf(stderr, "\n");
        exit(1);
    }
    return l;
}

static void test_stream(void)
{
    const analog_fn_def *def = analog_fn_lookup("f_sipStreamParse");
    CHECK(def && (def->flags & ANALOG_FN_STATEFUL) && (def->flags & ANALOG_FN_MULTI) &&
              def->state_new && def->state_free && def->idle_timeout_ns == 600000000000LL,
          "f_sipStreamParse is stateful and multi-valued");
    void *st = def->state_new();
    uint64_t tcp0 = counter("sip.messages_tcp");

    /* two messages in one segment, with a keep-alive before them */
    char two[8192];
    snprintf(two, sizeof two, "\r\n\r\n%s", message("INVITE sip:bob@x SIP/2.0", NULL,
                                                    "1 INVITE", "", ""));
    size_t first = strlen(two) - 4;
    strcat(two, message("BYE sip:bob@x SIP/2.0", "t9", "2 BYE", "", ""));
    sx_value l = feed(st, "c2s", two, "data", 2);
    const sx_value *e0 = &l.u.list->items[0], *e1 = &l.u.list->items[1];
    expect_layout(e0, "TCP", ALICE, 40000, BOB, 5060);
    expect_request(e0, "INVITE", "sip:bob@x");
    INT(e0, "size", (int64_t)first);
    expect_request(e1, "BYE", "sip:bob@x");
    STR(e1, "to_tag", "t9");
    sx_value_release(&l);

    /* a response with a body, split over three segments */
    const char *ok = message("SIP/2.0 200 OK", "t9", "1 INVITE",
                             "Content-Type: application/sdp\r\n", SDP);
    size_t n = strlen(ok), a = 10, b = n - 20;
    char part[8192];
    snprintf(part, sizeof part, "%.*s", (int)a, ok);
    l = feed(st, "s2c", part, "data", 0);
    sx_value_release(&l);
    snprintf(part, sizeof part, "%.*s", (int)(b - a), ok + a);
    l = feed(st, "s2c", part, "data", 0);
    sx_value_release(&l);
    l = feed(st, "s2c", ok + b, "data", 1);
    e0 = &l.u.list->items[0];
    expect_layout(e0, "TCP", BOB, 5060, ALICE, 40000);
    expect_response(e0, "INVITE", 200, "OK");
    INT(e0, "content_length", (int64_t)strlen(SDP));
    INT(e0, "size", (int64_t)n);
    sx_value_release(&l);
    CHECK(counter("sip.messages_tcp") == tcp0 + 3, "TCP messages counted");

    /* "" is nothing */
    l = stream_call(st, sx_value_cstr(""));
    CHECK(l.u.list->n == 0, "\"\" gives an empty list");
    sx_value_release(&l);

    /* close mid-message: the partial bytes are left over */
    uint64_t left = counter("sip.stream_leftover_bytes");
    l = feed(st, "c2s", "INVITE sip:bob@x SIP/2.0\r\nCall-", "data", 0);
    sx_value_release(&l);
    l = feed(st, "c2s", "", "close", 0);
    sx_value_release(&l);
    CHECK(counter("sip.stream_leftover_bytes") == left + 31, "leftover bytes counted");

    /* after the close the connection starts afresh */
    l = feed(st, "c2s", message("OPTIONS sip:bob@x SIP/2.0", NULL, "3 OPTIONS", "", ""),
             "data", 1);
    sx_value_release(&l);

    /* no Content-Length over TCP: the direction is given up, counted */
    uint64_t desync = counter("sip.stream_desync"), ignored = counter("sip.stream_bytes_ignored");
    const char *nolen = "BYE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
                        "Call-ID: c1\r\nCSeq: 1 BYE\r\n\r\n";
    l = feed(st, "c2s", nolen, "data", 0);
    sx_value_release(&l);
    CHECK(counter("sip.stream_desync") == desync + 1, "desync counted");
    const char *later = message("BYE sip:bob@x SIP/2.0", "t", "4 BYE", "", "");
    l = feed(st, "c2s", later, "data", 0);
    sx_value_release(&l);
    CHECK(counter("sip.stream_bytes_ignored") == ignored + strlen(nolen) + strlen(later),
          "bytes after the desync are ignored, counted");
    l = feed(st, "s2c", message("SIP/2.0 200 OK", "t", "4 BYE", "", ""), "data", 1);
    sx_value_release(&l);

    /* a 100 KB header line over TCP: desync, in bounded memory */
    l = feed(st, "s2c", "", "reset", 0);
    sx_value_release(&l);
    char *big = malloc(100 * 1024 + 64);
    int k = sprintf(big, "INVITE sip:bob@x SIP/2.0\r\nSubject: ");
    memset(big + k, 'b', 100 * 1024);
    big[k + 100 * 1024] = 0;
    desync = counter("sip.stream_desync");
    for (size_t off = 0; off < strlen(big); off += 1460) {
        char seg[1461];
        snprintf(seg, sizeof seg, "%s", big + off);
        l = feed(st, "c2s", seg, "data", 0);
        sx_value_release(&l);
    }
    CHECK(counter("sip.stream_desync") == desync + 1, "a huge header line: one desync");
    free(big);

    /* a malformed but framable message is skipped, the next one parsed */
    l = feed(st, "s2c", "", "open", 0);
    sx_value_release(&l);
    uint64_t m0 = counter("sip.missing_call_id");
    char pair[4096];
    snprintf(pair, sizeof pair, "%s%s",
             "BYE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
             "CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
             message("BYE sip:bob@x SIP/2.0", "t", "5 BYE", "", ""));
    l = feed(st, "c2s", pair, "data", 1);
    sx_value_release(&l);
    CHECK(counter("sip.missing_call_id") == m0 + 1, "the malformed one counted");

    /* a bad record is an error */
    sx_value r, args[2] = {sx_value_int(1), sx_value_int(42)};
    CHECK(fn_call("f_sipStreamParse", args, 2, 0, st, &r, err, sizeof err) == -1,
          "an int is not a TCP message");
    def->state_free(st);
}

/** Feeds text to a new state in two segments split at cut (0: whole);
 *  writes the call_ids of the events, joined by ',', to ids. */
static void stream_ids(const char *text, size_t cut, char *ids, size_t idlen)
{
    const analog_fn_def *def = analog_fn_lookup("f_sipStreamParse");
    void *st = def->state_new();
    size_t len = strlen(text), pieces[2][2] = {{0, cut ? cut : len}, {cut ? cut : len, len}};
    ids[0] = 0;
    for (int i = 0; i < 2; i++) {
        size_t from = pieces[i][0], to = pieces[i][1];
        sx_value l = stream_call(st, tcp_msg("c2s", text + from, to - from, "data"));
        for (uint32_t k = 0; k < l.u.list->n; k++) {
            const sx_value *id = sx_value_field(&l.u.list->items[k], "call_id");
            size_t used = strlen(ids);
            snprintf(ids + used, idlen - used, "%s%s", used ? "," : "",
                     (const char *)id->u.blob->data);
        }
        sx_value_release(&l);
    }
    def->state_free(st);
}

/** Three messages (bodies, keep-alives, LF-only ends between them) split
 *  in two at every point give the same events as fed whole. */
static void test_stream_splits(void)
{
    char text[8192];
    snprintf(text, sizeof text, "%s\r\n", message("INVITE sip:bob@x SIP/2.0", NULL, "1 INVITE",
                                                   "Content-Type: application/sdp\r\n", SDP));
    strcat(text, "MESSAGE sip:bob@x SIP/2.0\nFrom: <sip:a@x>;tag=2\nTo: <sip:b@x>\n"
                 "Call-ID: second\nCSeq: 9 MESSAGE\nl: 5\n\nhello");
    strcat(text, message("BYE sip:bob@x SIP/2.0", "t", "2 BYE", "", ""));
    char whole[256], split[256];
    stream_ids(text, 0, whole, sizeof whole);
    CHECK(strcmp(whole, CALL_ID ",second," CALL_ID) == 0, "three events fed whole");
    for (size_t cut = 1; cut < strlen(text); cut++) {
        stream_ids(text, cut, split, sizeof split);
        if (strcmp(whole, split) != 0)
            fprintf(stderr, "cut at %zu: %s\n", cut, split);
        CHECK(strcmp(whole, split) == 0, "a split anywhere gives the same events");
    }
}

/** Mutated messages fed in random segments: no crash, lists only. */
static void test_stream_mutations(void)
{
    const analog_fn_def *def = analog_fn_lookup("f_sipStreamParse");
    const char *base = message("INVITE sip:bob@x SIP/2.0", NULL, "1 INVITE",
                               "Content-Type: application/sdp\r\n", SDP);
    size_t len = strlen(base);
    uint8_t *buf = malloc(len * 3);
    srand(13);
    for (int round = 0; round < 500; round++) {
        void *st = def->state_new();
        for (int k = 0; k < 3; k++)
            memcpy(buf + k * len, base, len);
        for (int k = 1 + rand() % 6; k > 0; k--)
            buf[(size_t)rand() % (3 * len)] = (uint8_t)"\r\n :0l\x00"[rand() % 8];
        for (size_t off = 0; off < 3 * len;) {
            size_t n = 1 + (size_t)rand() % 300;
            n = n < 3 * len - off ? n : 3 * len - off;
            sx_value l = stream_call(st, tcp_msg(rand() % 2 ? "c2s" : "s2c", buf + off, n,
                                                 "data"));
            sx_value_release(&l);
            off += n;
        }
        def->state_free(st);
    }
    free(buf);
}

/* ---- threads ---- */

/** One thread's share: parses a valid and a malformed message (the
 *  latter makes libosip2 trace an error) many times through the
 *  module; counts the successes. */
static void *parse_loop(void *arg)
{
    static const char *const texts[2] = {
        "INVITE sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: t@x\r\nCSeq: 1 INVITE\r\n\r\n",
        "INVITE sip:bob@x SIP/2.0\r\nFrom: <sip:a@x\r\nTo: \"\r\nCall-ID: t@x\r\n\r\n"};
    long *ok = arg;
    for (int i = 0; i < 4000; i++) {
        const char *t = texts[i % 2];
        fn_sip_msg m;
        if (fn_sip_parse((const uint8_t *)t, strlen(t), NULL, &m) == FN_SIP_OK &&
            strcmp(m.call_id, "t@x") == 0)
            (*ok)++;
        fn_sip_msg_clear(&m);
    }
    return NULL;
}

/** Parses from four threads at once, libosip2 initialised by whichever
 *  comes first: each gets the single-threaded answer (run under the
 *  thread sanitizer build too). */
static void test_threads(void)
{
    pthread_t t[4];
    long ok[4] = {0};
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, parse_loop, &ok[i]) == 0, "thread");
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(ok[i] == 2000, "every valid message parsed, every malformed one refused");
    }
}

/* ---- bench ---- */

/** Parses a typical INVITE n times through fn_sip_parse and through
 *  f_sipEventParse; prints the rates. */
static void bench(long n)
{
    const char *inv = message("INVITE sip:bob@biloxi.example.com SIP/2.0", NULL, "314159 INVITE",
                              "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
                              "Content-Type: application/sdp\r\n", SDP);
    size_t len = strlen(inv);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        fn_sip_msg m;
        CHECK(fn_sip_parse((const uint8_t *)inv, len, NULL, &m) == FN_SIP_OK, "parse");
        fn_sip_msg_clear(&m);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("fn_sip_parse: %ld INVITEs (%zu bytes) in %.3f s: %.0f messages/s\n", n, len, s,
           (double)n / s);
    sx_value pkt = sip_udp(inv);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        sx_value r = call1("f_sipEventParse", sx_value_copy(&pkt));
        sx_value_release(&r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("f_sipEventParse (with the record): %.0f messages/s\n", (double)n / s);
    sx_value_release(&pkt);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "units") == 0) {
        test_threads(); /* first, so that the threads race to initialise libosip2 */
        test_framing();
        test_udp_call();
        test_udp_failures();
        test_compact();
        test_udp_bodies();
        test_detector();
        test_malformed();
        test_hostile();
        test_mutations();
        test_stream();
        test_stream_splits();
        test_stream_mutations();
    } else if (strcmp(what, "bench") == 0) {
        bench(argc > 2 ? atol(argv[2]) : 200000);
        return 0;
    } else {
        fprintf(stderr, "usage: test_sip units | bench [N]\n");
        return 2;
    }
    printf("test_sip %s: all checks passed\n", what);
    return 0;
}
