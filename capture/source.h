/*
 * source.h -- the packet source: libpcap, from a file or a live interface.
 *
 * A capture yields input(@NODE, PKT, SRC_IP, DST_IP) tuples, one per IPv4
 * packet: PKT is the packet from its IP header on (link layer stripped,
 * link padding trimmed, cut at the captured length), SRC_IP and DST_IP its
 * addresses. Every other frame is counted by category and skipped.
 *
 * Usage:
 *     sx_capture_opts o = { .path = "trace.pcap", .filter = "tcp" };
 *     char err[256];
 *     sx_capture *c = sx_capture_open(&o, err, sizeof err);
 *     sx_tuple t = {0};
 *     int64_t ns;
 *     int rc;
 *     while ((rc = sx_capture_next(c, &t, &ns, err, sizeof err)) == 1) {
 *         ... use t, then sx_tuple_clear(&t) (or hand it over) ...
 *     }
 *     if (rc < 0) report err;
 *     sx_capture_close(&c);
 *
 * One thread reads a capture; only sx_capture_break may be called from
 * elsewhere (another thread or a signal handler).
 */
#ifndef SX_CAPTURE_SOURCE_H
#define SX_CAPTURE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/tuple.h"

#define SX_CAPTURE_SNAPLEN_DEFAULT 262144
#define SX_CAPTURE_TIMEOUT_MS 100 /* live read timeout: how often next() wakes */

typedef struct sx_capture sx_capture;

typedef struct sx_capture_opts {
    const char *path;      /* pcap or pcapng file; exclusive with interface */
    const char *interface; /* live capture device */
    int snaplen;           /* 0: SX_CAPTURE_SNAPLEN_DEFAULT (live only) */
    bool promiscuous;      /* live only */
    int buffer_mib;        /* kernel buffer in MiB; 0: libpcap's default */
    bool immediate;        /* live only: deliver packets without batching */
    const char *filter;    /* BPF expression; NULL or "" for none */
    const char *node;      /* location value @NODE; NULL: "local" */
} sx_capture_opts;

typedef struct sx_capture_stats {
    uint64_t packets_seen;   /* frames read from libpcap (after the filter) */
    uint64_t bytes_seen;     /* sum of their wire lengths */
    uint64_t ipv4_delivered;
    uint64_t ipv6_skipped;
    uint64_t nonip_skipped;  /* ARP and other ethertypes / families */
    uint64_t malformed;      /* broken link or IPv4 header, or VLAN stack over the cap */
    uint64_t snap_truncated; /* caplen < wire length (delivered if still IPv4) */
    bool live;               /* a live capture */
    bool kernel_stats;       /* the three below are valid (live, pcap_stats succeeded) */
    uint64_t ps_recv;        /* pcap_stats: received by the filter */
    uint64_t ps_drop;        /* dropped for lack of buffer space */
    uint64_t ps_ifdrop;      /* dropped by the interface or driver */
} sx_capture_stats;

/** Opens a capture. Returns NULL with a message in err on any error
 *  (no such file, bad filter, unsupported link type, activation failure);
 *  a live activation warning is kept for sx_capture_warning. The caller owns the result and
 *  frees it with sx_capture_close. */
sx_capture *sx_capture_open(const sx_capture_opts *o, char *err, size_t errlen);

/** The warning pcap_activate gave for a live capture (e.g. promiscuous
 *  mode not supported), or NULL. Owned by c; the caller should show it. */
const char *sx_capture_warning(const sx_capture *c);

/** Reads the next IPv4 packet into out, which must be empty (all zero or
 *  cleared); the caller then owns its contents. *time_ns gets the capture
 *  timestamp. Returns 1, 0 at end of file or after sx_capture_break, or -1
 *  with a message in err (a truncated file: "PATH: truncated at packet N
 *  (byte offset X): ..."; packets before it were delivered). */
int sx_capture_next(sx_capture *c, sx_tuple *out, int64_t *time_ns, char *err, size_t errlen);

/** Copies the counters (and, live, pcap_stats) into *s. */
void sx_capture_stats_get(sx_capture *c, sx_capture_stats *s);
/** Writes the counters as human lines ("capture: ..."). */
void sx_capture_stats_print(const sx_capture_stats *s, FILE *f);
/** Writes the counters as one JSON object and a newline. Returns 0, or -1
 *  on an output error. */
int sx_capture_stats_json(const sx_capture_stats *s, FILE *f);

/** For a file: fills bytes read so far and the file size, returns 1; 0
 *  when unknown (live, a pipe). */
int sx_capture_progress(sx_capture *c, uint64_t *bytes_read, uint64_t *file_size);

/** Makes sx_capture_next return 0 soon. Async-signal-safe. */
void sx_capture_break(sx_capture *c);
/** Closes the capture and nulls *c; NULL is fine. */
void sx_capture_close(sx_capture **c);

#endif
