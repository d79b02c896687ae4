/*
 * event_heap.h -- the generators' schedule: a binary min-heap of events
 * (a slot's next step is due at a time), earliest first, ties in the
 * order pushed, so a trace is the same however the heap is laid out.
 *
 * The heap owns its array and grows it as needed. Not thread-safe.
 */
#ifndef SX_TOOLS_EVENT_HEAP_H
#define SX_TOOLS_EVENT_HEAP_H

#include <stdint.h>

typedef struct sx_event {
    uint64_t at_us, order; /* due time; pushes before it (breaks ties) */
    uint32_t slot;         /* the caller's: whose event it is */
} sx_event;

typedef struct sx_event_heap {
    sx_event *e;
    uint32_t n, cap;
    uint64_t order; /* pushes so far */
} sx_event_heap;

/** Queues slot's event at at_us (zero-initialise h before the first). */
void sx_event_heap_push(sx_event_heap *h, uint64_t at_us, uint32_t slot);
/** Takes the earliest event off h, which must not be empty (h->n > 0). */
sx_event sx_event_heap_pop(sx_event_heap *h);
/** Frees h's array and empties it. */
void sx_event_heap_free(sx_event_heap *h);

#endif
