/*
 * net_order.c -- a receiving node releases its outputs in the source's
 * token order.
 *
 * Outputs reach a receiving node's sink in the order its local tokens
 * finish, which follows arrival, not the source's order. Each output
 * batch is held under its source and origin token until the source's
 * watermark passes that token: then every part of every token up to it
 * has been received and finished here (the watermark only moves once
 * all acknowledgements reached the source), so releasing up to it, in
 * token order, gives the same order as a single-process run.
 */
#include "net_internal.h"

#include <stdlib.h>

#include "proto/alloc.h"

/* Batches of one origin token, in arrival order. */
typedef struct held {
    sx_batch **b;
    size_t n;
} held;

/** The order state of (source, pipeline). */
static net_order *order_of(sx_net *n, uint32_t source, uint32_t pipeline)
{
    return &n->orders[source * n->rt->npipes + pipeline];
}

/** Gives b to the pipeline's sink and frees it. */
static void release(sx_pipeline *p, sx_batch *b)
{
    if (p->sink)
        p->sink(p->sink_arg, b);
    sx_batch_destroy(&b);
}

void net_order_put(sx_net *n, sx_pipeline *p, sx_batch *out)
{
    out->token = out->origin_token;
    int src = out->origin ? net_node_find(n, out->origin->data, out->origin->len) : -1;
    pthread_mutex_lock(&n->mu);
    net_order *o = src >= 0 ? order_of(n, (uint32_t)src, p->id) : NULL;
    if (!o || out->token < o->next) {
        /* cannot be ordered (checked on receipt, so a runtime bug) or
         * already past: released at once, counted */
        atomic_fetch_add_explicit(&n->out_of_order, 1, memory_order_relaxed);
        release(p, out);
    } else {
        held *h = sx_u64map_get(&o->held, out->token);
        if (!h) {
            h = sx_calloc(1, sizeof *h);
            sx_u64map_put(&o->held, out->token, h);
        }
        h->b = sx_realloc(h->b, (h->n + 1) * sizeof *h->b);
        h->b[h->n++] = out;
    }
    pthread_mutex_unlock(&n->mu);
}

void net_order_advance(sx_net *n, uint32_t source, uint32_t pipeline, uint64_t w, bool ended)
{
    sx_pipeline *p = n->rt->pipes[pipeline];
    pthread_mutex_lock(&n->mu);
    net_order *o = order_of(n, source, pipeline);
    if (w > o->w)
        o->w = w;
    o->ended |= ended;
    /* jump over tokens with nothing held when the map is empty */
    if (o->held.n == 0 && o->w >= o->next)
        o->next = o->w + 1;
    for (; o->next <= o->w && o->held.n; o->next++) {
        held *h = sx_u64map_remove(&o->held, o->next);
        if (!h)
            continue;
        for (size_t i = 0; i < h->n; i++)
            release(p, h->b[i]);
        free(h->b);
        free(h);
    }
    if (o->held.n == 0 && o->w >= o->next)
        o->next = o->w + 1;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

bool net_order_all_ended(sx_net *n)
{
    for (size_t s = 0; s < n->n; s++) {
        if (s == n->self || !n->nodes[s].source)
            continue;
        for (size_t k = 0; k < n->rt->npipes; k++)
            if (!order_of(n, (uint32_t)s, (uint32_t)k)->ended)
                return false;
    }
    return true;
}

/** Frees one held list (map callback). */
static void free_held(void *arg, uint64_t key, void *val)
{
    (void)arg, (void)key;
    held *h = val;
    for (size_t i = 0; i < h->n; i++)
        sx_batch_destroy(&h->b[i]);
    free(h->b);
    free(h);
}

void net_order_free(sx_net *n)
{
    for (size_t i = 0; n->orders && i < n->n * n->rt->npipes; i++) {
        sx_u64map_each(&n->orders[i].held, free_held, NULL);
        sx_u64map_clear(&n->orders[i].held);
    }
    free(n->orders);
    n->orders = NULL;
}
