/*
 * lanes.h -- per-key lanes of a context-ordered component.
 *
 * A lane is a queue of batches (one key's share of a token) run one at a
 * time, in the order pushed; different lanes run concurrently. Keys map
 * to a fixed number of lanes by hash: two keys that share a lane are
 * serialised together, which keeps their order and costs only
 * parallelism, while memory stays bounded however many keys appear.
 */
#ifndef SX_LANES_H
#define SX_LANES_H

#include <stdint.h>

#include "proto/batch.h"
#include "scheduler.h"

typedef struct sx_lanes sx_lanes;
struct sx_sender;

/** Runs one batch of a lane; owns b from then on. */
typedef void (*sx_lane_run_fn)(void *ctx, uint32_t lane, sx_batch *b, sx_worker *w);

/** n lanes (rounded up to a power of two) running batches with fn. */
sx_lanes *sx_lanes_new(uint32_t n, sx_lane_run_fn fn, void *ctx);
/** Frees the lanes and any batches left queued; nulls the pointer. */
void sx_lanes_destroy(sx_lanes **l);
/** The lane of a key hash. */
uint32_t sx_lanes_of(const sx_lanes *l, uint64_t key_hash);
/** Number of lanes (a power of two). */
uint32_t sx_lanes_count(const sx_lanes *l);
/** Marks lane as used (sx_lanes_push does it too). Producer side only. */
void sx_lanes_touch(sx_lanes *l, uint32_t lane);
/** The lanes used so far, in order of first use: sets *order (owned by
 *  l, valid until the next push or touch) and returns their number.
 *  Producer side only. Heartbeats visit these lanes: one never used
 *  holds no state. */
uint32_t sx_lanes_touched(const sx_lanes *l, const uint32_t **order);
/** Queues b (ownership taken) on lane; schedules the lane if it was idle.
 *  Single producer: only the component's drain activation pushes. */
void sx_lanes_push(sx_lanes *l, uint32_t lane, sx_batch *b, struct sx_sender *snd);

#endif
