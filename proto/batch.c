/*
 * batch.c -- batches: one token's tuples, the message between actors.
 *
 * A batch owns a growable array of tuples (capacity 4, then doubling, so
 * appends are amortised O(1) and most batches allocate once) and a
 * reference to its origin node name. Locally the batch pointer itself is
 * the message, so nothing here copies tuples.
 *
 * Invariants: tuples[0..n) are owned and initialised; n <= cap; the
 * runtime fields rt_next/rt_ctx are never read or written here except to
 * start them at NULL (and, for a destroyed batch in the per-thread cache,
 * rt_ctx links the cache list).
 */
#include "proto/batch.h"

#include <pthread.h>
#include <string.h>

#include "proto/alloc.h"

/* First capacity of the tuple array; it doubles from there. */
#define BATCH_FIRST_CAP 4u
/* Per-thread cache of destroyed batches (with their tuple arrays, up to
 * CACHED_CAP_MAX tuples), so the hot path -- one batch per token per
 * component -- does not go through malloc. */
#define CACHE_MAX 512u
#define CACHED_CAP_MAX 64u

/* This thread's cache: a list linked through rt_ctx. A batch destroyed
 * on one thread is reused by that thread; each list is bounded, and
 * freed by a pthread key destructor when its thread exits. */
typedef struct batch_cache {
    sx_batch *head;
    unsigned n;
    bool registered;
} batch_cache;

static _Thread_local batch_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/** Frees every batch of a thread's cache (its thread is exiting). */
static void cache_free(void *arg)
{
    batch_cache *c = arg;
    while (c->head) {
        sx_batch *b = c->head;
        c->head = b->rt_ctx;
        free(b->tuples);
        free(b);
    }
    c->n = 0;
}

/** Creates the key whose destructor empties an exiting thread's cache. */
static void cache_key_create(void)
{
    if (pthread_key_create(&cache_key, cache_free) != 0)
        cache_key = 0;
}

/** Puts b (emptied) in this thread's cache, or frees it if full. */
static void cache_put(sx_batch *b)
{
    if (!cache.registered) {
        pthread_once(&cache_once, cache_key_create);
        cache.registered = pthread_setspecific(cache_key, &cache) == 0;
    }
    if (!cache.registered || cache.n >= CACHE_MAX) {
        free(b->tuples);
        free(b);
        return;
    }
    if (b->cap > CACHED_CAP_MAX) {
        free(b->tuples);
        b->tuples = NULL;
        b->cap = 0;
    }
    b->rt_ctx = cache.head;
    cache.head = b;
    cache.n++;
}

sx_batch *sx_batch_new(uint64_t token)
{
    sx_batch *b = cache.head;
    if (b) {
        cache.head = b->rt_ctx;
        cache.n--;
        sx_tuple *tuples = b->tuples;
        uint32_t cap = b->cap;
        memset(b, 0, sizeof *b);
        b->tuples = tuples;
        b->cap = cap;
    } else {
        b = sx_calloc(1, sizeof *b);
    }
    b->token = token;
    return b;
}

void sx_batch_destroy(sx_batch **b)
{
    if (!*b)
        return;
    for (uint32_t i = 0; i < (*b)->n; i++)
        sx_tuple_clear(&(*b)->tuples[i]);
    (*b)->n = 0;
    sx_blob_release(&(*b)->origin);
    cache_put(*b);
    *b = NULL;
}

/** Makes room for one more tuple, growing the array geometrically. */
static void batch_reserve_one(sx_batch *b)
{
    if (b->n < b->cap)
        return;
    if (b->cap > UINT32_MAX / 2)
        sx_alloc_fail((size_t)b->cap * 2 * sizeof(sx_tuple));
    b->cap = b->cap ? b->cap * 2 : BATCH_FIRST_CAP;
    b->tuples = sx_realloc(b->tuples, (size_t)b->cap * sizeof(sx_tuple));
}

sx_tuple *sx_batch_add(sx_batch *b, const char *relation, uint32_t n)
{
    batch_reserve_one(b);
    sx_tuple *t = &b->tuples[b->n++];
    sx_tuple_init(t, relation, n);
    return t;
}

void sx_batch_push(sx_batch *b, sx_tuple *t)
{
    batch_reserve_one(b);
    b->tuples[b->n++] = *t;
    memset(t, 0, sizeof *t);
}

void sx_batch_copy_header(sx_batch *dst, const sx_batch *src)
{
    dst->pipeline = src->pipeline;
    dst->target = src->target;
    dst->token = src->token;
    dst->flags = src->flags;
    dst->time_ns = src->time_ns;
    dst->origin_token = src->origin_token;
    if (dst->origin == src->origin)
        return;
    sx_blob_release(&dst->origin);
    dst->origin = src->origin ? sx_blob_ref(src->origin) : NULL;
}

bool sx_batch_equal(const sx_batch *a, const sx_batch *b)
{
    if (a->pipeline != b->pipeline || a->target != b->target || a->token != b->token ||
        a->flags != b->flags || a->time_ns != b->time_ns || a->n != b->n ||
        a->origin_token != b->origin_token)
        return false;
    /* NULL and an empty origin both mean "local" (the wire cannot tell). */
    if (!sx_blob_equal(a->origin, b->origin))
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (!sx_tuple_equal(&a->tuples[i], &b->tuples[i]))
            return false;
    return true;
}
