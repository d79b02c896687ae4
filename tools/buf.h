/*
 * buf.h -- a growable byte buffer for the trace generators.
 *
 * Grows by doubling and never shrinks, so a buffer reused for every mail
 * stops allocating once it has seen the largest. Allocation failure
 * aborts (proto/alloc.h). The owner frees it with sx_buf_free.
 */
#ifndef SX_TOOLS_BUF_H
#define SX_TOOLS_BUF_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/alloc.h"

typedef struct sx_buf {
    uint8_t *p;
    size_t len, cap;
} sx_buf;

/** Grows b so that n more bytes fit; returns where they go. */
static inline uint8_t *sx_buf_reserve(sx_buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = sx_realloc(b->p, cap);
        b->cap = cap;
    }
    return b->p + b->len;
}

/** Appends n bytes. */
static inline void sx_buf_put(sx_buf *b, const void *p, size_t n)
{
    memcpy(sx_buf_reserve(b, n), p, n);
    b->len += n;
}

/** Appends a NUL-terminated string (without the NUL). */
static inline void sx_buf_puts(sx_buf *b, const char *s)
{
    sx_buf_put(b, s, strlen(s));
}

/** Appends printf-formatted text (without the NUL). */
static inline void sx_buf_printf(sx_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void sx_buf_printf(sx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = vsnprintf(room ? (char *)b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= room) {
        sx_buf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/** Frees the bytes and empties b. */
static inline void sx_buf_free(sx_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

#endif
