/*
 * test_conn.c -- TCP connection tracking from raw packets
 * (functions/conn_track.h) and f_trackConnection, its ANALOG function,
 * called as the evaluator calls it (.call per packet with the flow id of
 * f_getTCPFlowId, .drain at heartbeats and at the end).
 *
 * Packets are IPv4/TCP built by hand between CLIENT (10.0.0.1:40000)
 * and SERVER (10.0.0.2:80), with sequence numbers that advance as a
 * real stack's would; times are milliseconds after T0_NS. Every flag
 * of the KDD table is made and every field of its record checked: SF
 * with byte counts, S0 by the SYN timeout and by the final drain, REJ,
 * RSTO, RSTR, RSTOS0, SH, S1, S2, S3, OTH (midstream, a first SYN-ACK,
 * an unexpected reply), land, urgent, port reuse, a connection timed
 * out under a new packet, duration flooring, non-TCP and hostile
 * packets with their counters. Limits: idle 60 s, SYN 5 s, linger 2 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"
#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/conn_track.h"

#include "tests/check.h"
#include "tests/fn_call.h"

/* Not a whole second, so that duration flooring shows. */
#define T0_NS 1700000000600000000LL
#define MS(ms) (T0_NS + (int64_t)(ms) * 1000000)
#define IDLE_MS 60000
#define SYN_MS 5000
#define LINGER_MS 2000

#define FIN 0x01u
#define SYN 0x02u
#define RST 0x04u
#define PSH 0x08u
#define ACK 0x10u
#define URG 0x20u

enum { C, S }; /* the client (who connects) and the server */

static const uint8_t CLIENT_IP[4] = {10, 0, 0, 1};
static const uint8_t SERVER_IP[4] = {10, 0, 0, 2};

/* ---- building packets ---- */

/** An IPv4/TCP packet with len payload bytes (all 'x'). The caller owns
 *  the bytes value. */
static sx_value tcp_packet(const uint8_t src[4], unsigned sport, const uint8_t dst[4],
                           unsigned dport, unsigned flags, uint32_t seq, uint32_t ack, size_t len)
{
    size_t total = 20 + 20 + len;
    uint8_t *p = calloc(1, total);
    CHECK(p != NULL, "out of memory");
    p[0] = 0x45;
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    p[8] = 64;
    p[9] = 6;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    uint8_t *t = p + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    for (int i = 0; i < 4; i++) {
        t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    t[12] = 5 << 4;
    t[13] = (uint8_t)flags;
    t[14] = 0xff; /* window */
    memset(t + 20, 'x', len);
    sx_value v = sx_value_bytes(p, total);
    free(p);
    return v;
}

/* One connection's two endpoints and what each sends next. */
typedef struct flow {
    uint8_t ip[2][4];
    unsigned port[2];
    uint32_t next[2]; /* the next sequence number of each side */
    void *st;         /* the f_trackConnection state */
} flow;

/** A flow from CLIENT:sport to SERVER:dport with a fresh state. */
static flow flow_new(unsigned sport, unsigned dport)
{
    const analog_fn_def *def = analog_fn_lookup("f_trackConnection");
    flow f = {.port = {sport, dport}, .next = {1000, 500000}, .st = def->state_new()};
    memcpy(f.ip[C], CLIENT_IP, 4);
    memcpy(f.ip[S], SERVER_IP, 4);
    CHECK(f.st != NULL, "state_new");
    return f;
}

static void flow_free(flow *f)
{
    analog_fn_lookup("f_trackConnection")->state_free(f->st);
    f->st = NULL;
}

/** The next packet side by sends on f: its own sequence number, the
 *  other side's as acknowledgment; SYN and FIN take one number each. */
static sx_value flow_packet(flow *f, int by, unsigned flags, size_t len)
{
    sx_value p = tcp_packet(f->ip[by], f->port[by], f->ip[!by], f->port[!by], flags,
                            f->next[by], (flags & ACK) ? f->next[!by] : 0, len);
    f->next[by] += (uint32_t)len + ((flags & SYN) ? 1 : 0) + ((flags & FIN) ? 1 : 0);
    return p;
}

/** The counter's value (it must exist). */
static uint64_t counter(const char *name)
{
    uint64_t v = analog_counter_get(name);
    CHECK(v != UINT64_MAX, name);
    return v;
}

/* ---- checking records ---- */

/** A connection record expected. src is C unless swapped; service
 *  NULL means "http"; start_ms, end_ms, time_ms are after T0. */
typedef struct want {
    const char *flag;
    int64_t start_ms, end_ms, time_ms;
    int64_t duration, src_bytes, dst_bytes, src_packets, dst_packets, urgent, land;
    const char *service;
} want;

/** Reports field name of record r, not what was expected, and exits. */
static _Noreturn void fail_field(int line, const sx_value *r, const char *name,
                                 const char *expected)
{
    fprintf(stderr, "FAIL line %d: field %s, want %s, record: ", line, name, expected);
    sx_value_print(stderr, r);
    fprintf(stderr, "\n");
    exit(1);
}

/** Checks that field name of r is the integer expected. */
static void expect_int(int line, const sx_value *r, const char *name, int64_t expected)
{
    const sx_value *v = sx_value_field(r, name);
    if (!v || v->kind != SX_INT || v->u.i != expected) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)expected);
        fail_field(line, r, name, buf);
    }
}

/** Checks that field name of r is the string expected. */
static void expect_str(int line, const sx_value *r, const char *name, const char *expected)
{
    const sx_value *v = sx_value_field(r, name);
    size_t n = strlen(expected);
    if (!v || v->kind != SX_STR || !v->u.blob || v->u.blob->len != n ||
        memcmp(v->u.blob->data, expected, n) != 0)
        fail_field(line, r, name, expected);
}

/** Checks that field name of r is the IPv4 address ip. */
static void expect_ip(int line, const sx_value *r, const char *name, const uint8_t ip[4])
{
    const sx_value *v = sx_value_field(r, name);
    if (!v || v->kind != SX_IP || v->u.ip.family != 4 || memcmp(v->u.ip.addr, ip, 4) != 0)
        fail_field(line, r, name, "another IPv4 address");
}

/** Checks every field of record r of flow f, in conn_track.h's order. */
static void expect_record(int line, const sx_value *r, const flow *f, const want *w)
{
    static const char *const names[] = {
        "time_ns", "start_ns", "end_ns", "src", "sport", "dst", "dport", "duration",
        "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
        "wrong_fragment", "urgent", "src_packets", "dst_packets"};
    uint32_t n = sizeof names / sizeof names[0];
    if (r->kind != SX_RECORD || r->u.list->n != n)
        fail_field(line, r, "(all)", "a connection record of 18 fields");
    for (uint32_t i = 0; i < n; i++) {
        const sx_blob *name = r->u.list->names[i];
        if (!name || name->len != strlen(names[i]) || memcmp(name->data, names[i], name->len))
            fail_field(line, r, names[i], "this field here");
    }
    expect_int(line, r, "time_ns", MS(w->time_ms));
    expect_int(line, r, "start_ns", MS(w->start_ms));
    expect_int(line, r, "end_ns", MS(w->end_ms));
    expect_ip(line, r, "src", f->ip[C]);
    expect_int(line, r, "sport", f->port[C]);
    expect_ip(line, r, "dst", f->ip[S]);
    expect_int(line, r, "dport", f->port[S]);
    expect_int(line, r, "duration", w->duration);
    expect_str(line, r, "protocol_type", "tcp");
    expect_str(line, r, "service", w->service ? w->service : "http");
    expect_str(line, r, "flag", w->flag);
    expect_int(line, r, "src_bytes", w->src_bytes);
    expect_int(line, r, "dst_bytes", w->dst_bytes);
    expect_int(line, r, "land", w->land);
    expect_int(line, r, "wrong_fragment", 0);
    expect_int(line, r, "urgent", w->urgent);
    expect_int(line, r, "src_packets", w->src_packets);
    expect_int(line, r, "dst_packets", w->dst_packets);
}

/** True when v is the empty string (no record). */
static bool is_empty(const sx_value *v)
{
    return v->kind == SX_STR && (!v->u.blob || v->u.blob->len == 0);
}

/** Calls f_trackConnection on pkt (released here) at T0 + ms with its
 *  f_getTCPFlowId (0 when it has none: a bad packet); checks the
 *  record w, or "" when w is NULL. */
static void track(int line, const flow *f, sx_value pkt, int64_t ms, const want *w)
{
    char err[256];
    sx_value id, result;
    if (fn_call("f_getTCPFlowId", &pkt, 1, 0, NULL, &id, err, sizeof err) != 0)
        id = sx_value_int(0);
    sx_value args[2] = {pkt, id};
    const analog_fn_def *def = analog_fn_lookup("f_trackConnection");
    analog_fn_ctx ctx = {.workers = 1, .now_ns = MS(ms), .state = f->st, .err = err,
                         .errlen = sizeof err};
    err[0] = '\0';
    result = sx_value_null();
    int rc = def->call(&ctx, args, 2, &result);
    if (rc != 0)
        fprintf(stderr, "FAIL line %d: f_trackConnection: %s\n", line, err);
    CHECK(rc == 0, "f_trackConnection succeeds on any packet");
    if (w)
        expect_record(line, &result, f, w);
    else if (!is_empty(&result))
        fail_field(line, &result, "(result)", "\"\"");
    sx_value_release(&result);
    sx_value_release(&args[0]);
    sx_value_release(&args[1]);
}

/** The drain hook at T0 + ms; checks its return (rc) and result. */
static void drain(int line, const flow *f, int64_t ms, bool final, int rc_want, const want *w)
{
    const analog_fn_def *def = analog_fn_lookup("f_trackConnection");
    char err[256] = "";
    analog_fn_ctx ctx = {.workers = 1, .now_ns = MS(ms), .state = f->st, .err = err,
                         .errlen = sizeof err};
    sx_value result = sx_value_null();
    int rc = def->drain(&ctx, final, &result);
    if (rc != rc_want || (w == NULL) != (result.kind == SX_NULL)) {
        fprintf(stderr, "FAIL line %d: drain(%lld ms%s) rc %d, want %d; result: ", line,
                (long long)ms, final ? ", final" : "", rc, rc_want);
        sx_value_print(stderr, &result);
        fprintf(stderr, "\n");
        exit(1);
    }
    if (w)
        expect_record(line, &result, f, w);
    sx_value_release(&result);
}

/* SEND(flow, by, flags, payload bytes, ms, want or NULL) */
#define SEND(f, by, flags, len, ms, w)                                                          \
    track(__LINE__, (f), flow_packet((f), (by), (flags), (len)), (ms), (w))
#define PACKET(f, pkt, ms, w) track(__LINE__, (f), (pkt), (ms), (w))
#define DRAIN(f, ms, final, rc, w) drain(__LINE__, (f), (ms), (final), (rc), (w))

/** The three-way handshake at ms, ms+1, ms+2. */
static void handshake(flow *f, int64_t ms)
{
    SEND(f, C, SYN, 0, ms, NULL);
    SEND(f, S, SYN | ACK, 0, ms + 1, NULL);
    SEND(f, C, ACK, 0, ms + 2, NULL);
}

/* ---- the flags ---- */

/** SF: a whole HTTP exchange, a late packet in the linger, then the end. */
static void test_sf(void)
{
    flow f = flow_new(40000, 80);
    uint64_t late = counter("conn.late_packets");
    handshake(&f, 0);
    SEND(&f, C, PSH | ACK, 120, 10, NULL);
    SEND(&f, S, ACK, 1000, 20, NULL);
    SEND(&f, S, PSH | ACK, 460, 21, NULL);
    SEND(&f, C, ACK, 0, 22, NULL);
    SEND(&f, C, FIN | ACK, 0, 2500, NULL);
    SEND(&f, S, FIN | ACK, 0, 2510, NULL); /* both FINs, the later one not yet acknowledged */
    want sf = {.flag = "SF", .start_ms = 0, .end_ms = 3700, .time_ms = 3700, .duration = 3,
               .src_bytes = 120, .dst_bytes = 1460, .src_packets = 6, .dst_packets = 4};
    SEND(&f, C, ACK, 0, 3700, &sf);
    DRAIN(&f, 3700 + LINGER_MS - 1, false, 0, NULL);
    /* the last ACK again: absorbed, no new connection */
    SEND(&f, C, ACK, 0, 3800, NULL);
    CHECK(counter("conn.late_packets") == late + 1, "the late ACK is counted");
    DRAIN(&f, 3700 + LINGER_MS, false, 1, NULL);
    flow_free(&f);
}

/** Port reuse: a SYN on the same ports right after an SF starts a new
 *  connection (here refused: REJ), even within the linger. */
static void test_port_reuse(void)
{
    flow f = flow_new(40001, 80);
    handshake(&f, 0);
    SEND(&f, C, FIN | ACK, 0, 100, NULL);
    SEND(&f, S, FIN | ACK, 0, 101, NULL);
    want sf = {.flag = "SF", .end_ms = 102, .time_ms = 102, .src_packets = 4,
               .dst_packets = 2};
    SEND(&f, C, ACK, 0, 102, &sf);
    f.next[C] += 100000; /* a new ISN */
    SEND(&f, C, SYN, 0, 200, NULL);
    want rej = {.flag = "REJ", .start_ms = 200, .end_ms = 201, .time_ms = 201,
                .src_packets = 1, .dst_packets = 1};
    SEND(&f, S, RST | ACK, 0, 201, &rej);
    DRAIN(&f, 201 + LINGER_MS, true, 1, NULL);
    flow_free(&f);
}

/** S0: SYNs never answered, ended by the SYN timeout (from the last
 *  SYN) or by the final drain. */
static void test_s0(void)
{
    flow f = flow_new(40002, 80);
    SEND(&f, C, SYN, 0, 0, NULL);
    f.next[C]--; /* a retransmission: the same sequence number */
    SEND(&f, C, SYN, 0, 1000, NULL);
    DRAIN(&f, 1000 + SYN_MS, false, 0, NULL); /* not yet: quiet for exactly the timeout */
    want s0 = {.flag = "S0", .end_ms = 1000, .time_ms = 1000 + SYN_MS + 1, .duration = 1,
               .src_packets = 2};
    DRAIN(&f, 1000 + SYN_MS + 1, false, 1, &s0);
    flow_free(&f);

    flow g = flow_new(40003, 80);
    SEND(&g, C, SYN, 0, 0, NULL);
    want s0_final = {.flag = "S0", .time_ms = 100, .src_packets = 1};
    DRAIN(&g, 100, true, 1, &s0_final);
    flow_free(&g);

    /* a SYN answered by a SYN-ACK (SYN cookies) the spoofed originator
     * never acknowledges: still half-open, S0, after the SYN timeout */
    flow h = flow_new(40004, 80);
    SEND(&h, C, SYN, 0, 0, NULL);
    SEND(&h, S, SYN | ACK, 0, 1, NULL);
    want half = {.flag = "S0", .end_ms = 1, .time_ms = 1 + SYN_MS + 1, .src_packets = 1,
                 .dst_packets = 1};
    DRAIN(&h, 1 + SYN_MS + 1, false, 1, &half);
    flow_free(&h);
}

/** REJ: a SYN answered by RST-ACK, reported at the RST. */
static void test_rej(void)
{
    flow f = flow_new(40004, 23);
    SEND(&f, C, SYN, 0, 0, NULL);
    want rej = {.flag = "REJ", .end_ms = 1, .time_ms = 1, .src_packets = 1, .dst_packets = 1,
                .service = "telnet"};
    SEND(&f, S, RST | ACK, 0, 1, &rej);
    /* the client's RST answering nothing, during the linger: absorbed */
    SEND(&f, C, RST, 0, 5, NULL);
    DRAIN(&f, 1 + LINGER_MS, false, 1, NULL);
    flow_free(&f);
}

/** RSTO and RSTR: an established connection aborted by either side. */
static void test_rsto_rstr(void)
{
    flow f = flow_new(40005, 25);
    handshake(&f, 0);
    SEND(&f, S, PSH | ACK, 40, 10, NULL);
    want rsto = {.flag = "RSTO", .end_ms = 20, .time_ms = 20, .dst_bytes = 40,
                 .src_packets = 3, .dst_packets = 2, .service = "smtp"};
    SEND(&f, C, RST | ACK, 0, 20, &rsto);
    flow_free(&f);

    flow g = flow_new(40006, 21);
    handshake(&g, 0);
    SEND(&g, C, PSH | ACK, 16, 10, NULL);
    want rstr = {.flag = "RSTR", .end_ms = 20, .time_ms = 20, .src_bytes = 16,
                 .src_packets = 3, .dst_packets = 2, .service = "ftp"};
    SEND(&g, S, RST, 0, 20, &rstr);
    flow_free(&g);
}

/** RSTOS0 and SH: the originator gives up before any SYN-ACK. */
static void test_rstos0_sh(void)
{
    flow f = flow_new(40007, 22);
    SEND(&f, C, SYN, 0, 0, NULL);
    want rstos0 = {.flag = "RSTOS0", .end_ms = 3, .time_ms = 3, .src_packets = 2,
                   .service = "ssh"};
    SEND(&f, C, RST, 0, 3, &rstos0);
    flow_free(&f);

    flow g = flow_new(40008, 79);
    SEND(&g, C, SYN, 0, 0, NULL);
    SEND(&g, C, FIN, 0, 10, NULL);
    DRAIN(&g, 10 + SYN_MS, false, 0, NULL);
    want sh = {.flag = "SH", .end_ms = 10, .time_ms = 10 + SYN_MS + 1, .src_packets = 2,
               .service = "finger"};
    DRAIN(&g, 10 + SYN_MS + 1, false, 1, &sh);
    flow_free(&g);
}

/** S1: established, never closed: by the idle timeout, or the end. */
static void test_s1(void)
{
    flow f = flow_new(40009, 110);
    handshake(&f, 0);
    SEND(&f, S, PSH | ACK, 30, 50, NULL);
    DRAIN(&f, 50 + SYN_MS + 1, false, 0, NULL); /* established: the short timeout does not apply */
    DRAIN(&f, 50 + IDLE_MS, false, 0, NULL);
    want s1 = {.flag = "S1", .end_ms = 50, .time_ms = 50 + IDLE_MS + 1, .dst_bytes = 30,
               .src_packets = 2, .dst_packets = 2, .service = "pop_3"};
    DRAIN(&f, 50 + IDLE_MS + 1, false, 1, &s1);
    flow_free(&f);

    flow g = flow_new(40010, 143);
    handshake(&g, 0);
    SEND(&g, C, PSH | ACK, 7, 4000, NULL);
    want s1_final = {.flag = "S1", .end_ms = 4000, .time_ms = 4001, .duration = 4,
                     .src_bytes = 7, .src_packets = 3, .dst_packets = 1, .service = "imap4"};
    DRAIN(&g, 4001, true, 1, &s1_final);
    flow_free(&g);
}

/** S2 and S3: one side closed, the other never did. */
static void test_s2_s3(void)
{
    flow f = flow_new(40011, 80);
    handshake(&f, 0);
    SEND(&f, C, FIN | ACK, 0, 10, NULL);
    SEND(&f, S, ACK, 0, 11, NULL);
    want s2 = {.flag = "S2", .end_ms = 11, .time_ms = 500, .src_packets = 3, .dst_packets = 2};
    DRAIN(&f, 500, true, 1, &s2);
    flow_free(&f);

    flow g = flow_new(40012, 80);
    handshake(&g, 0);
    SEND(&g, S, FIN | ACK, 0, 10, NULL);
    SEND(&g, C, ACK, 0, 11, NULL);
    want s3 = {.flag = "S3", .end_ms = 11, .time_ms = 500, .src_packets = 3, .dst_packets = 2};
    DRAIN(&g, 500, true, 1, &s3);
    flow_free(&g);
}

/** SF closed without the last ACK: ends at the short timeout. */
static void test_sf_unacknowledged(void)
{
    flow f = flow_new(40013, 80);
    handshake(&f, 0);
    SEND(&f, S, FIN | ACK, 0, 10, NULL);
    SEND(&f, C, FIN | ACK, 0, 11, NULL);
    DRAIN(&f, 11 + SYN_MS, false, 0, NULL);
    want sf = {.flag = "SF", .end_ms = 11, .time_ms = 11 + SYN_MS + 1, .src_packets = 3,
               .dst_packets = 2};
    DRAIN(&f, 11 + SYN_MS + 1, false, 1, &sf);
    flow_free(&f);
}

/** OTH: midstream data; a first SYN-ACK (its sender is the responder);
 *  a SYN answered by neither SYN-ACK nor RST. */
static void test_oth(void)
{
    flow f = flow_new(40014, 80);
    SEND(&f, C, PSH | ACK, 200, 0, NULL);
    SEND(&f, S, PSH | ACK, 300, 1, NULL);
    SEND(&f, C, ACK, 0, 2, NULL);
    DRAIN(&f, 2 + SYN_MS + 1, false, 0, NULL); /* midstream: the idle timeout applies */
    want oth = {.flag = "OTH", .end_ms = 2, .time_ms = 3, .src_bytes = 200, .dst_bytes = 300,
                .src_packets = 2, .dst_packets = 1};
    DRAIN(&f, 3, true, 1, &oth);
    flow_free(&f);

    flow g = flow_new(40015, 80);
    SEND(&g, S, SYN | ACK, 0, 0, NULL);
    SEND(&g, C, ACK, 0, 1, NULL);
    want oth_synack = {.flag = "OTH", .end_ms = 1, .time_ms = 2, .src_packets = 1,
                       .dst_packets = 1};
    DRAIN(&g, 2, true, 1, &oth_synack);
    flow_free(&g);

    flow h = flow_new(40016, 80);
    SEND(&h, C, SYN, 0, 0, NULL);
    SEND(&h, S, ACK, 0, 1, NULL);
    want oth_reply = {.flag = "OTH", .end_ms = 1, .time_ms = 2, .src_packets = 1,
                      .dst_packets = 1};
    DRAIN(&h, 2, true, 1, &oth_reply);
    flow_free(&h);
}

/** land: a SYN from an endpoint to itself (the land attack). */
static void test_land(void)
{
    flow f = flow_new(139, 139);
    memcpy(f.ip[S], f.ip[C], 4);
    SEND(&f, C, SYN, 0, 0, NULL);
    SEND(&f, C, SYN, 0, 1, NULL);
    want land = {.flag = "S0", .end_ms = 1, .time_ms = 2, .src_packets = 2, .land = 1,
                 .service = "netbios_ssn"};
    DRAIN(&f, 2, true, 1, &land);
    flow_free(&f);
}

/** urgent: packets with URG set, both ways. */
static void test_urgent(void)
{
    flow f = flow_new(40017, 23);
    handshake(&f, 0);
    SEND(&f, C, URG | ACK, 1, 10, NULL);
    SEND(&f, C, URG | PSH | ACK, 1, 11, NULL);
    SEND(&f, S, URG | ACK, 2, 12, NULL);
    want urg = {.flag = "RSTO", .end_ms = 13, .time_ms = 13, .src_bytes = 2, .dst_bytes = 2,
                .src_packets = 5, .dst_packets = 2, .urgent = 3, .service = "telnet"};
    SEND(&f, C, RST, 0, 13, &urg);
    flow_free(&f);
}

/** duration is floor((end - start) / 1 s): 2.999 s is 2, 3 s is 3. */
static void test_duration(void)
{
    flow f = flow_new(40018, 80);
    SEND(&f, C, SYN, 0, 0, NULL);
    SEND(&f, S, SYN | ACK, 0, 1500, NULL);
    want two = {.flag = "RSTOS0", .end_ms = 2999, .time_ms = 2999, .duration = 2,
                .src_packets = 2, .dst_packets = 1};
    SEND(&f, C, RST, 0, 2999, &two);
    flow_free(&f);

    flow g = flow_new(40019, 80);
    SEND(&g, C, SYN, 0, 0, NULL);
    SEND(&g, S, SYN | ACK, 0, 1500, NULL);
    want three = {.flag = "RSTOS0", .end_ms = 3000, .time_ms = 3000, .duration = 3,
                  .src_packets = 2, .dst_packets = 1};
    SEND(&g, C, RST, 0, 3000, &three);
    flow_free(&g);
}

/** A packet after a connection timed out (no heartbeat came between)
 *  returns the old record and starts a new connection; one that also
 *  ends the new one (a RST) leaves that record to the next drain. */
static void test_timeout_in_call(void)
{
    flow f = flow_new(40020, 80);
    SEND(&f, C, SYN, 0, 0, NULL);
    want old = {.flag = "S0", .end_ms = 0, .time_ms = 10000, .src_packets = 1};
    f.next[C] += 5000;
    SEND(&f, C, SYN, 0, 10000, &old);
    want fresh = {.flag = "S0", .start_ms = 10000, .end_ms = 10000, .time_ms = 10001,
                  .src_packets = 1};
    DRAIN(&f, 10001, true, 1, &fresh);
    flow_free(&f);

    flow g = flow_new(40021, 80);
    SEND(&g, C, SYN, 0, 0, NULL);
    SEND(&g, C, RST, 0, 10000, &old);
    want rst = {.flag = "OTH", .start_ms = 10000, .end_ms = 10000, .time_ms = 10001,
                .src_packets = 1};
    DRAIN(&g, 10001, false, 0, &rst); /* lingers on */
    DRAIN(&g, 10000 + LINGER_MS, false, 1, NULL);
    flow_free(&g);
}

/* ---- bad input ---- */

/** An IPv4 packet of proto with n zero bytes after the header. */
static sx_value ip_packet(unsigned proto, size_t n)
{
    uint8_t p[128] = {0x45};
    CHECK(20 + n <= sizeof p, "small packets only");
    p[2] = (uint8_t)((20 + n) >> 8);
    p[3] = (uint8_t)(20 + n);
    p[9] = (uint8_t)proto;
    memcpy(p + 12, CLIENT_IP, 4);
    memcpy(p + 16, SERVER_IP, 4);
    return sx_value_bytes(p, 20 + n);
}

/** A copy of TCP packet pkt (released) with byte at set to val, cut to
 *  len bytes (0: as is). */
static sx_value mangle(sx_value pkt, size_t at, uint8_t val, size_t len)
{
    uint8_t p[128];
    size_t n = pkt.u.blob->len;
    CHECK(n <= sizeof p, "small packets only");
    memcpy(p, pkt.u.blob->data, n);
    sx_value_release(&pkt);
    if (at < n)
        p[at] = val;
    return sx_value_bytes(p, len ? len : n);
}

/** Non-TCP and hostile packets: "" and a counter each, never an error,
 *  and the connection goes on unharmed; a packet of other endpoints
 *  under the same key is counted too. Then the argument errors. */
static void test_bad_input(void)
{
    flow f = flow_new(40022, 80);
    uint64_t not_tcp = counter("conn.not_tcp"), bad = counter("conn.bad_packet");
    uint64_t trunc = counter("conn.truncated"), frags = counter("conn.fragments");
    uint64_t foreign = counter("conn.foreign_packets");

    PACKET(&f, ip_packet(17, 8), 0, NULL); /* UDP */
    PACKET(&f, ip_packet(1, 8), 0, NULL);  /* ICMP */
    PACKET(&f, mangle(ip_packet(6, 20), 0, 0x60, 0), 0, NULL); /* IPv6 */
    PACKET(&f, sx_value_bytes("", 0), 0, NULL);
    CHECK(counter("conn.not_tcp") == not_tcp + 4, "conn.not_tcp counts UDP, ICMP, IPv6, empty");

    sx_value good = tcp_packet(CLIENT_IP, 40022, SERVER_IP, 80, SYN, 1, 0, 10);
    PACKET(&f, mangle(sx_value_copy(&good), 0, 0x45, 19), 0, NULL);   /* short IP header */
    PACKET(&f, mangle(sx_value_copy(&good), 0, 0x44, 0), 0, NULL);    /* IHL 4 */
    PACKET(&f, mangle(sx_value_copy(&good), 0, 0x4f, 30), 0, NULL);   /* IHL past the bytes */
    PACKET(&f, mangle(sx_value_copy(&good), 0, 0x35, 0), 0, NULL);    /* version 3 */
    PACKET(&f, mangle(sx_value_copy(&good), 3, 10, 0), 0, NULL);      /* total < header */
    PACKET(&f, mangle(sx_value_copy(&good), 3, 30, 0), 0, NULL);      /* total < TCP header */
    PACKET(&f, mangle(sx_value_copy(&good), 32, 0x40, 0), 0, NULL);   /* data offset 4 */
    PACKET(&f, mangle(sx_value_copy(&good), 32, 0x80, 0), 0, NULL);   /* data offset past total */
    CHECK(counter("conn.bad_packet") == bad + 8, "conn.bad_packet counts lying headers");
    PACKET(&f, mangle(sx_value_copy(&good), 0, 0x45, 45), 0, NULL);   /* snapped payload */
    CHECK(counter("conn.truncated") == trunc + 1, "conn.truncated counts cut packets");
    PACKET(&f, mangle(sx_value_copy(&good), 6, 0x20, 0), 0, NULL);    /* MF: a first fragment */
    PACKET(&f, mangle(sx_value_copy(&good), 7, 0x10, 0), 0, NULL);    /* offset: a later one */
    CHECK(counter("conn.fragments") == frags + 2, "conn.fragments counts fragments");

    /* none of it touched the state: the connection starts now */
    SEND(&f, C, SYN, 0, 100, NULL);
    PACKET(&f, tcp_packet(SERVER_IP, 80, CLIENT_IP, 40999, ACK, 1, 1, 0), 101, NULL);
    CHECK(counter("conn.foreign_packets") == foreign + 1, "conn.foreign_packets counts it");
    want rstos0 = {.flag = "RSTOS0", .start_ms = 100, .end_ms = 102, .time_ms = 102,
                   .src_packets = 2};
    SEND(&f, C, RST, 0, 102, &rstos0);

    /* a packet with link padding after the total length counts its payload only */
    flow g = flow_new(40023, 80);
    sx_value padded = tcp_packet(CLIENT_IP, 40023, SERVER_IP, 80, SYN, 1, 0, 0);
    uint8_t buf[64] = {0};
    memcpy(buf, padded.u.blob->data, 40);
    sx_value_release(&padded);
    PACKET(&g, sx_value_bytes(buf, 46), 0, NULL);
    want s0 = {.flag = "S0", .time_ms = 1, .src_packets = 1};
    DRAIN(&g, 1, true, 1, &s0);
    flow_free(&g);

    /* wrong argument kinds are errors */
    char err[256];
    sx_value args[2] = {sx_value_cstr("not bytes"), sx_value_int(1)}, result;
    CHECK(fn_call("f_trackConnection", args, 2, 0, f.st, &result, err, sizeof err) == -1 &&
              strstr(err, "argument 1"),
          "a string packet is an argument error");
    sx_value_release(&args[0]);
    args[0] = good;
    sx_value_release(&args[1]);
    args[1] = sx_value_cstr("42");
    CHECK(fn_call("f_trackConnection", args, 2, 0, f.st, &result, err, sizeof err) == -1 &&
              strstr(err, "argument 2"),
          "a string flow id is an argument error");
    sx_value_release(&args[0]);
    sx_value_release(&args[1]);
    flow_free(&f);
}

/* ---- the service table ---- */

static void test_services(void)
{
    static const struct {
        unsigned sport, dport;
        const char *name;
    } cases[] = {
        {40000, 80, "http"},       {40000, 25, "smtp"},      {40000, 21, "ftp"},
        {40000, 20, "ftp_data"},   {20, 40000, "ftp_data"},  {40000, 23, "telnet"},
        {40000, 22, "ssh"},        {40000, 53, "domain"},    {40000, 79, "finger"},
        {40000, 110, "pop_3"},     {40000, 143, "imap4"},    {40000, 111, "sunrpc"},
        {40000, 113, "auth"},      {40000, 119, "nntp"},     {40000, 139, "netbios_ssn"},
        {40000, 389, "ldap"},      {40000, 443, "http_443"}, {40000, 513, "login"},
        {40000, 514, "shell"},     {40000, 515, "printer"},  {40000, 540, "uucp"},
        {40000, 7, "echo"},        {40000, 8001, "http_8001"}, {40000, 6000, "X11"},
        {40000, 6063, "X11"},      {40000, 6064, "other"},   {40000, 6667, "IRC"},
        {40000, 0, "private"},     {40000, 1, "private"},    {40000, 1023, "private"},
        {40000, 1024, "other"},    {40000, 65535, "other"},  {20, 80, "http"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = fn_conn_service(cases[i].sport, cases[i].dport);
        if (strcmp(got, cases[i].name) != 0) {
            fprintf(stderr, "FAIL: service %u -> %u is %s, want %s\n", cases[i].sport,
                    cases[i].dport, got, cases[i].name);
            exit(1);
        }
    }
}

int main(void)
{
    const analog_fn_def *def = analog_fn_lookup("f_trackConnection");
    CHECK(def && def->min_args == 2 && def->max_args == 2 &&
              (def->flags & ANALOG_FN_STATEFUL) && def->state_new && def->state_free &&
              def->drain,
          "f_trackConnection is a stateful function of 2 arguments with a drain hook");
    char err[256];
    CHECK(analog_setting_set("conn.idle_seconds", "60", err, sizeof err) == 0, err);
    CHECK(analog_setting_set("conn.syn_timeout_seconds", "5", err, sizeof err) == 0, err);
    CHECK(analog_setting_set("conn.linger_seconds", "2", err, sizeof err) == 0, err);
    static const char *const flags[] = {"sf",  "s0",   "s1",   "s2",     "s3", "rej",
                                        "rsto", "rstr", "rstos0", "sh", "oth"};
    uint64_t before[11], records = counter("conn.records");
    for (int i = 0; i < 11; i++) {
        char name[32];
        snprintf(name, sizeof name, "conn.flag_%s", flags[i]);
        before[i] = counter(name);
    }

    test_sf();
    test_port_reuse();
    test_s0();
    test_rej();
    test_rsto_rstr();
    test_rstos0_sh();
    test_s1();
    test_s2_s3();
    test_sf_unacknowledged();
    test_oth();
    test_land();
    test_urgent();
    test_duration();
    test_timeout_in_call();
    test_bad_input();
    test_services();

    /* every flag came out, and conn.records counts every record */
    uint64_t made = 0;
    for (int i = 0; i < 11; i++) {
        char name[32];
        snprintf(name, sizeof name, "conn.flag_%s", flags[i]);
        uint64_t n = counter(name) - before[i];
        CHECK(n > 0, name);
        made += n;
    }
    CHECK(counter("conn.records") - records == made, "conn.records is the sum of the flags");
    CHECK(made == 29, "29 records made");
    printf("functions.conn: all passed (%llu records)\n", (unsigned long long)made);
    return 0;
}
