/*
 * tuple.c -- tuples: a relation name and an owned array of values.
 *
 * The relation name is a shared string blob, so copying a tuple (fan-out
 * to several components) adds references instead of copying names or
 * attribute bytes; only the value array itself is duplicated.
 *
 * Invariants: t->vals holds t->n owned values; a cleared tuple has
 * relation == NULL, n == 0 and vals == NULL, and reads as relation "".
 */
#include "proto/tuple.h"

#include <string.h>

#include "proto/alloc.h"

/** Makes t a tuple of n SX_NULL values, taking over the reference rel. */
static void tuple_make(sx_tuple *t, sx_blob *rel, uint32_t n)
{
    t->relation = rel;
    t->n = n;
    /* calloc: all-zero bytes are SX_NULL values. */
    t->vals = sx_calloc(n, sizeof(sx_value));
}

void sx_tuple_init(sx_tuple *t, const char *relation, uint32_t n)
{
    tuple_make(t, sx_blob_new(relation, strlen(relation)), n);
}

void sx_tuple_init_blob(sx_tuple *t, sx_blob *relation, uint32_t n)
{
    tuple_make(t, relation ? sx_blob_ref(relation) : NULL, n);
}

void sx_tuple_copy(sx_tuple *dst, const sx_tuple *src)
{
    sx_tuple_init_blob(dst, src->relation, src->n);
    for (uint32_t i = 0; i < src->n; i++)
        dst->vals[i] = sx_value_copy(&src->vals[i]);
}

void sx_tuple_clear(sx_tuple *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        sx_value_release(&t->vals[i]);
    free(t->vals);
    sx_blob_release(&t->relation);
    t->vals = NULL;
    t->n = 0;
}

bool sx_tuple_is(const sx_tuple *t, const char *name)
{
    size_t len = strlen(name);
    size_t have = t->relation ? t->relation->len : 0;
    return have == len && (len == 0 || memcmp(t->relation->data, name, len) == 0);
}

const char *sx_tuple_relation(const sx_tuple *t)
{
    return t->relation ? (const char *)t->relation->data : "";
}

bool sx_tuple_equal(const sx_tuple *a, const sx_tuple *b)
{
    if (a->n != b->n || !sx_blob_equal(a->relation, b->relation))
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (!sx_value_equal(&a->vals[i], &b->vals[i]))
            return false;
    return true;
}

int sx_tuple_print(FILE *f, const sx_tuple *t)
{
    size_t len = t->relation ? t->relation->len : 0;
    if (len && fwrite(t->relation->data, 1, len, f) != len)
        return -1;
    if (fputc('(', f) == EOF)
        return -1;
    for (uint32_t i = 0; i < t->n; i++) {
        if (i > 0 && fputs(", ", f) == EOF)
            return -1;
        if (sx_value_print(f, &t->vals[i]) < 0)
            return -1;
    }
    return fputc(')', f) == EOF ? -1 : 0;
}
