/*
 * actor.c -- a component instance: ZeroMQ inbox, activations, ordering.
 *
 * Delivery: the sender puts the batch (a pointer, or its protobuf
 * encoding when encode_local is on) on the actor's inproc inbox through
 * its own PUSH socket, then raises `pending`; raising it from 0 makes the
 * drain activation runnable on the sender's worker.
 *
 * Drain: one activation at a time takes up to drain_max messages (never
 * more than `pending` says were sent, so a receive never waits) and:
 *   serial        -> reorder by token, run each ready batch in order;
 *   parallel      -> make each batch its own activation (stealable);
 *   context kinds -> reorder by token, split each batch by key lane and
 *                    queue the pieces on their lanes (lanes.c).
 * SX_SERIAL_CONTEXT runs as serial: strict token order implies per-key
 * order, and one activation at a time is what the kind asks for.
 *
 * Every batch in yields exactly one batch out for the same token. A
 * token split over several lanes is joined again: pieces record their
 * outputs in a join record, and the last piece to finish concatenates
 * them in piece order (first appearance of the key in the input), so the
 * output does not depend on which lane finished first.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "proto/alloc.h"
#include "proto/codec.h"

typedef struct sx_join {
    atomic_uint remaining;
    uint32_t n;
    sx_batch **piece; /* identity of each piece */
    sx_batch **out;   /* its output, once run */
} sx_join;

/** The statistics slot of snd's thread in a's counters. */
static sx_actor_counters *counters(sx_actor *a, const sx_sender *snd)
{
    return &a->counters[snd->slot];
}

sx_sender sx_actor_sender(sx_runtime *rt, sx_worker *w)
{
    void **slot = sx_worker_slot(w);
    if (!*slot)
        *slot = sx_outbox_new(rt->zctx);
    sx_sender snd = {.rt = rt, .ob = *slot, .w = w, .slot = sx_worker_index(w)};
    return snd;
}

/* ---------------------------------------------------------------- send */

void sx_actor_deliver(sx_actor *a, sx_batch *b, sx_sender *snd)
{
    sx_runtime *rt = a->pipe->rt;
    b->target = a->index;
    b->pipeline = a->pipe->id;
    if (rt->opts.encode_local) {
        uint8_t *buf;
        size_t len;
        char err[128];
        if (sx_codec_encode(b, &buf, &len, err, sizeof err) != 0)
            sx_rt_fatal(err);
        sx_batch_destroy(&b);
        SX_TSAN_RELEASE(buf);
        if (sx_outbox_send_owned(snd->ob, a->inbox_id, buf, len) != 0)
            sx_rt_fatal(zmq_strerror(errno));
    } else {
        SX_TSAN_RELEASE(b);
        if (sx_outbox_send(snd->ob, a->inbox_id, &b, sizeof b) != 0)
            sx_rt_fatal(zmq_strerror(errno));
    }
    if (atomic_fetch_add_explicit(&a->pending, 1, memory_order_acq_rel) == 0)
        sx_rt_schedule(snd, &a->drain);
}

/** Takes one message from a's inbox without waiting, or NULL. */
static sx_batch *inbox_take(sx_actor *a)
{
    if (!a->pipe->rt->opts.encode_local) {
        sx_batch *b = NULL;
        int rc = zmq_recv(a->inbox, &b, sizeof b, ZMQ_DONTWAIT);
        if (rc != (int)sizeof b)
            return NULL;
        SX_TSAN_ACQUIRE(b);
        return b;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, a->inbox, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return NULL;
    }
    SX_TSAN_ACQUIRE(zmq_msg_data(&msg));
    sx_batch *b = NULL;
    char err[160];
    if (sx_codec_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &b, err, sizeof err) != 0)
        sx_rt_fatal(err); /* we encoded it ourselves: a runtime bug */
    zmq_msg_close(&msg);
    return b;
}

/** Routes a's output for one token onwards (ownership taken). */
static void emit(sx_actor *a, sx_batch *out, sx_sender *snd)
{
    counters(a, snd)->tuples_out += out->n;
    if (a->place)
        sx_net_boundary(a->pipe->rt->net, a, out, snd);
    switch (a->route) {
    case SX_ROUTE_NEXT:
        sx_actor_deliver(a->next, out, snd);
        break;
    case SX_ROUTE_SINK:
        sx_pipeline_complete(a->pipe, out, snd);
        break;
    }
}

/** Runs a's behaviour on b, giving the output for b's token. Consumes b. */
static sx_batch *run_behaviour(sx_actor *a, uint32_t lane, sx_batch *b, sx_sender *snd)
{
    sx_actor_counters *c = counters(a, snd);
    c->batches++;
    c->tuples_in += b->n;
    if (b->n == 0 && b->flags == 0)
        return b; /* nothing to do: the empty batch itself goes on */
    sx_batch *out = sx_batch_new(b->token);
    sx_batch_copy_header(out, b);
    sx_activation act = {.actor = a, .worker = snd->slot, .lane = lane};
    if (a->fn(a->arg, &act, b, out) != 0)
        c->errors++;
    sx_batch_destroy(&b);
    return out;
}

/* -------------------------------------------------------------- drains */

/** Ends a drain that took `took` messages; re-schedules if more wait. */
static void drain_done(sx_actor *a, uint64_t took, sx_sender *snd)
{
    if (atomic_fetch_sub_explicit(&a->pending, took, memory_order_acq_rel) - took > 0)
        sx_rt_schedule(snd, &a->drain);
}

/** How many messages this drain may take: what `pending` promises has
 *  been sent (so no receive waits), at most drain_max. */
static uint64_t drain_budget(sx_actor *a)
{
    uint64_t n = atomic_load_explicit(&a->pending, memory_order_acquire);
    uint64_t max = a->pipe->rt->opts.drain_max;
    return n < max ? n : max;
}

/** Moves up to the allowed number of inbox messages into the reorder
 *  buffer; returns how many were taken. */
static uint64_t fill_reorder(sx_actor *a, sx_sender *snd)
{
    uint64_t budget = drain_budget(a), took = 0;
    while (took < budget) {
        sx_batch *b = inbox_take(a);
        if (!b)
            break;
        took++;
        if (sx_reorder_put(a->reorder, b) != 0) {
            a->dup_tokens++;
            sx_batch_destroy(&b);
        }
    }
    size_t held = sx_reorder_held(a->reorder);
    if (held > a->reorder_peak)
        a->reorder_peak = held;
    return took;
}

/** Drain activation of a serial actor. */
static void drain_serial(sx_actor *a, sx_sender *snd)
{
    uint64_t took = fill_reorder(a, snd);
    sx_batch *b;
    while ((b = sx_reorder_take(a->reorder)))
        emit(a, run_behaviour(a, 0, b, snd), snd);
    drain_done(a, took, snd);
}

/** Drain activation of a parallel actor: each batch becomes an item. */
static void drain_parallel(sx_actor *a, sx_sender *snd)
{
    uint64_t budget = drain_budget(a), took = 0;
    while (took < budget) {
        sx_batch *b = inbox_take(a);
        if (!b)
            break;
        took++;
        if (b->n == 0 && b->flags == 0) {
            emit(a, run_behaviour(a, 0, b, snd), snd);
            continue;
        }
        b->rt_ctx = a;
        sx_rt_schedule_batch(snd, b);
    }
    drain_done(a, took, snd);
}

/** Queues b's tuples as npieces pieces, piece k on lane piece_lane[k]
 *  (distinct lanes), tuple i in piece piece_of[i]; the outputs are
 *  joined in piece order. b is consumed. */
static void split_push(sx_actor *a, sx_batch *b, const uint32_t *piece_of,
                       const uint32_t *piece_lane, uint32_t npieces, sx_sender *snd)
{
    if (npieces == 1) {
        b->rt_ctx = NULL;
        sx_lanes_push(a->lanes, piece_lane[0], b, snd);
        return;
    }
    sx_join *j = sx_calloc(1, sizeof *j);
    j->n = npieces;
    j->piece = sx_calloc(npieces, sizeof *j->piece);
    j->out = sx_calloc(npieces, sizeof *j->out);
    for (uint32_t k = 0; k < npieces; k++) {
        j->piece[k] = sx_batch_new(b->token);
        sx_batch_copy_header(j->piece[k], b);
        j->piece[k]->rt_ctx = j;
    }
    for (uint32_t i = 0; i < b->n; i++)
        sx_batch_push(j->piece[piece_of[i]], &b->tuples[i]);
    atomic_init(&j->remaining, npieces);
    /* once pushed, a piece may run and the last one frees j: push from
     * copies, never from j */
    sx_batch **pieces = sx_malloc(npieces * sizeof *pieces);
    memcpy(pieces, j->piece, npieces * sizeof *pieces);
    for (uint32_t k = 0; k < npieces; k++)
        sx_lanes_push(a->lanes, piece_lane[k], pieces[k], snd);
    free(pieces);
    sx_batch_destroy(&b);
}

/** The lane of each tuple of b into lane[]. */
static void tuple_lanes(sx_actor *a, const sx_batch *b, uint32_t *lane)
{
    for (uint32_t i = 0; i < b->n; i++)
        lane[i] = sx_lanes_of(a->lanes, a->keyfn ? a->keyfn(a->keyarg, &b->tuples[i]) : 0);
}

/** The used lanes heartbeat b visits, into piece_lane (room for every
 *  lane); returns how many: all at the end of input, else the next
 *  heartbeat_lanes of them in turn. */
static uint32_t heartbeat_turn(sx_actor *a, const sx_batch *b, uint32_t *piece_lane)
{
    const uint32_t *order;
    uint32_t used = sx_lanes_touched(a->lanes, &order);
    uint32_t n = used;
    if (!(b->flags & SX_BATCH_EOF) && a->heartbeat_lanes < used) {
        n = a->heartbeat_lanes;
        uint32_t start = a->heartbeat_next % used;
        for (uint32_t k = 0; k < n; k++)
            piece_lane[k] = order[(start + k) % used];
        a->heartbeat_next = (start + n) % used;
        return n;
    }
    memcpy(piece_lane, order, n * sizeof *piece_lane);
    return n;
}

/** A heartbeat visits used lanes (one never used holds no state; see
 *  heartbeat_turn), carrying the tuples of each, and the lanes of its
 *  tuples; b is consumed. */
static void dispatch_heartbeat(sx_actor *a, sx_batch *b, sx_sender *snd)
{
    uint32_t nlanes = sx_lanes_count(a->lanes);
    uint32_t *lane = sx_malloc((b->n + 1) * sizeof *lane);
    uint32_t *piece_lane = sx_malloc((nlanes + 1) * sizeof *piece_lane);
    uint32_t *piece_of_lane = sx_malloc(nlanes * sizeof *piece_of_lane);
    memset(piece_of_lane, 0xff, nlanes * sizeof *piece_of_lane);
    tuple_lanes(a, b, lane);
    for (uint32_t i = 0; i < b->n; i++)
        sx_lanes_touch(a->lanes, lane[i]);
    uint32_t n = heartbeat_turn(a, b, piece_lane);
    for (uint32_t k = 0; k < n; k++)
        piece_of_lane[piece_lane[k]] = k;
    for (uint32_t i = 0; i < b->n; i++) {
        if (piece_of_lane[lane[i]] == UINT32_MAX) {
            piece_of_lane[lane[i]] = n;
            piece_lane[n++] = lane[i];
        }
        lane[i] = piece_of_lane[lane[i]];
    }
    if (n == 0)
        piece_lane[n++] = 0;
    split_push(a, b, lane, piece_lane, n, snd);
    free(piece_of_lane);
    free(piece_lane);
    free(lane);
}

/** Splits b by key lane and queues the pieces (b is consumed). */
static void dispatch_lanes(sx_actor *a, sx_batch *b, sx_sender *snd)
{
    if (b->n == 0 && b->flags == 0) {
        emit(a, run_behaviour(a, 0, b, snd), snd);
        return;
    }
    if ((b->flags & SX_BATCH_HEARTBEAT) && a->heartbeat_lanes) {
        dispatch_heartbeat(a, b, snd);
        return;
    }
    uint32_t stack_lane[16], stack_piece[16];
    uint32_t *lane = b->n <= 16 ? stack_lane : sx_malloc(b->n * sizeof *lane);
    uint32_t *piece_lane = b->n <= 16 ? stack_piece : sx_malloc(b->n * sizeof *piece_lane);
    tuple_lanes(a, b, lane);
    /* pieces in order of first appearance of their lane */
    uint32_t npieces = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t k = 0;
        while (k < npieces && piece_lane[k] != lane[i])
            k++;
        if (k == npieces)
            piece_lane[npieces++] = lane[i];
        lane[i] = k; /* from here on: the tuple's piece */
    }
    if (npieces == 0)
        piece_lane[npieces++] = 0;
    split_push(a, b, lane, piece_lane, npieces, snd);
    if (lane != stack_lane)
        free(lane);
    if (piece_lane != stack_piece)
        free(piece_lane);
}

/** Drain activation of a context-ordered actor. */
static void drain_context(sx_actor *a, sx_sender *snd)
{
    uint64_t took = fill_reorder(a, snd);
    sx_batch *b;
    while ((b = sx_reorder_take(a->reorder)))
        dispatch_lanes(a, b, snd);
    drain_done(a, took, snd);
}

/** The drain task: dispatches on the actor's kind. */
static void drain_task(sx_task *task, sx_worker *w)
{
    sx_actor *a = (sx_actor *)task;
    sx_sender snd = sx_actor_sender(a->pipe->rt, w);
    counters(a, &snd)->activations++;
    switch (a->kind) {
    case SX_SERIAL:
    case SX_SERIAL_CONTEXT:
        drain_serial(a, &snd);
        break;
    case SX_PARALLEL:
        drain_parallel(a, &snd);
        break;
    case SX_PARALLEL_CONTEXT:
        drain_context(a, &snd);
        break;
    }
}

/* ------------------------------------------------------ parallel, lanes */

void sx_actor_run_batch(sx_batch *b, sx_worker *w)
{
    sx_actor *a = b->rt_ctx;
    b->rt_ctx = NULL;
    sx_sender snd = sx_actor_sender(a->pipe->rt, w);
    counters(a, &snd)->activations++;
    emit(a, run_behaviour(a, 0, b, &snd), &snd);
}

/** Joins the outputs of a split token in piece order; frees j. */
static sx_batch *join_outputs(sx_join *j)
{
    sx_batch *out = j->out[0];
    for (uint32_t k = 1; k < j->n; k++) {
        for (uint32_t i = 0; i < j->out[k]->n; i++)
            sx_batch_push(out, &j->out[k]->tuples[i]);
        j->out[k]->n = 0;
        sx_batch_destroy(&j->out[k]);
    }
    free(j->piece);
    free(j->out);
    free(j);
    return out;
}

/** Lane callback: runs one piece, emitting (or joining) its output. */
static void lane_piece(void *ctx, uint32_t lane, sx_batch *b, sx_worker *w)
{
    sx_actor *a = ctx;
    sx_sender snd = sx_actor_sender(a->pipe->rt, w);
    counters(a, &snd)->activations++;
    sx_join *j = b->rt_ctx;
    b->rt_ctx = NULL;
    uint32_t k = 0;
    if (j)
        while (j->piece[k] != b)
            k++;
    sx_batch *out = run_behaviour(a, lane, b, &snd);
    if (!j) {
        emit(a, out, &snd);
        return;
    }
    if (out == b) { /* an empty piece came back as itself: detach it */
        out = sx_batch_new(b->token);
        sx_batch_copy_header(out, b);
        sx_batch_destroy(&b);
    }
    j->out[k] = out;
    if (atomic_fetch_sub_explicit(&j->remaining, 1, memory_order_acq_rel) == 1)
        emit(a, join_outputs(j), &snd);
}

/* ----------------------------------------------------------- lifecycle */

sx_actor *sx_actor_new(sx_pipeline *p, uint32_t index, const char *name, sx_order kind,
                       sx_behaviour_fn fn, void *arg)
{
    sx_runtime *rt = p->rt;
    sx_actor *a = sx_calloc(1, sizeof *a);
    a->inbox = sx_rt_inbox_new(rt, &a->inbox_id);
    if (!a->inbox) {
        free(a);
        return NULL;
    }
    a->drain.run = drain_task;
    a->pipe = p;
    a->index = index;
    a->name = strdup(name);
    if (!a->name)
        sx_alloc_fail(strlen(name) + 1);
    a->kind = kind;
    a->fn = fn;
    a->arg = arg;
    uint64_t window = sx_tokens_window(rt->opts.tokens);
    if (kind != SX_PARALLEL)
        a->reorder = sx_reorder_new(1, window);
    if (kind == SX_PARALLEL_CONTEXT)
        a->lanes = sx_lanes_new(rt->opts.lanes, lane_piece, a);
    a->counters = sx_calloc(rt->opts.threads + 1, sizeof *a->counters);
    return a;
}

void sx_actor_destroy(sx_actor **ap)
{
    sx_actor *a = *ap;
    if (!a)
        return;
    /* drop anything still queued: only after a failed run */
    sx_batch *b;
    while (atomic_load(&a->pending) > 0 && (b = inbox_take(a))) {
        atomic_fetch_sub(&a->pending, 1);
        sx_batch_destroy(&b);
    }
    zmq_close(a->inbox);
    sx_reorder_destroy(&a->reorder);
    sx_lanes_destroy(&a->lanes);
    free(a->counters);
    free(a->name);
    free(a);
    *ap = NULL;
}

void sx_actor_set_heartbeat_lanes(sx_actor *a, uint32_t per_beat)
{
    a->heartbeat_lanes = per_beat;
}

void sx_actor_set_key(sx_actor *a, sx_key_fn fn, void *arg)
{
    a->keyfn = fn;
    a->keyarg = arg;
}
