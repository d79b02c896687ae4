/*
 * test_proto.c -- tests of proto/: values, tuples, batches and the codec.
 *
 * Reads as the usage example of the data model: build values and batches
 * through the public API, round-trip them through sx_codec_encode/decode,
 * and feed the decoder hostile bytes (truncations, random flips, a huge
 * length, 1000-deep nesting and hand-made wire messages that protobuf
 * accepts but Scalanytics must not). Run it under ASan/UBSan and TSan:
 * a leak, a double free or a data race fails it as surely as a CHECK.
 *
 * Exit status 0 when every check passes; otherwise the first failed check
 * is printed and the status is 1.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"
#include "proto/codec.h"

/* Prints the failed condition and makes the enclosing test return 1. */
#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

/* Like CHECK for a decode or encode that must fail with a message
 * containing want. */
#define CHECK_ERR(rc, err, want)                                                         \
    do {                                                                                 \
        if ((rc) == 0 || !strstr((err), (want))) {                                      \
            fprintf(stderr, "%s:%d: expected an error containing \"%s\", got rc %d: "    \
                    "\"%s\"\n", __FILE__, __LINE__, (want), (rc), (err));                \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

/* ---- helpers ---- */

/** Encodes b and decodes the result into *out; returns the codec status. */
static int round_trip(const sx_batch *b, sx_batch **out, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    *out = NULL;
    if (sx_codec_encode(b, &buf, &len, err, errlen) < 0)
        return -1;
    int rc = sx_codec_decode(buf, len, out, err, errlen);
    free(buf);
    return rc;
}

/** A list [1, "two", null]. */
static sx_value small_list(void)
{
    sx_value l = sx_value_list(3);
    sx_value_list_set(&l, 0, NULL, sx_value_int(1));
    sx_value_list_set(&l, 1, NULL, sx_value_cstr("two"));
    sx_value_list_set(&l, 2, NULL, sx_value_null());
    return l;
}

/** A record {"src": 10.0.0.1, "ports": [1, "two", null], "ok": true}. */
static sx_value small_record(void)
{
    static const uint8_t ip[4] = {10, 0, 0, 1};
    sx_value r = sx_value_record(3);
    sx_value_list_set(&r, 0, "src", sx_value_ip4(ip));
    sx_value_list_set(&r, 1, "ports", small_list());
    sx_value_list_set(&r, 2, "ok", sx_value_bool(true));
    return r;
}

/** A value nested depth lists deep around an int (depth 0: the int). */
static sx_value nested(unsigned depth)
{
    sx_value v = sx_value_int(7);
    for (unsigned i = 0; i < depth; i++) {
        sx_value l = sx_value_list(1);
        sx_value_list_set(&l, 0, NULL, v);
        v = l;
    }
    return v;
}

/** A batch holding one value of every kind and edge case, header set. */
static sx_batch *rich_batch(void)
{
    static const uint8_t ip4[4] = {192, 168, 1, 254};
    static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const char binary[] = {'a', 0, 'b', (char)0xff, 0};
    sx_batch *b = sx_batch_new(0x123456789abcdefull);
    b->pipeline = 3;
    b->target = 9;
    b->flags = SX_BATCH_HEARTBEAT;
    b->time_ns = -1234567890123ll;
    b->origin = sx_blob_new("node-a", 6);

    sx_tuple *t = sx_batch_add(b, "ints", 5);
    t->vals[0] = sx_value_int(0);
    t->vals[1] = sx_value_int(INT64_MIN);
    t->vals[2] = sx_value_int(INT64_MAX);
    t->vals[3] = sx_value_int(-1);
    t->vals[4] = sx_value_int(300);

    t = sx_batch_add(b, "floats", 6);
    t->vals[0] = sx_value_float(1.5);
    t->vals[1] = sx_value_float(NAN);
    t->vals[2] = sx_value_float(-0.0);
    t->vals[3] = sx_value_float(INFINITY);
    t->vals[4] = sx_value_float(-INFINITY);
    t->vals[5] = sx_value_float(0.0);

    t = sx_batch_add(b, "blobs", 5);
    t->vals[0] = sx_value_str("", 0);
    t->vals[1] = sx_value_str(binary, sizeof binary);
    t->vals[2] = sx_value_bytes(binary, sizeof binary);
    t->vals[3] = sx_value_bytes(NULL, 0);
    t->vals[4] = sx_value_cstr("h\xc3\xa9llo");

    t = sx_batch_add(b, "misc", 6);
    t->vals[0] = sx_value_bool(true);
    t->vals[1] = sx_value_bool(false);
    t->vals[2] = sx_value_ip4(ip4);
    t->vals[3] = sx_value_ip6(ip6);
    t->vals[4] = sx_value_null();
    t->vals[5] = sx_value_list(0);

    t = sx_batch_add(b, "nested", 4);
    t->vals[0] = small_list();
    t->vals[1] = small_record();
    t->vals[2] = sx_value_record(0);
    t->vals[3] = nested(SX_CODEC_MAX_DEPTH);

    sx_batch_add(b, "empty", 0);
    return b;
}

/** Encodes the rich batch; the caller frees *buf. */
static int rich_encoding(uint8_t **buf, size_t *len)
{
    char err[256] = "";
    sx_batch *b = rich_batch();
    int rc = sx_codec_encode(b, buf, len, err, sizeof err);
    sx_batch_destroy(&b);
    if (rc < 0)
        fprintf(stderr, "encode failed: %s\n", err);
    return rc;
}

/** Returns the text sx_value_print writes for v (caller frees). */
static char *printed(const sx_value *v)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return NULL;
    int rc = sx_value_print(f, v);
    if (fclose(f) != 0 || rc < 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* A growable buffer for writing protobuf wire bytes by hand. */
typedef struct wire {
    uint8_t *p;
    size_t n, cap;
} wire;

/** Appends one byte. */
static void w_byte(wire *w, uint8_t byte)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->p = sx_realloc(w->p, w->cap);
    }
    w->p[w->n++] = byte;
}

/** Appends a varint. */
static void w_varint(wire *w, uint64_t x)
{
    while (x >= 0x80) {
        w_byte(w, (uint8_t)(x | 0x80));
        x >>= 7;
    }
    w_byte(w, (uint8_t)x);
}

/** Appends a length-delimited field holding n bytes at data. */
static void w_len(wire *w, unsigned field, const void *data, size_t n)
{
    w_varint(w, (uint64_t)field << 3 | 2);
    w_varint(w, n);
    for (size_t i = 0; i < n; i++)
        w_byte(w, ((const uint8_t *)data)[i]);
}

/** Appends a length-delimited field holding sub's bytes, and frees sub. */
static void w_sub(wire *w, unsigned field, wire *sub)
{
    w_len(w, field, sub->p, sub->n);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}

/** Decodes a batch of one tuple of relation "t" whose value fields are
 *  the bytes in *tuple; frees (and empties) *tuple. */
static int decode_tuple_wire(wire *tuple, sx_batch **out, char *err, size_t errlen)
{
    wire batch = {0};
    wire full = {0};
    w_len(&full, 1, "t", 1);
    for (size_t i = 0; i < tuple->n; i++)
        w_byte(&full, tuple->p[i]);
    free(tuple->p);
    memset(tuple, 0, sizeof *tuple);
    w_sub(&batch, 7, &full);
    int rc = sx_codec_decode(batch.p, batch.n, out, err, errlen);
    free(batch.p);
    return rc;
}

/* ---- values ---- */

/** Every kind survives encode/decode, bit for bit. */
static int test_round_trip_kinds(void)
{
    char err[256] = "";
    sx_batch *b = rich_batch(), *d;
    CHECK(round_trip(b, &d, err, sizeof err) == 0);
    CHECK(sx_batch_equal(b, d));
    CHECK(d->n == 6 && sx_tuple_is(&d->tuples[0], "ints"));
    CHECK(d->tuples[0].vals[1].kind == SX_INT && d->tuples[0].vals[1].u.i == INT64_MIN);
    CHECK(d->tuples[0].vals[2].u.i == INT64_MAX);
    CHECK(isnan(d->tuples[1].vals[1].u.f));
    CHECK(d->tuples[1].vals[2].u.f == 0.0 && signbit(d->tuples[1].vals[2].u.f));
    CHECK(!signbit(d->tuples[1].vals[5].u.f));
    CHECK(isinf(d->tuples[1].vals[3].u.f) && d->tuples[1].vals[4].u.f < 0);
    const sx_value *bin = &d->tuples[2].vals[1];
    CHECK(bin->kind == SX_STR && bin->u.blob->len == 5 && bin->u.blob->data[1] == 0 &&
          bin->u.blob->data[3] == 0xff && bin->u.blob->data[5] == 0);
    CHECK(d->tuples[2].vals[2].kind == SX_BYTES && d->tuples[2].vals[3].u.blob->len == 0);
    CHECK(d->tuples[3].vals[2].kind == SX_IP && d->tuples[3].vals[2].u.ip.family == 4);
    CHECK(d->tuples[3].vals[3].u.ip.family == 6 && d->tuples[3].vals[3].u.ip.addr[15] == 1);
    CHECK(d->tuples[3].vals[4].kind == SX_NULL);
    CHECK(d->tuples[4].vals[1].kind == SX_RECORD && d->tuples[4].vals[2].kind == SX_RECORD);
    CHECK(d->tuples[4].vals[2].u.list->n == 0 && d->tuples[3].vals[5].kind == SX_LIST);
    CHECK(d->tuples[5].n == 0 && strcmp(sx_tuple_relation(&d->tuples[5]), "empty") == 0);
    /* Changing one nested byte breaks equality: the comparison is deep. */
    d->tuples[4].vals[1].u.list->items[1].u.list->items[0].u.i = 2;
    CHECK(!sx_batch_equal(b, d));
    sx_batch_destroy(&b);
    sx_batch_destroy(&d);
    CHECK(b == NULL && d == NULL);
    return 0;
}

/** Many tuples (the array grows from 4 by doubling) round-trip in order. */
static int test_many_tuples(void)
{
    char err[256] = "";
    sx_batch *b = sx_batch_new(42), *d;
    for (int i = 0; i < 10000; i++) {
        sx_tuple *t = sx_batch_add(b, i % 2 ? "odd" : "even", 3);
        t->vals[0] = sx_value_int(i);
        t->vals[1] = sx_value_float(i / 3.0);
        t->vals[2] = sx_value_cstr(i % 2 ? "x" : "yy");
    }
    CHECK(b->n == 10000 && b->cap >= b->n);
    CHECK(round_trip(b, &d, err, sizeof err) == 0);
    CHECK(sx_batch_equal(b, d));
    CHECK(d->tuples[9999].vals[0].u.i == 9999 && sx_tuple_is(&d->tuples[9999], "odd"));
    sx_batch_destroy(&b);
    sx_batch_destroy(&d);
    return 0;
}

/** A batch with no tuples keeps every header field; origin NULL stays
 *  NULL; copy_header copies them all. */
static int test_empty_batch(void)
{
    char err[256] = "";
    sx_batch *b = sx_batch_new(UINT64_MAX), *d, *c;
    b->pipeline = UINT32_MAX;
    b->target = 7;
    b->flags = SX_BATCH_HEARTBEAT | SX_BATCH_EOF;
    b->time_ns = INT64_MIN;
    b->origin = sx_blob_new("10.1.2.3:5000", 13);
    CHECK(round_trip(b, &d, err, sizeof err) == 0);
    CHECK(sx_batch_equal(b, d) && d->n == 0);
    CHECK(d->token == UINT64_MAX && d->pipeline == UINT32_MAX && d->target == 7);
    CHECK(d->flags == (SX_BATCH_HEARTBEAT | SX_BATCH_EOF) && d->time_ns == INT64_MIN);
    CHECK(d->origin && strcmp((const char *)d->origin->data, "10.1.2.3:5000") == 0);
    c = sx_batch_new(0);
    sx_batch_copy_header(c, b);
    CHECK(sx_batch_equal(c, b) && c->origin == b->origin);
    sx_batch_destroy(&c);
    sx_batch_destroy(&d);

    /* An all-zero batch encodes to zero bytes and decodes back. */
    sx_batch *z = sx_batch_new(0);
    uint8_t *buf;
    size_t len;
    CHECK(sx_codec_encode(z, &buf, &len, err, sizeof err) == 0 && len == 0);
    CHECK(sx_codec_decode(buf, len, &d, err, sizeof err) == 0);
    CHECK(sx_batch_equal(z, d) && d->origin == NULL);
    free(buf);
    sx_batch_destroy(&d);
    CHECK(sx_codec_decode(NULL, 0, &d, err, sizeof err) == 0 && d->n == 0);
    sx_batch_destroy(&d);
    sx_batch_destroy(&z);
    sx_batch_destroy(&b);
    return 0;
}

/** Copies share storage by reference count; either may be released
 *  first. */
static int test_refcount_sharing(void)
{
    sx_value s = sx_value_cstr("shared");
    sx_value c = sx_value_copy(&s);
    CHECK(c.u.blob == s.u.blob && atomic_load(&s.u.blob->refs) == 2);
    sx_value_release(&s);
    CHECK(s.kind == SX_NULL && atomic_load(&c.u.blob->refs) == 1);
    CHECK(strcmp((const char *)c.u.blob->data, "shared") == 0);
    sx_value_release(&c);

    sx_value r = small_record();
    sx_value rc = sx_value_copy(&r);
    CHECK(rc.u.list == r.u.list && sx_value_equal(&r, &rc));
    sx_value_release(&rc);
    sx_value_release(&r);

    sx_tuple t, u;
    sx_tuple_init(&t, "flow", 2);
    t.vals[0] = sx_value_cstr("a");
    t.vals[1] = small_list();
    sx_tuple_copy(&u, &t);
    CHECK(u.relation == t.relation && u.vals[0].u.blob == t.vals[0].u.blob);
    CHECK(sx_tuple_equal(&t, &u) && sx_tuple_is(&u, "flow") && !sx_tuple_is(&u, "flo"));
    sx_tuple_clear(&t);
    CHECK(t.n == 0 && t.relation == NULL && strcmp(sx_tuple_relation(&t), "") == 0);
    CHECK(strcmp(sx_tuple_relation(&u), "flow") == 0 && u.vals[1].u.list->n == 3);

    /* push takes over what the tuple owns. */
    sx_batch *b = sx_batch_new(1);
    sx_batch_push(b, &u);
    CHECK(u.n == 0 && u.vals == NULL && b->n == 1 && sx_tuple_is(&b->tuples[0], "flow"));
    sx_batch_destroy(&b);

    /* list_set over an existing item releases the old one. */
    sx_value l = sx_value_list(1);
    sx_value_list_set(&l, 0, NULL, sx_value_cstr("old"));
    sx_value_list_set(&l, 0, NULL, sx_value_cstr("new"));
    sx_value_release(&l);
    return 0;
}

/** One thread's share of test_refcount_threads: hash, then release. */
static void *release_copy(void *arg)
{
    sx_value *v = arg;
    uint64_t h = 0;
    for (int i = 0; i < 100; i++)
        h ^= sx_value_hash(v);
    sx_value_release(v);
    return h ? NULL : arg;
}

/** Copies released concurrently on several threads (run under TSan). */
static int test_refcount_threads(void)
{
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    sx_value copies[THREADS];
    sx_value r = small_record();
    for (int i = 0; i < THREADS; i++)
        copies[i] = sx_value_copy(&r);
    sx_value_release(&r);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, release_copy, &copies[i]) == 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    return 0;
}

/** Equal values hash equally; unequal ones differ where it matters. */
static int test_equal_hash(void)
{
    sx_value a[] = {sx_value_cstr("ab"), small_record(), small_list(), sx_value_float(NAN),
                    sx_value_int(1), sx_value_null()};
    sx_value b[] = {sx_value_str("ab", 2), small_record(), small_list(), sx_value_float(NAN),
                    sx_value_int(1), sx_value_null()};
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        CHECK(sx_value_equal(&a[i], &b[i]));
        CHECK(sx_value_hash(&a[i]) == sx_value_hash(&b[i]));
    }
    sx_value diff[] = {sx_value_bytes("ab", 2), sx_value_float(1.0), sx_value_float(0.0),
                       sx_value_float(-0.0), sx_value_cstr("ba"), sx_value_bool(true)};
    CHECK(!sx_value_equal(&a[0], &diff[0]) && sx_value_hash(&a[0]) != sx_value_hash(&diff[0]));
    CHECK(!sx_value_equal(&a[4], &diff[1]) && sx_value_hash(&a[4]) != sx_value_hash(&diff[1]));
    CHECK(!sx_value_equal(&diff[2], &diff[3]));
    CHECK(sx_value_hash(&diff[2]) != sx_value_hash(&diff[3]));
    CHECK(sx_value_hash(&a[0]) != sx_value_hash(&diff[4]));
    sx_value_list_set(&b[1], 2, "OK", sx_value_bool(true)); /* renamed field */
    CHECK(!sx_value_equal(&a[1], &b[1]) && sx_value_hash(&a[1]) != sx_value_hash(&b[1]));
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        sx_value_release(&a[i]);
        sx_value_release(&b[i]);
    }
    for (size_t i = 0; i < sizeof diff / sizeof diff[0]; i++)
        sx_value_release(&diff[i]);
    CHECK(strcmp(sx_kind_name(SX_STR), "string") == 0);
    CHECK(strcmp(sx_kind_name(SX_RECORD), "record") == 0);
    return 0;
}

/** The stable text form, value by value. */
static int test_print(void)
{
    static const uint8_t ip4[4] = {10, 0, 0, 1};
    static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    struct {
        sx_value v;
        const char *want;
    } cases[] = {
        {sx_value_null(), "null"},
        {sx_value_int(INT64_MIN), "-9223372036854775808"},
        {sx_value_float(1.5), "1.5"},
        {sx_value_float(0.1), "0.10000000000000001"},
        {sx_value_float(-0.0), "-0"},
        {sx_value_float(NAN), "nan"},
        {sx_value_float(-INFINITY), "-inf"},
        {sx_value_bool(false), "false"},
        {sx_value_str("a\"b\\c\n\t\x01\x7f", 9), "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\""},
        {sx_value_cstr("h\xc3\xa9 \xff\xc3"), "\"h\xc3\xa9 \\xff\\xc3\""},
        {sx_value_str("", 0), "\"\""},
        {sx_value_bytes("\x00\xab\x10", 3), "0x00ab10"},
        {sx_value_bytes(NULL, 0), "0x"},
        {sx_value_ip4(ip4), "10.0.0.1"},
        {sx_value_ip6(ip6), "2001:db8::1"},
        {sx_value_list(0), "[]"},
        {sx_value_record(0), "{}"},
        {small_record(), "{\"src\": 10.0.0.1, \"ports\": [1, \"two\", null], \"ok\": true}"},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = printed(&cases[i].v);
        if (!text || strcmp(text, cases[i].want) != 0) {
            fprintf(stderr, "print case %zu: got %s, want %s\n", i, text ? text : "(error)",
                    cases[i].want);
            failed = 1;
        }
        free(text);
        sx_value_release(&cases[i].v);
    }
    CHECK(!failed);

    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CHECK(f != NULL);
    sx_tuple t;
    sx_tuple_init(&t, "packet", 2);
    t.vals[0] = sx_value_int(1);
    t.vals[1] = sx_value_cstr("x");
    CHECK(sx_tuple_print(f, &t) == 0);
    CHECK(fclose(f) == 0);
    CHECK(strcmp(text, "packet(1, \"x\")") == 0);
    free(text);
    sx_tuple_clear(&t);
    return 0;
}

/* ---- the codec against hostile input ---- */

/** Every prefix of a valid encoding decodes to an error or a batch. */
static int test_truncations(void)
{
    uint8_t *buf;
    size_t len;
    CHECK(rich_encoding(&buf, &len) == 0);
    size_t errors = 0;
    for (size_t n = 0; n < len; n++) {
        char err[256] = "";
        sx_batch *d;
        /* A copy of exactly n bytes, so ASan sees any read past the end. */
        uint8_t *cut = sx_malloc(n);
        memcpy(cut, buf, n);
        int rc = sx_codec_decode(cut, n, &d, err, sizeof err);
        free(cut);
        if (rc < 0) {
            CHECK(d == NULL && err[0] != 0);
            errors++;
        } else {
            CHECK(d != NULL);
            sx_batch_destroy(&d);
        }
    }
    /* Most cuts land inside a field; those must say "truncated". */
    CHECK(errors > len / 2);
    char err[256] = "";
    sx_batch *d;
    CHECK_ERR(sx_codec_decode(buf, len - 1, &d, err, sizeof err), err, "truncated");
    free(buf);
    return 0;
}

/** Random byte flips never crash or leak (xorshift64, fixed seed). */
static int test_byte_flips(void)
{
    uint8_t *buf;
    size_t len;
    CHECK(rich_encoding(&buf, &len) == 0);
    uint8_t *copy = sx_malloc(len);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t errors = 0;
    for (int iter = 0; iter < 4000; iter++) {
        memcpy(copy, buf, len);
        int flips = 1 + iter % 4;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            copy[x % len] ^= (uint8_t)(1u << ((x >> 32) % 8));
        }
        char err[256] = "";
        sx_batch *d;
        if (sx_codec_decode(copy, len, &d, err, sizeof err) < 0) {
            CHECK(d == NULL && err[0] != 0);
            errors++;
        } else {
            sx_batch_destroy(&d);
        }
    }
    CHECK(errors > 0);
    free(copy);
    free(buf);
    return 0;
}

/** A length above the cap is refused before a byte is read. */
static int test_oversized(void)
{
    char err[256] = "";
    uint8_t small[8] = {0};
    sx_batch sentinel;
    sx_batch *d = &sentinel; /* must be reset to NULL */
    int rc = sx_codec_decode(small, (size_t)SX_CODEC_MAX_BYTES + 1, &d, err, sizeof err);
    CHECK_ERR(rc, err, "larger than the cap");
    CHECK(d == NULL);
    return 0;
}

/** Bytes a varint of x takes. */
static size_t varint_size(uint64_t x)
{
    size_t n = 1;
    while (x >= 0x80) {
        x >>= 7;
        n++;
    }
    return n;
}

/** Builds a batch of one tuple whose value 0 is `depth` lists deep around
 *  a null: Value{list: List{items: [Value{list: ... Value{null: true}}]}}.
 *  Lengths are computed inside-out first, so bytes are written once, in
 *  order, and a very deep message costs linear time. */
static void deep_wire(wire *out, unsigned depth)
{
    size_t *value_size = sx_malloc((depth + 1) * sizeof *value_size);
    size_t *list_size = sx_malloc((depth + 1) * sizeof *list_size);
    value_size[0] = 2; /* Value{null: true} */
    for (unsigned i = 1; i <= depth; i++) {
        list_size[i] = 1 + varint_size(value_size[i - 1]) + value_size[i - 1];
        value_size[i] = 1 + varint_size(list_size[i]) + list_size[i];
    }
    size_t tuple_size = 1 + 1 + 4 + 1 + varint_size(value_size[depth]) + value_size[depth];
    w_varint(out, 7 << 3 | 2); /* Batch.tuples */
    w_varint(out, tuple_size);
    w_len(out, 1, "deep", 4);  /* Tuple.relation */
    w_varint(out, 2 << 3 | 2); /* Tuple.values */
    w_varint(out, value_size[depth]);
    for (unsigned i = depth; i >= 1; i--) {
        w_varint(out, 7 << 3 | 2); /* Value.list */
        w_varint(out, list_size[i]);
        w_varint(out, 1 << 3 | 2); /* List.items */
        w_varint(out, value_size[i - 1]);
    }
    w_varint(out, 9 << 3 | 0); /* Value.null = true */
    w_varint(out, 1);
    free(value_size);
    free(list_size);
}

/** A batch of one tuple holding n int values 0, 2 wire bytes each:
 *  tiny on the wire, expensive to unpack. */
static void many_values_wire(wire *out, size_t n)
{
    size_t tuple_size = 1 + 1 + 4 + n * 4; /* relation + n x (tag, len, Value{int: 0}) */
    w_varint(out, 7 << 3 | 2); /* Batch.tuples */
    w_varint(out, tuple_size);
    w_len(out, 1, "many", 4);
    for (size_t i = 0; i < n; i++) {
        w_varint(out, 2 << 3 | 2); /* Tuple.values */
        w_varint(out, 2);
        w_varint(out, 1 << 3 | 0); /* Value.int = 0 */
        w_varint(out, 0);
    }
}

/** More elements than SX_CODEC_MAX_ELEMENTS are refused before
 *  protobuf-c allocates for them; a batch just under the cap decodes. */
static int test_element_cap(void)
{
    char err[256] = "";
    sx_batch *d = NULL;
    wire w = {0};
    many_values_wire(&w, SX_CODEC_MAX_ELEMENTS + 1);
    CHECK_ERR(sx_codec_decode(w.p, w.n, &d, err, sizeof err), err, "more than");
    CHECK(d == NULL);
    free(w.p);
    memset(&w, 0, sizeof w);
    many_values_wire(&w, 100000);
    CHECK(sx_codec_decode(w.p, w.n, &d, err, sizeof err) == 0);
    CHECK(d && d->n == 1 && d->tuples[0].n == 100000);
    sx_batch_destroy(&d);
    free(w.p);
    return 0;
}

/** Nesting beyond SX_CODEC_MAX_DEPTH is refused by decode and encode. */
static int test_depth(void)
{
    char err[256] = "";
    sx_batch *d;
    wire w = {0};
    deep_wire(&w, 1000);
    /* "(at byte" shows the wire scanner caught it, before protobuf-c. */
    CHECK_ERR(sx_codec_decode(w.p, w.n, &d, err, sizeof err), err,
              "nested deeper than 32 (at byte");
    CHECK(d == NULL);
    free(w.p);

    /* Deep enough that protobuf-c's recursive unpack would overflow the
     * stack if it were reached. */
    memset(&w, 0, sizeof w);
    deep_wire(&w, 300000);
    CHECK_ERR(sx_codec_decode(w.p, w.n, &d, err, sizeof err), err,
              "nested deeper than 32 (at byte");
    free(w.p);

    memset(&w, 0, sizeof w);
    deep_wire(&w, SX_CODEC_MAX_DEPTH + 1);
    CHECK_ERR(sx_codec_decode(w.p, w.n, &d, err, sizeof err), err, "nested deeper");
    free(w.p);

    memset(&w, 0, sizeof w);
    deep_wire(&w, SX_CODEC_MAX_DEPTH);
    CHECK(sx_codec_decode(w.p, w.n, &d, err, sizeof err) == 0);
    CHECK(d->n == 1 && d->tuples[0].vals[0].kind == SX_LIST);
    sx_batch_destroy(&d);
    free(w.p);

    /* The encoder will not produce what the decoder refuses. */
    sx_batch *b = sx_batch_new(1);
    sx_batch_add(b, "deep", 1)->vals[0] = nested(SX_CODEC_MAX_DEPTH + 1);
    uint8_t *buf = NULL;
    size_t len;
    CHECK_ERR(sx_codec_encode(b, &buf, &len, err, sizeof err), err,
              ", ...: lists and records nested deeper than 32");
    CHECK(strncmp(err, "value 0 of tuple 0, item 0, item 0", 34) == 0);
    CHECK(buf == NULL);
    sx_batch_destroy(&b);
    return 0;
}

/** Values protobuf accepts but the data model does not. */
static int test_bad_values(void)
{
    char err[256] = "";
    sx_batch *d;

    /* A Value with no member of its oneof set. */
    wire t = {0};
    w_len(&t, 2, NULL, 0);
    CHECK_ERR(decode_tuple_wire(&t, &d, err, sizeof err), err, "value 0 of tuple 0 has no type");
    CHECK(d == NULL);

    /* ... and inside a list, after a good item (which must not leak). */
    wire item = {0}, list = {0}, value = {0};
    w_varint(&item, 1 << 3 | 0); /* Value{int: 0} */
    w_varint(&item, 0);
    w_sub(&list, 1, &item);
    w_len(&list, 1, NULL, 0);
    w_sub(&value, 7, &list);
    w_len(&t, 2, "\x48\x01", 2); /* value 0: Value{null: true} */
    w_sub(&t, 2, &value);
    CHECK_ERR(decode_tuple_wire(&t, &d, err, sizeof err), err,
              "value 1 of tuple 0, item 1 has no type");

    /* An IP address of 5 bytes. */
    memset(&value, 0, sizeof value);
    w_len(&value, 6, "\x01\x02\x03\x04\x05", 5);
    w_sub(&t, 2, &value);
    CHECK_ERR(decode_tuple_wire(&t, &d, err, sizeof err), err,
              "value 0 of tuple 0 is an IP address of 5 bytes");

    /* A record of two names and one value. */
    wire rec = {0};
    w_len(&rec, 1, "a", 1);
    w_len(&rec, 1, "b", 1);
    w_len(&rec, 2, "\x48\x01", 2);
    w_sub(&value, 8, &rec);
    w_sub(&t, 2, &value);
    CHECK_ERR(decode_tuple_wire(&t, &d, err, sizeof err), err, "2 names but 1 values");

    /* A length running past the end, an overlong varint, a group. */
    static const uint8_t past[] = {7 << 3 | 2, 50, 1};
    CHECK_ERR(sx_codec_decode(past, sizeof past, &d, err, sizeof err), err,
              "truncated: field 7 of a Batch at byte 0 claims 50 bytes but 1 remain");
    static const uint8_t overlong[] = {1 << 3, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_ERR(sx_codec_decode(overlong, sizeof overlong, &d, err, sizeof err), err,
              "overlong varint in field 1 of a Batch");
    static const uint8_t group[] = {7 << 3 | 3};
    CHECK_ERR(sx_codec_decode(group, sizeof group, &d, err, sizeof err), err,
              "unsupported wire type 3");
    static const uint8_t field0[] = {0 << 3 | 0, 1};
    CHECK_ERR(sx_codec_decode(field0, sizeof field0, &d, err, sizeof err), err,
              "invalid field number 0");
    /* A known message field sent as a varint: the scanner lets protobuf-c
     * refuse it. */
    static const uint8_t wrongtype[] = {7 << 3 | 0, 1};
    CHECK_ERR(sx_codec_decode(wrongtype, sizeof wrongtype, &d, err, sizeof err), err,
              "could not unpack");
    return 0;
}

int main(void)
{
    static const struct {
        const char *name;
        int (*fn)(void);
    } tests[] = {
        {"round trip of every kind", test_round_trip_kinds},
        {"many tuples", test_many_tuples},
        {"empty batch", test_empty_batch},
        {"refcount sharing", test_refcount_sharing},
        {"refcount across threads", test_refcount_threads},
        {"equal and hash", test_equal_hash},
        {"print", test_print},
        {"truncations", test_truncations},
        {"byte flips", test_byte_flips},
        {"oversized", test_oversized},
        {"depth", test_depth},
        {"bad values", test_bad_values},
        {"element cap", test_element_cap},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (tests[i].fn() != 0) {
            fprintf(stderr, "test_proto: FAIL: %s\n", tests[i].name);
            return 1;
        }
        printf("ok %zu - %s\n", i + 1, tests[i].name);
    }
    printf("test_proto: all %zu tests passed\n", sizeof tests / sizeof tests[0]);
    return 0;
}
