/*
 * gen_smtp.c -- the SMTP trace generator: concurrent sessions, their TCP
 * segments and impairments, the pcap and the ground truth.
 *
 * Design: up to `concurrency` sessions are open; each step picks one at
 * random and lets it send its next packet(s), stamped with a global
 * clock that advances by each frame's time on a link of rate_mbps. A
 * session is a TCP connection running a script of "turns", each one
 * side's bytes (a command or a pipelined batch of them, a reply, a mail
 * body, a BDAT chunk). Turns alternate between client and server, so a
 * turn acknowledges the one before; within a long turn the receiver
 * sends a pure ACK every second segment. A mail's turns are built when
 * the session reaches it (memory: one mail per open session).
 *
 * Mails are numbered in the order sessions take them; a mail's content
 * comes from its own random stream (seed, mail number), a session's
 * addresses from (seed, session number), scheduling and impairments
 * from streams of their own. The truth line of a mail is written when
 * the last byte of its content has been sent.
 *
 * Impairments touch data segments only: a retransmission is the same
 * frame again 1-3 steps of its session later; a reordered pair is two
 * consecutive segments of one turn sent second first; a fragmented
 * packet goes out as 2-3 IPv4 fragments, a quarter of them in reverse.
 */
#include "tools/gen_smtp.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/alloc.h"
#include "tools/buf.h"
#include "tools/mail_build.h"
#include "tools/packet_build.h"
#include "tools/pcap_writer.h"
#include "tools/rng.h"
#include "tools/text_file.h"

#define EPOCH_US 1767225600000000ull /* 2026-01-01T00:00:00Z */
#define MAX_TURNS 32                 /* turns of one mail: at most 20 (RSET, MAIL, 3 RCPT,
                                      * 4 BDAT chunks, BDAT 0 LAST, and the replies) */
#define MAX_BDAT_CHUNKS 4
#define SERVERS 16                   /* server addresses in a trace */
#define CLIENT_SPAN 16777214u        /* client addresses: 10.0.0.1 to 10.255.255.254 */
#define CLIENT_STEP 0x9e3779u        /* coprime with CLIENT_SPAN */
#define FRAME_CAP(mss) ((size_t)(mss) + SX_PKT_ETH_LEN + SX_PKT_IPV4_LEN + SX_PKT_TCP_LEN + 40)
#define FRAG_MIN_DATA 24             /* a first fragment holds the whole TCP header */
#define WINDOW 65535
#define SIZE_SIGMA 1.0               /* lognormal spread of mail sizes */
#define MAX_MEAN_SIZE 10000000u
#define MAX_MAILS_PER_SESSION 10000u

/* Random streams (see rng.h): one per kind of decision. */
enum { STREAM_MAIL = 1, STREAM_SESSION, STREAM_PLAN, STREAM_SCHEDULE, STREAM_IMPAIR,
       STREAM_SERVERS };

typedef enum tcp_phase { PH_SYN, PH_SYNACK, PH_ACK, PH_DATA, PH_FIN2, PH_LASTACK,
                         PH_DONE } tcp_phase;

/* One side of a connection. */
typedef struct endpoint {
    uint32_t ip;
    uint16_t port;
    uint8_t mac[6];
    uint8_t ttl;
    uint16_t ip_id;
    uint32_t nxt; /* the next sequence number it sends */
} endpoint;

/* One side's bytes, sent before the other side answers. */
typedef struct turn {
    bool from_server;
    bool ends_mail; /* its last byte completes the session's current mail */
    size_t off, len; /* in session.wire */
} turn;

typedef struct session {
    uint64_t number;
    sx_rng rng;
    endpoint cli, srv;
    char client_host[64], server_host[32];
    bool pipelining, lowercase, size_param, server_closes;
    uint64_t first_mail, next_mail, end_mail; /* its mails: [first, end) */
    uint8_t *plans;    /* per mail: an sx_mail_encoding (NOT_PLANTED: none) */
    size_t plans_cap;
    tcp_phase phase;
    bool opened, quit;
    sx_buf wire;       /* the current turns' bytes */
    turn turns[MAX_TURNS];
    unsigned nturns, cur;
    size_t cur_off;    /* bytes of turns[cur] sent */
    unsigned unacked;  /* segments of this turn the receiver has not ACKed */
    bool ack_due;      /* the receiver owes a pure ACK */
    sx_buf truth;      /* the current mail's truth line */
    uint8_t *rtx;      /* a frame to send again, rtx_len bytes, after rtx_wait steps */
    size_t rtx_len;
    unsigned rtx_wait;
} session;

/* A built segment waiting to be sent. */
typedef struct outseg {
    uint8_t *frame;
    size_t len;
    bool fragment;
} outseg;

struct sx_gen_smtp {
    sx_gen_smtp_opts o;
    sx_pcapw *pcap;
    FILE *truth;
    sx_rng plan, sched, imp;
    uint64_t next_mail;       /* the next mail number a session takes */
    uint64_t plant_left;      /* planted mails still to choose (selection sampling) */
    uint64_t planted_chosen;  /* planted so far: picks the encoding in turn */
    uint32_t servers[SERVERS];
    uint64_t client_offset;   /* where the seed starts the client addresses */
    session **active, **pool;
    uint32_t nactive, npool;
    uint64_t clock_ps;        /* packet time since EPOCH_US, in picoseconds */
    double ps_per_byte;
    size_t frame_cap;
    uint8_t *frames[2], *frag;
    sx_mail mail;
    sx_gen_smtp_stats st;
    char err[512];
    bool failed, done;
};

void sx_gen_smtp_defaults(sx_gen_smtp_opts *o)
{
    *o = (sx_gen_smtp_opts){
        .seed = 1, .mails = 1000, .mean_size = 150000, .phrase = "scalanytics-planted-phrase",
        .match_fraction = 0.1, .concurrency = 64, .mails_min = 1, .mails_max = 5,
        .bdat_fraction = 0.1, .any_port_fraction = 0.05, .mss = 1460, .rate_mbps = 1000,
        .retransmit_fraction = 0.01, .reorder_fraction = 0.01, .fragment_fraction = 0.005};
}

/** -1 with a message when fraction f of option opt is not in [0, 1]. */
static int check_fraction(const char *opt, double f, char *err, size_t errlen)
{
    if (f >= 0 && f <= 1)
        return 0;
    snprintf(err, errlen, "%s wants a fraction from 0 to 1, got %g", opt, f);
    return -1;
}

int sx_gen_smtp_check(const sx_gen_smtp_opts *o, char *err, size_t errlen)
{
    if (!o->pcap_path || !o->truth_path) {
        snprintf(err, errlen, "an output file (-o FILE.pcap) is required");
        return -1;
    }
    if (o->mails < 1 || o->mails > 1000000000) {
        snprintf(err, errlen, "--mails wants 1 to 1000000000, got %" PRIu64, o->mails);
        return -1;
    }
    if (o->mean_size < 200 || o->mean_size > MAX_MEAN_SIZE) {
        snprintf(err, errlen, "--mean-size wants 200 to %u bytes, got %" PRIu64, MAX_MEAN_SIZE,
                 o->mean_size);
        return -1;
    }
    if (o->concurrency < 1 || o->concurrency > 100000) {
        snprintf(err, errlen, "--concurrency wants 1 to 100000, got %" PRIu32, o->concurrency);
        return -1;
    }
    if (o->mails_min < 1 || o->mails_min > o->mails_max || o->mails_max > MAX_MAILS_PER_SESSION) {
        snprintf(err, errlen, "--mails-per-session wants MIN-MAX with 1 <= MIN <= MAX <= %u",
                 MAX_MAILS_PER_SESSION);
        return -1;
    }
    if (o->mss < 64 || o->mss > 9000) {
        snprintf(err, errlen, "--mss wants 64 to 9000 bytes, got %" PRIu32, o->mss);
        return -1;
    }
    if (!(o->rate_mbps >= 1 && o->rate_mbps <= 1e6)) { /* the ps clock lasts 213 days */
        snprintf(err, errlen, "--rate-mbps wants 1 to 1000000, got %g", o->rate_mbps);
        return -1;
    }
    if (o->replay && (o->mails != o->nreplay || o->match_fraction != 0)) {
        snprintf(err, errlen, "replaying %zu mails: --mails and --match-fraction do not apply",
                 o->nreplay);
        return -1;
    }
    if (check_fraction("--match-fraction", o->match_fraction, err, errlen) ||
        check_fraction("--bdat-fraction", o->bdat_fraction, err, errlen) ||
        check_fraction("--any-port-fraction", o->any_port_fraction, err, errlen) ||
        check_fraction("--retransmit-fraction", o->retransmit_fraction, err, errlen) ||
        check_fraction("--reorder-fraction", o->reorder_fraction, err, errlen) ||
        check_fraction("--fragment-fraction", o->fragment_fraction, err, errlen))
        return -1;
    return sx_mail_phrase_check(o->phrase, err, errlen);
}

/** Records the first error; later ones would only be consequences. */
static void fail(sx_gen_smtp *g, const char *msg)
{
    if (!g->failed) {
        size_t n = strlen(msg) < sizeof g->err - 1 ? strlen(msg) : sizeof g->err - 1;
        memcpy(g->err, msg, n);
        g->err[n] = 0;
    }
    g->failed = true;
}

/* ---- packets ---- */

/* Hot path: once per packet. Writes a frame at the current packet time
 * and advances the clock by the frame's time on the link. */
static void emit(sx_gen_smtp *g, const uint8_t *frame, size_t len)
{
    if (sx_pcapw_write(g->pcap, EPOCH_US + g->clock_ps / 1000000, frame, (uint32_t)len))
        g->failed = true; /* the writer keeps errno; close() reports it */
    g->clock_ps += (uint64_t)((double)len * g->ps_per_byte);
    g->st.packets++;
}

/** Builds a segment of s from one side into frame; the ACK number is
 *  what the other side has sent. Returns its length. */
static size_t build(sx_gen_smtp *g, session *s, bool from_server, uint8_t flags, uint32_t seq,
                    const uint8_t *payload, size_t len, bool df, uint8_t *frame)
{
    endpoint *me = from_server ? &s->srv : &s->cli, *peer = from_server ? &s->cli : &s->srv;
    sx_pkt_ends e = {.src_ip = me->ip, .dst_ip = peer->ip, .sport = me->port,
                     .dport = peer->port};
    memcpy(e.src_mac, me->mac, 6);
    memcpy(e.dst_mac, peer->mac, 6);
    sx_pkt_ip ip = {.id = me->ip_id++, .ttl = me->ttl, .dont_fragment = df};
    uint8_t mss_opt[4] = {2, 4, (uint8_t)(g->o.mss >> 8), (uint8_t)g->o.mss};
    sx_pkt_tcp_hdr t = {.seq = seq, .ack = (flags & SX_PKT_ACK) ? peer->nxt : 0,
                        .flags = flags, .window = WINDOW};
    if (flags & SX_PKT_SYN) {
        t.options = mss_opt;
        t.options_len = sizeof mss_opt;
    }
    return sx_pkt_tcp(frame, g->frame_cap, &e, &ip, &t, payload, len);
}

/** Sends a segment without payload (SYN, FIN, pure ACK) from one side. */
static void send_control(sx_gen_smtp *g, session *s, bool from_server, uint8_t flags)
{
    endpoint *me = from_server ? &s->srv : &s->cli;
    size_t n = build(g, s, from_server, flags, me->nxt, NULL, 0, true, g->frames[0]);
    emit(g, g->frames[0], n);
    if (flags & (SX_PKT_SYN | SX_PKT_FIN))
        me->nxt++;
}

/** Builds the data segment of len bytes at seq into slot's frame; decides
 *  whether it will go out fragmented (then it is built without DF). */
static outseg prepare_data(sx_gen_smtp *g, session *s, bool from_server, uint32_t seq,
                           const uint8_t *payload, size_t len, uint8_t flags, int slot)
{
    outseg o = {.frame = g->frames[slot]};
    o.fragment = SX_PKT_TCP_LEN + len >= 2 * FRAG_MIN_DATA &&
                 sx_rng_chance(&g->imp, g->o.fragment_fraction);
    o.len = build(g, s, from_server, flags, seq, payload, len, !o.fragment, o.frame);
    return o;
}

/** Sends a prepared data segment: whole or as fragments, and maybe
 *  keeps a copy to retransmit a few steps later. */
static void send_data(sx_gen_smtp *g, session *s, const outseg *o)
{
    if (o->fragment) {
        size_t ip_payload = o->len - SX_PKT_ETH_LEN - SX_PKT_IPV4_LEN;
        size_t pieces = sx_rng_range(&g->imp, 2, 3);
        size_t frag_data = ((ip_payload + pieces - 1) / pieces + 7) & ~(size_t)7;
        if (frag_data < FRAG_MIN_DATA)
            frag_data = FRAG_MIN_DATA;
        size_t count = sx_pkt_fragment_count(o->len, frag_data);
        bool reverse = sx_rng_below(&g->imp, 4) == 0;
        for (size_t i = 0; i < count; i++) {
            size_t index = reverse ? count - 1 - i : i;
            size_t n = sx_pkt_fragment(o->frame, o->len, frag_data, index, g->frag, g->frame_cap);
            emit(g, g->frag, n);
        }
        g->st.fragmented++;
    } else {
        emit(g, o->frame, o->len);
    }
    if (!s->rtx_len && sx_rng_chance(&g->imp, g->o.retransmit_fraction)) {
        memcpy(s->rtx, o->frame, o->len);
        s->rtx_len = o->len;
        s->rtx_wait = sx_rng_range(&g->imp, 1, 3);
        g->st.retransmitted++;
    }
}

/* ---- turns: what the sides say ---- */

/** Appends a turn of printf-formatted text to s's script. */
static void add_turn(session *s, bool from_server, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_turn(session *s, bool from_server, const char *fmt, ...)
{
    va_list ap;
    size_t off = s->wire.len;
    char line[1024];
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sx_buf_put(&s->wire, line, n > 0 ? ((size_t)n < sizeof line ? (size_t)n : sizeof line - 1) : 0);
    s->turns[s->nturns++] = (turn){.from_server = from_server, .off = off,
                                   .len = s->wire.len - off};
}

/** Appends to the last turn (pipelined commands or replies). */
static void extend_turn(session *s, const char *text)
{
    sx_buf_puts(&s->wire, text);
    s->turns[s->nturns - 1].len = s->wire.len - s->turns[s->nturns - 1].off;
}

/** Starts a new script of turns (the previous one is fully sent). */
static void reset_turns(session *s)
{
    s->wire.len = 0;
    s->nturns = 0;
    s->cur = 0;
    s->cur_off = 0;
}

/** A command verb in the session's case (commands are case-insensitive,
 *  RFC 5321 2.4; a few clients send them in lower case). */
static const char *verb(const session *s, const char *upper, const char *lower)
{
    return s->lowercase ? lower : upper;
}

/** The greeting and EHLO exchange that open a session. */
static void script_open(session *s)
{
    reset_turns(s);
    add_turn(s, true, "220 %s ESMTP Postfix\r\n", s->server_host);
    add_turn(s, false, "%s %s\r\n", verb(s, "EHLO", "ehlo"), s->client_host);
    add_turn(s, true,
             "250-%s\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
             "250-CHUNKING\r\n250 SMTPUTF8\r\n", s->server_host);
}

/** QUIT and its reply. */
static void script_quit(session *s)
{
    reset_turns(s);
    add_turn(s, false, "%s\r\n", verb(s, "QUIT", "quit"));
    add_turn(s, true, "221 2.0.0 Bye\r\n");
}

/* Hot path: once per mail, over its bytes. The 64-bit FNV-1a hash. */
static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* Hot path: once per DATA mail. Appends raw to out with every line that
 * starts with '.' given another '.' (RFC 5321 4.5.2), then ".\r\n". */
static void put_dot_stuffed(sx_buf *out, const uint8_t *raw, size_t n)
{
    sx_buf_reserve(out, n + n / 3 + 8);
    const uint8_t *p = raw, *end = raw + n;
    if (n && raw[0] == '.')
        sx_buf_put(out, ".", 1);
    while (p < end) {
        const uint8_t *hit = memmem(p, (size_t)(end - p), "\n.", 2);
        const uint8_t *upto = hit ? hit + 1 : end;
        sx_buf_put(out, p, (size_t)(upto - p));
        if (hit)
            sx_buf_put(out, ".", 1);
        p = upto;
    }
    sx_buf_put(out, ".\r\n", 3);
}

/** A mail size: lognormal with the requested mean, clamped to
 *  [200, 20 x mean]. */
static size_t draw_size(sx_rng *r, uint64_t mean)
{
    double u1 = 1.0 - sx_rng_unit(r), u2 = sx_rng_unit(r);
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    double mu = log((double)mean) - SIZE_SIGMA * SIZE_SIGMA / 2;
    double x = exp(mu + SIZE_SIGMA * z);
    double hi = 20.0 * (double)mean;
    return (size_t)(x < 200 ? 200 : x > hi ? hi : x);
}

/** Writes the raw mail to DIR/<number>.eml. */
static void write_eml(sx_gen_smtp *g, uint64_t number, const sx_buf *raw)
{
    char path[4096], msg[4200];
    snprintf(path, sizeof path, "%s/%" PRIu64 ".eml", g->o.mails_dir, number);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(raw->p, 1, raw->len, f) == raw->len;
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        snprintf(msg, sizeof msg, "cannot write %s: %s", path, strerror(e));
        fail(g, msg);
    }
}

/** Starts a truth line in t (emptied first): the mail's number, session,
 *  index, the connection and the envelope, up to the open rcpt_to
 *  list's end. Every string here is the generator's own ASCII
 *  (addresses): nothing needs JSON escaping. */
static void truth_head(sx_buf *t, const session *s, uint64_t number, const sx_mail *m)
{
    const endpoint *c = &s->cli, *v = &s->srv;
    t->len = 0;
    sx_buf_printf(t, "{\"mail\": %" PRIu64 ", \"session\": %" PRIu64 ", \"index\": %" PRIu64
                     ", \"client\": \"%u.%u.%u.%u\", \"cport\": %u, \"server\": \"%u.%u.%u.%u\", "
                     "\"sport\": %u, \"mail_from\": \"%s\", \"rcpt_to\": [",
                  number, s->number, number - s->first_mail + 1, c->ip >> 24, (c->ip >> 16) & 255,
                  (c->ip >> 8) & 255, c->ip & 255, c->port, v->ip >> 24, (v->ip >> 16) & 255,
                  (v->ip >> 8) & 255, v->ip & 255, v->port, m->from);
    for (unsigned i = 0; i < m->nrcpt; i++)
        sx_buf_printf(t, "%s\"%s\"", i ? ", " : "", m->rcpt[i]);
}

/** Formats the truth line of the mail just built into s->truth. */
static void format_truth(sx_gen_smtp *g, session *s, uint64_t number, bool bdat,
                         sx_mail_encoding plant)
{
    const sx_mail *m = &g->mail;
    sx_buf *t = &s->truth;
    truth_head(t, s, number, m);
    const char *enc = sx_mail_encoding_name(plant);
    sx_buf_printf(t, "], \"subject\": \"%s\", \"message_id\": \"<%s>\", \"size\": %zu, "
                     "\"transfer\": \"%s\", \"planted\": %s, \"encoding\": %s%s%s, "
                     "\"fnv1a64\": \"%016" PRIx64 "\"}\n",
                  m->subject, m->message_id, m->raw.len, bdat ? "BDAT" : "DATA",
                  enc ? "true" : "false", enc ? "\"" : "", enc ? enc : "null", enc ? "\"" : "",
                  fnv1a64(m->raw.p, m->raw.len));
}

/** Formats the truth line of the replayed mail just loaded into
 *  s->truth: the file's name instead of the synthetic mail's fields. */
static void format_replay_truth(sx_gen_smtp *g, session *s, uint64_t number, bool bdat)
{
    const sx_mail *m = &g->mail;
    sx_buf *t = &s->truth;
    truth_head(t, s, number, m);
    sx_buf_puts(t, "], \"file\": ");
    sx_mail_replay_json_string(t, g->o.replay[number - 1].name);
    sx_buf_printf(t, ", \"size\": %zu, \"transfer\": \"%s\", \"fnv1a64\": \"%016" PRIx64 "\"}\n",
                  m->raw.len, bdat ? "BDAT" : "DATA", fnv1a64(m->raw.p, m->raw.len));
}

/** The mail's content turns, BDAT: the raw mail in 1-4 chunks, each
 *  "BDAT n" and its bytes, the last "BDAT n LAST" (or, now and then, an
 *  empty "BDAT 0 LAST" after them), each answered with 250. */
static void script_bdat(session *s, const sx_buf *raw, const char *queue_id)
{
    unsigned chunks = sx_rng_range(&s->rng, 1, MAX_BDAT_CHUNKS);
    if (raw->len < 4 * chunks)
        chunks = 1;
    bool empty_last = sx_rng_below(&s->rng, 8) == 0;
    size_t off = 0;
    for (unsigned i = 0; i < chunks; i++) {
        size_t left = raw->len - off;
        size_t n = i + 1 == chunks ? left : 1 + sx_rng_below(&s->rng, left / (chunks - i));
        bool last = i + 1 == chunks && !empty_last;
        add_turn(s, false, "%s %zu%s\r\n", verb(s, "BDAT", "bdat"), n, last ? " LAST" : "");
        sx_buf_put(&s->wire, raw->p + off, n);
        s->turns[s->nturns - 1].len += n;
        s->turns[s->nturns - 1].ends_mail = last;
        off += n;
        if (last)
            add_turn(s, true, "250 2.0.0 Ok: %zu bytes, queued as %s\r\n", raw->len, queue_id);
        else
            add_turn(s, true, "250 2.0.0 Ok: %zu octets received\r\n", n);
    }
    if (empty_last) {
        add_turn(s, false, "%s 0 LAST\r\n", verb(s, "BDAT", "bdat"));
        s->turns[s->nturns - 1].ends_mail = true;
        add_turn(s, true, "250 2.0.0 Ok: %zu bytes, queued as %s\r\n", raw->len, queue_id);
    }
}

/** The envelope turns: MAIL FROM, RCPT TO (and DATA), pipelined in one
 *  turn each way when the session pipelines, else one by one. */
static void script_envelope(session *s, const sx_mail *m, bool bdat)
{
    char size[32] = "";
    if (s->size_param)
        snprintf(size, sizeof size, " SIZE=%zu", m->raw.len);
    add_turn(s, false, "%s:<%s>%s\r\n", verb(s, "MAIL FROM", "mail from"), m->from, size);
    if (!s->pipelining)
        add_turn(s, true, "250 2.1.0 Ok\r\n");
    for (unsigned i = 0; i < m->nrcpt; i++) {
        char line[160];
        snprintf(line, sizeof line, "%s:<%s>\r\n", verb(s, "RCPT TO", "rcpt to"), m->rcpt[i]);
        if (s->pipelining) {
            extend_turn(s, line);
        } else {
            add_turn(s, false, "%s", line);
            add_turn(s, true, "250 2.1.5 Ok\r\n");
        }
    }
    if (!bdat) {
        if (s->pipelining)
            extend_turn(s, s->lowercase ? "data\r\n" : "DATA\r\n");
        else
            add_turn(s, false, "%s\r\n", verb(s, "DATA", "data"));
    }
    if (s->pipelining) {
        add_turn(s, true, "250 2.1.0 Ok\r\n");
        for (unsigned i = 0; i < m->nrcpt; i++)
            extend_turn(s, "250 2.1.5 Ok\r\n");
        if (!bdat)
            extend_turn(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
    } else if (!bdat) {
        add_turn(s, true, "354 End data with <CR><LF>.<CR><LF>\r\n");
    }
}

/** Builds the session's next mail and the turns that send it. */
static void script_mail(sx_gen_smtp *g, session *s)
{
    uint64_t number = s->next_mail++;
    sx_rng r;
    sx_rng_seed(&r, g->o.seed, STREAM_MAIL, number);
    size_t target = draw_size(&r, g->o.mean_size);
    bool bdat = sx_rng_chance(&r, g->o.bdat_fraction);
    sx_mail_encoding plant = (sx_mail_encoding)s->plans[number - s->first_mail];
    sx_mail_spec spec = {.number = number, .seed = g->o.seed, .target_size = target,
                         .plant = plant, .phrase = g->o.phrase,
                         .phrase_len = strlen(g->o.phrase),
                         .date = (time_t)(EPOCH_US / 1000000 + number / 800),
                         .client_host = s->client_host};
    char err[4200];
    int built = g->o.replay ? sx_mail_replay_load(&g->mail, &g->o.replay[number - 1], number, err,
                                                  sizeof err)
                            : sx_mail_build(&g->mail, &spec, &r, err, sizeof err);
    if (built != 0) {
        fail(g, err);
        return;
    }
    const sx_buf *raw = &g->mail.raw;
    if (g->o.mails_dir)
        write_eml(g, number, raw);
    if (g->o.replay)
        format_replay_truth(g, s, number, bdat);
    else
        format_truth(g, s, number, bdat, plant);
    g->st.mail_bytes += raw->len;
    g->st.bdat += bdat;
    if (plant != SX_MAIL_NOT_PLANTED) {
        g->st.planted++;
        g->st.planted_by[plant]++;
    }

    reset_turns(s);
    if (sx_rng_below(&s->rng, 10) == 0) {
        add_turn(s, false, "%s\r\n", verb(s, "RSET", "rset"));
        add_turn(s, true, "250 2.0.0 Ok\r\n");
        g->st.rset++;
    }
    script_envelope(s, &g->mail, bdat);
    char queue_id[16];
    snprintf(queue_id, sizeof queue_id, "%08" PRIX32, (uint32_t)sx_rng_next(&s->rng));
    if (bdat) {
        script_bdat(s, raw, queue_id);
    } else {
        size_t off = s->wire.len;
        put_dot_stuffed(&s->wire, raw->p, raw->len);
        s->turns[s->nturns++] = (turn){.from_server = false, .ends_mail = true, .off = off,
                                       .len = s->wire.len - off};
        add_turn(s, true, "250 2.0.0 Ok: queued as %s\r\n", queue_id);
    }
}

/** Loads the next script; false when the session has nothing left. */
static bool next_script(sx_gen_smtp *g, session *s)
{
    if (!s->opened) {
        s->opened = true;
        script_open(s);
    } else if (s->next_mail < s->end_mail) {
        script_mail(g, s);
    } else if (!s->quit) {
        s->quit = true;
        script_quit(s);
    } else {
        return false;
    }
    return true;
}

/* ---- a session's steps ---- */

/** Sends the next segment of the current turn (or a reordered pair). */
static void send_turn_segment(sx_gen_smtp *g, session *s)
{
    turn *t = &s->turns[s->cur];
    endpoint *me = t->from_server ? &s->srv : &s->cli;
    const uint8_t *p = s->wire.p + t->off + s->cur_off;
    size_t left = t->len - s->cur_off, mss = g->o.mss;
    if (left > mss && sx_rng_chance(&g->imp, g->o.reorder_fraction)) {
        size_t second = left - mss > mss ? mss : left - mss;
        uint8_t psh = second == left - mss ? SX_PKT_PSH : 0;
        outseg a = prepare_data(g, s, t->from_server, me->nxt, p, mss, SX_PKT_ACK, 0);
        outseg b = prepare_data(g, s, t->from_server, me->nxt + (uint32_t)mss, p + mss, second,
                                SX_PKT_ACK | psh, 1);
        send_data(g, s, &b);
        send_data(g, s, &a);
        me->nxt += (uint32_t)(mss + second);
        s->cur_off += mss + second;
        s->unacked += 2;
        g->st.reordered++;
    } else {
        size_t n = left > mss ? mss : left;
        uint8_t psh = n == left ? SX_PKT_PSH : 0;
        outseg a = prepare_data(g, s, t->from_server, me->nxt, p, n, SX_PKT_ACK | psh, 0);
        send_data(g, s, &a);
        me->nxt += (uint32_t)n;
        s->cur_off += n;
        s->unacked++;
    }
    if (s->cur_off < t->len) {
        s->ack_due = s->unacked >= 2;
        return;
    }
    if (t->ends_mail && fwrite(s->truth.p, 1, s->truth.len, g->truth) != s->truth.len) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot write %s: %s", g->o.truth_path, strerror(errno));
        fail(g, msg);
    }
    g->st.mails += t->ends_mail;
    bool from_server = t->from_server;
    s->cur++;
    s->cur_off = 0;
    /* The other side's next turn acknowledges this one; a pure ACK only
     * when the same side goes on. */
    s->ack_due = s->cur < s->nturns && s->turns[s->cur].from_server == from_server;
    if (!s->ack_due)
        s->unacked = 0;
}

/** One step of an established session: a pure ACK, the next segment, or
 *  (nothing left to say) the first FIN. */
static void step_data(sx_gen_smtp *g, session *s)
{
    if (s->ack_due) {
        bool receiver_is_server = !s->turns[s->cur < s->nturns ? s->cur : s->nturns - 1].from_server;
        send_control(g, s, receiver_is_server, SX_PKT_ACK);
        s->ack_due = false;
        s->unacked = 0;
        return;
    }
    if (s->cur >= s->nturns && !next_script(g, s)) {
        if (s->rtx_len) { /* a pending copy goes before the connection closes */
            emit(g, s->rtx, s->rtx_len);
            s->rtx_len = 0;
            return;
        }
        send_control(g, s, s->server_closes, SX_PKT_FIN | SX_PKT_ACK);
        s->phase = PH_FIN2;
        return;
    }
    if (!g->failed)
        send_turn_segment(g, s);
}

/** Lets session s send its next packet(s). Returns true when it is done. */
static bool session_step(sx_gen_smtp *g, session *s)
{
    if (s->rtx_len && s->rtx_wait-- == 0) {
        emit(g, s->rtx, s->rtx_len);
        s->rtx_len = 0;
        return false;
    }
    switch (s->phase) {
    case PH_SYN:
        send_control(g, s, false, SX_PKT_SYN);
        s->phase = PH_SYNACK;
        break;
    case PH_SYNACK:
        send_control(g, s, true, SX_PKT_SYN | SX_PKT_ACK);
        s->phase = PH_ACK;
        break;
    case PH_ACK:
        send_control(g, s, false, SX_PKT_ACK);
        s->phase = PH_DATA;
        break;
    case PH_DATA: step_data(g, s); break;
    case PH_FIN2:
        send_control(g, s, !s->server_closes, SX_PKT_FIN | SX_PKT_ACK);
        s->phase = PH_LASTACK;
        break;
    case PH_LASTACK:
        send_control(g, s, s->server_closes, SX_PKT_ACK);
        s->phase = PH_DONE;
        break;
    default: break;
    }
    return s->phase == PH_DONE;
}

/* ---- sessions ---- */

/** Fills an endpoint's MAC from its address (02: locally administered). */
static void set_mac(endpoint *e, uint8_t kind)
{
    uint8_t mac[6] = {0x02, kind, (uint8_t)(e->ip >> 24), (uint8_t)(e->ip >> 16),
                      (uint8_t)(e->ip >> 8), (uint8_t)e->ip};
    memcpy(e->mac, mac, 6);
}

/** Chooses which of the session's mails carry the phrase: selection
 *  sampling over mail numbers (Knuth's algorithm S), so exactly the
 *  planned number are planted, spread evenly, encodings in turn. */
static void plan_mails(sx_gen_smtp *g, session *s)
{
    uint64_t count = s->end_mail - s->first_mail;
    if (count > s->plans_cap) {
        s->plans = sx_realloc(s->plans, count);
        s->plans_cap = count;
    }
    for (uint64_t i = 0; i < count; i++) {
        uint64_t remaining = g->o.mails - (s->first_mail + i) + 1;
        s->plans[i] = SX_MAIL_NOT_PLANTED;
        if (g->plant_left && sx_rng_unit(&g->plan) * (double)remaining < (double)g->plant_left) {
            s->plans[i] = (uint8_t)(g->planted_chosen++ % 3);
            g->plant_left--;
        }
    }
}

/** Draws the session's endpoints and manners. */
static void set_endpoints(sx_gen_smtp *g, session *s)
{
    sx_rng *r = &s->rng;
    endpoint *c = &s->cli, *v = &s->srv;
    /* Session n's client is 10.0.0.1 + (n x CLIENT_STEP + offset) mod
     * CLIENT_SPAN: a bijection, so no two of the first 16.7 million
     * sessions share a client and no two open connections a four-tuple. */
    c->ip = 10u << 24 | (uint32_t)(1 + (s->number * CLIENT_STEP + g->client_offset) % CLIENT_SPAN);
    c->port = (uint16_t)sx_rng_range(r, 32768, 60999);
    v->ip = g->servers[sx_rng_below(r, SERVERS)];
    static const uint16_t other_ports[] = {2525, 587};
    v->port = sx_rng_chance(r, g->o.any_port_fraction) ? other_ports[sx_rng_below(r, 2)] : 25;
    c->ttl = sx_rng_below(r, 2) ? 64 : 128;
    v->ttl = 64;
    c->ip_id = (uint16_t)sx_rng_next(r);
    v->ip_id = (uint16_t)sx_rng_next(r);
    c->nxt = (uint32_t)sx_rng_next(r);
    v->nxt = (uint32_t)sx_rng_next(r);
    set_mac(c, 0x00);
    set_mac(v, 0x01);
    snprintf(s->client_host, sizeof s->client_host, "host-%u-%u-%u.corp.example",
             (c->ip >> 16) & 255, (c->ip >> 8) & 255, c->ip & 255);
    snprintf(s->server_host, sizeof s->server_host, "mx%u.example.net", v->ip & 255);
    s->pipelining = sx_rng_below(r, 2);
    s->size_param = sx_rng_below(r, 2);
    s->lowercase = sx_rng_below(r, 16) == 0;
    s->server_closes = sx_rng_below(r, 3) == 0;
}

/** Opens the next session with its share of the remaining mails. */
static void start_session(sx_gen_smtp *g)
{
    session *s = g->npool ? g->pool[--g->npool] : sx_calloc(1, sizeof *s);
    if (!s->rtx)
        s->rtx = sx_malloc(g->frame_cap);
    if (s->wire.cap > 4 * g->o.mean_size + (1u << 20))
        sx_buf_free(&s->wire); /* its last mail was a big one: do not keep its room */
    s->number = ++g->st.sessions;
    sx_rng_seed(&s->rng, g->o.seed, STREAM_SESSION, s->number);
    uint64_t count = sx_rng_range(&s->rng, g->o.mails_min, g->o.mails_max);
    uint64_t left = g->o.mails - g->next_mail + 1;
    s->first_mail = s->next_mail = g->next_mail;
    s->end_mail = s->first_mail + (count < left ? count : left);
    g->next_mail = s->end_mail;
    plan_mails(g, s);
    set_endpoints(g, s);
    s->phase = PH_SYN;
    s->opened = s->quit = s->ack_due = false;
    s->unacked = 0;
    s->rtx_len = 0;
    reset_turns(s);
    g->active[g->nactive++] = s;
}

/** Frees a session and its buffers. */
static void session_free(session *s)
{
    sx_buf_free(&s->wire);
    sx_buf_free(&s->truth);
    free(s->plans);
    free(s->rtx);
    free(s);
}

/* ---- the generator ---- */

sx_gen_smtp *sx_gen_smtp_new(const sx_gen_smtp_opts *o, char *err, size_t errlen)
{
    if (o->mails_dir && mkdir(o->mails_dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", o->mails_dir, strerror(errno));
        return NULL;
    }
    sx_gen_smtp *g = sx_calloc(1, sizeof *g);
    g->o = *o;
    g->frame_cap = FRAME_CAP(o->mss);
    g->pcap = sx_pcapw_open(o->pcap_path, (uint32_t)g->frame_cap, err, errlen);
    if (!g->pcap) {
        free(g);
        return NULL;
    }
    g->truth = fopen(o->truth_path, "w");
    if (!g->truth) {
        snprintf(err, errlen, "cannot create %s: %s", o->truth_path, strerror(errno));
        sx_gen_smtp_destroy(&g);
        return NULL;
    }
    setvbuf(g->truth, NULL, _IOFBF, 1 << 20);
    sx_rng_seed(&g->plan, o->seed, STREAM_PLAN, 0);
    sx_rng_seed(&g->sched, o->seed, STREAM_SCHEDULE, 0);
    sx_rng_seed(&g->imp, o->seed, STREAM_IMPAIR, 0);
    sx_rng srv;
    sx_rng_seed(&srv, o->seed, STREAM_SERVERS, 0);
    for (int i = 0; i < SERVERS; i++) /* distinct: 192.168.i.x */
        g->servers[i] = 192u << 24 | 168u << 16 | (uint32_t)i << 8 | sx_rng_range(&srv, 1, 254);
    g->client_offset = sx_rng_below(&srv, CLIENT_SPAN);
    g->next_mail = 1;
    g->plant_left = (uint64_t)llround(o->match_fraction * (double)o->mails);
    g->ps_per_byte = 8.0 * 1e6 / o->rate_mbps;
    g->active = sx_calloc(o->concurrency, sizeof *g->active);
    g->pool = sx_calloc(o->concurrency, sizeof *g->pool);
    for (int i = 0; i < 2; i++)
        g->frames[i] = sx_malloc(g->frame_cap);
    g->frag = sx_malloc(g->frame_cap);
    return g;
}

/** Closes the pcap and truth files; -1 with a message on any error. */
static int close_files(sx_gen_smtp *g, char *err, size_t errlen)
{
    return sx_gen_outputs_close(&g->pcap, &g->st.pcap_bytes, &g->truth, g->o.truth_path, err,
                                errlen);
}

int sx_gen_smtp_run(sx_gen_smtp *g, uint64_t max_packets, char *err, size_t errlen)
{
    if (g->done)
        return 0;
    uint64_t stop = g->st.packets + max_packets;
    while (g->st.packets < stop && !g->failed) {
        while (g->nactive < g->o.concurrency && g->next_mail <= g->o.mails)
            start_session(g);
        if (g->nactive == 0) {
            g->done = true;
            g->st.trace_us = g->clock_ps / 1000000;
            return close_files(g, err, errlen);
        }
        uint32_t i = sx_rng_below(&g->sched, g->nactive);
        session *s = g->active[i];
        if (session_step(g, s)) {
            g->active[i] = g->active[--g->nactive];
            g->pool[g->npool++] = s;
        }
    }
    if (!g->failed)
        return 1;
    char close_err[512] = "";
    int closed = close_files(g, close_err, sizeof close_err);
    snprintf(err, errlen, "%s", g->err[0] ? g->err : closed ? close_err : "write failed");
    g->done = true;
    return -1;
}

void sx_gen_smtp_stats_get(const sx_gen_smtp *g, sx_gen_smtp_stats *out)
{
    *out = g->st;
    if (g->pcap)
        out->pcap_bytes = sx_pcapw_bytes(g->pcap);
}

void sx_gen_smtp_destroy(sx_gen_smtp **gp)
{
    sx_gen_smtp *g = *gp;
    if (!g)
        return;
    char ignored[8];
    close_files(g, ignored, sizeof ignored);
    for (uint32_t i = 0; i < g->nactive; i++)
        session_free(g->active[i]);
    for (uint32_t i = 0; i < g->npool; i++)
        session_free(g->pool[i]);
    free(g->active);
    free(g->pool);
    free(g->frames[0]);
    free(g->frames[1]);
    free(g->frag);
    sx_mail_free(&g->mail);
    free(g);
    *gp = NULL;
}
