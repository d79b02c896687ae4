/*
 * internal.h -- structures shared by the runtime's own files.
 *
 * Not for use outside actors/. The structs live here rather than in their
 * .c files because the hot path (deliver, drain, emit) crosses actor.c,
 * lanes.c and pipeline.c and must not pay for accessors.
 *
 * Threading rules:
 *  - an actor's inbox socket is drained by at most one thread at a time:
 *    the one holding its drain activation, claimed by the 0 -> 1
 *    transition of `pending` (the atomic RMW chain is the memory barrier
 *    that lets the socket move between threads);
 *  - every sending thread has its own outbox (sx_sender.ob);
 *  - a batch sent by reference is owned by whoever received it last.
 */
#ifndef SX_ACTORS_INTERNAL_H
#define SX_ACTORS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "lanes.h"
#include "outbox.h"
#include "reorder.h"
#include "runtime.h"
#include "scheduler.h"
#include "tokens.h"

#ifdef SX_TSAN
#include <sanitizer/tsan_interface.h>
/* ZeroMQ is not instrumented: tell TSan that a message hands over memory. */
#define SX_TSAN_RELEASE(p) __tsan_release(p)
#define SX_TSAN_ACQUIRE(p) __tsan_acquire(p)
#else
#define SX_TSAN_RELEASE(p) ((void)(p))
#define SX_TSAN_ACQUIRE(p) ((void)(p))
#endif

typedef struct sx_net sx_net;

/* An activation that is not a batch: an actor's inbox drain, a lane. */
typedef struct sx_task {
    void (*run)(struct sx_task *self, sx_worker *w);
} sx_task;

/* Who is sending: a worker (schedules on its own deque) or another
 * thread (w == NULL: schedules through the injection queue). */
typedef struct sx_sender {
    sx_runtime *rt;
    sx_outbox *ob;
    sx_worker *w;
    unsigned slot; /* statistics slot: worker index, or threads for others */
} sx_sender;

typedef struct sx_actor_counters {
    _Alignas(64) uint64_t activations, batches, tuples_in, tuples_out, errors;
} sx_actor_counters;

typedef enum { SX_ROUTE_NEXT, SX_ROUTE_SINK } sx_route;

struct sx_actor {
    sx_task drain;
    sx_pipeline *pipe;
    uint32_t index; /* position in the pipeline */
    char *name;
    sx_order kind;
    uint32_t inbox_id;
    void *inbox; /* ZeroMQ PULL; see the threading rules above */
    _Alignas(64) atomic_uint_fast64_t pending; /* messages sent, not yet drained */
    sx_behaviour_fn fn;
    void *arg;
    sx_key_fn keyfn;
    void *keyarg;
    sx_reorder *reorder; /* serial and context-ordered kinds */
    size_t reorder_peak;
    sx_lanes *lanes;     /* context-ordered kind */
    uint32_t heartbeat_lanes; /* used lanes a heartbeat visits, in rotation */
    uint32_t heartbeat_next;  /* where in the used lanes the next one starts */
    sx_route route;
    sx_actor *next;
    sx_place_fn place;   /* distributed: where each output tuple goes */
    void *place_arg;
    uint64_t dup_tokens; /* batches refused by the reorder buffer */
    sx_actor_counters *counters; /* one per worker + one for other threads */
};

struct sx_pipeline {
    sx_runtime *rt;
    uint32_t id;
    char *name;
    sx_actor **actors;
    size_t n;
    sx_tokens *tokens;
    sx_sink_fn sink;
    void *sink_arg;
    /* the last component is not serial: outputs wait here for earlier
     * tokens, so the sink sees token order */
    sx_reorder *sink_order;
    pthread_mutex_t sink_mu;
    sx_outbox *admit; /* the admitting thread's outbox */
    /* distributed runs only (rt->net): paths of each in-flight token
     * still open (its local path plus parts shipped, not yet acked),
     * by token & parts_mask */
    _Atomic uint32_t *parts;
    uint64_t parts_mask;
    bool receiving;   /* tokens come from other nodes, not from inject */
    atomic_uint_fast64_t dropped;
    atomic_uint_fast64_t tuples_out;
};

struct sx_runtime {
    sx_runtime_opts opts;
    void *zctx;
    sx_sched *sched;
    sx_pipeline **pipes;
    size_t npipes;
    uint32_t inboxes; /* inbox ids handed out (before start only) */
    bool started;
    sx_net *net;      /* distributed runs, else NULL */
};

/* runtime.c */
/** Makes task runnable from snd's thread. */
void sx_rt_schedule(sx_sender *snd, sx_task *task);
/** Makes parallel batch b (b->rt_ctx = actor) runnable from snd's thread. */
void sx_rt_schedule_batch(sx_sender *snd, sx_batch *b);
/** New inbox bound on the runtime's context; returns the socket, sets *id. */
void *sx_rt_inbox_new(sx_runtime *rt, uint32_t *id);
/** Aborts with a message: an invariant of the runtime itself broke. */
_Noreturn void sx_rt_fatal(const char *what);

/* actor.c */
sx_actor *sx_actor_new(sx_pipeline *p, uint32_t index, const char *name, sx_order kind,
                       sx_behaviour_fn fn, void *arg);
void sx_actor_destroy(sx_actor **a);
/** Sends b (ownership taken) into a's inbox and schedules a if idle. */
void sx_actor_deliver(sx_actor *a, sx_batch *b, sx_sender *snd);
/** Runs a parallel batch item (b->rt_ctx is its actor). */
void sx_actor_run_batch(sx_batch *b, sx_worker *w);
/** The sender of worker w (creating its outbox on first use). */
sx_sender sx_actor_sender(sx_runtime *rt, sx_worker *w);

/* pipeline.c */
/** Resolves routes and creates the link; called by sx_runtime_start. */
int sx_pipeline_prepare(sx_pipeline *p, char *err, size_t errlen);
/** The last component finished a token: sink, then release or ack. */
void sx_pipeline_complete(sx_pipeline *p, sx_batch *out, sx_sender *snd);

/* pipeline.c, distributed runs */
/** One open path of token finished (its local path at the sink, or a
 *  shipped part acknowledged); the last one releases the token, or on a
 *  receiving node reports it done to the net. */
void sx_pipeline_part_done(sx_pipeline *p, uint64_t token, sx_sender *snd);

/* net.c */
/** Creates the sockets, starts the net thread; called by
 *  sx_runtime_start after the pipelines are prepared. 0 or -1. */
int sx_net_start(sx_net *n, char *err, size_t errlen);
/** Stops the thread and frees everything; nulls *n. */
void sx_net_destroy(sx_net **n);
/** Worker side: out is component a's output; moves the tuples that go
 *  to other nodes out of it, encodes them and hands them to the net
 *  thread (which ships each component's parts in token order). */
void sx_net_boundary(sx_net *n, sx_actor *a, sx_batch *out, sx_sender *snd);
/** Receiving node: out reached the sink; the net keeps it until the
 *  source's watermark passes its origin token (ownership taken). */
void sx_net_sink_put(sx_net *n, sx_pipeline *p, sx_batch *out);
/** Receiving node: token is done here; acknowledge it upstream. */
void sx_net_token_done(sx_net *n, sx_pipeline *p, uint64_t token, sx_sender *snd);
/** Source node: p's tokens are all done; tell every node and wait for
 *  their confirmations. 0 or -1. */
int sx_net_finish(sx_net *n, sx_pipeline *p, sx_sender *snd);
/** The node name as a blob (the net keeps its reference). */
sx_blob *sx_net_node_blob(sx_net *n);
/** Batches this node sent and received for pipeline p, and malformed
 *  ones (n may be NULL: zeros). */
void sx_net_pipeline_counts(sx_net *n, uint32_t pipeline, uint64_t *batches, uint64_t *bad);

#endif
