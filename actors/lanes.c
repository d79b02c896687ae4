/*
 * lanes.c -- key lanes: intrusive MPSC queues with a pending count.
 *
 * Each lane is Vyukov's intrusive multi-producer single-consumer queue
 * (batches are linked through rt_next; a stub batch per lane) plus the
 * same scheduling rule as an inbox: whoever raises `pending` from 0 makes
 * the lane runnable, and the runner re-schedules itself while its
 * decrement leaves work. So a lane is run by at most one worker at a
 * time, and a batch is counted only once it is fully linked, which is
 * why the consumer can trust the count.
 */
#include "lanes.h"

#include "internal.h"
#include "proto/alloc.h"

enum { LANE_RUN_MAX = 64 };

typedef struct sx_lane {
    sx_task task;
    sx_lanes *owner;
    uint32_t index;
    _Alignas(64) atomic_uint_fast64_t pending;
    _Atomic(sx_batch *) head; /* producers swap here */
    _Alignas(64) sx_batch *tail; /* consumer side */
    sx_batch stub;
} sx_lane;

struct sx_lanes {
    uint32_t n;
    sx_lane_run_fn fn;
    void *ctx;
    sx_lane *lane;
    /* lanes pushed to so far, in order of first push (the producer's
     * side only, like the pushes themselves) */
    uint8_t *touched;
    uint32_t *order;
    uint32_t ntouched;
};

/** Links b at the head of q (any producer). */
static void q_push(sx_lane *q, sx_batch *b)
{
    atomic_store_explicit(&b->rt_next, NULL, memory_order_relaxed);
    sx_batch *prev = atomic_exchange_explicit(&q->head, b, memory_order_acq_rel);
    atomic_store_explicit(&prev->rt_next, b, memory_order_release);
}

/** Unlinks the oldest batch, or NULL if none is fully linked yet. */
static sx_batch *q_pop(sx_lane *q)
{
    sx_batch *tail = q->tail;
    sx_batch *next = atomic_load_explicit(&tail->rt_next, memory_order_acquire);
    if (tail == &q->stub) {
        if (!next)
            return NULL;
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->rt_next, memory_order_acquire);
    }
    if (next) {
        q->tail = next;
        return tail;
    }
    if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
        return NULL; /* a push is half done */
    q_push(q, &q->stub);
    next = atomic_load_explicit(&tail->rt_next, memory_order_acquire);
    if (next) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

/** The lane activation: run up to LANE_RUN_MAX queued batches in order. */
static void lane_run(sx_task *task, sx_worker *w)
{
    sx_lane *q = (sx_lane *)task;
    sx_lanes *l = q->owner;
    uint64_t n = atomic_load_explicit(&q->pending, memory_order_acquire);
    uint64_t done = 0;
    while (done < n && done < LANE_RUN_MAX) {
        sx_batch *b = q_pop(q);
        if (!b)
            break;
        done++;
        l->fn(l->ctx, q->index, b, w);
    }
    if (atomic_fetch_sub_explicit(&q->pending, done, memory_order_acq_rel) - done > 0) {
        sx_sender snd = {.w = w};
        sx_rt_schedule(&snd, &q->task);
    }
}

sx_lanes *sx_lanes_new(uint32_t n, sx_lane_run_fn fn, void *ctx)
{
    uint32_t size = 1;
    while (size < n)
        size <<= 1;
    sx_lanes *l = sx_calloc(1, sizeof *l);
    l->n = size;
    l->fn = fn;
    l->ctx = ctx;
    l->lane = sx_calloc(size, sizeof *l->lane);
    l->touched = sx_calloc(size, sizeof *l->touched);
    l->order = sx_calloc(size, sizeof *l->order);
    for (uint32_t i = 0; i < size; i++) {
        sx_lane *q = &l->lane[i];
        q->task.run = lane_run;
        q->owner = l;
        q->index = i;
        atomic_init(&q->stub.rt_next, NULL);
        atomic_init(&q->head, &q->stub);
        q->tail = &q->stub;
    }
    return l;
}

void sx_lanes_destroy(sx_lanes **lp)
{
    sx_lanes *l = *lp;
    if (!l)
        return;
    for (uint32_t i = 0; i < l->n; i++) {
        sx_batch *b;
        while ((b = q_pop(&l->lane[i])))
            if (b != &l->lane[i].stub)
                sx_batch_destroy(&b);
    }
    free(l->lane);
    free(l->touched);
    free(l->order);
    free(l);
    *lp = NULL;
}

uint32_t sx_lanes_of(const sx_lanes *l, uint64_t key_hash)
{
    /* fold the high bits in: key hashes may be weak in their low bits */
    key_hash ^= key_hash >> 29;
    key_hash *= 0xBF58476D1CE4E5B9ULL;
    key_hash ^= key_hash >> 32;
    return (uint32_t)(key_hash & (l->n - 1));
}

uint32_t sx_lanes_count(const sx_lanes *l)
{
    return l->n;
}

void sx_lanes_touch(sx_lanes *l, uint32_t lane)
{
    if (!l->touched[lane]) {
        l->touched[lane] = 1;
        l->order[l->ntouched++] = lane;
    }
}

uint32_t sx_lanes_touched(const sx_lanes *l, const uint32_t **order)
{
    *order = l->order;
    return l->ntouched;
}

void sx_lanes_push(sx_lanes *l, uint32_t lane, sx_batch *b, sx_sender *snd)
{
    sx_lane *q = &l->lane[lane];
    sx_lanes_touch(l, lane);
    q_push(q, b);
    if (atomic_fetch_add_explicit(&q->pending, 1, memory_order_acq_rel) == 0)
        sx_rt_schedule(snd, &q->task);
}
