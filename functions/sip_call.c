/*
 * sip_call.c -- one SIP call's life by Call-ID (sip_call.h).
 *
 * Phases: NEW (nothing yet) -> SETUP (INVITE seen) -> UP (2xx to the
 * INVITE) -> ENDING (BYE seen) -> DONE (the end reported; lingers
 * sip.linger_seconds from then to absorb retransmissions). A final
 * 3xx-6xx to the INVITE takes SETUP to DONE, except 401 and 407: an
 * authentication challenge (CHALLENGED) that the caller answers with a
 * new INVITE of a higher CSeq on the same Call-ID (RFC 3261 22.2),
 * taking the call back to SETUP; unanswered for the linger time, the
 * challenge is the call's failure. A BYE before any 2xx (an early
 * dialog's end, RFC 3261 15) ends the call as cancelled. ORPHAN: the
 * first message was not an INVITE.
 *
 * Retransmissions of the INVITE are recognized by CSeq and sender (the
 * caller's address and port); requests with another CSeq, or from the
 * callee, within an established call are re-INVITEs.
 */
#include "functions/sip_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"

static analog_counter c_calls = {.name = "sip.calls", .summary = "SIP calls set up (INVITEs)"};
ANALOG_COUNTER_REGISTER(c_calls)
static analog_counter c_retrans = {
    .name = "sip.retransmissions",
    .summary = "SIP requests or final responses seen again for a call (no effect)"};
ANALOG_COUNTER_REGISTER(c_retrans)
static analog_counter c_orphans = {
    .name = "sip.orphan_messages",
    .summary = "SIP messages of a Call-ID whose INVITE was not seen (ignored)"};
ANALOG_COUNTER_REGISTER(c_orphans)
static analog_counter c_reinvites = {.name = "sip.reinvites",
                                     .summary = "re-INVITEs within established SIP calls"};
ANALOG_COUNTER_REGISTER(c_reinvites)
static analog_counter c_timeouts = {
    .name = "sip.timeouts", .summary = "SIP calls reported unfinished (idle, or at the end)"};
ANALOG_COUNTER_REGISTER(c_timeouts)

typedef enum phase { NEW, SETUP, CHALLENGED, UP, ENDING, DONE, ORPHAN } phase;

struct fn_sip_call {
    fn_sip_call_limits lim;
    phase ph;
    bool cancelled;             /* a CANCEL of the INVITE was seen */
    int64_t invite_cseq;
    sx_value call_id, from, to, from_tag, to_tag, transport, reason;
    sx_value caller, callee;    /* IP values: the INVITE's source, destination */
    int64_t caller_port, callee_port;
    int64_t code;
    int64_t start_ns, answer_ns, bye_ns, end_ns, last_ns, cancel_ns;
    int64_t done_ns;            /* when the end was reported (DONE) */
    int64_t reinvite_cseq;      /* the last re-INVITE's CSeq, and its sender */
    bool reinvite_by_caller;
    int64_t messages;
    const char *ended_by;       /* "caller", "callee" or "" */
};

/* The fields of an event record the tracker reads. */
typedef struct msg {
    int64_t time_ns, status, cseq;
    bool request;
    const sx_value *method, *cseq_method, *call_id, *from, *to, *from_tag, *to_tag;
    const sx_value *src, *dst, *sport, *dport, *transport, *reason;
} msg;

fn_sip_call *fn_sip_call_new(const fn_sip_call_limits *lim)
{
    fn_sip_call *c = calloc(1, sizeof *c);
    if (c) {
        c->lim = *lim;
        c->ended_by = "";
    }
    return c;
}

void fn_sip_call_free(fn_sip_call *c)
{
    if (!c)
        return;
    sx_value *v[] = {&c->call_id, &c->from, &c->to, &c->from_tag, &c->to_tag,
                     &c->transport, &c->reason, &c->caller, &c->callee};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        sx_value_release(v[i]);
    free(c);
}

/* ---- reading an event record ---- */

/** Field name of ev when it has kind k, else NULL. */
static const sx_value *field(const sx_value *ev, const char *name, sx_kind k)
{
    const sx_value *v = sx_value_field(ev, name);
    return v && v->kind == k ? v : NULL;
}

/** Reads the fields the tracker needs; -1 when one is missing. */
static int msg_read(const sx_value *ev, msg *m)
{
    const sx_value *t = field(ev, "time_ns", SX_INT), *st = field(ev, "status", SX_INT);
    const sx_value *cs = field(ev, "cseq", SX_INT), *rq = field(ev, "request", SX_BOOL);
    m->method = field(ev, "method", SX_STR);
    m->cseq_method = field(ev, "cseq_method", SX_STR);
    m->call_id = field(ev, "call_id", SX_STR);
    m->from = field(ev, "from_uri", SX_STR);
    m->to = field(ev, "to_uri", SX_STR);
    m->from_tag = field(ev, "from_tag", SX_STR);
    m->to_tag = field(ev, "to_tag", SX_STR);
    m->src = field(ev, "src", SX_IP);
    m->dst = field(ev, "dst", SX_IP);
    m->sport = field(ev, "sport", SX_INT);
    m->dport = field(ev, "dport", SX_INT);
    m->transport = field(ev, "transport", SX_STR);
    m->reason = field(ev, "reason", SX_STR);
    if (!t || !st || !cs || !rq || !m->method || !m->cseq_method || !m->call_id || !m->from ||
        !m->to || !m->from_tag || !m->to_tag || !m->src || !m->dst || !m->sport || !m->dport ||
        !m->transport || !m->reason)
        return -1;
    m->time_ns = t->u.i;
    m->status = st->u.i;
    m->cseq = cs->u.i;
    m->request = rq->u.b;
    return 0;
}

/** True when string value v is text. */
static bool is(const sx_value *v, const char *text)
{
    size_t n = strlen(text);
    return v->u.blob && v->u.blob->len == n && memcmp(v->u.blob->data, text, n) == 0;
}

/** Replaces *dst by a reference to src. */
static void keep(sx_value *dst, const sx_value *src)
{
    sx_value_release(dst);
    *dst = sx_value_copy(src);
}

/* ---- session events ---- */

/** ns as microseconds (0 stays 0). */
static sx_value us(int64_t ns)
{
    return sx_value_int(ns / 1000);
}

/** A string value: v when set, else "". */
static sx_value str_or_empty(const sx_value *v)
{
    return v->kind == SX_NULL ? sx_value_cstr("") : sx_value_copy(v);
}

/** The session event `kind` at packet time now_ns. */
static sx_value event_new(const fn_sip_call *c, const char *kind, const char *outcome,
                          int64_t now_ns)
{
    bool ended = outcome[0] != '\0';
    int64_t duration = ended && c->answer_ns ? c->end_ns - c->answer_ns : 0;
    sx_value r = sx_value_record(21);
    uint32_t i = 0;
    sx_value_list_set(&r, i++, "event", sx_value_cstr(kind));
    sx_value_list_set(&r, i++, "call_id", str_or_empty(&c->call_id));
    sx_value_list_set(&r, i++, "from", str_or_empty(&c->from));
    sx_value_list_set(&r, i++, "to", str_or_empty(&c->to));
    sx_value_list_set(&r, i++, "from_tag", str_or_empty(&c->from_tag));
    sx_value_list_set(&r, i++, "to_tag", str_or_empty(&c->to_tag));
    sx_value_list_set(&r, i++, "caller", sx_value_copy(&c->caller));
    sx_value_list_set(&r, i++, "caller_port", sx_value_int(c->caller_port));
    sx_value_list_set(&r, i++, "callee", sx_value_copy(&c->callee));
    sx_value_list_set(&r, i++, "callee_port", sx_value_int(c->callee_port));
    sx_value_list_set(&r, i++, "transport", str_or_empty(&c->transport));
    sx_value_list_set(&r, i++, "outcome", sx_value_cstr(outcome));
    sx_value_list_set(&r, i++, "code", sx_value_int(c->code));
    sx_value_list_set(&r, i++, "reason", str_or_empty(&c->reason));
    sx_value_list_set(&r, i++, "start_us", us(c->start_ns));
    sx_value_list_set(&r, i++, "answer_us", us(c->answer_ns));
    sx_value_list_set(&r, i++, "end_us", us(ended ? c->end_ns : 0));
    sx_value_list_set(&r, i++, "duration_us", us(duration));
    sx_value_list_set(&r, i++, "time_us", us(now_ns));
    sx_value_list_set(&r, i++, "messages", sx_value_int(c->messages));
    sx_value_list_set(&r, i++, "ended_by", sx_value_cstr(c->ended_by));
    return r;
}

/* ---- the life of a call ---- */

/** True when m was sent by the call's caller (address and port). */
static bool from_caller(const fn_sip_call *c, const msg *m)
{
    return sx_value_equal(m->src, &c->caller) && m->sport->u.i == c->caller_port;
}

/** The call's end is reported at packet time now_ns: it lingers from
 *  then. */
static void done(fn_sip_call *c, int64_t now_ns)
{
    c->ph = DONE;
    c->done_ns = now_ns;
}

/** The first INVITE: the call starts. */
static int on_invite(fn_sip_call *c, const msg *m, sx_value *session)
{
    c->ph = SETUP;
    c->invite_cseq = m->cseq;
    keep(&c->call_id, m->call_id);
    keep(&c->from, m->from);
    keep(&c->to, m->to);
    keep(&c->from_tag, m->from_tag);
    keep(&c->to_tag, m->to_tag);
    keep(&c->transport, m->transport);
    keep(&c->caller, m->src);
    keep(&c->callee, m->dst);
    c->caller_port = m->sport->u.i;
    c->callee_port = m->dport->u.i;
    c->start_ns = m->time_ns;
    analog_counter_add(&c_calls, 1);
    *session = event_new(c, "setup", "", m->time_ns);
    return 1;
}

static sx_value teardown(fn_sip_call *c, int64_t now_ns);

/** A response to the call's INVITE. */
static int on_invite_response(fn_sip_call *c, const msg *m, sx_value *session)
{
    if (m->to_tag->u.blob && m->to_tag->u.blob->len && c->ph == SETUP)
        keep(&c->to_tag, m->to_tag);
    if (m->status < 200)
        return 0;
    if (c->ph == ENDING && !c->answer_ns && m->status >= 300) {
        c->code = m->status; /* the early dialog's BYE got the INVITE ended */
        keep(&c->reason, m->reason);
        *session = teardown(c, m->time_ns);
        return 1;
    }
    if (c->ph != SETUP) {
        analog_counter_add(&c_retrans, 1);
        return 0;
    }
    c->code = m->status;
    keep(&c->reason, m->reason);
    if (m->status < 300) {
        c->ph = UP;
        c->answer_ns = m->time_ns;
        *session = event_new(c, "established", "", m->time_ns);
        return 1;
    }
    c->end_ns = m->time_ns;
    if ((m->status == 401 || m->status == 407) && !c->cancelled) {
        c->ph = CHALLENGED; /* the caller may try again with credentials */
        c->done_ns = m->time_ns;
        return 0;
    }
    done(c, m->time_ns);
    bool cancelled = c->cancelled && m->status == 487;
    *session = event_new(c, cancelled ? "cancelled" : "failed", cancelled ? "cancelled" : "failed",
                         m->time_ns);
    return 1;
}

/** The end of a call by BYE: its response came, or never will. A BYE
 *  before any 2xx (an early dialog's) cancelled the call. */
static sx_value teardown(fn_sip_call *c, int64_t now_ns)
{
    done(c, now_ns);
    c->end_ns = c->bye_ns;
    if (!c->answer_ns)
        return event_new(c, "cancelled", "cancelled", now_ns);
    return event_new(c, "teardown", "answered", now_ns);
}

/** An INVITE of a known call: a retransmission, a re-INVITE, or the
 *  caller's answer to an authentication challenge. */
static void on_invite_again(fn_sip_call *c, const msg *m)
{
    bool caller = from_caller(c, m);
    if (c->ph == CHALLENGED && caller && m->cseq > c->invite_cseq) {
        c->ph = SETUP; /* the same call, now with credentials */
        c->invite_cseq = m->cseq;
        c->code = 0;
        c->end_ns = 0;
        sx_value_release(&c->reason);
        return;
    }
    if ((caller && m->cseq == c->invite_cseq) ||
        (c->reinvite_cseq && m->cseq == c->reinvite_cseq && caller == c->reinvite_by_caller)) {
        analog_counter_add(&c_retrans, 1);
        return;
    }
    if (c->ph == UP) {
        c->reinvite_cseq = m->cseq;
        c->reinvite_by_caller = caller;
        analog_counter_add(&c_reinvites, 1);
    }
}

/** A request of a known call. */
static int on_request(fn_sip_call *c, const msg *m, sx_value *session)
{
    (void)session;
    if (is(m->method, "INVITE")) {
        on_invite_again(c, m);
    } else if (is(m->method, "CANCEL")) {
        if (c->ph == SETUP && !c->cancelled) {
            c->cancelled = true;
            c->cancel_ns = m->time_ns;
        }
    } else if (is(m->method, "BYE")) {
        if (c->ph == UP || c->ph == SETUP) {
            c->ph = ENDING;
            c->bye_ns = m->time_ns;
            c->ended_by = from_caller(c, m) ? "caller" : "callee";
        } else {
            analog_counter_add(&c_retrans, 1);
        }
    }
    return 0;
}

/** A response of a known call. */
static int on_response(fn_sip_call *c, const msg *m, sx_value *session)
{
    if (is(m->cseq_method, "INVITE") && m->cseq == c->invite_cseq)
        return on_invite_response(c, m, session);
    if (is(m->cseq_method, "BYE") && m->status >= 200) {
        if (c->ph != ENDING) {
            analog_counter_add(&c_retrans, 1);
            return 0;
        }
        *session = teardown(c, m->time_ns);
        return 1;
    }
    return 0;
}

int fn_sip_call_feed(fn_sip_call *c, const sx_value *ev, sx_value *session, char *err,
                     size_t errlen)
{
    msg m;
    if (msg_read(ev, &m) != 0) {
        snprintf(err, errlen, "not a SIP event record (f_sipEventParse makes them)");
        return -1;
    }
    *session = sx_value_null();
    if (c->ph == NEW && !(m.request && is(m.method, "INVITE")))
        c->ph = ORPHAN;
    if (c->ph == ORPHAN) {
        analog_counter_add(&c_orphans, 1);
        return 0;
    }
    c->messages++;
    c->last_ns = m.time_ns;
    if (c->ph == NEW)
        return on_invite(c, &m, session);
    return m.request ? on_request(c, &m, session) : on_response(c, &m, session);
}

bool fn_sip_call_due(fn_sip_call *c, int64_t now_ns, bool final, sx_value *session)
{
    *session = sx_value_null();
    switch (c->ph) {
    case NEW:
    case ORPHAN:
        return true;
    case DONE:
        return final || now_ns - c->done_ns > c->lim.linger_ns;
    case CHALLENGED:
        /* the challenge was never answered: the call failed with it */
        if (!final && now_ns - c->done_ns <= c->lim.linger_ns)
            return false;
        done(c, now_ns);
        *session = event_new(c, "failed", "failed", now_ns);
        return final;
    case ENDING:
        /* the BYE's response never came: the call ended at the BYE all the same */
        if (!final && now_ns - c->bye_ns <= c->lim.linger_ns)
            return false;
        *session = teardown(c, now_ns);
        c->done_ns = c->bye_ns; /* its linger ran from the BYE */
        return final;
    case SETUP:
    case UP:
        if (!final && now_ns - c->last_ns <= c->lim.idle_ns)
            return false;
        break;
    }
    done(c, c->last_ns); /* silent this long: no linger left to serve */
    c->end_ns = c->last_ns;
    analog_counter_add(&c_timeouts, 1);
    bool cancelled = c->cancelled && !c->answer_ns;
    *session = event_new(c, cancelled ? "cancelled" : "timeout",
                         cancelled ? "cancelled" : "timeout", now_ns);
    return final;
}
