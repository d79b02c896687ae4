/*
 * test_sip_call.c -- the per-Call-ID SIP call tracker (functions/sip_call.h)
 * and f_sipEventProcess, its ANALOG function, called as the evaluator
 * calls it (.call per message, .drain at heartbeats and at the end).
 *
 * Event records are built by hand, fields in functions/fn_sip.c's order,
 * for one call between ALICE (the caller, 10.0.0.1:5060) and BOB (the
 * callee, 10.0.0.2:5070); times are milliseconds after T0_NS. Every
 * field of every session event is checked: normal calls ended by either
 * side, retransmissions, re-INVITEs, failed and cancelled calls (and the
 * CANCEL/200 race), calls that time out or never end, unanswered BYEs,
 * orphans and bad records. Limits are small: idle 10 s, linger 2 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"
#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/sip_call.h"

#include "tests/check.h"
#include "tests/fn_call.h"

/* ---- the call under test ---- */

/* Not a whole microsecond, so that truncation to microseconds shows. */
#define T0_NS 1700000000123456789LL
#define MS(ms) (T0_NS + (int64_t)(ms) * 1000000)
#define US(ms) (MS(ms) / 1000)
#define IDLE_MS 10000
#define LINGER_MS 2000
#define CALL_ID "3848276298220188511@alice.example.com"

enum { CALLER, CALLEE };

typedef struct party {
    uint8_t ip[4];
    int64_t port;
    const char *uri, *tag;
} party;

static const party PARTY[2] = {
    {{10, 0, 0, 1}, 5060, "sip:alice@example.com", "a-tag"},
    {{10, 0, 0, 2}, 5070, "sip:bob@example.com", NULL /* the message's own */},
};

/** One message of the call. */
typedef struct sip {
    int64_t ms;         /* capture time, after T0_NS */
    int by;             /* CALLER or CALLEE: who sends it */
    const char *method; /* a request's method, or a response's CSeq method */
    int status;         /* 0 for a request */
    int64_t cseq;
    const char *tag;    /* the callee's dialog tag, "" before it gave one */
} sip;

/** The reason phrase of a status. */
static const char *reason_of(int status)
{
    switch (status) {
    case 0: return "";
    case 100: return "Trying";
    case 180: return "Ringing";
    case 200: return "OK";
    case 401: return "Unauthorized";
    case 407: return "Proxy Authentication Required";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    default: return "Whatever";
    }
}

/** m as f_sipEventParse makes it (23 fields, fn_sip.c's order); the field
 *  named skip left out, the one named retype of the wrong kind. The
 *  caller owns the record. From/To are the request originator's: the
 *  caller's for its requests and their responses, the callee's for its
 *  own (a BYE). */
static sx_value record_of(const sip *m, const char *skip, const char *retype)
{
    bool request = m->status == 0;
    int orig = request ? m->by : !m->by;
    const party *src = &PARTY[m->by], *dst = &PARTY[!m->by];
    const char *caller_tag = PARTY[CALLER].tag, *callee_tag = m->tag;
    bool sdp = strcmp(m->method, "INVITE") == 0 && (request || m->status == 200);
    char branch[64];
    snprintf(branch, sizeof branch, "z9hG4bK-%lld-%s", (long long)m->cseq, m->method);
    struct { const char *name; sx_value v; } f[] = {
        {"time_ns", sx_value_int(MS(m->ms))},
        {"transport", sx_value_cstr("UDP")},
        {"src", sx_value_ip4(src->ip)},
        {"sport", sx_value_int(src->port)},
        {"dst", sx_value_ip4(dst->ip)},
        {"dport", sx_value_int(dst->port)},
        {"request", sx_value_bool(request)},
        {"method", sx_value_cstr(m->method)},
        {"status", sx_value_int(m->status)},
        {"reason", sx_value_cstr(reason_of(m->status))},
        {"request_uri", sx_value_cstr(request ? PARTY[!orig].uri : "")},
        {"call_id", sx_value_cstr(CALL_ID)},
        {"cseq", sx_value_int(m->cseq)},
        {"cseq_method", sx_value_cstr(m->method)},
        {"from_uri", sx_value_cstr(PARTY[orig].uri)},
        {"from_tag", sx_value_cstr(orig == CALLER ? caller_tag : callee_tag)},
        {"to_uri", sx_value_cstr(PARTY[!orig].uri)},
        {"to_tag", sx_value_cstr(orig == CALLER ? callee_tag : caller_tag)},
        {"via_branch", sx_value_cstr(branch)},
        {"contact", sx_value_cstr(src->uri)},
        {"content_type", sx_value_cstr(sdp ? "application/sdp" : "")},
        {"content_length", sx_value_int(sdp ? 142 : 0)},
        {"size", sx_value_int(sdp ? 620 : 380)},
    };
    uint32_t n = sizeof f / sizeof f[0];
    sx_value r = sx_value_record(skip ? n - 1 : n);
    for (uint32_t i = 0, j = 0; i < n; i++) {
        if (skip && strcmp(f[i].name, skip) == 0) {
            sx_value_release(&f[i].v);
            continue;
        }
        if (retype && strcmp(f[i].name, retype) == 0) {
            bool text = f[i].v.kind == SX_STR;
            sx_value_release(&f[i].v);
            f[i].v = text ? sx_value_int(7) : sx_value_cstr("7");
        }
        sx_value_list_set(&r, j++, f[i].name, f[i].v);
    }
    return r;
}

/** The counter's value (it must exist). */
static uint64_t counter(const char *name)
{
    uint64_t v = analog_counter_get(name);
    CHECK(v != UINT64_MAX, name);
    return v;
}

/* ---- checking session events ---- */

/** A session event expected; NULL strings stand for "". */
typedef struct want {
    const char *event, *outcome;
    int64_t code;
    const char *reason;
    int64_t start_us, answer_us, end_us, duration_us, time_us, messages;
    const char *ended_by, *to_tag;
} want;

/** Reports field name of session s, not what was expected, and exits. */
static _Noreturn void fail_field(int line, const sx_value *s, const char *name,
                                 const char *expected)
{
    fprintf(stderr, "FAIL line %d: field %s, want %s, session: ", line, name, expected);
    sx_value_print(stderr, s);
    fprintf(stderr, "\n");
    exit(1);
}

/** Checks that field name of s is the string expected (NULL: ""). */
static void expect_str(int line, const sx_value *s, const char *name, const char *expected)
{
    const sx_value *v = sx_value_field(s, name);
    const char *text = expected ? expected : "";
    size_t n = strlen(text), len = v && v->kind == SX_STR && v->u.blob ? v->u.blob->len : 0;
    if (!v || v->kind != SX_STR || len != n || (n && memcmp(v->u.blob->data, text, n) != 0))
        fail_field(line, s, name, text);
}

/** Checks that field name of s is the integer expected. */
static void expect_int(int line, const sx_value *s, const char *name, int64_t expected)
{
    const sx_value *v = sx_value_field(s, name);
    if (!v || v->kind != SX_INT || v->u.i != expected) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)expected);
        fail_field(line, s, name, buf);
    }
}

/** Checks that field name of s is the IPv4 address ip. */
static void expect_ip(int line, const sx_value *s, const char *name, const uint8_t ip[4])
{
    const sx_value *v = sx_value_field(s, name);
    if (!v || v->kind != SX_IP || v->u.ip.family != 4 || memcmp(v->u.ip.addr, ip, 4) != 0)
        fail_field(line, s, name, "an IPv4 address");
}

/** Checks every field of session event s (names in sip_call.h's order). */
static void expect_session(int line, const sx_value *s, const want *w)
{
    static const char *const names[] = {
        "event", "call_id", "from", "to", "from_tag", "to_tag", "caller", "caller_port",
        "callee", "callee_port", "transport", "outcome", "code", "reason", "start_us",
        "answer_us", "end_us", "duration_us", "time_us", "messages", "ended_by"};
    uint32_t n = sizeof names / sizeof names[0];
    if (s->kind != SX_RECORD || s->u.list->n != n)
        fail_field(line, s, "(all)", "a session record of 21 fields");
    for (uint32_t i = 0; i < n; i++) {
        const sx_blob *name = s->u.list->names[i];
        if (!name || name->len != strlen(names[i]) || memcmp(name->data, names[i], name->len))
            fail_field(line, s, names[i], "this field here");
    }
    expect_str(line, s, "event", w->event);
    expect_str(line, s, "call_id", CALL_ID);
    expect_str(line, s, "from", PARTY[CALLER].uri);
    expect_str(line, s, "to", PARTY[CALLEE].uri);
    expect_str(line, s, "from_tag", PARTY[CALLER].tag);
    expect_str(line, s, "to_tag", w->to_tag);
    expect_ip(line, s, "caller", PARTY[CALLER].ip);
    expect_int(line, s, "caller_port", PARTY[CALLER].port);
    expect_ip(line, s, "callee", PARTY[CALLEE].ip);
    expect_int(line, s, "callee_port", PARTY[CALLEE].port);
    expect_str(line, s, "transport", "UDP");
    expect_str(line, s, "outcome", w->outcome);
    expect_int(line, s, "code", w->code);
    expect_str(line, s, "reason", w->reason);
    expect_int(line, s, "start_us", w->start_us);
    expect_int(line, s, "answer_us", w->answer_us);
    expect_int(line, s, "end_us", w->end_us);
    expect_int(line, s, "duration_us", w->duration_us);
    expect_int(line, s, "time_us", w->time_us);
    expect_int(line, s, "messages", w->messages);
    expect_str(line, s, "ended_by", w->ended_by);
}

/* ---- feeding the tracker ---- */

/** Feeds m to c; checks it makes the session event w (none when NULL). */
static void feed(int line, fn_sip_call *c, sip m, const want *w)
{
    sx_value ev = record_of(&m, NULL, NULL), s;
    char err[160] = "";
    int rc = fn_sip_call_feed(c, &ev, &s, err, sizeof err);
    if (rc < 0 || rc != (w != NULL) || (w == NULL && s.kind != SX_NULL)) {
        fprintf(stderr, "FAIL line %d: feed returned %d (%s), want %d; session: ", line, rc,
                err, w != NULL);
        sx_value_print(stderr, &s);
        fprintf(stderr, "\n");
        exit(1);
    }
    if (w)
        expect_session(line, &s, w);
    sx_value_release(&s);
    sx_value_release(&ev);
}

/** fn_sip_call_due at T0 + ms; checks what it says (finished) and
 *  makes (the session event w, none when NULL). */
static void due(int line, fn_sip_call *c, int64_t ms, bool final, bool finished, const want *w)
{
    sx_value s = sx_value_int(99); /* due must overwrite it */
    bool done = fn_sip_call_due(c, MS(ms), final, &s);
    if (done != finished || (w == NULL) != (s.kind == SX_NULL)) {
        fprintf(stderr, "FAIL line %d: due(%lld ms%s) said %s, want %s; session: ", line,
                (long long)ms, final ? ", final" : "", done ? "finished" : "not finished",
                finished ? "finished" : "not finished");
        sx_value_print(stderr, &s);
        fprintf(stderr, "\n");
        exit(1);
    }
    if (w)
        expect_session(line, &s, w);
    sx_value_release(&s);
}

#define QUIET(c, ...) feed(__LINE__, (c), (sip){__VA_ARGS__}, NULL)
#define EVENT(c, w, ...) feed(__LINE__, (c), (sip){__VA_ARGS__}, (w))
#define DUE(c, ms, final, finished, w) due(__LINE__, (c), (ms), (final), (finished), (w))

/** A tracker with the test's limits (the caller frees it). */
static fn_sip_call *tracker(void)
{
    fn_sip_call_limits lim = {.idle_ns = IDLE_MS * 1000000LL, .linger_ns = LINGER_MS * 1000000LL};
    fn_sip_call *c = fn_sip_call_new(&lim);
    CHECK(c, "fn_sip_call_new");
    return c;
}

/* The setup event of an INVITE at T0 (the first message of every call). */
static const want SETUP = {.event = "setup", .start_us = US(0), .time_us = US(0),
                           .messages = 1};

/* ---- the cases ---- */

/** INVITE, 100, 180, 200, ACK, BYE by the caller, 200: setup, established,
 *  teardown; the ended call lingers LINGER_MS after its end. */
static void test_normal_call(void)
{
    fn_sip_call *c = tracker();
    uint64_t calls = counter("sip.calls");
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    CHECK(counter("sip.calls") == calls + 1, "sip.calls counts the INVITE");
    QUIET(c, 50, CALLEE, "INVITE", 100, 1, "");
    QUIET(c, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(3000), .time_us = US(3000), .messages = 4, .to_tag = "b-tag"};
    EVENT(c, &up, 3000, CALLEE, "INVITE", 200, 1, "b-tag");
    QUIET(c, 3050, CALLER, "ACK", 0, 1, "b-tag");
    DUE(c, 3050 + IDLE_MS, false, false, NULL); /* quiet, but not for too long */
    QUIET(c, 9000, CALLER, "BYE", 0, 2, "b-tag");
    want down = {.event = "teardown", .outcome = "answered", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(3000), .end_us = US(9000),
                 .duration_us = 6000 * 1000, .time_us = US(9040), .messages = 7,
                 .ended_by = "caller", .to_tag = "b-tag"};
    EVENT(c, &down, 9040, CALLEE, "BYE", 200, 2, "b-tag");
    /* the BYE's response again, within the linger: absorbed */
    QUIET(c, 9500, CALLEE, "BYE", 200, 2, "b-tag");
    DUE(c, 9600, false, false, NULL);
    DUE(c, 9040 + LINGER_MS, false, false, NULL); /* lingers from the teardown */
    DUE(c, 9040 + LINGER_MS + 1, false, true, NULL);
    fn_sip_call_free(c);
}

/** The callee hangs up (its BYE has its own CSeq space: 1 too). */
static void test_bye_by_callee(void)
{
    fn_sip_call *c = tracker();
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(2000), .time_us = US(2000), .messages = 3, .to_tag = "b-tag"};
    EVENT(c, &up, 2000, CALLEE, "INVITE", 200, 1, "b-tag");
    QUIET(c, 2010, CALLER, "ACK", 0, 1, "b-tag");
    QUIET(c, 5000, CALLEE, "BYE", 0, 1, "b-tag");
    want down = {.event = "teardown", .outcome = "answered", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(2000), .end_us = US(5000),
                 .duration_us = 3000 * 1000, .time_us = US(5030), .messages = 6,
                 .ended_by = "callee", .to_tag = "b-tag"};
    EVENT(c, &down, 5030, CALLER, "BYE", 200, 1, "b-tag");
    DUE(c, 5000 + LINGER_MS + 1, true, true, NULL);
    fn_sip_call_free(c);
}

/** The INVITE, the 200 and the BYE again: nothing changes, each is
 *  counted a retransmission (and a message). */
static void test_retransmissions(void)
{
    fn_sip_call *c = tracker();
    uint64_t before = counter("sip.retransmissions");
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 500, CALLER, "INVITE", 0, 1, "");
    CHECK(counter("sip.retransmissions") == before + 1, "the INVITE again is counted");
    QUIET(c, 600, CALLEE, "INVITE", 180, 1, "b-tag");
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(1000), .time_us = US(1000), .messages = 4, .to_tag = "b-tag"};
    EVENT(c, &up, 1000, CALLEE, "INVITE", 200, 1, "b-tag");
    QUIET(c, 1500, CALLEE, "INVITE", 200, 1, "b-tag");
    CHECK(counter("sip.retransmissions") == before + 2, "the 200 again is counted");
    QUIET(c, 1510, CALLER, "ACK", 0, 1, "b-tag");
    QUIET(c, 1600, CALLER, "INVITE", 0, 1, ""); /* late, after the answer */
    QUIET(c, 4000, CALLER, "BYE", 0, 2, "b-tag");
    QUIET(c, 4500, CALLER, "BYE", 0, 2, "b-tag");
    CHECK(counter("sip.retransmissions") == before + 4, "the INVITE and BYE again are counted");
    want down = {.event = "teardown", .outcome = "answered", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(1000), .end_us = US(4000),
                 .duration_us = 3000 * 1000, .time_us = US(4600), .messages = 10,
                 .ended_by = "caller", .to_tag = "b-tag"};
    EVENT(c, &down, 4600, CALLEE, "BYE", 200, 2, "b-tag");
    QUIET(c, 4700, CALLER, "BYE", 0, 2, "b-tag"); /* within the linger */
    CHECK(counter("sip.retransmissions") == before + 5, "the BYE after the end is counted");
    fn_sip_call_free(c);
}

/** A re-INVITE (CSeq 2) and its 200 in an established call: no event,
 *  counted; the teardown keeps the first answer's time. */
static void test_reinvite(void)
{
    fn_sip_call *c = tracker();
    uint64_t reinvites = counter("sip.reinvites"), retrans = counter("sip.retransmissions");
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(1000), .time_us = US(1000), .messages = 2, .to_tag = "b-tag"};
    EVENT(c, &up, 1000, CALLEE, "INVITE", 200, 1, "b-tag");
    QUIET(c, 1010, CALLER, "ACK", 0, 1, "b-tag");
    QUIET(c, 3000, CALLER, "INVITE", 0, 2, "b-tag");
    QUIET(c, 3050, CALLEE, "INVITE", 200, 2, "b-tag");
    QUIET(c, 3060, CALLER, "ACK", 0, 2, "b-tag");
    CHECK(counter("sip.reinvites") == reinvites + 1, "the re-INVITE is counted");
    CHECK(counter("sip.retransmissions") == retrans, "a re-INVITE is no retransmission");
    QUIET(c, 8000, CALLER, "BYE", 0, 3, "b-tag");
    want down = {.event = "teardown", .outcome = "answered", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(1000), .end_us = US(8000),
                 .duration_us = 7000 * 1000, .time_us = US(8010), .messages = 8,
                 .ended_by = "caller", .to_tag = "b-tag"};
    EVENT(c, &down, 8010, CALLEE, "BYE", 200, 3, "b-tag");
    fn_sip_call_free(c);
}

/** 486 Busy Here: failed at the 486's time, never answered; its ACK
 *  and the 486 again change nothing. */
static void test_failed(void)
{
    fn_sip_call *c = tracker();
    uint64_t retrans = counter("sip.retransmissions");
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 20, CALLEE, "INVITE", 100, 1, "");
    QUIET(c, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    want failed = {.event = "failed", .outcome = "failed", .code = 486, .reason = "Busy Here",
                   .start_us = US(0), .end_us = US(4000), .time_us = US(4000), .messages = 4,
                   .to_tag = "b-tag"};
    EVENT(c, &failed, 4000, CALLEE, "INVITE", 486, 1, "b-tag");
    QUIET(c, 4010, CALLER, "ACK", 0, 1, "b-tag");
    QUIET(c, 4500, CALLEE, "INVITE", 486, 1, "b-tag");
    CHECK(counter("sip.retransmissions") == retrans + 1, "the 486 again is counted");
    DUE(c, 4000 + LINGER_MS, false, false, NULL);
    DUE(c, 4000 + LINGER_MS + 1, false, true, NULL);
    fn_sip_call_free(c);
}

/** CANCEL, its 200, then 487 to the INVITE: cancelled. */
static void test_cancelled(void)
{
    fn_sip_call *c = tracker();
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    QUIET(c, 2000, CALLER, "CANCEL", 0, 1, "");
    QUIET(c, 2010, CALLEE, "CANCEL", 200, 1, "b-tag");
    want cancelled = {.event = "cancelled", .outcome = "cancelled", .code = 487,
                      .reason = "Request Terminated", .start_us = US(0), .end_us = US(2020),
                      .time_us = US(2020), .messages = 5, .to_tag = "b-tag"};
    EVENT(c, &cancelled, 2020, CALLEE, "INVITE", 487, 1, "b-tag");
    QUIET(c, 2030, CALLER, "ACK", 0, 1, "b-tag");
    DUE(c, 2020 + LINGER_MS + 1, false, true, NULL);
    fn_sip_call_free(c);
}

/** CANCEL and the callee's 200 to the INVITE cross: the call is up. */
static void test_cancel_race(void)
{
    fn_sip_call *c = tracker();
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    QUIET(c, 2000, CALLER, "CANCEL", 0, 1, "");
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(2005), .time_us = US(2005), .messages = 4, .to_tag = "b-tag"};
    EVENT(c, &up, 2005, CALLEE, "INVITE", 200, 1, "b-tag");
    QUIET(c, 2010, CALLEE, "CANCEL", 200, 1, "b-tag");
    QUIET(c, 2020, CALLER, "ACK", 0, 1, "b-tag");
    QUIET(c, 2030, CALLER, "BYE", 0, 2, "b-tag");
    want down = {.event = "teardown", .outcome = "answered", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(2005), .end_us = US(2030),
                 .duration_us = 25 * 1000, .time_us = US(2040), .messages = 8,
                 .ended_by = "caller", .to_tag = "b-tag"};
    EVENT(c, &down, 2040, CALLEE, "BYE", 200, 2, "b-tag");
    fn_sip_call_free(c);
}

/** CANCEL and then silence: cancelled once idle, ended at the CANCEL. */
static void test_cancel_unanswered(void)
{
    fn_sip_call *c = tracker();
    uint64_t timeouts = counter("sip.timeouts");
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 1000, CALLER, "CANCEL", 0, 1, "");
    DUE(c, 1000 + IDLE_MS, false, false, NULL);
    want cancelled = {.event = "cancelled", .outcome = "cancelled", .start_us = US(0),
                      .end_us = US(1000), .time_us = US(1000 + IDLE_MS + 1), .messages = 2};
    DUE(c, 1000 + IDLE_MS + 1, false, false, &cancelled);
    CHECK(counter("sip.timeouts") == timeouts + 1, "counted sip.timeouts");
    DUE(c, 1000 + IDLE_MS + 2, false, true, NULL);
    fn_sip_call_free(c);
}

/** An INVITE never answered finally: a timeout once idle, then finished. */
static void test_setup_timeout(void)
{
    fn_sip_call *c = tracker();
    uint64_t timeouts = counter("sip.timeouts");
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 30, CALLEE, "INVITE", 100, 1, "");
    QUIET(c, 500, CALLEE, "INVITE", 180, 1, "b-tag");
    DUE(c, 5000, false, false, NULL);
    DUE(c, 500 + IDLE_MS, false, false, NULL);
    want timeout = {.event = "timeout", .outcome = "timeout", .start_us = US(0),
                    .end_us = US(500), .time_us = US(500 + IDLE_MS + 1), .messages = 3,
                    .to_tag = "b-tag"};
    DUE(c, 500 + IDLE_MS + 1, false, false, &timeout);
    CHECK(counter("sip.timeouts") == timeouts + 1, "counted sip.timeouts");
    DUE(c, 500 + IDLE_MS + 2, false, true, NULL);
    DUE(c, 500 + IDLE_MS + 3, true, true, NULL);
    fn_sip_call_free(c);
}

/** An established call that never ends, at the end of input: a timeout
 *  lasting from the answer to its last message. */
static void test_never_ended(void)
{
    fn_sip_call *c = tracker();
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(1000), .time_us = US(1000), .messages = 3, .to_tag = "b-tag"};
    EVENT(c, &up, 1000, CALLEE, "INVITE", 200, 1, "b-tag");
    QUIET(c, 1010, CALLER, "ACK", 0, 1, "b-tag");
    DUE(c, 4000, false, false, NULL);
    want timeout = {.event = "timeout", .outcome = "timeout", .code = 200, .reason = "OK",
                    .start_us = US(0), .answer_us = US(1000), .end_us = US(1010),
                    .duration_us = 10 * 1000, .time_us = US(5000), .messages = 4,
                    .to_tag = "b-tag"};
    DUE(c, 5000, true, true, &timeout);
    fn_sip_call_free(c);
}

/** A BYE never answered: the call ends at the BYE, reported after the
 *  linger, or at once when the state goes. */
static void test_bye_unanswered(void)
{
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(1000), .time_us = US(1000), .messages = 2, .to_tag = "b-tag"};
    want down = {.event = "teardown", .outcome = "answered", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(1000), .end_us = US(6000),
                 .duration_us = 5000 * 1000, .time_us = US(6000 + LINGER_MS + 1),
                 .messages = 4, .ended_by = "callee", .to_tag = "b-tag"};
    for (int final = 0; final <= 1; final++) {
        fn_sip_call *c = tracker();
        EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
        EVENT(c, &up, 1000, CALLEE, "INVITE", 200, 1, "b-tag");
        QUIET(c, 1010, CALLER, "ACK", 0, 1, "b-tag");
        QUIET(c, 6000, CALLEE, "BYE", 0, 1, "b-tag");
        if (final) {
            down.time_us = US(6500);
            DUE(c, 6500, true, true, &down);
        } else {
            DUE(c, 6000 + LINGER_MS, false, false, NULL);
            DUE(c, 6000 + LINGER_MS + 1, false, false, &down);
            QUIET(c, 6000 + LINGER_MS + 2, CALLER, "BYE", 200, 1, "b-tag"); /* too late */
            DUE(c, 6000 + LINGER_MS + 3, false, true, NULL);
        }
        fn_sip_call_free(c);
    }
}

/** A Call-ID whose first message is a BYE: orphans, no event, finished. */
static void test_orphan(void)
{
    fn_sip_call *c = tracker();
    uint64_t orphans = counter("sip.orphan_messages"), calls = counter("sip.calls");
    QUIET(c, 0, CALLER, "BYE", 0, 2, "b-tag");
    QUIET(c, 40, CALLEE, "BYE", 200, 2, "b-tag");
    QUIET(c, 50, CALLER, "INVITE", 0, 3, "b-tag"); /* not the start of this call */
    CHECK(counter("sip.orphan_messages") == orphans + 3, "every orphan message is counted");
    CHECK(counter("sip.calls") == calls, "an orphan is no call");
    DUE(c, 60, false, true, NULL);
    DUE(c, 60, true, true, NULL);
    fn_sip_call_free(c);
    c = tracker(); /* nothing seen at all */
    DUE(c, 0, false, true, NULL);
    fn_sip_call_free(c);
}

/** Feeds a bad record; checks it is refused with a message. */
static void expect_refused(fn_sip_call *c, const sx_value *ev, const char *what)
{
    sx_value s = sx_value_null();
    char err[160] = "";
    int rc = fn_sip_call_feed(c, ev, &s, err, sizeof err);
    if (rc != -1 || !err[0])
        fprintf(stderr, "%s: rc %d, err \"%s\"\n", what, rc, err);
    CHECK(rc == -1 && err[0], "a bad record is refused with a message");
    sx_value_release(&s);
}

/** Records missing a field the tracker reads, or with one of the wrong
 *  kind, and values that are no record: -1 with a message, and the
 *  tracker is as before. */
static void test_bad_records(void)
{
    static const char *const read[] = {
        "time_ns", "transport", "src", "sport", "dst", "dport", "request", "method", "status",
        "reason", "call_id", "cseq", "cseq_method", "from_uri", "from_tag", "to_uri", "to_tag"};
    sip invite = {0, CALLER, "INVITE", 0, 1, ""};
    fn_sip_call *c = tracker();
    for (size_t i = 0; i < sizeof read / sizeof read[0]; i++) {
        sx_value ev = record_of(&invite, read[i], NULL);
        expect_refused(c, &ev, read[i]);
        sx_value_release(&ev);
        ev = record_of(&invite, NULL, read[i]);
        expect_refused(c, &ev, read[i]);
        sx_value_release(&ev);
    }
    sx_value not_record[] = {sx_value_null(), sx_value_int(1), sx_value_cstr("INVITE"),
                             sx_value_list(0)};
    for (size_t i = 0; i < sizeof not_record / sizeof not_record[0]; i++) {
        expect_refused(c, &not_record[i], sx_kind_name((sx_kind)not_record[i].kind));
        sx_value_release(&not_record[i]);
    }
    DUE(c, 0, false, true, NULL); /* still nothing seen */
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    fn_sip_call_free(c);
}

/* ---- f_sipEventProcess, as the evaluator calls it ---- */

/** f_sipEventProcess(m, CALL_ID) on state st; checks it returns the
 *  session event w, or "" when w is NULL. */
static void process(int line, void *st, sip m, const want *w)
{
    sx_value args[2] = {record_of(&m, NULL, NULL), sx_value_cstr(CALL_ID)}, result;
    char err[256];
    int rc = fn_call("f_sipEventProcess", args, 2, 0x2, st, &result, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "FAIL line %d: f_sipEventProcess: %s\n", line, err);
    CHECK(rc == 0, "f_sipEventProcess succeeds");
    if (w)
        expect_session(line, &result, w);
    else if (result.kind != SX_STR || (result.u.blob && result.u.blob->len))
        fail_field(line, &result, "(result)", "\"\"");
    sx_value_release(&result);
    sx_value_release(&args[0]);
    sx_value_release(&args[1]);
}

/** The drain hook at T0 + ms; checks its return (rc) and result. */
static void drain(int line, void *st, int64_t ms, bool final, int rc_want, const want *w)
{
    const analog_fn_def *def = analog_fn_lookup("f_sipEventProcess");
    char err[256] = "";
    analog_fn_ctx ctx = {.workers = 1, .now_ns = MS(ms), .state = st, .err = err,
                         .errlen = sizeof err};
    sx_value result = sx_value_null();
    int rc = def->drain(&ctx, final, &result);
    if (rc != rc_want || (w == NULL) != (result.kind == SX_NULL)) {
        fprintf(stderr, "FAIL line %d: drain(%lld ms) rc %d, want %d; result: ", line,
                (long long)ms, rc, rc_want);
        sx_value_print(stderr, &result);
        fprintf(stderr, "\n");
        exit(1);
    }
    if (w)
        expect_session(line, &result, w);
    sx_value_release(&result);
}

#define PROCESS(st, w, ...) process(__LINE__, (st), (sip){__VA_ARGS__}, (w))
#define DRAIN(st, ms, final, rc, w) drain(__LINE__, (st), (ms), (final), (rc), (w))

/** A call, a timeout and the end of input through the registered
 *  definition, with sip.call_idle_seconds and sip.linger_seconds set
 *  as --set would; then its argument errors. */
static void test_function(void)
{
    const analog_fn_def *def = analog_fn_lookup("f_sipEventProcess");
    CHECK(def && def->min_args == 2 && def->max_args == 2 && (def->flags & ANALOG_FN_STATEFUL) &&
              def->state_new && def->state_free && def->drain,
          "f_sipEventProcess is a stateful function of 2 arguments with a drain hook");
    char err[256];
    CHECK(analog_setting_set("sip.call_idle_seconds", "10", err, sizeof err) == 0, err);
    CHECK(analog_setting_set("sip.linger_seconds", "2", err, sizeof err) == 0, err);

    void *st = def->state_new();
    PROCESS(st, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    PROCESS(st, NULL, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(3000), .time_us = US(3000), .messages = 3, .to_tag = "b-tag"};
    PROCESS(st, &up, 3000, CALLEE, "INVITE", 200, 1, "b-tag");
    PROCESS(st, NULL, 3050, CALLER, "ACK", 0, 1, "b-tag");
    DRAIN(st, 3050 + IDLE_MS, false, 0, NULL);
    PROCESS(st, NULL, 9000, CALLER, "BYE", 0, 2, "b-tag");
    want down = {.event = "teardown", .outcome = "answered", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(3000), .end_us = US(9000),
                 .duration_us = 6000 * 1000, .time_us = US(9040), .messages = 6,
                 .ended_by = "caller", .to_tag = "b-tag"};
    PROCESS(st, &down, 9040, CALLEE, "BYE", 200, 2, "b-tag");
    DRAIN(st, 9040 + LINGER_MS, false, 0, NULL);
    DRAIN(st, 9040 + LINGER_MS + 1, false, 1, NULL);
    def->state_free(st);

    st = def->state_new(); /* idle 10 s, from the setting */
    PROCESS(st, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    DRAIN(st, IDLE_MS, false, 0, NULL);
    want timeout = {.event = "timeout", .outcome = "timeout", .start_us = US(0),
                    .end_us = US(0), .time_us = US(IDLE_MS + 1), .messages = 1};
    DRAIN(st, IDLE_MS + 1, false, 0, &timeout);
    DRAIN(st, IDLE_MS + 2, false, 1, NULL);
    def->state_free(st);

    st = def->state_new(); /* the end of input with the call up */
    PROCESS(st, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    want up2 = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
                .answer_us = US(1000), .time_us = US(1000), .messages = 2, .to_tag = "b-tag"};
    PROCESS(st, &up2, 1000, CALLEE, "INVITE", 200, 1, "b-tag");
    want left = {.event = "timeout", .outcome = "timeout", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(1000), .end_us = US(1000),
                 .time_us = US(1500), .messages = 2, .to_tag = "b-tag"};
    DRAIN(st, 1500, true, 1, &left);

    /* a value that is no record, and a record that is no SIP event */
    sx_value args[2] = {sx_value_cstr("INVITE"), sx_value_cstr(CALL_ID)}, result;
    CHECK(fn_call("f_sipEventProcess", args, 2, 0, st, &result, err, sizeof err) == -1 &&
              strstr(err, "f_sipEventProcess") && strstr(err, "argument 1"),
          "a string is refused");
    sx_value_release(&result);
    sx_value_release(&args[0]);
    sip invite = {0, CALLER, "INVITE", 0, 1, ""};
    args[0] = record_of(&invite, "call_id", NULL);
    CHECK(fn_call("f_sipEventProcess", args, 2, 0, st, &result, err, sizeof err) == -1 &&
              strstr(err, "f_sipEventProcess") && strstr(err, "not a SIP event record"),
          "a record without call_id is refused");
    sx_value_release(&result);
    sx_value_release(&args[0]);
    sx_value_release(&args[1]);
    def->state_free(st);
    def->state_free(NULL);
}

/** An authentication challenge (RFC 3261 22.2): 407, ACK, then the
 *  INVITE again with credentials (CSeq 2) on the same Call-ID: one call,
 *  answered; a challenge never answered is the call's failure, after the
 *  linger time. */
static void test_auth_challenge(void)
{
    fn_sip_call *c = tracker();
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 10, CALLEE, "INVITE", 407, 1, "p-tag");
    QUIET(c, 20, CALLER, "ACK", 0, 1, "p-tag");
    QUIET(c, 100, CALLER, "INVITE", 0, 2, "");
    QUIET(c, 150, CALLEE, "INVITE", 180, 2, "b-tag");
    want up = {.event = "established", .code = 200, .reason = "OK", .start_us = US(0),
               .answer_us = US(1000), .time_us = US(1000), .messages = 6, .to_tag = "b-tag"};
    EVENT(c, &up, 1000, CALLEE, "INVITE", 200, 2, "b-tag");
    QUIET(c, 1010, CALLER, "ACK", 0, 2, "b-tag");
    QUIET(c, 4000, CALLER, "BYE", 0, 3, "b-tag");
    want down = {.event = "teardown", .outcome = "answered", .code = 200, .reason = "OK",
                 .start_us = US(0), .answer_us = US(1000), .end_us = US(4000),
                 .duration_us = 3000 * 1000, .time_us = US(4010), .messages = 9,
                 .ended_by = "caller", .to_tag = "b-tag"};
    EVENT(c, &down, 4010, CALLEE, "BYE", 200, 3, "b-tag");
    fn_sip_call_free(c);

    c = tracker();
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 10, CALLEE, "INVITE", 401, 1, "p-tag");
    DUE(c, 10 + LINGER_MS, false, false, NULL);
    want failed = {.event = "failed", .outcome = "failed", .code = 401, .reason = "Unauthorized",
                   .start_us = US(0), .end_us = US(10), .time_us = US(10 + LINGER_MS + 1),
                   .messages = 2, .to_tag = "p-tag"};
    DUE(c, 10 + LINGER_MS + 1, false, false, &failed);
    fn_sip_call_free(c);
}

/** A BYE before any 2xx (an early dialog's, RFC 3261 15) cancels the
 *  call, never "answered"; a repeated 200 to a BYE counts as a
 *  retransmission. */
static void test_early_bye(void)
{
    fn_sip_call *c = tracker();
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    QUIET(c, 500, CALLER, "BYE", 0, 2, "b-tag");
    want bye_first = {.event = "cancelled", .outcome = "cancelled", .start_us = US(0),
                      .end_us = US(500), .time_us = US(510), .messages = 4,
                      .ended_by = "caller", .to_tag = "b-tag"};
    EVENT(c, &bye_first, 510, CALLEE, "BYE", 200, 2, "b-tag");
    fn_sip_call_free(c);

    c = tracker();
    EVENT(c, &SETUP, 0, CALLER, "INVITE", 0, 1, "");
    QUIET(c, 100, CALLEE, "INVITE", 180, 1, "b-tag");
    QUIET(c, 500, CALLER, "BYE", 0, 2, "b-tag");
    want cancelled = {.event = "cancelled", .outcome = "cancelled", .code = 487,
                      .reason = "Request Terminated", .start_us = US(0), .end_us = US(500),
                      .time_us = US(520), .messages = 4, .ended_by = "caller",
                      .to_tag = "b-tag"};
    EVENT(c, &cancelled, 520, CALLEE, "INVITE", 487, 1, "b-tag");
    uint64_t retrans = counter("sip.retransmissions");
    QUIET(c, 530, CALLEE, "BYE", 200, 2, "b-tag");
    CHECK(counter("sip.retransmissions") == retrans + 1, "a 200 to a BYE after the end counts");
    fn_sip_call_free(c);
}

int main(void)
{
    test_normal_call();
    test_bye_by_callee();
    test_retransmissions();
    test_reinvite();
    test_failed();
    test_cancelled();
    test_cancel_race();
    test_cancel_unanswered();
    test_setup_timeout();
    test_never_ended();
    test_bye_unanswered();
    test_orphan();
    test_bad_records();
    test_function();
    test_auth_challenge();
    test_early_bye();
    printf("test_sip_call: all checks passed\n");
    return 0;
}
