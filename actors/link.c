/*
 * link.c -- a pipeline split across two processes over ZeroMQ tcp.
 *
 * Sending side: the last local component routes its outputs to the
 * link's inproc inbox; the link thread encodes each batch (protobuf-c)
 * and ships it on a DEALER socket. The peer acknowledges every token once
 * its own last component has finished it, and only then is the token
 * released here: the one token limit bounds the whole split pipeline.
 * End of input: once every token is acknowledged, the sender sends 'E'
 * with the last token; the receiver answers 'F' when all are done.
 *
 * Receiving side: a ROUTER socket bound at the endpoint; each batch is
 * decoded (treated as hostile: malformed ones are counted and dropped)
 * and delivered to the entry component with its original token. Workers
 * report completed tokens to the link's inproc inbox; the link thread
 * sends them back in 'A' frames.
 *
 * Frames: [type][payload] with type 'B' (batch), 'A' (acknowledged
 * tokens, little-endian u64 each), 'E' (u64 last token), 'F' (done).
 * Each link thread owns its sockets; workers only touch the inbox
 * through their own outboxes.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <zmq.h>

#include "proto/alloc.h"
#include "proto/codec.h"

enum {
    ROLE_SENDER = 1,
    ROLE_RECEIVER = 2,
    ACKS_PER_FRAME = 4096,
    NET_LINGER_MS = 5000,
    POLL_MS = 100, /* how often a link thread looks at its stop flag */
};

struct sx_link {
    sx_pipeline *p;
    int role;
    uint32_t inbox_id;
    void *inbox; /* sender: batches from workers; receiver: acked tokens */
    void *net;   /* DEALER (sender) or ROUTER (receiver) */
    sx_actor *entry;
    sx_outbox *ob; /* receiver: the link thread's outbox to the entry */
    pthread_t thread;
    bool running;
    int status;
    uint8_t peer[256];
    size_t peer_len;
    atomic_uint_fast64_t batches, bad;
    atomic_bool stop; /* set by destroy: leave the loop even if unfinished */
};

/** Creates the network socket of the given type with common options. */
static void *net_socket(sx_runtime *rt, int type)
{
    void *s = zmq_socket(rt->zctx, type);
    if (!s)
        return NULL;
    int zero = 0, linger = NET_LINGER_MS;
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    return s;
}

/** Common constructor: inbox plus network socket bound or connected. */
static sx_link *link_new(sx_pipeline *p, int role, const char *endpoint, char *err, size_t errlen)
{
    sx_link *l = sx_calloc(1, sizeof *l);
    l->p = p;
    l->role = role;
    l->inbox = sx_rt_inbox_new(p->rt, &l->inbox_id);
    l->net = net_socket(p->rt, role == ROLE_SENDER ? ZMQ_DEALER : ZMQ_ROUTER);
    int rc = -1;
    if (l->inbox && l->net)
        rc = role == ROLE_SENDER ? zmq_connect(l->net, endpoint) : zmq_bind(l->net, endpoint);
    if (rc != 0) {
        snprintf(err, errlen, "link %s %s: %s", role == ROLE_SENDER ? "to" : "at", endpoint,
                 zmq_strerror(errno));
        sx_link_destroy(&l);
        return NULL;
    }
    return l;
}

sx_link *sx_link_new_sender(sx_pipeline *p, const char *endpoint, char *err, size_t errlen)
{
    return link_new(p, ROLE_SENDER, endpoint, err, errlen);
}

sx_link *sx_link_new_receiver(sx_pipeline *p, sx_actor *entry, const char *endpoint, char *err,
                              size_t errlen)
{
    sx_link *l = link_new(p, ROLE_RECEIVER, endpoint, err, errlen);
    if (l) {
        l->entry = entry;
        l->ob = sx_outbox_new(p->rt->zctx);
    }
    return l;
}

/** Sends a two-frame message [type][payload] (plus the peer identity
 *  first on a ROUTER). 0 or -1. */
static int net_send(sx_link *l, char type, const void *data, size_t len)
{
    if (l->role == ROLE_RECEIVER && zmq_send(l->net, l->peer, l->peer_len, ZMQ_SNDMORE) < 0)
        return -1;
    if (zmq_send(l->net, &type, 1, ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(l->net, data, len, 0) < 0 ? -1 : 0;
}

/** Receives one whole message into up to 3 frames; returns the frame
 *  count, or -1. Extra frames are read and dropped. */
static int net_recv(void *s, zmq_msg_t *f, int max)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n && i < max; i++)
                zmq_msg_close(&f[i]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < max)
            f[n] = m;
        else
            zmq_msg_close(&m);
        n++;
    }
    return n > max ? max : n;
}

/** Waits up to POLL_MS for either socket. Returns 0 (revents set; none
 *  on a timeout or EINTR), or -1 with status set when the link is being
 *  stopped or polling failed. */
static int poll_or_stop(sx_link *l, zmq_pollitem_t items[2])
{
    if (atomic_load(&l->stop)) {
        l->status = -1;
        return -1;
    }
    if (zmq_poll(items, 2, POLL_MS) >= 0)
        return 0;
    items[0].revents = items[1].revents = 0;
    if (errno == EINTR)
        return 0;
    l->status = -1;
    return -1;
}

/* ---------------------------------------------------------------- sender */

void sx_link_send(sx_link *l, sx_batch *b, sx_sender *snd)
{
    SX_TSAN_RELEASE(b);
    if (sx_outbox_send(snd->ob, l->inbox_id, &b, sizeof b) != 0)
        sx_rt_fatal(zmq_strerror(errno));
}

/** Sender: encodes and ships one batch from a worker; NULL means end. */
static int ship(sx_link *l, sx_batch *b)
{
    if (!b) {
        uint64_t last = sx_tokens_stats_last(l->p->tokens);
        return net_send(l, 'E', &last, sizeof last);
    }
    SX_TSAN_ACQUIRE(b);
    uint8_t *buf;
    size_t len;
    char err[160];
    if (sx_codec_encode(b, &buf, &len, err, sizeof err) != 0)
        sx_rt_fatal(err);
    sx_batch_destroy(&b);
    int rc = net_send(l, 'B', buf, len);
    free(buf);
    atomic_fetch_add_explicit(&l->batches, 1, memory_order_relaxed);
    return rc;
}

/** Sender: handles a message from the peer; returns 1 when done. */
static int sender_net(sx_link *l)
{
    zmq_msg_t f[2];
    int n = net_recv(l->net, f, 2);
    if (n < 0)
        return -1;
    int done = 0;
    char type = zmq_msg_size(&f[0]) == 1 ? *(char *)zmq_msg_data(&f[0]) : 0;
    if (type == 'A' && n == 2 && zmq_msg_size(&f[1]) % 8 == 0) {
        const uint8_t *d = zmq_msg_data(&f[1]);
        for (size_t i = 0; i < zmq_msg_size(&f[1]); i += 8) {
            uint64_t t;
            memcpy(&t, d + i, 8);
            sx_tokens_release(l->p->tokens, t);
        }
    } else if (type == 'F') {
        done = 1;
    } else {
        atomic_fetch_add_explicit(&l->bad, 1, memory_order_relaxed);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return done;
}

/** Sender thread: worker batches out, acknowledgements in. */
static void sender_loop(sx_link *l)
{
    zmq_pollitem_t items[2] = {{l->inbox, 0, ZMQ_POLLIN, 0}, {l->net, 0, ZMQ_POLLIN, 0}};
    for (;;) {
        if (poll_or_stop(l, items) != 0)
            return;
        if (items[0].revents & ZMQ_POLLIN) {
            sx_batch *b;
            while (zmq_recv(l->inbox, &b, sizeof b, ZMQ_DONTWAIT) == (int)sizeof b)
                if (ship(l, b) != 0) {
                    l->status = -1;
                    return;
                }
        }
        if (items[1].revents & ZMQ_POLLIN) {
            int rc = sender_net(l);
            if (rc != 0) {
                l->status = rc < 0 ? -1 : 0;
                return;
            }
        }
    }
}

int sx_link_finish(sx_link *l, sx_outbox *ob)
{
    sx_batch *end = NULL;
    if (sx_outbox_send(ob, l->inbox_id, &end, sizeof end) != 0)
        return -1;
    return sx_link_wait(l);
}

/* -------------------------------------------------------------- receiver */

void sx_link_ack(sx_link *l, uint64_t token, sx_sender *snd)
{
    /* what the sink did for this token happens before the peer learns
     * of it, and before sx_link_wait returns */
    SX_TSAN_RELEASE(l);
    if (sx_outbox_send(snd->ob, l->inbox_id, &token, sizeof token) != 0)
        sx_rt_fatal(zmq_strerror(errno));
}

typedef struct recv_state {
    bool eof;
    uint64_t last;  /* the peer's last token, once eof */
    uint64_t acked; /* tokens acknowledged so far */
} recv_state;

/** Receiver: decodes a batch frame and delivers it to the entry. */
static void receive_batch(sx_link *l, const zmq_msg_t *payload)
{
    sx_batch *b = NULL;
    char err[160];
    if (sx_codec_decode(zmq_msg_data((zmq_msg_t *)payload), zmq_msg_size((zmq_msg_t *)payload), &b,
                        err, sizeof err) != 0 ||
        b->token == 0 || b->pipeline != l->p->id || b->target != l->entry->index) {
        if (b)
            snprintf(err, sizeof err, "batch for pipeline %u component %u token %llu",
                     b->pipeline, b->target, (unsigned long long)b->token);
        if (atomic_fetch_add_explicit(&l->bad, 1, memory_order_relaxed) == 0)
            fprintf(stderr, "scalanytics: link: dropped a malformed batch: %s\n", err);
        sx_batch_destroy(&b);
        return;
    }
    atomic_fetch_add_explicit(&l->batches, 1, memory_order_relaxed);
    sx_sender snd = {.rt = l->p->rt, .ob = l->ob, .w = NULL, .slot = l->p->rt->opts.threads};
    sx_actor_deliver(l->entry, b, &snd);
}

/** Receiver: handles one message from the peer. */
static int receiver_net(sx_link *l, recv_state *st)
{
    zmq_msg_t f[3];
    int n = net_recv(l->net, f, 3);
    if (n < 0)
        return -1;
    if (n >= 2 && zmq_msg_size(&f[0]) <= sizeof l->peer && zmq_msg_size(&f[1]) == 1) {
        l->peer_len = zmq_msg_size(&f[0]);
        memcpy(l->peer, zmq_msg_data(&f[0]), l->peer_len);
        char type = *(char *)zmq_msg_data(&f[1]);
        if (type == 'B' && n == 3)
            receive_batch(l, &f[2]);
        else if (type == 'E' && n == 3 && zmq_msg_size(&f[2]) == 8) {
            memcpy(&st->last, zmq_msg_data(&f[2]), 8);
            st->eof = true;
        } else
            atomic_fetch_add_explicit(&l->bad, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&l->bad, 1, memory_order_relaxed);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return 0;
}

/** Receiver: forwards every completed token waiting in the inbox. */
static int send_acks(sx_link *l, recv_state *st)
{
    uint64_t acks[ACKS_PER_FRAME];
    size_t n = 0;
    for (;;) {
        uint64_t t;
        int rc = zmq_recv(l->inbox, &t, sizeof t, ZMQ_DONTWAIT);
        if (rc == (int)sizeof t) {
            SX_TSAN_ACQUIRE(l);
            acks[n++] = t;
        }
        if (n > 0 && (rc != (int)sizeof t || n == ACKS_PER_FRAME)) {
            if (net_send(l, 'A', acks, n * sizeof acks[0]) != 0)
                return -1;
            st->acked += n;
            n = 0;
        }
        if (rc != (int)sizeof t)
            return 0;
    }
}

/** Receiver thread: batches in, acknowledgements out, until the peer's
 *  end of input has fully drained. */
static void receiver_loop(sx_link *l)
{
    recv_state st = {0};
    zmq_pollitem_t items[2] = {{l->net, 0, ZMQ_POLLIN, 0}, {l->inbox, 0, ZMQ_POLLIN, 0}};
    while (!(st.eof && st.acked >= st.last)) {
        if (poll_or_stop(l, items) != 0)
            return;
        if ((items[0].revents & ZMQ_POLLIN) && receiver_net(l, &st) != 0) {
            l->status = -1;
            return;
        }
        if ((items[1].revents & ZMQ_POLLIN) && send_acks(l, &st) != 0) {
            l->status = -1;
            return;
        }
    }
    l->status = net_send(l, 'F', "", 0);
}

/* ------------------------------------------------------------- lifecycle */

/** Thread entry: runs the side's loop. */
static void *link_main(void *arg)
{
    sx_link *l = arg;
    if (l->role == ROLE_SENDER)
        sender_loop(l);
    else
        receiver_loop(l);
    return NULL;
}

int sx_link_start(sx_link *l, char *err, size_t errlen)
{
    if (pthread_create(&l->thread, NULL, link_main, l) != 0) {
        snprintf(err, errlen, "cannot start link thread");
        return -1;
    }
    l->running = true;
    return 0;
}

int sx_link_wait(sx_link *l)
{
    if (l->running) {
        pthread_join(l->thread, NULL);
        l->running = false;
    }
    return l->status;
}

void sx_link_destroy(sx_link **lp)
{
    sx_link *l = *lp;
    if (!l)
        return;
    atomic_store(&l->stop, true); /* a run that failed half-way may leave it running */
    sx_link_wait(l);
    if (l->inbox)
        zmq_close(l->inbox);
    if (l->net)
        zmq_close(l->net);
    sx_outbox_destroy(&l->ob);
    free(l);
    *lp = NULL;
}

uint64_t sx_link_batches(const sx_link *l) { return atomic_load(&((sx_link *)l)->batches); }
uint64_t sx_link_bad(const sx_link *l) { return atomic_load(&((sx_link *)l)->bad); }
