/*
 * fn_ipfrag.c -- f_processIpFrag(PKT): IPv4 defragmentation on libnids.
 *
 * A whole packet (no MF flag, offset 0) is returned as it is: the same
 * storage, one reference more, no copy. A fragment goes to its
 * datagram's libnids defragmentation shard (functions/nids_shards.h);
 * the fragment that completes the datagram returns the reassembled
 * packet, every other fragment "". Fragments of one datagram may be
 * handled on different threads: the shard is chosen from fields every
 * fragment carries (addresses, id, protocol).
 */
#include "analog/functions.h"
#include "functions/fn_args.h"
#include "functions/nids_shards.h"

/** f_processIpFrag(PKT): PKT itself, the reassembled datagram, or "". */
static int f_processIpFrag(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                           sx_value *result)
{
    if (args[0].kind != SX_BYTES)
        return fn_args_type_error(ctx, "f_processIpFrag", 1, "bytes (an IPv4 packet)", &args[0]);
    const sx_blob *b = args[0].u.blob;
    const uint8_t *p = b ? b->data : NULL;
    size_t len = b ? b->len : 0;
    if (len >= 20 && p[0] >> 4 == 4 && ((p[6] << 8 | p[7]) & 0x3fff) == 0) {
        *result = sx_value_copy(&args[0]); /* not a fragment: the hot path */
        return 0;
    }
    sx_blob *whole;
    if (fn_nids_frag_feed(p, len, ctx->now_ns, &whole, ctx->err, ctx->errlen) != 0)
        return -1;
    *result = whole ? sx_value_from_blob(SX_BYTES, whole) : sx_value_cstr("");
    return 0;
}

static const analog_fn_def fn_processipfrag_def = {
    .name = "f_processIpFrag", .min_args = 1, .max_args = 1, .call = f_processIpFrag,
    .summary = "f_processIpFrag(PKT): IPv4 defragmentation (libnids): PKT itself when whole, "
               "the reassembled datagram on its last fragment, else \"\"",
};
ANALOG_FN_REGISTER(fn_processipfrag_def)
