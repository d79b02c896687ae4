/*
 * reorder.c -- a ring of batches indexed by token.
 *
 * The dispenser keeps every in-flight token within a window of W numbers
 * (actors/tokens.h), so a ring of W slots indexed by token & (W - 1)
 * holds all that can be waiting; slot i holds at most one batch. If a
 * token ever arrives W or more ahead (a peer with a bigger window), the
 * ring doubles rather than drop it.
 */
#include "reorder.h"

#include "proto/alloc.h"

struct sx_reorder {
    uint64_t next;
    uint64_t size; /* power of two */
    size_t held;
    sx_batch **slot;
};

sx_reorder *sx_reorder_new(uint64_t first_token, uint64_t window)
{
    sx_reorder *ro = sx_calloc(1, sizeof *ro);
    ro->next = first_token;
    ro->size = 16;
    while (ro->size < window)
        ro->size <<= 1;
    ro->slot = sx_calloc(ro->size, sizeof *ro->slot);
    return ro;
}

void sx_reorder_destroy(sx_reorder **rop)
{
    sx_reorder *ro = *rop;
    if (!ro)
        return;
    for (uint64_t i = 0; i < ro->size; i++)
        sx_batch_destroy(&ro->slot[i]);
    free(ro->slot);
    free(ro);
    *rop = NULL;
}

/** Doubles the ring until token fits, re-slotting what is held. */
static void grow(sx_reorder *ro, uint64_t token)
{
    uint64_t size = ro->size;
    while (token - ro->next >= size)
        size <<= 1;
    sx_batch **slot = sx_calloc(size, sizeof *slot);
    for (uint64_t i = 0; i < ro->size; i++)
        if (ro->slot[i])
            slot[ro->slot[i]->token & (size - 1)] = ro->slot[i];
    free(ro->slot);
    ro->slot = slot;
    ro->size = size;
}

int sx_reorder_put(sx_reorder *ro, sx_batch *b)
{
    if (b->token < ro->next)
        return -1;
    if (b->token - ro->next >= ro->size)
        grow(ro, b->token);
    sx_batch **s = &ro->slot[b->token & (ro->size - 1)];
    if (*s)
        return -1;
    *s = b;
    ro->held++;
    return 0;
}

sx_batch *sx_reorder_take(sx_reorder *ro)
{
    sx_batch **s = &ro->slot[ro->next & (ro->size - 1)];
    sx_batch *b = *s;
    if (!b)
        return NULL;
    *s = NULL;
    ro->held--;
    ro->next++;
    return b;
}

size_t sx_reorder_held(const sx_reorder *ro) { return ro->held; }
uint64_t sx_reorder_next(const sx_reorder *ro) { return ro->next; }
