/*
 * value.h -- the attribute values tuples carry.
 *
 * A value is a small tagged struct passed by value. Strings, byte strings,
 * lists and records point to immutable, reference-counted storage, so
 * copying a value (a packet moving from stage to stage) costs one atomic
 * increment, never a copy of the bytes. Storage is immutable once a value
 * is published (sent to another actor): only its creator may fill it.
 *
 * Every kind here has a wire form in proto/tuple.proto: no raw pointers
 * cross an actor boundary.
 */
#ifndef SX_VALUE_H
#define SX_VALUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum sx_kind {
    SX_NULL = 0,
    SX_INT,
    SX_FLOAT,
    SX_STR,
    SX_BYTES,
    SX_BOOL,
    SX_IP,
    SX_LIST,
    SX_RECORD,
} sx_kind;

/* Immutable, reference-counted byte string. data[len] is always 0, so a
 * string's data can be used as a C string (if it holds no NUL). */
typedef struct sx_blob {
    atomic_uint refs;
    size_t len;
    uint8_t data[];
} sx_blob;

typedef struct sx_list sx_list;

typedef struct sx_value {
    uint8_t kind; /* sx_kind */
    union {
        int64_t i;
        double f;
        bool b;
        sx_blob *blob; /* SX_STR, SX_BYTES */
        sx_list *list; /* SX_LIST, SX_RECORD */
        struct {
            uint8_t family; /* 4 or 6 */
            uint8_t addr[16]; /* network byte order; IPv4 uses addr[0..3] */
        } ip;
    } u;
} sx_value;

/* List or record storage. A record has names[i] naming items[i]; a list
 * has names == NULL. */
struct sx_list {
    atomic_uint refs;
    uint32_t n;
    sx_blob **names;
    sx_value items[];
};

/* ---- blobs ---- */

/** New blob holding a copy of len bytes at data (data may be NULL when
 *  len is 0, or to get zeroed storage to fill before publishing).
 *  The caller owns the one reference. */
sx_blob *sx_blob_new(const void *data, size_t len);
/** Adds a reference; returns b. */
sx_blob *sx_blob_ref(sx_blob *b);
/** Drops a reference (NULL is fine) and nulls the caller's pointer. */
void sx_blob_release(sx_blob **b);
/** True when a and b hold the same bytes; NULL equals an empty blob. */
bool sx_blob_equal(const sx_blob *a, const sx_blob *b);

/* ---- constructors: each returned value owns its storage ---- */

sx_value sx_value_null(void);
sx_value sx_value_int(int64_t i);
sx_value sx_value_float(double f);
sx_value sx_value_bool(bool b);
/** String of len bytes copied from s. */
sx_value sx_value_str(const char *s, size_t len);
/** String copied from a NUL-terminated C string. */
sx_value sx_value_cstr(const char *s);
/** Byte string copied from data. */
sx_value sx_value_bytes(const void *data, size_t len);
/** Takes over one reference of b as a string (kind SX_STR) or bytes. */
sx_value sx_value_from_blob(sx_kind kind, sx_blob *b);
/** IPv4 address; addr is in network byte order (4 bytes). */
sx_value sx_value_ip4(const uint8_t addr[4]);
/** IPv6 address (16 bytes, network byte order). */
sx_value sx_value_ip6(const uint8_t addr[16]);
/** List of n items, all SX_NULL; fill items with sx_value_list_set
 *  before publishing the value. */
sx_value sx_value_list(uint32_t n);
/** Record of n fields with NULL names and SX_NULL items; fill with
 *  sx_value_record_set before publishing. */
sx_value sx_value_record(uint32_t n);
/** Sets item i of a list or record value, taking ownership of item.
 *  For a record, name (copied) names the field; it is ignored for lists. */
void sx_value_list_set(sx_value *v, uint32_t i, const char *name, sx_value item);

/* ---- use ---- */

/** A copy sharing v's storage (one reference more). */
sx_value sx_value_copy(const sx_value *v);
/** Releases v's storage and leaves v as SX_NULL. */
void sx_value_release(sx_value *v);
/** The field named name of record v, or NULL when v is not a record or
 *  has no such field (a linear scan: records are small). The value
 *  stays owned by v. */
const sx_value *sx_value_field(const sx_value *v, const char *name);
/** Deep equality: same kind and same content. Floats compare bitwise, so
 *  a NaN equals itself (what a round trip needs). */
bool sx_value_equal(const sx_value *a, const sx_value *b);
/** The murmur3 64-bit finaliser: a bijection that spreads every input
 *  bit over the whole output (for hashes built from raw fields). */
uint64_t sx_hash_mix(uint64_t x);
/** A 64-bit hash of the content, consistent with sx_value_equal. */
uint64_t sx_value_hash(const sx_value *v);
/** Name of a kind ("int", "string", ...). */
const char *sx_kind_name(sx_kind k);
/** Writes v to f in a stable text form (JSON-like). Per kind:
 *    null    null
 *    int     -12
 *    float   %.17g (1.5, 1, -0, 1e+300); nan, inf and -inf spelled so
 *    string  "a\"b\n": JSON escapes (\" \\ \n \r \t \b \f, \u00XX for
 *            other control bytes); valid UTF-8 is kept, any other byte
 *            >= 0x80 is written \xHH
 *    bytes   0x00ff10 (lower-case hex; empty is 0x)
 *    bool    true / false
 *    ip      10.0.0.1 / 2001:db8::1 (inet_ntop, unquoted)
 *    list    [1, "a"]  (empty: [])
 *    record  {"name": 1, "x": null}  (names escaped as strings; empty: {})
 *  Returns 0, or -1 on an output error. */
int sx_value_print(FILE *f, const sx_value *v);

#endif
