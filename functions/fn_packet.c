/*
 * fn_packet.c -- IPv4 packet header functions: f_getTransportProtocol,
 * f_getSrcIPAddr, f_getDstIPAddr, f_getTCPFlowId, f_getUDPFlowId,
 * f_getSrcPort, f_getDstPort, f_ipPayloadLength, f_isFragment.
 *
 * Each takes PKT, a bytes value holding one IPv4 packet from its IP
 * header on (what capture/source.h delivers as input's PKT; possibly a
 * fragment). Packets are hostile input: every read is preceded by a
 * length check, so a lying IHL, total length or a truncated transport
 * header is an error (ctx->err, -1), never an out-of-bounds read.
 *
 * Hot path: these run once per packet in the IP assembler. They parse
 * in place and allocate nothing but the result. No state; any thread.
 *
 * A flow id is a 64-bit hash of (protocol, endpoint A, endpoint B) with
 * the two (address, port) endpoints put in order first, so both
 * directions of a connection share one id.
 */
#include <stdio.h>
#include <string.h>

#include "analog/functions.h"
#include "functions/fn_args.h"

#define IP4_HDR_MIN 20
#define TCP_HDR_MIN 20
#define UDP_HDR_LEN 8
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define IP4_MF 0x2000u
#define IP4_OFFSET_MASK 0x1fffu

/** A validated IPv4 header, pointing into the packet's bytes. */
typedef struct ip4_view {
    const uint8_t *p; /* the packet: p[0..len) is readable */
    size_t len;       /* bytes present */
    size_t hlen;      /* header length from IHL; hlen <= len */
    unsigned total;   /* the header's total length field */
    unsigned proto;
    unsigned frag;    /* flags and fragment offset field */
} ip4_view;

/** Big-endian 16-bit read; the caller has checked p[0..2) is present. */
static unsigned rd16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/** Checks that args[0] is bytes holding a valid IPv4 header (version 4,
 *  IHL >= 5, the header within the bytes) and fills *ip. Returns 0, or
 *  -1 with a message naming fn in ctx->err. */
static int ip4_parse(analog_fn_ctx *ctx, const char *fn, const sx_value *arg, ip4_view *ip)
{
    if (arg->kind != SX_BYTES)
        return fn_args_type_error(ctx, fn, 1, "bytes (an IPv4 packet)", arg);
    const uint8_t *p = arg->u.blob ? arg->u.blob->data : NULL;
    size_t len = arg->u.blob ? arg->u.blob->len : 0;
    if (len < IP4_HDR_MIN)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: truncated IPv4 header: %zu bytes, "
                              "need at least %d", fn, len, IP4_HDR_MIN);
    if (p[0] >> 4 != 4)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: not an IPv4 packet (version %u)", fn,
                              (unsigned)(p[0] >> 4));
    size_t hlen = (size_t)(p[0] & 0x0f) * 4;
    if (hlen < IP4_HDR_MIN)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: bad IPv4 header length %zu (IHL %u < 5)",
                              fn, hlen, (unsigned)(p[0] & 0x0f));
    if (hlen > len)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: IPv4 header length %zu exceeds the "
                              "%zu bytes present", fn, hlen, len);
    ip->p = p;
    ip->len = len;
    ip->hlen = hlen;
    ip->total = rd16(p + 2);
    ip->proto = p[9];
    ip->frag = rd16(p + 6);
    return 0;
}

/** The end of the IP packet: its total length, cut to the bytes present
 *  (a snap-truncated capture). Returns 0, or -1 when the total length
 *  is shorter than the header itself (a lying header). */
static int ip4_end(analog_fn_ctx *ctx, const char *fn, const ip4_view *ip, size_t *end)
{
    if (ip->total < ip->hlen)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: IPv4 total length %u is shorter than "
                              "its header (%zu bytes)", fn, ip->total, ip->hlen);
    *end = ip->total < ip->len ? ip->total : ip->len;
    return 0;
}

/** Protocol names for the errors below. */
static const char *proto_name(unsigned proto)
{
    return proto == IP_PROTO_TCP ? "TCP" : proto == IP_PROTO_UDP ? "UDP"
         : proto == IP_PROTO_ICMP ? "ICMP" : "other";
}

/** Parses args[0] as an IPv4 packet carrying a TCP or UDP header (proto
 *  names which; 0 accepts either) in a first or only fragment, and
 *  points *ports at the transport header (source then destination
 *  port). Returns 0, or -1 with a message naming fn. */
static int transport_parse(analog_fn_ctx *ctx, const char *fn, const sx_value *arg,
                           unsigned proto, ip4_view *ip, const uint8_t **ports)
{
    size_t end = 0;
    if (ip4_parse(ctx, fn, arg, ip) != 0 || ip4_end(ctx, fn, ip, &end) != 0)
        return -1;
    bool ok = proto ? ip->proto == proto
                    : ip->proto == IP_PROTO_TCP || ip->proto == IP_PROTO_UDP;
    if (!ok)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: not a %s packet (IP protocol %u, %s)",
                              fn, proto ? proto_name(proto) : "TCP or UDP", ip->proto,
                              proto_name(ip->proto));
    if ((ip->frag & IP4_OFFSET_MASK) != 0)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: non-first fragment: reassemble with "
                              "f_processIpFrag first", fn);
    size_t avail = end - ip->hlen; /* ip4_end guarantees hlen <= end */
    const uint8_t *t = ip->p + ip->hlen;
    if (ip->proto == IP_PROTO_TCP) {
        if (avail < TCP_HDR_MIN)
            return fn_args_errorf(ctx->err, ctx->errlen, "%s: truncated TCP header: %zu bytes, "
                                  "need %d", fn, avail, TCP_HDR_MIN);
        size_t doff = (size_t)(t[12] >> 4) * 4;
        if (doff < TCP_HDR_MIN || doff > avail)
            return fn_args_errorf(ctx->err, ctx->errlen, "%s: bad TCP header length %zu "
                                  "(%zu bytes present)", fn, doff, avail);
    } else if (avail < UDP_HDR_LEN) {
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: truncated UDP header: %zu bytes, "
                              "need %d", fn, avail, UDP_HDR_LEN);
    }
    *ports = t;
    return 0;
}

/* ---- f_getTransportProtocol(PKT) ---- */

/** "TCP", "UDP", "ICMP", or the protocol number as text ("47"). */
static int f_getTransportProtocol(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                                  sx_value *result)
{
    ip4_view ip;
    if (ip4_parse(ctx, "f_getTransportProtocol", &args[0], &ip) != 0)
        return -1;
    if (ip.proto == IP_PROTO_TCP || ip.proto == IP_PROTO_UDP || ip.proto == IP_PROTO_ICMP) {
        *result = sx_value_cstr(proto_name(ip.proto));
    } else {
        char num[4];
        int n = snprintf(num, sizeof num, "%u", ip.proto);
        *result = sx_value_str(num, (size_t)n);
    }
    return 0;
}

static const analog_fn_def fn_gettransportprotocol_def = {
    .name = "f_getTransportProtocol", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_getTransportProtocol,
    .summary = "f_getTransportProtocol(PKT): \"TCP\", \"UDP\", \"ICMP\" or the IP protocol "
               "number (\"47\")",
};
ANALOG_FN_REGISTER(fn_gettransportprotocol_def)

/* ---- f_getSrcIPAddr(PKT), f_getDstIPAddr(PKT) ---- */

/** The source address of an IPv4 packet. */
static int f_getSrcIPAddr(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                          sx_value *result)
{
    ip4_view ip;
    if (ip4_parse(ctx, "f_getSrcIPAddr", &args[0], &ip) != 0)
        return -1;
    *result = sx_value_ip4(ip.p + 12);
    return 0;
}

static const analog_fn_def fn_getsrcipaddr_def = {
    .name = "f_getSrcIPAddr", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_getSrcIPAddr,
    .summary = "f_getSrcIPAddr(PKT): the IPv4 packet's source address",
};
ANALOG_FN_REGISTER(fn_getsrcipaddr_def)

/** The destination address of an IPv4 packet. */
static int f_getDstIPAddr(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                          sx_value *result)
{
    ip4_view ip;
    if (ip4_parse(ctx, "f_getDstIPAddr", &args[0], &ip) != 0)
        return -1;
    *result = sx_value_ip4(ip.p + 16);
    return 0;
}

static const analog_fn_def fn_getdstipaddr_def = {
    .name = "f_getDstIPAddr", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_getDstIPAddr,
    .summary = "f_getDstIPAddr(PKT): the IPv4 packet's destination address",
};
ANALOG_FN_REGISTER(fn_getdstipaddr_def)

/* ---- f_getTCPFlowId(PKT), f_getUDPFlowId(PKT) ---- */

/** Packs an endpoint (4 address bytes, 2 port bytes, as in the packet)
 *  into the top 48 bits of a word; big-endian, so comparing words
 *  orders endpoints like memcmp would. */
static uint64_t endpoint(const uint8_t addr[4], const uint8_t port[2])
{
    uint64_t w = 0;
    for (int i = 0; i < 4; i++)
        w = w << 8 | addr[i];
    return (w << 16 | (uint64_t)port[0] << 8 | port[1]) << 16;
}

/** The flow id of a packet: both endpoints in order, so the reply
 *  direction hashes the same; the protocol in the low bits of the lower
 *  endpoint's word, so a TCP and a UDP flow on the same ports differ. */
static int64_t flow_id(const ip4_view *ip, const uint8_t *ports)
{
    uint64_t a = endpoint(ip->p + 12, ports), b = endpoint(ip->p + 16, ports + 2);
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t h = sx_hash_mix((lo | ip->proto) ^ 0x9e3779b97f4a7c15ull);
    h = sx_hash_mix(h ^ hi);
    return (int64_t)h;
}

/** The flow id of a TCP (proto 6) or UDP (17) packet, for fn. */
static int flow_id_call(analog_fn_ctx *ctx, const char *fn, unsigned proto, const sx_value *arg,
                        sx_value *result)
{
    ip4_view ip;
    const uint8_t *ports;
    if (transport_parse(ctx, fn, arg, proto, &ip, &ports) != 0)
        return -1;
    *result = sx_value_int(flow_id(&ip, ports));
    return 0;
}

/** A TCP connection's id, the same in both directions. */
static int f_getTCPFlowId(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                          sx_value *result)
{
    return flow_id_call(ctx, "f_getTCPFlowId", IP_PROTO_TCP, &args[0], result);
}

static const analog_fn_def fn_gettcpflowid_def = {
    .name = "f_getTCPFlowId", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_getTCPFlowId,
    .summary = "f_getTCPFlowId(PKT): a 64-bit id of the TCP connection, the same both ways",
};
ANALOG_FN_REGISTER(fn_gettcpflowid_def)

/** A UDP flow's id, the same in both directions. */
static int f_getUDPFlowId(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                          sx_value *result)
{
    return flow_id_call(ctx, "f_getUDPFlowId", IP_PROTO_UDP, &args[0], result);
}

static const analog_fn_def fn_getudpflowid_def = {
    .name = "f_getUDPFlowId", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_getUDPFlowId,
    .summary = "f_getUDPFlowId(PKT): a 64-bit id of the UDP flow, the same both ways",
};
ANALOG_FN_REGISTER(fn_getudpflowid_def)

/* ---- f_getSrcPort(PKT), f_getDstPort(PKT) ---- */

/** The source port of a TCP or UDP packet. */
static int f_getSrcPort(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                        sx_value *result)
{
    ip4_view ip;
    const uint8_t *ports;
    if (transport_parse(ctx, "f_getSrcPort", &args[0], 0, &ip, &ports) != 0)
        return -1;
    *result = sx_value_int(rd16(ports));
    return 0;
}

static const analog_fn_def fn_getsrcport_def = {
    .name = "f_getSrcPort", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_getSrcPort,
    .summary = "f_getSrcPort(PKT): the TCP or UDP source port",
};
ANALOG_FN_REGISTER(fn_getsrcport_def)

/** The destination port of a TCP or UDP packet. */
static int f_getDstPort(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                        sx_value *result)
{
    ip4_view ip;
    const uint8_t *ports;
    if (transport_parse(ctx, "f_getDstPort", &args[0], 0, &ip, &ports) != 0)
        return -1;
    *result = sx_value_int(rd16(ports + 2));
    return 0;
}

static const analog_fn_def fn_getdstport_def = {
    .name = "f_getDstPort", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_getDstPort,
    .summary = "f_getDstPort(PKT): the TCP or UDP destination port",
};
ANALOG_FN_REGISTER(fn_getdstport_def)

/* ---- f_ipPayloadLength(PKT) ---- */

/** Total length minus header length. A total length shorter than the
 *  header, or longer than the bytes present, is an error: the header
 *  lies (or the capture cut the packet), so no length can be trusted. */
static int f_ipPayloadLength(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                             sx_value *result)
{
    ip4_view ip;
    size_t end = 0;
    if (ip4_parse(ctx, "f_ipPayloadLength", &args[0], &ip) != 0 ||
        ip4_end(ctx, "f_ipPayloadLength", &ip, &end) != 0)
        return -1;
    if (ip.total > ip.len)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_ipPayloadLength: IPv4 total length %u "
                              "exceeds the %zu bytes present", ip.total, ip.len);
    *result = sx_value_int((int64_t)(ip.total - ip.hlen));
    return 0;
}

static const analog_fn_def fn_ippayloadlength_def = {
    .name = "f_ipPayloadLength", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_ipPayloadLength,
    .summary = "f_ipPayloadLength(PKT): the IPv4 total length minus the header length",
};
ANALOG_FN_REGISTER(fn_ippayloadlength_def)

/* ---- f_isFragment(PKT) ---- */

/** "true" if more fragments follow (MF) or the offset is non-zero. */
static int f_isFragment(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                        sx_value *result)
{
    ip4_view ip;
    if (ip4_parse(ctx, "f_isFragment", &args[0], &ip) != 0)
        return -1;
    *result = fn_args_truth((ip.frag & (IP4_MF | IP4_OFFSET_MASK)) != 0);
    return 0;
}

static const analog_fn_def fn_isfragment_def = {
    .name = "f_isFragment", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_isFragment,
    .summary = "f_isFragment(PKT): \"true\" if the IPv4 packet is a fragment (MF or offset), "
               "else \"false\"",
};
ANALOG_FN_REGISTER(fn_isfragment_def)
