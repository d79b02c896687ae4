/*
 * deque.c -- Chase-Lev work-stealing deque.
 *
 * After Chase & Lev (SPAA 2005) and Le, Pop, Cohen & Zappa Nardelli,
 * "Correct and Efficient Work-Stealing for Weak Memory Models" (PPoPP
 * 2013). Where that paper uses stand-alone fences we use sequentially
 * consistent operations on top/bottom instead: equivalent, and visible
 * to ThreadSanitizer, which does not model fences.
 *
 * Invariants: only the owner writes bottom and the slots; top only
 * grows, by CAS; the item at index i lives in slot i & (size - 1) of the
 * current array. Growth copies the live range into a new array and keeps
 * the old one (a thief may still be reading it) until destroy.
 */
#include "deque.h"

#include <stdatomic.h>
#include <stdint.h>

#include "proto/alloc.h"

typedef struct sx_deque_array {
    size_t size; /* power of two */
    struct sx_deque_array *retired; /* older arrays, freed at destroy */
    _Atomic(void *) slot[];
} sx_deque_array;

struct sx_deque {
    _Alignas(64) atomic_llong top;
    _Alignas(64) atomic_llong bottom;
    _Atomic(sx_deque_array *) array;
};

/** Allocates an empty array of size slots. */
static sx_deque_array *array_new(size_t size)
{
    sx_deque_array *a = sx_malloc(sizeof *a + size * sizeof(a->slot[0]));
    a->size = size;
    a->retired = NULL;
    for (size_t i = 0; i < size; i++)
        atomic_init(&a->slot[i], NULL);
    return a;
}

sx_deque *sx_deque_new(size_t capacity)
{
    size_t size = 16;
    while (size < capacity)
        size <<= 1;
    sx_deque *dq = sx_malloc(sizeof *dq);
    atomic_init(&dq->top, 0);
    atomic_init(&dq->bottom, 0);
    atomic_init(&dq->array, array_new(size));
    return dq;
}

void sx_deque_destroy(sx_deque **dqp)
{
    sx_deque *dq = *dqp;
    if (!dq)
        return;
    sx_deque_array *a = atomic_load_explicit(&dq->array, memory_order_relaxed);
    while (a) {
        sx_deque_array *next = a->retired;
        free(a);
        a = next;
    }
    free(dq);
    *dqp = NULL;
}

/** Owner only: doubles the array, copying the live range [t, b). */
static sx_deque_array *grow(sx_deque *dq, sx_deque_array *old, long long t, long long b)
{
    sx_deque_array *a = array_new(old->size * 2);
    for (long long i = t; i < b; i++) {
        void *item = atomic_load_explicit(&old->slot[i & (old->size - 1)], memory_order_relaxed);
        atomic_store_explicit(&a->slot[i & (a->size - 1)], item, memory_order_relaxed);
    }
    a->retired = old;
    atomic_store_explicit(&dq->array, a, memory_order_release);
    return a;
}

void sx_deque_push(sx_deque *dq, void *item)
{
    long long b = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    long long t = atomic_load_explicit(&dq->top, memory_order_acquire);
    sx_deque_array *a = atomic_load_explicit(&dq->array, memory_order_relaxed);
    if (b - t >= (long long)a->size)
        a = grow(dq, a, t, b);
    atomic_store_explicit(&a->slot[b & (a->size - 1)], item, memory_order_relaxed);
    /* release: a thief that sees the new bottom sees the item (and what
     * the item points to). */
    atomic_store_explicit(&dq->bottom, b + 1, memory_order_seq_cst);
}

void *sx_deque_pop(sx_deque *dq)
{
    long long b = atomic_load_explicit(&dq->bottom, memory_order_relaxed) - 1;
    sx_deque_array *a = atomic_load_explicit(&dq->array, memory_order_relaxed);
    atomic_store_explicit(&dq->bottom, b, memory_order_seq_cst);
    long long t = atomic_load_explicit(&dq->top, memory_order_seq_cst);
    if (t > b) { /* empty */
        atomic_store_explicit(&dq->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    void *item = atomic_load_explicit(&a->slot[b & (a->size - 1)], memory_order_relaxed);
    if (t == b) { /* last item: race the thieves for it */
        if (!atomic_compare_exchange_strong_explicit(&dq->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            item = NULL;
        atomic_store_explicit(&dq->bottom, b + 1, memory_order_relaxed);
    }
    return item;
}

void *sx_deque_steal(sx_deque *dq)
{
    long long t = atomic_load_explicit(&dq->top, memory_order_seq_cst);
    long long b = atomic_load_explicit(&dq->bottom, memory_order_seq_cst);
    if (t >= b)
        return NULL;
    sx_deque_array *a = atomic_load_explicit(&dq->array, memory_order_acquire);
    void *item = atomic_load_explicit(&a->slot[t & (a->size - 1)], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&dq->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return item;
}

size_t sx_deque_size(sx_deque *dq)
{
    long long b = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    long long t = atomic_load_explicit(&dq->top, memory_order_relaxed);
    return b > t ? (size_t)(b - t) : 0;
}
