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

typedef struct sx_link sx_link;

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

typedef enum { SX_ROUTE_NEXT, SX_ROUTE_LINK, SX_ROUTE_SINK } sx_route;

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
    sx_route route;
    sx_actor *next;
    sx_link *link;
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
    sx_outbox *admit; /* the admitting thread's outbox */
    size_t split;     /* first remote (sender) or first local (receiver) stage */
    int link_role;    /* 0 none, 1 sender, 2 receiver */
    char *link_endpoint;
    sx_link *link;
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

/* link.c */
sx_link *sx_link_new_sender(sx_pipeline *p, const char *endpoint, char *err, size_t errlen);
sx_link *sx_link_new_receiver(sx_pipeline *p, sx_actor *entry, const char *endpoint, char *err,
                              size_t errlen);
int sx_link_start(sx_link *l, char *err, size_t errlen);
/** Worker side of a sender link: ships b (ownership taken). */
void sx_link_send(sx_link *l, sx_batch *b, sx_sender *snd);
/** Receiver: token completed here; acknowledge it to the peer. */
void sx_link_ack(sx_link *l, uint64_t token, sx_sender *snd);
/** Sender: all tokens acknowledged; send end of input, wait for the
 *  peer's confirmation, stop the link thread. 0 or -1. */
int sx_link_finish(sx_link *l, sx_outbox *ob);
/** Receiver: wait until the peer's end of input has drained. 0 or -1. */
int sx_link_wait(sx_link *l);
void sx_link_destroy(sx_link **l);
uint64_t sx_link_batches(const sx_link *l);
uint64_t sx_link_bad(const sx_link *l);

#endif
