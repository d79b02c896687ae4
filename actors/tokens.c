/*
 * tokens.c -- token dispenser with an in-flight limit.
 *
 * Tokens are issued in order by one admitting thread. In-flight tokens
 * live in a ring of `size` slots (limit rounded up to a power of two)
 * indexed by token; token t is issued only once slot t & mask is free,
 * so the in-flight tokens always span fewer than `size` numbers. That
 * checks each release against double completion without allocation,
 * and bounds every reorder buffer downstream to `size` entries.
 *
 * Fast paths are lock-free: acquire reads in_flight and one slot, release
 * clears its slot and decrements in_flight. The mutex and condition variable are used only
 * when someone waits (for room, or for idle), announced in `waiters`;
 * the seq_cst decrement / waiters read pairs with the waiter's seq_cst
 * waiters++ / in_flight re-check, so no wake-up is lost.
 */
#include "tokens.h"

#include <pthread.h>
#include <stdatomic.h>

#include "proto/alloc.h"

struct sx_tokens {
    uint32_t limit;
    uint64_t mask;
    _Atomic uint64_t *ring; /* ring[t & mask] == t while t is in flight */
    _Alignas(64) atomic_uint_fast64_t in_flight;
    atomic_uint_fast64_t next; /* next token to issue; only the admitting thread writes */
    atomic_uint_fast64_t completed;
    atomic_uint_fast64_t max_in_flight;
    atomic_uint_fast64_t refused;
    atomic_uint_fast64_t bad_releases;
    atomic_int waiters;
    pthread_mutex_t mu; /* protects nothing but the wait on cv */
    pthread_cond_t cv;
};

uint64_t sx_tokens_window(uint32_t limit)
{
    uint64_t size = 1;
    while (size < limit)
        size <<= 1;
    return size;
}

sx_tokens *sx_tokens_new(uint32_t limit)
{
    if (limit == 0)
        limit = 1;
    sx_tokens *tk = sx_calloc(1, sizeof *tk);
    tk->limit = limit;
    uint64_t size = sx_tokens_window(limit);
    tk->mask = size - 1;
    tk->ring = sx_calloc(size, sizeof *tk->ring);
    atomic_init(&tk->next, 1);
    pthread_mutex_init(&tk->mu, NULL);
    pthread_cond_init(&tk->cv, NULL);
    return tk;
}

void sx_tokens_destroy(sx_tokens **tkp)
{
    sx_tokens *tk = *tkp;
    if (!tk)
        return;
    pthread_mutex_destroy(&tk->mu);
    pthread_cond_destroy(&tk->cv);
    free((void *)tk->ring);
    free(tk);
    *tkp = NULL;
}

/** True when the next token may be issued: fewer than limit in flight,
 *  and the ring slot of the next token is free (the token `size` before
 *  it has finished), which bounds the span of in-flight tokens too. */
static bool room(sx_tokens *tk)
{
    if (atomic_load_explicit(&tk->in_flight, memory_order_seq_cst) >= tk->limit)
        return false;
    uint64_t t = atomic_load_explicit(&tk->next, memory_order_relaxed);
    return atomic_load_explicit(&tk->ring[t & tk->mask], memory_order_seq_cst) == 0;
}

/** Issues the next token (only the admitting thread calls this, after
 *  room() said yes; other threads only ever lower in_flight). */
static uint64_t issue(sx_tokens *tk)
{
    uint64_t now = atomic_fetch_add_explicit(&tk->in_flight, 1, memory_order_seq_cst) + 1;
    if (now > atomic_load_explicit(&tk->max_in_flight, memory_order_relaxed))
        atomic_store_explicit(&tk->max_in_flight, now, memory_order_relaxed);
    /* the slot first, then next: sx_tokens_floor reads next and must see
     * every token below it in the ring */
    uint64_t t = atomic_load_explicit(&tk->next, memory_order_relaxed);
    atomic_store_explicit(&tk->ring[t & tk->mask], t, memory_order_release);
    atomic_store_explicit(&tk->next, t + 1, memory_order_release);
    return t;
}

uint64_t sx_tokens_acquire(sx_tokens *tk)
{
    if (!room(tk)) {
        pthread_mutex_lock(&tk->mu);
        atomic_fetch_add_explicit(&tk->waiters, 1, memory_order_seq_cst);
        while (!room(tk))
            pthread_cond_wait(&tk->cv, &tk->mu);
        atomic_fetch_sub_explicit(&tk->waiters, 1, memory_order_seq_cst);
        pthread_mutex_unlock(&tk->mu);
    }
    return issue(tk);
}

bool sx_tokens_try_acquire(sx_tokens *tk, uint64_t *token)
{
    if (!room(tk)) {
        atomic_fetch_add_explicit(&tk->refused, 1, memory_order_relaxed);
        return false;
    }
    *token = issue(tk);
    return true;
}

int sx_tokens_release(sx_tokens *tk, uint64_t token)
{
    uint64_t expect = token;
    if (token == 0 ||
        !atomic_compare_exchange_strong_explicit(&tk->ring[token & tk->mask], &expect, 0,
                                                 memory_order_acq_rel, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&tk->bad_releases, 1, memory_order_relaxed);
        return -1;
    }
    atomic_fetch_add_explicit(&tk->completed, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&tk->in_flight, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&tk->waiters, memory_order_seq_cst) > 0) {
        pthread_mutex_lock(&tk->mu);
        pthread_cond_broadcast(&tk->cv);
        pthread_mutex_unlock(&tk->mu);
    }
    return 0;
}

void sx_tokens_wait_idle(sx_tokens *tk)
{
    if (atomic_load_explicit(&tk->in_flight, memory_order_seq_cst) == 0)
        return;
    pthread_mutex_lock(&tk->mu);
    atomic_fetch_add_explicit(&tk->waiters, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&tk->in_flight, memory_order_seq_cst) > 0)
        pthread_cond_wait(&tk->cv, &tk->mu);
    atomic_fetch_sub_explicit(&tk->waiters, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&tk->mu);
}

uint64_t sx_tokens_in_flight(sx_tokens *tk)
{
    return atomic_load_explicit(&tk->in_flight, memory_order_relaxed);
}

void sx_tokens_stats_get(sx_tokens *tk, sx_tokens_stats *out)
{
    out->issued = atomic_load(&tk->next) - 1;
    out->completed = atomic_load(&tk->completed);
    out->max_in_flight = atomic_load(&tk->max_in_flight);
    out->refused = atomic_load(&tk->refused);
    out->bad_releases = atomic_load(&tk->bad_releases);
    out->limit = tk->limit;
}

uint64_t sx_tokens_floor(sx_tokens *tk, uint64_t *cursor)
{
    uint64_t next = atomic_load_explicit(&tk->next, memory_order_acquire);
    uint64_t t = *cursor;
    while (t < next && atomic_load_explicit(&tk->ring[t & tk->mask], memory_order_acquire) != t)
        t++;
    *cursor = t;
    return t;
}

uint64_t sx_tokens_stats_last(sx_tokens *tk)
{
    return atomic_load(&tk->next) - 1;
}
