/*
 * gen_smtp.h -- the SMTP trace generator: many concurrent SMTP sessions
 * delivering synthetic mails, written as a pcap file with a ground-truth
 * file of what each mail is, for testing and benchmarking the SMTP
 * pipeline (`scalanytics gen smtp`).
 *
 * Deterministic: the same options give the same bytes. Mails' contents
 * depend only on the seed, the mail's number and the size options;
 * sessions' addresses and mail counts only on the seed and the session's
 * number; so changing the impairments or the concurrency changes the
 * order of the truth lines, never their contents.
 *
 * Use: fill opts (sx_gen_smtp_defaults, then what differs), check them,
 * create, call sx_gen_smtp_run until it returns 0 (done, files closed)
 * or -1 (error), read the stats, destroy.
 */
#ifndef SX_TOOLS_GEN_SMTP_H
#define SX_TOOLS_GEN_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "tools/mail_replay.h"

typedef struct sx_gen_smtp_opts {
    uint64_t seed;
    uint64_t mails;            /* mails in the trace */
    uint64_t mean_size;        /* mean raw mail size in bytes (lognormal, clamped) */
    const char *phrase;        /* planted in match_fraction of the mails */
    double match_fraction;
    uint32_t concurrency;      /* sessions open at a time */
    uint32_t mails_min, mails_max; /* mails per session, uniform */
    double bdat_fraction;      /* mails sent with BDAT instead of DATA */
    double any_port_fraction;  /* sessions on port 2525 or 587 instead of 25 */
    uint32_t mss;              /* largest TCP payload */
    double rate_mbps;          /* packet times spaced as if sent at this rate */
    double retransmit_fraction, reorder_fraction, fragment_fraction;
    const char *pcap_path;     /* required */
    const char *truth_path;    /* required (the CLI defaults it) */
    const char *mails_dir;     /* NULL, or write each raw mail to DIR/<mail>.eml */
    const sx_mail_replay *replay; /* NULL, or real mails to send instead of synthetic ones
                                   * (tools/mail_replay.h): mail N is replay[N - 1], mails
                                   * must be nreplay and match_fraction 0 */
    size_t nreplay;
} sx_gen_smtp_opts;

typedef struct sx_gen_smtp_stats {
    uint64_t mails, sessions, packets;
    uint64_t pcap_bytes;       /* the pcap file's size */
    uint64_t mail_bytes;       /* raw mail bytes (the truth sizes' sum) */
    uint64_t planted, planted_by[3]; /* by sx_mail_encoding: plain, base64, qp */
    uint64_t bdat, rset;
    uint64_t retransmitted, reordered, fragmented; /* segments so impaired */
    uint64_t trace_us;         /* packet time from the first packet to the last */
} sx_gen_smtp_stats;

typedef struct sx_gen_smtp sx_gen_smtp;

/** The defaults (--help lists them); paths NULL. */
void sx_gen_smtp_defaults(sx_gen_smtp_opts *o);

/** 0 when o is usable, else -1 with the option and the problem in err. */
int sx_gen_smtp_check(const sx_gen_smtp_opts *o, char *err, size_t errlen);

/** Creates the generator and its output files (o must have passed the
 *  check; its strings must outlive the generator). NULL with a message
 *  in err when a file cannot be created. The caller owns the result and
 *  frees it with sx_gen_smtp_destroy. */
sx_gen_smtp *sx_gen_smtp_new(const sx_gen_smtp_opts *o, char *err, size_t errlen);

/** Generates up to about max_packets more packets. 1: more to do; 0: the
 *  trace is complete and every file closed; -1: an error (in err), such
 *  as a write that failed. */
int sx_gen_smtp_run(sx_gen_smtp *g, uint64_t max_packets, char *err, size_t errlen);

/** The counts so far. */
void sx_gen_smtp_stats_get(const sx_gen_smtp *g, sx_gen_smtp_stats *out);

/** Closes what is open, frees g and nulls *g; NULL is fine. */
void sx_gen_smtp_destroy(sx_gen_smtp **g);

#endif
