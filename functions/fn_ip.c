/*
 * fn_ip.c -- IP address functions: f_IPtoSTR, f_strToIP, f_ipInNet.
 *
 * Addresses are SX_IP values (IPv4 or IPv6, network byte order); text
 * forms are what inet_ntop writes and inet_pton reads. f_ipInNet's
 * network is usually a constant ("10.0.0.0/8"): prepare parses it once
 * at plan time and every call only masks and compares. A non-constant
 * network is parsed per call. A prepared network is read-only, so any
 * thread may use it; nothing here keeps other state.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/functions.h"
#include "functions/fn_args.h"
#include "proto/alloc.h"

/* Longest address text accepted: "ffff:...:255.255.255.255/128" fits. */
#define FN_IP_TEXT_MAX 64

/** A network: family 4 or 6, the address with host bits cleared, and
 *  the prefix length in bits. */
typedef struct fn_ip_net {
    uint8_t family;
    uint8_t addr[16];
    unsigned prefix;
} fn_ip_net;

/** Copies text value v into buf as a C string; false when it is too
 *  long for an address or holds a NUL byte. */
static bool text_to_cstr(const sx_value *v, char buf[FN_IP_TEXT_MAX])
{
    size_t n = v->u.blob ? v->u.blob->len : 0;
    if (n >= FN_IP_TEXT_MAX)
        return false;
    memcpy(buf, v->u.blob ? (const char *)v->u.blob->data : "", n);
    buf[n] = 0;
    return strlen(buf) == n;
}

/** Parses an IPv4 or IPv6 address; returns its family (4 or 6) or 0. */
static int parse_addr(const char *s, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, s, addr) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, addr) == 1)
        return 6;
    return 0;
}

/** Parses text value v as an address into *ip; false if it is not one. */
static bool text_to_ip(const sx_value *v, sx_value *ip)
{
    char buf[FN_IP_TEXT_MAX];
    uint8_t addr[16];
    if (!text_to_cstr(v, buf))
        return false;
    int family = parse_addr(buf, addr);
    if (family == 0)
        return false;
    *ip = family == 4 ? sx_value_ip4(addr) : sx_value_ip6(addr);
    return true;
}

/* ---- f_IPtoSTR(ip) ---- */

/** An IP value as text: "10.0.0.1", "2001:db8::1". */
static int f_IPtoSTR(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    char buf[FN_ARGS_SCALAR_MAX];
    if (args[0].kind != SX_IP)
        return fn_args_type_error(ctx, "f_IPtoSTR", 1, "an IP address", &args[0]);
    int n = fn_args_format(&args[0], buf, sizeof buf);
    if (n < 0)
        return fn_args_errorf(ctx->err, ctx->errlen, "f_IPtoSTR: argument 1 is a malformed IP "
                              "value (family %u)", args[0].u.ip.family);
    *result = sx_value_str(buf, (size_t)n);
    return 0;
}

static const analog_fn_def fn_iptostr_def = {
    .name = "f_IPtoSTR", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_IPtoSTR,
    .summary = "f_IPtoSTR(ip): an IP address as text (10.0.0.1, 2001:db8::1)",
};
ANALOG_FN_REGISTER(fn_iptostr_def)

/* ---- f_strToIP(s) ---- */

/** Text ("10.0.0.1", "::1") as an IP value; an IP value is returned as
 *  is. Text that is not an address is an error. */
static int f_strToIP(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    if (args[0].kind == SX_IP) {
        *result = args[0];
        return 0;
    }
    if (!fn_args_is_text(&args[0]))
        return fn_args_type_error(ctx, "f_strToIP", 1, "a string", &args[0]);
    if (!text_to_ip(&args[0], result))
        return fn_args_errorf(ctx->err, ctx->errlen,
                              "f_strToIP: argument 1 is not an IPv4 or IPv6 address");
    return 0;
}

static const analog_fn_def fn_strtoip_def = {
    .name = "f_strToIP", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_strToIP,
    .summary = "f_strToIP(s): text as an IP address value",
};
ANALOG_FN_REGISTER(fn_strtoip_def)

/* ---- f_ipInNet(ip, net) ---- */

/** Parses a prefix length of 0..max decimal digits; -1 if malformed. */
static int parse_prefix(const char *s, unsigned max)
{
    unsigned v = 0;
    if (!*s || strlen(s) > 3)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    return v <= max ? (int)v : -1;
}

/** Clears the bits of addr past the first prefix bits. */
static void mask_addr(uint8_t addr[16], unsigned prefix)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
        addr[i] &= (uint8_t)(0xff00u >> keep);
    }
}

/** Parses "ADDR/PREFIX" (or a bare ADDR, a host network) from text
 *  value v into *net; host bits are cleared ("10.1.2.3/8" is 10/8).
 *  Returns 0, or -1 with a message for fn in err. */
static int parse_net(const sx_value *v, fn_ip_net *net, const char *fn, char *err, size_t errlen)
{
    char buf[FN_IP_TEXT_MAX];
    if (!text_to_cstr(v, buf))
        return fn_args_errorf(err, errlen, "%s: argument 2 is not a network (ADDR/PREFIX)", fn);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = 0;
    int family = parse_addr(buf, net->addr);
    unsigned max = family == 4 ? 32 : 128;
    int prefix = !slash ? (int)max : parse_prefix(slash + 1, max);
    if (family == 0 || prefix < 0)
        return fn_args_errorf(err, errlen, "%s: argument 2 is not a network (ADDR/PREFIX): "
                              "\"%s%s%s\"", fn, buf, slash ? "/" : "", slash ? slash + 1 : "");
    net->family = (uint8_t)family;
    net->prefix = (unsigned)prefix;
    mask_addr(net->addr, net->prefix);
    return 0;
}

/** True when ip (an SX_IP) lies in net; families must agree. */
static bool net_contains(const fn_ip_net *net, const sx_value *ip)
{
    if (ip->u.ip.family != net->family)
        return false;
    uint8_t addr[16];
    memcpy(addr, ip->u.ip.addr, 16);
    mask_addr(addr, net->prefix);
    return memcmp(addr, net->addr, net->family == 4 ? 4 : 16) == 0;
}

/** Parses a constant network once; a non-constant one is left to the
 *  call (*prepared stays NULL). */
static int ipinnet_prepare(const sx_value *args, const bool *is_const, uint32_t nargs,
                           void **prepared, char *err, size_t errlen)
{
    *prepared = NULL;
    if (nargs < 2 || !is_const[1])
        return 0;
    if (!fn_args_is_text(&args[1]))
        return fn_args_errorf(err, errlen, "f_ipInNet: argument 2 must be a string, not %s",
                              sx_kind_name((sx_kind)args[1].kind));
    fn_ip_net net;
    if (parse_net(&args[1], &net, "f_ipInNet", err, errlen) != 0)
        return -1;
    fn_ip_net *copy = sx_malloc(sizeof *copy);
    *copy = net;
    *prepared = copy;
    return 0;
}

/** Frees a network made by ipinnet_prepare. */
static void ipinnet_prepared_free(void *prepared)
{
    free(prepared);
}

/** "true" when ip (an IP value or its text) lies in the network net,
 *  else "false". An address of the other family is not in the net. */
static int f_ipInNet(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    sx_value ip = args[0];
    if (fn_args_is_text(&ip) && !text_to_ip(&args[0], &ip))
        return fn_args_errorf(ctx->err, ctx->errlen,
                              "f_ipInNet: argument 1 is not an IPv4 or IPv6 address");
    if (ip.kind != SX_IP)
        return fn_args_type_error(ctx, "f_ipInNet", 1, "an IP address", &args[0]);
    fn_ip_net parsed;
    const fn_ip_net *net = ctx->prepared;
    if (!net) {
        if (!fn_args_is_text(&args[1]))
            return fn_args_type_error(ctx, "f_ipInNet", 2, "a string", &args[1]);
        if (parse_net(&args[1], &parsed, "f_ipInNet", ctx->err, ctx->errlen) != 0)
            return -1;
        net = &parsed;
    }
    *result = fn_args_truth(net_contains(net, &ip));
    return 0;
}

static const analog_fn_def fn_ipinnet_def = {
    .name = "f_ipInNet", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE,
    .call = f_ipInNet,
    .prepare = ipinnet_prepare,
    .prepared_free = ipinnet_prepared_free,
    .summary = "f_ipInNet(ip, \"10.0.0.0/8\"): \"true\" if ip lies in the network, else \"false\"",
};
ANALOG_FN_REGISTER(fn_ipinnet_def)
