/*
 * sip_build.c -- the text of a call's SIP messages and SDP bodies.
 *
 * Design: a request is defined by who sends it (caller, or the callee
 * for its BYE), its Request-URI, its transaction's branch and CSeq; a
 * response copies the request's Via, From, To, Call-ID and CSeq and adds
 * the callee's To tag. Both are written as headers into out and the body
 * (built first in scratch, so that Content-Length is known) after them.
 *
 * Invariants: every line ends in CRLF; Content-Length equals the bytes
 * after the empty line; no header is folded.
 */
#include "tools/sip_build.h"

#include <inttypes.h>

#define SX_SIP_MAX_FORWARDS 70

/* Who sends a request, and what it addresses. */
typedef struct request_shape {
    const sx_sip_party *from, *to;
    const char *request_uri;
    const char *branch;
    unsigned cseq;
    bool to_tag;
} request_shape;

const char *sx_sip_method_name(sx_sip_method m)
{
    switch (m) {
    case SX_SIP_INVITE: return "INVITE";
    case SX_SIP_ACK: return "ACK";
    case SX_SIP_BYE: return "BYE";
    case SX_SIP_CANCEL: return "CANCEL";
    }
    return "INVITE";
}

const char *sx_sip_reason(int code)
{
    switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 200: return "OK";
    case 302: return "Moved Temporarily";
    case 404: return "Not Found";
    case 480: return "Temporarily Unavailable";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 503: return "Service Unavailable";
    case 603: return "Decline";
    default: return "Unknown";
    }
}

/** The shape of request m: the BYE goes from whoever hangs up to the
 *  other's Contact; a 2xx ACK to the callee's Contact; the rest to the
 *  callee's address of record in the INVITE's transaction. */
static request_shape shape_of(const sx_sip_call *c, sx_sip_method m, int code)
{
    request_shape s = {.from = &c->caller, .to = &c->callee, .cseq = 1, .to_tag = true,
                       .branch = c->branch[SX_SIP_TXN_INVITE]};
    s.request_uri = c->callee.uri;
    switch (m) {
    case SX_SIP_INVITE:
    case SX_SIP_CANCEL: s.to_tag = false; break; /* CANCEL's To is the INVITE's */
    case SX_SIP_ACK:
        if (code >= 200 && code < 300) {
            s.request_uri = c->callee.contact;
            s.branch = c->branch[SX_SIP_TXN_ACK2XX];
        }
        break;
    case SX_SIP_BYE:
        if (c->callee_hangs_up) {
            s.from = &c->callee;
            s.to = &c->caller;
        }
        s.request_uri = s.to->contact;
        s.branch = c->branch[SX_SIP_TXN_BYE];
        s.cseq = 2;
        break;
    }
    return s;
}

/** Appends a name-addr header ("From: "Name" <uri>;tag=x"). */
static void put_addr(sx_buf *out, const char *name, const sx_sip_party *p, bool tag)
{
    if (p->display[0])
        sx_buf_printf(out, "%s: \"%s\" <%s>", name, p->display, p->uri);
    else
        sx_buf_printf(out, "%s: <%s>", name, p->uri);
    if (tag)
        sx_buf_printf(out, ";tag=%s", p->tag);
    sx_buf_puts(out, "\r\n");
}

/** Appends a Contact header. */
static void put_contact(sx_buf *out, const char *uri)
{
    sx_buf_printf(out, "Contact: <%s>\r\n", uri);
}

/** Appends the headers every message of a request's transaction shares:
 *  Via, From, To, Call-ID, CSeq. */
static void put_transaction(sx_buf *out, const sx_sip_call *c, const request_shape *s,
                            sx_sip_method m, bool to_tag)
{
    sx_buf_printf(out, "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n", c->tcp ? "TCP" : "UDP",
                  s->from->host, s->from->port, s->branch);
    put_addr(out, "From", s->from, true);
    put_addr(out, "To", s->to, to_tag);
    sx_buf_printf(out, "Call-ID: %s\r\nCSeq: %u %s\r\n", c->call_id, s->cseq,
                  sx_sip_method_name(m));
}

/* sdp -> v= o= s= c= t= m= a=rtpmap... [a=candidate...] a=sendrecv */
/** Writes p's SDP offer or answer into body; with min_len, ICE host and
 *  server-reflexive candidates are added until it is at least that long. */
static void put_sdp(sx_buf *body, const sx_sip_call *c, const sx_sip_party *p, size_t min_len)
{
    body->len = 0;
    sx_buf_printf(body,
                  "v=0\r\no=%s %" PRIu64 " %" PRIu64 " IN IP4 %s\r\ns=Talk\r\n"
                  "c=IN IP4 %s\r\nt=0 0\r\n"
                  "m=audio %u RTP/AVP 0 8 101\r\n"
                  "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                  "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n",
                  p->user, c->sdp_session, c->sdp_session, p->host, p->host, p->rtp_port);
    for (unsigned i = 1; body->len < min_len; i++) {
        unsigned component = 1 + (i & 1), port = p->rtp_port + component - 1;
        if (i % 3)
            sx_buf_printf(body, "a=candidate:%u %u UDP %u %s %u typ host generation 0\r\n",
                          i, component, 2130706431u - i, p->host, port);
        else
            sx_buf_printf(body,
                          "a=candidate:%u %u UDP %u 198.51.100.%u %u typ srflx raddr %s "
                          "rport %u generation 0\r\n",
                          i, component, 1694498815u - i, 1 + i % 254, 40000 + i, p->host, port);
    }
    sx_buf_puts(body, "a=sendrecv\r\n");
}

/** Appends the body's headers, the empty line and the body itself. */
static void put_body(sx_buf *out, const sx_buf *body)
{
    if (body->len)
        sx_buf_puts(out, "Content-Type: application/sdp\r\n");
    sx_buf_printf(out, "Content-Length: %zu\r\n\r\n", body->len);
    sx_buf_put(out, body->p, body->len);
}

void sx_sip_request(sx_buf *out, sx_buf *scratch, const sx_sip_call *c, sx_sip_method m,
                    int code)
{
    request_shape s = shape_of(c, m, code);
    out->len = 0;
    scratch->len = 0;
    sx_buf_printf(out, "%s %s SIP/2.0\r\n", sx_sip_method_name(m), s.request_uri);
    put_transaction(out, c, &s, m, s.to_tag);
    sx_buf_printf(out, "Max-Forwards: %d\r\n", SX_SIP_MAX_FORWARDS);
    if (m == SX_SIP_INVITE) {
        put_contact(out, c->caller.contact);
        sx_buf_puts(out, "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n");
        put_sdp(scratch, c, &c->caller, c->offer_min);
    }
    sx_buf_printf(out, "User-Agent: %s\r\n", s.from->agent);
    put_body(out, scratch);
}

void sx_sip_response(sx_buf *out, sx_buf *scratch, const sx_sip_call *c, sx_sip_method m,
                     int code)
{
    request_shape s = shape_of(c, m, 200);
    out->len = 0;
    scratch->len = 0;
    sx_buf_printf(out, "SIP/2.0 %d %s\r\n", code, sx_sip_reason(code));
    put_transaction(out, c, &s, m, s.to_tag || code > 100);
    if (m == SX_SIP_INVITE && code > 100 && code < 300)
        put_contact(out, c->callee.contact);
    else if (m == SX_SIP_INVITE && code >= 300 && code < 400)
        put_contact(out, c->redirect);
    if (m == SX_SIP_INVITE && code >= 200 && code < 300) {
        sx_buf_puts(out, "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n");
        put_sdp(scratch, c, &c->callee, 0);
    }
    sx_buf_printf(out, "Server: %s\r\n", s.to->agent);
    put_body(out, scratch);
}
