/*
 * fn_traffic.c -- f_traffic(PKT, "name"), packet and byte counters, and
 * f_now(), the packet time.
 *
 * Counters are named; the name table (FN_TRAFFIC_NAMES entries) is
 * filled by prepare from the constant name at plan time, or on a
 * call's first use of a non-constant name. Each worker counts into its
 * own cache-line-aligned row of cells (worker w uses row w % TRAFFIC_ROWS),
 * so counting is one uncontended atomic add per cell and a reader can
 * sum the rows at any time without stopping the workers.
 *
 * Invariants: a name slot below name_count is immutable (written before
 * the release store that publishes it); adding a name takes names_lock,
 * which protects only the growth of the name table, never counting.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "analog/functions.h"
#include "functions/fn_args.h"
#include "functions/fn_traffic.h"
#include "proto/alloc.h"

/* Worker rows. Beyond this many workers rows are shared (still exact:
 * cells are atomic) and only then contended. */
#define TRAFFIC_ROWS 64

typedef struct traffic_cell {
    atomic_uint_fast64_t packets;
    atomic_uint_fast64_t bytes;
} traffic_cell;

typedef struct traffic_row {
    _Alignas(64) traffic_cell cell[FN_TRAFFIC_NAMES];
} traffic_row;

typedef struct traffic_name {
    size_t len;
    char text[FN_TRAFFIC_NAME_MAX];
} traffic_name;

static traffic_row rows[TRAFFIC_ROWS];
static traffic_name names[FN_TRAFFIC_NAMES];
static atomic_uint name_count;
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER; /* guards adding names */

/** The slot of the published name of len bytes, or -1. Lock-free. */
static int name_find(const char *s, size_t len)
{
    unsigned n = atomic_load_explicit(&name_count, memory_order_acquire);
    for (unsigned i = 0; i < n; i++)
        if (names[i].len == len && memcmp(names[i].text, s, len) == 0)
            return (int)i;
    return -1;
}

/** The slot of name text value v, adding it if new; -1 with a message
 *  in err when the name is too long or the table is full. */
static int name_slot(const sx_value *v, char *err, size_t errlen)
{
    const char *s = v->u.blob ? (const char *)v->u.blob->data : "";
    size_t len = v->u.blob ? v->u.blob->len : 0;
    if (len > FN_TRAFFIC_NAME_MAX)
        return fn_args_errorf(err, errlen, "f_traffic: counter name longer than %d bytes",
                              FN_TRAFFIC_NAME_MAX);
    int slot = name_find(s, len);
    if (slot >= 0)
        return slot;
    pthread_mutex_lock(&names_lock);
    slot = name_find(s, len); /* another thread may have added it meanwhile */
    unsigned n = atomic_load_explicit(&name_count, memory_order_relaxed);
    if (slot < 0 && n < FN_TRAFFIC_NAMES) {
        names[n].len = len;
        memcpy(names[n].text, s, len);
        atomic_store_explicit(&name_count, n + 1, memory_order_release);
        slot = (int)n;
    }
    pthread_mutex_unlock(&names_lock);
    if (slot < 0)
        return fn_args_errorf(err, errlen, "f_traffic: more than %d counter names",
                              FN_TRAFFIC_NAMES);
    return slot;
}

/** Packets and bytes of slot summed over all worker rows. */
static void slot_totals(unsigned slot, uint64_t *packets, uint64_t *bytes)
{
    *packets = *bytes = 0;
    for (unsigned r = 0; r < TRAFFIC_ROWS; r++) {
        *packets += atomic_load_explicit(&rows[r].cell[slot].packets, memory_order_relaxed);
        *bytes += atomic_load_explicit(&rows[r].cell[slot].bytes, memory_order_relaxed);
    }
}

/* ---- f_traffic(pkt, name) ---- */

/** Resolves a constant counter name to its slot once; a non-constant
 *  name is resolved per call (*prepared stays NULL). */
static int traffic_prepare(const sx_value *args, const bool *is_const, uint32_t nargs,
                           void **prepared, char *err, size_t errlen)
{
    *prepared = NULL;
    if (nargs < 2 || !is_const[1])
        return 0;
    if (!fn_args_is_text(&args[1]))
        return fn_args_errorf(err, errlen, "f_traffic: argument 2 must be a string, not %s",
                              sx_kind_name((sx_kind)args[1].kind));
    int slot = name_slot(&args[1], err, errlen);
    if (slot < 0)
        return -1;
    unsigned *p = sx_malloc(sizeof *p);
    *p = (unsigned)slot;
    *prepared = p;
    return 0;
}

/** Frees the slot made by traffic_prepare. */
static void traffic_prepared_free(void *prepared)
{
    free(prepared);
}

/* Hot path: two relaxed atomic adds on this worker's own cache lines. */
/** Counts one packet, and its length in bytes when pkt is a string or
 *  bytes (0 otherwise), under counter name; returns the int 1. */
static int f_traffic(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    int slot;
    if (ctx->prepared) {
        slot = (int)*(const unsigned *)ctx->prepared;
    } else {
        if (!fn_args_is_text(&args[1]))
            return fn_args_type_error(ctx, "f_traffic", 2, "a string", &args[1]);
        slot = name_slot(&args[1], ctx->err, ctx->errlen);
        if (slot < 0)
            return -1;
    }
    uint64_t len = fn_args_is_text(&args[0]) && args[0].u.blob ? args[0].u.blob->len : 0;
    traffic_cell *c = &rows[ctx->worker % TRAFFIC_ROWS].cell[slot];
    atomic_fetch_add_explicit(&c->packets, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->bytes, len, memory_order_relaxed);
    *result = sx_value_int(1);
    return 0;
}

static const analog_fn_def fn_traffic_def = {
    .name = "f_traffic", .min_args = 2, .max_args = 2,
    .call = f_traffic,
    .prepare = traffic_prepare,
    .prepared_free = traffic_prepared_free,
    .summary = "f_traffic(pkt, \"name\"): counts packets and bytes under name; returns 1",
};
ANALOG_FN_REGISTER(fn_traffic_def)

/* ---- f_now() ---- */

/** The packet time of the token being processed, in ns, as an int. */
static int f_now(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    *result = sx_value_int(ctx->now_ns);
    return 0;
}

static const analog_fn_def fn_now_def = {
    .name = "f_now", .min_args = 0, .max_args = 0,
    .call = f_now,
    .summary = "f_now(): the packet time in ns",
};
ANALOG_FN_REGISTER(fn_now_def)

/* ---- reports ---- */

void fn_traffic_report(FILE *f)
{
    unsigned n = atomic_load_explicit(&name_count, memory_order_acquire);
    fprintf(f, "%-24s %16s %20s\n", "traffic counter", "packets", "bytes");
    for (unsigned i = 0; i < n; i++) {
        uint64_t packets, bytes;
        slot_totals(i, &packets, &bytes);
        fprintf(f, "%-24.*s %16" PRIu64 " %20" PRIu64 "\n", (int)names[i].len, names[i].text,
                packets, bytes);
    }
}

int fn_traffic_json(FILE *f)
{
    unsigned n = atomic_load_explicit(&name_count, memory_order_acquire);
    int rc = fputc('{', f) == EOF ? -1 : 0;
    for (unsigned i = 0; i < n && rc == 0; i++) {
        uint64_t packets, bytes;
        slot_totals(i, &packets, &bytes);
        sx_value name = sx_value_str(names[i].text, names[i].len);
        if (fputs(i ? ", " : "", f) == EOF || sx_value_print(f, &name) != 0 ||
            fprintf(f, ": {\"packets\": %" PRIu64 ", \"bytes\": %" PRIu64 "}", packets, bytes) < 0)
            rc = -1;
        sx_value_release(&name);
    }
    if (rc == 0 && fputc('}', f) == EOF)
        rc = -1;
    return rc == 0 && !ferror(f) ? 0 : -1;
}

int fn_traffic_counts(const char *name, uint64_t *packets, uint64_t *bytes)
{
    int slot = name_find(name, strlen(name));
    if (slot < 0) {
        *packets = *bytes = 0;
        return -1;
    }
    slot_totals((unsigned)slot, packets, bytes);
    return 0;
}
