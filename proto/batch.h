/*
 * batch.h -- the unit that moves between actors: one token's tuples.
 *
 * Every component emits exactly one batch per token (possibly empty), so
 * a batch is the message an inbox carries. Locally a batch travels by
 * reference (the pointer is the message; ownership goes with it); across
 * hosts, or with forced encoding, proto/codec.h serialises it.
 */
#ifndef SX_BATCH_H
#define SX_BATCH_H

#include <stdatomic.h>

#include "tuple.h"

/* flags */
enum {
    SX_BATCH_HEARTBEAT = 1u << 0, /* carries packet time only; visits all */
    SX_BATCH_EOF = 1u << 1,       /* end of input: the final heartbeat */
};

typedef struct sx_batch {
    uint32_t pipeline; /* pipeline id */
    uint32_t target;   /* index of the component that is to receive it */
    uint64_t token;    /* the token of the input that caused it */
    uint32_t flags;
    int64_t time_ns;  /* packet time of the causing input */
    sx_blob *origin;  /* node that admitted the token; NULL = local */
    uint64_t origin_token; /* the token there; 0 = local (same as token) */
    uint32_t n, cap;
    sx_tuple *tuples;
    /* Reserved for the runtime (intrusive queue link, join record);
     * never encoded, never touched by behaviours. */
    _Atomic(struct sx_batch *) rt_next;
    void *rt_ctx;
} sx_batch;

/** New empty batch for token. The caller owns it. */
sx_batch *sx_batch_new(uint64_t token);
/** Frees b and everything it owns; nulls the caller's pointer. */
void sx_batch_destroy(sx_batch **b);
/** Appends a tuple of relation with n SX_NULL values and returns it for
 *  the caller to fill. The pointer is valid until the next append. */
sx_tuple *sx_batch_add(sx_batch *b, const char *relation, uint32_t n);
/** Appends t, taking over what it owns (t is left empty). */
void sx_batch_push(sx_batch *b, sx_tuple *t);
/** Copies the header fields (pipeline, target, token, flags, time,
 *  origin) of src into dst; tuples are untouched. */
void sx_batch_copy_header(sx_batch *dst, const sx_batch *src);
/** Deep equality of header fields and tuples (the runtime fields are
 *  ignored). */
bool sx_batch_equal(const sx_batch *a, const sx_batch *b);

#endif
