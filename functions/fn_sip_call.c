/*
 * fn_sip_call.c -- f_sipEventProcess(EVENT, CALLID): SIP call tracking
 * for ANALOG programs, on functions/sip_call.h.
 *
 * Stateful: one tracker per context key, which must be the Call-ID
 * (context_keys on the CALLID attribute), run in its key lane. Each call
 * feeds one event record of f_sipEventParse or f_sipStreamParse and
 * returns the session event it makes (setup, established, teardown,
 * failed, cancelled: a record, fields in sip_call.h) or "" when it makes
 * none. Heartbeats drain the calls that fell quiet for sip.call_idle_
 * seconds of packet time ("timeout"), and the end of input (or the
 * state's eviction) reports every call still open, so no call is lost.
 */
#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/fn_args.h"
#include "functions/sip_call.h"

#define NS_PER_S 1000000000LL

static const analog_setting_def idle_setting = {
    .name = "sip.call_idle_seconds", .def = 3600, .min = 1, .max = 7 * 86400, .unit = "seconds",
    .summary = "f_sipEventProcess: a call with no message this long (packet time) times out"};
ANALOG_SETTING_REGISTER(idle_setting)
static const analog_setting_def linger_setting = {
    .name = "sip.linger_seconds", .def = 32, .min = 0, .max = 3600, .unit = "seconds",
    .summary = "f_sipEventProcess: an ended call absorbs retransmissions this long; a BYE "
               "unanswered this long ends the call"};
ANALOG_SETTING_REGISTER(linger_setting)

static void *sip_call_state_new(void)
{
    fn_sip_call_limits lim = {
        .idle_ns = analog_setting_get("sip.call_idle_seconds") * NS_PER_S,
        .linger_ns = analog_setting_get("sip.linger_seconds") * NS_PER_S};
    return fn_sip_call_new(&lim);
}

static void sip_call_state_free(void *s)
{
    fn_sip_call_free(s);
}

/** f_sipEventProcess(EVENT, CALLID): the session event EVENT makes, or "". */
static int f_sipEventProcess(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                             sx_value *result)
{
    (void)nargs;
    if (args[0].kind != SX_RECORD)
        return fn_args_type_error(ctx, "f_sipEventProcess", 1,
                                  "a SIP event record (f_sipEventParse)", &args[0]);
    char err[160];
    int rc = fn_sip_call_feed(ctx->state, &args[0], result, err, sizeof err);
    if (rc < 0)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_sipEventProcess: %s", err);
    if (rc == 0)
        *result = sx_value_cstr("");
    return 0;
}

/** Drain hook: a call that timed out, or every open call at the end. */
static int sip_call_drain(analog_fn_ctx *ctx, bool final, sx_value *result)
{
    return fn_sip_call_due(ctx->state, ctx->now_ns, final, result) ? 1 : 0;
}

static const analog_fn_def fn_sipeventprocess_def = {
    .name = "f_sipEventProcess", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_STATEFUL,
    .call = f_sipEventProcess, .state_new = sip_call_state_new,
    .state_free = sip_call_state_free, .drain = sip_call_drain,
    /* the drain hook ends calls itself; the evaluator's own idle expiry
     * (which would drain too) only as a backstop */
    .idle_timeout_ns = 8 * 86400 * NS_PER_S,
    .summary = "f_sipEventProcess(EVENT, CALLID): per-Call-ID SIP call tracking: setup, "
               "established, teardown, failed, cancelled, timeout session events, or \"\"",
};
ANALOG_FN_REGISTER(fn_sipeventprocess_def)
