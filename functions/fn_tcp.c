/*
 * fn_tcp.c -- f_processTCP(IP_PKT): TCP reassembly on libnids.
 *
 * Feeds a whole (defragmented) IPv4 TCP packet to its connection's
 * libnids shard (functions/nids_shards.h) and returns what the packet
 * made newly available, as a record:
 *
 *   {"dir": "c2s"|"s2c"|"", "data": bytes, "event": "open"|"data"|
 *    "close"|"reset"|"timeout", "client": ip, "cport": int,
 *    "server": ip, "sport": int}
 *
 * or "" when the packet delivered nothing (a pure ACK, a retransmission,
 * a segment held until a gap fills, a connection whose handshake was
 * not seen). "c2s" is the direction of the connection's initiator.
 * Consumers process data first, then the event. Call it in a component
 * context-ordered on the connection (f_getTCPFlowId) so each
 * connection's packets arrive in capture order; the shards make it safe
 * from any thread.
 */
#include <string.h>

#include "analog/functions.h"
#include "functions/fn_args.h"
#include "functions/nids_shards.h"

/** The event's name in the record. */
static const char *event_name(fn_nids_event e)
{
    switch (e) {
    case FN_NIDS_EV_OPEN: return "open";
    case FN_NIDS_EV_CLOSE: return "close";
    case FN_NIDS_EV_RESET: return "reset";
    case FN_NIDS_EV_TIMEOUT: return "timeout";
    default: return "data";
    }
}

/** Builds the record for out (taking over out->data). */
static sx_value message_record(fn_nids_tcp_out *out)
{
    sx_value r = sx_value_record(7);
    const char *dir = out->dir == FN_NIDS_DIR_C2S ? "c2s" : out->dir == FN_NIDS_DIR_S2C ? "s2c" : "";
    sx_value_list_set(&r, 0, "dir", sx_value_cstr(dir));
    sx_value_list_set(&r, 1, "data", out->data ? sx_value_from_blob(SX_BYTES, out->data)
                                               : sx_value_bytes(NULL, 0));
    out->data = NULL;
    sx_value_list_set(&r, 2, "event", sx_value_cstr(event_name(out->event)));
    sx_value_list_set(&r, 3, "client", sx_value_ip4(out->client));
    sx_value_list_set(&r, 4, "cport", sx_value_int(out->cport));
    sx_value_list_set(&r, 5, "server", sx_value_ip4(out->server));
    sx_value_list_set(&r, 6, "sport", sx_value_int(out->sport));
    return r;
}

/** f_processTCP(IP_PKT): the packet's newly in-order bytes, or "". */
static int f_processTCP(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    if (args[0].kind != SX_BYTES)
        return fn_args_type_error(ctx, "f_processTCP", 1, "bytes (an IPv4 packet)", &args[0]);
    const sx_blob *b = args[0].u.blob;
    fn_nids_tcp_out out;
    if (fn_nids_tcp_feed(b ? b->data : NULL, b ? b->len : 0, ctx->now_ns, &out, ctx->err,
                         ctx->errlen) != 0)
        return -1;
    if (out.event == FN_NIDS_EV_NONE) {
        sx_blob_release(&out.data);
        *result = sx_value_cstr("");
        return 0;
    }
    *result = message_record(&out);
    return 0;
}

static const analog_fn_def fn_processtcp_def = {
    .name = "f_processTCP", .min_args = 1, .max_args = 1, .call = f_processTCP,
    .summary = "f_processTCP(IP_PKT): TCP reassembly (libnids): {dir, data, event, client, "
               "cport, server, sport} of the bytes this packet made in-order, or \"\"",
};
ANALOG_FN_REGISTER(fn_processtcp_def)
