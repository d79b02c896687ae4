/*
 * alloc.h -- allocation that never returns NULL.
 *
 * Scalanytics treats running out of memory as fatal (as Redis' zmalloc
 * does): every table has a cap, so exhausting memory means a bug or a
 * machine far too small, and limping on would lose tuples silently.
 * These wrappers print one line and abort instead of returning NULL.
 */
#ifndef SX_ALLOC_H
#define SX_ALLOC_H

#include <stdio.h>
#include <stdlib.h>

/** Prints the failed request size and aborts; never returns. */
static inline void sx_alloc_fail(size_t size)
{
    fprintf(stderr, "scalanytics: out of memory allocating %zu bytes\n", size);
    abort();
}

/** malloc() that aborts on failure. The caller owns the block. */
static inline void *sx_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        sx_alloc_fail(size);
    return p;
}

/** calloc() that aborts on failure. The caller owns the block. */
static inline void *sx_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        sx_alloc_fail(n * size);
    return p;
}

/** realloc() that aborts on failure. */
static inline void *sx_realloc(void *old, size_t size)
{
    void *p = realloc(old, size ? size : 1);
    if (!p)
        sx_alloc_fail(size);
    return p;
}

#endif
