/*
 * test_gen_smtp.c -- tests of the trace-generator tools, and an
 * independent checker of what `scalanytics gen smtp` writes.
 *
 *   test_gen_smtp units
 *       packet_build (checksums, fragments), pcap_writer (read back with
 *       libpcap, write errors), mail_build (the phrase guarantee, checked
 *       with a MIME decoder of this file's own), rng determinism,
 *       mail_replay (a real mail's wire form).
 *   test_gen_smtp check PCAP TRUTH MAILS_DIR PHRASE MAILS PLANTED
 *       reads PCAP with libpcap; checks every IPv4 and TCP checksum,
 *       reassembles IPv4 fragments and both directions of every TCP
 *       connection (retransmitted bytes must equal the first copy, no ACK
 *       may acknowledge unsent data, no byte may be missing at the FIN),
 *       parses the client's SMTP (DATA with dot-unstuffing, BDAT chunks)
 *       and compares each mail with its truth line and DIR/<mail>.eml
 *       (size, FNV-1a, bytes, transfer, and where the phrase is).
 *   test_gen_smtp export EXPORT_DIR MAILS_DIR
 *       every file tshark --export-objects imf wrote equals, once
 *       dot-unstuffed (tshark exports DATA as sent), one of the .eml files.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "tools/buf.h"
#include "tools/mail_build.h"
#include "tools/mail_replay.h"
#include "tools/packet_build.h"
#include "tools/pcap_writer.h"
#include "tools/rng.h"

#define PHRASE "scalanytics-planted-phrase"

/* ---- helpers shared by the modes ---- */

/** The Internet checksum, summed 16 bits at a time (deliberately not
 *  the generator's code); 0 over a header whose checksum is right. */
static uint16_t inet_sum(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/** The TCP/UDP checksum of an IPv4 datagram's payload: 0 when right. */
static uint16_t l4_sum(const uint8_t *ip, const uint8_t *l4, size_t len)
{
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = ip[9];
    pseudo[10] = (uint8_t)(len >> 8);
    pseudo[11] = (uint8_t)len;
    uint16_t s = inet_sum(0, pseudo, 12);
    return inet_sum((uint16_t)~s, l4, len);
}

/** The 64-bit FNV-1a hash (the truth file's "fnv1a64"). */
static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/** Reads a whole file into b; false if it cannot. */
static bool read_file(const char *path, sx_buf *b)
{
    b->len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n;
    do {
        n = fread(sx_buf_reserve(b, 65536), 1, 65536, f);
        b->len += n;
    } while (n > 0);
    fclose(f);
    return true;
}

/** Removes the extra '.' of every line that starts with one (RFC 5321
 *  4.5.2), in place. */
static void unstuff(sx_buf *b)
{
    size_t w = 0;
    for (size_t r = 0; r < b->len; r++) {
        bool line_start = r == 0 || b->p[r - 1] == '\n';
        if (line_start && b->p[r] == '.')
            continue;
        b->p[w++] = b->p[r];
    }
    b->len = w;
}

/* ---- an independent MIME decoder: how many times is the phrase in
 * the decoded parts, and in parts of which encoding ---- */

typedef struct phrase_hits {
    unsigned raw, plain, base64, qp; /* occurrences raw, and decoded per encoding */
} phrase_hits;

/** Finds "Name:" (case-sensitive, at a line start) in headers [h, end);
 *  copies its unfolded value into out. */
static bool header_value(const char *h, const char *end, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = h; p < end; p++) {
        if ((p == h || p[-1] == '\n') && (size_t)(end - p) > nl && !strncmp(p, name, nl)) {
            size_t o = 0;
            for (p += nl; p < end && o + 1 < len; p++) {
                if (p[0] == '\r' && p + 2 < end && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t'))
                    p += 2; /* folded */
                else if (p[0] == '\r')
                    break;
                out[o++] = *p;
            }
            out[o] = 0;
            return true;
        }
    }
    return false;
}

/** Decodes base64 (skipping line breaks) into out. */
static void decode_base64(const uint8_t *s, size_t n, sx_buf *out)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v;
        uint8_t c = s[i];
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else continue;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t byte = (uint8_t)(acc >> bits);
            sx_buf_put(out, &byte, 1);
        }
    }
}

/** Decodes quoted-printable into out. */
static void decode_qp(const uint8_t *s, size_t n, sx_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < n) {
            char hex[3] = {(char)s[i + 1], (char)s[i + 2], 0};
            uint8_t byte = (uint8_t)strtoul(hex, NULL, 16);
            sx_buf_put(out, &byte, 1);
            i += 2;
        } else {
            sx_buf_put(out, &s[i], 1);
        }
    }
}

/** Counts the phrase in one part (headers, blank line, body) decoded. */
static void count_part(const uint8_t *p, size_t n, phrase_hits *h)
{
    const uint8_t *blank = memmem(p, n, "\r\n\r\n", 4);
    CHECK(blank != NULL || n == 0, "a MIME part has no blank line after its headers");
    if (!blank)
        return;
    char cte[64] = "7bit";
    header_value((const char *)p, (const char *)blank + 2, "Content-Transfer-Encoding: ", cte,
                 sizeof cte);
    const uint8_t *body = blank + 4;
    size_t len = n - (size_t)(body - p);
    sx_buf dec = {0};
    unsigned *slot = &h->plain;
    if (!strcmp(cte, "base64")) {
        decode_base64(body, len, &dec);
        slot = &h->base64;
    } else if (!strcmp(cte, "quoted-printable")) {
        decode_qp(body, len, &dec);
        slot = &h->qp;
    } else {
        sx_buf_put(&dec, body, len);
    }
    *slot += (unsigned)sx_mail_count(dec.p, dec.len, PHRASE, strlen(PHRASE));
    sx_buf_free(&dec);
}

/** Where the phrase is in a raw mail. */
static phrase_hits find_phrase(const uint8_t *raw, size_t n)
{
    phrase_hits h = {.raw = (unsigned)sx_mail_count(raw, n, PHRASE, strlen(PHRASE))};
    const uint8_t *blank = memmem(raw, n, "\r\n\r\n", 4);
    CHECK(blank != NULL, "a mail has no blank line after its headers");
    char ctype[256] = "";
    header_value((const char *)raw, (const char *)blank + 2, "Content-Type: ", ctype, sizeof ctype);
    const char *bnd = strstr(ctype, "boundary=\"");
    if (!bnd) {
        count_part(raw, n, &h);
        return h;
    }
    char delim[128];
    snprintf(delim, sizeof delim, "\r\n--%.*s", (int)strcspn(bnd + 10, "\""), bnd + 10);
    size_t dl = strlen(delim);
    const uint8_t *end = raw + n;
    const uint8_t *p = memmem(blank, (size_t)(end - blank), delim, dl);
    while (p) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break; /* the closing delimiter */
        p += 2;    /* CRLF after the delimiter */
        const uint8_t *next = memmem(p, (size_t)(end - p), delim, dl);
        count_part(p, (size_t)((next ? next : end) - p), &h);
        p = next;
    }
    return h;
}

/* ---- units ---- */

/** Builds TCP and UDP frames; checks lengths and checksums. */
static void test_packet_build(void)
{
    sx_pkt_ends e = {.src_mac = {2, 0, 1, 2, 3, 4}, .dst_mac = {2, 1, 5, 6, 7, 8},
                     .src_ip = 0x0a000001, .dst_ip = 0xc0a80102, .sport = 40000, .dport = 25};
    sx_pkt_ip ip = {.id = 7, .ttl = 64, .dont_fragment = true};
    uint8_t payload[1001], frame[2048];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    uint8_t mss[4] = {2, 4, 5, 180};
    sx_pkt_tcp_hdr t = {.seq = 0xfffffff0, .ack = 12345, .flags = SX_PKT_ACK | SX_PKT_PSH,
                        .window = 65535, .options = mss, .options_len = 4};
    size_t n = sx_pkt_tcp(frame, sizeof frame, &e, &ip, &t, payload, sizeof payload);
    CHECK(n == 14 + 20 + 24 + sizeof payload, "tcp frame length");
    const uint8_t *iph = frame + 14;
    CHECK(inet_sum(0, iph, 20) == 0, "IPv4 header checksum");
    CHECK((iph[6] & 0x40) && iph[8] == 64 && iph[9] == 6, "DF, TTL, protocol");
    CHECK(l4_sum(iph, iph + 20, n - 34) == 0, "TCP checksum");
    CHECK(iph[20 + 12] == (6 << 4) && iph[20 + 13] == (SX_PKT_ACK | SX_PKT_PSH), "TCP offset, flags");
    CHECK(sx_pkt_tcp(frame, 100, &e, &ip, &t, payload, sizeof payload) == 0, "too small a buffer");

    n = sx_pkt_udp(frame, sizeof frame, &e, &ip, payload, 33);
    CHECK(n == 14 + 20 + 8 + 33, "udp frame length");
    CHECK(inet_sum(0, frame + 14, 20) == 0 && l4_sum(frame + 14, frame + 34, 41) == 0,
          "UDP checksums");

    /* Fragments: offsets, MF, checksums, and the pieces add up. */
    ip.dont_fragment = false;
    t.options_len = 0;
    size_t whole = sx_pkt_tcp(frame, sizeof frame, &e, &ip, &t, payload, sizeof payload);
    size_t ip_payload = whole - 34;
    for (size_t fd = 8; fd <= 1024; fd = fd * 2 + 8) {
        size_t count = sx_pkt_fragment_count(whole, fd);
        CHECK(count == (ip_payload + fd - 1) / fd, "fragment count");
        uint8_t joined[2048], frag[2048];
        size_t got = 0;
        for (size_t i = 0; i < count; i++) {
            size_t fl = sx_pkt_fragment(frame, whole, fd, i, frag, sizeof frag);
            CHECK(fl > 34 && inet_sum(0, frag + 14, 20) == 0, "fragment header checksum");
            unsigned flags_off = (unsigned)frag[20] << 8 | frag[21];
            CHECK((flags_off & 0x1fff) * 8 == i * fd, "fragment offset");
            CHECK(!!(flags_off & 0x2000) == (i + 1 < count) && !(flags_off & 0x4000), "MF, DF");
            CHECK(((unsigned)frag[16] << 8 | frag[17]) == fl - 14, "fragment total length");
            memcpy(joined + i * fd, frag + 34, fl - 34);
            got += fl - 34;
        }
        CHECK(got == ip_payload && !memcmp(joined, frame + 34, ip_payload), "fragments rejoin");
        CHECK(sx_pkt_fragment(frame, whole, fd, count, frag, sizeof frag) == 0, "past the last");
    }
}

/** Writes a pcap and reads it back with libpcap; a full disk is reported. */
static void test_pcap_writer(void)
{
    char err[256];
    const char *path = "test_gen_smtp.pcap";
    sx_pcapw *w = sx_pcapw_open(path, 1514, err, sizeof err);
    CHECK(w != NULL, "open a pcap for writing");
    uint8_t frame[1514];
    memset(frame, 0xab, sizeof frame);
    for (uint32_t i = 0; i < 3; i++)
        CHECK(sx_pcapw_write(w, 1767225600000000ull + i * 1500001, frame, 60 + i * 700) == 0,
              "write a frame");
    CHECK(sx_pcapw_packets(w) == 3 && sx_pcapw_bytes(w) == 24 + 3 * 16 + 60 + 760 + 1460,
          "packet and byte counts");
    CHECK(sx_pcapw_close(&w, err, sizeof err) == 0 && w == NULL, "close");
    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, perr);
    CHECK(p != NULL, "libpcap opens the file");
    CHECK(pcap_datalink(p) == DLT_EN10MB, "link type Ethernet");
    struct pcap_pkthdr *h;
    const u_char *data;
    for (uint32_t i = 0; i < 3; i++) {
        CHECK(pcap_next_ex(p, &h, &data) == 1, "read a frame back");
        uint64_t us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
        CHECK(us == 1767225600000000ull + i * 1500001 && h->caplen == 60 + i * 700 &&
              h->len == h->caplen && data[0] == 0xab, "frame read back as written");
    }
    CHECK(pcap_next_ex(p, &h, &data) == -2, "three frames, then the end");
    pcap_close(p);
    remove(path);

    w = sx_pcapw_open("/dev/full", 1514, err, sizeof err);
    if (w) { /* /dev/full exists: the error must surface at the latest on close */
        for (int i = 0; i < 4000; i++)
            sx_pcapw_write(w, 0, frame, sizeof frame);
        CHECK(sx_pcapw_close(&w, err, sizeof err) == -1 && strstr(err, "/dev/full"),
              "a full disk is reported");
    }
}

/** Builds mails of every kind and checks the phrase is exactly where
 *  the plan says, using this file's decoder. */
static void test_mail_build(void)
{
    sx_mail m = {0};
    sx_rng r;
    char err[256];
    unsigned dot_lines = 0, multipart = 0;
    for (uint64_t i = 0; i < 400; i++) {
        sx_rng_seed(&r, 42, 1, i);
        sx_mail_encoding plant = (sx_mail_encoding)(i % 4);
        sx_mail_spec s = {.number = i + 1, .seed = 42, .target_size = 200 + (i * 7919) % 60000,
                          .plant = plant, .phrase = PHRASE, .phrase_len = strlen(PHRASE),
                          .date = 1767225600, .client_host = "host.example"};
        CHECK(sx_mail_build(&m, &s, &r, err, sizeof err) == 0, "build a mail");
        CHECK(m.raw.len >= 2 && !memcmp(m.raw.p + m.raw.len - 2, "\r\n", 2), "ends with CRLF");
        phrase_hits h = find_phrase(m.raw.p, m.raw.len);
        CHECK(h.raw == (plant == SX_MAIL_PLAIN), "the phrase is raw only when planted plain");
        CHECK(h.plain == (plant == SX_MAIL_PLAIN), "plain hits");
        CHECK(h.base64 == (plant == SX_MAIL_BASE64), "base64 hits");
        CHECK(h.qp == (plant == SX_MAIL_QP), "quoted-printable hits");
        size_t line = 0;
        for (size_t k = 0; k < m.raw.len; k++) {
            if (m.raw.p[k] == '\n') {
                line = 0;
                continue;
            }
            CHECK(++line <= 998, "no line over 998 bytes");
            if (line == 1 && m.raw.p[k] == '.')
                dot_lines++;
        }
        multipart += memmem(m.raw.p, m.raw.len, "multipart/", 10) != NULL;
    }
    CHECK(dot_lines > 100, "lines starting with '.' are common");
    CHECK(multipart > 50 && multipart < 350, "both single-part and multipart mails");
    sx_mail_free(&m);

    CHECK(sx_mail_phrase_check(PHRASE, err, sizeof err) == 0, "the default phrase is fine");
    CHECK(sx_mail_phrase_check("report", err, sizeof err) == -1 && strstr(err, "filler"),
          "a phrase the filler contains is refused");
    CHECK(sx_mail_phrase_check("abc", err, sizeof err) == -1, "too short a phrase");
    CHECK(sx_mail_phrase_check("tab\there", err, sizeof err) == -1, "a control character");
}

/** Same seed and stream, same numbers; another stream, others. */
static void test_rng(void)
{
    sx_rng a, b, c;
    sx_rng_seed(&a, 9, 1, 5);
    sx_rng_seed(&b, 9, 1, 5);
    sx_rng_seed(&c, 9, 2, 5);
    bool differ = false;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sx_rng_next(&a);
        CHECK(x == sx_rng_next(&b), "same seed, same sequence");
        differ |= x != sx_rng_next(&c);
        CHECK(sx_rng_below(&a, 10) < 10 && sx_rng_unit(&b) < 1.0, "ranges");
    }
    CHECK(differ, "streams differ");
}

/** A real mail replayed: its wire form (LF made CRLF, bare CR and CRLF
 *  kept, a final CRLF added), read at an offset (an mbox's "From "
 *  line left out), the synthetic envelope; file names JSON-escaped. */
static void test_mail_replay(void)
{
    static const char file[] = "From a@b Mon Jan  1 00:00:00 2026\n"
                               "Subject: x\n\n.dot\r\nbare\rcr\n..two\n.\nlast";
    static const char want[] = "Subject: x\r\n\r\n.dot\r\nbare\rcr\r\n..two\r\n.\r\nlast\r\n";
    char path[256];
    snprintf(path, sizeof path, "%s/test_gen_smtp.%ld.eml",
             getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(file, 1, sizeof file - 1, f) == sizeof file - 1 && fclose(f) == 0,
          "write a mail file");
    sx_mail m = {0};
    char err[512];
    size_t from_line = strlen("From a@b Mon Jan  1 00:00:00 2026\n");
    sx_mail_replay r = {path, "x.eml", from_line, sizeof file - 1 - from_line};
    CHECK(sx_mail_replay_load(&m, &r, 7, err, sizeof err) == 0, err);
    CHECK(m.raw.len == sizeof want - 1 && !memcmp(m.raw.p, want, m.raw.len),
          "the wire form: CRLF lines, bare CR kept, a final CRLF");
    CHECK(!strcmp(m.from, "replay-7@sender.example") && m.nrcpt == 1, "the synthetic envelope");
    r.length += 100;
    CHECK(sx_mail_replay_load(&m, &r, 7, err, sizeof err) == -1 && strstr(err, "cannot read"),
          "a file shorter than listed is an error");
    r.path = "/nonexistent/mail";
    CHECK(sx_mail_replay_load(&m, &r, 7, err, sizeof err) == -1 && strstr(err, "cannot open"),
          "a missing file is an error");
    sx_buf j = {0};
    sx_mail_replay_json_string(&j, "a\"b\\c\nd\x01");
    CHECK(j.len == 22 && !memcmp(j.p, "\"a\\\"b\\\\c\\u000ad\\u0001\"", 22), "JSON escaping");
    sx_buf_free(&j);
    sx_mail_free(&m);
    remove(path);
}

/* ---- check: the pcap against the truth ---- */

/* One direction of a TCP connection, reassembled. */
typedef struct half {
    uint32_t isn;
    bool syn, fin;
    uint64_t fin_at, max_end; /* stream offsets */
    sx_buf data;
    uint8_t *have;            /* have[i]: byte i seen */
    size_t have_cap;
} half;

typedef struct conn {
    uint32_t cip, sip;
    uint16_t cport, sport;
    half c, s; /* client to server, server to client */
    uint64_t syn_index; /* the order connections started */
} conn;

/* A datagram being reassembled from fragments. */
typedef struct frag_slot {
    bool used;
    uint32_t src, dst;
    uint16_t id;
    uint8_t data[65536];
    uint8_t have[65536 / 8];
    size_t total; /* 0 until the last fragment came */
    uint8_t header[20];
} frag_slot;

enum { MAX_CONNS = 100000, FRAG_SLOTS = 16 };

typedef struct checker {
    conn *conns;
    size_t nconns;
    frag_slot *frags;
    uint64_t packets, fragments, retransmitted_bytes, last_ts;
} checker;

/** Reads a big-endian 32-bit number. */
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** The connection of a segment, or NULL; *client_side: sent by the client. */
static conn *find_conn(checker *k, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp,
                       bool *client_side)
{
    for (size_t i = k->nconns; i-- > 0;) { /* newest first: a reused tuple is the newest */
        conn *c = &k->conns[i];
        if (c->cip == src && c->cport == sp && c->sip == dst && c->sport == dp) {
            *client_side = true;
            return c;
        }
        if (c->cip == dst && c->cport == dp && c->sip == src && c->sport == sp) {
            *client_side = false;
            return c;
        }
    }
    return NULL;
}

/** Stores n bytes at stream offset off; a byte seen before must match. */
static void half_put(checker *k, half *h, uint64_t off, const uint8_t *p, size_t n)
{
    if (off + n > h->have_cap) {
        size_t cap = h->have_cap ? h->have_cap : 65536;
        while (cap < off + n)
            cap *= 2;
        h->have = sx_realloc(h->have, cap);
        memset(h->have + h->have_cap, 0, cap - h->have_cap);
        h->have_cap = cap;
        sx_buf_reserve(&h->data, cap - h->data.len);
    }
    for (size_t i = 0; i < n; i++) {
        if (h->have[off + i]) {
            CHECK(h->data.p[off + i] == p[i], "a retransmitted byte differs from the first copy");
            k->retransmitted_bytes++;
        }
        h->have[off + i] = 1;
        h->data.p[off + i] = p[i];
    }
    if (off + n > h->max_end)
        h->max_end = off + n;
    if (h->data.len < h->max_end)
        h->data.len = h->max_end;
}

/** Handles one TCP segment of a (reassembled) IPv4 datagram. */
static void on_tcp(checker *k, const uint8_t *ip, size_t len)
{
    CHECK(len >= 40, "short TCP segment");
    CHECK(l4_sum(ip, ip + 20, len - 20) == 0, "TCP checksum");
    const uint8_t *t = ip + 20;
    uint32_t src = be32(ip + 12), dst = be32(ip + 16);
    uint16_t sp = (uint16_t)(t[0] << 8 | t[1]), dp = (uint16_t)(t[2] << 8 | t[3]);
    uint32_t seq = be32(t + 4), ack = be32(t + 8);
    uint8_t flags = t[13];
    size_t hl = (size_t)(t[12] >> 4) * 4, plen = len - 20 - hl;
    bool client;
    conn *c = find_conn(k, src, sp, dst, dp, &client);
    if ((flags & (SX_PKT_SYN | SX_PKT_ACK)) == SX_PKT_SYN) {
        CHECK(k->nconns < MAX_CONNS, "too many connections for the checker");
        c = &k->conns[k->nconns];
        memset(c, 0, sizeof *c);
        *c = (conn){.cip = src, .sip = dst, .cport = sp, .sport = dp, .syn_index = k->nconns};
        k->nconns++;
        c->c.isn = seq;
        c->c.syn = true;
        CHECK(plen == 0, "data on a SYN");
        return;
    }
    CHECK(c != NULL, "a segment of no connection");
    half *me = client ? &c->c : &c->s, *peer = client ? &c->s : &c->c;
    if (flags & SX_PKT_SYN) {
        CHECK(!client && ack == c->c.isn + 1, "SYN-ACK acknowledges the SYN");
        me->isn = seq;
        me->syn = true;
        return;
    }
    CHECK(me->syn && peer->syn, "a segment before the handshake");
    CHECK(flags & SX_PKT_ACK, "a segment without ACK");
    uint64_t acked = (uint32_t)(ack - peer->isn - 1);
    CHECK(acked <= peer->max_end + (peer->fin ? 1 : 0), "an ACK of bytes not sent yet");
    uint64_t off = (uint32_t)(seq - me->isn - 1);
    if (plen)
        half_put(k, me, off, t + hl, plen);
    if (flags & SX_PKT_FIN) {
        CHECK(!me->fin || me->fin_at == off + plen, "two FINs at different places");
        me->fin = true;
        me->fin_at = off + plen;
    }
}

/** Handles an IPv4 fragment: keeps it; on the last piece, the datagram. */
static void on_fragment(checker *k, const uint8_t *ip, size_t len)
{
    uint32_t src = be32(ip + 12), dst = be32(ip + 16);
    uint16_t id = (uint16_t)(ip[4] << 8 | ip[5]);
    unsigned fo = (unsigned)(ip[6] & 0x1f) << 8 | ip[7];
    bool mf = ip[6] & 0x20;
    frag_slot *f = NULL, *free_slot = NULL;
    for (int i = 0; i < FRAG_SLOTS; i++) {
        frag_slot *s = &k->frags[i];
        if (s->used && s->src == src && s->dst == dst && s->id == id)
            f = s;
        else if (!s->used && !free_slot)
            free_slot = s;
    }
    if (!f) {
        CHECK(free_slot != NULL, "too many datagrams in reassembly at once");
        f = free_slot;
        memset(f->have, 0, sizeof f->have);
        f->used = true;
        f->src = src;
        f->dst = dst;
        f->id = id;
        f->total = 0;
    }
    size_t off = fo * 8, n = len - 20;
    CHECK(off + n <= sizeof f->data && (mf ? n % 8 == 0 : 1), "fragment bounds");
    memcpy(f->data + off, ip + 20, n);
    for (size_t b = off / 8; b < (off + n + 7) / 8; b++)
        f->have[b] = 1;
    if (off == 0)
        memcpy(f->header, ip, 20);
    if (!mf)
        f->total = off + n;
    if (!f->total)
        return;
    for (size_t b = 0; b < (f->total + 7) / 8; b++)
        if (!f->have[b])
            return;
    k->fragments++;
    uint8_t whole[65536 + 20];
    memcpy(whole, f->header, 20);
    memcpy(whole + 20, f->data, f->total);
    whole[2] = (uint8_t)((f->total + 20) >> 8);
    whole[3] = (uint8_t)(f->total + 20);
    f->used = false;
    on_tcp(k, whole, f->total + 20);
}

/** Reads every frame of the pcap into the connection table. */
static void read_pcap(checker *k, const char *path)
{
    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, perr);
    CHECK(p != NULL, "libpcap opens the trace");
    CHECK(pcap_datalink(p) == DLT_EN10MB, "the trace is Ethernet");
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        k->packets++;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
        CHECK(ts >= k->last_ts && ts >= 1767225600000000ull, "timestamps never go back");
        k->last_ts = ts;
        CHECK(h->caplen == h->len && h->len <= 9000 + 54, "whole frames");
        CHECK(h->len >= 34 && d[12] == 8 && d[13] == 0, "Ethernet + IPv4");
        const uint8_t *ip = d + 14;
        size_t tot = (size_t)ip[2] << 8 | ip[3];
        CHECK(ip[0] == 0x45 && tot == h->len - 14, "IPv4 header and length");
        CHECK(inet_sum(0, ip, 20) == 0, "IPv4 header checksum");
        CHECK(ip[9] == 6, "TCP only");
        if ((ip[6] & 0x20) || ((ip[6] & 0x1f) | ip[7]))
            on_fragment(k, ip, tot);
        else
            on_tcp(k, ip, tot);
    }
    CHECK(rc == -2, "the trace reads to its end without error");
    pcap_close(p);
}

/* A truth line's fields this checker uses. */
typedef struct truth {
    uint64_t mail, session, index, size, fnv;
    uint32_t client, server;
    uint16_t cport, sport;
    char transfer[8], encoding[32], message_id[160];
    bool planted, seen;
} truth;

/** The text after "key": in line, or NULL. */
static const char *field(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p ? p + strlen(pat) : NULL;
}

/** Copies a JSON string value (no escapes) into out. */
static void field_str(const char *line, const char *key, char *out, size_t len)
{
    const char *v = field(line, key);
    CHECK(v != NULL, "a truth field is missing");
    if (!strncmp(v, "null", 4)) {
        snprintf(out, len, "null");
        return;
    }
    CHECK(*v == '"', "a truth string");
    size_t n = strcspn(v + 1, "\"");
    snprintf(out, len, "%.*s", (int)n, v + 1);
}

/** A JSON number value. */
static uint64_t field_num(const char *line, const char *key)
{
    const char *v = field(line, key);
    CHECK(v != NULL, "a truth field is missing");
    return strtoull(v, NULL, 10);
}

/** A dotted IPv4 address, host order. */
static uint32_t parse_ip(const char *s)
{
    struct in_addr a;
    CHECK(inet_pton(AF_INET, s, &a) == 1, "an IPv4 address in the truth");
    return ntohl(a.s_addr);
}

/** Reads the truth file. */
static truth *read_truth(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "open the truth file");
    truth *t = NULL;
    size_t n = 0, cap = 0;
    char line[8192], buf[64];
    while (fgets(line, sizeof line, f)) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            t = sx_realloc(t, cap * sizeof *t);
        }
        truth *e = &t[n++];
        memset(e, 0, sizeof *e);
        e->mail = field_num(line, "mail");
        e->session = field_num(line, "session");
        e->index = field_num(line, "index");
        e->size = field_num(line, "size");
        e->cport = (uint16_t)field_num(line, "cport");
        e->sport = (uint16_t)field_num(line, "sport");
        field_str(line, "client", buf, sizeof buf);
        e->client = parse_ip(buf);
        field_str(line, "server", buf, sizeof buf);
        e->server = parse_ip(buf);
        field_str(line, "fnv1a64", buf, sizeof buf);
        CHECK(strlen(buf) == 16, "fnv1a64 is 16 hex digits");
        e->fnv = strtoull(buf, NULL, 16);
        field_str(line, "transfer", e->transfer, sizeof e->transfer);
        field_str(line, "encoding", e->encoding, sizeof e->encoding);
        field_str(line, "message_id", e->message_id, sizeof e->message_id);
        const char *pl = field(line, "planted");
        CHECK(pl && (!strncmp(pl, "true", 4) || !strncmp(pl, "false", 5)), "planted is a bool");
        e->planted = !strncmp(pl, "true", 4);
        CHECK(e->planted == !!strcmp(e->encoding, "null"), "encoding set exactly when planted");
        CHECK(field(line, "mail_from") && field(line, "rcpt_to") && field(line, "subject"),
              "envelope fields");
    }
    fclose(f);
    *count = n;
    return t;
}

/** Checks one reassembled mail against its truth line and .eml file. */
static void check_mail(truth *t, size_t nt, const conn *c, uint64_t index, const char *transfer,
                       const uint8_t *raw, size_t len, const char *dir, const char *phrase)
{
    truth *e = NULL;
    for (size_t i = 0; i < nt && !e; i++)
        if (t[i].client == c->cip && t[i].cport == c->cport && t[i].server == c->sip &&
            t[i].sport == c->sport && t[i].index == index && !t[i].seen)
            e = &t[i];
    CHECK(e != NULL, "a mail in the trace has no truth line");
    e->seen = true;
    CHECK(e->size == len, "truth size = reassembled size");
    CHECK(e->fnv == fnv1a(raw, len), "truth fnv1a64 = reassembled mail's");
    CHECK(!strcmp(e->transfer, transfer), "truth transfer");
    char path[4096];
    snprintf(path, sizeof path, "%s/%" PRIu64 ".eml", dir, e->mail);
    sx_buf eml = {0};
    CHECK(read_file(path, &eml), "the .eml file of a mail exists");
    CHECK(eml.len == len && !memcmp(eml.p, raw, len), "the .eml file = the reassembled mail");
    sx_buf_free(&eml);
    if (!strcmp(phrase, PHRASE)) {
        phrase_hits h = find_phrase(raw, len);
        unsigned decoded = h.plain + h.base64 + h.qp;
        CHECK(decoded == (e->planted ? 1u : 0u), "planted mails have the phrase once, decoded");
        CHECK(h.raw == (!strcmp(e->encoding, "plain") ? 1u : 0u), "raw phrase only when plain");
        CHECK(!e->planted || (!strcmp(e->encoding, "plain") && h.plain) ||
                  (!strcmp(e->encoding, "base64") && h.base64) ||
                  (!strcmp(e->encoding, "quoted-printable") && h.qp),
              "the phrase is in a part of the truth's encoding");
    }
}

/** Does a case-insensitive prefix match of a command line. */
static bool is_cmd(const uint8_t *line, size_t n, const char *cmd)
{
    size_t cl = strlen(cmd);
    return n >= cl && !strncasecmp((const char *)line, cmd, cl);
}

/** Parses a client stream's SMTP and checks each mail in it. */
static size_t check_session(truth *t, size_t nt, const conn *c, const char *dir,
                            const char *phrase)
{
    const uint8_t *p = c->c.data.p, *end = p + c->c.data.len;
    uint64_t index = 0;
    size_t datas = 0;
    sx_buf bdat = {0}, data = {0};
    while (p < end) {
        const uint8_t *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        CHECK(eol != NULL, "a client line without CRLF");
        size_t n = (size_t)(eol - p);
        if (is_cmd(p, n, "DATA")) {
            const uint8_t *body = eol + 2;
            const uint8_t *term = memmem(body - 2, (size_t)(end - body + 2), "\r\n.\r\n", 5);
            CHECK(term != NULL, "DATA without its terminating dot");
            data.len = 0;
            sx_buf_put(&data, body, (size_t)(term + 2 - body));
            unstuff(&data);
            check_mail(t, nt, c, ++index, "DATA", data.p, data.len, dir, phrase);
            datas++;
            p = term + 5;
            continue;
        }
        if (is_cmd(p, n, "BDAT ")) {
            char cmd[64];
            snprintf(cmd, sizeof cmd, "%.*s", (int)(n < 63 ? n : 63), (const char *)p);
            char *rest;
            unsigned long size = strtoul(cmd + 5, &rest, 10);
            bool last = strstr(rest, "LAST") || strstr(rest, "last");
            CHECK((size_t)(end - (eol + 2)) >= size, "a BDAT chunk shorter than announced");
            sx_buf_put(&bdat, eol + 2, size);
            p = eol + 2 + size;
            if (last) {
                check_mail(t, nt, c, ++index, "BDAT", bdat.p, bdat.len, dir, phrase);
                bdat.len = 0;
            }
            continue;
        }
        CHECK(is_cmd(p, n, "EHLO ") || is_cmd(p, n, "MAIL FROM:") || is_cmd(p, n, "RCPT TO:") ||
                  is_cmd(p, n, "RSET") || is_cmd(p, n, "QUIT"),
              "an unexpected client command");
        p = eol + 2;
    }
    CHECK(bdat.len == 0, "BDAT chunks without LAST");
    /* The server said what it had to. */
    const sx_buf *s = &c->s.data;
    CHECK(s->len > 4 && !memcmp(s->p, "220 ", 4), "the server greets with 220");
    CHECK(memmem(s->p, s->len, "250-PIPELINING\r\n", 16) && memmem(s->p, s->len, "CHUNKING\r\n", 10),
          "EHLO reply advertises PIPELINING and CHUNKING");
    CHECK(sx_mail_count(s->p, s->len, "\r\n354 ", 6) == datas, "one 354 per DATA");
    CHECK(s->len >= 15 && !memcmp(s->p + s->len - 15, "221 2.0.0 Bye\r\n", 15), "ends with 221");
    sx_buf_free(&bdat);
    sx_buf_free(&data);
    return (size_t)index;
}

/** `check PCAP TRUTH MAILS_DIR PHRASE MAILS PLANTED`. */
static int check_mode(char **argv)
{
    const char *pcap = argv[0], *truth_path = argv[1], *dir = argv[2], *phrase = argv[3];
    size_t want_mails = strtoull(argv[4], NULL, 10), want_planted = strtoull(argv[5], NULL, 10);
    checker k = {0};
    k.conns = sx_calloc(MAX_CONNS, sizeof *k.conns);
    k.frags = sx_calloc(FRAG_SLOTS, sizeof *k.frags);
    read_pcap(&k, pcap);
    size_t nt;
    truth *t = read_truth(truth_path, &nt);
    CHECK(nt == want_mails, "one truth line per mail");
    size_t planted = 0;
    for (size_t i = 0; i < nt; i++) {
        planted += t[i].planted;
        CHECK(t[i].mail >= 1 && t[i].mail <= nt, "mail numbers 1..N");
        for (size_t j = i + 1; j < nt; j++)
            CHECK(t[i].mail != t[j].mail && strcmp(t[i].message_id, t[j].message_id),
                  "unique mail numbers and Message-IDs");
    }
    CHECK(planted == want_planted, "the planted count");
    size_t mails = 0;
    for (size_t i = 0; i < k.nconns; i++) {
        conn *c = &k.conns[i];
        CHECK(c->c.fin && c->s.fin, "both sides close");
        CHECK(c->c.fin_at == c->c.data.len && c->s.fin_at == c->s.data.len, "FIN after the data");
        for (size_t b = 0; b < c->c.data.len; b++)
            CHECK(c->c.have[b], "a client byte is missing");
        for (size_t b = 0; b < c->s.data.len; b++)
            CHECK(c->s.have[b], "a server byte is missing");
        mails += check_session(t, nt, c, dir, phrase);
    }
    CHECK(mails == nt, "every truth line's mail is in the trace");
    printf("ok: %" PRIu64 " packets, %zu connections, %zu mails (%zu planted), %" PRIu64
           " datagrams from fragments, %" PRIu64 " bytes seen twice\n",
           k.packets, k.nconns, mails, planted, k.fragments, k.retransmitted_bytes);
    for (size_t i = 0; i < k.nconns; i++) {
        sx_buf_free(&k.conns[i].c.data);
        sx_buf_free(&k.conns[i].s.data);
        free(k.conns[i].c.have);
        free(k.conns[i].s.have);
    }
    free(k.conns);
    free(k.frags);
    free(t);
    return 0;
}

/* ---- export: tshark's IMF objects against the .eml files ---- */

/** `export EXPORT_DIR MAILS_DIR`. */
static int export_mode(char **argv)
{
    const char *exp_dir = argv[0], *mails_dir = argv[1];
    DIR *d = opendir(mails_dir);
    CHECK(d != NULL, "open the mails directory");
    uint64_t *hashes = NULL;
    size_t n = 0, cap = 0;
    sx_buf b = {0};
    char path[4096];
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", mails_dir, de->d_name);
        CHECK(read_file(path, &b), "read a .eml file");
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            hashes = sx_realloc(hashes, cap * sizeof *hashes);
        }
        hashes[n++] = fnv1a(b.p, b.len);
    }
    closedir(d);
    d = opendir(exp_dir);
    CHECK(d != NULL, "open the export directory");
    size_t files = 0, empty_last = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", exp_dir, de->d_name);
        CHECK(read_file(path, &b), "read an exported file");
        unstuff(&b);
        uint64_t h = fnv1a(b.p, b.len);
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = hashes[i] == h;
        if (!found && b.len >= 2 && !memcmp(b.p + b.len - 2, "\r\n", 2)) {
            /* tshark 4.0 drops the empty last line of a mail that ends
             * with one ("...\r\n\r\n.\r\n"): put it back. */
            sx_buf_put(&b, "\r\n", 2);
            h = fnv1a(b.p, b.len);
            for (size_t i = 0; i < n && !found; i++)
                found = hashes[i] == h;
            empty_last += found;
        }
        if (!found)
            fprintf(stderr, "FAIL: %s matches no .eml file\n", path);
        CHECK(found, "an exported mail equals a generated one");
        files++;
    }
    closedir(d);
    CHECK(files > 0, "tshark exported mails");
    printf("ok: %zu exported mails equal generated ones (of %zu; %zu ending in an empty line)\n",
           files, n, empty_last);
    sx_buf_free(&b);
    free(hashes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "units")) {
        test_rng();
        test_packet_build();
        test_pcap_writer();
        test_mail_build();
        test_mail_replay();
        printf("ok: units\n");
        return 0;
    }
    if (argc == 8 && !strcmp(argv[1], "check"))
        return check_mode(argv + 2);
    if (argc == 4 && !strcmp(argv[1], "export"))
        return export_mode(argv + 2);
    fprintf(stderr, "usage: test_gen_smtp units | check PCAP TRUTH MAILS_DIR PHRASE MAILS PLANTED"
                    " | export EXPORT_DIR MAILS_DIR\n");
    return 2;
}
