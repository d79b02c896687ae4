/*
 * net_internal.h -- the structures of a node's network side, shared by
 * net.c (sockets, protocol, the net thread), net_order.c (receiving
 * nodes release outputs in source token order) and net_auth.c
 * (CurveZMQ options and the ZAP handler).
 *
 * Wire protocol. Each node binds a ROUTER; each DEALER it connects to a
 * peer has the node's name as routing id. Frames, [type][payload...]:
 *   DEALER -> ROUTER
 *     'B' [hdr: u64 incarnation, u64 token, u32 pipeline, u32 target]
 *         [protobuf Batch]         a part of one token for component target
 *     'W' [u32 pipeline, u64 w]     source: all its tokens <= w are done
 *     'E' [u32 pipeline, u64 last]  source: end of input, all done
 *   ROUTER -> DEALER
 *     'A' [u64 incarnation][{u64 token, u32 pipeline, u32 target}...]
 *                                   parts finished here
 *     'F' [u32 pipeline]            end of input received
 * Integers are little-endian. The incarnation is random per process, so
 * a restarted node ignores acknowledgements meant for its predecessor.
 *
 * Threading: the net thread owns every socket and every map here; workers
 * reach it only through its inproc inbox (net_msg pointers). The order
 * sinks are shared with workers under `mu`.
 */
#ifndef SX_NET_INTERNAL_H
#define SX_NET_INTERNAL_H

#include <pthread.h>
#include <string.h>
#include <stdatomic.h>

#include "internal.h"
#include "u64map.h"

enum {
    NET_HDR = 24,            /* 'B' header bytes */
    NET_ACK = 16,            /* bytes per acknowledgement */
    NET_ACKS_PER_FRAME = 4096,
    NET_ACKS_PER_RX = 4,     /* duplicate deliveries remembered per part */
    NET_KEY = 41,            /* Z85 key + NUL */
};

/* From a worker to the net thread. */
typedef struct net_part {
    uint32_t node;
    uint8_t *buf;
    size_t len;
} net_part;

typedef enum { NM_BOUNDARY, NM_DONE, NM_FINISH } net_msg_kind;

typedef struct net_msg {
    net_msg_kind kind;
    uint32_t pipeline, comp; /* BOUNDARY: the component whose output it is */
    uint64_t token;
    /* BOUNDARY of a heartbeat: an empty batch with its header, encoded,
     * for every node the component has shipped to and this message has
     * no part for (so their stateful functions see the heartbeat too) */
    uint8_t *hb_buf;
    size_t hb_len;
    uint32_t nparts;
    net_part parts[]; /* BOUNDARY */
} net_msg;

/* A part shipped, kept until acknowledged (resent on reconnect). */
typedef struct out_part {
    uint8_t *frame; /* header + payload */
    size_t len;
    uint64_t token;
    uint32_t pipeline, target;
} out_part;

/* A part received from an upstream node, in progress here. */
typedef struct rx_entry {
    uint64_t key; /* dedup key: origin, pipeline, target, origin token */
    uint32_t from;
    uint32_t nacks;
    uint64_t inc[NET_ACKS_PER_RX], tok[NET_ACKS_PER_RX]; /* what to acknowledge */
} rx_entry;

typedef struct net_peer {
    char *name, *endpoint;
    bool source;
    char key[NET_KEY];      /* Z85 public key, or "" */
    uint8_t rawkey[32];
    void *dealer, *mon;     /* NULL when the peer has no endpoint */
    bool handshaken, down;  /* first handshake seen; disconnected since */
    sx_u64map unacked;      /* pack(pipeline, target, token) -> out_part */
    sx_u64map rx_live;      /* dedup key -> rx_entry, parts from this peer */
    sx_u64map rx_done;      /* dedup key -> (void *)1, finished, not yet pruned */
    bool *e_sent, *f_got;   /* per pipeline */
    uint64_t *w_sent;       /* per pipeline */
    /* statistics (net thread) */
    uint64_t sent, sent_bytes, acked, resent, reconnects;
    uint64_t heartbeats; /* of sent: empty heartbeat parts */
    uint64_t received, recv_bytes, duplicates;
} net_peer;

/* A receiving node's outputs of one source and pipeline, held until the
 * source's watermark passes them. */
typedef struct net_order {
    uint64_t w;     /* every token <= w of the source is done everywhere */
    uint64_t next;  /* next origin token to release */
    bool ended;
    sx_u64map held; /* origin token -> held_batch list */
} net_order;

typedef struct net_ring {
    net_msg **slot;
    uint64_t next;  /* the token whose boundary message goes next */
    bool *sent;     /* per node: the component has shipped a part there */
} net_ring;

typedef struct net_pipe {
    int entry;           /* receiving: the component batches enter at; -1 none yet */
    net_ring *rings;     /* per component (placed ones only), by token */
    rx_entry **rx;       /* receiving: by local token & mask */
    uint64_t cursor;     /* source: sx_tokens_floor cursor */
    uint64_t w;          /* source: last watermark computed */
    atomic_uint_fast64_t batches, bad; /* shipped + received; malformed */
} net_pipe;

/* A received batch waiting for a local token. */
typedef struct net_backlog {
    sx_batch **b;
    rx_entry **rx;
    size_t head, n, cap;
} net_backlog;

struct sx_net {
    sx_runtime *rt;
    uint32_t self;
    bool source;           /* this node admits inputs */
    net_peer *nodes;       /* by node index; nodes[self] has no sockets */
    size_t n;
    sx_blob *name_blob;
    char *bind;
    uint64_t incarnation;
    bool curve;
    char public_key[NET_KEY], secret_key[NET_KEY];
    void *router, *router_mon, *zap, *inbox;
    uint32_t inbox_id;
    sx_outbox *ob;         /* the net thread's outbox */
    net_pipe *pipes;       /* per pipeline */
    net_backlog backlog;
    pthread_t thread;
    bool running;
    atomic_bool stop, failed;
    double last_w;         /* monotonic seconds of the last watermark sent */
    /* shared with workers and waiting threads */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    net_order *orders;     /* [node * npipes + pipeline] */
    /* node-wide counters (net thread; read after it stops or racily for
     * progress) */
    atomic_uint_fast64_t bad_frames, unknown_peers, refused_keys, failed_handshakes;
    atomic_uint_fast64_t out_of_order;
};

/* net.c */
/** Index of the node called name[0..len) (this node included), or -1. */
int net_node_find(const sx_net *n, const void *name, size_t len);

/* net_order.c */
/** Holds out (receiving node) until the watermark of its source passes
 *  its origin token; out->token becomes the origin token. Locks mu. */
void net_order_put(sx_net *n, sx_pipeline *p, sx_batch *out);
/** Raises the watermark of (source, pipeline) to w and releases what it
 *  passes to the pipeline's sink, in token order; `ended` marks the end
 *  of input. Locks mu. */
void net_order_advance(sx_net *n, uint32_t source, uint32_t pipeline, uint64_t w, bool ended);
/** True when every other source ended every pipeline (under mu). */
bool net_order_all_ended(sx_net *n);
/** Frees what is still held (end of run). */
void net_order_free(sx_net *n);

/* net_auth.c */
/** CurveZMQ server options on the ROUTER (keys configured). 0 or -1. */
int net_auth_server(sx_net *n, void *router);
/** CurveZMQ client options on a DEALER to peer. 0 or -1. */
int net_auth_client(sx_net *n, void *dealer, const net_peer *peer);
/** Binds the ZAP handler socket (before the ROUTER binds). 0 or -1. */
int net_auth_zap_open(sx_net *n);
/** Answers one ZAP request: allowed when the client's key belongs to a
 *  node of the deployment; refusals are counted. */
void net_auth_zap_serve(sx_net *n);

#endif
