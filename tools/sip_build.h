/*
 * sip_build.h -- the text of a call's SIP messages (RFC 3261) and their
 * SDP bodies (RFC 4566), for the SIP trace generator.
 *
 * A call is described once (sx_sip_call: the two parties, the Call-ID,
 * a branch per client transaction); each request or response is then
 * written from it, so every header that must agree between messages
 * (Via branch, tags, CSeq, Call-ID) agrees by construction. Content-Length
 * is the body's exact size. Nothing here draws random numbers or
 * allocates beyond the caller's buffers.
 */
#ifndef SX_TOOLS_SIP_BUILD_H
#define SX_TOOLS_SIP_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/buf.h"

#define SX_SIP_URI_MAX 64

/* The requests a call sends. */
typedef enum sx_sip_method { SX_SIP_INVITE, SX_SIP_ACK, SX_SIP_BYE, SX_SIP_CANCEL } sx_sip_method;

/* The client transactions of a call, each with its own Via branch: the
 * INVITE (its CANCEL and the ACK of a non-2xx final response share it,
 * RFC 3261 9.1 and 17.1.1.3), the ACK of a 2xx, and the BYE. */
enum { SX_SIP_TXN_INVITE, SX_SIP_TXN_ACK2XX, SX_SIP_TXN_BYE, SX_SIP_TXNS };

/* One side of a call. */
typedef struct sx_sip_party {
    char user[24];            /* "user123" */
    char uri[SX_SIP_URI_MAX]; /* its address of record, "sip:user123@a.example" */
    char display[32];         /* a display name, or "" */
    char tag[24];             /* its dialog tag (From or To tag) */
    char contact[96];         /* where it is reached: "sip:user123@10.1.0.24:5060",
                               * with ";transport=tcp" on TCP */
    char host[16];            /* its IPv4 address, dotted */
    uint16_t port;            /* the SIP port of its Via and Contact */
    uint16_t rtp_port;        /* the audio port its SDP offers */
    const char *agent;        /* its User-Agent (Server in responses) */
} sx_sip_party;

/* One call: everything its messages share. */
typedef struct sx_sip_call {
    sx_sip_party caller, callee;
    char call_id[64];
    char branch[SX_SIP_TXNS][32]; /* "z9hG4bK..." */
    bool tcp;                     /* SIP/2.0/TCP in Via */
    bool callee_hangs_up;         /* the BYE comes from the callee */
    uint64_t sdp_session;         /* o= session id and version */
    size_t offer_min;             /* the INVITE's SDP gets ICE candidates until it
                                   * is at least this long (0: a plain offer) */
    char redirect[SX_SIP_URI_MAX]; /* the Contact of a 3xx response */
} sx_sip_call;

/** Writes request m of call c into out (replacing its contents): INVITE,
 *  CANCEL and ACK come from the caller, the BYE from whoever hangs up.
 *  For an ACK, code is the final response it acknowledges (a 2xx ACK is
 *  its own transaction to the callee's Contact; a non-2xx ACK belongs to
 *  the INVITE's). scratch is the caller's, for the body. */
void sx_sip_request(sx_buf *out, sx_buf *scratch, const sx_sip_call *c, sx_sip_method m,
                    int code);

/** Writes the response with status code to request m of call c into out
 *  (replacing its contents), from the request's recipient. The To tag is
 *  there from 101 on; 18x and 2xx to INVITE carry a Contact, a 3xx the
 *  redirect; a 200 to INVITE carries the SDP answer. */
void sx_sip_response(sx_buf *out, sx_buf *scratch, const sx_sip_call *c, sx_sip_method m,
                     int code);

/** The reason phrase of a status code this module writes ("Ringing");
 *  "Unknown" for others. */
const char *sx_sip_reason(int code);

/** The method's name ("INVITE"). */
const char *sx_sip_method_name(sx_sip_method m);

#endif
