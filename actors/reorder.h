/*
 * reorder.h -- puts batches back into token order.
 *
 * Ordered components (serial, context-ordered) receive batches in any
 * order; the reorder buffer releases them strictly by token, starting at
 * the first token. Single-threaded: its owner is the one activation that
 * drains the component's inbox.
 */
#ifndef SX_REORDER_H
#define SX_REORDER_H

#include "proto/batch.h"

typedef struct sx_reorder sx_reorder;

/** New buffer expecting first_token next, sized for window tokens (it
 *  grows if a token arrives further ahead). */
sx_reorder *sx_reorder_new(uint64_t first_token, uint64_t window);
/** Frees the buffer and any batches still held; nulls the pointer. */
void sx_reorder_destroy(sx_reorder **ro);
/** Takes ownership of b. Returns 0, or -1 if its token was already seen
 *  or already released (b is left with the caller). */
int sx_reorder_put(sx_reorder *ro, sx_batch *b);
/** The batch of the next token if it has arrived (ownership to the
 *  caller), else NULL. */
sx_batch *sx_reorder_take(sx_reorder *ro);
/** Number of batches held. */
size_t sx_reorder_held(const sx_reorder *ro);
/** The token the buffer waits for next. */
uint64_t sx_reorder_next(const sx_reorder *ro);

#endif
