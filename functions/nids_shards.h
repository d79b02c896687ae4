/*
 * nids_shards.h -- independent libnids instances ("shards") for IP
 * defragmentation and TCP reassembly on many threads at once.
 *
 * libnids keeps all its state in globals: one instance per process
 * would serialize every packet on one lock. The build makes several
 * symbol-renamed copies of Debian's own libnids.a (cmake/nids-copies.sh);
 * this module drives them. A packet goes to the shard of its connection
 * (a hash that is the same in both directions) or, for a fragment, of
 * its datagram (source, destination, id, protocol), and each shard is
 * run by one thread at a time under its own mutex. Packet time, never
 * the wall clock, is what libnids sees.
 *
 * Limits that come from libnids (documented in README.md): IPv4 only;
 * a connection is followed only from its handshake (no mid-stream
 * pickup); each TCP shard tracks at most 3/4 of tcp.table_size
 * connections and evicts the oldest beyond that (counted); its own
 * warnings (bad headers, overlaps, oversized fragments) arrive through
 * the syslog hook and are counted, never printed.
 */
#ifndef FN_NIDS_SHARDS_H
#define FN_NIDS_SHARDS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/value.h"

/* Copies built into the binary: the first FN_NIDS_TCP_SHARDS reassemble
 * TCP, the next FN_NIDS_FRAG_SHARDS only defragment. */
#define FN_NIDS_TCP_SHARDS 32
#define FN_NIDS_FRAG_SHARDS 8
#define FN_NIDS_COPIES (FN_NIDS_TCP_SHARDS + FN_NIDS_FRAG_SHARDS)

typedef enum fn_nids_dir {
    FN_NIDS_DIR_NONE = 0,
    FN_NIDS_DIR_C2S, /* sent by the connection's initiator */
    FN_NIDS_DIR_S2C, /* sent by the responder */
} fn_nids_dir;

typedef enum fn_nids_event {
    FN_NIDS_EV_NONE = 0, /* the packet changed nothing visible */
    FN_NIDS_EV_DATA,     /* new in-order bytes */
    FN_NIDS_EV_OPEN,     /* the three-way handshake completed */
    FN_NIDS_EV_CLOSE,    /* FIN in both directions, acknowledged */
    FN_NIDS_EV_RESET,    /* RST */
    FN_NIDS_EV_TIMEOUT,  /* evicted (table full) or timed out */
} fn_nids_event;

/** What one packet did to its connection. */
typedef struct fn_nids_tcp_out {
    fn_nids_event event; /* the last lifecycle event, else DATA or NONE */
    fn_nids_dir dir;     /* direction of data; NONE when there is none */
    sx_blob *data;       /* the new in-order bytes (owned), or NULL */
    uint8_t client[4], server[4]; /* connection endpoints (network order) */
    uint16_t cport, sport;        /* host order */
} fn_nids_tcp_out;

/** Feeds one whole (defragmented) IPv4 TCP packet, captured at ts_ns
 *  of packet time, to its connection's shard and reports in *out what
 *  it delivered: consumers process out->data first, then out->event.
 *  The packet is copied; the caller keeps it. Returns 0, or -1 with a
 *  message in err (not IPv4/TCP, a fragment, a lying header). *out
 *  owns out->data, which the caller releases. Any thread. */
int fn_nids_tcp_feed(const uint8_t *pkt, size_t len, int64_t ts_ns, fn_nids_tcp_out *out,
                     char *err, size_t errlen);

/** Feeds one IPv4 fragment, captured at ts_ns, to its datagram's
 *  shard. When it completes a datagram, *whole receives the reassembled
 *  packet (owned by the caller), else NULL. Returns 0, or -1 with a
 *  message in err. Any thread. */
int fn_nids_frag_feed(const uint8_t *pkt, size_t len, int64_t ts_ns, sx_blob **whole, char *err,
                      size_t errlen);

#endif
