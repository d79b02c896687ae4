/*
 * value.c -- attribute values: blobs, lists, records, equality, hashing
 * and the stable text form.
 *
 * Design: a value is a small tagged struct; strings, byte strings, lists
 * and records point at immutable storage shared by reference count, so a
 * copy costs one atomic increment. Counts are atomic because a value may be
 * released by a different worker than the one that made it: the decrement
 * is acq_rel so that the last releaser sees every write made before the
 * other references were dropped, and may free safely.
 *
 * Invariants:
 *   - blob->data[blob->len] == 0;
 *   - a list has names == NULL; a record has names != NULL (even when
 *     n == 0), and a NULL names[i] means the empty name;
 *   - an IPv4 value has addr[4..15] == 0, so equality and hashing may
 *     look at the used bytes only;
 *   - storage reachable from a published value is never written again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* inet_ntop under -std=c11 */
#endif
#include "proto/value.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/alloc.h"

/* ---- blobs ---- */

sx_blob *sx_blob_new(const void *data, size_t len)
{
    if (len > SIZE_MAX - sizeof(sx_blob) - 1)
        sx_alloc_fail(len);
    sx_blob *b = sx_malloc(sizeof(sx_blob) + len + 1);
    atomic_init(&b->refs, 1);
    b->len = len;
    if (data && len)
        memcpy(b->data, data, len);
    else
        memset(b->data, 0, len);
    b->data[len] = 0;
    return b;
}

sx_blob *sx_blob_ref(sx_blob *b)
{
    /* Relaxed is enough: the caller already holds a reference. */
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void sx_blob_release(sx_blob **b)
{
    if (!*b)
        return;
    if (atomic_fetch_sub_explicit(&(*b)->refs, 1, memory_order_acq_rel) == 1)
        free(*b);
    *b = NULL;
}

bool sx_blob_equal(const sx_blob *a, const sx_blob *b)
{
    size_t alen = a ? a->len : 0, blen = b ? b->len : 0;
    if (alen != blen)
        return false;
    return a == b || alen == 0 || memcmp(a->data, b->data, alen) == 0;
}

/* ---- lists and records ---- */

/** Allocates list storage for n SX_NULL items, with one reference. */
static sx_list *list_new(uint32_t n, bool record)
{
    size_t size = sizeof(sx_list) + (size_t)n * sizeof(sx_value);
    sx_list *l = sx_calloc(1, size);
    atomic_init(&l->refs, 1);
    l->n = n;
    l->names = record ? sx_calloc(n, sizeof(sx_blob *)) : NULL;
    return l;
}

/** Drops a reference to l, freeing its items and names with the last. */
static void list_release(sx_list *l)
{
    if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (uint32_t i = 0; i < l->n; i++) {
        sx_value_release(&l->items[i]);
        if (l->names)
            sx_blob_release(&l->names[i]);
    }
    free(l->names);
    free(l);
}

/* ---- constructors ---- */

sx_value sx_value_null(void)
{
    sx_value v;
    memset(&v, 0, sizeof v);
    v.kind = SX_NULL;
    return v;
}

sx_value sx_value_int(int64_t i)
{
    sx_value v = sx_value_null();
    v.kind = SX_INT;
    v.u.i = i;
    return v;
}

sx_value sx_value_float(double f)
{
    sx_value v = sx_value_null();
    v.kind = SX_FLOAT;
    v.u.f = f;
    return v;
}

sx_value sx_value_bool(bool b)
{
    sx_value v = sx_value_null();
    v.kind = SX_BOOL;
    v.u.b = b;
    return v;
}

sx_value sx_value_str(const char *s, size_t len)
{
    return sx_value_from_blob(SX_STR, sx_blob_new(s, len));
}

sx_value sx_value_cstr(const char *s)
{
    return sx_value_str(s, strlen(s));
}

sx_value sx_value_bytes(const void *data, size_t len)
{
    return sx_value_from_blob(SX_BYTES, sx_blob_new(data, len));
}

/* Any kind other than SX_BYTES makes a string: a blob is text or bytes. */
sx_value sx_value_from_blob(sx_kind kind, sx_blob *b)
{
    sx_value v = sx_value_null();
    v.kind = kind == SX_BYTES ? SX_BYTES : SX_STR;
    v.u.blob = b;
    return v;
}

sx_value sx_value_ip4(const uint8_t addr[4])
{
    sx_value v = sx_value_null();
    v.kind = SX_IP;
    v.u.ip.family = 4;
    memcpy(v.u.ip.addr, addr, 4);
    return v;
}

sx_value sx_value_ip6(const uint8_t addr[16])
{
    sx_value v = sx_value_null();
    v.kind = SX_IP;
    v.u.ip.family = 6;
    memcpy(v.u.ip.addr, addr, 16);
    return v;
}

sx_value sx_value_list(uint32_t n)
{
    sx_value v = sx_value_null();
    v.kind = SX_LIST;
    v.u.list = list_new(n, false);
    return v;
}

sx_value sx_value_record(uint32_t n)
{
    sx_value v = sx_value_null();
    v.kind = SX_RECORD;
    v.u.list = list_new(n, true);
    return v;
}

/* A bad index or a non-list is a caller bug, not bad input: abort rather
 * than drop the item silently. */
void sx_value_list_set(sx_value *v, uint32_t i, const char *name, sx_value item)
{
    if ((v->kind != SX_LIST && v->kind != SX_RECORD) || i >= v->u.list->n) {
        fprintf(stderr, "scalanytics: sx_value_list_set: item %" PRIu32
                " of a %s value is out of range\n", i, sx_kind_name(v->kind));
        abort();
    }
    sx_list *l = v->u.list;
    sx_value_release(&l->items[i]);
    l->items[i] = item;
    if (l->names) {
        sx_blob_release(&l->names[i]);
        l->names[i] = name ? sx_blob_new(name, strlen(name)) : NULL;
    }
}

/* ---- use ---- */

sx_value sx_value_copy(const sx_value *v)
{
    sx_value c = *v;
    switch ((sx_kind)v->kind) {
    case SX_STR:
    case SX_BYTES:
        sx_blob_ref(c.u.blob);
        break;
    case SX_LIST:
    case SX_RECORD:
        atomic_fetch_add_explicit(&c.u.list->refs, 1, memory_order_relaxed);
        break;
    default:
        break;
    }
    return c;
}

void sx_value_release(sx_value *v)
{
    switch ((sx_kind)v->kind) {
    case SX_STR:
    case SX_BYTES:
        sx_blob_release(&v->u.blob);
        break;
    case SX_LIST:
    case SX_RECORD:
        list_release(v->u.list);
        break;
    default:
        break;
    }
    *v = sx_value_null();
}

/** Number of address bytes an IP value uses. */
static size_t ip_len(const sx_value *v)
{
    return v->u.ip.family == 4 ? 4 : 16;
}

/** Item-by-item (and name-by-name) equality of two lists or records. */
static bool list_equal(const sx_list *a, const sx_list *b)
{
    if (a == b)
        return true;
    if (a->n != b->n || !a->names != !b->names)
        return false;
    for (uint32_t i = 0; i < a->n; i++) {
        if (a->names && !sx_blob_equal(a->names[i], b->names[i]))
            return false;
        if (!sx_value_equal(&a->items[i], &b->items[i]))
            return false;
    }
    return true;
}

bool sx_value_equal(const sx_value *a, const sx_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch ((sx_kind)a->kind) {
    case SX_NULL:
        return true;
    case SX_INT:
        return a->u.i == b->u.i;
    case SX_FLOAT:
        return memcmp(&a->u.f, &b->u.f, sizeof(double)) == 0;
    case SX_BOOL:
        return a->u.b == b->u.b;
    case SX_STR:
    case SX_BYTES:
        return sx_blob_equal(a->u.blob, b->u.blob);
    case SX_IP:
        return a->u.ip.family == b->u.ip.family &&
               memcmp(a->u.ip.addr, b->u.ip.addr, ip_len(a)) == 0;
    case SX_LIST:
    case SX_RECORD:
        return list_equal(a->u.list, b->u.list);
    }
    return false;
}

/* ---- hashing: FNV-1a over a canonical byte stream, then a murmur3
 * finaliser so that the low bits (used for table indexes) mix well. ---- */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/** Feeds n bytes into FNV-1a state h. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= FNV_PRIME;
    }
    return h;
}

/** Feeds x little-endian, so the hash is the same on every host. */
static uint64_t hash_u64(uint64_t h, uint64_t x)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(x >> (8 * i));
    return hash_bytes(h, le, sizeof le);
}

/** Feeds a blob's length and bytes (NULL hashes as the empty blob). */
static uint64_t hash_blob(uint64_t h, const sx_blob *b)
{
    size_t len = b ? b->len : 0;
    h = hash_u64(h, len);
    return len ? hash_bytes(h, b->data, len) : h;
}

/** Feeds v's kind and content into h. */
static uint64_t hash_value(uint64_t h, const sx_value *v)
{
    uint8_t kind = v->kind;
    h = hash_bytes(h, &kind, 1);
    switch ((sx_kind)v->kind) {
    case SX_NULL:
        return h;
    case SX_INT:
        return hash_u64(h, (uint64_t)v->u.i);
    case SX_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->u.f, sizeof bits);
        return hash_u64(h, bits);
    }
    case SX_BOOL:
        return hash_u64(h, v->u.b ? 1 : 0);
    case SX_STR:
    case SX_BYTES:
        return hash_blob(h, v->u.blob);
    case SX_IP:
        h = hash_bytes(h, &v->u.ip.family, 1);
        return hash_bytes(h, v->u.ip.addr, ip_len(v));
    case SX_LIST:
    case SX_RECORD: {
        const sx_list *l = v->u.list;
        h = hash_u64(h, l->n);
        for (uint32_t i = 0; i < l->n; i++) {
            if (l->names)
                h = hash_blob(h, l->names[i]);
            h = hash_value(h, &l->items[i]);
        }
        return h;
    }
    }
    return h;
}

uint64_t sx_hash_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

uint64_t sx_value_hash(const sx_value *v)
{
    return sx_hash_mix(hash_value(FNV_OFFSET, v));
}

const char *sx_kind_name(sx_kind k)
{
    static const char *const names[] = {
        [SX_NULL] = "null",   [SX_INT] = "int",   [SX_FLOAT] = "float",
        [SX_STR] = "string",  [SX_BYTES] = "bytes", [SX_BOOL] = "bool",
        [SX_IP] = "ip",       [SX_LIST] = "list", [SX_RECORD] = "record",
    };
    if ((unsigned)k < sizeof names / sizeof names[0])
        return names[k];
    return "unknown";
}

/* ---- the stable text form (documented at sx_value_print) ---- */

/** Length of the valid UTF-8 sequence at s (n bytes left), or 0 if none. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    size_t len;
    uint32_t min, cp;
    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0; /* ASCII is handled by the caller; c0/c1 are overlong */
    len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (len > n)
        return 0;
    cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/** Writes the n bytes at s as a double-quoted, escaped string. */
static int print_quoted(FILE *f, const uint8_t *s, size_t n)
{
    if (fputc('"', f) == EOF)
        return -1;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t seq;
        int rc;
        if (c == '"' || c == '\\')
            rc = fprintf(f, "\\%c", c);
        else if (c == '\n')
            rc = fputs("\\n", f);
        else if (c == '\r')
            rc = fputs("\\r", f);
        else if (c == '\t')
            rc = fputs("\\t", f);
        else if (c == '\b')
            rc = fputs("\\b", f);
        else if (c == '\f')
            rc = fputs("\\f", f);
        else if (c < 0x20 || c == 0x7f)
            rc = fprintf(f, "\\u%04x", c);
        else if (c < 0x80)
            rc = fputc(c, f);
        else if ((seq = utf8_seq(s + i, n - i)) > 0) {
            rc = fwrite(s + i, 1, seq, f) == seq ? 0 : -1;
            i += seq;
            if (rc < 0)
                return -1;
            continue;
        } else
            rc = fprintf(f, "\\x%02x", c);
        if (rc < 0)
            return -1;
        i++;
    }
    return fputc('"', f) == EOF ? -1 : 0;
}

/** Writes a blob as a quoted string (NULL prints as ""). */
static int print_blob_str(FILE *f, const sx_blob *b)
{
    return b ? print_quoted(f, b->data, b->len) : print_quoted(f, NULL, 0);
}

/** Writes a float with %.17g, spelling nan and inf the same everywhere. */
static int print_float(FILE *f, double x)
{
    if (isnan(x))
        return fputs("nan", f) == EOF ? -1 : 0;
    if (isinf(x))
        return fputs(x < 0 ? "-inf" : "inf", f) == EOF ? -1 : 0;
    return fprintf(f, "%.17g", x) < 0 ? -1 : 0;
}

/** Writes a byte string as 0x followed by lower-case hex. */
static int print_hex(FILE *f, const sx_blob *b)
{
    if (fputs("0x", f) == EOF)
        return -1;
    for (size_t i = 0; b && i < b->len; i++)
        if (fprintf(f, "%02x", b->data[i]) < 0)
            return -1;
    return 0;
}

/** Writes an IP address in dotted (IPv4) or colon (IPv6) form. */
static int print_ip(FILE *f, const sx_value *v)
{
    char text[INET6_ADDRSTRLEN];
    int af = v->u.ip.family == 4 ? AF_INET : AF_INET6;
    if (!inet_ntop(af, v->u.ip.addr, text, sizeof text))
        return -1;
    return fputs(text, f) == EOF ? -1 : 0;
}

/** Writes a list as [a, b] or a record as {"name": a, ...}. */
static int print_list(FILE *f, const sx_list *l)
{
    if (fputc(l->names ? '{' : '[', f) == EOF)
        return -1;
    for (uint32_t i = 0; i < l->n; i++) {
        if (i > 0 && fputs(", ", f) == EOF)
            return -1;
        if (l->names && (print_blob_str(f, l->names[i]) < 0 || fputs(": ", f) == EOF))
            return -1;
        if (sx_value_print(f, &l->items[i]) < 0)
            return -1;
    }
    return fputc(l->names ? '}' : ']', f) == EOF ? -1 : 0;
}

int sx_value_print(FILE *f, const sx_value *v)
{
    switch ((sx_kind)v->kind) {
    case SX_NULL:
        return fputs("null", f) == EOF ? -1 : 0;
    case SX_INT:
        return fprintf(f, "%" PRId64, v->u.i) < 0 ? -1 : 0;
    case SX_FLOAT:
        return print_float(f, v->u.f);
    case SX_BOOL:
        return fputs(v->u.b ? "true" : "false", f) == EOF ? -1 : 0;
    case SX_STR:
        return print_blob_str(f, v->u.blob);
    case SX_BYTES:
        return print_hex(f, v->u.blob);
    case SX_IP:
        return print_ip(f, v);
    case SX_LIST:
    case SX_RECORD:
        return print_list(f, v->u.list);
    }
    return fprintf(f, "<kind %u>", v->kind) < 0 ? -1 : 0;
}

const sx_value *sx_value_field(const sx_value *v, const char *name)
{
    if (v->kind != SX_RECORD || !v->u.list || !v->u.list->names)
        return NULL;
    size_t n = strlen(name);
    const sx_list *l = v->u.list;
    for (uint32_t i = 0; i < l->n; i++) {
        const sx_blob *b = l->names[i];
        if (b && b->len == n && memcmp(b->data, name, n) == 0)
            return &l->items[i];
    }
    return NULL;
}
