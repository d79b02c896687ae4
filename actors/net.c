/*
 * net.c -- one node of a distributed run: sockets, the wire protocol
 * (net_internal.h) and the net thread.
 *
 * Sending. A worker finishing a placed component moves the tuples bound
 * for other nodes into one part per node, encodes them, adds the parts
 * to the token's open paths and hands them to the net thread, which
 * ships each component's parts strictly in token order (so a context
 * key's tuples reach the next node in the order they left), keeping
 * every part until the peer acknowledges it. When a peer reconnects
 * (its handshake succeeds after a disconnect) everything it has not
 * acknowledged is sent again.
 *
 * Receiving. A part is decoded (hostile input: malformed ones are
 * counted and dropped), checked against the parts already received from
 * that peer (a duplicate is acknowledged again when done, never run
 * twice), given a local token and delivered to its component. When the
 * local token is done -- its outputs at the sink and every part it
 * shipped acknowledged -- the net thread acknowledges it upstream.
 *
 * A source node sends its watermark (every token up to it done
 * everywhere) and, at the end, 'E', to every node it can reach; those
 * release the outputs they hold in the source's token order
 * (net_order.c) and exit once every source has ended.
 */
#include "net_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "proto/alloc.h"
#include "proto/codec.h"

enum {
    LINGER_MS = 5000,
    POLL_MS = 5,
    RECONNECT_MS = 100,
    HEARTBEAT_MS = 1000,
    HEARTBEAT_TIMEOUT_MS = 5000,
    MAX_POLL = 1024,
    BIND_TRIES = 100, /* every 100 ms */
};
#define NET_MAX_FRAME (256ll << 20) /* bytes: a batch of a few 64 MiB mails fits */
#define WATERMARK_EVERY_S 0.002 /* a source sends its watermark at most this often */
#define FINISH_REPORT_S 5.0     /* how often a waiting source says who it waits for */

/* ------------------------------------------------------------ helpers */

/** Monotonic seconds. */
static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/** Key of a shipped part: token (48 bits), target, pipeline. */
static uint64_t part_key(uint32_t pipeline, uint32_t target, uint64_t token)
{
    return (token & 0xffffffffffffull) | (uint64_t)(target & 0xff) << 48 |
           (uint64_t)(pipeline & 0xff) << 56;
}

/** Dedup key of a received part: origin token (40 bits), target,
 *  pipeline, origin node. */
static uint64_t rx_key(uint32_t origin, uint32_t pipeline, uint32_t target, uint64_t otoken)
{
    return (otoken & 0xffffffffffull) | (uint64_t)(target & 0xff) << 40 |
           (uint64_t)(pipeline & 0xff) << 48 | (uint64_t)(origin & 0xff) << 56;
}

/** Sends [type][payload] on a DEALER, or [peer][type][payload] on the
 *  ROUTER when to is not NULL. 0 or -1. */
static int frame_send(void *s, const char *to, char type, const void *data, size_t len)
{
    if (to && zmq_send(s, to, strlen(to), ZMQ_SNDMORE) < 0)
        return -1;
    if (zmq_send(s, &type, 1, ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(s, data, len, 0) < 0 ? -1 : 0;
}

/** Receives a whole message into at most max frames (extra ones are
 *  dropped); returns how many were kept, or -1. */
static int frames_recv(void *s, zmq_msg_t *f, int max)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n && i < max; i++)
                zmq_msg_close(&f[i]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < max)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    return n;
}

static void frames_close(zmq_msg_t *f, int n)
{
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

/* ------------------------------------------------------- construction */

int sx_runtime_set_net(sx_runtime *rt, const sx_net_opts *o, char *err, size_t errlen)
{
    if (rt->started || rt->net || o->n == 0 || o->n > 255) {
        snprintf(err, errlen, "a deployment has 1 to 255 nodes, set before the runtime starts");
        return -1;
    }
    sx_net *n = sx_calloc(1, sizeof *n);
    n->rt = rt;
    n->n = o->n;
    n->nodes = sx_calloc(o->n, sizeof *n->nodes);
    n->self = UINT32_MAX;
    for (size_t i = 0; i < o->n; i++) {
        net_peer *pe = &n->nodes[i];
        pe->name = strdup(o->names[i]);
        pe->endpoint = o->endpoints[i] ? strdup(o->endpoints[i]) : NULL;
        pe->source = o->sources && o->sources[i];
        if (o->keys && o->keys[i]) {
            snprintf(pe->key, sizeof pe->key, "%s", o->keys[i]);
            zmq_z85_decode(pe->rawkey, pe->key);
        }
        if (!strcmp(o->names[i], o->node))
            n->self = (uint32_t)i;
    }
    if (n->self == UINT32_MAX) {
        snprintf(err, errlen, "node '%s' is not in the deployment", o->node);
        rt->net = n;
        sx_net_destroy(&rt->net);
        return -1;
    }
    n->source = n->nodes[n->self].source;
    n->name_blob = sx_blob_new(o->node, strlen(o->node));
    n->bind = o->bind ? strdup(o->bind) : NULL;
    n->curve = o->keys != NULL;
    if (n->curve) {
        snprintf(n->public_key, sizeof n->public_key, "%s", o->public_key ? o->public_key : "");
        snprintf(n->secret_key, sizeof n->secret_key, "%s", o->secret_key ? o->secret_key : "");
    }
    if (getrandom(&n->incarnation, sizeof n->incarnation, 0) != sizeof n->incarnation)
        n->incarnation = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    rt->net = n;
    return 0;
}

bool sx_runtime_distributed(const sx_runtime *rt) { return rt->net != NULL; }

int net_node_find(const sx_net *n, const void *name, size_t len)
{
    for (size_t i = 0; i < n->n; i++)
        if (strlen(n->nodes[i].name) == len && !memcmp(n->nodes[i].name, name, len))
            return (int)i;
    return -1;
}

int sx_runtime_node_index(const sx_runtime *rt, const char *name, size_t len)
{
    const sx_net *n = rt->net;
    if (!n)
        return -1;
    int i = net_node_find(n, name, len);
    return i >= 0 && (uint32_t)i != n->self ? i : -1;
}

int sx_pipeline_set_placement(sx_pipeline *p, size_t comp, sx_place_fn fn, void *arg)
{
    if (!p->rt->net || p->rt->started || comp >= p->n)
        return -1;
    p->actors[comp]->place = fn;
    p->actors[comp]->place_arg = arg;
    return 0;
}

sx_blob *sx_net_node_blob(sx_net *n) { return n->name_blob; }

/** Common socket options: no high-water mark (tokens bound the data),
 *  a linger so queued frames go out at close. */
static void *net_socket(sx_net *n, int type)
{
    void *s = zmq_socket(n->rt->zctx, type);
    if (!s)
        return NULL;
    int zero = 0, linger = LINGER_MS, ivl = RECONNECT_MS, hb = HEARTBEAT_MS,
        hbt = HEARTBEAT_TIMEOUT_MS;
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &hbt, sizeof hbt);
    /* a peer (or garbage posing as one) cannot make this node allocate
     * more than this for one frame: the connection is dropped instead */
    int64_t max = NET_MAX_FRAME;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    return s;
}

/** A PAIR socket receiving the monitor events of s. */
static void *monitor_of(sx_net *n, void *s, int events, const char *tag, size_t i)
{
    char ep[96];
    snprintf(ep, sizeof ep, "inproc://sx-net-mon-%s-%zu-%p", tag, i, (void *)n);
    if (zmq_socket_monitor(s, ep, events) != 0)
        return NULL;
    void *m = zmq_socket(n->rt->zctx, ZMQ_PAIR);
    if (m && zmq_connect(m, ep) != 0) {
        zmq_close(m);
        return NULL;
    }
    return m;
}

/** Opens the ROUTER at the bind endpoint. 0 or -1. */
static int open_router(sx_net *n, char *err, size_t errlen)
{
    n->router = net_socket(n, ZMQ_ROUTER);
    int one = 1;
    if (n->router)
        zmq_setsockopt(n->router, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    if (!n->router || (n->curve && net_auth_server(n, n->router) != 0)) {
        snprintf(err, errlen, "cannot make the node's socket: %s", zmq_strerror(errno));
        return -1;
    }
    n->router_mon = monitor_of(n, n->router,
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                               "router", 0);
    /* a node restarted at once may find its port still held (a
     * reconnecting peer's socket, the old process's last moments):
     * retry for a while before giving up */
    for (int tries = 0; zmq_bind(n->router, n->bind) != 0; tries++) {
        if (errno != EADDRINUSE || tries == BIND_TRIES) {
            snprintf(err, errlen, "node %s cannot bind %s: %s", n->nodes[n->self].name, n->bind,
                     zmq_strerror(errno));
            return -1;
        }
        if (tries == 0)
            fprintf(stderr, "scalanytics: %s is in use; retrying for %d s\n", n->bind,
                    BIND_TRIES / 10);
        usleep(100 * 1000);
    }
    return 0;
}

/** Connects a DEALER to every peer that has an endpoint. 0 or -1. */
static int open_dealers(sx_net *n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n->n; i++) {
        net_peer *pe = &n->nodes[i];
        if (i == n->self || !pe->endpoint)
            continue;
        pe->dealer = net_socket(n, ZMQ_DEALER);
        const char *me = n->nodes[n->self].name;
        if (!pe->dealer || zmq_setsockopt(pe->dealer, ZMQ_ROUTING_ID, me, strlen(me)) != 0 ||
            (n->curve && net_auth_client(n, pe->dealer, pe) != 0)) {
            snprintf(err, errlen, "cannot make a socket to %s: %s", pe->name, zmq_strerror(errno));
            return -1;
        }
        pe->mon = monitor_of(n, pe->dealer,
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED, "peer", i);
        if (zmq_connect(pe->dealer, pe->endpoint) != 0) {
            snprintf(err, errlen, "cannot connect to %s at %s: %s", pe->name, pe->endpoint,
                     zmq_strerror(errno));
            return -1;
        }
    }
    return 0;
}

/** Per-pipeline tables, once the pipelines are prepared. */
static void make_tables(sx_net *n)
{
    size_t np = n->rt->npipes;
    n->pipes = sx_calloc(np, sizeof *n->pipes);
    n->orders = sx_calloc(n->n * np, sizeof *n->orders);
    for (size_t i = 0; i < n->n * np; i++)
        n->orders[i].next = 1;
    for (size_t i = 0; i < n->n; i++) {
        n->nodes[i].e_sent = sx_calloc(np, sizeof(bool));
        n->nodes[i].f_got = sx_calloc(np, sizeof(bool));
        n->nodes[i].w_sent = sx_calloc(np, sizeof(uint64_t));
    }
    for (size_t k = 0; k < np; k++) {
        sx_pipeline *p = n->rt->pipes[k];
        net_pipe *np_ = &n->pipes[k];
        np_->entry = -1;
        np_->cursor = 1;
        np_->rings = sx_calloc(p->n, sizeof *np_->rings);
        for (size_t c = 0; c < p->n; c++)
            if (p->actors[c]->place) {
                np_->rings[c].slot = sx_calloc(p->parts_mask + 1, sizeof(net_msg *));
                np_->rings[c].next = 1;
            }
        if (!n->source)
            np_->rx = sx_calloc(p->parts_mask + 1, sizeof(rx_entry *));
    }
}

static void *net_main(void *arg);

int sx_net_start(sx_net *n, char *err, size_t errlen)
{
    make_tables(n);
    n->inbox = sx_rt_inbox_new(n->rt, &n->inbox_id);
    n->ob = sx_outbox_new(n->rt->zctx);
    if (!n->inbox) {
        snprintf(err, errlen, "cannot make the net inbox");
        return -1;
    }
    if (n->curve && net_auth_zap_open(n) != 0) {
        snprintf(err, errlen, "cannot start the key check: %s", zmq_strerror(errno));
        return -1;
    }
    if (n->bind && open_router(n, err, errlen) != 0)
        return -1;
    if (open_dealers(n, err, errlen) != 0)
        return -1;
    if (pthread_create(&n->thread, NULL, net_main, n) != 0) {
        snprintf(err, errlen, "cannot start the net thread");
        return -1;
    }
    n->running = true;
    return 0;
}

/* ------------------------------------------------------ worker side */

/** Sends a message to the net thread from snd's thread. */
static void to_net(sx_net *n, net_msg *m, sx_sender *snd)
{
    SX_TSAN_RELEASE(m);
    if (sx_outbox_send(snd->ob, n->inbox_id, &m, sizeof m) != 0)
        sx_rt_fatal(zmq_strerror(errno));
}

/** Moves the tuples of out that a->place sends elsewhere into one batch
 *  per node (parts[node]); returns how many nodes got some. */
static uint32_t split_out(sx_net *n, sx_actor *a, sx_batch *out, sx_batch **per_node)
{
    uint32_t nodes = 0, kept = 0;
    for (uint32_t i = 0; i < out->n; i++) {
        int to = a->place(a->place_arg, &out->tuples[i]);
        if (to < 0 || (size_t)to >= n->n || (uint32_t)to == n->self) {
            if (kept != i)
                out->tuples[kept] = out->tuples[i];
            kept++;
            continue;
        }
        if (!per_node[to]) {
            per_node[to] = sx_batch_new(out->token);
            sx_batch_copy_header(per_node[to], out);
            per_node[to]->target = a->index + 1;
            nodes++;
        }
        sx_batch_push(per_node[to], &out->tuples[i]);
    }
    out->n = kept;
    return nodes;
}

void sx_net_boundary(sx_net *n, sx_actor *a, sx_batch *out, sx_sender *snd)
{
    sx_batch *stack[16], **per_node = n->n <= 16 ? stack : sx_calloc(n->n, sizeof *per_node);
    memset(per_node, 0, (n->n <= 16 ? 16 : n->n) * sizeof *per_node);
    uint32_t nodes = out->n ? split_out(n, a, out, per_node) : 0;
    net_msg *m = sx_calloc(1, sizeof *m + nodes * sizeof(net_part));
    m->kind = NM_BOUNDARY;
    m->pipeline = a->pipe->id;
    m->comp = a->index;
    m->token = out->token;
    char err[160];
    for (size_t i = 0; i < n->n && m->nparts < nodes; i++) {
        if (!per_node[i])
            continue;
        net_part *pt = &m->parts[m->nparts++];
        pt->node = (uint32_t)i;
        if (sx_codec_encode(per_node[i], &pt->buf, &pt->len, err, sizeof err) != 0)
            sx_rt_fatal(err);
        sx_batch_destroy(&per_node[i]);
    }
    if (out->flags & SX_BATCH_HEARTBEAT) {
        sx_batch *hb = sx_batch_new(out->token);
        sx_batch_copy_header(hb, out);
        hb->target = a->index + 1;
        if (sx_codec_encode(hb, &m->hb_buf, &m->hb_len, err, sizeof err) != 0)
            sx_rt_fatal(err);
        sx_batch_destroy(&hb);
    }
    /* one more open path for the message itself, closed once the net
     * thread has shipped it: the token cannot finish (and its ring slot
     * be reused by a later token) while the message waits for its turn */
    atomic_fetch_add_explicit(&a->pipe->parts[out->token & a->pipe->parts_mask], nodes + 1,
                              memory_order_acq_rel);
    if (per_node != stack)
        free(per_node);
    to_net(n, m, snd);
}

void sx_net_sink_put(sx_net *n, sx_pipeline *p, sx_batch *out) { net_order_put(n, p, out); }

void sx_net_token_done(sx_net *n, sx_pipeline *p, uint64_t token, sx_sender *snd)
{
    net_msg *m = sx_calloc(1, sizeof *m);
    m->kind = NM_DONE;
    m->pipeline = p->id;
    m->token = token;
    to_net(n, m, snd);
}

/* -------------------------------------------------------- shipping */

/** Sends a kept part to its peer. */
static void send_part(sx_net *n, net_peer *pe, const out_part *op)
{
    if (frame_send(pe->dealer, NULL, 'B', op->frame, op->len) != 0)
        atomic_store(&n->failed, true);
    pe->sent++;
    pe->sent_bytes += op->len;
}

/** Ships the parts of one boundary message (in token order). */
/** Ships one part of m (buf: the encoded batch, borrowed) to node,
 *  kept until acknowledged; a node without an endpoint closes the part's
 *  path at once. Returns true when it went. */
static bool ship_part(sx_net *n, const net_msg *m, uint32_t node, const uint8_t *buf, size_t len)
{
    sx_pipeline *p = n->rt->pipes[m->pipeline];
    net_peer *pe = &n->nodes[node];
    if (!pe->dealer) {
        fprintf(stderr, "scalanytics: node %s has no endpoint: a part for it is dropped\n",
                pe->name);
        sx_pipeline_part_done(p, m->token, &(sx_sender){n->rt, n->ob, NULL, n->rt->opts.threads});
        return false;
    }
    out_part *op = sx_calloc(1, sizeof *op);
    op->len = NET_HDR + len;
    op->frame = sx_malloc(op->len);
    op->token = m->token;
    op->pipeline = m->pipeline;
    op->target = m->comp + 1;
    put_u64(op->frame, n->incarnation);
    put_u64(op->frame + 8, m->token);
    put_u32(op->frame + 16, op->pipeline);
    put_u32(op->frame + 20, op->target);
    memcpy(op->frame + NET_HDR, buf, len);
    sx_u64map_put(&pe->unacked, part_key(op->pipeline, op->target, op->token), op);
    send_part(n, pe, op);
    atomic_fetch_add_explicit(&n->pipes[m->pipeline].batches, 1, memory_order_relaxed);
    return true;
}

/** Ships m's parts; a heartbeat also goes, empty, to every other node
 *  the component has shipped to before (their order is the component's
 *  token order, so which nodes that is does not depend on threads). */
static void ship(sx_net *n, net_ring *r, net_msg *m)
{
    sx_pipeline *p = n->rt->pipes[m->pipeline];
    if (!r->sent)
        r->sent = sx_calloc(n->n, sizeof *r->sent);
    bool stack[64], *has = n->n <= 64 ? stack : sx_calloc(n->n, sizeof *has);
    memset(has, 0, (n->n <= 64 ? 64 : n->n) * sizeof *has);
    for (uint32_t i = 0; i < m->nparts; i++) {
        net_part *pt = &m->parts[i];
        has[pt->node] = true;
        if (ship_part(n, m, pt->node, pt->buf, pt->len))
            r->sent[pt->node] = true;
        free(pt->buf);
    }
    for (uint32_t i = 0; m->hb_buf && i < n->n; i++) {
        if (!r->sent[i] || has[i])
            continue;
        /* a path more for the token, opened before the message's own closes */
        atomic_fetch_add_explicit(&p->parts[m->token & p->parts_mask], 1, memory_order_acq_rel);
        if (ship_part(n, m, i, m->hb_buf, m->hb_len))
            n->nodes[i].heartbeats++;
    }
    free(m->hb_buf);
    if (has != stack)
        free(has);
}

/** Boundary message in: ships it and every later one now in order. */
static void boundary_in(sx_net *n, net_msg *m)
{
    sx_pipeline *p = n->rt->pipes[m->pipeline];
    net_ring *r = &n->pipes[m->pipeline].rings[m->comp];
    r->slot[m->token & p->parts_mask] = m;
    sx_sender snd = {.rt = n->rt, .ob = n->ob, .w = NULL, .slot = n->rt->opts.threads};
    for (net_msg *x; (x = r->slot[r->next & p->parts_mask]) && x->token == r->next;) {
        r->slot[r->next & p->parts_mask] = NULL;
        r->next++;
        ship(n, r, x);
        sx_pipeline_part_done(p, x->token, &snd);
        free(x);
    }
}

/* ------------------------------------------------------- receiving */

/** Acknowledgements waiting to go, per peer, flushed after each burst. */
typedef struct ack_buf {
    uint8_t *data; /* [u64 incarnation][entries] */
    size_t n;
} ack_buf;

/** Queues one acknowledgement to peer `to`; flushes a full frame. */
static void ack_add(sx_net *n, ack_buf *ab, uint32_t to, uint64_t inc, uint64_t token,
                    uint32_t pipeline, uint32_t target)
{
    ack_buf *b = &ab[to];
    if (b->n && get_u64(b->data) != inc) { /* another incarnation: its own frame */
        frame_send(n->router, n->nodes[to].name, 'A', b->data, 8 + b->n * NET_ACK);
        b->n = 0;
    }
    if (!b->data)
        b->data = sx_malloc(8 + NET_ACKS_PER_FRAME * NET_ACK);
    put_u64(b->data, inc);
    uint8_t *e = b->data + 8 + b->n * NET_ACK;
    put_u64(e, token);
    put_u32(e + 8, pipeline);
    put_u32(e + 12, target);
    if (++b->n == NET_ACKS_PER_FRAME) {
        frame_send(n->router, n->nodes[to].name, 'A', b->data, 8 + b->n * NET_ACK);
        b->n = 0;
    }
}

/** Sends every queued acknowledgement. */
static void acks_flush(sx_net *n, ack_buf *ab)
{
    for (size_t i = 0; i < n->n; i++)
        if (ab[i].n) {
            if (frame_send(n->router, n->nodes[i].name, 'A', ab[i].data, 8 + ab[i].n * NET_ACK))
                atomic_store(&n->failed, true);
            ab[i].n = 0;
        }
}

/** Index of the peer whose routing id is f, or -1 (counted). */
static int peer_of(sx_net *n, const zmq_msg_t *f)
{
    int i = net_node_find(n, zmq_msg_data((zmq_msg_t *)f), zmq_msg_size((zmq_msg_t *)f));
    if (i >= 0 && (uint32_t)i != n->self)
        return i;
    atomic_fetch_add_explicit(&n->unknown_peers, 1, memory_order_relaxed);
    return -1;
}

/** Counts a malformed batch from peer `from`, saying why the first time. */
static void bad_batch(sx_net *n, uint32_t pipeline, const char *from, const char *why)
{
    atomic_uint_fast64_t *c = pipeline < n->rt->npipes ? &n->pipes[pipeline].bad : &n->bad_frames;
    if (atomic_fetch_add_explicit(c, 1, memory_order_relaxed) == 0)
        fprintf(stderr, "scalanytics: dropped a malformed batch from %s: %s\n", from, why);
}

/** Gives b a local token and delivers it; false when no token is free. */
static bool admit_received(sx_net *n, sx_batch *b, rx_entry *rx)
{
    sx_pipeline *p = n->rt->pipes[b->pipeline];
    uint64_t token;
    if (!sx_tokens_try_acquire(p->tokens, &token))
        return false;
    b->token = token;
    atomic_store_explicit(&p->parts[token & p->parts_mask], 1, memory_order_release);
    n->pipes[b->pipeline].rx[token & p->parts_mask] = rx;
    sx_u64map_put(&n->nodes[rx->from].rx_live, rx->key, rx);
    sx_sender snd = {.rt = n->rt, .ob = n->ob, .w = NULL, .slot = n->rt->opts.threads};
    if (b->target < p->n)
        sx_actor_deliver(p->actors[b->target], b, &snd);
    else
        sx_pipeline_complete(p, b, &snd);
    return true;
}

/** Queues b when no local token is free. */
static void backlog_push(net_backlog *q, sx_batch *b, rx_entry *rx)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        sx_batch **nb = sx_calloc(cap, sizeof *nb);
        rx_entry **nr = sx_calloc(cap, sizeof *nr);
        for (size_t i = 0; i < q->n; i++) {
            nb[i] = q->b[(q->head + i) % q->cap];
            nr[i] = q->rx[(q->head + i) % q->cap];
        }
        free(q->b), free(q->rx);
        q->b = nb, q->rx = nr, q->cap = cap, q->head = 0;
    }
    q->b[(q->head + q->n) % q->cap] = b;
    q->rx[(q->head + q->n) % q->cap] = rx;
    q->n++;
}

/** Admits queued batches while tokens are free. */
static void backlog_drain(sx_net *n)
{
    net_backlog *q = &n->backlog;
    while (q->n && admit_received(n, q->b[q->head], q->rx[q->head])) {
        q->head = (q->head + 1) % q->cap;
        q->n--;
    }
}

/** Checks a decoded batch against its header and this node. NULL when
 *  it is acceptable, else why not. */
static const char *check_batch(sx_net *n, const sx_batch *b, uint32_t pipeline, uint32_t target,
                               int *origin)
{
    if (b->pipeline != pipeline || b->target != target)
        return "header and batch disagree";
    if (pipeline >= n->rt->npipes)
        return "no such pipeline here";
    sx_pipeline *p = n->rt->pipes[pipeline];
    if (target == 0 || target > p->n)
        return "no such component";
    if (n->source)
        return "this node is a source: it does not receive";
    *origin = b->origin ? net_node_find(n, b->origin->data, b->origin->len) : -1;
    if (*origin < 0 || !n->nodes[*origin].source || b->origin_token == 0)
        return "no source node as its origin";
    net_pipe *np = &n->pipes[pipeline];
    if (np->entry >= 0 && (uint32_t)np->entry != target)
        return "a second entry component: a node continues a pipeline at one component";
    return NULL;
}

/** A 'B' frame from peer `from`. */
static void batch_in(sx_net *n, uint32_t from, const zmq_msg_t *f, ack_buf *ab)
{
    net_peer *pe = &n->nodes[from];
    size_t len = zmq_msg_size((zmq_msg_t *)f);
    const uint8_t *d = zmq_msg_data((zmq_msg_t *)f);
    if (len < NET_HDR) {
        bad_batch(n, UINT32_MAX, pe->name, "short header");
        return;
    }
    uint64_t inc = get_u64(d), token = get_u64(d + 8);
    uint32_t pipeline = get_u32(d + 16), target = get_u32(d + 20);
    sx_batch *b = NULL;
    char err[200];
    int origin = -1;
    const char *why = NULL;
    if (sx_codec_decode(d + NET_HDR, len - NET_HDR, &b, err, sizeof err) != 0)
        why = err;
    else
        why = check_batch(n, b, pipeline, target, &origin);
    if (why) {
        bad_batch(n, pipeline, pe->name, why);
        sx_batch_destroy(&b);
        return;
    }
    pe->received++;
    pe->recv_bytes += len;
    atomic_fetch_add_explicit(&n->pipes[pipeline].batches, 1, memory_order_relaxed);
    n->pipes[pipeline].entry = (int)target;
    uint64_t key = rx_key((uint32_t)origin, pipeline, target, b->origin_token);
    rx_entry *live = sx_u64map_get(&pe->rx_live, key);
    if (live || sx_u64map_get(&pe->rx_done, key)) {
        pe->duplicates++;
        if (live && live->nacks < NET_ACKS_PER_RX) {
            live->inc[live->nacks] = inc;
            live->tok[live->nacks++] = token;
        } else if (!live) {
            ack_add(n, ab, from, inc, token, pipeline, target);
        }
        sx_batch_destroy(&b);
        return;
    }
    rx_entry *rx = sx_calloc(1, sizeof *rx);
    rx->key = key;
    rx->from = from;
    rx->nacks = 1;
    rx->inc[0] = inc;
    rx->tok[0] = token;
    if (n->backlog.n || !admit_received(n, b, rx)) {
        sx_u64map_put(&pe->rx_live, key, rx); /* a duplicate meanwhile is caught */
        backlog_push(&n->backlog, b, rx);
    }
}

/** Removes the finished parts of a source below its watermark from a
 *  peer's dedup table once it has grown past twice the token window. */
static void prune_done(sx_net *n, net_peer *pe)
{
    size_t limit = 0;
    for (size_t k = 0; k < n->rt->npipes; k++)
        limit += 2 * (n->rt->pipes[k]->parts_mask + 1);
    if (pe->rx_done.n <= limit)
        return;
    uint64_t *drop = sx_calloc(pe->rx_done.n, sizeof *drop);
    size_t nd = 0;
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < pe->rx_done.cap; i++) {
        uint64_t k = pe->rx_done.keys[i];
        if (!k)
            continue;
        uint32_t origin = (uint32_t)(k >> 56), pipeline = (uint32_t)(k >> 48) & 0xff;
        uint64_t ot = k & 0xffffffffffull;
        if (origin < n->n && pipeline < n->rt->npipes &&
            ot <= (n->orders[origin * n->rt->npipes + pipeline].w & 0xffffffffffull))
            drop[nd++] = k;
    }
    pthread_mutex_unlock(&n->mu);
    for (size_t i = 0; i < nd; i++)
        sx_u64map_remove(&pe->rx_done, drop[i]);
    free(drop);
}

/** A local token is done: acknowledge what it came from, free it. */
static void done_in(sx_net *n, const net_msg *m, ack_buf *ab)
{
    sx_pipeline *p = n->rt->pipes[m->pipeline];
    rx_entry **slot = &n->pipes[m->pipeline].rx[m->token & p->parts_mask];
    rx_entry *rx = *slot;
    *slot = NULL;
    if (rx) {
        uint32_t target = (uint32_t)(rx->key >> 40) & 0xff;
        for (uint32_t i = 0; i < rx->nacks; i++)
            ack_add(n, ab, rx->from, rx->inc[i], rx->tok[i], m->pipeline, target);
        net_peer *pe = &n->nodes[rx->from];
        sx_u64map_remove(&pe->rx_live, rx->key);
        sx_u64map_put(&pe->rx_done, rx->key, (void *)1);
        prune_done(n, pe);
        free(rx);
    }
    sx_tokens_release(p->tokens, m->token);
}

/* ------------------------------------------------ end of input, marks */

/** Sends [u32 pipeline][u64 v] as type to every reachable peer. */
static void broadcast(sx_net *n, char type, uint32_t pipeline, uint64_t v)
{
    uint8_t buf[12];
    put_u32(buf, pipeline);
    put_u64(buf + 4, v);
    for (size_t i = 0; i < n->n; i++) {
        net_peer *pe = &n->nodes[i];
        if (!pe->dealer)
            continue;
        if (type == 'E')
            pe->e_sent[pipeline] = true;
        if (type == 'W')
            pe->w_sent[pipeline] = v;
        frame_send(pe->dealer, NULL, type, buf, sizeof buf);
    }
}

/** Source: sends each pipeline's watermark when it moved (rate-limited). */
static void watermarks(sx_net *n)
{
    double now = mono_s();
    if (!n->source || now - n->last_w < WATERMARK_EVERY_S)
        return;
    n->last_w = now;
    for (size_t k = 0; k < n->rt->npipes; k++) {
        net_pipe *np = &n->pipes[k];
        uint64_t w = sx_tokens_floor(n->rt->pipes[k]->tokens, &np->cursor) - 1;
        if (w > np->w) {
            np->w = w;
            broadcast(n, 'W', (uint32_t)k, w);
        }
    }
}

/** A 'W' or 'E' frame from a source. */
static void mark_in(sx_net *n, uint32_t from, char type, const zmq_msg_t *f)
{
    if (zmq_msg_size((zmq_msg_t *)f) != 12 || !n->nodes[from].source) {
        atomic_fetch_add_explicit(&n->bad_frames, 1, memory_order_relaxed);
        return;
    }
    const uint8_t *d = zmq_msg_data((zmq_msg_t *)f);
    uint32_t pipeline = get_u32(d);
    uint64_t v = get_u64(d + 4);
    if (pipeline >= n->rt->npipes) {
        atomic_fetch_add_explicit(&n->bad_frames, 1, memory_order_relaxed);
        return;
    }
    if (type == 'E') {
        uint8_t buf[4];
        put_u32(buf, pipeline);
        frame_send(n->router, n->nodes[from].name, 'F', buf, sizeof buf);
    }
    if (!n->source)
        net_order_advance(n, from, pipeline, v, type == 'E');
}

/** NM_FINISH from the source's main thread: all tokens are done. */
static void finish_in(sx_net *n, const net_msg *m)
{
    uint64_t last = sx_tokens_stats_last(n->rt->pipes[m->pipeline]->tokens);
    n->pipes[m->pipeline].w = last;
    broadcast(n, 'W', m->pipeline, last);
    broadcast(n, 'E', m->pipeline, last);
    pthread_mutex_lock(&n->mu);
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

/* ----------------------------------------------------- peer messages */

/** An 'A' frame from peer `from`: release the parts it finished. */
static void acks_in(sx_net *n, uint32_t from, const zmq_msg_t *f)
{
    size_t len = zmq_msg_size((zmq_msg_t *)f);
    const uint8_t *d = zmq_msg_data((zmq_msg_t *)f);
    if (len < 8 || (len - 8) % NET_ACK) {
        atomic_fetch_add_explicit(&n->bad_frames, 1, memory_order_relaxed);
        return;
    }
    if (get_u64(d) != n->incarnation)
        return; /* meant for this node's predecessor */
    net_peer *pe = &n->nodes[from];
    sx_sender snd = {.rt = n->rt, .ob = n->ob, .w = NULL, .slot = n->rt->opts.threads};
    for (size_t off = 8; off < len; off += NET_ACK) {
        uint64_t token = get_u64(d + off);
        uint32_t pipeline = get_u32(d + off + 8), target = get_u32(d + off + 12);
        out_part *op = sx_u64map_remove(&pe->unacked, part_key(pipeline, target, token));
        if (!op)
            continue; /* acknowledged twice */
        pe->acked++;
        free(op->frame);
        free(op);
        sx_pipeline_part_done(n->rt->pipes[pipeline], token, &snd);
    }
}

/** Orders kept parts by pipeline, token, target for resending. */
static int part_cmp(const void *a, const void *b)
{
    const out_part *x = *(out_part *const *)a, *y = *(out_part *const *)b;
    if (x->pipeline != y->pipeline)
        return x->pipeline < y->pipeline ? -1 : 1;
    if (x->token != y->token)
        return x->token < y->token ? -1 : 1;
    return x->target < y->target ? -1 : x->target > y->target;
}

/** The peer reconnected: send everything it has not acknowledged, the
 *  last watermark and any unconfirmed end of input. */
static void resend(sx_net *n, net_peer *pe)
{
    out_part **all = sx_calloc(pe->unacked.n + 1, sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i < pe->unacked.cap; i++)
        if (pe->unacked.keys[i])
            all[k++] = pe->unacked.vals[i];
    qsort(all, k, sizeof *all, part_cmp);
    for (size_t i = 0; i < k; i++)
        send_part(n, pe, all[i]);
    pe->resent += k;
    free(all);
    for (size_t p = 0; p < n->rt->npipes; p++) {
        uint8_t buf[12];
        put_u32(buf, (uint32_t)p);
        put_u64(buf + 4, pe->w_sent[p]);
        if (pe->w_sent[p])
            frame_send(pe->dealer, NULL, 'W', buf, sizeof buf);
        if (pe->e_sent[p] && !pe->f_got[p])
            frame_send(pe->dealer, NULL, 'E', buf, sizeof buf);
    }
}

/** A message on peer i's DEALER ('A' or 'F'). */
static void dealer_in(sx_net *n, uint32_t i)
{
    zmq_msg_t f[2];
    int k = frames_recv(n->nodes[i].dealer, f, 2);
    if (k < 0)
        return;
    char type = k == 2 && zmq_msg_size(&f[0]) == 1 ? *(char *)zmq_msg_data(&f[0]) : 0;
    if (type == 'A') {
        acks_in(n, i, &f[1]);
    } else if (type == 'F' && zmq_msg_size(&f[1]) == 4) {
        uint32_t pipeline = get_u32(zmq_msg_data(&f[1]));
        if (pipeline < n->rt->npipes) {
            pthread_mutex_lock(&n->mu);
            n->nodes[i].f_got[pipeline] = true;
            pthread_cond_broadcast(&n->cv);
            pthread_mutex_unlock(&n->mu);
        }
    } else {
        atomic_fetch_add_explicit(&n->bad_frames, 1, memory_order_relaxed);
    }
    frames_close(f, k);
}

/** A message on the ROUTER ('B', 'W' or 'E' from a peer). */
static void router_in(sx_net *n, ack_buf *ab)
{
    zmq_msg_t f[3];
    int k = frames_recv(n->router, f, 3);
    if (k < 0)
        return;
    int from = k == 3 && zmq_msg_size(&f[1]) == 1 ? peer_of(n, &f[0]) : -1;
    char type = from >= 0 ? *(char *)zmq_msg_data(&f[1]) : 0;
    if (type == 'B')
        batch_in(n, (uint32_t)from, &f[2], ab);
    else if (type == 'W' || type == 'E')
        mark_in(n, (uint32_t)from, type, &f[2]);
    else if (from >= 0 || k != 3)
        atomic_fetch_add_explicit(&n->bad_frames, 1, memory_order_relaxed);
    frames_close(f, k);
}

/** A monitor event: 0 with *event set, or -1. */
static int monitor_event(void *mon, uint16_t *event)
{
    zmq_msg_t f[2];
    int k = frames_recv(mon, f, 2);
    if (k < 0)
        return -1;
    int rc = -1;
    if (zmq_msg_size(&f[0]) >= 2) {
        memcpy(event, zmq_msg_data(&f[0]), 2);
        rc = 0;
    }
    frames_close(f, k);
    return rc;
}

/** Peer i's DEALER connected or disconnected. */
static void peer_event(sx_net *n, uint32_t i)
{
    net_peer *pe = &n->nodes[i];
    uint16_t ev;
    if (monitor_event(pe->mon, &ev) != 0)
        return;
    if (getenv("SX_NET_DEBUG"))
        fprintf(stderr, "net: peer %s event 0x%x (handshaken %d down %d, %zu unacked)\n", pe->name,
                ev, pe->handshaken, pe->down, pe->unacked.n);
    if (ev == ZMQ_EVENT_DISCONNECTED) {
        pe->down = true;
    } else if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (pe->down) { /* parts sent into the lost connection may be gone */
            pe->reconnects++;
            resend(n, pe);
        }
        pe->handshaken = true;
        pe->down = false;
    }
}

/** The ROUTER refused a peer's handshake. */
static void router_event(sx_net *n)
{
    uint16_t ev;
    if (monitor_event(n->router_mon, &ev) == 0)
        atomic_fetch_add_explicit(&n->failed_handshakes, 1, memory_order_relaxed);
}

/** Messages from workers and the main thread. */
static void inbox_in(sx_net *n, ack_buf *ab)
{
    net_msg *m;
    while (zmq_recv(n->inbox, &m, sizeof m, ZMQ_DONTWAIT) == (int)sizeof m) {
        SX_TSAN_ACQUIRE(m);
        switch (m->kind) {
        case NM_BOUNDARY:
            boundary_in(n, m);
            continue; /* freed once shipped */
        case NM_DONE:
            done_in(n, m, ab);
            break;
        case NM_FINISH:
            finish_in(n, m);
            break;
        }
        free(m);
    }
}

/* ------------------------------------------------------- the thread */

/** Fills the poll set; returns its size. Index layout: inbox, router,
 *  router monitor, zap, then (dealer, monitor) per peer in `who`. */
static int poll_set(sx_net *n, zmq_pollitem_t *it, uint32_t *who)
{
    int k = 0;
    it[k++] = (zmq_pollitem_t){n->inbox, 0, ZMQ_POLLIN, 0};
    /* a full backlog stops reading: the senders' tokens bound the rest */
    it[k++] = (zmq_pollitem_t){n->backlog.n ? NULL : n->router, 0,
                               n->router && !n->backlog.n ? ZMQ_POLLIN : 0, 0};
    it[k++] = (zmq_pollitem_t){n->router_mon, 0, n->router_mon ? ZMQ_POLLIN : 0, 0};
    it[k++] = (zmq_pollitem_t){n->zap, 0, n->zap ? ZMQ_POLLIN : 0, 0};
    for (size_t i = 0; i < n->n && k + 2 <= MAX_POLL; i++) {
        if (!n->nodes[i].dealer)
            continue;
        who[k] = who[k + 1] = (uint32_t)i;
        it[k++] = (zmq_pollitem_t){n->nodes[i].dealer, 0, ZMQ_POLLIN, 0};
        it[k++] = (zmq_pollitem_t){n->nodes[i].mon, 0, n->nodes[i].mon ? ZMQ_POLLIN : 0, 0};
    }
    return k;
}

static void *net_main(void *arg)
{
    sx_net *n = arg;
    zmq_pollitem_t it[MAX_POLL];
    uint32_t who[MAX_POLL];
    ack_buf *ab = sx_calloc(n->n, sizeof *ab);
    while (!atomic_load(&n->stop)) {
        int k = poll_set(n, it, who);
        for (int i = 0; i < k; i++)
            if (!it[i].socket)
                it[i].events = 0;
        if (zmq_poll(it, k, POLL_MS) < 0 && errno != EINTR) {
            atomic_store(&n->failed, true);
            break;
        }
        if (it[0].revents & ZMQ_POLLIN)
            inbox_in(n, ab);
        for (int burst = 0; burst < 256 && (it[1].revents & ZMQ_POLLIN) && !n->backlog.n; burst++) {
            int ev = 0;
            size_t sz = sizeof ev;
            router_in(n, ab);
            if (zmq_getsockopt(n->router, ZMQ_EVENTS, &ev, &sz) != 0 || !(ev & ZMQ_POLLIN))
                break;
        }
        if (it[2].revents & ZMQ_POLLIN)
            router_event(n);
        if (it[3].revents & ZMQ_POLLIN)
            net_auth_zap_serve(n);
        for (int i = 4; i < k; i += 2) {
            if (it[i].revents & ZMQ_POLLIN)
                dealer_in(n, who[i]);
            if (it[i + 1].revents & ZMQ_POLLIN)
                peer_event(n, who[i]);
        }
        backlog_drain(n);
        acks_flush(n, ab);
        watermarks(n);
        pthread_mutex_lock(&n->mu);
        pthread_cond_broadcast(&n->cv); /* waiters re-check their condition */
        pthread_mutex_unlock(&n->mu);
    }
    for (size_t i = 0; i < n->n; i++)
        free(ab[i].data);
    free(ab);
    return NULL;
}

/* ---------------------------------------------------- main threads */

/** Waits on the net's condition (under mu) for a signal or 100 ms:
 *  waiters re-check their condition and their stop reasons after it. */
static void wait_a_while(sx_net *n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000)
        ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

/** Names the peers that have not confirmed p's end of input (under mu). */
static size_t unconfirmed(sx_net *n, uint32_t pipeline, char *list, size_t len)
{
    size_t missing = 0, at = 0;
    list[0] = 0;
    for (size_t i = 0; i < n->n; i++)
        if (n->nodes[i].dealer && !n->nodes[i].f_got[pipeline]) {
            missing++;
            int w = snprintf(list + at, len - at, "%s%s", at ? ", " : "", n->nodes[i].name);
            if (w > 0 && (size_t)w < len - at)
                at += (size_t)w;
        }
    return missing;
}

int sx_net_finish(sx_net *n, sx_pipeline *p, sx_sender *snd)
{
    net_msg *m = sx_calloc(1, sizeof *m);
    m->kind = NM_FINISH;
    m->pipeline = p->id;
    to_net(n, m, snd);
    double next_report = mono_s() + FINISH_REPORT_S;
    char who[512];
    pthread_mutex_lock(&n->mu);
    while (unconfirmed(n, p->id, who, sizeof who) && !atomic_load(&n->failed)) {
        wait_a_while(n);
        if (mono_s() > next_report) {
            fprintf(stderr, "scalanytics: waiting for %s to confirm the end of input\n", who);
            next_report = mono_s() + FINISH_REPORT_S;
        }
    }
    pthread_mutex_unlock(&n->mu);
    return atomic_load(&n->failed) ? -1 : 0;
}

int sx_runtime_wait_sources(sx_runtime *rt)
{
    sx_net *n = rt->net;
    if (!n || n->source)
        return -1;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        bool idle = net_order_all_ended(n);
        for (size_t k = 0; idle && k < rt->npipes; k++)
            idle = sx_tokens_in_flight(rt->pipes[k]->tokens) == 0;
        if (idle || atomic_load(&n->failed))
            break;
        wait_a_while(n);
    }
    pthread_mutex_unlock(&n->mu);
    return atomic_load(&n->failed) ? -1 : 0;
}

/* ------------------------------------------------------- statistics */

void sx_net_pipeline_counts(sx_net *n, uint32_t pipeline, uint64_t *batches, uint64_t *bad)
{
    *batches = *bad = 0;
    if (!n || !n->pipes || pipeline >= n->rt->npipes)
        return;
    *batches = atomic_load(&n->pipes[pipeline].batches);
    *bad = atomic_load(&n->pipes[pipeline].bad) + atomic_load(&n->bad_frames);
}

/** Malformed frames and batches received, node-wide. */
static uint64_t malformed_total(sx_net *n)
{
    uint64_t bad = atomic_load(&n->bad_frames);
    for (size_t k = 0; k < n->rt->npipes; k++)
        bad += atomic_load(&n->pipes[k].bad);
    return bad;
}

void sx_runtime_print_net(const sx_runtime *rt, FILE *f)
{
    sx_net *n = rt->net;
    if (!n)
        return;
    uint64_t bad = malformed_total(n);
    fprintf(f, "node %s (%s): %llu malformed frames, %llu unknown peers, %llu refused "
               "handshakes, %llu keys refused\n",
            n->nodes[n->self].name, n->source ? "source" : "receiver", (unsigned long long)bad,
            (unsigned long long)atomic_load(&n->unknown_peers),
            (unsigned long long)atomic_load(&n->failed_handshakes),
            (unsigned long long)atomic_load(&n->refused_keys));
    for (size_t i = 0; i < n->n; i++) {
        const net_peer *pe = &n->nodes[i];
        if (i == n->self || (!pe->sent && !pe->received))
            continue;
        fprintf(f, "  link %-16s sent %llu (%llu heartbeats, %.1f MiB, %llu acked, %llu resent, %llu "
                   "reconnects), received %llu (%.1f MiB, %llu duplicates)\n",
                pe->name, (unsigned long long)pe->sent, (unsigned long long)pe->heartbeats,
                pe->sent_bytes / 1048576.0,
                (unsigned long long)pe->acked, (unsigned long long)pe->resent,
                (unsigned long long)pe->reconnects, (unsigned long long)pe->received,
                pe->recv_bytes / 1048576.0, (unsigned long long)pe->duplicates);
    }
}

void sx_runtime_net_json(const sx_runtime *rt, FILE *f)
{
    sx_net *n = rt->net;
    if (!n) {
        fputs("null", f);
        return;
    }
    uint64_t bad = malformed_total(n);
    fprintf(f, "{\"node\": \"%s\", \"source\": %s, \"malformed\": %llu, \"unknown_peers\": %llu, "
               "\"failed_handshakes\": %llu, \"refused_keys\": %llu, \"links\": [",
            n->nodes[n->self].name, n->source ? "true" : "false", (unsigned long long)bad,
            (unsigned long long)atomic_load(&n->unknown_peers),
            (unsigned long long)atomic_load(&n->failed_handshakes),
            (unsigned long long)atomic_load(&n->refused_keys));
    bool first = true;
    for (size_t i = 0; i < n->n; i++) {
        const net_peer *pe = &n->nodes[i];
        if (i == n->self)
            continue;
        fprintf(f, "%s{\"peer\": \"%s\", \"sent\": %llu, \"heartbeats\": %llu, "
                   "\"sent_bytes\": %llu, \"acked\": %llu, "
                   "\"resent\": %llu, \"reconnects\": %llu, \"received\": %llu, "
                   "\"received_bytes\": %llu, \"duplicates\": %llu}",
                first ? "" : ", ", pe->name, (unsigned long long)pe->sent,
                (unsigned long long)pe->heartbeats,
                (unsigned long long)pe->sent_bytes, (unsigned long long)pe->acked,
                (unsigned long long)pe->resent, (unsigned long long)pe->reconnects,
                (unsigned long long)pe->received, (unsigned long long)pe->recv_bytes,
                (unsigned long long)pe->duplicates);
        first = false;
    }
    fputs("]}", f);
}

/* -------------------------------------------------------- teardown */

/** Frees a kept part (map callback). */
static void free_part(void *arg, uint64_t key, void *val)
{
    (void)arg, (void)key;
    out_part *op = val;
    free(op->frame);
    free(op);
}

/** Frees an rx entry still live (map callback; the backlog shares them). */
static void free_rx(void *arg, uint64_t key, void *val)
{
    (void)arg, (void)key;
    free(val);
}

/** Frees the sockets of one peer and its tables. */
static void peer_free(net_peer *pe)
{
    if (pe->dealer)
        zmq_close(pe->dealer);
    if (pe->mon)
        zmq_close(pe->mon);
    sx_u64map_each(&pe->unacked, free_part, NULL);
    sx_u64map_each(&pe->rx_live, free_rx, NULL);
    sx_u64map_clear(&pe->unacked);
    sx_u64map_clear(&pe->rx_live);
    sx_u64map_clear(&pe->rx_done);
    free(pe->e_sent);
    free(pe->f_got);
    free(pe->w_sent);
    free(pe->name);
    free(pe->endpoint);
}

/** Frees the per-pipeline tables. */
static void pipes_free(sx_net *n)
{
    for (size_t k = 0; n->pipes && k < n->rt->npipes; k++) {
        sx_pipeline *p = n->rt->pipes[k];
        net_pipe *np = &n->pipes[k];
        for (size_t c = 0; c < p->n && np->rings; c++) {
            for (size_t s = 0; np->rings[c].slot && s <= p->parts_mask; s++)
                if (np->rings[c].slot[s]) {
                    for (uint32_t i = 0; i < np->rings[c].slot[s]->nparts; i++)
                        free(np->rings[c].slot[s]->parts[i].buf);
                    free(np->rings[c].slot[s]->hb_buf);
                    free(np->rings[c].slot[s]);
                }
            free(np->rings[c].slot);
            free(np->rings[c].sent);
        }
        free(np->rings);
        free(np->rx); /* entries are freed through rx_live */
    }
    free(n->pipes);
}

void sx_net_destroy(sx_net **np)
{
    sx_net *n = *np;
    if (!n)
        return;
    atomic_store(&n->stop, true);
    if (n->running)
        pthread_join(n->thread, NULL);
    for (size_t i = 0; i < n->backlog.n; i++)
        sx_batch_destroy(&n->backlog.b[(n->backlog.head + i) % n->backlog.cap]);
    free(n->backlog.b);
    free(n->backlog.rx);
    net_order_free(n);
    pipes_free(n);
    for (size_t i = 0; i < n->n; i++)
        peer_free(&n->nodes[i]);
    free(n->nodes);
    if (n->router_mon)
        zmq_close(n->router_mon);
    if (n->router)
        zmq_close(n->router);
    if (n->zap)
        zmq_close(n->zap);
    if (n->inbox)
        zmq_close(n->inbox);
    sx_outbox_destroy(&n->ob);
    sx_blob_release(&n->name_blob);
    free(n->bind);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
    *np = NULL;
}
