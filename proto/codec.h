/*
 * codec.h -- batches to and from their protobuf-c wire form
 * (proto/tuple.proto).
 *
 * Decoding treats its input as hostile: a size cap, a nesting-depth cap
 * checked before protobuf-c recurses, and a check of every value's type
 * and shape. Any violation is an error with a message, never a crash.
 */
#ifndef SX_CODEC_H
#define SX_CODEC_H

#include "batch.h"

/* Largest encoded batch accepted by sx_codec_decode. */
#define SX_CODEC_MAX_BYTES (64u * 1024u * 1024u)
/* Most values, tuples and strings (length-delimited wire elements) one
 * encoded batch may hold; bounds the memory a hostile batch costs. */
#define SX_CODEC_MAX_ELEMENTS (2u * 1024u * 1024u)
/* Deepest nesting of lists/records accepted (a list in a list is 2). */
#define SX_CODEC_MAX_DEPTH 32

/** Encodes b. On success returns 0 and *out is a buffer of *len bytes the
 *  caller frees with free(). On failure returns -1 and writes a message to
 *  err (errlen bytes). */
int sx_codec_encode(const sx_batch *b, uint8_t **out, size_t *len, char *err, size_t errlen);

/** Decodes len bytes. On success returns 0 and *out is a new batch the
 *  caller owns. On failure returns -1, *out is NULL and err says why
 *  (truncated, oversized, too deep, a value without a type, an IP address
 *  of the wrong length, ...). */
int sx_codec_decode(const uint8_t *buf, size_t len, sx_batch **out, char *err, size_t errlen);

#endif
