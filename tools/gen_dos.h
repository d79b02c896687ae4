/*
 * gen_dos.h -- the DoS trace generator: benign TCP sessions of five
 * services mixed over time with a SYN flood, a connection flood and a
 * port scan, written as a pcap file, with a ground-truth CSV labelling
 * every TCP connection (normal, dos, probe) and giving the KDD Cup '99
 * flag it should get (`scalanytics gen dos`).
 *
 * Deterministic: the same options give the same bytes. Every 4-tuple
 * occurs once in a trace (no port reuse), so a connection is its
 * 4-tuple, and every connection begins with exactly one SYN.
 *
 * Use: fill opts (sx_gen_dos_defaults, then what differs), check them,
 * create, call sx_gen_dos_run until it returns 0 (done: every file
 * closed) or -1 (error), read the stats, destroy.
 */
#ifndef SX_TOOLS_GEN_DOS_H
#define SX_TOOLS_GEN_DOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SX_GEN_DOS_MAX_FLOOD 100000000u /* SYNs from distinct spoofed sources in a trace */

/* What a connection is (the truth's kind column). */
typedef enum sx_gen_dos_kind {
    SX_GEN_DOS_HTTP, SX_GEN_DOS_SMTP, SX_GEN_DOS_FTP, SX_GEN_DOS_SSH, SX_GEN_DOS_HTTPS,
    SX_GEN_DOS_SYN_FLOOD, SX_GEN_DOS_CONN_FLOOD, SX_GEN_DOS_PORT_SCAN,
    SX_GEN_DOS_KINDS
} sx_gen_dos_kind;

/* The truth's label column: benign kinds are normal, floods dos, the
 * scan's probes probe (KDD's category for scans, not a DoS). */
typedef enum sx_gen_dos_label {
    SX_GEN_DOS_NORMAL, SX_GEN_DOS_DOS, SX_GEN_DOS_PROBE, SX_GEN_DOS_LABELS
} sx_gen_dos_label;

/* The KDD flags the generator emits (the truth's flag column). */
typedef enum sx_gen_dos_flag {
    SX_GEN_DOS_SF, SX_GEN_DOS_S0, SX_GEN_DOS_S1, SX_GEN_DOS_REJ, SX_GEN_DOS_RSTO,
    SX_GEN_DOS_RSTR, SX_GEN_DOS_RSTOS0, SX_GEN_DOS_FLAGS
} sx_gen_dos_flag;

/* One attack's schedule: on, rate a second of packet time, and window.
 * start_s or length_s below 0 mean the default share of the duration. */
typedef struct sx_gen_dos_attack {
    bool on;
    double rate;
    double start_s, length_s;
} sx_gen_dos_attack;

typedef struct sx_gen_dos_opts {
    uint64_t seed;
    double duration_s;            /* arrivals happen in [0, duration) */
    bool benign;
    double benign_rate;           /* sessions a second, Poisson */
    uint32_t clients, servers;    /* pool sizes */
    sx_gen_dos_attack syn_flood, conn_flood, port_scan;
    double syn_answered;          /* share of flood SYNs the victim answers (SYN-ACK) */
    uint32_t attackers;           /* connection flood sources */
    uint32_t scan_ports;          /* the scan probes ports 1..scan_ports, shuffled */
    uint64_t half_open;           /* > 0: only this many half-open SYNs, nothing else */
    double half_open_rate;        /* their SYNs a second */
    const char *pcap_path;        /* required */
    const char *truth_path;       /* required (the CLI defaults it) */
} sx_gen_dos_opts;

typedef struct sx_gen_dos_stats {
    uint64_t connections;         /* truth rows; each opened by one SYN */
    uint64_t by_kind[SX_GEN_DOS_KINDS];
    uint64_t by_label[SX_GEN_DOS_LABELS];
    uint64_t by_flag[SX_GEN_DOS_FLAGS];
    uint64_t packets, payload_bytes, pcap_bytes;
    uint64_t trace_us;            /* packet time from the epoch to the last packet */
} sx_gen_dos_stats;

typedef struct sx_gen_dos sx_gen_dos;

/** The defaults (--help lists them); paths NULL. */
void sx_gen_dos_defaults(sx_gen_dos_opts *o);

/** Names as the truth writes them ("syn_flood", "dos", "RSTO"). */
const char *sx_gen_dos_kind_name(sx_gen_dos_kind k);
const char *sx_gen_dos_label_name(sx_gen_dos_label l);
const char *sx_gen_dos_flag_name(sx_gen_dos_flag f);

/** The label of a kind. */
sx_gen_dos_label sx_gen_dos_label_of(sx_gen_dos_kind k);

/** The window in seconds of attack (SX_GEN_DOS_SYN_FLOOD, _CONN_FLOOD
 *  or _PORT_SCAN), its defaults applied: the SYN flood 20-40% of the
 *  duration, the connection flood 50-55%, the scan 70-80%. */
void sx_gen_dos_window(const sx_gen_dos_opts *o, sx_gen_dos_kind attack, double *start_s,
                       double *length_s);

/** 0 when o is usable, else -1 with the option and the problem in err. */
int sx_gen_dos_check(const sx_gen_dos_opts *o, char *err, size_t errlen);

/** Creates the generator and its output files (o must have passed the
 *  check; its strings must outlive the generator). NULL with a message
 *  in err when a file cannot be created. The caller owns the result and
 *  frees it with sx_gen_dos_destroy. */
sx_gen_dos *sx_gen_dos_new(const sx_gen_dos_opts *o, char *err, size_t errlen);

/** Generates up to about max_packets more packets. 1: more to do; 0: the
 *  trace and the truth are complete and every file closed; -1: an error
 *  (in err), such as a write that failed. */
int sx_gen_dos_run(sx_gen_dos *g, uint64_t max_packets, char *err, size_t errlen);

/** The counts so far. */
void sx_gen_dos_stats_get(const sx_gen_dos *g, sx_gen_dos_stats *out);

/** Closes what is open, frees g and nulls *g; NULL is fine. */
void sx_gen_dos_destroy(sx_gen_dos **g);

#endif
