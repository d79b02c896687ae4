/*
 * make_sip_hostile.c -- writes the hostile SIP capture of
 * tests/sip_hostile.sh, and on stdout what programs/sip.analog must make
 * of it.
 *
 *   make_sip_hostile OUT.pcap >expected.txt
 *
 * One Ethernet/IPv4 capture, every byte fixed (random bytes come from a
 * fixed seed), capture times strictly increasing. Interleaved in time:
 *   - four good calls (INVITE with SDP, 100, 180, 200, ACK, BYE, 200):
 *     two over UDP, one over TCP (handshake, one segment per message,
 *     FIN), one over UDP whose INVITE (about 3000 bytes) is IP-fragmented;
 *   - on UDP port 5060: headers cut short (no empty line), no Call-ID,
 *     a non-numeric CSeq, an INVITE whose one Route line is 65,000 bytes
 *     (a fragmented datagram near the 64 KiB limit), 4 KiB of random
 *     bytes, the same after a request line, an empty payload, a UDP
 *     length larger than the packet, an IP total length larger than the
 *     frame;
 *   - on TCP port 5060: a 100 KB header line then a valid INVITE on the
 *     same connection, 8 KiB of binary bytes after a request line, a
 *     Content-Length larger than what comes before FIN;
 *   - a BYE and its 200 for a Call-ID whose INVITE never appears.
 * Each scenario owns a lane: its packets are at T0 + ms + lane us, so no
 * two scenarios share a time and the sort into capture order is total.
 *
 * The expectations, one per line, space-separated:
 *   call CALL_ID FROM TO OUTCOME CODE START_US ANSWER_US END_US DURATION_US
 *   counter NAME VALUE            an exact value of a --stats counter
 *   capture NAME VALUE            an exact value of the capture statistics
 *   absent CALL_ID                a Call-ID no output line may carry
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/buf.h"
#include "tools/packet_build.h"
#include "tools/pcap_writer.h"
#include "tools/rng.h"

#define T0_US (1767225600ull * 1000000u) /* 2026-01-01T00:00:00Z */
#define MTU_DATA 1480                    /* IP payload bytes per fragment */
#define MSS 1460
#define FRAME_MAX (SX_PKT_ETH_LEN + 65535)
#define SEED 0x51b405711eull

/* ---- the capture: packets collected, then sorted by time ---- */

typedef struct pkt {
    uint64_t ts;
    uint8_t *data;
    uint32_t len;
} pkt;

typedef struct trace {
    pkt *v;
    size_t n, cap;
} trace;

static uint8_t frame[FRAME_MAX];

/** The time of a scenario's packet: ms after T0, plus its lane in us. */
static uint64_t at(unsigned ms, unsigned lane)
{
    return T0_US + (uint64_t)ms * 1000u + lane;
}

/** Keeps a copy of one frame to be written at ts. */
static void emit(trace *t, uint64_t ts, const uint8_t *p, size_t len)
{
    if (len == 0 || len > FRAME_MAX) {
        fprintf(stderr, "make_sip_hostile: frame of %zu bytes not built\n", len);
        exit(1);
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->v = sx_realloc(t->v, t->cap * sizeof *t->v);
    }
    pkt *k = &t->v[t->n++];
    k->ts = ts;
    k->len = (uint32_t)len;
    k->data = sx_malloc(len);
    memcpy(k->data, p, len);
}

/** Orders packets by capture time. */
static int by_time(const void *a, const void *b)
{
    uint64_t x = ((const pkt *)a)->ts, y = ((const pkt *)b)->ts;
    return x < y ? -1 : x > y;
}

/** Sorts the packets, checks no two share a time, writes them to path.
 *  0, or -1 with a message on stderr. */
static int trace_write(trace *t, const char *path)
{
    qsort(t->v, t->n, sizeof *t->v, by_time);
    for (size_t i = 1; i < t->n; i++)
        if (t->v[i].ts == t->v[i - 1].ts) {
            fprintf(stderr, "make_sip_hostile: two packets at %llu us\n",
                    (unsigned long long)t->v[i].ts);
            return -1;
        }
    char err[256];
    sx_pcapw *w = sx_pcapw_open(path, 65535, err, sizeof err);
    if (!w) {
        fprintf(stderr, "make_sip_hostile: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        sx_pcapw_write(w, t->v[i].ts, t->v[i].data, t->v[i].len);
        free(t->v[i].data);
    }
    free(t->v);
    if (sx_pcapw_close(&w, err, sizeof err) != 0) {
        fprintf(stderr, "make_sip_hostile: %s\n", err);
        return -1;
    }
    return 0;
}

/* ---- hosts ---- */

/** The ends of a packet from src to dst (addresses "a.b.c.d" as numbers). */
static sx_pkt_ends ends(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
    sx_pkt_ends e = {.src_mac = {2, 0, 0, 0, 0, 1}, .dst_mac = {2, 0, 0, 0, 0, 2},
                     .src_ip = src, .dst_ip = dst, .sport = sport, .dport = dport};
    return e;
}

static sx_pkt_ends reverse(const sx_pkt_ends *e)
{
    return ends(e->dst_ip, e->dport, e->src_ip, e->sport);
}

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

/** Dotted text of an address, in one of two static slots. */
static const char *dotted(uint32_t ip)
{
    static char slot[2][16];
    static int k;
    char *s = slot[k ^= 1];
    snprintf(s, sizeof slot[0], "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
    return s;
}

/* ---- UDP ---- */

/** Sends one UDP datagram at (ms, lane), IP-fragmented (1 ms apart) when
 *  it does not fit one Ethernet frame. Returns the time of its last
 *  packet: when the receiver has the whole datagram. */
static uint64_t udp_send(trace *t, const sx_pkt_ends *e, uint16_t ipid, unsigned ms, unsigned lane,
                         const void *payload, size_t len)
{
    sx_pkt_ip ip = {.id = ipid, .ttl = 64};
    size_t n = sx_pkt_udp(frame, sizeof frame, e, &ip, payload, len);
    if (n == 0) {
        fprintf(stderr, "make_sip_hostile: UDP payload of %zu bytes too big\n", len);
        exit(1);
    }
    if (n <= SX_PKT_ETH_LEN + 1500) {
        emit(t, at(ms, lane), frame, n);
        return at(ms, lane);
    }
    static uint8_t frag[SX_PKT_ETH_LEN + 1500];
    size_t count = sx_pkt_fragment_count(n, MTU_DATA);
    for (size_t i = 0; i < count; i++) {
        size_t f = sx_pkt_fragment(frame, n, MTU_DATA, i, frag, sizeof frag);
        emit(t, at(ms + (unsigned)i, lane), frag, f);
    }
    return at(ms + (unsigned)count - 1, lane);
}

static uint64_t udp_text(trace *t, const sx_pkt_ends *e, uint16_t ipid, unsigned ms,
                         unsigned lane, const sx_buf *b)
{
    return udp_send(t, e, ipid, ms, lane, b->p, b->len);
}

/* ---- SIP messages ---- */

/** One call's parties and identifiers; every message is written from it. */
typedef struct call {
    const char *call_id;
    const char *from_user, *to_user; /* sip:USER@a.example, sip:USER@b.example */
    uint32_t caller, callee;         /* addresses */
    uint16_t caller_port, callee_port;
    const char *from_tag, *to_tag;
    const char *transport; /* "UDP" or "TCP" */
    size_t sdp_min;        /* the offer is padded to at least this many bytes */
} call;

/** An SDP offer or answer from host, padded with candidate lines to at
 *  least min bytes. */
static void sdp(sx_buf *b, uint32_t host, unsigned rtp_port, size_t min)
{
    size_t start = b->len;
    sx_buf_printf(b, "v=0\r\no=- 4242 4242 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n",
                  dotted(host), dotted(host));
    sx_buf_printf(b, "m=audio %u RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
                     "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
                  rtp_port);
    for (unsigned i = 1; b->len - start < min; i++)
        sx_buf_printf(b, "a=candidate:%u 1 UDP %u 192.0.2.%u %u typ host\r\n", i,
                      2130706431u - i, i % 250 + 1, 20000 + 2 * i);
}

/** The Via, From, To, Call-ID and CSeq lines of a message of c sent by
 *  the caller (requests) in transaction branch, with the To tag when
 *  to_tag. */
static void dialog_headers(sx_buf *b, const call *c, const char *branch, int to_tag,
                           unsigned cseq, const char *method)
{
    sx_buf_printf(b, "Via: SIP/2.0/%s %s:%u;branch=z9hG4bK%s\r\n", c->transport,
                  dotted(c->caller), c->caller_port, branch);
    sx_buf_printf(b, "From: \"%s\" <sip:%s@a.example>;tag=%s\r\n", c->from_user, c->from_user,
                  c->from_tag);
    sx_buf_printf(b, "To: <sip:%s@b.example>%s%s\r\n", c->to_user, to_tag ? ";tag=" : "",
                  to_tag ? c->to_tag : "");
    sx_buf_printf(b, "Call-ID: %s\r\nCSeq: %u %s\r\n", c->call_id, cseq, method);
}

/** The Contact of the caller (who = 0) or the callee. */
static void contact(sx_buf *b, const call *c, int who)
{
    const char *tcp = strcmp(c->transport, "TCP") == 0 ? ";transport=tcp" : "";
    if (who == 0)
        sx_buf_printf(b, "Contact: <sip:%s@%s:%u%s>\r\n", c->from_user, dotted(c->caller),
                      c->caller_port, tcp);
    else
        sx_buf_printf(b, "Contact: <sip:%s@%s:%u%s>\r\n", c->to_user, dotted(c->callee),
                      c->callee_port, tcp);
}

/** Ends the header block with Content-Type (when a body) and an exact
 *  Content-Length, then the body. */
static void finish(sx_buf *b, const sx_buf *body)
{
    if (body && body->len)
        sx_buf_puts(b, "Content-Type: application/sdp\r\n");
    sx_buf_printf(b, "Content-Length: %zu\r\n\r\n", body ? body->len : 0);
    if (body && body->len)
        sx_buf_put(b, body->p, body->len);
}

/** Request method of c from the caller: INVITE (with an SDP offer, to
 *  the callee's AOR), ACK and BYE (in the dialog, to its Contact). */
static void request(sx_buf *b, const call *c, const char *method)
{
    b->len = 0;
    int invite = strcmp(method, "INVITE") == 0;
    if (invite)
        sx_buf_printf(b, "INVITE sip:%s@b.example SIP/2.0\r\n", c->to_user);
    else
        sx_buf_printf(b, "%s sip:%s@%s:%u SIP/2.0\r\n", method, c->to_user, dotted(c->callee),
                      c->callee_port);
    unsigned cseq = strcmp(method, "BYE") == 0 ? 2 : 1;
    dialog_headers(b, c, invite ? "inv" : method, !invite, cseq, method);
    sx_buf_puts(b, "Max-Forwards: 70\r\n");
    if (invite)
        contact(b, c, 0);
    sx_buf_puts(b, "User-Agent: hostile-test/1\r\n");
    sx_buf body = {0};
    if (invite)
        sdp(&body, c->caller, 40000, c->sdp_min);
    finish(b, &body);
    sx_buf_free(&body);
}

/** The callee's response code to the caller's INVITE (cseq 1) or BYE
 *  (cseq 2); a 200 to the INVITE carries the SDP answer. */
static void response(sx_buf *b, const call *c, int code, const char *reason, const char *method)
{
    b->len = 0;
    int invite = strcmp(method, "INVITE") == 0;
    sx_buf_printf(b, "SIP/2.0 %d %s\r\n", code, reason);
    dialog_headers(b, c, invite ? "inv" : method, code > 100, invite ? 1 : 2, method);
    if (invite && code > 100)
        contact(b, c, 1);
    sx_buf_puts(b, "Server: hostile-test/1\r\n");
    sx_buf body = {0};
    if (invite && code == 200)
        sdp(&body, c->callee, 50000, 0);
    finish(b, &body);
    sx_buf_free(&body);
}

/** What a good call must come out as. */
typedef struct outcome {
    uint64_t start, answer, end; /* us */
} outcome;

/** Prints the sip_call line a good call must make. */
static void expect_call(const call *c, const outcome *o)
{
    printf("call %s sip:%s@a.example sip:%s@b.example answered 200 %llu %llu %llu %llu\n",
           c->call_id, c->from_user, c->to_user, (unsigned long long)o->start,
           (unsigned long long)o->answer, (unsigned long long)o->end,
           (unsigned long long)(o->end - o->answer));
}

/** When the messages of a good call are sent, in ms after T0. */
typedef struct schedule {
    unsigned invite, trying, ringing, ok, ack, bye, bye_ok;
} schedule;

/** A good call over UDP on the schedule s; the INVITE is IP-fragmented
 *  when it does not fit one frame. */
static void udp_call(trace *t, const call *c, const schedule *s, unsigned lane)
{
    sx_pkt_ends up = ends(c->caller, c->caller_port, c->callee, c->callee_port);
    sx_pkt_ends down = reverse(&up);
    sx_buf b = {0};
    outcome o;
    request(&b, c, "INVITE");
    o.start = udp_text(t, &up, 1, s->invite, lane, &b);
    response(&b, c, 100, "Trying", "INVITE");
    udp_text(t, &down, 1, s->trying, lane, &b);
    response(&b, c, 180, "Ringing", "INVITE");
    udp_text(t, &down, 2, s->ringing, lane, &b);
    response(&b, c, 200, "OK", "INVITE");
    o.answer = udp_text(t, &down, 3, s->ok, lane, &b);
    request(&b, c, "ACK");
    udp_text(t, &up, 2, s->ack, lane, &b);
    request(&b, c, "BYE");
    o.end = udp_text(t, &up, 3, s->bye, lane, &b);
    response(&b, c, 200, "OK", "BYE");
    udp_text(t, &down, 4, s->bye_ok, lane, &b);
    sx_buf_free(&b);
    expect_call(c, &o);
}

/* ---- TCP ---- */

/** One TCP connection: its two ends, sequence numbers and clock. */
typedef struct conn {
    trace *t;
    sx_pkt_ends c2s, s2c;
    uint32_t cseq, sseq; /* next sequence number of each side */
    uint16_t id;
    unsigned ms, lane;   /* the next segment's time */
    uint64_t c2s_bytes;  /* payload bytes the client sent */
} conn;

static conn conn_new(trace *t, uint32_t client, uint16_t cport, uint32_t server, unsigned ms,
                     unsigned lane)
{
    conn c = {.t = t, .cseq = 1000, .sseq = 5000, .ms = ms, .lane = lane, .id = 1};
    c.c2s = ends(client, cport, server, 5060);
    c.s2c = reverse(&c.c2s);
    return c;
}

/** Writes one segment from the client or the server, 1 ms after the
 *  last; returns its time. */
static uint64_t segment(conn *c, int from_client, uint8_t flags, const void *data, size_t len)
{
    sx_pkt_tcp_hdr h = {.flags = flags, .window = 65535};
    h.seq = from_client ? c->cseq : c->sseq;
    h.ack = !(flags & SX_PKT_ACK) ? 0 : from_client ? c->sseq : c->cseq;
    sx_pkt_ip ip = {.id = c->id++, .ttl = 64};
    size_t n = sx_pkt_tcp(frame, sizeof frame, from_client ? &c->c2s : &c->s2c, &ip, &h, data, len);
    uint64_t ts = at(c->ms++, c->lane);
    emit(c->t, ts, frame, n);
    uint32_t adv = (uint32_t)len + ((flags & (SX_PKT_SYN | SX_PKT_FIN)) ? 1 : 0);
    if (from_client) {
        c->cseq += adv;
        c->c2s_bytes += len;
    } else {
        c->sseq += adv;
    }
    return ts;
}

/** Sends bytes from one side in MSS-sized segments, each acknowledged;
 *  returns the time of the last data segment. */
static uint64_t say(conn *c, int from_client, const void *data, size_t len)
{
    uint64_t ts = 0;
    for (size_t off = 0; off < len; off += MSS) {
        size_t n = len - off < MSS ? len - off : MSS;
        ts = segment(c, from_client, SX_PKT_ACK | SX_PKT_PSH, (const uint8_t *)data + off, n);
        segment(c, !from_client, SX_PKT_ACK, NULL, 0);
    }
    return ts;
}

static uint64_t say_buf(conn *c, int from_client, const sx_buf *b)
{
    return say(c, from_client, b->p, b->len);
}

static void handshake(conn *c)
{
    segment(c, 1, SX_PKT_SYN, NULL, 0);
    segment(c, 0, SX_PKT_SYN | SX_PKT_ACK, NULL, 0);
    segment(c, 1, SX_PKT_ACK, NULL, 0);
}

/** The client closes, then the server. */
static void close_conn(conn *c)
{
    segment(c, 1, SX_PKT_FIN | SX_PKT_ACK, NULL, 0);
    segment(c, 0, SX_PKT_FIN | SX_PKT_ACK, NULL, 0);
    segment(c, 1, SX_PKT_ACK, NULL, 0);
}

/** Moves a connection's clock forward to ms (never back). */
static void wait_until(conn *c, unsigned ms)
{
    if (ms < c->ms) {
        fprintf(stderr, "make_sip_hostile: schedule goes back in time (%u < %u)\n", ms, c->ms);
        exit(1);
    }
    c->ms = ms;
}

/** A good call over one TCP connection on the schedule s. */
static void tcp_call(trace *t, const call *c, const schedule *s, unsigned lane)
{
    conn k = conn_new(t, c->caller, c->caller_port, c->callee, s->invite - 3, lane);
    sx_buf b = {0};
    outcome o;
    handshake(&k);
    request(&b, c, "INVITE");
    o.start = say_buf(&k, 1, &b);
    wait_until(&k, s->trying);
    response(&b, c, 100, "Trying", "INVITE");
    say_buf(&k, 0, &b);
    wait_until(&k, s->ringing);
    response(&b, c, 180, "Ringing", "INVITE");
    say_buf(&k, 0, &b);
    wait_until(&k, s->ok);
    response(&b, c, 200, "OK", "INVITE");
    o.answer = say_buf(&k, 0, &b);
    wait_until(&k, s->ack);
    request(&b, c, "ACK");
    say_buf(&k, 1, &b);
    wait_until(&k, s->bye);
    request(&b, c, "BYE");
    o.end = say_buf(&k, 1, &b);
    wait_until(&k, s->bye_ok);
    response(&b, c, 200, "OK", "BYE");
    say_buf(&k, 0, &b);
    close_conn(&k);
    sx_buf_free(&b);
    expect_call(c, &o);
}

/* ---- the good calls ---- */

/* Lanes: one per scenario. */
enum {
    L_CALL_A = 1, L_CALL_B, L_CALL_TCP, L_CALL_FRAG, L_TRUNCATED, L_NO_CALL_ID, L_BAD_CSEQ,
    L_BIG_ROUTE, L_RANDOM, L_BINARY, L_EMPTY, L_LYING_UDP, L_LYING_IP, L_TCP_BIG, L_TCP_BINARY,
    L_TCP_SHORT, L_ORPHAN
};

static const uint32_t SERVER = 0x0a000209; /* 10.0.2.9: the target of the hostile UDP */

static void good_calls(trace *t)
{
    call a = {"good-udp-a@10.0.1.1", "alice", "bob", ip4(10, 0, 1, 1), ip4(10, 0, 2, 1),
              5060, 5060, "fa1", "tb1", "UDP", 0};
    schedule sa = {1000, 1010, 1100, 3000, 3040, 33000, 33030}; /* 30 s */
    udp_call(t, &a, &sa, L_CALL_A);
    call b = {"good-udp-b@10.0.1.2", "carol", "dave", ip4(10, 0, 1, 2), ip4(10, 0, 2, 2),
              5062, 5060, "fc2", "td2", "UDP", 0};
    schedule sb = {2000, 2010, 2200, 4500, 4530, 50000, 50020}; /* 45.5 s */
    udp_call(t, &b, &sb, L_CALL_B);
    call c = {"good-tcp-c@10.0.1.3", "erin", "frank", ip4(10, 0, 1, 3), ip4(10, 0, 2, 3),
              40001, 5060, "fe3", "tf3", "TCP", 0};
    schedule sc = {5010, 5100, 5300, 7000, 7100, 27250, 27300}; /* 20.25 s */
    tcp_call(t, &c, &sc, L_CALL_TCP);
    call d = {"good-frag-d@10.0.1.4", "grace", "heidi", ip4(10, 0, 1, 4), ip4(10, 0, 2, 4),
              5060, 5060, "fg4", "th4", "UDP", 2900};
    schedule sd = {8000, 8020, 8100, 9500, 9530, 70500, 70520}; /* 61 s */
    udp_call(t, &d, &sd, L_CALL_FRAG);
}

/* ---- hostile UDP ---- */

/** A complete INVITE of Call-ID id with the lines extra added after
 *  CSeq (and CSeq and Call-ID replaced when cseq / id is NULL). */
static void invite_text(sx_buf *b, const char *id, const char *cseq, const char *extra)
{
    b->len = 0;
    sx_buf_puts(b, "INVITE sip:victim@b.example SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 10.0.9.1:5060;branch=z9hG4bKhostile\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:mallory@a.example>;tag=m1\r\n"
                   "To: <sip:victim@b.example>\r\n");
    if (id)
        sx_buf_printf(b, "Call-ID: %s\r\n", id);
    if (cseq)
        sx_buf_printf(b, "CSeq: %s\r\n", cseq);
    sx_buf_puts(b, "Contact: <sip:mallory@10.0.9.1:5060>\r\n");
    if (extra)
        sx_buf_puts(b, extra);
}

/** n random bytes (stream of the seed), without LF: no line ends, so no
 *  header block can end inside them; at least one NUL. */
static void garbage(sx_buf *b, uint64_t stream, size_t n)
{
    sx_rng r;
    sx_rng_seed(&r, SEED, stream, 0);
    uint8_t *p = sx_buf_reserve(b, n);
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(sx_rng_next(&r) >> 56);
        if (p[i] == '\n')
            p[i] = 0;
    }
    p[n / 2] = 0;
    b->len += n;
}

/** The malformed SIP messages over UDP; each one counted as malformed
 *  (5 in all) or, not being SIP at all, not (4). */
static void hostile_udp(trace *t)
{
    sx_buf b = {0};
    sx_pkt_ends e;
    /* headers cut short: the datagram ends inside the header block */
    invite_text(&b, "truncated@10.0.9.1", "1 INVITE", "Content-Type: appli");
    e = ends(ip4(10, 0, 9, 1), 5060, SERVER, 5060);
    udp_text(t, &e, 1, 1500, L_TRUNCATED, &b);
    printf("absent truncated@10.0.9.1\n");
    /* no Call-ID */
    invite_text(&b, NULL, "1 INVITE", "Content-Length: 0\r\n\r\n");
    e = ends(ip4(10, 0, 9, 2), 5060, SERVER, 5060);
    udp_text(t, &e, 1, 2500, L_NO_CALL_ID, &b);
    /* a CSeq whose number is a word */
    invite_text(&b, "bad-cseq@10.0.9.3", "one INVITE", "Content-Length: 0\r\n\r\n");
    e = ends(ip4(10, 0, 9, 3), 5060, SERVER, 5060);
    udp_text(t, &e, 1, 3500, L_BAD_CSEQ, &b);
    printf("absent bad-cseq@10.0.9.3\n");
    /* one 65,000-byte Route line: 64,995 bytes after "Route: ", about
     * 4,300 list elements (libosip2's time grows with their square) */
    invite_text(&b, "big-route@10.0.9.4", "1 INVITE", "Route: ");
    size_t line_start = b.len - 7;
    for (unsigned i = 0; b.len - line_start < 65000 - 16; i++)
        sx_buf_printf(&b, "%s<sip:p%u.x>", i ? "," : "", i % 10000);
    while (b.len - line_start < 65000)
        sx_buf_puts(&b, " ");
    sx_buf_puts(&b, "\r\nContent-Length: 0\r\n\r\n");
    e = ends(ip4(10, 0, 9, 4), 5060, SERVER, 5060);
    udp_text(t, &e, 1, 6000, L_BIG_ROUTE, &b);
    printf("absent big-route@10.0.9.4\n");
    fprintf(stderr, "make_sip_hostile: big INVITE %zu bytes (Route line 65000)\n", b.len);
    /* 4 KiB of random bytes: no SIP start line, so not SIP at all */
    b.len = 0;
    garbage(&b, 1, 4096);
    e = ends(ip4(10, 0, 9, 5), 5060, SERVER, 5060);
    udp_text(t, &e, 1, 7500, L_RANDOM, &b);
    /* a request line, then 4 KiB of random bytes and an empty line */
    b.len = 0;
    sx_buf_puts(&b, "INVITE sip:binary@b.example SIP/2.0\r\n");
    garbage(&b, 2, 4096);
    sx_buf_puts(&b, "\r\n\r\n");
    e = ends(ip4(10, 0, 9, 6), 5060, SERVER, 5060);
    udp_text(t, &e, 1, 7600, L_BINARY, &b);
    /* an empty payload */
    e = ends(ip4(10, 0, 9, 7), 5060, SERVER, 5060);
    udp_send(t, &e, 1, 10000, L_EMPTY, "", 0);
    /* lying length fields around a real INVITE */
    invite_text(&b, "lying-udp@10.0.9.8", "1 INVITE", "Content-Length: 0\r\n\r\n");
    e = ends(ip4(10, 0, 9, 8), 5060, SERVER, 5060);
    sx_pkt_ip ip = {.id = 1, .ttl = 64};
    size_t n = sx_pkt_udp(frame, sizeof frame, &e, &ip, b.p, b.len);
    uint8_t *udp_len = frame + SX_PKT_ETH_LEN + SX_PKT_IPV4_LEN + 4;
    unsigned ulen = (unsigned)(udp_len[0] << 8 | udp_len[1]) + 200; /* UDP length > packet */
    udp_len[0] = (uint8_t)(ulen >> 8), udp_len[1] = (uint8_t)ulen;
    emit(t, at(11000, L_LYING_UDP), frame, n);
    printf("absent lying-udp@10.0.9.8\n");
    invite_text(&b, "lying-ip@10.0.9.9", "1 INVITE", "Content-Length: 0\r\n\r\n");
    e = ends(ip4(10, 0, 9, 9), 5060, SERVER, 5060);
    n = sx_pkt_udp(frame, sizeof frame, &e, &ip, b.p, b.len);
    uint8_t *ip_len = frame + SX_PKT_ETH_LEN + 2;
    unsigned tlen = (unsigned)(ip_len[0] << 8 | ip_len[1]) + 300; /* IP total > frame */
    ip_len[0] = (uint8_t)(tlen >> 8), ip_len[1] = (uint8_t)tlen;
    emit(t, at(11500, L_LYING_IP), frame, n);
    printf("absent lying-ip@10.0.9.9\n");
    sx_buf_free(&b);
}

/* ---- hostile TCP ---- */

static const uint32_t TCP_SERVER = 0x0a000208; /* 10.0.2.8 */

/** A 100 KB header line in MSS-sized segments, then a valid INVITE on
 *  the same connection: the direction is given up at 64 KiB of header
 *  block (sip.max_header_bytes), so every byte the client sent is
 *  counted ignored and the valid INVITE is never seen. */
static uint64_t tcp_big_header(trace *t)
{
    conn k = conn_new(t, ip4(10, 0, 8, 1), 41001, TCP_SERVER, 12000, L_TCP_BIG);
    handshake(&k);
    sx_buf b = {0};
    invite_text(&b, "big-header@10.0.8.1", "1 INVITE", "X-Padding: ");
    for (size_t i = 0; i < 100 * 1000; i++)
        sx_buf_put(&b, &"abcdefghijklmnopqrstuvwxyz"[i % 26], 1);
    sx_buf_puts(&b, "\r\nContent-Length: 0\r\n\r\n");
    say_buf(&k, 1, &b);
    invite_text(&b, "after-desync@10.0.8.1", "1 INVITE", "Content-Length: 0\r\n\r\n");
    say_buf(&k, 1, &b);
    close_conn(&k);
    sx_buf_free(&b);
    printf("absent big-header@10.0.8.1\nabsent after-desync@10.0.8.1\n");
    return k.c2s_bytes;
}

/** A request line, then 8 KiB of binary bytes without a line end, then
 *  FIN: the header block never ends, the bytes wait in the buffer until
 *  the connection closes and are counted left over. */
static uint64_t tcp_binary(trace *t)
{
    conn k = conn_new(t, ip4(10, 0, 8, 2), 41002, TCP_SERVER, 13000, L_TCP_BINARY);
    handshake(&k);
    sx_buf b = {0};
    sx_buf_puts(&b, "INVITE sip:binary@b.example SIP/2.0\r\n");
    garbage(&b, 3, 8192);
    say_buf(&k, 1, &b);
    close_conn(&k);
    sx_buf_free(&b);
    return k.c2s_bytes;
}

/** An INVITE announcing 5000 body bytes of which 1000 come before FIN:
 *  framed but never complete, counted left over at the close. */
static uint64_t tcp_short_body(trace *t)
{
    conn k = conn_new(t, ip4(10, 0, 8, 3), 41003, TCP_SERVER, 14000, L_TCP_SHORT);
    handshake(&k);
    sx_buf b = {0};
    invite_text(&b, "short-body@10.0.8.3", "1 INVITE",
                "Content-Type: application/sdp\r\nContent-Length: 5000\r\n\r\n");
    for (unsigned i = 0; i < 1000; i++)
        sx_buf_put(&b, "v", 1);
    say_buf(&k, 1, &b);
    close_conn(&k);
    sx_buf_free(&b);
    printf("absent short-body@10.0.8.3\n");
    return k.c2s_bytes;
}

/* ---- orphans ---- */

/** A BYE and its 200 for a Call-ID whose INVITE never appears. */
static void orphans(trace *t)
{
    call o = {"orphan@10.0.7.1", "ivan", "judy", ip4(10, 0, 7, 1), ip4(10, 0, 2, 7),
              5060, 5060, "fi7", "tj7", "UDP", 0};
    sx_pkt_ends up = ends(o.caller, 5060, o.callee, 5060), down = reverse(&up);
    sx_buf b = {0};
    request(&b, &o, "BYE");
    udp_text(t, &up, 1, 20000, L_ORPHAN, &b);
    response(&b, &o, 200, "OK", "BYE");
    udp_text(t, &down, 1, 20010, L_ORPHAN, &b);
    sx_buf_free(&b);
    printf("absent orphan@10.0.7.1\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_sip_hostile OUT.pcap >expected.txt\n");
        return 2;
    }
    trace t = {0};
    good_calls(&t);
    hostile_udp(&t);
    uint64_t ignored = tcp_big_header(&t);
    uint64_t leftover = tcp_binary(&t) + tcp_short_body(&t);
    orphans(&t);
    /* UDP: 4 good calls' 21 messages, 2 orphans, 5 malformed that look
     * like SIP; random bytes, the empty payload and the lying lengths
     * never pass f_processUDPDetector. TCP: the good call's 7 messages. */
    printf("counter sip.udp_detected 28\ncounter sip.messages_udp 23\n"
           "counter sip.messages_tcp 7\ncounter sip.calls 4\n");
    printf("counter sip.malformed 5\ncounter sip.truncated 1\ncounter sip.missing_call_id 1\n"
           "counter sip.bad_cseq 1\ncounter sip.binary 1\ncounter sip.too_many_items 1\n"
           "counter sip.header_too_big 0\ncounter sip.bad_packet 0\n"
           "counter udp.bad_length 1\n");
    printf("counter sip.stream_desync 1\ncounter sip.stream_bytes_ignored %llu\n"
           "counter sip.stream_leftover_bytes %llu\n",
           (unsigned long long)ignored, (unsigned long long)leftover);
    printf("counter sip.orphan_messages 2\ncounter sip.timeouts 0\ncounter sip.retransmissions 0\n"
           "counter ipfrag.datagrams 4\ncounter detect.sip 4\ncapture malformed 1\n");
    return trace_write(&t, argv[1]) == 0 ? 0 : 1;
}
