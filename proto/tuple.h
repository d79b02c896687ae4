/*
 * tuple.h -- a tuple: a relation name and its attribute values.
 *
 * vals[0] is the location specifier (@N); the context key index i of
 * ANALOG's context_keys(rel(i)) names vals[i - 1]. A tuple owns its
 * values and its relation name reference.
 */
#ifndef SX_TUPLE_H
#define SX_TUPLE_H

#include "value.h"

typedef struct sx_tuple {
    sx_blob *relation; /* a string blob */
    uint32_t n;
    sx_value *vals;
} sx_tuple;

/** Makes t a tuple of relation with n SX_NULL values. */
void sx_tuple_init(sx_tuple *t, const char *relation, uint32_t n);
/** Same, sharing an existing relation blob (one reference is added). */
void sx_tuple_init_blob(sx_tuple *t, sx_blob *relation, uint32_t n);
/** Makes dst a copy of src sharing its storage. */
void sx_tuple_copy(sx_tuple *dst, const sx_tuple *src);
/** Releases everything t owns; t becomes an empty tuple. */
void sx_tuple_clear(sx_tuple *t);
/** True when the relation name equals name. */
bool sx_tuple_is(const sx_tuple *t, const char *name);
/** Relation name as a C string. */
const char *sx_tuple_relation(const sx_tuple *t);
/** Deep equality of relation and values. */
bool sx_tuple_equal(const sx_tuple *a, const sx_tuple *b);
/** Writes "relation(v1, v2, ...)" to f. Returns 0, or -1 on an error. */
int sx_tuple_print(FILE *f, const sx_tuple *t);

#endif
