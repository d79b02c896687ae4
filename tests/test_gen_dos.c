/*
 * test_gen_dos.c -- tests of the DoS trace generator, and an independent
 * checker of what `scalanytics gen dos` writes.
 *
 *   test_gen_dos units
 *       the generator in process: bad options refused, the attack
 *       windows' defaults, the same options give the same bytes and
 *       another seed others, the stats add up, each attack starts
 *       rate x length connections.
 *   test_gen_dos check PCAP TRUTH
 *       reads PCAP with libpcap: strictly increasing times, every IPv4
 *       and TCP checksum; follows every connection (4-tuple): it opens
 *       with one SYN without ACK and has no other, sequence and
 *       acknowledgement numbers are exact (nothing is lost), nothing
 *       follows a RST, a normal close's later FIN is acknowledged;
 *       derives each connection's KDD flag by the rules of
 *       functions/conn_track.h and compares connections, start times
 *       and flags with TRUTH (which must list each once, sorted by
 *       start_us), then prints
 *       "connections C packets P syns S payload B SF n S0 n ...".
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "tools/gen_dos.h"

/* ---- helpers ---- */

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

/** The TCP checksum over the pseudo header of IPv4 header ip: 0 when
 *  right. */
static uint16_t tcp_sum(const uint8_t *ip, const uint8_t *tcp, size_t len)
{
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = ip[9];
    pseudo[10] = (uint8_t)(len >> 8);
    pseudo[11] = (uint8_t)len;
    uint16_t s = inet_sum(0, pseudo, 12);
    return inet_sum((uint16_t)~s, tcp, len);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** Lines in a file. */
static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f, path);
    size_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/** A whole file's bytes; *n its length. The caller frees them. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK(f, path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)len + 1);
    CHECK(p && fread(p, 1, (size_t)len, f) == (size_t)len, path);
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* ---- the checker ---- */

enum { F_SYN = 0x02, F_FIN = 0x01, F_RST = 0x04, F_ACK = 0x10 };

/* One side of a connection as its packets show it. */
typedef struct side {
    uint32_t ip;
    uint16_t port;
    bool synced, fin, fin_acked, rst;
    uint32_t nxt, fin_end;
} side;

typedef struct conn {
    bool used, truth, synack, est, ended; /* est: the SYN-ACK acknowledged */
    side o, r;           /* originator (first SYN), responder */
    uint64_t start_us, syns;
} conn;

typedef struct checker {
    conn *conns;
    size_t cap, nconns;
    uint64_t packets, syns, payload, last_us;
    uint64_t by_flag[SX_GEN_DOS_FLAGS + 1];
} checker;

/** The slot of the connection between two endpoints (either way). */
static conn *find(checker *k, uint32_t ip1, uint16_t p1, uint32_t ip2, uint16_t p2, bool *fresh)
{
    uint64_t a = (uint64_t)ip1 << 16 | p1, b = (uint64_t)ip2 << 16 | p2;
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t h = (lo * 0x9e3779b97f4a7c15u) ^ (hi * 0xc2b2ae3d27d4eb4fu);
    for (size_t i = (size_t)(h >> 20) & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
        conn *c = &k->conns[i];
        if (!c->used) {
            *fresh = true;
            return c;
        }
        bool same = (c->o.ip == ip1 && c->o.port == p1 && c->r.ip == ip2 && c->r.port == p2) ||
                    (c->o.ip == ip2 && c->o.port == p2 && c->r.ip == ip1 && c->r.port == p1);
        if (same) {
            *fresh = false;
            return c;
        }
    }
}

/** The flag by functions/conn_track.h's table (a checker's own copy);
 *  SX_GEN_DOS_FLAGS for one the generator never emits. */
static int flag_of(const conn *c)
{
    if (!c->est) {
        if (c->r.rst)
            return SX_GEN_DOS_REJ;
        if (c->o.rst)
            return SX_GEN_DOS_RSTOS0;
        if (c->o.fin)
            return SX_GEN_DOS_FLAGS; /* SH */
        return SX_GEN_DOS_S0; /* no reply, or a SYN-ACK never acknowledged */
    }
    if (c->o.rst)
        return SX_GEN_DOS_RSTO;
    if (c->r.rst)
        return SX_GEN_DOS_RSTR;
    if (c->o.fin && c->r.fin)
        return SX_GEN_DOS_SF;
    return c->o.fin || c->r.fin ? SX_GEN_DOS_FLAGS : SX_GEN_DOS_S1; /* S2, S3 */
}

/** Checks one TCP segment of c from side s to side p against what the
 *  two sides sent before, and notes what it does. */
static void on_segment(checker *k, conn *c, side *s, side *p, uint8_t flags, uint32_t seq,
                       uint32_t ack, size_t len)
{
    CHECK(!c->ended, "no packet follows a RST");
    if ((flags & F_SYN) && !(flags & F_ACK)) {
        CHECK(s == &c->o && ++c->syns == 1, "one SYN without ACK, from the originator");
        k->syns++;
    }
    if ((flags & (F_SYN | F_ACK)) == (F_SYN | F_ACK)) {
        CHECK(s == &c->r, "the SYN-ACK comes from the responder");
        c->synack = true;
    } else if (s == &c->o && (flags & F_ACK) && c->synack) {
        c->est = true; /* the handshake's third packet, or later */
    }
    if ((flags & F_RST) && !s->synced) { /* a refusal (RFC 793) */
        CHECK(seq == 0 && (flags & F_ACK) && ack == p->nxt, "a refusing RST acks the SYN");
    } else if (flags & F_SYN) {
        s->synced = true;
        s->nxt = seq;
    } else {
        CHECK(s->synced && seq == s->nxt, "sequence numbers follow on exactly");
    }
    if ((flags & F_ACK) && p->synced)
        CHECK(ack == p->nxt, "acknowledgement numbers are exact");
    if ((flags & F_ACK) && p->fin && ack == p->fin_end)
        p->fin_acked = true;
    s->nxt += (uint32_t)len + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
    if (flags & F_FIN) {
        CHECK(!s->fin, "one FIN a side");
        s->fin = true;
        s->fin_end = s->nxt;
    }
    if (flags & F_RST)
        c->ended = s->rst = true;
    k->payload += len;
}

/** Checks one captured frame and feeds its segment to its connection. */
static void on_frame(checker *k, const struct pcap_pkthdr *h, const uint8_t *d)
{
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    CHECK(ts > k->last_us, "capture times strictly increase");
    k->last_us = ts;
    k->packets++;
    CHECK(h->caplen == h->len && h->len >= 54 && be16(d + 12) == 0x0800, "whole IPv4 frames");
    const uint8_t *ip = d + 14;
    size_t ihl = (size_t)(ip[0] & 15) * 4, total = be16(ip + 2);
    CHECK(ip[0] >> 4 == 4 && ihl == 20 && total + 14 == h->len && ip[9] == 6, "IPv4 + TCP");
    CHECK(inet_sum(0, ip, ihl) == 0, "IPv4 header checksum");
    const uint8_t *tcp = ip + ihl;
    size_t tcp_len = total - ihl, off = (size_t)(tcp[12] >> 4) * 4;
    CHECK(off >= 20 && off <= tcp_len, "TCP header length");
    CHECK(tcp_sum(ip, tcp, tcp_len) == 0, "TCP checksum");
    uint32_t src = be32(ip + 12), dst = be32(ip + 16);
    uint16_t sport = be16(tcp), dport = be16(tcp + 2);
    uint8_t flags = tcp[13];
    bool fresh;
    conn *c = find(k, src, sport, dst, dport, &fresh);
    if (fresh) {
        CHECK((flags & (F_SYN | F_ACK | F_RST | F_FIN)) == F_SYN,
              "a connection opens with a SYN without ACK");
        CHECK(++k->nconns * 2 <= k->cap, "no more connections than truth lines");
        *c = (conn){.used = true, .start_us = ts, .o = {.ip = src, .port = sport},
                    .r = {.ip = dst, .port = dport}};
    }
    bool from_o = c->o.ip == src && c->o.port == sport;
    on_segment(k, c, from_o ? &c->o : &c->r, from_o ? &c->r : &c->o, flags, be32(tcp + 4),
               be32(tcp + 8), tcp_len - off);
}

/** Finds the index of name in names (n of them); -1 if none. */
static int index_of(const char *name, const char *(*name_of)(int), int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(name, name_of(i)))
            return i;
    return -1;
}

static const char *kind_at(int i)
{
    return sx_gen_dos_kind_name((sx_gen_dos_kind)i);
}

static const char *label_at(int i)
{
    return sx_gen_dos_label_name((sx_gen_dos_label)i);
}

static const char *flag_at(int i)
{
    return sx_gen_dos_flag_name((sx_gen_dos_flag)i);
}

/** Checks one truth line against the connections; returns its start. */
static uint64_t check_row(checker *k, char *line)
{
    char src[20], dst[20], label[16], kind[16], flag[16];
    unsigned sport, dport;
    uint64_t start;
    CHECK(sscanf(line, "%19[^,],%u,%19[^,],%u,%" SCNu64 ",%15[^,],%15[^,],%15[^,\n]", src,
                 &sport, dst, &dport, &start, label, kind, flag) == 8,
          line);
    struct in_addr a, b;
    CHECK(inet_pton(AF_INET, src, &a) == 1 && inet_pton(AF_INET, dst, &b) == 1, line);
    bool fresh;
    conn *c = find(k, ntohl(a.s_addr), (uint16_t)sport, ntohl(b.s_addr), (uint16_t)dport,
                   &fresh);
    CHECK(!fresh && c->o.ip == ntohl(a.s_addr) && c->o.port == sport, line);
    CHECK(!c->truth, "a connection has one truth line");
    c->truth = true;
    CHECK(c->start_us == start, "start_us is the SYN's time");
    int kd = index_of(kind, kind_at, SX_GEN_DOS_KINDS), fl = index_of(flag, flag_at,
                                                                      SX_GEN_DOS_FLAGS);
    CHECK(kd >= 0 && fl >= 0, line);
    CHECK(index_of(label, label_at, SX_GEN_DOS_LABELS) ==
              (int)sx_gen_dos_label_of((sx_gen_dos_kind)kd),
          "the label goes with the kind");
    int want = flag_of(c);
    if (want != fl)
        fprintf(stderr, "%s: the packets give %s\n", line,
                want < SX_GEN_DOS_FLAGS ? flag_at(want) : "a flag never emitted");
    CHECK(want == fl, "the flag is the packets'");
    CHECK(fl != SX_GEN_DOS_SF || (c->o.fin_acked && c->r.fin_acked), "SF closes are acked");
    k->by_flag[fl]++;
    return start;
}

/** Checks the truth file against the connections; returns its rows. */
static size_t check_truth(checker *k, const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f, path);
    char line[256];
    CHECK(fgets(line, sizeof line, f) &&
              !strcmp(line, "src,sport,dst,dport,start_us,label,kind,flag\n"),
          "the truth's header");
    size_t rows = 0;
    uint64_t last = 0;
    while (fgets(line, sizeof line, f)) {
        uint64_t start = check_row(k, line);
        CHECK(start > last, "the truth is sorted by start_us");
        last = start;
        rows++;
    }
    fclose(f);
    return rows;
}

static int check_mode(const char *pcap_path, const char *truth_path)
{
    checker k = {0};
    size_t rows = count_lines(truth_path);
    for (k.cap = 16; k.cap < 2 * rows; k.cap *= 2)
        ;
    k.conns = calloc(k.cap, sizeof *k.conns);
    CHECK(k.conns, "memory");
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(pcap_path, errbuf);
    CHECK(p, errbuf);
    CHECK(pcap_datalink(p) == DLT_EN10MB, "Ethernet");
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1)
        on_frame(&k, h, data);
    CHECK(rc == PCAP_ERROR_BREAK, "the pcap reads to its end");
    pcap_close(p);
    size_t checked = check_truth(&k, truth_path);
    CHECK(checked == k.nconns, "every connection in the trace has a truth line");
    printf("connections %zu packets %" PRIu64 " syns %" PRIu64 " payload %" PRIu64, k.nconns,
           k.packets, k.syns, k.payload);
    for (int f = 0; f < SX_GEN_DOS_FLAGS; f++)
        printf(" %s %" PRIu64, flag_at(f), k.by_flag[f]);
    printf("\n");
    free(k.conns);
    return 0;
}

/* ---- units ---- */

/** Runs the generator over o to the end; returns its stats. */
static sx_gen_dos_stats generate(const sx_gen_dos_opts *o)
{
    char err[512];
    CHECK(sx_gen_dos_check(o, err, sizeof err) == 0, err);
    sx_gen_dos *g = sx_gen_dos_new(o, err, sizeof err);
    CHECK(g, err);
    int more;
    while ((more = sx_gen_dos_run(g, 1000, err, sizeof err)) == 1)
        ;
    CHECK(more == 0, err);
    sx_gen_dos_stats st;
    sx_gen_dos_stats_get(g, &st);
    sx_gen_dos_destroy(&g);
    CHECK(g == NULL, "destroy nulls the pointer");
    return st;
}

/** True when sx_gen_dos_check refuses o with a message containing want. */
static bool refused(const sx_gen_dos_opts *o, const char *want)
{
    char err[512] = "";
    return sx_gen_dos_check(o, err, sizeof err) == -1 && strstr(err, want);
}

static void test_options(void)
{
    sx_gen_dos_opts o;
    sx_gen_dos_defaults(&o);
    CHECK(refused(&o, "-o FILE.pcap"), "an output is required");
    o.pcap_path = "x.pcap";
    o.truth_path = "x.csv";
    char err[512];
    CHECK(sx_gen_dos_check(&o, err, sizeof err) == 0, err);
    double start, length;
    sx_gen_dos_window(&o, SX_GEN_DOS_SYN_FLOOD, &start, &length);
    CHECK(start == 12 && length == 12, "the SYN flood: 20-40% of 60 s");
    sx_gen_dos_window(&o, SX_GEN_DOS_CONN_FLOOD, &start, &length);
    CHECK(start == 30 && length == 3, "the connection flood: 50-55%");
    sx_gen_dos_window(&o, SX_GEN_DOS_PORT_SCAN, &start, &length);
    CHECK(start == 42 && length == 6, "the scan: 70-80%");
    sx_gen_dos_opts b = o;
    b.duration_s = 0;
    CHECK(refused(&b, "--duration"), "duration 0");
    b = o;
    b.syn_flood.start_s = 50;
    CHECK(refused(&b, "--syn-flood-start 50 and --syn-flood-length 12 do not fit"),
          "a window past the end");
    b = o;
    b.conn_flood.rate = 0;
    CHECK(refused(&b, "--conn-flood-rate"), "rate 0");
    b = o;
    b.clients = 1;
    b.benign_rate = 1000; /* 60,000 sessions from one client */
    CHECK(refused(&b, "give more --clients"), "too few clients for distinct ports");
    b = o;
    b.attackers = 1;
    b.conn_flood.rate = 20000;
    CHECK(refused(&b, "give more --attackers"), "too few attackers for distinct ports");
    b = o;
    b.benign = b.syn_flood.on = b.conn_flood.on = b.port_scan.on = false;
    CHECK(refused(&b, "turned off"), "nothing at all");
    b = o;
    b.half_open = SX_GEN_DOS_MAX_FLOOD + 1ull;
    CHECK(refused(&b, "--half-open"), "too many half-open");
    CHECK(sx_gen_dos_label_of(SX_GEN_DOS_SSH) == SX_GEN_DOS_NORMAL &&
              sx_gen_dos_label_of(SX_GEN_DOS_CONN_FLOOD) == SX_GEN_DOS_DOS &&
              sx_gen_dos_label_of(SX_GEN_DOS_PORT_SCAN) == SX_GEN_DOS_PROBE,
          "labels: scans are probes, floods dos");
}

/** Sums n counters. */
static uint64_t sum(const uint64_t *v, int n)
{
    uint64_t s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s;
}

static void test_generator(void)
{
    char dir[] = "/tmp/test_gen_dos.XXXXXX", a[64], at[64], b[64], bt[64], c[64], ct[64];
    CHECK(mkdtemp(dir), "a temporary directory");
    snprintf(a, sizeof a, "%s/a.pcap", dir);
    snprintf(at, sizeof at, "%s/a.csv", dir);
    snprintf(b, sizeof b, "%s/b.pcap", dir);
    snprintf(bt, sizeof bt, "%s/b.csv", dir);
    snprintf(c, sizeof c, "%s/c.pcap", dir);
    snprintf(ct, sizeof ct, "%s/c.csv", dir);
    sx_gen_dos_opts o;
    sx_gen_dos_defaults(&o);
    o.duration_s = 10;
    o.syn_flood.rate = 100;          /* 2 s: 200 SYNs */
    o.syn_answered = 0.25;
    o.conn_flood.rate = 100;         /* 0.5 s: 50 connections */
    o.port_scan.rate = 1000;         /* 1 s: 1000 of 1024 ports */
    o.pcap_path = a;
    o.truth_path = at;
    sx_gen_dos_stats sa = generate(&o);
    o.pcap_path = b;
    o.truth_path = bt;
    generate(&o);
    o.seed = 2;
    o.pcap_path = c;
    o.truth_path = ct;
    generate(&o);
    size_t na, nb, nc;
    char *pa = slurp(a, &na), *pb = slurp(b, &nb), *pc = slurp(c, &nc);
    CHECK(na == nb && !memcmp(pa, pb, na), "same options, same pcap");
    CHECK(na != nc || memcmp(pa, pc, na), "another seed, another pcap");
    free(pa);
    free(pb);
    free(pc);
    pa = slurp(at, &na);
    pb = slurp(bt, &nb);
    CHECK(na == nb && !memcmp(pa, pb, na), "same options, same truth");
    free(pa);
    free(pb);
    CHECK(sa.by_kind[SX_GEN_DOS_SYN_FLOOD] == 200 && sa.by_kind[SX_GEN_DOS_CONN_FLOOD] == 50 &&
              sa.by_kind[SX_GEN_DOS_PORT_SCAN] == 1000,
          "each attack starts rate x length connections");
    CHECK(sum(sa.by_kind, SX_GEN_DOS_KINDS) == sa.connections &&
              sum(sa.by_label, SX_GEN_DOS_LABELS) == sa.connections &&
              sum(sa.by_flag, SX_GEN_DOS_FLAGS) == sa.connections,
          "the counts add up");
    CHECK(sa.by_flag[SX_GEN_DOS_RSTOS0] > 0 && sa.by_flag[SX_GEN_DOS_REJ] > 0,
          "open ports (RSTOS0), closed ones (REJ)");
    CHECK(count_lines(at) == sa.connections + 1, "a truth line per connection");
    const char *files[] = {a, at, b, bt, c, ct};
    for (int i = 0; i < 6; i++)
        unlink(files[i]);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "units")) {
        test_options();
        test_generator();
        printf("ok: units\n");
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "check"))
        return check_mode(argv[2], argv[3]);
    fprintf(stderr, "usage: test_gen_dos units | check PCAP TRUTH\n");
    return 2;
}
