/*
 * fn_kdd_window.c -- the KDD Cup '99 window features as three ANALOG
 * functions, on functions/kdd_window.h (the design, the definitions and
 * why per-key state is exact are there):
 *
 *   C = f_connSequence(CONN)           serial component (state: the run)
 *   H = f_hostWindow(C, DST)           parallel_context_order on DST
 *   F = f_serviceWindow(H, SERVICE)    parallel_context_order on SERVICE
 *
 * CONN is a connection record (one per ended TCP connection) with at
 * least time_ns, src, sport, dst, dport, service, flag, duration,
 * protocol_type, src_bytes, dst_bytes, land, wrong_fragment, urgent.
 * f_connSequence appends seq, wtime_ns and srv_prev_seq; f_hostWindow
 * appends the same-host features (count, serror_rate, rerror_rate,
 * same_srv_rate, diff_srv_rate, dst_host_count, dst_host_same_srv_rate,
 * dst_host_diff_srv_rate, dst_host_same_src_port_rate,
 * dst_host_serror_rate, dst_host_rerror_rate); f_serviceWindow
 * (ANALOG_FN_MULTI) returns a list of feature records: the 41 KDD
 * features in their standard order and names, then src, sport, dst,
 * dport, start_ns (when CONN has it), time_ns, seq. Counts are ints,
 * rates floats, copied fields unchanged. The content features (hot ...
 * is_guest_login, logged_in among them) are 0: nothing here inspects
 * payloads.
 *
 * Why f_serviceWindow returns a list. The host component splits a
 * token's connections by host lane and joins their outputs back in
 * piece order (actors/actor.c: by first appearance of the key), so two
 * connections of one service that share a token may reach the service
 * component in the wrong order. f_connSequence therefore records, for
 * each connection, the seq of the previous connection of its service
 * when that one was numbered at the same packet time (so may share the
 * token): srv_prev_seq, else 0. f_serviceWindow holds a connection back
 * (returns []) until its srv_prev_seq has been counted, and counts the
 * ones that waited for it right after it (returns them all, in seq
 * order). The predecessor is in the same token and the lane runs the
 * whole piece at once, so nothing waits past its token -- unless the
 * predecessor was lost upstream (a filter between the stages, or the
 * state evicted meanwhile): then a heartbeat (all earlier tokens are
 * done by then), the state's final drain, the cap kdd.window_max_entries
 * or a later connection with srv_prev_seq 0 releases it, counted in
 * kdd.window_gaps.
 *
 * A record that lacks a field, or has one of the wrong kind, is an
 * error naming the fields (the rule does not fire). f_connSequence
 * checks every field the later stages copy, so a record it numbers
 * never fails later for want of one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/u64map.h"
#include "analog/counters.h"
#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/fn_args.h"
#include "functions/kdd_window.h"

#define NS_PER_S 1000000000LL
/* Window states live this long without a connection: far beyond the 2 s
 * of T, so that W -- the last H connections overall -- survives a
 * quiet host (see idle_timeout_ns below). */
#define WINDOW_IDLE_NS (600 * NS_PER_S)

static const analog_setting_def host_window_setting = {
    .name = "kdd.host_window", .def = 100, .min = 1, .max = 1000000, .unit = "connections",
    .summary = "KDD host-based features: the last H connections overall (dst_host_*)"};
ANALOG_SETTING_REGISTER(host_window_setting)
static const analog_setting_def max_entries_setting = {
    .name = "kdd.window_max_entries", .def = 1000000, .min = 1, .max = 1 << 26,
    .unit = "entries",
    .summary = "KDD window entries one host or service holds (and connections a service "
               "holds back); the oldest beyond are dropped (kdd.window_overflow) or released "
               "(kdd.window_gaps) and its features undercount"};
ANALOG_SETTING_REGISTER(max_entries_setting)

static analog_counter c_gaps = {
    .name = "kdd.window_gaps",
    .summary = "connections f_serviceWindow counted without their same-service predecessor "
               "(lost between the stages, or held back past the cap)"};
ANALOG_COUNTER_REGISTER(c_gaps)
static analog_counter c_held = {
    .name = "kdd.window_held",
    .summary = "connections f_serviceWindow held back until their same-service predecessor "
               "came (a token split by host came back joined in another order; not a loss)"};
ANALOG_COUNTER_REGISTER(c_held)
static analog_counter c_untracked = {
    .name = "kdd.services_untracked",
    .summary = "connections f_connSequence numbered without srv_prev_seq: more services than "
               "it follows (65536)"};
ANALOG_COUNTER_REGISTER(c_untracked)

/* ---- the fields of a record ---- */

/* Where an output field of f_serviceWindow comes from. */
enum { FROM_INPUT, FROM_OPTIONAL, FROM_ZERO, FROM_SERVICE };

typedef struct field_spec {
    const char *name;
    sx_kind kind;    /* SX_NULL: any kind */
    uint8_t from;    /* FROM_INPUT ...: where f_serviceWindow takes it */
    uint8_t feature; /* FROM_SERVICE: index in service_features() */
} field_spec;

#define IN(name) {name, SX_NULL, FROM_INPUT, 0}
#define ZERO(name) {name, SX_NULL, FROM_ZERO, 0}
#define SRV(name, i) {name, SX_NULL, FROM_SERVICE, i}

/* f_serviceWindow's record, in order: the 41 features, then the
 * connection's identity. */
static const field_spec out_fields[] = {
    IN("duration"), {"protocol_type", SX_STR, FROM_INPUT, 0},
    {"service", SX_STR, FROM_INPUT, 0}, {"flag", SX_STR, FROM_INPUT, 0},
    IN("src_bytes"), IN("dst_bytes"), IN("land"), IN("wrong_fragment"), IN("urgent"),
    ZERO("hot"), ZERO("num_failed_logins"), ZERO("logged_in"), ZERO("num_compromised"),
    ZERO("root_shell"), ZERO("su_attempted"), ZERO("num_root"), ZERO("num_file_creations"),
    ZERO("num_shells"), ZERO("num_access_files"), ZERO("num_outbound_cmds"),
    ZERO("is_host_login"), ZERO("is_guest_login"),
    IN("count"), SRV("srv_count", 0), IN("serror_rate"), SRV("srv_serror_rate", 1),
    IN("rerror_rate"), SRV("srv_rerror_rate", 2), IN("same_srv_rate"), IN("diff_srv_rate"),
    SRV("srv_diff_host_rate", 3), IN("dst_host_count"), SRV("dst_host_srv_count", 4),
    IN("dst_host_same_srv_rate"), IN("dst_host_diff_srv_rate"),
    IN("dst_host_same_src_port_rate"), SRV("dst_host_srv_diff_host_rate", 5),
    IN("dst_host_serror_rate"), SRV("dst_host_srv_serror_rate", 6),
    IN("dst_host_rerror_rate"), SRV("dst_host_srv_rerror_rate", 7),
    IN("src"), {"sport", SX_INT, FROM_INPUT, 0}, IN("dst"), IN("dport"),
    {"start_ns", SX_NULL, FROM_OPTIONAL, 0}, {"time_ns", SX_INT, FROM_INPUT, 0},
    {"seq", SX_INT, FROM_INPUT, 0},
};
#define OUT_FIELDS (sizeof out_fields / sizeof out_fields[0])
#define SERVICE_FEATURES 8

/* What f_connSequence checks: every input field a later stage reads. */
enum { C_TIME, C_SERVICE, C_FLAG, C_SPORT };
static const field_spec conn_fields[] = {
    {"time_ns", SX_INT, FROM_INPUT, 0}, {"service", SX_STR, FROM_INPUT, 0},
    {"flag", SX_STR, FROM_INPUT, 0}, {"sport", SX_INT, FROM_INPUT, 0},
    IN("src"), IN("dst"), IN("dport"), IN("duration"), {"protocol_type", SX_STR, FROM_INPUT, 0},
    IN("src_bytes"), IN("dst_bytes"), IN("land"), IN("wrong_fragment"), IN("urgent"),
};
#define CONN_FIELDS (sizeof conn_fields / sizeof conn_fields[0])

/* What the two window stages read: W_KEY is the context key (the dst
 * at the host stage, the service at the service stage), W_OTHER the
 * key the window counts per value (the service, or the dst); the
 * service stage reads srv_prev_seq too. */
enum { W_SEQ, W_WTIME, W_FLAG, W_SPORT, W_KEY, W_OTHER, W_FIELDS, W_PREV = W_FIELDS };
static const field_spec host_fields[W_FIELDS] = {
    {"seq", SX_INT, FROM_INPUT, 0}, {"wtime_ns", SX_INT, FROM_INPUT, 0},
    {"flag", SX_STR, FROM_INPUT, 0}, {"sport", SX_INT, FROM_INPUT, 0},
    IN("dst"), {"service", SX_STR, FROM_INPUT, 0},
};
static const field_spec service_fields[W_FIELDS + 1] = {
    {"seq", SX_INT, FROM_INPUT, 0}, {"wtime_ns", SX_INT, FROM_INPUT, 0},
    {"flag", SX_STR, FROM_INPUT, 0}, {"sport", SX_INT, FROM_INPUT, 0},
    {"service", SX_STR, FROM_INPUT, 0}, IN("dst"), {"srv_prev_seq", SX_INT, FROM_INPUT, 0},
};

/* The same-host features f_hostWindow appends, in order. */
static const char *const host_features[] = {
    "count", "serror_rate", "rerror_rate", "same_srv_rate", "diff_srv_rate",
    "dst_host_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_serror_rate", "dst_host_rerror_rate",
};
#define HOST_FEATURES (sizeof host_features / sizeof host_features[0])

/** The index of field name in record list l, or -1. The search starts
 *  at from and wraps around: records list their fields in a fixed
 *  order, so a caller that looks fields up in that order starts each
 *  search where the last one ended and scans little. */
static int field_index_from(const sx_list *l, const char *name, uint32_t from)
{
    size_t len = strlen(name);
    uint32_t n = l ? l->n : 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = from + k < n ? from + k : from + k - n;
        const sx_blob *b = l->names[i];
        if (b && b->len == len && memcmp(b->data, name, len) == 0)
            return (int)i;
    }
    return -1;
}

/** The index of field name in record list l, or -1. */
static int field_index(const sx_list *l, const char *name)
{
    return field_index_from(l, name, 0);
}

/** Finds the input fields of spec[0..n) in record rec: idx[i] is the
 *  index of spec[i] (-1 for an absent optional one, or for one not
 *  from the input). 0, or -1 with "FN: the record lacks a, b" or a
 *  field's wrong kind in ctx->err. */
static int fields_find(analog_fn_ctx *ctx, const char *fn, const sx_value *rec,
                       const field_spec *spec, size_t n, int *idx)
{
    const sx_list *l = rec->u.list;
    char missing[512];
    size_t used = 0;
    missing[0] = '\0';
    uint32_t from = 0;
    for (size_t i = 0; i < n; i++) {
        bool input = spec[i].from == FROM_INPUT || spec[i].from == FROM_OPTIONAL;
        idx[i] = input ? field_index_from(l, spec[i].name, from) : -1;
        if (idx[i] >= 0)
            from = (uint32_t)idx[i] + 1 < l->n ? (uint32_t)idx[i] + 1 : 0;
        if (idx[i] < 0) {
            if (spec[i].from == FROM_INPUT && used < sizeof missing)
                used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%s",
                                         used ? ", " : "", spec[i].name);
            continue;
        }
        const sx_value *v = &l->items[idx[i]];
        if (spec[i].kind != SX_NULL && v->kind != spec[i].kind)
            return fn_args_errorf(ctx->err, ctx->errlen, "%s: field %s must be %s, not %s", fn,
                                  spec[i].name, sx_kind_name(spec[i].kind),
                                  sx_kind_name((sx_kind)v->kind));
    }
    if (used)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: the record lacks %s", fn, missing);
    return 0;
}

/** The int field at index i of rec. */
static int64_t int_at(const sx_value *rec, int i)
{
    return rec->u.list->items[i].u.i;
}

/** A new record: rec's fields (names and values shared, not copied),
 *  then extra unset ones. The caller owns it. */
static sx_value record_extend(const sx_value *rec, uint32_t extra)
{
    const sx_list *l = rec->u.list;
    uint32_t n = l ? l->n : 0;
    sx_value r = sx_value_record(n + extra);
    for (uint32_t i = 0; i < n; i++) {
        r.u.list->names[i] = l->names[i] ? sx_blob_ref(l->names[i]) : NULL;
        r.u.list->items[i] = sx_value_copy(&l->items[i]);
    }
    return r;
}

/** Sets field i of record r to field k of rec (name and value shared). */
static void record_take(sx_value *r, uint32_t i, const sx_value *rec, int k)
{
    const sx_list *l = rec->u.list;
    r->u.list->names[i] = l->names[k] ? sx_blob_ref(l->names[k]) : NULL;
    r->u.list->items[i] = sx_value_copy(&l->items[k]);
}

/** True when string value v is text. */
static bool str_is(const sx_value *v, const char *text)
{
    size_t n = strlen(text);
    return v->u.blob && v->u.blob->len == n && memcmp(v->u.blob->data, text, n) == 0;
}

/** k / n as a KDD rate (0 when n is 0). */
static double rate(uint64_t k, uint64_t n)
{
    return n ? (double)k / (double)n : 0.0;
}

/** 1 - a rate, when the set is not empty (else 0). */
static double rate_complement(double same, uint64_t n)
{
    return n ? 1.0 - same : 0.0;
}

/** n capped at max. */
static int64_t capped(uint64_t n, uint64_t max)
{
    return (int64_t)(n < max ? n : max);
}

/* ---- f_connSequence ---- */

#define SERVICES_MAX 65536 /* services f_connSequence follows (KDD'99 has 70) */

/* A service's last connection, as f_connSequence saw it. */
typedef struct service_last {
    int64_t seq, now_ns;
} service_last;

typedef struct conn_seq {
    int64_t seq, wtime_ns;
    sx_u64map services; /* service hash -> service_last */
} conn_seq;

static void *conn_seq_new(void)
{
    return calloc(1, sizeof(conn_seq));
}

/** Frees one service_last (an sx_u64map_each callback). */
static void service_last_free(void *arg, uint64_t key, void *val)
{
    (void)arg;
    (void)key;
    free(val);
}

static void conn_seq_free(void *p)
{
    conn_seq *s = p;
    if (!s)
        return;
    sx_u64map_each(&s->services, service_last_free, NULL);
    sx_u64map_clear(&s->services);
    free(s);
}

/** srv_prev_seq of connection seq of service hash h, numbered at packet
 *  time now_ns: the service's previous connection when that one came
 *  at the same packet time (it may share the token), else 0. Then
 *  remembers this one. */
static int64_t service_prev(conn_seq *s, uint64_t h, int64_t seq, int64_t now_ns)
{
    uint64_t key = h ? h : 1;
    service_last *l = sx_u64map_get(&s->services, key);
    if (!l) {
        if (s->services.n >= SERVICES_MAX || !(l = calloc(1, sizeof *l))) {
            analog_counter_add(&c_untracked, 1);
            return 0;
        }
        sx_u64map_put(&s->services, key, l);
    }
    int64_t prev = l->seq && l->now_ns == now_ns ? l->seq : 0;
    l->seq = seq;
    l->now_ns = now_ns;
    return prev;
}

/** f_connSequence(CONN): CONN with seq, wtime_ns and srv_prev_seq appended. */
static int f_connSequence(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                          sx_value *result)
{
    (void)nargs;
    static const char fn[] = "f_connSequence";
    if (args[0].kind != SX_RECORD)
        return fn_args_type_error(ctx, fn, 1, "a connection record", &args[0]);
    int idx[CONN_FIELDS];
    if (fields_find(ctx, fn, &args[0], conn_fields, CONN_FIELDS, idx) != 0)
        return -1;
    int64_t sport = int_at(&args[0], idx[C_SPORT]);
    if (sport < 0 || sport > 65535)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: sport %lld is not a port", fn,
                              (long long)sport);
    if (field_index(args[0].u.list, "seq") >= 0 || field_index(args[0].u.list, "wtime_ns") >= 0)
        return fn_args_errorf(ctx->err, ctx->errlen,
                              "%s: the record is numbered already (has seq or wtime_ns)", fn);
    conn_seq *s = ctx->state;
    int64_t t = int_at(&args[0], idx[C_TIME]);
    s->wtime_ns = s->seq == 0 || t > s->wtime_ns ? t : s->wtime_ns;
    s->seq++;
    const sx_value *service = &args[0].u.list->items[idx[C_SERVICE]];
    int64_t prev = service_prev(s, sx_value_hash(service), s->seq, ctx->now_ns);
    *result = record_extend(&args[0], 3);
    uint32_t n = result->u.list->n;
    sx_value_list_set(result, n - 3, "seq", sx_value_int(s->seq));
    sx_value_list_set(result, n - 2, "wtime_ns", sx_value_int(s->wtime_ns));
    sx_value_list_set(result, n - 1, "srv_prev_seq", sx_value_int(prev));
    return 0;
}

static const analog_fn_def fn_connsequence_def = {
    .name = "f_connSequence", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_STATEFUL,
    .call = f_connSequence, .state_new = conn_seq_new, .state_free = conn_seq_free,
    /* one state for the whole run: it must never expire, or seq would
     * start again at 1 (100 years of packet time) */
    .idle_timeout_ns = 100LL * 365 * 86400 * NS_PER_S,
    .summary = "f_connSequence(CONN): CONN with seq (1, 2, ...), wtime_ns (time_ns, never "
               "going back) and srv_prev_seq appended; in a serial component, before "
               "f_hostWindow",
};
ANALOG_FN_REGISTER(fn_connsequence_def)

/* ---- the window stages: reading a connection ---- */

/** A window for the host stage (track_sport) or the service stage. */
static fn_kwin *window_new(bool track_sport)
{
    fn_kwin_limits lim = {
        .window_ns = FN_KWIN_TIME_NS,
        .host_window = (uint64_t)analog_setting_get(host_window_setting.name),
        .max_entries = (size_t)analog_setting_get(max_entries_setting.name),
        .track_sport = track_sport};
    return fn_kwin_new(&lim);
}

/** Reads the fields spec[0..n) names from record rec into idx and c (c's
 *  other key: field W_OTHER); checks that key, when not NULL, is rec's
 *  field W_KEY (the context key). 0, or -1 with a message in ctx->err. */
static int conn_read(analog_fn_ctx *ctx, const char *fn, const sx_value *rec, const sx_value *key,
                     const field_spec *spec, size_t n, int *idx, fn_kwin_conn *c)
{
    if (rec->kind != SX_RECORD)
        return fn_args_type_error(ctx, fn, 1, "a connection record (f_connSequence)", rec);
    if (fields_find(ctx, fn, rec, spec, n, idx) != 0)
        return -1;
    const sx_value *items = rec->u.list->items;
    if (key && !sx_value_equal(key, &items[idx[W_KEY]]))
        return fn_args_errorf(ctx->err, ctx->errlen,
                              "%s: argument 2 must be the record's %s (the context key)", fn,
                              spec[W_KEY].name);
    int64_t sport = items[idx[W_SPORT]].u.i;
    if (sport < 0 || sport > 65535)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: sport %lld is not a port", fn,
                              (long long)sport);
    const sx_value *flag = &items[idx[W_FLAG]];
    *c = (fn_kwin_conn){
        .wtime_ns = items[idx[W_WTIME]].u.i, .seq = items[idx[W_SEQ]].u.i,
        .other = sx_value_hash(&items[idx[W_OTHER]]), .sport = (uint16_t)sport,
        .serror = str_is(flag, "S0") || str_is(flag, "S1") || str_is(flag, "S2") ||
                  str_is(flag, "S3"),
        .rerror = str_is(flag, "REJ")};
    return 0;
}

/** Adds c to window w: its counts in *t and *h. 0, or -1 (ctx->err). */
static int conn_count(analog_fn_ctx *ctx, const char *fn, fn_kwin *w, const fn_kwin_conn *c,
                      fn_kwin_counts *t, fn_kwin_counts *h)
{
    char err[200];
    if (fn_kwin_add(w, c, t, h, err, sizeof err) != 0)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: %s", fn, err);
    return 0;
}

/* ---- f_hostWindow ---- */

static void *host_window_new(void)
{
    return window_new(true);
}

static void host_window_free(void *w)
{
    fn_kwin *k = w;
    fn_kwin_destroy(&k);
}

/** f_hostWindow(CONN, DST): CONN with the same-host features appended. */
static int f_hostWindow(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                        sx_value *result)
{
    (void)nargs;
    static const char fn[] = "f_hostWindow";
    int idx[W_FIELDS];
    fn_kwin_conn c;
    fn_kwin_counts t, w;
    if (conn_read(ctx, fn, &args[0], &args[1], host_fields, W_FIELDS, idx, &c) != 0 ||
        conn_count(ctx, fn, ctx->state, &c, &t, &w) != 0)
        return -1;
    double same = rate(t.same_other, t.n), host_same = rate(w.same_other, w.n);
    sx_value v[HOST_FEATURES] = {
        sx_value_int(capped(t.n, FN_KWIN_COUNT_MAX)),
        sx_value_float(rate(t.serror, t.n)),
        sx_value_float(rate(t.rerror, t.n)),
        sx_value_float(same),
        sx_value_float(rate_complement(same, t.n)),
        sx_value_int(capped(w.n, FN_KWIN_HOST_COUNT_MAX)),
        sx_value_float(host_same),
        sx_value_float(rate_complement(host_same, w.n)),
        sx_value_float(rate(w.same_sport, w.n)),
        sx_value_float(rate(w.serror, w.n)),
        sx_value_float(rate(w.rerror, w.n)),
    };
    *result = record_extend(&args[0], HOST_FEATURES);
    uint32_t base = result->u.list->n - HOST_FEATURES;
    for (uint32_t i = 0; i < HOST_FEATURES; i++)
        sx_value_list_set(result, base + i, host_features[i], v[i]);
    return 0;
}

static const analog_fn_def fn_hostwindow_def = {
    .name = "f_hostWindow", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_STATEFUL,
    .call = f_hostWindow, .state_new = host_window_new, .state_free = host_window_free,
    /* T needs only 2 s, but W -- the last kdd.host_window connections
     * overall -- can hold a quiet host's entries for as long as it takes
     * H other connections to arrive: 10 minutes keeps W exact down to
     * H per 10 minutes overall (1 connection per 6 s at H = 100). A
     * quiet key holds at most H entries, so keeping it is cheap. */
    .idle_timeout_ns = WINDOW_IDLE_NS,
    .summary = "f_hostWindow(CONN, DST): CONN with the KDD same-host features appended "
               "(count ... dst_host_rerror_rate); keyed on DST, after f_connSequence",
};
ANALOG_FN_REGISTER(fn_hostwindow_def)

/* ---- f_serviceWindow: a service's window, and the connections it
 * holds back until their predecessor is counted ---- */

/* A connection waiting for its same-service predecessor. */
typedef struct held {
    int64_t seq, prev;
    sx_value rec; /* the record (shared) */
} held;

typedef struct service_state {
    fn_kwin *win;
    int64_t last_seq;   /* the last connection counted; 0: none yet */
    sx_u64map held;     /* srv_prev_seq -> held: who waits for that seq */
} service_state;

/* The feature records one call (or drain) returns, in order. */
typedef struct outs {
    sx_value *v;
    uint32_t n, cap;
} outs;

/** Appends v (taken) to o. -1 on out-of-memory (v released). */
static int outs_push(outs *o, sx_value v)
{
    if (o->n == o->cap) {
        uint32_t cap = o->cap ? o->cap * 2 : 4;
        sx_value *nv = realloc(o->v, cap * sizeof *nv);
        if (!nv) {
            sx_value_release(&v);
            return -1;
        }
        o->v = nv;
        o->cap = cap;
    }
    o->v[o->n++] = v;
    return 0;
}

/** o as a list value (o is emptied). */
static sx_value outs_list(outs *o)
{
    sx_value l = sx_value_list(o->n);
    for (uint32_t i = 0; i < o->n; i++)
        l.u.list->items[i] = o->v[i];
    free(o->v);
    *o = (outs){0};
    return l;
}

/** Releases what o holds. */
static void outs_clear(outs *o)
{
    for (uint32_t i = 0; i < o->n; i++)
        sx_value_release(&o->v[i]);
    free(o->v);
    *o = (outs){0};
}

static void *service_window_new(void)
{
    service_state *s = calloc(1, sizeof *s);
    if (s && !(s->win = window_new(false))) {
        free(s);
        s = NULL;
    }
    return s;
}

/** Frees one held connection (an sx_u64map_each callback). */
static void held_free(void *arg, uint64_t key, void *val)
{
    (void)arg;
    (void)key;
    held *h = val;
    sx_value_release(&h->rec);
    free(h);
}

static void service_window_free(void *p)
{
    service_state *s = p;
    if (!s)
        return;
    sx_u64map_each(&s->held, held_free, NULL);
    sx_u64map_clear(&s->held);
    fn_kwin_destroy(&s->win);
    free(s);
}

/** The same-service features, in out_fields' FROM_SERVICE order. */
static void service_features(const fn_kwin_counts *t, const fn_kwin_counts *w,
                             sx_value v[SERVICE_FEATURES])
{
    v[0] = sx_value_int(capped(t->n, FN_KWIN_COUNT_MAX));
    v[1] = sx_value_float(rate(t->serror, t->n));
    v[2] = sx_value_float(rate(t->rerror, t->n));
    v[3] = sx_value_float(rate(t->n - t->same_other, t->n));
    v[4] = sx_value_int(capped(w->n, FN_KWIN_HOST_COUNT_MAX));
    v[5] = sx_value_float(rate(w->n - w->same_other, w->n));
    v[6] = sx_value_float(rate(w->serror, w->n));
    v[7] = sx_value_float(rate(w->rerror, w->n));
}

/** The feature record of rec (out_idx: its fields' indices). */
static sx_value feature_record(const sx_value *rec, const int *out_idx,
                               const fn_kwin_counts *t, const fn_kwin_counts *w)
{
    sx_value srv[SERVICE_FEATURES];
    service_features(t, w, srv);
    uint32_t n = 0;
    for (size_t i = 0; i < OUT_FIELDS; i++)
        n += out_fields[i].from != FROM_OPTIONAL || out_idx[i] >= 0;
    sx_value r = sx_value_record(n);
    uint32_t k = 0;
    for (size_t i = 0; i < OUT_FIELDS; i++) {
        const field_spec *f = &out_fields[i];
        if (out_idx[i] >= 0)
            record_take(&r, k++, rec, out_idx[i]);
        else if (f->from == FROM_ZERO)
            sx_value_list_set(&r, k++, f->name, sx_value_int(0));
        else if (f->from == FROM_SERVICE)
            sx_value_list_set(&r, k++, f->name, srv[f->feature]);
    }
    return r;
}

/** Reads rec for the service stage (key: argument 2, or NULL for a held
 *  record, checked when it came). 0, or -1 (ctx->err). */
static int service_read(analog_fn_ctx *ctx, const sx_value *rec, const sx_value *key,
                        int *out_idx, fn_kwin_conn *c, int64_t *prev)
{
    static const char fn[] = "f_serviceWindow";
    int idx[W_FIELDS + 1];
    if (rec->kind == SX_RECORD && fields_find(ctx, fn, rec, out_fields, OUT_FIELDS, out_idx) != 0)
        return -1;
    if (conn_read(ctx, fn, rec, key, service_fields, W_FIELDS + 1, idx, c) != 0)
        return -1;
    *prev = int_at(rec, idx[W_PREV]);
    if (*prev < 0 || *prev >= c->seq)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: srv_prev_seq %lld is not below seq %lld",
                              fn, (long long)*prev, (long long)c->seq);
    return 0;
}

/** Counts rec (read into out_idx and c) and appends its feature record
 *  to o. 0, or -1 (ctx->err). */
static int service_count(analog_fn_ctx *ctx, service_state *s, const sx_value *rec,
                         const int *out_idx, const fn_kwin_conn *c, outs *o)
{
    fn_kwin_counts t, w;
    if (conn_count(ctx, "f_serviceWindow", s->win, c, &t, &w) != 0)
        return -1;
    s->last_seq = c->seq;
    return outs_push(o, feature_record(rec, out_idx, &t, &w)) == 0
               ? 0
               : fn_args_errorf(ctx->err, ctx->errlen, "f_serviceWindow: out of memory");
}

/** Counts the held connection h (taken) and frees it; a failure is
 *  counted by the window (kdd.window_out_of_order) and h is dropped. */
static void held_count(analog_fn_ctx *ctx, service_state *s, held *h, outs *o)
{
    int out_idx[OUT_FIELDS];
    fn_kwin_conn c;
    int64_t prev;
    if (h->prev > s->last_seq)
        analog_counter_add(&c_gaps, 1);
    if (service_read(ctx, &h->rec, NULL, out_idx, &c, &prev) == 0)
        (void)service_count(ctx, s, &h->rec, out_idx, &c, o);
    held_free(NULL, 0, h);
}

/** Counts every held connection that waited for the last one counted,
 *  and those that waited for them, in turn. */
static void held_chain(analog_fn_ctx *ctx, service_state *s, outs *o)
{
    held *h;
    while (s->held.n && (h = sx_u64map_remove(&s->held, (uint64_t)s->last_seq)))
        held_count(ctx, s, h, o);
}

/* A held connection's place, for releasing in seq order. */
typedef struct held_ref {
    int64_t seq, prev;
} held_ref;

/** Orders held_refs by seq. */
static int held_ref_cmp(const void *a, const void *b)
{
    const held_ref *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/** Collects a held connection's place (an sx_u64map_each callback). */
static void held_ref_add(void *arg, uint64_t key, void *val)
{
    held_ref **r = arg;
    const held *h = val;
    *(*r)++ = (held_ref){.seq = h->seq, .prev = (int64_t)key};
}

/** Counts the held connections with seq below `below`, in seq order,
 *  whatever they wait for (their predecessor will not come: counted in
 *  kdd.window_gaps), each followed by those that waited for it. */
static void held_release(analog_fn_ctx *ctx, service_state *s, int64_t below, outs *o)
{
    if (!s->held.n)
        return;
    held_ref *refs = malloc(s->held.n * sizeof *refs), *end = refs;
    if (!refs)
        return; /* tried again at the next heartbeat */
    sx_u64map_each(&s->held, held_ref_add, &end);
    size_t n = (size_t)(end - refs);
    qsort(refs, n, sizeof *refs, held_ref_cmp);
    for (size_t i = 0; i < n && refs[i].seq < below; i++) {
        held *h = sx_u64map_remove(&s->held, (uint64_t)refs[i].prev);
        if (!h)
            continue; /* counted already, after its predecessor */
        held_count(ctx, s, h, o);
        held_chain(ctx, s, o);
    }
    free(refs);
}

/** Holds rec (seq, waiting for prev) back. 0, or -1 when it cannot be
 *  held (then it is counted now). */
static int held_add(service_state *s, const sx_value *rec, int64_t seq, int64_t prev)
{
    held *h;
    if (sx_u64map_get(&s->held, (uint64_t)prev) || !(h = malloc(sizeof *h)))
        return -1;
    *h = (held){.seq = seq, .prev = prev, .rec = sx_value_copy(rec)};
    sx_u64map_put(&s->held, (uint64_t)prev, h);
    analog_counter_add(&c_held, 1);
    return 0;
}

/* Hot path: once per connection (nothing held, one record out). */
/** f_serviceWindow(CONN, SERVICE): [the feature record] -- or [] while
 *  CONN waits for its predecessor, or several records when others
 *  waited for CONN. */
static int f_serviceWindow(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                           sx_value *result)
{
    (void)nargs;
    service_state *s = ctx->state;
    int out_idx[OUT_FIELDS];
    fn_kwin_conn c;
    int64_t prev;
    if (service_read(ctx, &args[0], &args[1], out_idx, &c, &prev) != 0)
        return -1;
    outs o = {0};
    if (prev > s->last_seq && held_add(s, &args[0], c.seq, prev) == 0) {
        if (s->held.n > (size_t)analog_setting_get(max_entries_setting.name))
            held_release(ctx, s, INT64_MAX, &o);
        *result = outs_list(&o);
        return 0;
    }
    if (prev == 0) /* its predecessors came in earlier tokens: none will come now */
        held_release(ctx, s, c.seq, &o);
    if (service_count(ctx, s, &args[0], out_idx, &c, &o) != 0) {
        outs_clear(&o);
        return -1;
    }
    held_chain(ctx, s, &o);
    *result = outs_list(&o);
    return 0;
}

/** Drain hook: at a heartbeat every earlier token is done in this lane,
 *  so what is still held lost its predecessor: release it (and all of
 *  it at the end). The window itself stays. */
static int service_window_drain(analog_fn_ctx *ctx, bool final, sx_value *result)
{
    service_state *s = ctx->state;
    if (s->held.n) {
        outs o = {0};
        held_release(ctx, s, INT64_MAX, &o);
        *result = outs_list(&o);
    }
    return final ? 1 : 0;
}

static const analog_fn_def fn_servicewindow_def = {
    .name = "f_serviceWindow", .min_args = 2, .max_args = 2,
    .flags = ANALOG_FN_STATEFUL | ANALOG_FN_MULTI, .call = f_serviceWindow,
    .state_new = service_window_new, .state_free = service_window_free,
    .drain = service_window_drain,
    .idle_timeout_ns = WINDOW_IDLE_NS, /* as f_hostWindow's, for the same reason */
    .summary = "f_serviceWindow(CONN, SERVICE): the 41 KDD Cup '99 features (content ones 0) "
               "and src, sport, dst, dport, start_ns, time_ns, seq, as a list (a connection "
               "may wait for its predecessor); keyed on SERVICE, after f_hostWindow",
};
ANALOG_FN_REGISTER(fn_servicewindow_def)
