/*
 * deque.h -- a work-stealing deque of runnable activations (Chase-Lev).
 *
 * One owner pushes and pops at the bottom (LIFO: what a worker's own
 * output made runnable runs next, while its data is still in cache); any
 * other thread steals from the top (FIFO: the oldest work moves away).
 * Items are non-NULL pointers. The deque grows when full; retired arrays
 * are kept until destroy, so a thief never reads freed memory.
 */
#ifndef SX_DEQUE_H
#define SX_DEQUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sx_deque sx_deque;

/** New deque with room for at least capacity items before it grows. */
sx_deque *sx_deque_new(size_t capacity);
/** Frees the deque (it must not be in use); nulls the caller's pointer. */
void sx_deque_destroy(sx_deque **dq);
/** Owner only: pushes item at the bottom. Never fails (grows). */
void sx_deque_push(sx_deque *dq, void *item);
/** Owner only: pops the most recently pushed item, or NULL when empty. */
void *sx_deque_pop(sx_deque *dq);
/** Any thread: steals the oldest item, or NULL when empty or when it lost
 *  a race (the caller simply tries elsewhere). */
void *sx_deque_steal(sx_deque *dq);
/** Any thread: an estimate of the number of items (exact for the owner). */
size_t sx_deque_size(sx_deque *dq);

#endif
