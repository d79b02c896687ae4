/*
 * make_hostile.c -- writes hostile captures for tests/smtp_hostile.sh, to
 * a file or to stdout ("-"), so the big ones never touch the disk.
 *
 *   make_hostile lying OUT        lying IP/TCP length fields around a good session
 *   make_hostile overlap OUT      a session whose retransmission carries other bytes
 *   make_hostile bigdata OUT MB   a session sending MB MiB of DATA, then a good one
 *   make_hostile halfopen OUT N   N SYNs that never complete, then a good session
 *
 * Every capture also holds one well-formed SMTP session whose mail has
 * the Subject "good mail", which the pipeline must still assemble.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/packet_build.h"
#include "tools/pcap_writer.h"

#define MSS 1460

typedef struct conn {
    sx_pcapw *w;
    sx_pkt_ends c2s, s2c;
    uint32_t cseq, sseq; /* next sequence number of each side */
    uint64_t *ts;
    uint16_t id;
} conn;

static uint8_t frame[2048];

/** Writes one segment from the client (c2s) or the server. */
static void segment(conn *c, int from_client, uint8_t flags, const void *data, size_t len)
{
    sx_pkt_tcp_hdr h = {.flags = flags, .window = 65535};
    h.seq = from_client ? c->cseq : c->sseq;
    h.ack = from_client ? c->sseq : c->cseq;
    sx_pkt_ip ip = {.id = c->id++, .ttl = 64};
    size_t n = sx_pkt_tcp(frame, sizeof frame, from_client ? &c->c2s : &c->s2c, &ip, &h, data, len);
    if (n == 0 || sx_pcapw_write(c->w, (*c->ts)++, frame, (uint32_t)n) != 0) {
        fprintf(stderr, "make_hostile: write failed\n");
        exit(1);
    }
    uint32_t adv = (uint32_t)len + ((flags & (SX_PKT_SYN | SX_PKT_FIN)) ? 1 : 0);
    if (from_client)
        c->cseq += adv;
    else
        c->sseq += adv;
}

/** Sends text from one side in MSS-sized segments, each acknowledged. */
static void say(conn *c, int from_client, const char *text, size_t len)
{
    for (size_t off = 0; off < len; off += MSS) {
        size_t n = len - off < MSS ? len - off : MSS;
        segment(c, from_client, SX_PKT_ACK | SX_PKT_PSH, text + off, n);
        segment(c, !from_client, SX_PKT_ACK, NULL, 0);
    }
}

static void says(conn *c, int from_client, const char *text)
{
    say(c, from_client, text, strlen(text));
}

/** A connection between client host/port and server 192.168.0.1:25. */
static conn conn_new(sx_pcapw *w, uint64_t *ts, uint32_t client, uint16_t cport)
{
    conn c = {.w = w, .ts = ts, .cseq = 1000, .sseq = 5000};
    sx_pkt_ends e = {.src_mac = {2, 0, 0, 0, 0, 1}, .dst_mac = {2, 0, 0, 0, 0, 2},
                     .src_ip = client, .dst_ip = 0xc0a80001, .sport = cport, .dport = 25};
    c.c2s = e;
    c.s2c = (sx_pkt_ends){.src_mac = {2, 0, 0, 0, 0, 2}, .dst_mac = {2, 0, 0, 0, 0, 1},
                          .src_ip = e.dst_ip, .dst_ip = e.src_ip, .sport = 25, .dport = cport};
    return c;
}

static void handshake(conn *c)
{
    segment(c, 1, SX_PKT_SYN, NULL, 0);
    segment(c, 0, SX_PKT_SYN | SX_PKT_ACK, NULL, 0);
    segment(c, 1, SX_PKT_ACK, NULL, 0);
}

static void teardown(conn *c)
{
    says(c, 1, "QUIT\r\n");
    says(c, 0, "221 bye\r\n");
    segment(c, 1, SX_PKT_FIN | SX_PKT_ACK, NULL, 0);
    segment(c, 0, SX_PKT_FIN | SX_PKT_ACK, NULL, 0);
    segment(c, 1, SX_PKT_ACK, NULL, 0);
}

/** The commands up to DATA's 354. */
static void envelope(conn *c)
{
    says(c, 0, "220 mx.test ESMTP\r\n");
    says(c, 1, "EHLO client.test\r\n");
    says(c, 0, "250-mx.test\r\n250 PIPELINING\r\n");
    says(c, 1, "MAIL FROM:<a@client.test>\r\n");
    says(c, 0, "250 ok\r\n");
    says(c, 1, "RCPT TO:<b@mx.test>\r\n");
    says(c, 0, "250 ok\r\n");
    says(c, 1, "DATA\r\n");
    says(c, 0, "354 go\r\n");
}

/** A complete, well-formed session with the mail "good mail". */
static void good_session(sx_pcapw *w, uint64_t *ts, uint16_t cport)
{
    conn c = conn_new(w, ts, 0x0a000063, cport);
    handshake(&c);
    envelope(&c);
    says(&c, 1, "Subject: good mail\r\nMessage-ID: <good@client.test>\r\n\r\nall is well\r\n.\r\n");
    says(&c, 0, "250 queued\r\n");
    teardown(&c);
}

/** Raw bytes as a frame (lying headers are built by hand). */
static void raw(sx_pcapw *w, uint64_t *ts, const uint8_t *p, size_t n)
{
    if (sx_pcapw_write(w, (*ts)++, p, (uint32_t)n) != 0)
        exit(1);
}

/** IPv4/TCP frames whose length fields lie, in every way we know. */
static void lying(sx_pcapw *w, uint64_t *ts)
{
    conn c = conn_new(w, ts, 0x0a000001, 4000);
    handshake(&c);
    says(&c, 0, "220 mx.test ESMTP\r\n");
    sx_pkt_tcp_hdr h = {.seq = c.cseq, .ack = c.sseq, .flags = SX_PKT_ACK, .window = 1};
    sx_pkt_ip ip = {.id = 1, .ttl = 64};
    size_t n = sx_pkt_tcp(frame, sizeof frame, &c.c2s, &ip, &h, (const uint8_t *)"EHLO x\r\n", 8);
    uint8_t bad[2048];
    /* total length larger than the frame */
    memcpy(bad, frame, n), bad[16] = 0x40, bad[17] = 0x00;
    raw(w, ts, bad, n);
    /* total length shorter than the IP header */
    memcpy(bad, frame, n), bad[16] = 0, bad[17] = 10;
    raw(w, ts, bad, n);
    /* IHL of 15 words in a 20-byte header */
    memcpy(bad, frame, n), bad[14] = 0x4f;
    raw(w, ts, bad, n);
    /* IHL below 5 */
    memcpy(bad, frame, n), bad[14] = 0x42;
    raw(w, ts, bad, n);
    /* TCP data offset of 60 bytes in a short segment */
    memcpy(bad, frame, n), bad[14 + 20 + 12] = 0xf0;
    raw(w, ts, bad, n);
    /* TCP data offset below 5 */
    memcpy(bad, frame, n), bad[14 + 20 + 12] = 0x10;
    raw(w, ts, bad, n);
    /* cut in the middle of the TCP header */
    raw(w, ts, frame, 14 + 20 + 7);
    /* a lone Ethernet header and an empty frame */
    raw(w, ts, frame, 14);
    raw(w, ts, frame, 0);
    good_session(w, ts, 4001);
}

/** A session where a retransmission of the mail's body carries other
 *  bytes than the first copy; and a good session after. */
static void overlap(sx_pcapw *w, uint64_t *ts)
{
    conn c = conn_new(w, ts, 0x0a000002, 4100);
    handshake(&c);
    envelope(&c);
    const char *first = "Subject: overlap\r\n\r\nfirst version of the data\r\n";
    const char *other = "Subject: overlap\r\n\r\nOTHER version of the data\r\n";
    uint32_t at = c.cseq;
    says(&c, 1, first);
    c.cseq = at; /* the "retransmission", with conflicting bytes */
    says(&c, 1, other);
    says(&c, 1, ".\r\n");
    says(&c, 0, "250 queued\r\n");
    teardown(&c);
    good_session(w, ts, 4101);
}

/** A session that sends mb MiB of DATA; a good session runs beside it. */
static void bigdata(sx_pcapw *w, uint64_t *ts, long mb)
{
    conn c = conn_new(w, ts, 0x0a000003, 4200);
    handshake(&c);
    envelope(&c);
    says(&c, 1, "Subject: huge\r\n\r\n");
    static char chunk[MSS];
    for (size_t i = 0; i < MSS; i++)
        chunk[i] = (i % 64 == 62) ? '\r' : (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
    uint64_t total = (uint64_t)mb << 20;
    int good_done = 0;
    for (uint64_t sent = 0; sent < total; sent += MSS) {
        segment(&c, 1, SX_PKT_ACK, chunk, MSS);
        if ((sent / MSS) % 8 == 0)
            segment(&c, 0, SX_PKT_ACK, NULL, 0);
        if (!good_done && sent >= total / 2) {
            good_session(w, ts, 4201);
            good_done = 1;
        }
    }
    says(&c, 1, "\r\n.\r\n");
    says(&c, 0, "250 queued\r\n");
    teardown(&c);
}

/** n SYNs from distinct endpoints that never complete; then a good one. */
static void halfopen(sx_pcapw *w, uint64_t *ts, long n)
{
    for (long i = 0; i < n; i++) {
        conn c = conn_new(w, ts, 0x0b000000u + (uint32_t)(i / 50000), (uint16_t)(10000 + i % 50000));
        segment(&c, 1, SX_PKT_SYN, NULL, 0);
    }
    good_session(w, ts, 4301);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: make_hostile lying|overlap|bigdata|halfopen OUT [MB|N]\n");
        return 2;
    }
    char err[256];
    const char *out = strcmp(argv[2], "-") == 0 ? "/dev/stdout" : argv[2];
    sx_pcapw *w = sx_pcapw_open(out, 2048, err, sizeof err);
    if (!w) {
        fprintf(stderr, "make_hostile: %s\n", err);
        return 1;
    }
    uint64_t ts = 1767225600ull * 1000000u; /* 2026-01-01T00:00:00Z */
    long arg = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    if (strcmp(argv[1], "lying") == 0)
        lying(w, &ts);
    else if (strcmp(argv[1], "overlap") == 0)
        overlap(w, &ts);
    else if (strcmp(argv[1], "bigdata") == 0 && arg > 0)
        bigdata(w, &ts, arg);
    else if (strcmp(argv[1], "halfopen") == 0 && arg > 0)
        halfopen(w, &ts, arg);
    else {
        fprintf(stderr, "make_hostile: unknown case '%s' or missing size\n", argv[1]);
        return 2;
    }
    if (sx_pcapw_close(&w, err, sizeof err) != 0) {
        fprintf(stderr, "make_hostile: %s\n", err);
        return 1;
    }
    return 0;
}
