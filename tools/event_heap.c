/*
 * event_heap.c -- the generators' event schedule (event_heap.h).
 */
#include "tools/event_heap.h"

#include <stdbool.h>
#include <stdlib.h>

#include "proto/alloc.h"

/** True when event a is due before b. */
static bool earlier(const sx_event *a, const sx_event *b)
{
    return a->at_us < b->at_us || (a->at_us == b->at_us && a->order < b->order);
}

void sx_event_heap_push(sx_event_heap *h, uint64_t at_us, uint32_t slot)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->e = sx_realloc(h->e, (size_t)h->cap * sizeof *h->e);
    }
    sx_event e = {.at_us = at_us, .order = h->order++, .slot = slot};
    uint32_t i = h->n++;
    while (i > 0 && earlier(&e, &h->e[(i - 1) / 2])) {
        h->e[i] = h->e[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->e[i] = e;
}

sx_event sx_event_heap_pop(sx_event_heap *h)
{
    sx_event top = h->e[0], last = h->e[--h->n];
    uint32_t i = 0, n = h->n;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && earlier(&h->e[child + 1], &h->e[child]))
            child++;
        if (!earlier(&h->e[child], &last))
            break;
        h->e[i] = h->e[child];
        i = child;
    }
    if (n)
        h->e[i] = last;
    return top;
}

void sx_event_heap_free(sx_event_heap *h)
{
    free(h->e);
    *h = (sx_event_heap){0};
}
