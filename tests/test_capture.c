/*
 * test_capture.c -- the packet source, read the way the pipeline reads it.
 *
 * Usage: test_capture PCAP_DIR   (PCAP_DIR: ../shared/data/pcaps)
 *
 * Synthesized captures (written here with pcap_open_dead + pcap_dump)
 * cover every link type and every counter; the public captures in PCAP_DIR
 * cover real files, filters, errors and truncation. Exit 0 on success, 1
 * with a message on a failure, 77 (skipped) when PCAP_DIR is absent, after
 * the synthesized tests have passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/progress.h"
#include "capture/source.h"

/* Expected numbers for the public captures. There is no tcpdump or tshark
 * on the build machine, so they were computed once by a short Python
 * script walking the pcap record headers (24-byte file header, 16-byte
 * record headers) and the Ethernet/IPv4/TCP headers inside:
 *   zeek-smtp.pcap: LINKTYPE_ETHERNET, 125 records, all IPv4, 80 of them
 *     TCP with port 25 (the rest is port 587 and other traffic), 38919
 *     wire bytes, 14 frames carrying Ethernet padding; first packet
 *     10.10.1.4 -> 10.10.1.1, IP total length 62.
 *   zeek-sip-sip-long-request-response-paths.pcap: link type 228
 *     (DLT_IPV4, raw IPv4), 2 records, first 192.0.2.10 -> 198.51.100.20,
 *     IP total length 9591. */
#define SMTP_PACKETS 125
#define SMTP_PORT25 80
#define SMTP_WIRE_BYTES 38919
#define SMTP_FILE_SIZE 40943
#define SIP_PACKETS 2

static char tmpdir[256];

/** Prints a failure and exits 1. */
static void fail(int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL test_capture.c:%d: ", line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}
#define CHECK(cond, ...) do { if (!(cond)) fail(__LINE__, __VA_ARGS__); } while (0)

/** Formats an IPv4 value as text into buf. */
static const char *ip_text(const sx_value *v, char *buf, size_t len)
{
    if (v->kind != SX_IP || v->u.ip.family != 4)
        return "(not an IPv4 value)";
    snprintf(buf, len, "%u.%u.%u.%u", v->u.ip.addr[0], v->u.ip.addr[1], v->u.ip.addr[2],
             v->u.ip.addr[3]);
    return buf;
}

/* What a read-to-the-end gave. */
typedef struct result {
    int rc;             /* last sx_capture_next return */
    uint64_t delivered;
    char err[512];
    sx_capture_stats st;
    sx_tuple first;     /* the first tuple delivered (empty if none) */
    sx_tuple last;
} result;

/** Checks a delivered tuple's shape: input(@NODE, bytes, ip, ip), PKT
 *  length equal to min(IP total length, bytes) and addresses from PKT. */
static void check_tuple(const sx_tuple *t, const char *node)
{
    CHECK(sx_tuple_is(t, "input") && t->n == 4, "tuple is not input/4");
    CHECK(t->vals[0].kind == SX_STR && strcmp((const char *)t->vals[0].u.blob->data, node) == 0,
          "@NODE is not \"%s\"", node);
    CHECK(t->vals[1].kind == SX_BYTES, "PKT is not bytes");
    const sx_blob *b = t->vals[1].u.blob;
    CHECK(b->len >= 20 && (b->data[0] >> 4) == 4, "PKT does not start with an IPv4 header");
    size_t total = (size_t)(b->data[2] << 8 | b->data[3]);
    CHECK(b->len <= total, "PKT is %zu bytes, longer than the IP total length %zu", b->len, total);
    CHECK(t->vals[2].kind == SX_IP && memcmp(t->vals[2].u.ip.addr, b->data + 12, 4) == 0,
          "SRC_IP does not match the packet");
    CHECK(t->vals[3].kind == SX_IP && memcmp(t->vals[3].u.ip.addr, b->data + 16, 4) == 0,
          "DST_IP does not match the packet");
}

/** Opens o and reads to the end (or an error), keeping the first and last tuples. */
static result read_all(const sx_capture_opts *o)
{
    result r;
    memset(&r, 0, sizeof r);
    sx_capture *c = sx_capture_open(o, r.err, sizeof r.err);
    CHECK(c, "open %s: %s", o->path, r.err);
    sx_tuple t = {0};
    int64_t ns, prev_ns = INT64_MIN;
    while ((r.rc = sx_capture_next(c, &t, &ns, r.err, sizeof r.err)) == 1) {
        check_tuple(&t, o->node ? o->node : "local");
        CHECK(ns >= prev_ns, "timestamps go backwards in %s", o->path);
        prev_ns = ns;
        if (r.delivered++ == 0)
            sx_tuple_copy(&r.first, &t);
        sx_tuple_clear(&r.last);
        r.last = t;
        memset(&t, 0, sizeof t);
    }
    sx_capture_stats_get(c, &r.st);
    CHECK(r.st.packets_seen == r.st.ipv4_delivered + r.st.ipv6_skipped + r.st.nonip_skipped +
          r.st.malformed, "counters do not add up to packets seen");
    CHECK(r.st.ipv4_delivered == r.delivered, "ipv4_delivered %" PRIu64 " != delivered %" PRIu64,
          r.st.ipv4_delivered, r.delivered);
    sx_capture_close(&c);
    CHECK(c == NULL, "close does not null the pointer");
    return r;
}

/** Releases the tuples a result holds. */
static void result_clear(result *r)
{
    sx_tuple_clear(&r->first);
    sx_tuple_clear(&r->last);
}

/** Reads a file that must open and end cleanly. */
static result read_file(const char *path, const char *filter)
{
    sx_capture_opts o = { .path = path, .filter = filter };
    result r = read_all(&o);
    CHECK(r.rc == 0, "%s: read failed: %s", path, r.err);
    return r;
}

/* ---- synthesized captures ---- */

/** Writes a 20-byte IPv4 header (10.0.0.SRC -> 10.0.0.DST, UDP) claiming total. */
static size_t put_ipv4(uint8_t *p, uint16_t total, uint8_t src, uint8_t dst)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    p[8] = 64;
    p[9] = 17;
    p[12] = 10, p[15] = src;
    p[16] = 10, p[19] = dst;
    return 20;
}

/** Writes an Ethernet header with the given ethertype. */
static size_t put_eth(uint8_t *p, uint16_t type)
{
    memset(p, 0xaa, 12);
    p[12] = (uint8_t)(type >> 8);
    p[13] = (uint8_t)type;
    return 14;
}

/** Appends a VLAN tag (TCI 5) followed by the next ethertype. */
static size_t put_tag(uint8_t *p, uint16_t next)
{
    p[0] = 0, p[1] = 5;
    p[2] = (uint8_t)(next >> 8);
    p[3] = (uint8_t)next;
    return 4;
}

/* A synthesized capture file being written. */
typedef struct writer {
    pcap_t *dead;
    pcap_dumper_t *d;
    char path[512];
    int n;
} writer;

/** Starts a capture file NAME in tmpdir with link type dlt. */
static void writer_open(writer *w, const char *name, int dlt)
{
    snprintf(w->path, sizeof w->path, "%s/%s", tmpdir, name);
    w->dead = pcap_open_dead(dlt, 65535);
    CHECK(w->dead, "pcap_open_dead(%d) failed", dlt);
    w->d = pcap_dump_open(w->dead, w->path);
    CHECK(w->d, "pcap_dump_open %s: %s", w->path, pcap_geterr(w->dead));
    w->n = 0;
}

/** Appends a frame of caplen bytes that had wire_len on the wire. */
static void writer_add(writer *w, const uint8_t *frame, uint32_t caplen, uint32_t wire_len)
{
    struct pcap_pkthdr h = { .caplen = caplen, .len = wire_len };
    h.ts.tv_sec = 1000 + w->n++;
    pcap_dump((u_char *)w->d, &h, frame);
}

/** Finishes the file. */
static void writer_close(writer *w)
{
    CHECK(pcap_dump_flush(w->d) == 0, "pcap_dump_flush %s failed", w->path);
    pcap_dump_close(w->d);
    pcap_close(w->dead);
}

/** Expects the counters of r to be exactly these. */
static void check_counts(const char *what, const result *r, uint64_t seen, uint64_t v4,
                         uint64_t v6, uint64_t nonip, uint64_t malformed, uint64_t snap)
{
    const sx_capture_stats *s = &r->st;
    CHECK(s->packets_seen == seen && s->ipv4_delivered == v4 && s->ipv6_skipped == v6 &&
          s->nonip_skipped == nonip && s->malformed == malformed && s->snap_truncated == snap,
          "%s: counters seen/v4/v6/nonip/malformed/snap are %" PRIu64 "/%" PRIu64 "/%" PRIu64
          "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 ", expected %" PRIu64 "/%" PRIu64 "/%" PRIu64
          "/%" PRIu64 "/%" PRIu64 "/%" PRIu64, what, s->packets_seen, s->ipv4_delivered,
          s->ipv6_skipped, s->nonip_skipped, s->malformed, s->snap_truncated, seen, v4, v6,
          nonip, malformed, snap);
}

/** Expects tuple t's PKT to be len bytes from 10.0.0.SRC to 10.0.0.DST. */
static void check_pkt(const char *what, const sx_tuple *t, size_t len, uint8_t src, uint8_t dst)
{
    char a[32], b[32];
    CHECK(t->n == 4, "%s: no tuple", what);
    CHECK(t->vals[1].u.blob->len == len, "%s: PKT is %zu bytes, expected %zu", what,
          t->vals[1].u.blob->len, len);
    CHECK(t->vals[2].u.ip.addr[3] == src && t->vals[3].u.ip.addr[3] == dst,
          "%s: addresses %s -> %s, expected 10.0.0.%u -> 10.0.0.%u", what,
          ip_text(&t->vals[2], a, sizeof a), ip_text(&t->vals[3], b, sizeof b), src, dst);
}

/** Ethernet with tags, IPv6, ARP, lying headers, padding, snap cut. */
static void test_ethernet_synth(void)
{
    writer w;
    uint8_t f[256];
    size_t n;
    writer_open(&w, "eth.pcap", DLT_EN10MB);
    /* 1: QinQ 802.1ad outer + 802.1Q inner, IPv4 (delivered, 28 bytes) */
    n = put_eth(f, 0x88a8);
    n += put_tag(f + n, 0x8100);
    n += put_tag(f + n, 0x0800);
    n += put_ipv4(f + n, 28, 1, 2);
    memset(f + n, 0, 8), n += 8;
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    /* 2: old QinQ 0x9100 tag, IPv4 (delivered) */
    n = put_eth(f, 0x9100);
    n += put_tag(f + n, 0x0800);
    n += put_ipv4(f + n, 20, 3, 4);
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    /* 3: IPv6 */
    n = put_eth(f, 0x86dd);
    memset(f + n, 0, 40), f[n] = 0x60, n += 40;
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    /* 4: ARP */
    n = put_eth(f, 0x0806);
    memset(f + n, 0, 28), n += 28;
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    /* 5: total length 1000 on a 34-byte frame: a lie (malformed) */
    n = put_eth(f, 0x0800);
    n += put_ipv4(f + n, 1000, 5, 6);
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    /* 6: total length 10 < header length 20 (malformed) */
    n = put_eth(f, 0x0800);
    n += put_ipv4(f + n, 10, 5, 6);
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    /* 7: IHL 4 words = 16 bytes < 20 (malformed) */
    n = put_eth(f, 0x0800);
    n += put_ipv4(f + n, 20, 5, 6);
    f[14] = 0x44;
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    /* 8: ethertype IPv4 but version 6 (malformed) */
    n = put_eth(f, 0x0800);
    n += put_ipv4(f + n, 20, 5, 6);
    f[14] = 0x65;
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    /* 9: only 10 bytes of IP header captured (malformed) */
    n = put_eth(f, 0x0800);
    put_ipv4(f + n, 20, 5, 6);
    writer_add(&w, f, (uint32_t)n + 10, (uint32_t)n + 10);
    /* 10: 28-byte IPv4 in a 60-byte padded frame (delivered, 28 bytes) */
    n = put_eth(f, 0x0800);
    n += put_ipv4(f + n, 28, 7, 8);
    memset(f + n, 0, 60 - n);
    writer_add(&w, f, 60, 60);
    /* 11: 100-byte frame cut to 40 by the snap length (delivered, 26 bytes, snap-truncated) */
    n = put_eth(f, 0x0800);
    n += put_ipv4(f + n, 86, 9, 10);
    memset(f + n, 0, 40 - n);
    writer_add(&w, f, 40, 100);
    /* 12: nine VLAN tags, over SX_CAPTURE_VLAN_MAX (malformed) */
    n = put_eth(f, 0x8100);
    for (int i = 0; i < 9; i++)
        n += put_tag(f + n, i < 8 ? 0x8100 : 0x0800);
    n += put_ipv4(f + n, 20, 5, 6);
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    writer_close(&w);

    sx_capture_opts o = { .path = w.path, .node = "n1" };
    result r = read_all(&o);
    CHECK(r.rc == 0, "eth.pcap: %s", r.err);
    check_counts("eth.pcap", &r, 12, 4, 1, 1, 6, 1);
    check_pkt("eth.pcap first (QinQ)", &r.first, 28, 1, 2);
    check_pkt("eth.pcap last (snap cut)", &r.last, 26, 9, 10);
    result_clear(&r);

    /* The padded frame alone: padding trimmed to the IP total length. */
    o.filter = "ip src 10.0.0.7";
    r = read_all(&o);
    check_counts("eth.pcap padded", &r, 1, 1, 0, 0, 0, 0);
    check_pkt("eth.pcap padded", &r.first, 28, 7, 8);
    result_clear(&r);
}

/** Writes NAME with link type dlt: header hdr (hlen bytes) + IPv4, then
 *  hdr6 + an IPv6 header; expects one delivered and one IPv6 skipped. */
static void check_link(const char *name, int dlt, const uint8_t *hdr, size_t hlen,
                       const uint8_t *hdr6)
{
    writer w;
    uint8_t f[128];
    writer_open(&w, name, dlt);
    if (hlen)
        memcpy(f, hdr, hlen);
    size_t n = hlen + put_ipv4(f + hlen, 24, 11, 12);
    memset(f + n, 0, 4), n += 4;
    writer_add(&w, f, (uint32_t)n, (uint32_t)n);
    if (hlen)
        memcpy(f, hdr6, hlen);
    memset(f + hlen, 0, 40), f[hlen] = 0x60;
    writer_add(&w, f, (uint32_t)hlen + 40, (uint32_t)hlen + 40);
    writer_close(&w);
    result r = read_file(w.path, NULL);
    check_counts(name, &r, 2, 1, 1, 0, 0, 0);
    check_pkt(name, &r.first, 24, 11, 12);
    result_clear(&r);
}

/** Linux cooked v1/v2, BSD loopback (both byte orders), raw IP. */
static void test_link_types(void)
{
    uint8_t sll[16] = {0}, sll6[16] = {0};
    sll[14] = 0x08, sll6[14] = 0x86, sll6[15] = 0xdd;
    check_link("sll.pcap", DLT_LINUX_SLL, sll, 16, sll6);
    uint8_t sll2[20] = {0}, sll2_6[20] = {0};
    sll2[0] = 0x08, sll2_6[0] = 0x86, sll2_6[1] = 0xdd;
    check_link("sll2.pcap", DLT_LINUX_SLL2, sll2, 20, sll2_6);
    uint8_t null_le[4] = {2, 0, 0, 0}, null6_le[4] = {30, 0, 0, 0};
    check_link("null-le.pcap", DLT_NULL, null_le, 4, null6_le);
    uint8_t null_be[4] = {0, 0, 0, 2}, null6_be[4] = {0, 0, 0, 24};
    check_link("null-be.pcap", DLT_NULL, null_be, 4, null6_be);
    check_link("loop.pcap", DLT_LOOP, null_be, 4, null6_be);
    check_link("raw.pcap", DLT_RAW, NULL, 0, NULL);

    /* An unsupported link type is refused at open, by name. */
    writer w;
    writer_open(&w, "wifi.pcap", DLT_IEEE802_11);
    writer_close(&w);
    char err[256] = "";
    sx_capture_opts o = { .path = w.path };
    sx_capture *c = sx_capture_open(&o, err, sizeof err);
    CHECK(!c && strstr(err, "unsupported link type") && strstr(err, "IEEE802_11"),
          "802.11 capture: expected an unsupported link type error, got \"%s\"", err);
}

/* ---- public captures ---- */

/** zeek-smtp.pcap: counts, first packet, progress, break, stats output. */
static void test_smtp(const char *path)
{
    result r = read_file(path, NULL);
    check_counts("zeek-smtp.pcap", &r, SMTP_PACKETS, SMTP_PACKETS, 0, 0, 0, 0);
    CHECK(r.st.bytes_seen == SMTP_WIRE_BYTES, "bytes seen %" PRIu64 ", expected %d",
          r.st.bytes_seen, SMTP_WIRE_BYTES);
    char a[32], b[32];
    const sx_tuple *t = &r.first;
    const sx_blob *pkt = t->vals[1].u.blob;
    CHECK(strcmp(ip_text(&t->vals[2], a, sizeof a), "10.10.1.4") == 0 &&
          strcmp(ip_text(&t->vals[3], b, sizeof b), "10.10.1.1") == 0,
          "first packet %s -> %s, expected 10.10.1.4 -> 10.10.1.1", a, b);
    CHECK(pkt->len == 62 && (size_t)(pkt->data[2] << 8 | pkt->data[3]) == pkt->len,
          "first PKT is %zu bytes, expected the IP total length 62", pkt->len);

    char *json = NULL;
    size_t json_len = 0;
    FILE *mf = open_memstream(&json, &json_len);
    CHECK(mf, "open_memstream: %s", strerror(errno));
    CHECK(sx_capture_stats_json(&r.st, mf) == 0, "stats_json failed");
    sx_capture_stats_print(&r.st, mf);
    CHECK(fclose(mf) == 0, "fclose memstream");
    CHECK(strstr(json, "\"ipv4_delivered\": 125,") && strstr(json, "125 IPv4 delivered"),
          "stats output lacks the delivered count:\n%s", json);
    free(json);
    result_clear(&r);

    r = read_file(path, "tcp port 25");
    check_counts("zeek-smtp.pcap tcp port 25", &r, SMTP_PORT25, SMTP_PORT25, 0, 0, 0, 0);
    result_clear(&r);

    /* Progress reaches the file size; the bar is silent off a terminal. */
    char err[256];
    sx_capture_opts o = { .path = path };
    sx_capture *c = sx_capture_open(&o, err, sizeof err);
    CHECK(c, "open %s: %s", path, err);
    uint64_t done = 0, size = 0, bits = 0;
    CHECK(sx_capture_progress(c, &done, &size) == 1 && size == SMTP_FILE_SIZE,
          "progress: file size %" PRIu64 ", expected %d", size, SMTP_FILE_SIZE);
    sx_progress *bar = sx_progress_new(size);
    sx_tuple tu = {0};
    int64_t ns;
    CHECK(sx_capture_next(c, &tu, &ns, err, sizeof err) == 1, "first read: %s", err);
    /* The trace is from 2009: in nanoseconds that is above 1e18. */
    CHECK(ns > 1000000000LL * 1000000000LL, "timestamp %" PRId64 " is not in ns", ns);
    /* A non-empty output tuple is refused. */
    CHECK(sx_capture_next(c, &tu, &ns, err, sizeof err) == -1 && strstr(err, "not empty"),
          "a non-empty output tuple was accepted");
    bits += tu.vals[1].u.blob->len * 8;
    sx_tuple_clear(&tu);
    while (sx_capture_next(c, &tu, &ns, err, sizeof err) == 1) {
        bits += tu.vals[1].u.blob->len * 8;
        sx_tuple_clear(&tu);
        CHECK(sx_capture_progress(c, &done, &size) == 1, "progress unknown mid-file");
        sx_progress_update(bar, done, bits);
    }
    CHECK(sx_capture_progress(c, &done, &size) == 1 && done == size,
          "progress at the end: %" PRIu64 " of %" PRIu64, done, size);
    sx_progress_finish(&bar);
    CHECK(bar == NULL, "progress_finish does not null the pointer");
    sx_capture_close(&c);

    /* sx_capture_break ends the read early. */
    c = sx_capture_open(&o, err, sizeof err);
    CHECK(c, "open %s: %s", path, err);
    CHECK(sx_capture_next(c, &tu, &ns, err, sizeof err) == 1, "read: %s", err);
    sx_tuple_clear(&tu);
    sx_capture_break(c);
    CHECK(sx_capture_next(c, &tu, &ns, err, sizeof err) == 0, "next after break is not 0");
    sx_capture_close(&c);
}

/** The DLT_IPV4 (raw IPv4) SIP capture. */
static void test_sip_raw(const char *path)
{
    result r = read_file(path, NULL);
    check_counts("zeek-sip-sip-long-request-response-paths.pcap", &r, SIP_PACKETS, SIP_PACKETS,
                 0, 0, 0, 0);
    char a[32], b[32];
    CHECK(strcmp(ip_text(&r.first.vals[2], a, sizeof a), "192.0.2.10") == 0 &&
          strcmp(ip_text(&r.first.vals[3], b, sizeof b), "198.51.100.20") == 0 &&
          r.first.vals[1].u.blob->len == 9591,
          "SIP first packet %s -> %s, %zu bytes; expected 192.0.2.10 -> 198.51.100.20, 9591",
          a, b, r.first.vals[1].u.blob->len);
    result_clear(&r);
}

/** Open errors: bad filter, missing file. */
static void test_open_errors(const char *smtp)
{
    char err[256] = "";
    sx_capture_opts o = { .path = smtp, .filter = "tcp port banana" };
    sx_capture *c = sx_capture_open(&o, err, sizeof err);
    CHECK(!c && strstr(err, "tcp port banana"), "bad filter: expected an error naming it, got \"%s\"",
          err);
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such-file.pcap", tmpdir);
    o = (sx_capture_opts){ .path = missing };
    err[0] = 0;
    c = sx_capture_open(&o, err, sizeof err);
    CHECK(!c && strstr(err, "no-such-file.pcap"), "missing file: expected an error naming it, got \"%s\"",
          err);
}

/** Live open errors: a missing interface (no such device, or no
 *  permission when not root) and a file and an interface at once. */
static void test_live_errors(void)
{
    char err[256] = "";
    sx_capture_opts o = { .interface = "sxnosuch0", .promiscuous = true, .buffer_mib = 4,
                          .immediate = true };
    sx_capture *c = sx_capture_open(&o, err, sizeof err);
    CHECK(!c && strncmp(err, "sxnosuch0: ", 11) == 0,
          "missing interface: expected an error naming it, got \"%s\"", err);
    o.path = "x.pcap";
    err[0] = 0;
    c = sx_capture_open(&o, err, sizeof err);
    CHECK(!c && strstr(err, "exactly one"), "file and interface: got \"%s\"", err);
}

/** A copy of smtp cut in the middle of packet 11: 10 delivered, then -1. */
static void test_truncated(const char *smtp)
{
    FILE *in = fopen(smtp, "rb");
    CHECK(in, "%s: %s", smtp, strerror(errno));
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, in);
    fclose(in);
    size_t off = 24; /* walk 10 little-endian record headers */
    for (int i = 0; i < 10; i++)
        off += 16 + (size_t)(buf[off + 8] | buf[off + 9] << 8 | buf[off + 10] << 16);
    size_t record11 = off;
    size_t cut = record11 + 16 + 5;
    CHECK(cut < len, "zeek-smtp.pcap is shorter than expected");
    char path[512];
    snprintf(path, sizeof path, "%s/truncated.pcap", tmpdir);
    FILE *out = fopen(path, "wb");
    CHECK(out && fwrite(buf, 1, cut, out) == cut && fclose(out) == 0, "writing %s", path);

    sx_capture_opts o = { .path = path };
    result r = read_all(&o);
    CHECK(r.rc == -1 && r.delivered == 10, "truncated: rc %d after %" PRIu64 " packets, expected -1 after 10",
          r.rc, r.delivered);
    char want[128];
    snprintf(want, sizeof want, "truncated at packet 11 (byte offset %zu)", record11);
    CHECK(strstr(r.err, path) && strstr(r.err, want), "truncated: message \"%s\" lacks \"%s\"",
          r.err, want);
    result_clear(&r);
}

/** Removes the synthesized files and the temporary directory. */
static void cleanup(void)
{
    const char *names[] = { "eth.pcap", "sll.pcap", "sll2.pcap", "null-le.pcap", "null-be.pcap",
                            "loop.pcap", "raw.pcap", "wifi.pcap", "truncated.pcap" };
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        if (unlink(p) != 0 && errno != ENOENT)
            fprintf(stderr, "warning: cannot remove %s: %s\n", p, strerror(errno));
    }
    if (rmdir(tmpdir) != 0)
        fprintf(stderr, "warning: cannot remove %s: %s\n", tmpdir, strerror(errno));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_capture PCAP_DIR\n");
        return 2;
    }
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sxcapXXXXXX", t && t[0] ? t : "/tmp");
    CHECK(mkdtemp(tmpdir), "mkdtemp %s: %s", tmpdir, strerror(errno));
    atexit(cleanup);

    test_ethernet_synth();
    test_link_types();
    test_live_errors();

    char smtp[1024], sip[1024];
    snprintf(smtp, sizeof smtp, "%s/zeek-smtp.pcap", argv[1]);
    snprintf(sip, sizeof sip, "%s/zeek-sip-sip-long-request-response-paths.pcap", argv[1]);
    struct stat sb;
    if (stat(smtp, &sb) != 0 || stat(sip, &sb) != 0) {
        printf("SKIP capture.source: public captures not found in %s "
               "(synthesized captures passed)\n", argv[1]);
        return 77;
    }
    test_smtp(smtp);
    test_sip_raw(sip);
    test_open_errors(smtp);
    test_truncated(smtp);
    printf("capture.source: ok\n");
    return 0;
}
