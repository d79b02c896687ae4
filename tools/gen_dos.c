/*
 * gen_dos.c -- the DoS trace generator: TCP connections as scripts of
 * timed steps, an event queue that interleaves them, their packets, and
 * the per-connection truth.
 *
 * Design: four sources start connections: benign sessions (Poisson
 * arrivals over the whole duration), the SYN flood, the connection
 * flood and the port scan (each at a fixed rate in its window). A
 * connection is drawn whole when it starts: its endpoints, its flag and
 * a script (each step one control segment or one application message,
 * cut into MSS-sized segments, with its delay after the previous step).
 * A binary heap holds each connection's next step and each source's
 * next arrival, ordered by (time, push number). A packet goes out at
 * max(its time, the previous packet's + 1 us), so capture times strictly
 * increase in file order; a truth line is written when a connection's
 * SYN goes out, so the truth is sorted by start_us without sorting.
 * Delays assume a capture point next to the servers: a server answers
 * within microseconds to milliseconds, a client a round trip later.
 *
 * Invariants: no 4-tuple occurs twice. Benign clients (10.1/16) and
 * flood attackers (203.0.113/24) take ephemeral ports 32768-60999 in
 * turn, and the generator fails rather than reuse one; the scanner's
 * probes go to distinct ports; spoofed sources are distinct (a keyed
 * permutation of the 32-bit space, cycle-walked past reserved ranges).
 * Every connection begins with one SYN without ACK and has no other.
 * Each connection's draws come from its own stream (source, number).
 */
#include "tools/gen_dos.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "tools/buf.h"
#include "tools/event_heap.h"
#include "tools/packet_build.h"
#include "tools/pcap_writer.h"
#include "tools/rng.h"
#include "tools/text_file.h"

#define EPOCH_US 1767225600000000ull /* 2026-01-01T00:00:00Z */
#define MSS 1460
#define FRAME_CAP 2048               /* frames are at most 14 + 20 + 24 + 1460 bytes */
#define SNAPLEN 65535
#define SEG_GAP_US 12                /* a full segment's time on a 1 Gb/s link */
#define MAX_STEPS 64                 /* the longest script (ssh) has about 50 */
#define MAX_SLOTS (1u << 20)         /* connections in progress at once, ~1.1 KB each */
#define EPHEMERAL_LO 32768           /* Linux's ephemeral port range */
#define EPHEMERAL_N 28232
#define CLIENT_SHARE 20000           /* benign sessions per client the options allow */
#define ROUTER_MAC 1                 /* outside hosts are seen behind the router */
#define SCANNER_IP 0xc6336407u       /* 198.51.100.7 */
#define ATTACKER_BASE 0xcb00710au    /* 203.0.113.10 */
#define SERVER_BASE 0xac10000au      /* 172.16.0.10 */
#define CLIENT_NET 0x0a010000u       /* 10.1.0.0/16 */
#define SPOOF_BASE 0x01000000u       /* spoofed source n is walked from 1.0.0.0 + n */

/* The sources of connections; each has its arrival heap entry. */
enum { SRC_BENIGN, SRC_SYN, SRC_CONNF, SRC_SCAN, SOURCES };
#define ARRIVAL(src) (UINT32_MAX - SOURCES + (uint32_t)(src))

/* Random streams (see rng.h). */
enum { STREAM_PLAN = 1, STREAM_SCHEDULE = 2, STREAM_CONN = 2 + SOURCES };

/* One step of a connection's script: a control segment (len 0) or an
 * application message (payload bytes off..off+len of the connection). */
typedef struct step {
    uint32_t delay_us; /* after the previous step went out */
    uint32_t off, len;
    uint8_t flags;     /* a control segment's TCP flags */
    bool from_resp;
} step;

/* One side of a connection. */
typedef struct endpoint {
    uint32_t ip;
    uint16_t port;
    uint16_t ip_id;
    uint16_t window;
    uint8_t ttl;
    bool synced;       /* it sent its SYN: its sequence numbers count */
    bool df;
    uint32_t nxt;      /* the next sequence number it sends */
} endpoint;

typedef struct conn {
    sx_rng rng;
    uint8_t kind, flag;
    bool syn_options;  /* its SYNs carry MSS (stacks do; flood tools send bare SYNs) */
    bool overflow;     /* the script did not fit MAX_STEPS: a bug */
    uint32_t rtt_us;   /* client <-> capture point <-> server */
    endpoint a, b;     /* originator, responder */
    step steps[MAX_STEPS];
    unsigned nsteps, cur;
    sx_buf payload;
} conn;

/* A source's arrivals: Poisson until end_us (count 0), or count of them
 * every gap_us from start_us. */
typedef struct source {
    bool on;
    uint64_t start_us, end_us, count, started;
    double gap_us;
    sx_rng rng;
} source;

struct sx_gen_dos {
    sx_gen_dos_opts o;
    sx_pcapw *pcap;
    FILE *truth;
    source src[SOURCES];
    uint32_t spoof_key[3];
    uint16_t *client_port;       /* next ephemeral port of each client */
    uint32_t *client_uses;
    uint16_t *attacker_port;
    uint32_t *attacker_uses;
    uint16_t scanner_port;
    uint16_t *scan_order;        /* the ports probed, in order */
    conn *conns;                 /* nslots of them */
    uint32_t nslots, *free_slots, nfree;
    sx_event_heap heap;          /* each slot's next step and the arrivals */
    uint64_t last_us;            /* capture time of the last packet */
    uint8_t frame[FRAME_CAP];
    sx_gen_dos_stats st;
    char err[512];
    bool failed, done;
};

static const char *const kind_names[SX_GEN_DOS_KINDS] = {
    "http", "smtp", "ftp", "ssh", "https", "syn_flood", "conn_flood", "port_scan"};
static const char *const label_names[SX_GEN_DOS_LABELS] = {"normal", "dos", "probe"};
static const char *const flag_names[SX_GEN_DOS_FLAGS] = {"SF",  "S0",   "S1",    "REJ",
                                                         "RSTO", "RSTR", "RSTOS0"};
static const uint16_t service_port[5] = {80, 25, 21, 22, 443}; /* by benign kind */
/* Benign services' shares (per mille): http, smtp, ftp, ssh, https. */
static const uint32_t service_share[5] = {400, 120, 80, 100, 300};
/* Benign outcomes' shares (per mille), by sx_gen_dos_flag. */
static const uint32_t outcome_share[SX_GEN_DOS_FLAGS] = {920, 15, 10, 15, 20, 20, 0};

void sx_gen_dos_defaults(sx_gen_dos_opts *o)
{
    *o = (sx_gen_dos_opts){.seed = 1, .duration_s = 60, .benign = true, .benign_rate = 50,
                           .clients = 200, .servers = 16,
                           .syn_flood = {true, 1000, -1, -1},
                           .conn_flood = {true, 200, -1, -1},
                           .port_scan = {true, 200, -1, -1},
                           .syn_answered = 0, .attackers = 4, .scan_ports = 1024,
                           .half_open = 0, .half_open_rate = 1000000};
}

const char *sx_gen_dos_kind_name(sx_gen_dos_kind k)
{
    return k < SX_GEN_DOS_KINDS ? kind_names[k] : "?";
}

const char *sx_gen_dos_label_name(sx_gen_dos_label l)
{
    return l < SX_GEN_DOS_LABELS ? label_names[l] : "?";
}

const char *sx_gen_dos_flag_name(sx_gen_dos_flag f)
{
    return f < SX_GEN_DOS_FLAGS ? flag_names[f] : "?";
}

sx_gen_dos_label sx_gen_dos_label_of(sx_gen_dos_kind k)
{
    return k == SX_GEN_DOS_PORT_SCAN   ? SX_GEN_DOS_PROBE
           : k >= SX_GEN_DOS_SYN_FLOOD ? SX_GEN_DOS_DOS
                                       : SX_GEN_DOS_NORMAL;
}

/* ---- options ---- */

/** The options of attack (a kind from SX_GEN_DOS_SYN_FLOOD on). */
static const sx_gen_dos_attack *attack_opts(const sx_gen_dos_opts *o, sx_gen_dos_kind attack)
{
    return attack == SX_GEN_DOS_SYN_FLOOD    ? &o->syn_flood
           : attack == SX_GEN_DOS_CONN_FLOOD ? &o->conn_flood
                                             : &o->port_scan;
}

void sx_gen_dos_window(const sx_gen_dos_opts *o, sx_gen_dos_kind attack, double *start_s,
                       double *length_s)
{
    static const double share[3][2] = {{0.2, 0.2}, {0.5, 0.05}, {0.7, 0.1}};
    const double *d = share[attack - SX_GEN_DOS_SYN_FLOOD];
    const sx_gen_dos_attack *a = attack_opts(o, attack);
    *start_s = a->start_s >= 0 ? a->start_s : d[0] * o->duration_s;
    *length_s = a->length_s >= 0 ? a->length_s : d[1] * o->duration_s;
}

/** How many connections attack starts: rate x length, rounded (the
 *  scan's at most its ports). */
static uint64_t attack_count(const sx_gen_dos_opts *o, sx_gen_dos_kind attack)
{
    const sx_gen_dos_attack *a = attack_opts(o, attack);
    double start, length;
    sx_gen_dos_window(o, attack, &start, &length);
    uint64_t n = a->on ? (uint64_t)llround(a->rate * length) : 0;
    return attack == SX_GEN_DOS_PORT_SCAN && n > o->scan_ports ? o->scan_ports : n;
}

/** Checks one attack's rate and window; opt is its options' prefix. */
static int check_attack(const sx_gen_dos_opts *o, sx_gen_dos_kind attack, const char *opt,
                        char *err, size_t errlen)
{
    const sx_gen_dos_attack *a = attack_opts(o, attack);
    if (!a->on)
        return 0;
    if (!(a->rate > 0 && a->rate <= 1e6)) {
        snprintf(err, errlen, "--%s-rate wants more than 0 and at most 1000000 a second, got %g",
                 opt, a->rate);
        return -1;
    }
    double start, length;
    sx_gen_dos_window(o, attack, &start, &length);
    if (!(length > 0) || !(start >= 0) || start + length > o->duration_s * (1 + 1e-12)) {
        snprintf(err, errlen, "--%s-start %g and --%s-length %g do not fit in --duration %g "
                              "(the window must be inside it, its length above 0)",
                 opt, start, opt, length, o->duration_s);
        return -1;
    }
    return 0;
}

/** Checks the pools against the 4-tuples they must keep distinct. */
static int check_pools(const sx_gen_dos_opts *o, char *err, size_t errlen)
{
    if (o->clients < 1 || o->clients > 64000 || o->servers < 1 || o->servers > 240) {
        snprintf(err, errlen, "--clients wants 1 to 64000 and --servers 1 to 240, got %" PRIu32
                              " and %" PRIu32, o->clients, o->servers);
        return -1;
    }
    if (o->benign && o->benign_rate * o->duration_s > (double)o->clients * CLIENT_SHARE) {
        snprintf(err, errlen, "--benign-rate %g over --duration %g is more than %u sessions a "
                              "client (%" PRIu32 " clients): ports would be reused; give more "
                              "--clients", o->benign_rate, o->duration_s, CLIENT_SHARE,
                 o->clients);
        return -1;
    }
    if (o->attackers < 1 || o->attackers > 200) {
        snprintf(err, errlen, "--attackers wants 1 to 200, got %" PRIu32, o->attackers);
        return -1;
    }
    uint64_t flood = attack_count(o, SX_GEN_DOS_CONN_FLOOD);
    if ((flood + o->attackers - 1) / o->attackers > EPHEMERAL_N) {
        snprintf(err, errlen, "the connection flood's %" PRIu64 " connections are more than %u "
                              "per attacker: ports would be reused; give more --attackers",
                 flood, EPHEMERAL_N);
        return -1;
    }
    if (o->scan_ports < 1 || o->scan_ports > 65535) {
        snprintf(err, errlen, "--scan-ports wants 1 to 65535, got %" PRIu32, o->scan_ports);
        return -1;
    }
    return 0;
}

int sx_gen_dos_check(const sx_gen_dos_opts *o, char *err, size_t errlen)
{
    if (!o->pcap_path || !o->truth_path) {
        snprintf(err, errlen, "an output file (-o FILE.pcap) is required");
        return -1;
    }
    if (o->half_open) {
        if (o->half_open > SX_GEN_DOS_MAX_FLOOD || !(o->half_open_rate >= 1) ||
            !(o->half_open_rate <= 1e6)) {
            snprintf(err, errlen, "--half-open wants 1 to %u SYNs at --half-open-rate 1 to "
                                  "1000000 a second", SX_GEN_DOS_MAX_FLOOD);
            return -1;
        }
        return 0; /* the mix's options do not apply */
    }
    if (!(o->duration_s >= 0.001 && o->duration_s <= 86400)) {
        snprintf(err, errlen, "--duration wants 0.001 to 86400 seconds, got %g", o->duration_s);
        return -1;
    }
    if (o->benign && !(o->benign_rate > 0 && o->benign_rate <= 1e6)) {
        snprintf(err, errlen, "--benign-rate wants more than 0 and at most 1000000 sessions a "
                              "second, got %g", o->benign_rate);
        return -1;
    }
    if (!(o->syn_answered >= 0 && o->syn_answered <= 1)) {
        snprintf(err, errlen, "--syn-answered wants a share from 0 to 100 percent");
        return -1;
    }
    if (check_attack(o, SX_GEN_DOS_SYN_FLOOD, "syn-flood", err, errlen) ||
        check_attack(o, SX_GEN_DOS_CONN_FLOOD, "conn-flood", err, errlen) ||
        check_attack(o, SX_GEN_DOS_PORT_SCAN, "scan", err, errlen) ||
        check_pools(o, err, errlen))
        return -1;
    if (attack_count(o, SX_GEN_DOS_SYN_FLOOD) > SX_GEN_DOS_MAX_FLOOD) {
        snprintf(err, errlen, "the SYN flood would send more than %u SYNs",
                 SX_GEN_DOS_MAX_FLOOD);
        return -1;
    }
    if (!o->benign && !o->syn_flood.on && !o->conn_flood.on && !o->port_scan.on) {
        snprintf(err, errlen, "every kind of traffic is turned off");
        return -1;
    }
    return 0;
}

/** Records the first error; later ones would only be consequences. */
static void fail(sx_gen_dos *g, const char *msg)
{
    if (!g->failed)
        snprintf(g->err, sizeof g->err, "%s", msg);
    g->failed = true;
}

/** A free connection slot, growing the slots (and the heap) when all are
 *  taken; UINT32_MAX past MAX_SLOTS. */
static uint32_t take_slot(sx_gen_dos *g)
{
    if (g->nfree == 0) {
        uint32_t old = g->nslots, n = old ? 2 * old : 64;
        if (n > MAX_SLOTS)
            return UINT32_MAX;
        g->conns = sx_realloc(g->conns, n * sizeof *g->conns);
        memset(g->conns + old, 0, (n - old) * sizeof *g->conns);
        g->free_slots = sx_realloc(g->free_slots, n * sizeof *g->free_slots);
        for (uint32_t i = n; i > old; i--) /* the lowest slot is taken first */
            g->free_slots[g->nfree++] = i - 1;
        g->nslots = n;
    }
    return g->free_slots[--g->nfree];
}

/* ---- addresses ---- */

/** A benign client's address: 10.1.x.y, y from 1 to 250. */
static uint32_t client_ip(uint32_t i)
{
    return CLIENT_NET | (i / 250) << 8 | (i % 250 + 1);
}

/** True for addresses a spoofing tool would not pick, and for the
 *  trace's own networks: 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
 *  172.16/12, 192.0.0/24, 192.0.2/24, 192.168/16, 198.18/15,
 *  198.51.100/24, 203.0.113/24 and 224/3. */
static bool reserved(uint32_t a)
{
    uint32_t top = a >> 24;
    return top == 0 || top == 10 || top == 127 || top >= 224 ||
           (a & 0xffc00000u) == 0x64400000u || (a & 0xffff0000u) == 0xa9fe0000u ||
           (a & 0xfff00000u) == 0xac100000u || (a & 0xffffff00u) == 0xc0000000u ||
           (a & 0xffffff00u) == 0xc0000200u || (a & 0xffff0000u) == 0xc0a80000u ||
           (a & 0xfffe0000u) == 0xc6120000u || (a & 0xffffff00u) == 0xc6336400u ||
           (a & 0xffffff00u) == 0xcb007100u;
}

/** A keyed permutation of the 32-bit numbers: each step (xor, multiply
 *  by an odd number, xor-shift right, add) is invertible. */
static uint32_t permute(const uint32_t key[3], uint32_t x)
{
    x ^= key[0];
    x *= 0x9e3779b1u;
    x ^= x >> 16;
    x += key[1];
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x ^= key[2];
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

/** The n-th spoofed source (n below SX_GEN_DOS_MAX_FLOOD). Cycle walking
 *  from 1.0.0.0 + n, itself not reserved, to the next unreserved address
 *  on the permutation's cycle is a bijection of the unreserved
 *  addresses, so distinct n give distinct sources. */
static uint32_t spoofed_ip(const sx_gen_dos *g, uint64_t n)
{
    uint32_t x = SPOOF_BASE + (uint32_t)n;
    do
        x = permute(g->spoof_key, x);
    while (reserved(x));
    return x;
}

/** Takes the next ephemeral port of a host whose ports and uses are
 *  *port and *uses; fails g when the range is used up (a reuse). */
static uint16_t ephemeral(sx_gen_dos *g, uint16_t *port, uint32_t *uses)
{
    if (++*uses > EPHEMERAL_N)
        fail(g, "a host ran out of ephemeral ports (a 4-tuple would repeat): give more "
                "--clients or --attackers");
    uint16_t p = *port;
    *port = p + 1 >= EPHEMERAL_LO + EPHEMERAL_N ? EPHEMERAL_LO : (uint16_t)(p + 1);
    return p;
}

/** Sets up an endpoint: address, port, and its stack's habits. */
static void set_endpoint(endpoint *e, sx_rng *r, uint32_t ip, uint16_t port, uint8_t ttl,
                         uint16_t window)
{
    *e = (endpoint){.ip = ip, .port = port, .ttl = ttl, .window = window, .df = true,
                    .ip_id = (uint16_t)sx_rng_next(r), .nxt = (uint32_t)sx_rng_next(r)};
}

/* ---- scripts ---- */

/** Appends a step; a script longer than MAX_STEPS marks the connection. */
static void add(conn *c, bool from_resp, uint8_t flags, uint32_t delay_us, uint32_t off,
                uint32_t len)
{
    if (c->nsteps == MAX_STEPS) {
        c->overflow = true;
        return;
    }
    c->steps[c->nsteps++] = (step){.delay_us = delay_us, .off = off, .len = len,
                                   .flags = flags, .from_resp = from_resp};
}

/** A delay from lo to hi microseconds. */
static uint32_t between(conn *c, uint32_t lo, uint32_t hi)
{
    return sx_rng_range(&c->rng, lo, hi);
}

/** How long a server takes to answer what the client just sent. */
static uint32_t serve(conn *c)
{
    return between(c, 40, 3000);
}

/** How long until the client answers the server: a round trip and the
 *  client's own time, up to think_us. */
static uint32_t respond(conn *c, uint32_t think_us)
{
    return c->rtt_us + between(c, 20, 20 + think_us);
}

/* When a message goes after the previous step: a spec, not a number,
 * so that the delay is drawn inside the function that adds the step,
 * after nothing and before the content: C leaves the order in which
 * arguments are evaluated open, and a call with two draws among its
 * arguments could differ between compilers. */
typedef struct when {
    enum { W_SOON, W_SERVE, W_RESPOND } how;
    uint32_t think_us;
} when;
#define SOON ((when){W_SOON, 0})          /* the same side again: 5-300 us */
#define SERVE ((when){W_SERVE, 0})        /* the server answers: serve() */
#define RESPOND(t) ((when){W_RESPOND, t}) /* the client answers: respond(t) */

/** The delay w asks for, drawn now. */
static uint32_t delay_of(conn *c, when w)
{
    return w.how == W_SERVE ? serve(c) : w.how == W_RESPOND ? respond(c, w.think_us)
                                                            : between(c, 5, 300);
}

/** Adds a message of the payload's last len bytes. A message of more
 *  than one segment is acknowledged on its own by the receiver (a
 *  shorter one by the receiver's next segment). */
static void add_message(conn *c, bool from_resp, when w, size_t off)
{
    uint32_t len = (uint32_t)(c->payload.len - off);
    add(c, from_resp, SX_PKT_ACK, delay_of(c, w), (uint32_t)off, len);
    if (len > MSS)
        add(c, !from_resp, SX_PKT_ACK, from_resp ? c->rtt_us : serve(c), 0, 0);
}

/** A text message (printf-formatted) from one side. */
static void say(conn *c, bool from_resp, when w, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(conn *c, bool from_resp, when w, const char *fmt, ...)
{
    size_t off = c->payload.len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *dst = (char *)sx_buf_reserve(&c->payload, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    c->payload.len += (size_t)n;
    add_message(c, from_resp, w, off);
}

/** Appends n bytes of random (encrypted-looking) data. */
static void put_random(conn *c, size_t n)
{
    uint8_t *p = sx_buf_reserve(&c->payload, n);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = sx_rng_next(&c->rng);
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
    c->payload.len += n;
}

/** Appends n bytes of HTML-like text (a web page's or a mail's body). */
static void put_text(conn *c, size_t n)
{
    static const char lorem[] =
        "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
        "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.</p>\r\n";
    size_t skip = sx_rng_below(&c->rng, sizeof lorem - 1);
    while (n) {
        size_t k = sizeof lorem - 1 - skip;
        k = k < n ? k : n;
        sx_buf_put(&c->payload, lorem + skip, k);
        n -= k;
        skip = 0;
    }
}

/** A TLS record of type (22 handshake, 23 data, 21 alert) with a
 *  random body of len bytes. */
static void say_tls(conn *c, bool from_resp, when w, uint8_t type, uint32_t len)
{
    size_t off = c->payload.len;
    uint8_t hdr[5] = {type, 3, 3, (uint8_t)(len >> 8), (uint8_t)len};
    sx_buf_put(&c->payload, hdr, sizeof hdr);
    put_random(c, len);
    add_message(c, from_resp, w, off);
}

/** An encrypted SSH message: len random bytes (chacha20-poly1305
 *  encrypts the length field too). */
static void say_sealed(conn *c, bool from_resp, when w, uint32_t len)
{
    size_t off = c->payload.len;
    put_random(c, len);
    add_message(c, from_resp, w, off);
}

/** Appends v big-endian. */
static void put_be32(sx_buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sx_buf_put(b, p, 4);
}

/** Appends an SSH string (RFC 4251): length, then the bytes. */
static void put_ssh_string(sx_buf *b, const void *p, size_t n)
{
    put_be32(b, (uint32_t)n);
    sx_buf_put(b, p, n);
}

/** Appends an SSH string of n random bytes (a key, a signature). */
static void put_ssh_random(conn *c, size_t n)
{
    put_be32(&c->payload, (uint32_t)n);
    put_random(c, n);
}

/** Makes the payload from off on one cleartext SSH binary packet (RFC
 *  4253 section 6): length and padding length first, random padding
 *  after, the whole a multiple of 8 bytes with at least 4 of padding. */
static void seal_clear_packet(conn *c, size_t off)
{
    size_t body = c->payload.len - off;
    size_t pad = 8 - (4 + 1 + body) % 8;
    pad += pad < 4 ? 8 : 0;
    uint8_t hdr[5] = {0, 0, 0, 0, (uint8_t)pad};
    uint32_t len = (uint32_t)(1 + body + pad);
    hdr[0] = (uint8_t)(len >> 24), hdr[1] = (uint8_t)(len >> 16), hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
    sx_buf_reserve(&c->payload, sizeof hdr);
    memmove(c->payload.p + off + sizeof hdr, c->payload.p + off, body);
    memcpy(c->payload.p + off, hdr, sizeof hdr);
    c->payload.len += sizeof hdr;
    put_random(c, pad);
}

/** Appends an SSH_MSG_KEXINIT packet, OpenSSH's algorithms. */
static void put_kexinit(conn *c, bool server)
{
    static const char *const lists[10] = {
        NULL, /* the key exchange methods: below */
        "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
        "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
        "aes128-ctr",
        "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
        "aes128-ctr",
        "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        "none,zlib@openssh.com", "none,zlib@openssh.com", "", ""};
    const char *kex = server ? "curve25519-sha256,curve25519-sha256@libssh.org,"
                               "ecdh-sha2-nistp256,kex-strict-s-v00@openssh.com"
                             : "curve25519-sha256,curve25519-sha256@libssh.org,"
                               "ecdh-sha2-nistp256,ext-info-c,kex-strict-c-v00@openssh.com";
    size_t off = c->payload.len;
    uint8_t code = 20; /* SSH_MSG_KEXINIT */
    sx_buf_put(&c->payload, &code, 1);
    put_random(c, 16); /* the cookie */
    for (int i = 0; i < 10; i++)
        put_ssh_string(&c->payload, i ? lists[i] : kex, strlen(i ? lists[i] : kex));
    uint8_t tail[5] = {0}; /* first_kex_packet_follows, reserved */
    sx_buf_put(&c->payload, tail, sizeof tail);
    seal_clear_packet(c, off);
}

/** Appends a one-byte SSH message (SSH_MSG_NEWKEYS). */
static void put_ssh_code(conn *c, uint8_t code)
{
    size_t off = c->payload.len;
    sx_buf_put(&c->payload, &code, 1);
    seal_clear_packet(c, off);
}

/** The three-way handshake. */
static void handshake(conn *c)
{
    add(c, false, SX_PKT_SYN, 0, 0, 0);
    add(c, true, SX_PKT_SYN | SX_PKT_ACK, serve(c), 0, 0);
    add(c, false, SX_PKT_ACK, c->rtt_us + between(c, 5, 200), 0, 0);
}

/** A normal close: FIN, FIN-ACK from the other side, the last ACK. */
static void close_by(conn *c, bool resp_first, uint32_t delay_us)
{
    add(c, resp_first, SX_PKT_FIN | SX_PKT_ACK, delay_us, 0, 0);
    add(c, !resp_first, SX_PKT_FIN | SX_PKT_ACK, resp_first ? respond(c, 300) : serve(c), 0, 0);
    add(c, resp_first, SX_PKT_ACK, resp_first ? c->rtt_us : serve(c), 0, 0);
}

/* http: 1-3 GETs on one connection, each answered by a page of a few KB. */
static void dialog_http(conn *c, uint32_t server)
{
    static const char *const paths[] = {"/", "/index.html", "/news", "/api/v1/items",
                                        "/static/app.js", "/img/logo.png", "/search?q=tcp"};
    unsigned n = sx_rng_range(&c->rng, 1, 3);
    for (unsigned i = 0; i < n; i++) {
        say(c, false, i ? RESPOND(2000000) : SOON,
            "GET %s HTTP/1.1\r\nHost: www%u.example.com\r\nUser-Agent: Mozilla/5.0 (X11; "
            "Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: */*\r\n"
            "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
            paths[sx_rng_below(&c->rng, sizeof paths / sizeof paths[0])], server);
        uint32_t body = sx_rng_range(&c->rng, 300, 8000);
        size_t off = c->payload.len;
        sx_buf_printf(&c->payload, "HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: "
                                   "text/html; charset=utf-8\r\nContent-Length: %u\r\n"
                                   "Connection: keep-alive\r\n\r\n", body);
        put_text(c, body);
        add_message(c, true, SERVE, off);
    }
}

/* https: a TLS 1.3-like handshake, then 1-3 requests and responses. */
static void dialog_https(conn *c)
{
    say_tls(c, false, SOON, 22, 512);
    say_tls(c, true, SERVE, 22, sx_rng_range(&c->rng, 1200, 4500));
    say_tls(c, false, RESPOND(3000), 23, sx_rng_range(&c->rng, 60, 130));
    say_tls(c, true, SERVE, 23, sx_rng_range(&c->rng, 100, 300));
    unsigned n = sx_rng_range(&c->rng, 1, 3);
    for (unsigned i = 0; i < n; i++) {
        say_tls(c, false, i ? RESPOND(2000000) : SOON, 23,
                sx_rng_range(&c->rng, 200, 900));
        say_tls(c, true, SERVE, 23, sx_rng_range(&c->rng, 500, 12000));
    }
    say_tls(c, false, RESPOND(500000), 21, 26); /* close_notify */
}

/* smtp: greeting, EHLO, MAIL, 1-3 RCPT, DATA, the mail, QUIT. */
static void dialog_smtp(conn *c, uint32_t server)
{
    uint32_t from = sx_rng_range(&c->rng, 100, 9999);
    say(c, true, SERVE, "220 mail%u.example.com ESMTP Postfix\r\n", server);
    say(c, false, RESPOND(2000), "EHLO client%u.example.org\r\n", from);
    say(c, true, SERVE, "250-mail%u.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                           "250-8BITMIME\r\n250 SMTPUTF8\r\n", server);
    say(c, false, RESPOND(2000), "MAIL FROM:<user%u@example.org>\r\n", from);
    say(c, true, SERVE, "250 2.1.0 Ok\r\n");
    unsigned rcpts = sx_rng_range(&c->rng, 1, 3);
    for (unsigned i = 0; i < rcpts; i++) {
        say(c, false, RESPOND(2000), "RCPT TO:<user%u@example.com>\r\n",
            sx_rng_range(&c->rng, 100, 9999));
        say(c, true, SERVE, "250 2.1.5 Ok\r\n");
    }
    say(c, false, RESPOND(2000), "DATA\r\n");
    say(c, true, SERVE, "354 End data with <CR><LF>.<CR><LF>\r\n");
    size_t off = c->payload.len;
    sx_buf_printf(&c->payload, "From: <user%u@example.org>\r\nTo: <list@example.com>\r\n"
                               "Subject: report %u\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
                               "Message-ID: <%016" PRIx64 "@example.org>\r\n\r\n",
                  from, from, sx_rng_next(&c->rng));
    put_text(c, sx_rng_range(&c->rng, 300, 6000));
    sx_buf_puts(&c->payload, "\r\n.\r\n");
    add_message(c, false, RESPOND(2000), off);
    say(c, true, SERVE, "250 2.0.0 Ok: queued as %08" PRIX32 "\r\n",
        (uint32_t)sx_rng_next(&c->rng));
    say(c, false, RESPOND(2000), "QUIT\r\n");
    say(c, true, SERVE, "221 2.0.0 Bye\r\n");
}

/* ftp: the control connection of a login and a look around. */
static void dialog_ftp(conn *c)
{
    say(c, true, SERVE, "220 (vsFTPd 3.0.5)\r\n");
    say(c, false, RESPOND(800000), "USER anonymous\r\n");
    say(c, true, SERVE, "331 Please specify the password.\r\n");
    say(c, false, RESPOND(800000), "PASS guest@example.org\r\n");
    say(c, true, SERVE, "230 Login successful.\r\n");
    say(c, false, RESPOND(3000), "SYST\r\n");
    say(c, true, SERVE, "215 UNIX Type: L8\r\n");
    say(c, false, RESPOND(1500000), "CWD /pub\r\n");
    say(c, true, SERVE, "250 Directory successfully changed.\r\n");
    say(c, false, RESPOND(1500000), "SIZE release-%u.tar.gz\r\n",
        sx_rng_range(&c->rng, 1, 40));
    say(c, true, SERVE, "213 %u\r\n", sx_rng_range(&c->rng, 10000, 90000000));
    say(c, false, RESPOND(1500000), "QUIT\r\n");
    say(c, true, SERVE, "221 Goodbye.\r\n");
}

/* ssh: banners, a curve25519 key exchange in the clear, then sealed
 * messages: authentication and 2-8 interactive turns. A sealed message
 * fits one segment: Wireshark takes each segment of an encrypted
 * stream for one packet, and a short tail for a malformed one. */
static void dialog_ssh(conn *c)
{
    static const char ed25519[] = "ssh-ed25519";
    say(c, true, SERVE, "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n");
    say(c, false, RESPOND(2000), "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    size_t off = c->payload.len;
    put_kexinit(c, false);
    add_message(c, false, SOON, off);
    off = c->payload.len;
    put_kexinit(c, true);
    add_message(c, true, SERVE, off);
    off = c->payload.len; /* SSH_MSG_KEX_ECDH_INIT: the client's public key */
    sx_buf_put(&c->payload, "\x1e", 1);
    put_ssh_random(c, 32);
    seal_clear_packet(c, off);
    add_message(c, false, RESPOND(3000), off);
    off = c->payload.len; /* KEX_ECDH_REPLY: host key, public key, signature; NEWKEYS */
    sx_buf_put(&c->payload, "\x1f", 1);
    put_be32(&c->payload, 4 + sizeof ed25519 - 1 + 4 + 32);
    put_ssh_string(&c->payload, ed25519, sizeof ed25519 - 1);
    put_ssh_random(c, 32);
    put_ssh_random(c, 32);
    put_be32(&c->payload, 4 + sizeof ed25519 - 1 + 4 + 64);
    put_ssh_string(&c->payload, ed25519, sizeof ed25519 - 1);
    put_ssh_random(c, 64);
    seal_clear_packet(c, off);
    put_ssh_code(c, 21);
    add_message(c, true, SERVE, off);
    off = c->payload.len;
    put_ssh_code(c, 21);
    add_message(c, false, RESPOND(3000), off);
    say_sealed(c, false, SOON, 68); /* service request */
    say_sealed(c, true, SERVE, 52);
    say_sealed(c, false, RESPOND(500000), sx_rng_range(&c->rng, 100, 600)); /* userauth */
    say_sealed(c, true, SERVE, sx_rng_range(&c->rng, 36, 100));
    unsigned n = sx_rng_range(&c->rng, 2, 8);
    for (unsigned i = 0; i < n; i++) {
        say_sealed(c, false, RESPOND(2000000), sx_rng_range(&c->rng, 36, 108));
        say_sealed(c, true, SERVE, sx_rng_range(&c->rng, 36, 1400));
    }
}

/** Draws an index by per-mille shares (they add up to 1000). */
static unsigned draw_share(sx_rng *r, const uint32_t *share, unsigned n)
{
    uint32_t u = sx_rng_below(r, 1000);
    unsigned i = 0;
    while (i + 1 < n && u >= share[i])
        u -= share[i++];
    return i;
}

/** A benign session: a service, client and server from the pools, an
 *  outcome (flag) and the script that gives it. */
static void script_benign(sx_gen_dos *g, conn *c)
{
    sx_rng *r = &c->rng;
    c->kind = (uint8_t)draw_share(r, service_share, 5);
    c->flag = (uint8_t)draw_share(r, outcome_share, SX_GEN_DOS_FLAGS);
    uint32_t client = sx_rng_below(r, g->o.clients), server = sx_rng_below(r, g->o.servers);
    uint8_t ttl = sx_rng_below(r, 3) ? 64 : 128;
    uint16_t port = ephemeral(g, &g->client_port[client], &g->client_uses[client]);
    set_endpoint(&c->a, r, client_ip(client), port, ttl, 64240);
    set_endpoint(&c->b, r, SERVER_BASE + server, service_port[c->kind], 64, 65160);
    c->rtt_us = sx_rng_range(r, 2000, 80000);
    c->syn_options = true;
    bool resp_closes = sx_rng_below(r, 2);
    if (c->flag == SX_GEN_DOS_S0 || c->flag == SX_GEN_DOS_REJ) {
        add(c, false, SX_PKT_SYN, 0, 0, 0);
        if (c->flag == SX_GEN_DOS_REJ) /* nothing listens: RST-ACK */
            add(c, true, SX_PKT_RST | SX_PKT_ACK, serve(c), 0, 0);
        return;
    }
    handshake(c);
    unsigned opened = c->nsteps;
    switch (c->kind) {
    case SX_GEN_DOS_HTTP: dialog_http(c, server); break;
    case SX_GEN_DOS_SMTP: dialog_smtp(c, server); break;
    case SX_GEN_DOS_FTP: dialog_ftp(c); break;
    case SX_GEN_DOS_SSH: dialog_ssh(c); break;
    default: dialog_https(c); break;
    }
    if (c->flag == SX_GEN_DOS_SF) {
        close_by(c, resp_closes, resp_closes ? serve(c) : respond(c, 300000));
        return;
    }
    /* Cut short: some of the dialog, then an abort or (S1) nothing. */
    c->nsteps = opened + sx_rng_range(r, 1, c->nsteps - opened - 1);
    if (c->flag == SX_GEN_DOS_RSTO)
        add(c, false, SX_PKT_RST | SX_PKT_ACK, respond(c, 1000000), 0, 0);
    else if (c->flag == SX_GEN_DOS_RSTR)
        add(c, true, SX_PKT_RST | SX_PKT_ACK, between(c, 1000, 1000000), 0, 0);
}

/** A SYN flood SYN: a bare SYN from the number-th spoofed source to the
 *  victim's port 80, answered (SYN-ACK) or not: S0 either way, since the
 *  spoofed source never completes the handshake. */
static void script_syn(sx_gen_dos *g, conn *c, uint64_t number)
{
    static const uint16_t windows[] = {512, 1024, 2048, 4096, 8192, 16384, 29200, 65535};
    sx_rng *r = &c->rng;
    c->kind = SX_GEN_DOS_SYN_FLOOD;
    uint16_t sport = (uint16_t)sx_rng_range(r, 1024, 65535);
    uint8_t ttl = (uint8_t)sx_rng_range(r, 32, 255);
    set_endpoint(&c->a, r, spoofed_ip(g, number - 1), sport, ttl, windows[sx_rng_below(r, 8)]);
    c->a.df = false;
    set_endpoint(&c->b, r, SERVER_BASE, 80, 64, 65160);
    bool answered = sx_rng_chance(r, g->o.half_open ? 0 : g->o.syn_answered);
    c->flag = SX_GEN_DOS_S0;
    add(c, false, SX_PKT_SYN, 0, 0, 0);
    if (answered)
        add(c, true, SX_PKT_SYN | SX_PKT_ACK, serve(c), 0, 0);
}

/** A connection flood connection: an attacker (in turn) opens, GETs /,
 *  reads the short answer and closes (SF), on server 1's port 80. */
static void script_connf(sx_gen_dos *g, conn *c, uint64_t number)
{
    sx_rng *r = &c->rng;
    uint32_t who = (uint32_t)((number - 1) % g->o.attackers);
    c->kind = SX_GEN_DOS_CONN_FLOOD;
    c->flag = SX_GEN_DOS_SF;
    uint16_t port = ephemeral(g, &g->attacker_port[who], &g->attacker_uses[who]);
    set_endpoint(&c->a, r, ATTACKER_BASE + who, port, 64, 64240);
    set_endpoint(&c->b, r, SERVER_BASE + 1 % g->o.servers, 80, 64, 65160);
    c->rtt_us = sx_rng_range(r, 1000, 30000);
    c->syn_options = true;
    handshake(c);
    say(c, false, SOON, "GET / HTTP/1.1\r\nHost: victim.example.com\r\n\r\n");
    size_t off = c->payload.len;
    uint32_t body = sx_rng_range(r, 100, 600);
    sx_buf_printf(&c->payload, "HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Length: "
                               "%u\r\n\r\n", body);
    put_text(c, body);
    add_message(c, true, SERVE, off);
    close_by(c, false, respond(c, 200));
}

/** A port scan probe (half-open, as nmap -sS): a SYN from the scanner's
 *  one source port to the number-th port of the order, on server 2. An
 *  open port answers SYN-ACK and the scanner resets before completing
 *  the handshake (RSTOS0); a closed one answers RST-ACK (REJ). */
static void script_scan(sx_gen_dos *g, conn *c, uint64_t number)
{
    sx_rng *r = &c->rng;
    uint16_t port = g->scan_order[number - 1];
    bool open = false;
    for (int i = 0; i < 5; i++)
        open |= port == service_port[i];
    c->kind = SX_GEN_DOS_PORT_SCAN;
    c->flag = open ? SX_GEN_DOS_RSTOS0 : SX_GEN_DOS_REJ;
    set_endpoint(&c->a, r, SCANNER_IP, g->scanner_port, (uint8_t)sx_rng_range(r, 37, 59), 1024);
    set_endpoint(&c->b, r, SERVER_BASE + 2 % g->o.servers, port, 64, 65160);
    c->rtt_us = sx_rng_range(r, 1000, 20000);
    c->syn_options = true;
    add(c, false, SX_PKT_SYN, 0, 0, 0);
    if (open) {
        add(c, true, SX_PKT_SYN | SX_PKT_ACK, serve(c), 0, 0);
        add(c, false, SX_PKT_RST, c->rtt_us, 0, 0);
    } else {
        add(c, true, SX_PKT_RST | SX_PKT_ACK, serve(c), 0, 0);
    }
}

/* ---- packets ---- */

/* Hot path: once per packet. Writes a frame at at_us, or just after the
 * previous packet; returns the time it got. */
static uint64_t emit(sx_gen_dos *g, uint64_t at_us, const uint8_t *frame, size_t len)
{
    uint64_t ts = at_us > g->last_us ? at_us : g->last_us + 1;
    if (sx_pcapw_write(g->pcap, ts, frame, (uint32_t)len))
        g->failed = true; /* the writer keeps errno; close() reports it */
    g->last_us = ts;
    g->st.packets++;
    return ts;
}

/** A host's MAC: servers their own, every other host the router's (the
 *  capture point is on the servers' network). */
static void mac_of(uint8_t mac[6], uint32_t ip)
{
    bool server = (ip & 0xffffff00u) == (SERVER_BASE & 0xffffff00u);
    uint8_t m[6] = {0x02, 0, 0, 0, 0, ROUTER_MAC};
    if (server) {
        m[2] = (uint8_t)(ip >> 24), m[3] = (uint8_t)(ip >> 16), m[4] = (uint8_t)(ip >> 8);
        m[5] = (uint8_t)ip;
    }
    memcpy(mac, m, 6);
}

/* Hot path. Sends one TCP segment of c. SYN and FIN take a sequence
 * number; a RST from a side that never sent a SYN (a refusal) has
 * sequence number 0 and acknowledges the SYN (RFC 793). */
static uint64_t send_segment(sx_gen_dos *g, conn *c, bool from_resp, uint8_t flags,
                             const uint8_t *payload, size_t len, uint64_t at_us)
{
    endpoint *me = from_resp ? &c->b : &c->a, *peer = from_resp ? &c->a : &c->b;
    sx_pkt_ends e = {.src_ip = me->ip, .dst_ip = peer->ip, .sport = me->port,
                     .dport = peer->port};
    mac_of(e.src_mac, me->ip);
    mac_of(e.dst_mac, peer->ip);
    sx_pkt_ip ip = {.id = me->ip_id++, .ttl = me->ttl, .dont_fragment = me->df};
    uint8_t mss_opt[4] = {2, 4, MSS >> 8, MSS & 255};
    sx_pkt_tcp_hdr t = {.seq = me->synced || (flags & SX_PKT_SYN) ? me->nxt : 0,
                        .ack = (flags & SX_PKT_ACK) ? peer->nxt : 0, .flags = flags,
                        .window = me->window};
    if ((flags & SX_PKT_SYN) && (c->syn_options || from_resp)) {
        t.options = mss_opt;
        t.options_len = sizeof mss_opt;
    }
    size_t n = sx_pkt_tcp(g->frame, FRAME_CAP, &e, &ip, &t, payload, len);
    me->synced |= (flags & SX_PKT_SYN) != 0;
    me->nxt += (uint32_t)len + ((flags & (SX_PKT_SYN | SX_PKT_FIN)) ? 1 : 0);
    g->st.payload_bytes += len;
    return emit(g, at_us, g->frame, n);
}

/** Sends step s of c due at at_us, a message in MSS-sized segments (PSH
 *  on the last); returns the time of its last packet. */
static uint64_t send_step(sx_gen_dos *g, conn *c, const step *s, uint64_t at_us)
{
    if (s->len == 0)
        return send_segment(g, c, s->from_resp, s->flags, NULL, 0, at_us);
    const uint8_t *p = c->payload.p + s->off;
    uint64_t ts = at_us;
    for (uint32_t off = 0; off < s->len; off += MSS) {
        uint32_t n = s->len - off < MSS ? s->len - off : MSS;
        uint8_t psh = off + n == s->len ? SX_PKT_PSH : 0;
        ts = send_segment(g, c, s->from_resp, s->flags | psh, p + off, n,
                          at_us + off / MSS * SEG_GAP_US);
    }
    return ts;
}

/* ---- the truth ---- */

/** Writes v in decimal at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while (v /= 10);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/** Writes ip as dotted decimal at p; returns the end. */
static char *put_ip(char *p, uint32_t ip)
{
    for (int shift = 24; shift >= 0; shift -= 8) {
        p = put_u64(p, (ip >> shift) & 255);
        *p++ = shift ? '.' : ',';
    }
    return p;
}

/** Writes c's truth line (its SYN went out at ts) and counts it. */
static void write_truth(sx_gen_dos *g, const conn *c, uint64_t ts)
{
    sx_gen_dos_label label = sx_gen_dos_label_of((sx_gen_dos_kind)c->kind);
    char line[160], *p = line;
    p = put_ip(p, c->a.ip);
    p = put_u64(p, c->a.port);
    *p++ = ',';
    p = put_ip(p, c->b.ip);
    p = put_u64(p, c->b.port);
    *p++ = ',';
    p = put_u64(p, ts);
    p += sprintf(p, ",%s,%s,%s\n", label_names[label], kind_names[c->kind],
                 flag_names[c->flag]);
    fwrite(line, 1, (size_t)(p - line), g->truth);
    g->st.connections++;
    g->st.by_kind[c->kind]++;
    g->st.by_label[label]++;
    g->st.by_flag[c->flag]++;
}

/* ---- connections and their sources ---- */

/** Starts the number-th connection of source src at at_us. */
static void start_conn(sx_gen_dos *g, int src, uint64_t number, uint64_t at_us)
{
    uint32_t slot = take_slot(g);
    if (slot == UINT32_MAX) {
        fail(g, "more than 1048576 connections in progress at once: lower the rates");
        return;
    }
    conn *c = &g->conns[slot];
    c->nsteps = c->cur = 0;
    c->payload.len = 0;
    c->overflow = c->syn_options = false;
    c->rtt_us = 0;
    sx_rng_seed(&c->rng, g->o.seed, STREAM_CONN + (uint64_t)src, number);
    switch (src) {
    case SRC_BENIGN: script_benign(g, c); break;
    case SRC_SYN: script_syn(g, c, number); break;
    case SRC_CONNF: script_connf(g, c, number); break;
    default: script_scan(g, c, number); break;
    }
    if (c->overflow)
        fail(g, "internal error: a connection's script is longer than MAX_STEPS");
    sx_event_heap_push(&g->heap, at_us, slot);
}

/* Hot path: once per step. Sends slot's next step and queues the one
 * after, or frees the slot. */
static void step_conn(sx_gen_dos *g, uint32_t slot, uint64_t at_us)
{
    conn *c = &g->conns[slot];
    uint64_t ts = send_step(g, c, &c->steps[c->cur], at_us);
    if (c->cur == 0)
        write_truth(g, c, ts);
    if (++c->cur < c->nsteps)
        sx_event_heap_push(&g->heap, ts + c->steps[c->cur].delay_us, slot);
    else
        g->free_slots[g->nfree++] = slot;
}

/** When source s's next connection arrives, or UINT64_MAX if none. */
static uint64_t next_arrival(source *s, uint64_t prev_us)
{
    if (s->count) {
        if (s->started == s->count)
            return UINT64_MAX;
        return s->start_us + (uint64_t)llround((double)s->started * s->gap_us);
    }
    double gap = -s->gap_us * log(1 - sx_rng_unit(&s->rng));
    uint64_t at = (s->started ? prev_us : s->start_us) + (uint64_t)llround(gap);
    return at < s->end_us ? at : UINT64_MAX;
}

/** Source src's connection arrives at at_us: start it, queue the next. */
static void arrive(sx_gen_dos *g, int src, uint64_t at_us)
{
    source *s = &g->src[src];
    start_conn(g, src, ++s->started, at_us);
    uint64_t next = next_arrival(s, at_us);
    if (next != UINT64_MAX)
        sx_event_heap_push(&g->heap, next, ARRIVAL(src));
}

/** Sets up source src: Poisson at rate over the window (count 0) or
 *  count arrivals spread evenly at rate; queues the first. */
static void open_source(sx_gen_dos *g, int src, double rate, double start_s, double length_s,
                        uint64_t count)
{
    source *s = &g->src[src];
    s->on = true;
    s->start_us = EPOCH_US + (uint64_t)llround(start_s * 1e6);
    s->end_us = s->start_us + (uint64_t)llround(length_s * 1e6);
    s->gap_us = 1e6 / rate;
    s->count = count;
    sx_rng_seed(&s->rng, g->o.seed, STREAM_SCHEDULE + (uint64_t)src, 0);
    if (count == 0 && src != SRC_BENIGN)
        return; /* a window too short for one connection */
    uint64_t first = next_arrival(s, 0);
    if (first != UINT64_MAX)
        sx_event_heap_push(&g->heap, first, ARRIVAL(src));
}

/** Opens source src for attack when it is on. */
static void open_attack(sx_gen_dos *g, int src, sx_gen_dos_kind attack)
{
    const sx_gen_dos_attack *a = attack_opts(&g->o, attack);
    if (!a->on)
        return;
    double start, length;
    sx_gen_dos_window(&g->o, attack, &start, &length);
    open_source(g, src, a->rate, start, length, attack_count(&g->o, attack));
}

/** Draws the per-run plan: spoofing key, first ports, the scan's order. */
static void plan(sx_gen_dos *g)
{
    sx_rng r;
    sx_rng_seed(&r, g->o.seed, STREAM_PLAN, 0);
    for (int i = 0; i < 3; i++)
        g->spoof_key[i] = (uint32_t)sx_rng_next(&r);
    g->client_port = sx_calloc(g->o.clients, sizeof *g->client_port);
    g->client_uses = sx_calloc(g->o.clients, sizeof *g->client_uses);
    for (uint32_t i = 0; i < g->o.clients; i++)
        g->client_port[i] = (uint16_t)(EPHEMERAL_LO + sx_rng_below(&r, EPHEMERAL_N));
    g->attacker_port = sx_calloc(g->o.attackers, sizeof *g->attacker_port);
    g->attacker_uses = sx_calloc(g->o.attackers, sizeof *g->attacker_uses);
    for (uint32_t i = 0; i < g->o.attackers; i++)
        g->attacker_port[i] = (uint16_t)(EPHEMERAL_LO + sx_rng_below(&r, EPHEMERAL_N));
    g->scanner_port = (uint16_t)sx_rng_range(&r, 40000, 65000);
    g->scan_order = sx_calloc(g->o.scan_ports, sizeof *g->scan_order);
    for (uint32_t i = 0; i < g->o.scan_ports; i++)
        g->scan_order[i] = (uint16_t)(i + 1);
    for (uint32_t i = g->o.scan_ports; i > 1; i--) { /* Fisher-Yates */
        uint32_t j = sx_rng_below(&r, i);
        uint16_t t = g->scan_order[i - 1];
        g->scan_order[i - 1] = g->scan_order[j];
        g->scan_order[j] = t;
    }
}

/* ---- the generator ---- */

sx_gen_dos *sx_gen_dos_new(const sx_gen_dos_opts *o, char *err, size_t errlen)
{
    sx_gen_dos *g = sx_calloc(1, sizeof *g);
    g->o = *o;
    g->pcap = sx_pcapw_open(o->pcap_path, SNAPLEN, err, errlen);
    if (!g->pcap) {
        free(g);
        return NULL;
    }
    g->truth = fopen(o->truth_path, "w");
    if (!g->truth) {
        snprintf(err, errlen, "cannot create %s: %s", o->truth_path, strerror(errno));
        sx_gen_dos_destroy(&g);
        return NULL;
    }
    setvbuf(g->truth, NULL, _IOFBF, 1 << 20);
    fputs("src,sport,dst,dport,start_us,label,kind,flag\n", g->truth);
    plan(g);
    if (o->half_open) {
        open_source(g, SRC_SYN, o->half_open_rate, 0, (double)o->half_open / o->half_open_rate,
                    o->half_open);
        return g;
    }
    if (o->benign)
        open_source(g, SRC_BENIGN, o->benign_rate, 0, o->duration_s, 0);
    open_attack(g, SRC_SYN, SX_GEN_DOS_SYN_FLOOD);
    open_attack(g, SRC_CONNF, SX_GEN_DOS_CONN_FLOOD);
    open_attack(g, SRC_SCAN, SX_GEN_DOS_PORT_SCAN);
    return g;
}

/** Closes the pcap and truth files; -1 with a message on any error. */
static int close_files(sx_gen_dos *g, char *err, size_t errlen)
{
    return sx_gen_outputs_close(&g->pcap, &g->st.pcap_bytes, &g->truth, g->o.truth_path, err,
                                errlen);
}

int sx_gen_dos_run(sx_gen_dos *g, uint64_t max_packets, char *err, size_t errlen)
{
    if (g->done)
        return 0;
    uint64_t stop = g->st.packets + max_packets;
    while (g->st.packets < stop && !g->failed) {
        if (g->heap.n == 0) { /* nothing in progress, nothing to come */
            g->done = true;
            g->st.trace_us = g->last_us ? g->last_us - EPOCH_US : 0;
            return close_files(g, err, errlen);
        }
        sx_event e = sx_event_heap_pop(&g->heap);
        if (e.slot >= ARRIVAL(0))
            arrive(g, (int)(e.slot - ARRIVAL(0)), e.at_us);
        else
            step_conn(g, e.slot, e.at_us);
    }
    if (!g->failed)
        return 1;
    char close_err[512] = "";
    int closed = close_files(g, close_err, sizeof close_err);
    snprintf(err, errlen, "%s", g->err[0] ? g->err : closed ? close_err : "write failed");
    g->done = true;
    return -1;
}

void sx_gen_dos_stats_get(const sx_gen_dos *g, sx_gen_dos_stats *out)
{
    *out = g->st;
    if (g->pcap)
        out->pcap_bytes = sx_pcapw_bytes(g->pcap);
}

void sx_gen_dos_destroy(sx_gen_dos **gp)
{
    sx_gen_dos *g = *gp;
    if (!g)
        return;
    char ignored[8];
    close_files(g, ignored, sizeof ignored);
    for (uint32_t i = 0; i < g->nslots; i++)
        sx_buf_free(&g->conns[i].payload);
    free(g->conns);
    free(g->free_slots);
    sx_event_heap_free(&g->heap);
    free(g->client_port);
    free(g->client_uses);
    free(g->attacker_port);
    free(g->attacker_uses);
    free(g->scan_order);
    free(g);
    *gp = NULL;
}
