/*
 * gen_sip.c -- the SIP trace generator: calls as scripts of timed steps,
 * an event queue that interleaves them, their packets, and the truth.
 *
 * Design: a call is drawn whole when it starts (parties, transport,
 * impairments and a script: each step one packet or SIP message, with
 * its delay after the previous step). A binary heap holds each call's
 * next step and the next arrival, ordered by (time, push number), so
 * concurrent calls interleave in time order, deterministically. A packet
 * goes out at max(its time, the previous packet's + 1 us): capture times
 * strictly increase in file order, and a call's next step is timed from
 * when its previous one really went out.
 *
 * Arrivals come every exponential(1 / rate) seconds; while `concurrency`
 * calls are in progress the next arrival waits for one to end. Outcome
 * kinds are dealt by selection sampling, so each kind gets exactly its
 * sx_gen_sip_counts() share. Truth rows (one per call, ~48 bytes) stay
 * in memory and are written sorted by Call-ID once the last call ends.
 * A call's draws come from its own stream (seed, call number), always
 * the same ones in the same order, so --tcp, --fragment, --retransmit
 * and the kind change what a call does, never another call's numbers.
 *
 * Invariants: at most one heap entry per call slot, plus one arrival; a
 * call's truth times are of first transmissions, taken from the packet
 * that completes the message (a fragmented INVITE's last fragment, a TCP
 * message's last segment).
 */
#include "tools/gen_sip.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "tools/buf.h"
#include "tools/event_heap.h"
#include "tools/packet_build.h"
#include "tools/pcap_writer.h"
#include "tools/rng.h"
#include "tools/sip_build.h"
#include "tools/text_file.h"

#define EPOCH_US 1767225600000000ull  /* 2026-01-01T00:00:00Z */
#define MTU 1500
#define FRAG_DATA (MTU - SX_PKT_IPV4_LEN) /* IP payload bytes per fragment */
#define MSS 1460
#define FRAME_CAP (SX_PKT_ETH_LEN + 65535)
#define FRAG_CAP (SX_PKT_ETH_LEN + MTU)
#define SNAPLEN 65535                 /* the usual; frames are at most 1514 bytes */
#define T1_US 500000u                 /* RFC 3261 T1: when a request is first resent */
#define MAX_STEPS 16                  /* a TCP call has at most 13 */
#define USER_MIN 100                  /* users are user100 .. user4999 on each side */
#define USER_MAX 4999
#define ARRIVAL UINT32_MAX            /* the heap entry of the next arrival */
#define WINDOW 65535
#define OFFER_MIN 1600                /* a fragmented INVITE's SDP: 1600-4000 bytes */
#define OFFER_MAX 4000

/* Random streams (see rng.h): one per kind of decision. */
enum { STREAM_CALL = 1, STREAM_PLAN, STREAM_SCHEDULE, STREAM_KEYS };

typedef enum step_kind {
    ST_SYN, ST_SYNACK, ST_HS_ACK,           /* TCP handshake */
    ST_INVITE, ST_TRYING, ST_RINGING, ST_FINAL, ST_ACK,
    ST_CANCEL, ST_CANCEL_OK, ST_BYE, ST_BYE_OK,
    ST_FIN, ST_FIN_REPLY, ST_LAST_ACK       /* TCP close, the caller first */
} step_kind;

/* One packet or message of a call's script. */
typedef struct step {
    uint64_t delay_us; /* after the previous step went out */
    uint8_t kind;      /* a step_kind */
    bool again;        /* a retransmission */
} step;

/* One side's addresses and counters. */
typedef struct endpoint {
    uint32_t ip;
    uint16_t port;     /* UDP: its SIP port; TCP: the caller's is ephemeral */
    uint8_t mac[6];
    uint8_t ttl;
    uint16_t ip_id;
    uint32_t nxt;      /* the next TCP sequence number it sends */
} endpoint;

/* A call's line of the truth, kept until the end. */
typedef struct truth_row {
    uint64_t key;      /* the Call-ID's 16 hex digits */
    uint64_t start_us, answer_us, end_us;
    uint32_t from_user, to_user;
    uint16_t code;
    uint8_t kind;      /* an sx_gen_sip_kind */
} truth_row;

typedef struct call {
    uint64_t number;   /* 1-based, in start order */
    sx_rng rng;
    sx_gen_sip_kind kind;
    int code;          /* the INVITE's final status */
    bool tcp;
    sx_sip_call sip;
    endpoint a, b;     /* caller, callee */
    step steps[MAX_STEPS];
    unsigned nsteps, cur;
    truth_row *row;
} call;

struct sx_gen_sip {
    sx_gen_sip_opts o;
    sx_pcapw *pcap;
    FILE *truth;
    sx_rng plan, sched;
    uint64_t key_salt;            /* makes Call-IDs depend on the seed */
    uint64_t left[SX_GEN_SIP_KINDS]; /* calls of each kind still to deal */
    uint64_t next_call;           /* the number the next call gets */
    call *calls;                  /* concurrency slots */
    uint32_t *free_slots, nfree;
    sx_event_heap heap;          /* each slot's next step and the arrivals */
    bool arrival_waits;           /* an arrival is due but every slot is busy */
    uint64_t last_us;             /* capture time of the last packet */
    truth_row *rows;              /* by call number - 1 */
    uint8_t *frame, *frag;
    sx_buf msg, scratch;
    sx_gen_sip_stats st;
    char err[512];
    bool failed, done;
};

static const char *const kind_names[SX_GEN_SIP_KINDS] = {"answered", "busy", "failed",
                                                         "cancelled", "unfinished"};
static const char *const outcome_names[SX_GEN_SIP_KINDS] = {"answered", "failed", "failed",
                                                            "cancelled", "timeout"};

void sx_gen_sip_defaults(sx_gen_sip_opts *o)
{
    *o = (sx_gen_sip_opts){.seed = 1, .calls = 1000, .mix = {70, 10, 5, 10, 5},
                           .concurrency = 100, .rate = 200, .duration_mean = 30,
                           .tcp_fraction = 0.10, .fragment_fraction = 0.05,
                           .retransmit_fraction = 0.05};
}

const char *sx_gen_sip_kind_name(sx_gen_sip_kind k)
{
    return k < SX_GEN_SIP_KINDS ? kind_names[k] : "?";
}

/* ---- options ---- */

/* mix -> item { ',' item } ; item -> KIND '=' WEIGHT */
/** Parses one "KIND=WEIGHT" item into m; -1 with a message if bad. */
static int parse_mix_item(const char *item, double m[SX_GEN_SIP_KINDS], bool seen[],
                          char *err, size_t errlen)
{
    const char *eq = strchr(item, '=');
    size_t nlen = eq ? (size_t)(eq - item) : strlen(item);
    int k = 0;
    while (k < SX_GEN_SIP_KINDS &&
           !(strlen(kind_names[k]) == nlen && !strncmp(item, kind_names[k], nlen)))
        k++;
    if (k == SX_GEN_SIP_KINDS) {
        snprintf(err, errlen, "--mix: '%.*s' is no kind (answered, busy, failed, cancelled, "
                              "unfinished)", (int)nlen, item);
        return -1;
    }
    char *end;
    errno = 0;
    double w = eq ? strtod(eq + 1, &end) : -1;
    if (!eq || errno || end == eq + 1 || *end || !(w >= 0 && w <= 1e12)) {
        snprintf(err, errlen, "--mix: '%s' wants %s=WEIGHT with a number from 0 to 1e12", item,
                 kind_names[k]);
        return -1;
    }
    if (seen[k]) {
        snprintf(err, errlen, "--mix: %s is given twice", kind_names[k]);
        return -1;
    }
    seen[k] = true;
    m[k] = w;
    return 0;
}

int sx_gen_sip_parse_mix(const char *text, double mix[SX_GEN_SIP_KINDS], char *err,
                         size_t errlen)
{
    double m[SX_GEN_SIP_KINDS] = {0};
    bool seen[SX_GEN_SIP_KINDS] = {0};
    const char *p = text;
    do {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (n == 0 || n >= sizeof item) {
            snprintf(err, errlen, "--mix wants KIND=WEIGHT[,KIND=WEIGHT...], got '%s'", text);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = 0;
        if (parse_mix_item(item, m, seen, err, errlen))
            return -1;
        p = comma ? comma + 1 : NULL;
    } while (p);
    double sum = 0;
    for (int k = 0; k < SX_GEN_SIP_KINDS; k++)
        sum += m[k];
    if (!(sum > 0)) {
        snprintf(err, errlen, "--mix: the weights add up to 0");
        return -1;
    }
    memcpy(mix, m, sizeof m);
    return 0;
}

void sx_gen_sip_counts(const sx_gen_sip_opts *o, uint64_t counts[SX_GEN_SIP_KINDS])
{
    double sum = 0, rem[SX_GEN_SIP_KINDS];
    for (int k = 0; k < SX_GEN_SIP_KINDS; k++)
        sum += o->mix[k];
    uint64_t given = 0;
    for (int k = 0; k < SX_GEN_SIP_KINDS; k++) {
        double exact = sum > 0 ? (double)o->calls * o->mix[k] / sum : 0;
        counts[k] = (uint64_t)floor(exact);
        rem[k] = o->mix[k] > 0 ? exact - floor(exact) : -2;
        given += counts[k];
    }
    /* The largest remainders get the calls rounding left over (at most
     * one each); the first kind wins a tie. */
    while (given < o->calls) {
        int best = 0;
        for (int k = 1; k < SX_GEN_SIP_KINDS; k++)
            if (rem[k] > rem[best])
                best = k;
        counts[best]++;
        rem[best] -= 1;
        given++;
    }
    while (given > o->calls) /* only if floating point rounded a floor up */
        for (int k = SX_GEN_SIP_KINDS - 1; k >= 0 && given > o->calls; k--)
            if (counts[k]) {
                counts[k]--;
                given--;
            }
}

/** -1 with a message when fraction f of option opt is not in [0, 1]. */
static int check_fraction(const char *opt, double f, char *err, size_t errlen)
{
    if (f >= 0 && f <= 1)
        return 0;
    snprintf(err, errlen, "%s wants a share from 0 to 100 percent, got %g", opt, f * 100);
    return -1;
}

int sx_gen_sip_check(const sx_gen_sip_opts *o, char *err, size_t errlen)
{
    if (!o->pcap_path || !o->truth_path) {
        snprintf(err, errlen, "an output file (-o FILE.pcap) is required");
        return -1;
    }
    if (o->calls < 1 || o->calls > SX_GEN_SIP_MAX_CALLS) {
        snprintf(err, errlen, "--calls wants 1 to %u, got %" PRIu64, SX_GEN_SIP_MAX_CALLS,
                 o->calls);
        return -1;
    }
    if (o->concurrency < 1 || o->concurrency > 100000) {
        snprintf(err, errlen, "--concurrency wants 1 to 100000, got %" PRIu32, o->concurrency);
        return -1;
    }
    if (!(o->rate >= 0.001 && o->rate <= 1e6)) {
        snprintf(err, errlen, "--rate wants 0.001 to 1000000 calls a second, got %g", o->rate);
        return -1;
    }
    if (!(o->duration_mean >= 0.001 && o->duration_mean <= 86400)) {
        snprintf(err, errlen, "--duration-mean wants 0.001 to 86400 seconds, got %g",
                 o->duration_mean);
        return -1;
    }
    double sum = 0;
    for (int k = 0; k < SX_GEN_SIP_KINDS; k++) {
        if (!(o->mix[k] >= 0 && o->mix[k] <= 1e12)) {
            snprintf(err, errlen, "--mix: %s wants a weight from 0 to 1e12", kind_names[k]);
            return -1;
        }
        sum += o->mix[k];
    }
    if (!(sum > 0)) {
        snprintf(err, errlen, "--mix: the weights add up to 0");
        return -1;
    }
    return check_fraction("--tcp", o->tcp_fraction, err, errlen) ||
                   check_fraction("--fragment", o->fragment_fraction, err, errlen) ||
                   check_fraction("--retransmit", o->retransmit_fraction, err, errlen)
               ? -1
               : 0;
}

/** Records the first error; later ones would only be consequences. */
static void fail(sx_gen_sip *g, const char *msg)
{
    if (!g->failed)
        snprintf(g->err, sizeof g->err, "%s", msg);
    g->failed = true;
}

/* ---- names: one function each, shared by the packets and the truth ---- */

/** A bijection of 64-bit numbers (splitmix64's finalizer): distinct call
 *  numbers give distinct Call-IDs. */
static uint64_t scramble(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/** The address of user on side 1 (callers, 10.1/16) or 2 (callees). */
static uint32_t user_ip(uint32_t side, uint32_t user)
{
    uint32_t i = user - USER_MIN;
    return 10u << 24 | side << 16 | (i / 250) << 8 | (i % 250 + 1);
}

/** Writes ip as dotted decimal. */
static void format_ip(char *out, size_t n, uint32_t ip)
{
    snprintf(out, n, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/** A user's address of record: "sip:user123@a.example". */
static void format_uri(char *out, size_t n, uint32_t user, const char *domain)
{
    snprintf(out, n, "sip:user%u@%s", user, domain);
}

/** A Call-ID: 16 hex digits of key, '@', the caller's address. */
static void format_call_id(char *out, size_t n, uint64_t key, uint32_t from_user)
{
    char host[16];
    format_ip(host, sizeof host, user_ip(1, from_user));
    snprintf(out, n, "%016" PRIx64 "@%s", key, host);
}

/* ---- a call's parties ---- */

/** A SIP port: mostly 5060, some 5080 or a high port (detection is by
 *  content, not port). */
static uint16_t draw_sip_port(sx_rng *r)
{
    uint32_t d = sx_rng_below(r, 20);
    return d < 16 ? 5060 : d < 18 ? 5080 : (uint16_t)sx_rng_range(r, 10000, 59999);
}

/** Fills one party and its endpoint: user on side 1 or 2 of the pools. */
static void set_party(call *c, sx_sip_party *p, endpoint *e, uint32_t side, uint32_t user)
{
    static const char *const agents[] = {"Linphone/5.2.5 (belle-sip/5.2.0)", "Zoiper rv2.10.20",
                                         "Grandstream GXP2170 1.0.11.23", "Yealink SIP-T46S",
                                         "Asterisk PBX 20.5.0", "FreeSWITCH-mod_sofia/1.10.11"};
    sx_rng *r = &c->rng;
    e->ip = user_ip(side, user);
    format_ip(p->host, sizeof p->host, e->ip);
    snprintf(p->user, sizeof p->user, "user%u", user);
    format_uri(p->uri, sizeof p->uri, user, side == 1 ? "a.example" : "b.example");
    if (sx_rng_below(r, 2))
        snprintf(p->display, sizeof p->display, "User %u", user);
    else
        p->display[0] = 0;
    snprintf(p->tag, sizeof p->tag, "%08" PRIx32, (uint32_t)sx_rng_next(r));
    p->port = draw_sip_port(r);
    snprintf(p->contact, sizeof p->contact, "sip:%s@%s:%u%s", p->user, p->host, p->port,
             c->tcp ? ";transport=tcp" : "");
    p->rtp_port = (uint16_t)(2 * sx_rng_range(r, 5000, 9999));
    p->agent = agents[user % (sizeof agents / sizeof agents[0])];
    e->port = p->port;
    e->ttl = side == 1 && sx_rng_below(r, 2) ? 128 : 64;
    e->ip_id = (uint16_t)sx_rng_next(r);
    e->nxt = (uint32_t)sx_rng_next(r);
    uint8_t mac[6] = {0x02, (uint8_t)side, (uint8_t)(e->ip >> 24), (uint8_t)(e->ip >> 16),
                      (uint8_t)(e->ip >> 8), (uint8_t)e->ip};
    memcpy(e->mac, mac, 6);
}

/** Draws who calls whom, over what, and the call's identifiers. */
static void draw_parties(sx_gen_sip *g, call *c)
{
    sx_rng *r = &c->rng;
    uint32_t from = sx_rng_range(r, USER_MIN, USER_MAX), to = sx_rng_range(r, USER_MIN, USER_MAX);
    c->tcp = sx_rng_chance(r, g->o.tcp_fraction);
    set_party(c, &c->sip.caller, &c->a, 1, from);
    set_party(c, &c->sip.callee, &c->b, 2, to);
    /* Over TCP the caller connects from an ephemeral port: 7919 is
     * coprime with 28232, so calls fewer than 28232 apart get different
     * ones and no two open connections share a four-tuple. */
    if (c->tcp)
        c->a.port = (uint16_t)(32768 + c->number * 7919 % 28232);
    c->sip.tcp = c->tcp;
    uint64_t key = scramble(c->number ^ g->key_salt);
    format_call_id(c->sip.call_id, sizeof c->sip.call_id, key, from);
    for (int t = 0; t < SX_SIP_TXNS; t++)
        snprintf(c->sip.branch[t], sizeof c->sip.branch[t], "z9hG4bK%016" PRIx64,
                 sx_rng_next(r));
    c->sip.callee_hangs_up = sx_rng_below(r, 2);
    c->sip.sdp_session = sx_rng_next(r) >> 24;
    format_uri(c->sip.redirect, sizeof c->sip.redirect, to, "c.example");
    *c->row = (truth_row){.key = key, .from_user = from, .to_user = to, .kind = (uint8_t)c->kind};
}

/* ---- a call's script ---- */

/** Appends a step delay_us after the previous one. */
static void add(call *c, step_kind kind, uint64_t delay_us, bool again)
{
    c->steps[c->nsteps++] = (step){.delay_us = delay_us, .kind = (uint8_t)kind, .again = again};
}

/** A delay from lo to hi microseconds (hi under 2^32). */
static uint64_t between(sx_rng *r, uint32_t lo, uint32_t hi)
{
    return sx_rng_range(r, lo, hi);
}

/** An answered call's length: exponential with the asked mean, within
 *  [1 ms, 10 x mean]. */
static uint64_t draw_duration(sx_rng *r, double mean_s)
{
    double mean_us = mean_s * 1e6;
    double d = -mean_us * log(1 - sx_rng_unit(r));
    if (d < 1000)
        d = 1000;
    if (d > 10 * mean_us)
        d = 10 * mean_us;
    return (uint64_t)llround(d);
}

/** The INVITE's final status and when it comes after 100 Trying, with
 *  180 Ringing first when the callee's phone rings. */
static void script_final(call *c, uint64_t rtt)
{
    sx_rng *r = &c->rng;
    static const int failures[] = {404, 480, 503, 603, 302};
    switch (c->kind) {
    case SX_GEN_SIP_BUSY:
        c->code = 486;
        add(c, ST_RINGING, between(r, 20000, 300000), false);
        add(c, ST_FINAL, between(r, 500000, 8000000), false);
        break;
    case SX_GEN_SIP_FAILED:
        c->code = failures[sx_rng_below(r, 5)];
        if (c->code == 480 || c->code == 603) { /* rang, then nobody or a refusal */
            add(c, ST_RINGING, between(r, 20000, 300000), false);
            add(c, ST_FINAL, c->code == 480 ? between(r, 10000000, 30000000)
                                            : between(r, 1000000, 10000000), false);
        } else {
            add(c, ST_FINAL, between(r, 5000, 200000), false);
        }
        break;
    case SX_GEN_SIP_CANCELLED:
        c->code = 487;
        add(c, ST_RINGING, between(r, 20000, 300000), false);
        add(c, ST_CANCEL, between(r, 1000000, 20000000), false);
        add(c, ST_CANCEL_OK, rtt + between(r, 100, 2000), false);
        add(c, ST_FINAL, between(r, 100, 5000), false);
        break;
    default: /* answered, unfinished */
        c->code = 200;
        add(c, ST_RINGING, between(r, 20000, 300000), false);
        add(c, ST_FINAL, between(r, 1000000, 15000000), false);
        break;
    }
}

/** Builds the call's steps: handshake (TCP), INVITE (maybe resent), 100,
 *  the outcome's exchange, BYE (maybe resent) for answered calls, FIN
 *  (TCP, not for an unfinished call: it is still up when the trace ends). */
static void script(sx_gen_sip *g, call *c)
{
    sx_rng *r = &c->rng;
    uint64_t rtt = between(r, 2000, 80000);
    /* The impairment draws are made whatever they decide, so that
     * --retransmit and --fragment change only what they decide. */
    bool rtx = sx_rng_chance(r, g->o.retransmit_fraction) && !c->tcp;
    bool rtx_bye = sx_rng_below(r, 2) && rtx && c->kind == SX_GEN_SIP_ANSWERED;
    bool big_offer = sx_rng_chance(r, g->o.fragment_fraction) && !c->tcp;
    uint32_t offer = sx_rng_range(r, OFFER_MIN, OFFER_MAX);
    c->sip.offer_min = big_offer ? offer : 0;
    c->nsteps = c->cur = 0;
    if (c->tcp) {
        add(c, ST_SYN, 0, false);
        add(c, ST_SYNACK, rtt, false);
        add(c, ST_HS_ACK, between(r, 20, 300), false);
        add(c, ST_INVITE, between(r, 50, 2000), false);
    } else {
        add(c, ST_INVITE, 0, false);
    }
    if (rtx && !rtx_bye)
        add(c, ST_INVITE, T1_US, true);
    add(c, ST_TRYING, rtt + between(r, 100, 5000), false);
    script_final(c, rtt);
    uint64_t ack_delay = rtt + between(r, 100, 2000);
    add(c, ST_ACK, ack_delay, false);
    if (c->kind == SX_GEN_SIP_UNFINISHED)
        return;
    if (c->kind == SX_GEN_SIP_ANSWERED) {
        uint64_t talk = draw_duration(r, g->o.duration_mean);
        add(c, ST_BYE, talk > ack_delay + 1000 ? talk - ack_delay : 1000, false);
        if (rtx_bye)
            add(c, ST_BYE, T1_US, true);
        add(c, ST_BYE_OK, rtt + between(r, 100, 2000), false);
    }
    if (c->tcp) {
        add(c, ST_FIN, between(r, 50000, 1000000), false);
        add(c, ST_FIN_REPLY, rtt, false);
        add(c, ST_LAST_ACK, between(r, 20, 300), false);
    }
}

/** Deals the next call's kind: selection sampling over what is left,
 *  so every kind ends with exactly its count. */
static sx_gen_sip_kind deal_kind(sx_gen_sip *g)
{
    uint64_t remaining = g->o.calls - g->next_call + 1;
    uint64_t u = sx_rng_below(&g->plan, remaining);
    for (int k = 0; k < SX_GEN_SIP_KINDS; k++) {
        if (u < g->left[k]) {
            g->left[k]--;
            return (sx_gen_sip_kind)k;
        }
        u -= g->left[k];
    }
    return SX_GEN_SIP_ANSWERED; /* not reached: the counts add up to the calls */
}

/** Starts the next call in slot at at_us. */
static void start_call(sx_gen_sip *g, uint32_t slot, uint64_t at_us)
{
    call *c = &g->calls[slot];
    c->kind = deal_kind(g);
    c->number = g->next_call++;
    c->row = &g->rows[c->number - 1];
    sx_rng_seed(&c->rng, g->o.seed, STREAM_CALL, c->number);
    draw_parties(g, c);
    script(g, c);
    g->st.tcp += c->tcp;
    sx_event_heap_push(&g->heap, at_us + c->steps[0].delay_us, slot);
}

/* ---- packets ---- */

/* Hot path: once per packet. Writes a frame at at_us, or just after the
 * previous packet; returns the time it got. */
static uint64_t emit(sx_gen_sip *g, uint64_t at_us, const uint8_t *frame, size_t len)
{
    uint64_t ts = at_us > g->last_us ? at_us : g->last_us + 1;
    if (sx_pcapw_write(g->pcap, ts, frame, (uint32_t)len))
        g->failed = true; /* the writer keeps errno; close() reports it */
    g->last_us = ts;
    g->st.packets++;
    return ts;
}

/** The ends of a packet of c from the caller or the callee. */
static sx_pkt_ends ends_of(const call *c, bool from_caller)
{
    const endpoint *me = from_caller ? &c->a : &c->b, *peer = from_caller ? &c->b : &c->a;
    sx_pkt_ends e = {.src_ip = me->ip, .dst_ip = peer->ip, .sport = me->port,
                     .dport = peer->port};
    memcpy(e.src_mac, me->mac, 6);
    memcpy(e.dst_mac, peer->mac, 6);
    return e;
}

/** Sends one TCP segment of c; SYN and FIN take a sequence number. */
static uint64_t send_segment(sx_gen_sip *g, call *c, bool from_caller, uint8_t flags,
                             const uint8_t *payload, size_t len, uint64_t at_us)
{
    endpoint *me = from_caller ? &c->a : &c->b, *peer = from_caller ? &c->b : &c->a;
    sx_pkt_ends e = ends_of(c, from_caller);
    sx_pkt_ip ip = {.id = me->ip_id++, .ttl = me->ttl, .dont_fragment = true};
    uint8_t mss_opt[4] = {2, 4, MSS >> 8, MSS & 255};
    sx_pkt_tcp_hdr t = {.seq = me->nxt, .ack = (flags & SX_PKT_ACK) ? peer->nxt : 0,
                        .flags = flags, .window = WINDOW};
    if (flags & SX_PKT_SYN) {
        t.options = mss_opt;
        t.options_len = sizeof mss_opt;
    }
    size_t n = sx_pkt_tcp(g->frame, FRAME_CAP, &e, &ip, &t, payload, len);
    me->nxt += (uint32_t)len + ((flags & (SX_PKT_SYN | SX_PKT_FIN)) ? 1 : 0);
    return emit(g, at_us, g->frame, n);
}

/** Sends a SIP message over c's TCP connection in MSS-sized segments. */
static uint64_t send_tcp_message(sx_gen_sip *g, call *c, bool from_caller, uint64_t at_us)
{
    uint64_t ts = at_us;
    for (size_t off = 0; off < g->msg.len; off += MSS) {
        size_t n = g->msg.len - off < MSS ? g->msg.len - off : MSS;
        uint8_t psh = off + n == g->msg.len ? SX_PKT_PSH : 0;
        ts = send_segment(g, c, from_caller, SX_PKT_ACK | psh, g->msg.p + off, n, at_us);
    }
    return ts;
}

/** Sends a SIP message as one UDP datagram, cut into IPv4 fragments
 *  when it does not fit the MTU. */
static uint64_t send_udp_message(sx_gen_sip *g, call *c, bool from_caller, uint64_t at_us)
{
    endpoint *me = from_caller ? &c->a : &c->b;
    sx_pkt_ends e = ends_of(c, from_caller);
    sx_pkt_ip ip = {.id = me->ip_id++, .ttl = me->ttl, .dont_fragment = false};
    size_t n = sx_pkt_udp(g->frame, FRAME_CAP, &e, &ip, g->msg.p, g->msg.len);
    if (n == 0) {
        fail(g, "a SIP message does not fit in a UDP datagram");
        return at_us;
    }
    if (n <= FRAG_CAP)
        return emit(g, at_us, g->frame, n);
    size_t count = sx_pkt_fragment_count(n, FRAG_DATA);
    uint64_t ts = at_us;
    for (size_t i = 0; i < count; i++) {
        size_t len = sx_pkt_fragment(g->frame, n, FRAG_DATA, i, g->frag, FRAG_CAP);
        ts = emit(g, at_us, g->frag, len);
    }
    g->st.fragmented++;
    return ts;
}

/** Writes the text of a SIP step into g->msg; returns whether the
 *  caller sends it. */
static bool write_message(sx_gen_sip *g, const call *c, step_kind kind)
{
    const sx_sip_call *s = &c->sip;
    switch (kind) {
    case ST_INVITE: sx_sip_request(&g->msg, &g->scratch, s, SX_SIP_INVITE, 0); return true;
    case ST_TRYING: sx_sip_response(&g->msg, &g->scratch, s, SX_SIP_INVITE, 100); return false;
    case ST_RINGING: sx_sip_response(&g->msg, &g->scratch, s, SX_SIP_INVITE, 180); return false;
    case ST_FINAL:
        sx_sip_response(&g->msg, &g->scratch, s, SX_SIP_INVITE, c->code);
        return false;
    case ST_ACK: sx_sip_request(&g->msg, &g->scratch, s, SX_SIP_ACK, c->code); return true;
    case ST_CANCEL: sx_sip_request(&g->msg, &g->scratch, s, SX_SIP_CANCEL, 0); return true;
    case ST_CANCEL_OK: sx_sip_response(&g->msg, &g->scratch, s, SX_SIP_CANCEL, 200); return false;
    case ST_BYE:
        sx_sip_request(&g->msg, &g->scratch, s, SX_SIP_BYE, 0);
        return !s->callee_hangs_up;
    default: /* ST_BYE_OK */
        sx_sip_response(&g->msg, &g->scratch, s, SX_SIP_BYE, 200);
        return s->callee_hangs_up;
    }
}

/** Sends step s of call c due at at_us; returns the time of its last
 *  packet. */
static uint64_t send_step(sx_gen_sip *g, call *c, const step *s, uint64_t at_us)
{
    switch ((step_kind)s->kind) {
    case ST_SYN: return send_segment(g, c, true, SX_PKT_SYN, NULL, 0, at_us);
    case ST_SYNACK: return send_segment(g, c, false, SX_PKT_SYN | SX_PKT_ACK, NULL, 0, at_us);
    case ST_HS_ACK: return send_segment(g, c, true, SX_PKT_ACK, NULL, 0, at_us);
    case ST_FIN: return send_segment(g, c, true, SX_PKT_FIN | SX_PKT_ACK, NULL, 0, at_us);
    case ST_FIN_REPLY: return send_segment(g, c, false, SX_PKT_FIN | SX_PKT_ACK, NULL, 0, at_us);
    case ST_LAST_ACK: return send_segment(g, c, true, SX_PKT_ACK, NULL, 0, at_us);
    default: break;
    }
    bool from_caller = write_message(g, c, (step_kind)s->kind);
    return c->tcp ? send_tcp_message(g, c, from_caller, at_us)
                  : send_udp_message(g, c, from_caller, at_us);
}

/** Notes in the call's truth row what step s, sent at ts, means. */
static void note_truth(sx_gen_sip *g, call *c, const step *s, uint64_t ts)
{
    truth_row *row = c->row;
    g->st.invites += s->kind == ST_INVITE;
    if (s->again) {
        g->st.retransmitted++;
        return;
    }
    switch ((step_kind)s->kind) {
    case ST_INVITE: row->start_us = ts; break;
    case ST_FINAL:
        row->code = (uint16_t)c->code;
        if (c->code >= 200 && c->code < 300)
            row->answer_us = ts;
        else
            row->end_us = ts;
        break;
    case ST_BYE: row->end_us = ts; break;
    case ST_ACK:
        if (c->kind == SX_GEN_SIP_UNFINISHED)
            row->end_us = ts;
        break;
    default: break;
    }
}

/** Ends the call in slot at ts: frees the slot, lets a waiting arrival in. */
static void end_call(sx_gen_sip *g, uint32_t slot, uint64_t ts)
{
    g->st.calls++;
    g->st.by_kind[g->calls[slot].kind]++;
    g->free_slots[g->nfree++] = slot;
    if (g->arrival_waits) {
        g->arrival_waits = false;
        sx_event_heap_push(&g->heap, ts, ARRIVAL);
    }
}

/** The time to the next arrival: exponential with mean 1 / rate. */
static uint64_t arrival_gap(sx_gen_sip *g)
{
    return (uint64_t)llround(-1e6 / g->o.rate * log(1 - sx_rng_unit(&g->sched)));
}

/** A call arrives at at_us: it starts if a slot is free, else waits. */
static void arrive(sx_gen_sip *g, uint64_t at_us)
{
    if (g->nfree == 0) {
        g->arrival_waits = true;
        return;
    }
    start_call(g, g->free_slots[--g->nfree], at_us);
    if (g->next_call <= g->o.calls)
        sx_event_heap_push(&g->heap, at_us + arrival_gap(g), ARRIVAL);
}

/* Hot path: once per step. Sends slot's next step and queues the one after. */
static void step_call(sx_gen_sip *g, uint32_t slot, uint64_t at_us)
{
    call *c = &g->calls[slot];
    const step *s = &c->steps[c->cur];
    uint64_t ts = send_step(g, c, s, at_us);
    note_truth(g, c, s, ts);
    if (++c->cur < c->nsteps)
        sx_event_heap_push(&g->heap, ts + c->steps[c->cur].delay_us, slot);
    else
        end_call(g, slot, ts);
}

/* ---- the truth ---- */

/** Orders truth rows by Call-ID: fixed-width hex keys, all distinct, so
 *  comparing keys is comparing the strings. */
static int by_call_id(const void *a, const void *b)
{
    uint64_t x = ((const truth_row *)a)->key, y = ((const truth_row *)b)->key;
    return x < y ? -1 : x > y;
}

/** Writes one truth line. */
static void write_row(FILE *f, const truth_row *r)
{
    char id[64], from[SX_SIP_URI_MAX], to[SX_SIP_URI_MAX];
    format_call_id(id, sizeof id, r->key, r->from_user);
    format_uri(from, sizeof from, r->from_user, "a.example");
    format_uri(to, sizeof to, r->to_user, "b.example");
    bool talked = r->kind == SX_GEN_SIP_ANSWERED || r->kind == SX_GEN_SIP_UNFINISHED;
    fprintf(f, "%s,%s,%s,%s,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", id, from, to,
            outcome_names[r->kind], r->code, r->start_us, r->answer_us, r->end_us,
            talked ? r->end_us - r->answer_us : 0);
}

/** Sorts the rows and writes the truth file; errors surface at close. */
static void write_truth(sx_gen_sip *g)
{
    qsort(g->rows, g->o.calls, sizeof *g->rows, by_call_id);
    fputs("call_id,from,to,outcome,code,start_us,answer_us,end_us,duration_us\n", g->truth);
    for (uint64_t i = 0; i < g->o.calls; i++)
        write_row(g->truth, &g->rows[i]);
}

/* ---- the generator ---- */

sx_gen_sip *sx_gen_sip_new(const sx_gen_sip_opts *o, char *err, size_t errlen)
{
    sx_gen_sip *g = sx_calloc(1, sizeof *g);
    g->o = *o;
    g->pcap = sx_pcapw_open(o->pcap_path, SNAPLEN, err, errlen);
    if (!g->pcap) {
        free(g);
        return NULL;
    }
    g->truth = fopen(o->truth_path, "w");
    if (!g->truth) {
        snprintf(err, errlen, "cannot create %s: %s", o->truth_path, strerror(errno));
        sx_gen_sip_destroy(&g);
        return NULL;
    }
    setvbuf(g->truth, NULL, _IOFBF, 1 << 20);
    sx_rng_seed(&g->plan, o->seed, STREAM_PLAN, 0);
    sx_rng_seed(&g->sched, o->seed, STREAM_SCHEDULE, 0);
    sx_rng keys;
    sx_rng_seed(&keys, o->seed, STREAM_KEYS, 0);
    g->key_salt = sx_rng_next(&keys);
    sx_gen_sip_counts(o, g->left);
    g->next_call = 1;
    g->calls = sx_calloc(o->concurrency, sizeof *g->calls);
    g->free_slots = sx_calloc(o->concurrency, sizeof *g->free_slots);
    for (uint32_t i = 0; i < o->concurrency; i++) /* slot 0 is taken first */
        g->free_slots[g->nfree++] = o->concurrency - 1 - i;
    g->rows = sx_calloc(o->calls, sizeof *g->rows);
    g->frame = sx_malloc(FRAME_CAP);
    g->frag = sx_malloc(FRAG_CAP);
    sx_event_heap_push(&g->heap, EPOCH_US + arrival_gap(g), ARRIVAL);
    return g;
}

/** Closes the pcap and truth files; -1 with a message on any error. */
static int close_files(sx_gen_sip *g, char *err, size_t errlen)
{
    return sx_gen_outputs_close(&g->pcap, &g->st.pcap_bytes, &g->truth, g->o.truth_path, err,
                                errlen);
}

int sx_gen_sip_run(sx_gen_sip *g, uint64_t max_packets, char *err, size_t errlen)
{
    if (g->done)
        return 0;
    uint64_t stop = g->st.packets + max_packets;
    while (g->st.packets < stop && !g->failed) {
        if (g->heap.n == 0) { /* no call in progress, none to come */
            g->done = true;
            g->st.trace_us = g->last_us - EPOCH_US;
            write_truth(g);
            return close_files(g, err, errlen);
        }
        sx_event e = sx_event_heap_pop(&g->heap);
        if (e.slot == ARRIVAL)
            arrive(g, e.at_us);
        else
            step_call(g, e.slot, e.at_us);
    }
    if (!g->failed)
        return 1;
    char close_err[512] = "";
    int closed = close_files(g, close_err, sizeof close_err);
    snprintf(err, errlen, "%s", g->err[0] ? g->err : closed ? close_err : "write failed");
    g->done = true;
    return -1;
}

void sx_gen_sip_stats_get(const sx_gen_sip *g, sx_gen_sip_stats *out)
{
    *out = g->st;
    if (g->pcap)
        out->pcap_bytes = sx_pcapw_bytes(g->pcap);
}

void sx_gen_sip_destroy(sx_gen_sip **gp)
{
    sx_gen_sip *g = *gp;
    if (!g)
        return;
    char ignored[8];
    close_files(g, ignored, sizeof ignored);
    free(g->calls);
    free(g->free_slots);
    sx_event_heap_free(&g->heap);
    free(g->rows);
    free(g->frame);
    free(g->frag);
    sx_buf_free(&g->msg);
    sx_buf_free(&g->scratch);
    free(g);
    *gp = NULL;
}
