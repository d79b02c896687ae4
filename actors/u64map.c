/*
 * u64map.c -- open addressing, linear probing, backward-shift deletion.
 */
#include "u64map.h"

#include <stdlib.h>

#include "proto/alloc.h"
#include "proto/value.h"

/** The home slot of key in a table of cap slots. */
static size_t home(uint64_t key, size_t cap) { return (size_t)sx_hash_mix(key) & (cap - 1); }

/** Inserts without growing; the table has a free slot. */
static void place(sx_u64map *m, uint64_t key, void *val)
{
    size_t i = home(key, m->cap);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
}

/** Doubles the table (or makes the first one). */
static void grow(sx_u64map *m)
{
    sx_u64map old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->keys = sx_calloc(m->cap, sizeof *m->keys);
    m->vals = sx_calloc(m->cap, sizeof *m->vals);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            place(m, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
}

/** Slot of key, or cap when absent. */
static size_t find(const sx_u64map *m, uint64_t key)
{
    if (m->cap == 0 || key == 0)
        return m->cap;
    for (size_t i = home(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return i;
        if (!m->keys[i])
            return m->cap;
    }
}

void *sx_u64map_get(const sx_u64map *m, uint64_t key)
{
    size_t i = find(m, key);
    return i < m->cap ? m->vals[i] : NULL;
}

void sx_u64map_put(sx_u64map *m, uint64_t key, void *val)
{
    if ((m->n + 1) * 10 > m->cap * 7)
        grow(m);
    place(m, key, val);
}

void *sx_u64map_remove(sx_u64map *m, uint64_t key)
{
    size_t i = find(m, key);
    if (i == m->cap)
        return NULL;
    void *val = m->vals[i];
    size_t mask = m->cap - 1;
    /* shift back every later entry of the run that may move into i */
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t h = home(m->keys[j], m->cap);
        if (((j - h) & mask) >= ((j - i) & mask)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    m->n--;
    return val;
}

void sx_u64map_each(const sx_u64map *m, void (*fn)(void *arg, uint64_t key, void *val), void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            fn(arg, m->keys[i], m->vals[i]);
}

void sx_u64map_clear(sx_u64map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}
