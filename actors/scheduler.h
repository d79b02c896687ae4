/*
 * scheduler.h -- N worker threads running activations, with work stealing.
 *
 * An item is any non-NULL pointer; the scheduler hands each item to the
 * run function given at construction. Each worker owns a deque: items a
 * worker makes runnable go on its own deque (LIFO), idle workers steal
 * from random victims, back off, and finally sleep until work arrives.
 * Threads that are not workers submit through a shared injection queue.
 */
#ifndef SX_SCHEDULER_H
#define SX_SCHEDULER_H

#include <stdint.h>

typedef struct sx_sched sx_sched;
typedef struct sx_worker sx_worker;

/** Runs one item on worker w. */
typedef void (*sx_sched_run_fn)(void *ctx, void *item, sx_worker *w);

typedef struct sx_worker_stats {
    uint64_t activations; /* items run */
    uint64_t stolen;      /* of which taken from another worker's deque */
    uint64_t injected;    /* of which taken from the injection queue */
    uint64_t idle_ns;     /* time spent looking for work or asleep */
    uint64_t sleeps;      /* times the worker went to sleep */
} sx_worker_stats;

/** New scheduler of threads workers (0 = number of online CPUs). Nothing
 *  runs before sx_sched_start. The caller owns the scheduler. */
sx_sched *sx_sched_new(unsigned threads, sx_sched_run_fn run, void *ctx);
/** Starts the worker threads. Returns 0, or -1 if a thread could not be
 *  created (then none runs). */
int sx_sched_start(sx_sched *s);
/** Asks the workers to exit once idle and joins them. Items still queued
 *  are not run: stop only after the work has drained. */
void sx_sched_stop(sx_sched *s);
/** Stops if needed and frees the scheduler; nulls the caller's pointer. */
void sx_sched_destroy(sx_sched **s);

/** Worker w makes item runnable: pushed on w's own deque (hot path: no
 *  lock, no allocation; wakes a sleeping worker only if one sleeps). */
void sx_sched_push(sx_worker *w, void *item);
/** Any thread that is not a worker makes item runnable. */
void sx_sched_submit(sx_sched *s, void *item);

unsigned sx_sched_threads(const sx_sched *s);
/** Index of worker w, 0 .. threads-1. */
unsigned sx_worker_index(const sx_worker *w);
/** A pointer slot owned by worker w for its caller's per-worker data
 *  (set and read only on w's own thread). */
void **sx_worker_slot(sx_worker *w);
/** Per-worker data slot of worker i, for clean-up after sx_sched_stop. */
void **sx_sched_slot(sx_sched *s, unsigned i);
/** Counters of worker i (read after stop, or as an estimate while running). */
void sx_sched_stats(const sx_sched *s, unsigned i, sx_worker_stats *out);

#endif
