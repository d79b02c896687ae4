/*
 * u64map.h -- a map from non-zero 64-bit keys to pointers.
 *
 * Open addressing with linear probing and backward-shift deletion; it
 * grows at 70% load. Single-threaded: its owner serializes access. The
 * map never owns what the pointers point to.
 */
#ifndef SX_U64MAP_H
#define SX_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sx_u64map {
    uint64_t *keys; /* 0 = empty slot */
    void **vals;
    size_t cap;     /* a power of two, or 0 before the first put */
    size_t n;
} sx_u64map;

/** The value of key (non-zero), or NULL when absent. */
void *sx_u64map_get(const sx_u64map *m, uint64_t key);
/** Sets key (non-zero) to val (not NULL), replacing any value. */
void sx_u64map_put(sx_u64map *m, uint64_t key, void *val);
/** Removes key; returns its value, or NULL when it was absent. */
void *sx_u64map_remove(sx_u64map *m, uint64_t key);
/** Calls fn on every entry, in no particular order. fn must not change
 *  the map. */
void sx_u64map_each(const sx_u64map *m, void (*fn)(void *arg, uint64_t key, void *val), void *arg);
/** Frees the map's own storage (not the values); the map is left empty. */
void sx_u64map_clear(sx_u64map *m);

#endif
