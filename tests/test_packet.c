/*
 * test_packet.c -- the IPv4 packet functions (functions/fn_packet.c),
 * called as the evaluator calls them: look the name up in odd case,
 * call def->call with an analog_fn_ctx whose err buffer is set.
 *
 * Packets are built by hand: IPv4+TCP, IPv4+UDP, ICMP, GRE (47), both
 * directions of a connection, fragments, and hostile headers (IHL < 5,
 * IHL past the bytes, lying total length, truncated transport headers).
 * Exit 0 when all pass; otherwise a message naming the failed check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/functions.h"

#include "tests/check.h"

static char err[256];

/** Calls the function named name on one argument (consumed) and returns
 *  the call's rc; a failing call must leave a message in err. */
static int call1(const char *name, sx_value arg, sx_value *result)
{
    const analog_fn_def *def = analog_fn_lookup(name);
    CHECK(def != NULL, name);
    CHECK(def->min_args == 1 && def->max_args == 1, "arity is one PKT");
    CHECK(def->flags & ANALOG_FN_PURE, "packet functions are pure");
    analog_fn_ctx ctx = {.worker = 0, .workers = 1, .err = err, .errlen = sizeof err};
    err[0] = 0;
    *result = sx_value_null();
    int rc = def->call(&ctx, &arg, 1, result);
    CHECK(rc == 0 || (rc == -1 && err[0] != 0), "a failure comes with a message");
    sx_value_release(&arg);
    return rc;
}

/* ---- hand-built packets ---- */

typedef struct pkt {
    uint8_t b[128];
    size_t len;
} pkt;

/** An IPv4 packet from src to dst with protocol proto, a 20-byte header
 *  and a transport header of thlen bytes (ports for TCP/UDP), total
 *  length set to match. */
static pkt make_ip(unsigned proto, const uint8_t src[4], const uint8_t dst[4], unsigned sport,
                   unsigned dport, size_t thlen)
{
    pkt p;
    memset(&p, 0, sizeof p);
    p.len = 20 + thlen;
    p.b[0] = 0x45;
    p.b[2] = (uint8_t)(p.len >> 8);
    p.b[3] = (uint8_t)p.len;
    p.b[8] = 64;
    p.b[9] = (uint8_t)proto;
    memcpy(p.b + 12, src, 4);
    memcpy(p.b + 16, dst, 4);
    if (thlen >= 4) {
        p.b[20] = (uint8_t)(sport >> 8);
        p.b[21] = (uint8_t)sport;
        p.b[22] = (uint8_t)(dport >> 8);
        p.b[23] = (uint8_t)dport;
    }
    if (proto == 6 && thlen >= 13)
        p.b[32] = 0x50; /* TCP data offset 5 */
    return p;
}

static sx_value as_bytes(const pkt *p)
{
    return sx_value_bytes(p->b, p->len);
}

static const uint8_t A[4] = {10, 0, 0, 1}, B[4] = {192, 168, 1, 20};

/** Checks that name(p) returns the string want. */
static void want_str(const char *name, const pkt *p, const char *want)
{
    sx_value r;
    CHECK(call1(name, as_bytes(p), &r) == 0, err);
    CHECK(r.kind == SX_STR && r.u.blob && strcmp((const char *)r.u.blob->data, want) == 0, want);
    sx_value_release(&r);
}

/** Checks that name(p) returns the int want. */
static void want_int(const char *name, const pkt *p, int64_t want)
{
    sx_value r;
    CHECK(call1(name, as_bytes(p), &r) == 0, err);
    CHECK(r.kind == SX_INT && r.u.i == want, name);
}

/** Checks that name(p) fails with a message containing needle. */
static void want_error(const char *name, const pkt *p, const char *needle)
{
    sx_value r;
    CHECK(call1(name, as_bytes(p), &r) == -1, name);
    if (!strstr(err, needle)) {
        fprintf(stderr, "FAIL: %s: message \"%s\" lacks \"%s\"\n", name, err, needle);
        exit(1);
    }
    CHECK(r.kind == SX_NULL, "no result on failure");
}

/** name(p) as an int; the call must succeed. */
static int64_t get_int(const char *name, const pkt *p)
{
    sx_value r;
    CHECK(call1(name, as_bytes(p), &r) == 0, err);
    CHECK(r.kind == SX_INT, name);
    return r.u.i;
}

/* ---- the checks ---- */

static void test_protocols(void)
{
    pkt tcp = make_ip(6, A, B, 40000, 25, 20), udp = make_ip(17, A, B, 5060, 5060, 8);
    pkt icmp = make_ip(1, A, B, 0, 0, 8), gre = make_ip(47, A, B, 0, 0, 4);
    want_str("F_GETTRANSPORTPROTOCOL", &tcp, "TCP");
    want_str("f_gettransportprotocol", &udp, "UDP");
    want_str("f_getTransportProtocol", &icmp, "ICMP");
    want_str("f_GetTransportProtocol", &gre, "47");

    sx_value r;
    CHECK(call1("f_getsrcipaddr", as_bytes(&tcp), &r) == 0, err);
    CHECK(r.kind == SX_IP && r.u.ip.family == 4 && memcmp(r.u.ip.addr, A, 4) == 0, "src addr");
    CHECK(call1("F_GETDSTIPADDR", as_bytes(&gre), &r) == 0, err);
    CHECK(r.kind == SX_IP && r.u.ip.family == 4 && memcmp(r.u.ip.addr, B, 4) == 0, "dst addr");

    want_int("f_getsrcport", &tcp, 40000);
    want_int("F_GETDSTPORT", &tcp, 25);
    want_int("f_getSrcPort", &udp, 5060);
    want_int("f_ippayloadlength", &tcp, 20);
    want_int("f_IPPAYLOADLENGTH", &gre, 4);
    want_str("f_isfragment", &tcp, "false");
    want_error("f_getSrcPort", &icmp, "not a TCP or UDP packet");
    want_error("f_getUDPFlowId", &gre, "not a UDP packet");
}

static void test_flow_ids(void)
{
    pkt out = make_ip(6, A, B, 40000, 25, 20), back = make_ip(6, B, A, 25, 40000, 20);
    pkt other = make_ip(6, A, B, 40001, 25, 20), udp = make_ip(17, A, B, 40000, 25, 8);
    pkt udp_back = make_ip(17, B, A, 25, 40000, 8);
    int64_t id = get_int("f_gettcpflowid", &out);
    CHECK(get_int("F_GETTCPFLOWID", &back) == id, "both directions share a TCP flow id");
    CHECK(get_int("f_getTCPFlowId", &other) != id, "another source port, another flow id");
    int64_t uid = get_int("f_getudpflowid", &udp);
    CHECK(get_int("f_getUDPFlowId", &udp_back) == uid, "both directions share a UDP flow id");
    CHECK(uid != id, "TCP and UDP on the same ports differ");
    want_error("f_getTCPFlowId", &udp, "not a TCP packet");

    /* swapping addresses but not ports is another connection */
    pkt swapped = make_ip(6, B, A, 40000, 25, 20);
    CHECK(get_int("f_getTCPFlowId", &swapped) != id, "(B:40000, A:25) is not (A:40000, B:25)");
}

static void test_fragments(void)
{
    /* a first fragment: MF set, offset 0, the whole TCP header present */
    pkt first = make_ip(6, A, B, 40000, 25, 20);
    first.b[6] = 0x20;
    want_str("f_isFragment", &first, "true");
    pkt whole = make_ip(6, A, B, 40000, 25, 20);
    CHECK(get_int("f_getTCPFlowId", &first) == get_int("f_getTCPFlowId", &whole),
          "a first fragment has its connection's flow id");
    want_int("f_getDstPort", &first, 25);

    /* a later fragment: offset 185 (1480 bytes), no ports */
    pkt later = make_ip(6, A, B, 0, 0, 20);
    later.b[6] = 0x00;
    later.b[7] = 185;
    want_str("f_isFragment", &later, "true");
    static const char *const msg = "non-first fragment: reassemble with f_processIpFrag first";
    want_error("f_getTCPFlowId", &later, msg);
    want_error("f_getSrcPort", &later, msg);
    pkt ulater = make_ip(17, A, B, 0, 0, 8);
    ulater.b[6] = 0x20; /* MF and an offset: a middle fragment */
    ulater.b[7] = 1;
    want_error("f_getUDPFlowId", &ulater, msg);
    want_str("f_getTransportProtocol", &later, "TCP"); /* the header itself is fine */
}

static void test_hostile(void)
{
    static const char *const all[] = {
        "f_getTransportProtocol", "f_getSrcIPAddr", "f_getDstIPAddr", "f_getTCPFlowId",
        "f_getUDPFlowId", "f_getSrcPort", "f_getDstPort", "f_ipPayloadLength", "f_isFragment",
    };
    pkt tcp = make_ip(6, A, B, 40000, 25, 20);
    pkt short_ip = tcp, ihl4 = tcp, ihl15 = tcp, v6 = tcp;
    short_ip.len = 19;
    ihl4.b[0] = 0x44;
    ihl15.b[0] = 0x4f; /* 60-byte header in 40 bytes */
    v6.b[0] = 0x65;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sx_value r;
        want_error(all[i], &short_ip, "truncated IPv4 header");
        want_error(all[i], &ihl4, "IHL 4 < 5");
        want_error(all[i], &ihl15, "header length 60 exceeds the 40 bytes");
        want_error(all[i], &v6, "not an IPv4 packet (version 6)");
        CHECK(call1(all[i], sx_value_cstr("E\x00"), &r) == -1 &&
                  strstr(err, "argument 1 must be bytes (an IPv4 packet), not string"),
              "a string is not a packet");
        CHECK(call1(all[i], sx_value_int(69), &r) == -1 && strstr(err, "not int"),
              "an int is not a packet");
        pkt empty = {.len = 0};
        want_error(all[i], &empty, "0 bytes");
    }

    /* truncated transport headers, by the bytes present or the total length */
    pkt tcp_cut = make_ip(6, A, B, 40000, 25, 19);
    want_error("f_getTCPFlowId", &tcp_cut, "truncated TCP header: 19 bytes");
    want_str("f_getTransportProtocol", &tcp_cut, "TCP");
    pkt tcp_total = tcp;
    tcp_total.b[3] = 30; /* total length 30: 10 TCP bytes, the rest is padding */
    want_error("f_getSrcPort", &tcp_total, "truncated TCP header: 10 bytes");
    pkt doff = tcp;
    doff.b[32] = 0xf0; /* 60-byte TCP header in 20 bytes */
    want_error("f_getTCPFlowId", &doff, "bad TCP header length 60");
    doff.b[32] = 0x40;
    want_error("f_getDstPort", &doff, "bad TCP header length 16");
    pkt udp_cut = make_ip(17, A, B, 53, 53, 7);
    want_error("f_getUDPFlowId", &udp_cut, "truncated UDP header: 7 bytes");
    want_error("f_getDstPort", &udp_cut, "truncated UDP header");

    /* lying total length */
    pkt small = tcp, big = tcp;
    small.b[2] = 0;
    small.b[3] = 19;
    want_error("f_ipPayloadLength", &small, "total length 19 is shorter than its header");
    want_error("f_getTCPFlowId", &small, "total length 19 is shorter");
    big.b[2] = 0x05;
    big.b[3] = 0xdc; /* 1500 in 40 bytes */
    want_error("f_ipPayloadLength", &big, "total length 1500 exceeds the 40 bytes");
    /* ports still come from a snap-cut packet whose transport header is whole */
    want_int("f_getSrcPort", &big, 40000);

    /* options: IHL 6, ports after the 24-byte header */
    pkt opt = make_ip(6, A, B, 0, 0, 24);
    opt.b[0] = 0x46;
    memmove(opt.b + 24, opt.b + 20, 20);
    memset(opt.b + 20, 1, 4);
    opt.b[24] = 0x12;
    opt.b[25] = 0x34;
    opt.b[36] = 0x50;
    want_int("f_getSrcPort", &opt, 0x1234);
    want_int("f_ipPayloadLength", &opt, 20);
}

int main(void)
{
    test_protocols();
    test_flow_ids();
    test_fragments();
    test_hostile();
    puts("test_packet: ok");
    return 0;
}
