/*
 * gen_sip.h -- the SIP trace generator: many concurrent SIP calls (UDP
 * and TCP, some INVITEs fragmented, some requests retransmitted) written
 * as a pcap file, with a ground-truth CSV of every call's outcome and
 * times, for testing and benchmarking SIP analysis (`scalanytics gen sip`).
 *
 * Deterministic: the same options give the same bytes. A call's parties
 * and random draws depend only on the seed and the call's number; kinds
 * are dealt (from a stream of their own) so that each gets exactly
 * sx_gen_sip_counts() calls.
 *
 * Use: fill opts (sx_gen_sip_defaults, then what differs), check them,
 * create, call sx_gen_sip_run until it returns 0 (done: the truth is
 * written and every file closed) or -1 (error), read the stats, destroy.
 */
#ifndef SX_TOOLS_GEN_SIP_H
#define SX_TOOLS_GEN_SIP_H

#include <stddef.h>
#include <stdint.h>

#define SX_GEN_SIP_MAX_CALLS 10000000u /* the truth table is kept in memory, 48 B a call */

/* What a call does (--mix); the truth's outcome is in parentheses. */
typedef enum sx_gen_sip_kind {
    SX_GEN_SIP_ANSWERED,   /* 200, ACK, talk, BYE, 200 (answered) */
    SX_GEN_SIP_BUSY,       /* 486 Busy Here (failed) */
    SX_GEN_SIP_FAILED,     /* 404, 480, 503, 603 or 302 (failed) */
    SX_GEN_SIP_CANCELLED,  /* CANCEL before the answer, 487 (cancelled) */
    SX_GEN_SIP_UNFINISHED, /* answered, never hung up (timeout) */
    SX_GEN_SIP_KINDS
} sx_gen_sip_kind;

typedef struct sx_gen_sip_opts {
    uint64_t seed;
    uint64_t calls;
    double mix[SX_GEN_SIP_KINDS]; /* weights, any scale, sum > 0 */
    uint32_t concurrency;         /* calls in progress at once */
    double rate;                  /* new calls per second of packet time */
    double duration_mean;         /* seconds an answered call lasts (exponential) */
    double tcp_fraction;          /* calls over TCP */
    double fragment_fraction;     /* UDP calls whose INVITE is fragmented */
    double retransmit_fraction;   /* UDP calls with an INVITE or BYE sent twice */
    const char *pcap_path;        /* required */
    const char *truth_path;       /* required (the CLI defaults it) */
} sx_gen_sip_opts;

typedef struct sx_gen_sip_stats {
    uint64_t calls;                  /* calls finished (truth rows) */
    uint64_t by_kind[SX_GEN_SIP_KINDS];
    uint64_t packets, pcap_bytes;
    uint64_t invites;                /* INVITE transmissions, retransmissions included */
    uint64_t fragmented;             /* INVITE datagrams sent as IPv4 fragments */
    uint64_t tcp;                    /* calls over TCP */
    uint64_t retransmitted;          /* requests sent a second time */
    uint64_t trace_us;               /* packet time from the epoch to the last packet */
} sx_gen_sip_stats;

typedef struct sx_gen_sip sx_gen_sip;

/** The defaults (--help lists them); paths NULL. */
void sx_gen_sip_defaults(sx_gen_sip_opts *o);

/** The name of a kind in --mix ("busy"). */
const char *sx_gen_sip_kind_name(sx_gen_sip_kind k);

/** Parses a --mix value, "answered=70,busy=10,..." (weights >= 0, a kind
 *  at most once, kinds not named get 0), into mix. 0, or -1 with the
 *  problem in err (mix then unchanged). */
int sx_gen_sip_parse_mix(const char *text, double mix[SX_GEN_SIP_KINDS], char *err,
                         size_t errlen);

/** How many of o's calls are of each kind: calls x weight / sum, rounded
 *  by largest remainder, so they add up to calls. */
void sx_gen_sip_counts(const sx_gen_sip_opts *o, uint64_t counts[SX_GEN_SIP_KINDS]);

/** 0 when o is usable, else -1 with the option and the problem in err. */
int sx_gen_sip_check(const sx_gen_sip_opts *o, char *err, size_t errlen);

/** Creates the generator and its output files (o must have passed the
 *  check; its strings must outlive the generator). NULL with a message
 *  in err when a file cannot be created. The caller owns the result and
 *  frees it with sx_gen_sip_destroy. */
sx_gen_sip *sx_gen_sip_new(const sx_gen_sip_opts *o, char *err, size_t errlen);

/** Generates up to about max_packets more packets. 1: more to do; 0: the
 *  trace and the truth are complete and every file closed; -1: an error
 *  (in err), such as a write that failed. */
int sx_gen_sip_run(sx_gen_sip *g, uint64_t max_packets, char *err, size_t errlen);

/** The counts so far. */
void sx_gen_sip_stats_get(const sx_gen_sip *g, sx_gen_sip_stats *out);

/** Closes what is open, frees g and nulls *g; NULL is fine. */
void sx_gen_sip_destroy(sx_gen_sip **g);

#endif
