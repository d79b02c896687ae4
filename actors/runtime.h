/*
 * runtime.h -- the public face of the actor runtime.
 *
 * A runtime owns the ZeroMQ context, the worker pool and its pipelines.
 * A pipeline is a linear chain of components; each component instance is
 * an actor whose inbox is a ZeroMQ inproc PULL socket. Build pipelines,
 * start the runtime, inject inputs from one thread per pipeline, finish,
 * destroy:
 *
 *     sx_runtime_opts o; sx_runtime_opts_default(&o);
 *     sx_runtime *rt = sx_runtime_new(&o, err, sizeof err);
 *     sx_pipeline *p = sx_pipeline_new(rt, "demo");
 *     sx_pipeline_add(p, "parse", SX_PARALLEL, parse_fn, NULL);
 *     sx_pipeline_add(p, "out", SX_SERIAL, out_fn, NULL);
 *     sx_runtime_start(rt);
 *     for (...) sx_pipeline_inject(p, batch);
 *     sx_pipeline_finish(p);
 *     sx_runtime_destroy(&rt);
 */
#ifndef SX_RUNTIME_H
#define SX_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/batch.h"

typedef struct sx_runtime sx_runtime;
typedef struct sx_pipeline sx_pipeline;
typedef struct sx_actor sx_actor;

/* Component kinds (DESIGN.md, Execution model). */
typedef enum sx_order {
    SX_SERIAL,             /* one at a time, strict token order */
    SX_PARALLEL,           /* any number at once, any order */
    SX_PARALLEL_CONTEXT,   /* per context key: one at a time, token order */
    SX_SERIAL_CONTEXT,     /* per key token order, one activation at a time */
} sx_order;

typedef struct sx_runtime_opts {
    unsigned threads;  /* workers; 0 = online CPUs */
    uint32_t tokens;   /* in-flight tokens per pipeline (default 1000) */
    bool encode_local; /* protobuf-encode every local hop too */
    uint32_t lanes;    /* key lanes per context-ordered component (4096) */
    uint32_t drain_max;/* inbox messages one activation takes (64) */
} sx_runtime_opts;

/** Fills the defaults; SX_ENCODE_LOCAL=1 in the environment turns on
 *  encode_local. */
void sx_runtime_opts_default(sx_runtime_opts *o);
/** New runtime, not yet started. NULL with a message in err on failure. */
sx_runtime *sx_runtime_new(const sx_runtime_opts *o, char *err, size_t errlen);
/** Starts workers and links. Build every pipeline first. 0 or -1 (err). */
int sx_runtime_start(sx_runtime *rt, char *err, size_t errlen);
/** Stops the workers and frees everything, pipelines included. Finish
 *  (or wait on) every pipeline first. Nulls the caller's pointer. */
void sx_runtime_destroy(sx_runtime **rt);
unsigned sx_runtime_threads(const sx_runtime *rt);
const sx_runtime_opts *sx_runtime_options(const sx_runtime *rt);
/** Prints per-worker statistics (activations, % stolen, idle) to f. */
void sx_runtime_print_stats(const sx_runtime *rt, FILE *f);
/** Sum of stolen activations over all workers. */
uint64_t sx_runtime_stolen(const sx_runtime *rt);
/** Sum of activations run by all workers. */
uint64_t sx_runtime_activations(const sx_runtime *rt);

/* ---- behaviours ---- */

typedef struct sx_activation {
    sx_actor *actor;
    unsigned worker; /* index of the worker running it */
    uint32_t lane;   /* key lane (context-ordered kinds), else 0 */
} sx_activation;

/** A component's work on one token: read (and may move tuples out of)
 *  in, append results to out (same token). Return 0, or -1 to count an
 *  error; out is forwarded either way, so the token goes on. */
typedef int (*sx_behaviour_fn)(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out);
/** The context key of a tuple, hashed to 64 bits. */
typedef uint64_t (*sx_key_fn)(void *arg, const sx_tuple *t);
/** Receives the last component's output for one token, in token order
 *  (whatever the last component's kind: outputs of a token that finishes
 *  early wait for the tokens before it). The batch is only lent. */
typedef void (*sx_sink_fn)(void *arg, const sx_batch *out);

/* ---- pipelines ---- */

/** New empty pipeline owned by the runtime; its id is its creation index. */
sx_pipeline *sx_pipeline_new(sx_runtime *rt, const char *name);
/** Appends a component. The runtime owns the actor; arg stays the
 *  caller's. Context-ordered kinds need sx_actor_set_key. */
sx_actor *sx_pipeline_add(sx_pipeline *p, const char *name, sx_order kind, sx_behaviour_fn fn,
                          void *arg);
/** Sets how a context-ordered actor finds a tuple's key. */
void sx_actor_set_key(sx_actor *a, sx_key_fn fn, void *arg);
/** Makes heartbeat batches (SX_BATCH_HEARTBEAT) visit the key lanes of
 *  context-ordered actor a, so state kept per key can fall due: each
 *  visits `per_beat` of the lanes used so far, taking turns (every used
 *  lane is visited once in ceil(used / per_beat) heartbeats, the same
 *  ones at any thread count), and the final one (SX_BATCH_EOF) visits
 *  them all. 0 (the default): a heartbeat runs once, on one lane.
 *  Before start. */
void sx_actor_set_heartbeat_lanes(sx_actor *a, uint32_t per_beat);
/** Sets the sink of the last component's outputs. */
void sx_pipeline_set_sink(sx_pipeline *p, sx_sink_fn fn, void *arg);

/* ---- distribution (net.c) ----
 *
 * A node of a multi-host run: every node binds one ROUTER socket (its
 * inbox from other nodes) and connects one DEALER to every other node.
 * A component's output tuples that its placement function sends to
 * another node are encoded and shipped there; that node continues the
 * pipeline from the next component. Tokens stay with the node that
 * admitted them (the source) until every node that received a part of
 * the token has finished it and acknowledged; unacknowledged parts are
 * resent when a peer reconnects, and duplicates are dropped, so a
 * receiving node's restart loses nothing admitted. Outputs that reach a
 * receiving node's sink are released in the source's token order. */

typedef struct sx_net_opts {
    const char *node;             /* this node's name: one of names[] */
    const char *const *names;     /* every node of the deployment */
    const char *const *endpoints; /* where each is reached; NULL = not reachable */
    const bool *sources;          /* which nodes admit inputs */
    const char *const *keys;      /* Z85 CurveZMQ public keys, or NULL: no CurveZMQ */
    size_t n;
    const char *bind;             /* where this node binds; NULL = it never receives */
    const char *public_key, *secret_key; /* this node's pair, with keys */
} sx_net_opts;

/** Makes rt one node of a distributed run (before start). The options
 *  are copied. 0, or -1 with a message. */
int sx_runtime_set_net(sx_runtime *rt, const sx_net_opts *o, char *err, size_t errlen);
/** True when sx_runtime_set_net was called. */
bool sx_runtime_distributed(const sx_runtime *rt);
/** Index of the node called name[0..len) when it is another node of the
 *  deployment, else -1 (this node, an unknown name, or no deployment). */
int sx_runtime_node_index(const sx_runtime *rt, const char *name, size_t len);

/** Where a component's output tuple goes: a node index from
 *  sx_runtime_node_index, or -1 to stay on this node. Runs on workers;
 *  must be thread-safe and cheap. */
typedef int (*sx_place_fn)(void *arg, const sx_tuple *t);
/** Places the outputs of component comp (before start; distributed
 *  runtimes only). 0 or -1. */
int sx_pipeline_set_placement(sx_pipeline *p, size_t comp, sx_place_fn fn, void *arg);
/** A receiving node: waits until every source node has finished every
 *  pipeline and everything received here is done and written. 0, or -1
 *  when the node failed. */
int sx_runtime_wait_sources(sx_runtime *rt);
/** Prints per-peer link statistics (nothing when single-node). */
void sx_runtime_print_net(const sx_runtime *rt, FILE *f);
/** Writes the node's network statistics as a JSON object: node,
 *  source, malformed, unknown_peers, failed_handshakes, refused_keys
 *  and "links" (per peer: sent, acked, resent, reconnects, received,
 *  duplicates, bytes); "null" when single-node. */
void sx_runtime_net_json(const sx_runtime *rt, FILE *f);

/** Admits b (ownership taken): waits for a token, stamps it and sends b
 *  to the first component. Returns the token. One thread at a time. */
uint64_t sx_pipeline_inject(sx_pipeline *p, sx_batch *b);
/** Admits b only if a token is free now; else destroys b, counts the drop
 *  and returns 0 (live capture). */
uint64_t sx_pipeline_offer(sx_pipeline *p, sx_batch *b);
/** End of input: waits until every admitted token has completed
 *  (distributed: every part of it acknowledged by the nodes that got
 *  one), then tells every other node and waits for their confirmation.
 *  0, or -1 when the network failed. */
int sx_pipeline_finish(sx_pipeline *p);

typedef struct sx_pipeline_stats {
    uint64_t admitted, completed, max_in_flight, dropped, bad_releases;
    uint64_t tuples_out;   /* tuples the last component emitted */
    uint64_t errors;       /* behaviour errors, all components */
    uint64_t link_batches; /* batches sent to or received from other nodes */
    uint64_t link_bad;     /* malformed batches received and dropped (node-wide) */
} sx_pipeline_stats;
void sx_pipeline_stats_get(sx_pipeline *p, sx_pipeline_stats *out);
/** Prints a per-component table (activations, batches, tuples in/out,
 *  errors, reorder peak) to f. */
void sx_pipeline_print_stats(sx_pipeline *p, FILE *f);
size_t sx_pipeline_length(const sx_pipeline *p);
/** The runtime that owns p. */
sx_runtime *sx_pipeline_runtime(sx_pipeline *p);
sx_actor *sx_pipeline_actor(sx_pipeline *p, size_t i);

#endif
