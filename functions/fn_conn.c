/*
 * fn_conn.c -- f_trackConnection(IP_PKT, FLOW_ID): TCP connection
 * tracking from raw packets with KDD Cup '99 connection records, for
 * ANALOG programs, on functions/conn_track.h.
 *
 * Stateful: one tracker per context key, which must be the flow id of
 * f_getTCPFlowId (the same both ways; context_keys on the FLOW_ID
 * attribute), run in its key lane. Each call feeds one whole IPv4
 * packet (defragmented: f_processIpFrag) and returns the connection
 * record (fields in conn_track.h) when a connection ends -- by RST, by
 * a normal close, or quiet too long before this packet -- else "".
 * Heartbeats drain connections quiet for conn.idle_seconds of packet
 * time (conn.syn_timeout_seconds when never established: the half-open
 * ones of a SYN flood), and the end of input or the state's eviction
 * reports every connection still open, so none is lost.
 *
 * Memory: a tracker is fixed-size and keeps no payload. The number of
 * trackers is bounded by the evaluator's table only: eval.state_entries
 * per key lane (keys hash to 4096 lanes), the least recently used
 * evicted and reported at once with the flag it has then (S0 for a
 * half-open one). A half-open connection leaves conn.syn_timeout_seconds
 * after its last packet, once a heartbeat visits its lane: every (used
 * lanes / eval.heartbeat_lanes) heartbeats, so up to 64 s later at the
 * defaults. Measured on a SYN flood (2,000 SYN/s, two components): each
 * connection in flight costs about 0.9 KB in all (tracker, evaluator
 * entry, the variables kept for the drain, which hold the last packet):
 * 149 MiB peak RSS with ~138k in flight, 37 MiB with
 * eval.heartbeat_lanes=4096 (~12k in flight, records within 6 s). So 1M
 * half-open connections in flight take about 1 GB; to hold fewer, raise
 * eval.heartbeat_lanes or lower eval.state_entries (64: at most 262,144
 * trackers, the oldest reported early).
 */
#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/conn_track.h"
#include "functions/fn_args.h"

#define NS_PER_S 1000000000LL
#define IDLE_MAX_S 86400

static const analog_setting_def idle_setting = {
    .name = "conn.idle_seconds", .def = 60, .min = 1, .max = IDLE_MAX_S, .unit = "seconds",
    .summary = "f_trackConnection: an established TCP connection with no packet this long "
               "(packet time) ends"};
ANALOG_SETTING_REGISTER(idle_setting)
static const analog_setting_def syn_setting = {
    .name = "conn.syn_timeout_seconds", .def = 5, .min = 1, .max = IDLE_MAX_S,
    .unit = "seconds",
    .summary = "f_trackConnection: a TCP connection never established (S0, SH), or closed "
               "without the last ACK, ends after this long without a packet"};
ANALOG_SETTING_REGISTER(syn_setting)
static const analog_setting_def linger_setting = {
    .name = "conn.linger_seconds", .def = 5, .min = 0, .max = 3600, .unit = "seconds",
    .summary = "f_trackConnection: after a FIN or RST end, the flow's late packets are absorbed "
               "this long (a SYN starts a new connection at once)"};
ANALOG_SETTING_REGISTER(linger_setting)

static void *conn_state_new(void)
{
    fn_conn_limits lim = {.idle_ns = analog_setting_get("conn.idle_seconds") * NS_PER_S,
                          .syn_ns = analog_setting_get("conn.syn_timeout_seconds") * NS_PER_S,
                          .linger_ns = analog_setting_get("conn.linger_seconds") * NS_PER_S};
    return fn_conn_new(&lim);
}

static void conn_state_free(void *s)
{
    fn_conn_free(s);
}

/** f_trackConnection(IP_PKT, FLOW_ID): the record of the connection that
 *  ends here, or "". */
static int f_trackConnection(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                             sx_value *result)
{
    (void)nargs;
    if (args[0].kind != SX_BYTES)
        return fn_args_type_error(ctx, "f_trackConnection", 1, "bytes (an IPv4 packet)",
                                  &args[0]);
    if (args[1].kind != SX_INT)
        return fn_args_type_error(ctx, "f_trackConnection", 2,
                                  "an int (the flow id of f_getTCPFlowId)", &args[1]);
    const sx_blob *b = args[0].u.blob;
    if (fn_conn_feed(ctx->state, b ? b->data : NULL, b ? b->len : 0, ctx->now_ns, result) == 0)
        *result = sx_value_cstr("");
    return 0;
}

/** Drain hook: a connection that fell quiet, or every open one at the end. */
static int conn_drain(analog_fn_ctx *ctx, bool final, sx_value *result)
{
    return fn_conn_due(ctx->state, ctx->now_ns, final, result) ? 1 : 0;
}

static const analog_fn_def fn_trackconnection_def = {
    .name = "f_trackConnection", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_STATEFUL,
    .call = f_trackConnection, .state_new = conn_state_new, .state_free = conn_state_free,
    .drain = conn_drain,
    /* the drain hook ends connections itself; the evaluator's own idle
     * expiry (which would drain too) only as a backstop */
    .idle_timeout_ns = 2 * IDLE_MAX_S * NS_PER_S,
    .summary = "f_trackConnection(IP_PKT, FLOW_ID): per-flow TCP connection tracking from raw "
               "packets: a KDD'99 connection record (flag SF, S0, REJ, ...) when one ends, or \"\"",
};
ANALOG_FN_REGISTER(fn_trackconnection_def)
