/*
 * codec.c -- batches to and from their protobuf-c wire form.
 *
 * Encoding builds a protobuf-c message tree whose nodes live in one arena
 * (freed in one go) and whose byte fields point straight at the blobs, so
 * no attribute bytes are copied before packing.
 *
 * Decoding treats its input as hostile and runs in three steps:
 *   1. a size cap (SX_CODEC_MAX_BYTES);
 *   2. scan_message(): our own walk of the wire format, knowing which
 *      fields hold which message, that rejects truncated or malformed
 *      varints, lengths and wire types and lists/records nested deeper
 *      than SX_CODEC_MAX_DEPTH -- before protobuf-c's unpack, which
 *      recurses once per nesting level and could exhaust the stack;
 *   3. protobuf-c's unpack, then a conversion that checks what protobuf
 *      cannot: every value has a type, IPs are 4 or 16 bytes, records
 *      have as many names as values.
 * Every error names what was wrong and where; every path frees what it
 * allocated.
 *
 * The scan also caps the number of length-delimited elements (values,
 * tuples, strings) at SX_CODEC_MAX_ELEMENTS: protobuf-c spends about 50
 * bytes on each, and one can be 2 bytes on the wire, so without the cap a
 * hostile batch at the byte cap could cost ~1.5 GiB to decode; with it,
 * about 100 MiB at most.
 */
#include "proto/codec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/tuple.pb-c.h"

/* Room for a value's location ("value 2 of tuple 0, field 1, item 3").
 * Past WHERE_CUT characters a path ends in ", ..." so that a message
 * about a deep value still fits and still names its tuple and value. */
#define WHERE_MAX 160
#define WHERE_CUT 100

/** Writes a printf-style message to err (if any) and returns -1. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/** Names item i of the list or record at parent: "<parent>, item i" or
 *  "<parent>, field i" (or "<parent>, ..." once the path is long). */
static void where_child(char *dst, const char *parent, bool record, size_t i)
{
    size_t n = strlen(parent);
    if (n >= WHERE_CUT && strcmp(parent + n - 3, "...") == 0)
        snprintf(dst, WHERE_MAX, "%s", parent);
    else if (n >= WHERE_CUT)
        snprintf(dst, WHERE_MAX, "%s, ...", parent); /* parent < WHERE_CUT + 20 */
    else
        snprintf(dst, WHERE_MAX, "%s, %s %zu", parent, record ? "field" : "item", i);
}

/** Names value i of tuple t: "value i of tuple t". */
static void where_top(char *dst, size_t t, size_t i)
{
    snprintf(dst, WHERE_MAX, "value %zu of tuple %zu", i, t);
}

/* ======================= encoding ======================= */

/* A bump allocator for the message tree of one encode call. */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap; /* in bytes of data */
    max_align_t data[];
} arena_chunk;

typedef struct arena {
    arena_chunk *head;
} arena;

#define ARENA_CHUNK_BYTES (64u * 1024u)

/** Returns size zeroed bytes from a, aligned for any type; never NULL. */
static void *arena_alloc(arena *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > ARENA_CHUNK_BYTES ? size : ARENA_CHUNK_BYTES;
        c = sx_malloc(sizeof *c + cap);
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = (unsigned char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

/** Frees every chunk of a. */
static void arena_free(arena *a)
{
    while (a->head) {
        arena_chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/** Points a protobuf byte field at a blob's bytes (NULL: empty). */
static ProtobufCBinaryData blob_field(const sx_blob *b)
{
    ProtobufCBinaryData d = {0, NULL};
    if (b && b->len) {
        d.len = b->len;
        d.data = (uint8_t *)b->data;
    }
    return d;
}

/** n Value messages in a, and an array of pointers to them. */
static Sx__Value **encode_alloc_values(arena *a, size_t n)
{
    Sx__Value **ptrs = arena_alloc(a, n * sizeof *ptrs);
    Sx__Value *nodes = arena_alloc(a, n * sizeof *nodes);
    for (size_t i = 0; i < n; i++) {
        sx__value__init(&nodes[i]);
        ptrs[i] = &nodes[i];
    }
    return ptrs;
}

static int encode_value(arena *a, const sx_value *v, Sx__Value *out, const char *where,
                        unsigned depth, char *err, size_t errlen);

/** Fills out (a List or Record message) from the list or record at v. */
static int encode_list(arena *a, const sx_value *v, Sx__Value *out, const char *where,
                       unsigned depth, char *err, size_t errlen)
{
    const sx_list *l = v->u.list;
    bool record = v->kind == SX_RECORD;
    if (depth + 1 > SX_CODEC_MAX_DEPTH)
        return fail(err, errlen, "%s: lists and records nested deeper than %d", where,
                    SX_CODEC_MAX_DEPTH);
    Sx__Value **items = encode_alloc_values(a, l->n);
    if (record) {
        Sx__Record *r = arena_alloc(a, sizeof *r);
        sx__record__init(r);
        r->n_names = r->n_values = l->n;
        r->names = arena_alloc(a, l->n * sizeof *r->names);
        r->values = items;
        for (uint32_t i = 0; i < l->n; i++)
            r->names[i] = blob_field(l->names[i]);
        out->kind_case = SX__VALUE__KIND_RECORD;
        out->record = r;
    } else {
        Sx__List *pl = arena_alloc(a, sizeof *pl);
        sx__list__init(pl);
        pl->n_items = l->n;
        pl->items = items;
        out->kind_case = SX__VALUE__KIND_LIST;
        out->list = pl;
    }
    for (uint32_t i = 0; i < l->n; i++) {
        char child[WHERE_MAX];
        where_child(child, where, record, i);
        if (encode_value(a, &l->items[i], items[i], child, depth + 1, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/** Fills out from v, which sits inside depth lists/records. */
static int encode_value(arena *a, const sx_value *v, Sx__Value *out, const char *where,
                        unsigned depth, char *err, size_t errlen)
{
    switch ((sx_kind)v->kind) {
    case SX_NULL:
        out->kind_case = SX__VALUE__KIND_NULL;
        out->null = 1;
        return 0;
    case SX_INT:
        out->kind_case = SX__VALUE__KIND_INT;
        out->int_ = v->u.i;
        return 0;
    case SX_FLOAT:
        out->kind_case = SX__VALUE__KIND_FLOAT;
        out->float_ = v->u.f;
        return 0;
    case SX_BOOL:
        out->kind_case = SX__VALUE__KIND_BOOL;
        out->bool_ = v->u.b;
        return 0;
    case SX_STR:
        out->kind_case = SX__VALUE__KIND_STR;
        out->str = blob_field(v->u.blob);
        return 0;
    case SX_BYTES:
        out->kind_case = SX__VALUE__KIND_BYTES;
        out->bytes = blob_field(v->u.blob);
        return 0;
    case SX_IP:
        if (v->u.ip.family != 4 && v->u.ip.family != 6)
            return fail(err, errlen, "%s: IP address of family %u (not 4 or 6)", where,
                        v->u.ip.family);
        out->kind_case = SX__VALUE__KIND_IP;
        out->ip.len = v->u.ip.family == 4 ? 4 : 16;
        out->ip.data = (uint8_t *)v->u.ip.addr;
        return 0;
    case SX_LIST:
    case SX_RECORD:
        return encode_list(a, v, out, where, depth, err, errlen);
    }
    return fail(err, errlen, "%s: unknown value kind %u", where, v->kind);
}

/** Fills out from tuple t (index ti of its batch). */
static int encode_tuple(arena *a, const sx_tuple *t, size_t ti, Sx__Tuple *out, char *err,
                        size_t errlen)
{
    sx__tuple__init(out);
    out->relation = blob_field(t->relation);
    out->n_values = t->n;
    out->values = encode_alloc_values(a, t->n);
    for (uint32_t i = 0; i < t->n; i++) {
        char where[WHERE_MAX];
        where_top(where, ti, i);
        if (encode_value(a, &t->vals[i], out->values[i], where, 0, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/** Fills out (header and tuples) from b; nodes are allocated in a. */
static int encode_batch(arena *a, const sx_batch *b, Sx__Batch *out, char *err, size_t errlen)
{
    sx__batch__init(out);
    out->pipeline = b->pipeline;
    out->token = b->token;
    out->target = b->target;
    out->origin = blob_field(b->origin);
    out->flags = b->flags;
    out->time_ns = b->time_ns;
    out->origin_token = b->origin_token;
    out->n_tuples = b->n;
    out->tuples = arena_alloc(a, b->n * sizeof *out->tuples);
    Sx__Tuple *nodes = arena_alloc(a, b->n * sizeof *nodes);
    for (uint32_t i = 0; i < b->n; i++) {
        out->tuples[i] = &nodes[i];
        if (encode_tuple(a, &b->tuples[i], i, &nodes[i], err, errlen) < 0)
            return -1;
    }
    return 0;
}

int sx_codec_encode(const sx_batch *b, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    arena a = {NULL};
    Sx__Batch pb;
    int rc = -1;
    *out = NULL;
    *len = 0;
    if (encode_batch(&a, b, &pb, err, errlen) == 0) {
        size_t size = sx__batch__get_packed_size(&pb);
        if (size > SX_CODEC_MAX_BYTES) {
            fail(err, errlen, "encoded batch of token %" PRIu64 " is %zu bytes, above the "
                 "cap of %u bytes", b->token, size, SX_CODEC_MAX_BYTES);
        } else {
            *out = sx_malloc(size);
            *len = sx__batch__pack(&pb, *out);
            rc = 0;
        }
    }
    arena_free(&a);
    return rc;
}

/* ======================= the wire scanner ======================= */

/* The messages of tuple.proto, as far as the scanner must know them. */
typedef enum msg_type { MSG_BATCH, MSG_TUPLE, MSG_VALUE, MSG_LIST, MSG_RECORD, MSG_NONE } msg_type;

static const char *const msg_names[] = {"Batch", "Tuple", "Value", "List", "Record"};

/* Protobuf wire types. */
enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

#define MAX_FIELD_NUMBER ((1u << 29) - 1)

/** Which message field `field` of a `type` message holds (MSG_NONE: a
 *  scalar, bytes, or a field we do not know and protobuf-c keeps opaque). */
static msg_type submessage_of(msg_type type, uint64_t field)
{
    switch (type) {
    case MSG_BATCH:
        return field == 7 ? MSG_TUPLE : MSG_NONE;
    case MSG_TUPLE:
        return field == 2 ? MSG_VALUE : MSG_NONE;
    case MSG_VALUE:
        return field == 7 ? MSG_LIST : field == 8 ? MSG_RECORD : MSG_NONE;
    case MSG_LIST:
        return field == 1 ? MSG_VALUE : MSG_NONE;
    case MSG_RECORD:
        return field == 2 ? MSG_VALUE : MSG_NONE;
    case MSG_NONE:
        break;
    }
    return MSG_NONE;
}

/** Reads a varint at *pos, before end; advances *pos. Returns -1 if it is
 *  truncated or longer than 10 bytes. */
static int read_varint(const uint8_t *buf, size_t *pos, size_t end, uint64_t *out)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*pos >= end)
            return -1;
        uint8_t byte = buf[(*pos)++];
        x |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            *out = x;
            return 0;
        }
    }
    return -1;
}

/* The read-only state of one scan. */
typedef struct scanner {
    const uint8_t *buf;
    char *err;
    size_t errlen;
    size_t elements; /* length-delimited fields seen: what protobuf-c allocates for */
} scanner;

static int scan_message(scanner *s, size_t pos, size_t end, msg_type type, unsigned depth);

/** Checks the payload at *pos of the field whose tag (at byte `at`) was
 *  just read, and skips it, descending into known sub-messages. */
static int scan_field(scanner *s, size_t *pos, size_t end, msg_type type, uint64_t tag,
                      size_t at, unsigned depth)
{
    uint64_t field = tag >> 3, x;
    unsigned wt = (unsigned)(tag & 7);
    switch (wt) {
    case WT_VARINT:
        if (read_varint(s->buf, pos, end, &x) < 0)
            return fail(s->err, s->errlen, "truncated or overlong varint in field %" PRIu64
                        " of a %s at byte %zu", field, msg_names[type], at);
        return 0;
    case WT_FIXED64:
    case WT_FIXED32: {
        size_t width = wt == WT_FIXED64 ? 8 : 4;
        if (end - *pos < width)
            return fail(s->err, s->errlen, "truncated %zu-byte field %" PRIu64 " of a %s at "
                        "byte %zu", width, field, msg_names[type], at);
        *pos += width;
        return 0;
    }
    case WT_LEN: {
        if (read_varint(s->buf, pos, end, &x) < 0)
            return fail(s->err, s->errlen, "truncated length of field %" PRIu64 " of a %s at "
                        "byte %zu", field, msg_names[type], at);
        if (x > end - *pos)
            return fail(s->err, s->errlen, "truncated: field %" PRIu64 " of a %s at byte %zu "
                        "claims %" PRIu64 " bytes but %zu remain", field, msg_names[type],
                        at, x, end - *pos);
        if (++s->elements > SX_CODEC_MAX_ELEMENTS)
            return fail(s->err, s->errlen, "more than %u values, tuples and strings in one "
                        "batch (at byte %zu)", SX_CODEC_MAX_ELEMENTS, at);
        size_t body = *pos;
        *pos += (size_t)x;
        msg_type sub = submessage_of(type, field);
        if (sub == MSG_NONE)
            return 0;
        unsigned d = depth + (sub == MSG_LIST || sub == MSG_RECORD);
        if (d > SX_CODEC_MAX_DEPTH)
            return fail(s->err, s->errlen, "lists and records nested deeper than %d "
                        "(at byte %zu)", SX_CODEC_MAX_DEPTH, at);
        return scan_message(s, body, *pos, sub, d);
    }
    }
    return fail(s->err, s->errlen, "unsupported wire type %u in field %" PRIu64 " of a %s "
                "at byte %zu", wt, field, msg_names[type], at);
}

/* message -> { tag payload }*   where tag = varint(field << 3 | wire type).
 * Checks buf[pos, end) as a `type` message, inside depth lists/records. */
static int scan_message(scanner *s, size_t pos, size_t end, msg_type type, unsigned depth)
{
    while (pos < end) {
        size_t at = pos;
        uint64_t tag;
        if (read_varint(s->buf, &pos, end, &tag) < 0)
            return fail(s->err, s->errlen, "truncated or overlong field tag in a %s at byte %zu",
                        msg_names[type], at);
        if (tag >> 3 == 0 || tag >> 3 > MAX_FIELD_NUMBER)
            return fail(s->err, s->errlen, "invalid field number %" PRIu64 " in a %s at byte %zu",
                        tag >> 3, msg_names[type], at);
        if (scan_field(s, &pos, end, type, tag, at, depth) < 0)
            return -1;
    }
    return 0;
}

/* ======================= decoding ======================= */

static int decode_value(const Sx__Value *in, sx_value *out, const char *where, unsigned depth,
                        char *err, size_t errlen);

/** Copies a protobuf byte field into a new blob. */
static sx_blob *blob_of(ProtobufCBinaryData d)
{
    return sx_blob_new(d.data, d.len);
}

/** Makes *out a list or record of n items and decodes items[] into it.
 *  A record takes names[i] for item i. On error *out stays a valid
 *  (partly null) value for the caller to release. */
static int decode_items(Sx__Value *const *items, size_t n, bool record,
                        const ProtobufCBinaryData *names, sx_value *out, const char *where,
                        unsigned depth, char *err, size_t errlen)
{
    if (depth + 1 > SX_CODEC_MAX_DEPTH)
        return fail(err, errlen, "%s: lists and records nested deeper than %d", where,
                    SX_CODEC_MAX_DEPTH);
    if (n > UINT32_MAX)
        return fail(err, errlen, "%s has %zu items, more than a list can hold", where, n);
    *out = record ? sx_value_record((uint32_t)n) : sx_value_list((uint32_t)n);
    sx_list *l = out->u.list;
    for (size_t i = 0; i < n; i++) {
        char child[WHERE_MAX];
        if (record)
            l->names[i] = blob_of(names[i]);
        where_child(child, where, record, i);
        if (decode_value(items[i], &l->items[i], child, depth + 1, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/** Converts in to *out, checking its type and shape. On error *out is a
 *  valid value (released by whoever owns its slot). */
static int decode_value(const Sx__Value *in, sx_value *out, const char *where, unsigned depth,
                        char *err, size_t errlen)
{
    switch (in->kind_case) {
    case SX__VALUE__KIND__NOT_SET:
        return fail(err, errlen, "%s has no type", where);
    case SX__VALUE__KIND_NULL:
        *out = sx_value_null();
        return 0;
    case SX__VALUE__KIND_INT:
        *out = sx_value_int(in->int_);
        return 0;
    case SX__VALUE__KIND_FLOAT:
        *out = sx_value_float(in->float_);
        return 0;
    case SX__VALUE__KIND_BOOL:
        *out = sx_value_bool(in->bool_ != 0);
        return 0;
    case SX__VALUE__KIND_STR:
        *out = sx_value_from_blob(SX_STR, blob_of(in->str));
        return 0;
    case SX__VALUE__KIND_BYTES:
        *out = sx_value_from_blob(SX_BYTES, blob_of(in->bytes));
        return 0;
    case SX__VALUE__KIND_IP:
        if (in->ip.len == 4)
            *out = sx_value_ip4(in->ip.data);
        else if (in->ip.len == 16)
            *out = sx_value_ip6(in->ip.data);
        else
            return fail(err, errlen, "%s is an IP address of %zu bytes (must be 4 or 16)",
                        where, in->ip.len);
        return 0;
    case SX__VALUE__KIND_LIST:
        return decode_items(in->list->items, in->list->n_items, false, NULL, out, where,
                            depth, err, errlen);
    case SX__VALUE__KIND_RECORD:
        if (in->record->n_names != in->record->n_values)
            return fail(err, errlen, "%s is a record of %zu names but %zu values", where,
                        in->record->n_names, in->record->n_values);
        return decode_items(in->record->values, in->record->n_values, true, in->record->names,
                            out, where, depth, err, errlen);
    default:
        break;
    }
    return fail(err, errlen, "%s has unknown type %d", where, (int)in->kind_case);
}

/** Appends tuple ti of the message to b and decodes its values. */
static int decode_tuple(const Sx__Tuple *in, size_t ti, sx_batch *b, char *err, size_t errlen)
{
    if (in->n_values > UINT32_MAX)
        return fail(err, errlen, "tuple %zu has %zu values, more than a tuple can hold", ti,
                    in->n_values);
    sx_blob *rel = blob_of(in->relation);
    sx_tuple t;
    sx_tuple_init_blob(&t, rel, (uint32_t)in->n_values);
    sx_blob_release(&rel);
    sx_batch_push(b, &t);
    sx_tuple *dst = &b->tuples[b->n - 1];
    for (size_t i = 0; i < in->n_values; i++) {
        char where[WHERE_MAX];
        where_top(where, ti, i);
        if (decode_value(in->values[i], &dst->vals[i], where, 0, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/** Builds a new batch from an unpacked message; NULL (and err) on error. */
static sx_batch *decode_batch(const Sx__Batch *in, char *err, size_t errlen)
{
    if (in->n_tuples > UINT32_MAX / 2) {
        fail(err, errlen, "batch has %zu tuples, more than a batch can hold", in->n_tuples);
        return NULL;
    }
    sx_batch *b = sx_batch_new(in->token);
    b->pipeline = in->pipeline;
    b->target = in->target;
    b->flags = in->flags;
    b->time_ns = in->time_ns;
    b->origin_token = in->origin_token;
    b->origin = in->origin.len ? blob_of(in->origin) : NULL;
    for (size_t i = 0; i < in->n_tuples; i++) {
        if (decode_tuple(in->tuples[i], i, b, err, errlen) < 0) {
            sx_batch_destroy(&b);
            return NULL;
        }
    }
    return b;
}

int sx_codec_decode(const uint8_t *buf, size_t len, sx_batch **out, char *err, size_t errlen)
{
    *out = NULL;
    if (len > SX_CODEC_MAX_BYTES)
        return fail(err, errlen, "batch of %zu bytes is larger than the cap of %u bytes", len,
                    SX_CODEC_MAX_BYTES);
    if (!buf && len)
        return fail(err, errlen, "no buffer for a batch of %zu bytes", len);
    static const uint8_t empty[1];
    if (!buf)
        buf = empty; /* protobuf-c wants a pointer even for 0 bytes */
    scanner s = {buf, err, errlen, 0};
    if (scan_message(&s, 0, len, MSG_BATCH, 0) < 0)
        return -1;
    Sx__Batch *msg = sx__batch__unpack(NULL, len, buf);
    if (!msg)
        return fail(err, errlen, "malformed batch: protobuf-c could not unpack its %zu bytes",
                    len);
    *out = decode_batch(msg, err, errlen);
    sx__batch__free_unpacked(msg, NULL);
    return *out ? 0 : -1;
}
