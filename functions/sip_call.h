/*
 * sip_call.h -- one SIP call's life, by Call-ID, after RFC 3261's dialog
 * rules: INVITE, provisional responses, the final response (2xx: the
 * call is up; 3xx-6xx: it failed; 487 after a CANCEL: it was cancelled),
 * ACK, BYE and its response (the call ended), re-INVITEs, and calls that
 * never end (reported when idle too long, or when the state goes).
 *
 * The tracker is fed the event records of functions/fn_sip.c
 * (f_sipEventParse, f_sipStreamParse) of one Call-ID, in capture order,
 * and answers with at most one session event per message: setup,
 * established, teardown, failed, cancelled (and timeout from
 * fn_sip_call_due). A session event is a record (field order fixed):
 *   event, call_id, from, to, from_tag, to_tag, caller, caller_port,
 *   callee, callee_port, transport, outcome, code, reason, start_us,
 *   answer_us, end_us, duration_us, time_us, messages, ended_by
 * Times are capture times in microseconds since the epoch (0: not
 * seen). outcome is "" until the call's end, then answered, failed,
 * cancelled or timeout. end_us is the BYE's time for an answered call,
 * the final response's for a failed or cancelled one and the last
 * message's for one that timed out; duration_us = end_us - answer_us
 * for answered and timed-out calls that were answered, else 0.
 *
 * Retransmissions (the same request or final response again) change
 * nothing; messages of a Call-ID whose INVITE was never seen are
 * orphans (counted; the state is then finished). Not thread-safe: one
 * call is touched by one thread at a time (its key lane).
 */
#ifndef FN_SIP_CALL_H
#define FN_SIP_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/value.h"

typedef struct fn_sip_call fn_sip_call;

typedef struct fn_sip_call_limits {
    int64_t idle_ns;   /* a call quiet this long is reported as timed out */
    int64_t linger_ns; /* an ended call absorbs retransmissions this long */
} fn_sip_call_limits;

/** A new call tracker (nothing seen yet), owned by the caller. NULL on
 *  out-of-memory. */
fn_sip_call *fn_sip_call_new(const fn_sip_call_limits *lim);
/** Frees c (NULL is fine). */
void fn_sip_call_free(fn_sip_call *c);
/** Feeds one event record. Returns 1 with *session set (the caller owns
 *  it) when the message makes an event, 0 when not, -1 when ev is not
 *  an event record (message in err). */
int fn_sip_call_feed(fn_sip_call *c, const sx_value *ev, sx_value *session, char *err,
                     size_t errlen);
/** What is due at packet time now_ns: a timeout (or a teardown whose
 *  BYE was never answered) sets *session (the caller owns it). final:
 *  the state goes now, so an unfinished call is reported whatever the
 *  time. Returns true when the tracker is finished (nothing more can
 *  come of it). */
bool fn_sip_call_due(fn_sip_call *c, int64_t now_ns, bool final, sx_value *session);

#endif
