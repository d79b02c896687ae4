/*
 * test_kdd_window.c -- the KDD Cup '99 window features (functions/
 * kdd_window.h, fn_kdd_window.c) against a simple sequential reference.
 *
 * A pseudo-random stream of connection records (fixed seed): a few
 * dozen hosts and services picked with skew, S0 floods to one host
 * (more than 511 connections in 2 s), REJ bursts (port sweeps), quiet
 * gaps, and times that increase with occasional small steps back. The
 * reference computes every feature straight from the definitions in
 * kdd_window.h: for each connection c it scans every connection before
 * it (names and order of the 41 from functions/kdd_features.h, whose
 * reader the SVM uses). Then:
 *   direct    f_connSequence, f_hostWindow, f_serviceWindow called in
 *             order, one state per key, as the evaluator would: every
 *             field of every result equals the reference's (floats
 *             bitwise), and fn_kdd_from_value reads it, with H = 100
 *             and H = 300 (dst_host_count capped)
 *   pipeline  the same stream, 1 to 44 connections per token, through
 *             a whole ANALOG program (serial -> parallel_context_order on
 *             the host -> on the service) at 8 threads: connection by
 *             connection equal to the reference (the host component
 *             joins a split token back in key order, so the service
 *             component holds some connections back: checked too)
 *   hold      a service's connections fed out of order wait for their
 *             predecessor; a lost one is released at a heartbeat, by a
 *             connection with older predecessors, or by the final drain
 *   overflow  kdd.window_max_entries reached: counted, still no error
 *   errors    bad records are refused with a message naming the fields
 * The direct path is timed (connections/s).
 *
 * Usage: test_kdd_window [CONNECTIONS [speed]]   (default 20000; speed:
 * only the timing, for profiling)
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/runtime.h"
#include "analog/checker.h"
#include "analog/counters.h"
#include "analog/functions.h"
#include "analog/parser.h"
#include "analog/planner.h"
#include "analog/settings.h"
#include "functions/kdd_features.h"

#include "tests/check.h"
#include "tests/fn_call.h"

#define HOSTS 40
#define SERVICES 30
#define SOURCES 50
#define T0_NS 1700000000000000000LL
#define MS_NS 1000000LL

/* ---- the stream ---- */

static const char *const service_names[SERVICES] = {
    "http", "smtp", "ftp_data", "private", "domain_u", "ecr_i", "telnet", "ftp", "other",
    "finger", "auth", "pop_3", "imap4", "urp_i", "eco_i", "sunrpc", "time", "whois", "uucp",
    "gopher", "ssh", "netbios_ns", "bgp", "ldap", "mtp", "link", "echo", "discard", "systat",
    "daytime",
};

static const char *const flag_names[] = {"SF", "S0", "S1", "S2", "S3", "REJ", "RSTO",
                                          "RSTR", "RSTOS0", "SH", "OTH"};
enum { SF, S0, S1, S2, S3, REJ, RSTO, RSTR, RSTOS0, SH, OTH, FLAGS };

/* One generated connection: the test's own view, and its record. */
typedef struct conn {
    int64_t time_ns;
    int host, service, src, flag;
    int64_t sport, dport;
    bool has_start;
    sx_value rec;
} conn;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/** xorshift64*: the same stream on every run. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/** Uniform in [0, n). */
static int uniform(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

/** Skewed in [0, n): i with probability about log(n / i) / n, so
 *  small values far more often. */
static int skewed(int n)
{
    return uniform(uniform(n) + 1);
}

/** A flag for ordinary traffic. */
static int ordinary_flag(void)
{
    int r = uniform(100);
    if (r < 78)
        return SF;
    if (r < 82)
        return S0;
    if (r < 86)
        return REJ;
    return (int)(S1 + uniform(FLAGS - 1)) % FLAGS; /* any of the rest, SF again too */
}

/** IPv4 10.0.KIND.i. */
static sx_value ip_of(int kind, int i)
{
    uint8_t a[4] = {10, 0, (uint8_t)kind, (uint8_t)i};
    return sx_value_ip4(a);
}

/** The record of c, fields in an order of its own (not the output's);
 *  start_ns only when c->has_start. */
static sx_value record_of(const conn *c, int64_t duration, int64_t src_bytes)
{
    sx_value r = sx_value_record(c->has_start ? 15 : 14);
    uint32_t i = 0;
    sx_value_list_set(&r, i++, "src", ip_of(1, c->src));
    sx_value_list_set(&r, i++, "sport", sx_value_int(c->sport));
    sx_value_list_set(&r, i++, "dst", ip_of(2, c->host));
    sx_value_list_set(&r, i++, "dport", sx_value_int(c->dport));
    if (c->has_start)
        sx_value_list_set(&r, i++, "start_ns", sx_value_int(c->time_ns - duration * 1000));
    sx_value_list_set(&r, i++, "time_ns", sx_value_int(c->time_ns));
    sx_value_list_set(&r, i++, "protocol_type", sx_value_cstr("tcp"));
    sx_value_list_set(&r, i++, "service", sx_value_cstr(service_names[c->service]));
    sx_value_list_set(&r, i++, "flag", sx_value_cstr(flag_names[c->flag]));
    sx_value_list_set(&r, i++, "duration", sx_value_int(duration / 1000000));
    sx_value_list_set(&r, i++, "src_bytes", sx_value_int(src_bytes));
    sx_value_list_set(&r, i++, "dst_bytes", sx_value_int(src_bytes * 3 % 7919));
    sx_value_list_set(&r, i++, "land", sx_value_int(c->src == c->host));
    sx_value_list_set(&r, i++, "wrong_fragment", sx_value_int(0));
    sx_value_list_set(&r, i++, "urgent", sx_value_int(uniform(500) == 0));
    return r;
}

/** Fills c[0..n) with the stream; the caller releases the records. */
static void stream_make(conn *c, size_t n)
{
    int64_t t = T0_NS;
    size_t i = 0;
    while (i < n) {
        int r = uniform(1000);
        int burst = 1, host = skewed(HOSTS), src = skewed(SOURCES), kind = 0;
        int64_t gap = (int64_t)(rnd() % (6 * MS_NS));
        if (r < 2) {        /* S0 flood to one host: many services, spoofed sources */
            burst = 300 + uniform(700);
            kind = 1;
        } else if (r < 5) { /* REJ burst: one source sweeping a host's ports */
            burst = 50 + uniform(250);
            kind = 2;
        } else if (r < 7) { /* a quiet gap that empties the 2-s windows */
            t += 2000 * MS_NS + (int64_t)(rnd() % (3000 * MS_NS));
        }
        for (int k = 0; k < burst && i < n; k++, i++) {
            conn *x = &c[i];
            x->host = host;
            x->src = kind == 1 ? uniform(SOURCES) : src;
            x->service = kind == 1 ? uniform(SERVICES) : kind == 2 ? uniform(SERVICES)
                                                                   : skewed(SERVICES);
            x->flag = kind == 1 ? S0 : kind == 2 ? REJ : ordinary_flag();
            x->sport = uniform(5) == 0 ? 1024 + uniform(8) : 1024 + uniform(64000);
            x->dport = kind == 2 ? 1 + uniform(1024) : 20 + x->service;
            x->has_start = uniform(10) != 0;
            t += kind ? (int64_t)(rnd() % (MS_NS / 2)) : gap;
            if (uniform(100) == 0) /* a small step back */
                t -= (int64_t)(rnd() % (150 * MS_NS));
            x->time_ns = t;
            x->rec = record_of(x, (int64_t)(rnd() % (5000 * MS_NS)), (int64_t)(rnd() % 100000));
        }
    }
}

/* ---- the reference: the definitions of kdd_window.h, directly ---- */

/* Sizes of the sets of kdd_window.h for one connection. */
typedef struct ref_sets {
    int64_t td, td_serror, td_rerror, td_same_srv;
    int64_t ts, ts_serror, ts_rerror, ts_same_dst;
    int64_t wd, wd_same_srv, wd_same_sport, wd_serror, wd_rerror;
    int64_t ws, ws_same_dst, ws_serror, ws_rerror;
} ref_sets;

static bool is_serror(int flag) { return flag == S0 || flag == S1 || flag == S2 || flag == S3; }

/** k / n, 0 when n is 0. */
static double frac(int64_t k, int64_t n)
{
    return n ? (double)k / (double)n : 0.0;
}

static int64_t cap(int64_t n, int64_t max) { return n < max ? n : max; }

/** wtime of every connection: max(time_ns, the previous one's). */
static void ref_wtimes(const conn *c, size_t n, int64_t *wtime)
{
    for (size_t i = 0; i < n; i++)
        wtime[i] = i == 0 || c[i].time_ns > wtime[i - 1] ? c[i].time_ns : wtime[i - 1];
}

/** The sets of connection i (seq i + 1): every d before it, scanned. */
static ref_sets ref_scan(const conn *c, const int64_t *wtime, size_t i, int64_t h)
{
    ref_sets s = {0};
    const conn *x = &c[i];
    int64_t seq = (int64_t)i + 1;
    for (size_t j = 0; j <= i; j++) {
        const conn *d = &c[j];
        bool in_t = wtime[j] > wtime[i] - 2000000000LL;
        bool in_w = (int64_t)j + 1 > seq - h;
        bool same_dst = d->host == x->host, same_srv = d->service == x->service;
        if (in_t && same_dst) {
            s.td++;
            s.td_serror += is_serror(d->flag);
            s.td_rerror += d->flag == REJ;
            s.td_same_srv += same_srv;
        }
        if (in_t && same_srv) {
            s.ts++;
            s.ts_serror += is_serror(d->flag);
            s.ts_rerror += d->flag == REJ;
            s.ts_same_dst += same_dst;
        }
        if (in_w && same_dst) {
            s.wd++;
            s.wd_same_srv += same_srv;
            s.wd_same_sport += d->sport == x->sport;
            s.wd_serror += is_serror(d->flag);
            s.wd_rerror += d->flag == REJ;
        }
        if (in_w && same_srv) {
            s.ws++;
            s.ws_same_dst += same_dst;
            s.ws_serror += is_serror(d->flag);
            s.ws_rerror += d->flag == REJ;
        }
    }
    return s;
}

/** Field name of record rec (which must have it). */
static const sx_value *field(const sx_value *rec, const char *name)
{
    const sx_value *v = sx_value_field(rec, name);
    CHECK(v, name);
    return v;
}

/** The record f_serviceWindow must return for connection i. */
static sx_value ref_record(const conn *c, size_t i, const ref_sets *sets)
{
    const ref_sets s = *sets;
    const sx_value *in = &c[i].rec;
    double same_srv = frac(s.td_same_srv, s.td), host_same_srv = frac(s.wd_same_srv, s.wd);
    sx_value v[41];
    const char *copied[9] = {"duration", "protocol_type", "service", "flag", "src_bytes",
                             "dst_bytes", "land", "wrong_fragment", "urgent"};
    for (int k = 0; k < 9; k++)
        v[k] = sx_value_copy(field(in, copied[k]));
    for (int k = 9; k < 22; k++)
        v[k] = sx_value_int(0);
    v[22] = sx_value_int(cap(s.td, 511));
    v[23] = sx_value_int(cap(s.ts, 511));
    v[24] = sx_value_float(frac(s.td_serror, s.td));
    v[25] = sx_value_float(frac(s.ts_serror, s.ts));
    v[26] = sx_value_float(frac(s.td_rerror, s.td));
    v[27] = sx_value_float(frac(s.ts_rerror, s.ts));
    v[28] = sx_value_float(same_srv);
    v[29] = sx_value_float(s.td ? 1.0 - same_srv : 0.0);
    v[30] = sx_value_float(frac(s.ts - s.ts_same_dst, s.ts));
    v[31] = sx_value_int(cap(s.wd, 255));
    v[32] = sx_value_int(cap(s.ws, 255));
    v[33] = sx_value_float(host_same_srv);
    v[34] = sx_value_float(s.wd ? 1.0 - host_same_srv : 0.0);
    v[35] = sx_value_float(frac(s.wd_same_sport, s.wd));
    v[36] = sx_value_float(frac(s.ws - s.ws_same_dst, s.ws));
    v[37] = sx_value_float(frac(s.wd_serror, s.wd));
    v[38] = sx_value_float(frac(s.ws_serror, s.ws));
    v[39] = sx_value_float(frac(s.wd_rerror, s.wd));
    v[40] = sx_value_float(frac(s.ws_rerror, s.ws));
    const char *ids[] = {"src", "sport", "dst", "dport", "start_ns", "time_ns"};
    uint32_t n = 41 + 6 + (c[i].has_start ? 1 : 0);
    sx_value r = sx_value_record(n);
    uint32_t k = 0;
    for (; k < 41; k++)
        sx_value_list_set(&r, k, fn_kdd_feature_name(k), v[k]);
    for (size_t j = 0; j < 6; j++)
        if (strcmp(ids[j], "start_ns") != 0 || c[i].has_start)
            sx_value_list_set(&r, k++, ids[j], sx_value_copy(field(in, ids[j])));
    sx_value_list_set(&r, k++, "seq", sx_value_int((int64_t)i + 1));
    return r;
}

/** The reference records of the whole stream for H = h (caller frees),
 *  and how often the caps were reached. */
static sx_value *ref_all(const conn *c, size_t n, int64_t h, size_t *over511, size_t *over255)
{
    int64_t *wtime = calloc(n, sizeof *wtime);
    sx_value *want = calloc(n, sizeof *want);
    CHECK(wtime && want, "out of memory");
    ref_wtimes(c, n, wtime);
    *over511 = *over255 = 0;
    for (size_t i = 0; i < n; i++) {
        ref_sets s = ref_scan(c, wtime, i, h);
        *over511 += s.td > 511 || s.ts > 511;
        *over255 += s.wd > 255 || s.ws > 255;
        want[i] = ref_record(c, i, &s);
    }
    free(wtime);
    return want;
}

/** Releases n values and the array. */
static void values_free(sx_value *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        sx_value_release(&v[i]);
    free(v);
}

/** Checks got against want for connection i; prints both when they differ. */
static void expect_record(const char *test, size_t i, const sx_value *want, const sx_value *got)
{
    if (sx_value_equal(want, got))
        return;
    fprintf(stderr, "FAIL %s: connection %zu (seq %zu) differs\n--- expected\n", test, i, i + 1);
    sx_value_print(stderr, want);
    fputs("\n--- got\n", stderr);
    sx_value_print(stderr, got);
    fputc('\n', stderr);
    exit(1);
}

/* ---- (a) the three functions called directly ---- */

/* The functions and one state per key, as the evaluator keeps them. */
typedef struct direct {
    const analog_fn_def *seq, *host, *service;
    void *seq_state, *host_state[HOSTS], *service_state[SERVICES];
} direct;

static void direct_init(direct *d)
{
    memset(d, 0, sizeof *d);
    d->seq = analog_fn_lookup("f_connSequence");
    d->host = analog_fn_lookup("f_hostWindow");
    d->service = analog_fn_lookup("f_serviceWindow");
    CHECK(d->seq && d->host && d->service, "the three functions are registered");
    d->seq_state = d->seq->state_new();
    for (int i = 0; i < HOSTS; i++)
        d->host_state[i] = d->host->state_new();
    for (int i = 0; i < SERVICES; i++)
        d->service_state[i] = d->service->state_new();
}

static void direct_free(direct *d)
{
    d->seq->state_free(d->seq_state);
    for (int i = 0; i < HOSTS; i++)
        d->host->state_free(d->host_state[i]);
    for (int i = 0; i < SERVICES; i++)
        d->service->state_free(d->service_state[i]);
}

/* Hot path of the timing: three calls as the evaluator makes them. */
/** Runs c through the three stages; *out gets the feature record. */
static void direct_one(direct *d, const conn *c, sx_value *out)
{
    char err[256] = "";
    analog_fn_ctx ctx = {.workers = 1, .state = d->seq_state, .err = err, .errlen = sizeof err};
    sx_value seq, host, args[2];
    int rc = d->seq->call(&ctx, &c->rec, 1, &seq);
    CHECK(rc == 0, err);
    args[0] = seq;
    args[1] = *sx_value_field(&seq, "dst");
    ctx.state = d->host_state[c->host];
    rc = d->host->call(&ctx, args, 2, &host);
    CHECK(rc == 0, err);
    args[0] = host;
    args[1] = *sx_value_field(&host, "service");
    ctx.state = d->service_state[c->service];
    sx_value list;
    rc = d->service->call(&ctx, args, 2, &list);
    CHECK(rc == 0, err);
    CHECK(list.kind == SX_LIST && list.u.list->n == 1, "in seq order, one record per call");
    *out = sx_value_copy(&list.u.list->items[0]);
    sx_value_release(&list);
    sx_value_release(&seq);
    sx_value_release(&host);
}

/** Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Sets a setting or fails. */
static void set(const char *name, const char *value)
{
    char err[200];
    CHECK(analog_setting_set(name, value, err, sizeof err) == 0, err);
}

/** (a): every feature of every connection equals the reference, H = h. */
static void test_direct(const conn *c, size_t n, int64_t h)
{
    char hv[32], test[64];
    snprintf(hv, sizeof hv, "%" PRId64, h);
    snprintf(test, sizeof test, "direct.h%" PRId64, h);
    set("kdd.host_window", hv);
    size_t over511, over255;
    sx_value *want = ref_all(c, n, h, &over511, &over255);
    CHECK(over511 > 0, "the stream reaches the cap of count/srv_count (511)");
    CHECK(h < 255 || over255 > 0, "the stream reaches the cap of dst_host_count (255)");
    direct d;
    direct_init(&d);
    for (size_t i = 0; i < n; i++) {
        sx_value got;
        direct_one(&d, &c[i], &got);
        expect_record(test, i, &want[i], &got);
        fn_kdd_record r;
        char err[200];
        CHECK(fn_kdd_from_value(&got, &r, err, sizeof err) == 0, err); /* what the SVM reads */
        sx_value_release(&got);
    }
    direct_free(&d);
    values_free(want, n);
    printf("ok %s: %zu connections equal the reference (%zu over 511, %zu over 255)\n", test,
           n, over511, over255);
}

/** Times the direct path: the best of three runs over the stream, each
 *  result released at once (as a pipeline passes it on). */
static void time_direct(const conn *c, size_t n)
{
    set("kdd.host_window", "100");
    double best = 1e30;
    for (int run = 0; run < 3; run++) {
        direct d;
        direct_init(&d);
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            sx_value got;
            direct_one(&d, &c[i], &got);
            sx_value_release(&got);
        }
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
        direct_free(&d);
    }
    printf("ok speed: %.0f connections/s through the three functions, one thread "
           "(%.2f us per connection)\n", (double)n / best, best * 1e6 / (double)n);
}

/* ---- (b) a whole ANALOG program at 8 threads ---- */

static const char *pipeline_src =
    "component sequence(serial) {\n"
    "s1 conn_seq(@N, C, D) :- conn(@N, R), C = f_connSequence(R), D = f_field(C, \"dst\").\n"
    "}\n"
    "component hosts(parallel_context_order, context_keys(conn_seq(3))) {\n"
    "h1 conn_host(@N, H, S) :- conn_seq(@N, C, D), H = f_hostWindow(C, D),\n"
    "  S = f_field(H, \"service\").\n"
    "}\n"
    "component services(parallel_context_order, context_keys(conn_host(3))) {\n"
    "v1 kdd(@N, F) :- conn_host(@N, H, S), F = f_serviceWindow(H, S).\n"
    "}\n";

/* What the sink collected: the feature records, by connection. */
typedef struct collected {
    pthread_mutex_t mu; /* the sink may run on any worker */
    size_t *first;      /* by token: its first connection */
    size_t *count;      /* by token: its connections */
    size_t tokens;
    sx_value *got;      /* by connection */
    size_t bad;         /* outputs that were not kdd(@N, F) where expected */
} collected;

/** Pipeline sink: keeps each feature record under its seq, which must
 *  be one of its token's connections (within a token the records come
 *  grouped by key, not in seq order). */
static void sink(void *arg, const sx_batch *b)
{
    collected *col = arg;
    pthread_mutex_lock(&col->mu);
    for (uint32_t k = 0; k < b->n; k++) {
        const sx_tuple *t = &b->tuples[k];
        const sx_value *seq = t->n == 2 ? sx_value_field(&t->vals[1], "seq") : NULL;
        size_t i = seq && seq->kind == SX_INT ? (size_t)seq->u.i - 1 : SIZE_MAX;
        if (!sx_tuple_is(t, "kdd") || b->token >= col->tokens || i < col->first[b->token] ||
            i - col->first[b->token] >= col->count[b->token] || col->got[i].kind != SX_NULL) {
            col->bad++;
            continue;
        }
        col->got[i] = sx_value_copy(&t->vals[1]);
    }
    pthread_mutex_unlock(&col->mu);
}

/** Parses, checks and plans pipeline_src (or fails). */
static analog_plan *plan_pipeline(void)
{
    const char *sources[] = {"conn"};
    analog_diag *d = analog_diag_new();
    analog_program *p = analog_parse("kdd.analog", pipeline_src, strlen(pipeline_src), d);
    analog_plan *plan = NULL;
    if (p && analog_check(p, NULL, 0, sources, 1, d) == 0)
        plan = analog_plan_new(p, NULL, NULL, 0, d);
    if (!plan)
        analog_diag_print(d, stderr);
    analog_program_destroy(&p);
    analog_diag_destroy(&d);
    CHECK(plan, "the pipeline program plans");
    return plan;
}

/** Injects a heartbeat at packet time t_ns (the end of input when eof). */
static void heartbeat(sx_pipeline *pl, int64_t t_ns, bool eof)
{
    sx_batch *b = sx_batch_new(0);
    b->time_ns = t_ns;
    b->flags = SX_BATCH_HEARTBEAT | (eof ? SX_BATCH_EOF : 0u);
    sx_pipeline_inject(pl, b);
}

/** Injects c[0..n), 1 to 44 connections per token and a heartbeat
 *  every 500 connections, into a fresh runtime of threads workers
 *  running plan; fills col. */
static void pipeline_run(analog_plan *plan, const conn *c, size_t n, unsigned threads,
                         collected *col)
{
    sx_runtime_opts o;
    sx_runtime_opts_default(&o);
    o.threads = threads;
    o.tokens = 256;
    char err[256];
    sx_runtime *rt = sx_runtime_new(&o, err, sizeof err);
    CHECK(rt, err);
    sx_pipeline *pl = sx_pipeline_new(rt, "kdd");
    CHECK(pl, "pipeline");
    analog_plan_set_workers(plan, sx_runtime_threads(rt));
    CHECK(analog_plan_install(plan, pl, err, sizeof err) == 0, err);
    sx_pipeline_set_sink(pl, sink, col);
    CHECK(sx_runtime_start(rt, err, sizeof err) == 0, err);
    /* tokens count from 1; a token's batch is laid out before it is
     * injected, so the sink never sees one it does not know */
    size_t i = 0, beat = 500;
    for (uint64_t token = 1; i < n; token++) {
        if (i >= beat) {
            heartbeat(pl, c[i - 1].time_ns, false);
            beat += 500;
            token++;
        }
        /* mostly 1 to 3 connections, as packets end them; now and then
         * many, as a heartbeat's idle expiry ends them */
        size_t k = uniform(10) ? 1 + (size_t)uniform(3) : 5 + (size_t)uniform(40);
        if (k > n - i)
            k = n - i;
        CHECK(token < col->tokens, "token table");
        pthread_mutex_lock(&col->mu);
        col->first[token] = i;
        col->count[token] = k;
        pthread_mutex_unlock(&col->mu);
        sx_batch *b = sx_batch_new(0);
        b->time_ns = c[i].time_ns;
        for (size_t j = 0; j < k; j++) {
            sx_tuple *t = sx_batch_add(b, "conn", 2);
            t->vals[0] = sx_value_cstr("n");
            t->vals[1] = sx_value_copy(&c[i + j].rec);
        }
        CHECK(sx_pipeline_inject(pl, b) == token, "tokens are 1, 2, 3, ...");
        i += k;
    }
    heartbeat(pl, c[n - 1].time_ns, true);
    CHECK(sx_pipeline_finish(pl) == 0, "finish");
    sx_runtime_destroy(&rt);
}

/** (b): the program at threads workers equals the reference. */
static void test_pipeline(const conn *c, size_t n, unsigned threads)
{
    set("kdd.host_window", "100");
    size_t over511, over255;
    sx_value *want = ref_all(c, n, 100, &over511, &over255);
    collected col = {.tokens = n + n / 500 + 3};
    pthread_mutex_init(&col.mu, NULL);
    col.first = calloc(col.tokens, sizeof *col.first);
    col.count = calloc(col.tokens, sizeof *col.count);
    col.got = calloc(n, sizeof *col.got);
    CHECK(col.first && col.count && col.got, "out of memory");
    analog_plan *plan = plan_pipeline();
    uint64_t gaps = analog_counter_get("kdd.window_gaps");
    uint64_t held = analog_counter_get("kdd.window_held");
    double t0 = now_s();
    pipeline_run(plan, c, n, threads, &col);
    double dt = now_s() - t0;
    for (uint32_t k = 0; k < 3; k++) {
        analog_plan_stats st;
        CHECK(analog_plan_stats_get(plan, k, &st) == 0, "component stats");
        CHECK(st.fn_errors == 0 && st.type_errors == 0, "no function fails in the pipeline");
    }
    analog_plan_destroy(&plan);
    CHECK(col.bad == 0, "every output is kdd(@N, F), one per connection, in its token");
    CHECK(analog_counter_get("kdd.window_gaps") == gaps, "no connection lost its predecessor");
    held = analog_counter_get("kdd.window_held") - held;
    CHECK(held > 0, "some tokens came back from the host component in another order");
    char test[64];
    snprintf(test, sizeof test, "pipeline.t%u", threads);
    for (size_t i = 0; i < n; i++)
        expect_record(test, i, &want[i], &col.got[i]);
    values_free(want, n);
    values_free(col.got, n);
    free(col.first);
    free(col.count);
    pthread_mutex_destroy(&col.mu);
    printf("ok %s: %zu connections through serial -> host -> service components equal the "
           "reference; %" PRIu64 " held back for their predecessor (%.0f connections/s on this "
           "machine)\n",
           test, n, held, (double)n / dt);
}

/* ---- the cap, and bad input ---- */

/** kdd.window_max_entries reached: entries dropped and counted, every
 *  call still succeeds, and no window holds more than the cap. */
static void test_overflow(const conn *c, size_t n)
{
    set("kdd.host_window", "100");
    set("kdd.window_max_entries", "64");
    uint64_t before = analog_counter_get("kdd.window_overflow");
    direct d;
    direct_init(&d);
    for (size_t i = 0; i < n; i++) {
        sx_value out;
        direct_one(&d, &c[i], &out);
        CHECK(field(&out, "count")->u.i <= 64 && field(&out, "srv_count")->u.i <= 64,
              "a window holds at most kdd.window_max_entries");
        sx_value_release(&out);
    }
    direct_free(&d);
    uint64_t dropped = analog_counter_get("kdd.window_overflow") - before;
    CHECK(dropped > 0, "drops at the cap are counted in kdd.window_overflow");
    set("kdd.window_max_entries", "1000000");
    printf("ok overflow: %" PRIu64 " entries dropped at a cap of 64, counted\n", dropped);
}

/** f_name(args) must fail with a message containing want. */
static void expect_error(const char *name, const sx_value *args, uint32_t nargs, void *state,
                         const char *want)
{
    char err[256];
    sx_value r;
    int rc = fn_call(name, args, nargs, 0, state, &r, err, sizeof err);
    sx_value_release(&r);
    if (rc != -1 || !strstr(err, want)) {
        fprintf(stderr, "FAIL errors: %s: want an error with \"%s\", got rc %d \"%s\"\n", name,
                want, rc, err);
        exit(1);
    }
}

/** A copy of rec without the fields named in skip (NULL-ended). */
static sx_value record_without(const sx_value *rec, const char *const *skip)
{
    const sx_list *l = rec->u.list;
    uint32_t keep = 0;
    bool drop[64] = {false};
    for (uint32_t i = 0; i < l->n; i++) {
        for (const char *const *s = skip; *s; s++)
            if (!strcmp((const char *)l->names[i]->data, *s))
                drop[i] = true;
        keep += !drop[i];
    }
    sx_value r = sx_value_record(keep);
    for (uint32_t i = 0, k = 0; i < l->n; i++)
        if (!drop[i])
            sx_value_list_set(&r, k++, (const char *)l->names[i]->data,
                              sx_value_copy(&l->items[i]));
    return r;
}

/** Bad records and arguments are refused, naming what is wrong. */
static void test_errors(const conn *c)
{
    direct d;
    direct_init(&d);
    sx_value num = sx_value_int(7);
    expect_error("f_connSequence", &num, 1, d.seq_state, "argument 1 must be a connection record");
    const char *skip[] = {"flag", "urgent", NULL};
    sx_value lacking = record_without(&c[0].rec, skip);
    expect_error("f_connSequence", &lacking, 1, d.seq_state, "the record lacks flag, urgent");
    sx_value_release(&lacking);

    /* two good connections to host 0 */
    sx_value first, second, r;
    char err[256];
    CHECK(fn_call("f_connSequence", &c[0].rec, 1, 0, d.seq_state, &first, err, sizeof err) == 0,
          err);
    CHECK(fn_call("f_connSequence", &c[1].rec, 1, 0, d.seq_state, &second, err, sizeof err) == 0,
          err);
    expect_error("f_connSequence", &first, 1, d.seq_state, "numbered already");

    sx_value args[2] = {first, ip_of(9, 9)};
    expect_error("f_hostWindow", args, 2, d.host_state[0], "must be the record's dst");
    sx_value_release(&args[1]);
    args[0] = c[0].rec;
    args[1] = *field(&c[0].rec, "dst");
    expect_error("f_hostWindow", args, 2, d.host_state[0], "the record lacks seq, wtime_ns");

    /* the later connection first: the earlier one is then out of order */
    void *hs = d.host->state_new();
    args[0] = second;
    args[1] = *field(&second, "dst");
    CHECK(fn_call("f_hostWindow", args, 2, 0, hs, &r, err, sizeof err) == 0, err);
    sx_value_release(&r);
    uint64_t before = analog_counter_get("kdd.window_out_of_order");
    args[0] = first;
    args[1] = *field(&first, "dst");
    expect_error("f_hostWindow", args, 2, hs, "out of order");
    CHECK(analog_counter_get("kdd.window_out_of_order") == before + 1,
          "kdd.window_out_of_order counts the refusal");
    d.host->state_free(hs);

    /* f_serviceWindow wants f_hostWindow's features */
    args[0] = first;
    args[1] = *field(&first, "service");
    expect_error("f_serviceWindow", args, 2, d.service_state[0], "the record lacks count,");
    sx_value_release(&first);
    sx_value_release(&second);
    direct_free(&d);
    printf("ok errors\n");
}

/** A copy of rec with field name set to v (taken). */
static sx_value record_with(const sx_value *rec, const char *name, sx_value v)
{
    const sx_list *l = rec->u.list;
    sx_value r = sx_value_record(l->n);
    for (uint32_t i = 0; i < l->n; i++) {
        const char *fname = (const char *)l->names[i]->data;
        sx_value_list_set(&r, i, fname, strcmp(fname, name) ? sx_value_copy(&l->items[i])
                                                            : sx_value_copy(&v));
    }
    sx_value_release(&v);
    return r;
}

/** f_serviceWindow(H) with state; the records it returns must have the
 *  seqs want (0-ended), and equal ref[seq] where ref is given. */
static void expect_service(void *state, const sx_value *h, const int64_t *want,
                           const sx_value *ref)
{
    char err[256];
    sx_value args[2] = {*h, *field(h, "service")}, list;
    CHECK(fn_call("f_serviceWindow", args, 2, 0, state, &list, err, sizeof err) == 0, err);
    uint32_t n = 0;
    while (want[n])
        n++;
    CHECK(list.kind == SX_LIST && list.u.list->n == n, "f_serviceWindow: the records expected");
    for (uint32_t i = 0; i < n; i++) {
        const sx_value *r = &list.u.list->items[i];
        CHECK(field(r, "seq")->u.i == want[i], "f_serviceWindow: records in seq order");
        if (ref)
            expect_record("hold", (size_t)want[i] - 1, &ref[want[i]], r);
    }
    sx_value_release(&list);
}

/** Connections of one service that reach f_serviceWindow out of order
 *  (as a split token's do) are held back until their predecessor is
 *  counted; a lost predecessor releases them at a heartbeat, or when a
 *  connection whose predecessors are all older (srv_prev_seq 0) comes. */
static void test_hold(void)
{
    enum { K = 4 };
    conn x[K + 1];
    sx_value h[K + 1], ref[K + 1];
    const analog_fn_def *svc = analog_fn_lookup("f_serviceWindow");
    void *seq_state = analog_fn_lookup("f_connSequence")->state_new();
    void *host_state[K + 1];
    char err[256];
    for (int i = 1; i <= K; i++) { /* four http connections, hosts 1 2 1 3 */
        x[i] = (conn){.time_ns = T0_NS + i * MS_NS, .host = i == 3 ? 1 : i, .service = 0,
                      .src = 7, .flag = i == 2 ? S0 : SF, .sport = 2000 + i, .dport = 80};
        x[i].rec = record_of(&x[i], 1000, 10);
        sx_value c;
        CHECK(fn_call("f_connSequence", &x[i].rec, 1, 0, seq_state, &c, err, sizeof err) == 0,
              err);
        CHECK(field(&c, "srv_prev_seq")->u.i == i - 1, "srv_prev_seq: the service's last one");
        host_state[i] = analog_fn_lookup("f_hostWindow")->state_new();
        sx_value args[2] = {c, *field(&c, "dst")};
        CHECK(fn_call("f_hostWindow", args, 2, 0, host_state[i], &h[i], err, sizeof err) == 0,
              err);
        sx_value_release(&c);
    }
    void *in_order = svc->state_new(), *shuffled = svc->state_new();
    for (int i = 1; i <= K; i++) {
        sx_value args[2] = {h[i], *field(&h[i], "service")}, list;
        CHECK(fn_call("f_serviceWindow", args, 2, 0, in_order, &list, err, sizeof err) == 0, err);
        CHECK(list.u.list->n == 1, "in order: one record per call");
        ref[i] = sx_value_copy(&list.u.list->items[0]);
        sx_value_release(&list);
    }
    /* 2 1 4 3: each waits for its predecessor, then comes right after it */
    expect_service(shuffled, &h[2], (int64_t[]){0}, ref);
    expect_service(shuffled, &h[1], (int64_t[]){1, 2, 0}, ref);
    expect_service(shuffled, &h[4], (int64_t[]){0}, ref);
    expect_service(shuffled, &h[3], (int64_t[]){3, 4, 0}, ref);

    /* 2 lost: 3 and 4 wait until a heartbeat releases them, one gap */
    uint64_t gaps = analog_counter_get("kdd.window_gaps");
    void *lost = svc->state_new();
    expect_service(lost, &h[1], (int64_t[]){1, 0}, ref);
    expect_service(lost, &h[4], (int64_t[]){0}, NULL);
    expect_service(lost, &h[3], (int64_t[]){0}, NULL);
    analog_fn_ctx ctx = {.workers = 1, .state = lost, .err = err, .errlen = sizeof err};
    sx_value list = sx_value_null();
    CHECK(svc->drain(&ctx, false, &list) == 0, "the drain keeps the window");
    CHECK(list.kind == SX_LIST && list.u.list->n == 2 &&
              field(&list.u.list->items[0], "seq")->u.i == 3 &&
              field(&list.u.list->items[1], "seq")->u.i == 4,
          "a heartbeat releases the held connections in seq order");
    sx_value_release(&list);
    CHECK(svc->drain(&ctx, false, &list) == 0 && list.kind == SX_NULL, "then nothing is due");
    CHECK(analog_counter_get("kdd.window_gaps") == gaps + 1, "the gap is counted");

    /* 2 lost, 3 held; 4 says its predecessors are all older: 3 goes first */
    void *older = svc->state_new();
    sx_value h4 = record_with(&h[4], "srv_prev_seq", sx_value_int(0));
    expect_service(older, &h[1], (int64_t[]){1, 0}, ref);
    expect_service(older, &h[3], (int64_t[]){0}, NULL);
    expect_service(older, &h4, (int64_t[]){3, 4, 0}, NULL);
    CHECK(analog_counter_get("kdd.window_gaps") == gaps + 2, "that gap is counted too");
    sx_value_release(&h4);

    /* a state freed while holding: its final drain releases everything */
    void *final = svc->state_new();
    expect_service(final, &h[2], (int64_t[]){0}, NULL);
    ctx.state = final;
    CHECK(svc->drain(&ctx, true, &list) == 1 && list.u.list->n == 1, "the final drain");
    sx_value_release(&list);

    void *states[] = {in_order, shuffled, lost, older, final};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        svc->state_free(states[i]);
    for (int i = 1; i <= K; i++) {
        analog_fn_lookup("f_hostWindow")->state_free(host_state[i]);
        sx_value_release(&x[i].rec);
        sx_value_release(&h[i]);
        sx_value_release(&ref[i]);
    }
    analog_fn_lookup("f_connSequence")->state_free(seq_state);
    printf("ok hold: out-of-order connections of a service wait for their predecessor\n");
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 20000;
    CHECK(n >= 2000, "at least 2000 connections (the floods must fit)");
    conn *c = calloc(n, sizeof *c);
    CHECK(c, "out of memory");
    stream_make(c, n);
    if (argc > 2 && !strcmp(argv[2], "speed")) { /* the timing alone, for profiling */
        time_direct(c, n);
        for (size_t i = 0; i < n; i++)
            sx_value_release(&c[i].rec);
        free(c);
        return 0;
    }
    test_errors(c);
    test_hold();
    test_direct(c, n, 100);
    test_direct(c, n, 300);
    time_direct(c, n);
    test_pipeline(c, n, 8);
    test_overflow(c, n);
    for (size_t i = 0; i < n; i++)
        sx_value_release(&c[i].rec);
    free(c);
    return 0;
}
