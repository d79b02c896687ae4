/*
 * test_eval.c -- tests of the ANALOG planner and rule evaluator.
 *
 * Each test is the way a caller uses them: parse and check a program
 * from a string, plan it with its --param values, install it into a
 * runtime pipeline, inject one batch per input tuple, and compare what
 * the sink receives (one "TOKEN: tuple" line per output, in token order)
 * with the expected text. Exit status 0 on success; a failing check
 * prints what it expected and what it got.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/runtime.h"
#include "analog/checker.h"
#include "analog/functions.h"
#include "analog/parser.h"
#include "analog/planner.h"
#include "analog/settings.h"

#define MAX_INPUTS 4096
#define MAX_VALS 12
/* An input at packet time 0, and at time T. */
#define IN(rel, ...) {rel, {__VA_ARGS__}, 0}
#define IN_AT(t, rel, ...) {rel, {__VA_ARGS__}, t}

/* An input tuple: relation and values written "s:text", "i:12", "f:1.5". */
typedef struct input {
    const char *rel;
    const char *vals[MAX_VALS];
    int64_t time_ns;
} input;

/* What the sink collected, per token. */
typedef struct collected {
    pthread_mutex_t mu; /* the sink may run on any worker */
    char *lines[MAX_INPUTS + 1];
} collected;

static int failures;

/** Reports a failed check. */
static void fail(const char *test, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s: ", test);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

/** Compares got with want. */
static void expect_text(const char *test, const char *want, const char *got)
{
    if (strcmp(want, got) != 0)
        fail(test, "output differs\n--- expected\n%s--- got\n%s---", want, got);
    else
        printf("ok %s\n", test);
}

/* ---- a stateful test function: f_count(X) counts calls per key ---- */

typedef struct counter {
    int64_t n;
} counter;

static void *count_new(void) { return calloc(1, sizeof(counter)); }
static void count_free(void *s) { free(s); }

static int count_call(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    counter *c = ctx->state;
    *result = sx_value_int(++c->n);
    return 0;
}

static const analog_fn_def count_def = {
    .name = "f_testCount", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_STATEFUL,
    .call = count_call, .state_new = count_new, .state_free = count_free,
    .idle_timeout_ns = 1000, .summary = "test: calls so far for this context key",
};
ANALOG_FN_REGISTER(count_def)

/* ---- a multi-valued function with a drain hook: f_testSession(K, X)
 * returns [X] (and X*10 too when X is even; nothing for 0); at a
 * heartbeat a key idle over 500 ns gives "timeout:K:SUM" and is done;
 * the final drain gives "final:K:SUM" ---- */

typedef struct session {
    char key[16];
    int64_t sum, last_ns;
} session;

static void *session_new(void) { return calloc(1, sizeof(session)); }
static void session_free(void *s) { free(s); }

static int session_call(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                        sx_value *result)
{
    session *s = ctx->state;
    int64_t x = args[1].kind == SX_INT ? args[1].u.i : 0;
    if (args[0].kind == SX_STR && args[0].u.blob)
        snprintf(s->key, sizeof s->key, "%.*s", (int)args[0].u.blob->len,
                 (const char *)args[0].u.blob->data);
    s->sum += x;
    s->last_ns = ctx->now_ns;
    uint32_t n = x == 0 ? 0 : x % 2 == 0 ? 2 : 1;
    *result = sx_value_list(n);
    if (n >= 1)
        sx_value_list_set(result, 0, NULL, sx_value_int(x));
    if (n == 2)
        sx_value_list_set(result, 1, NULL, sx_value_int(x * 10));
    return 0;
}

static int session_drain(analog_fn_ctx *ctx, bool final, sx_value *result)
{
    session *s = ctx->state;
    if (!final && ctx->now_ns - s->last_ns <= 500)
        return 0;
    char text[64];
    snprintf(text, sizeof text, "%s:%s:%" PRId64, final ? "final" : "timeout", s->key, s->sum);
    *result = sx_value_cstr(text);
    return 1;
}

static const analog_fn_def session_def = {
    .name = "f_testSession", .min_args = 2, .max_args = 2,
    .flags = ANALOG_FN_STATEFUL | ANALOG_FN_MULTI, .call = session_call,
    .state_new = session_new, .state_free = session_free, .drain = session_drain,
    .idle_timeout_ns = 1000000, .summary = "test: a list per call, timeouts at heartbeats",
};
ANALOG_FN_REGISTER(session_def)

/* ---- running a program ---- */

/** The value written as "s:text", "i:12" or "f:1.5". */
static sx_value parse_val(const char *s)
{
    switch (s[0]) {
    case 'i': return sx_value_int(strtoll(s + 2, NULL, 10));
    case 'f': return sx_value_float(strtod(s + 2, NULL));
    default: return sx_value_cstr(s + 2);
    }
}

/** Pipeline sink: keeps the batch's tuples as text under its token. */
static void sink(void *arg, const sx_batch *b)
{
    collected *c = arg;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    for (uint32_t i = 0; i < b->n; i++) {
        fprintf(m, "%" PRIu64 ": ", b->token);
        sx_tuple_print(m, &b->tuples[i]);
        fputc('\n', m);
    }
    fclose(m);
    pthread_mutex_lock(&c->mu);
    if (b->token <= MAX_INPUTS && !c->lines[b->token])
        c->lines[b->token] = text;
    else
        free(text);
    pthread_mutex_unlock(&c->mu);
}

/** Parses, checks and plans src; NULL with the diagnostics in *diag_text. */
static analog_plan *plan_src(const char *src, const char *const *pn, const char *const *pv,
                             size_t np, const input *in, size_t nin, char **diag_text)
{
    const char *sources[16];
    size_t nsources = 0;
    for (size_t i = 0; i < nin && nsources < 16; i++) {
        size_t k = 0;
        while (k < nsources && strcmp(sources[k], in[i].rel))
            k++;
        if (k == nsources)
            sources[nsources++] = in[i].rel;
    }
    analog_diag *d = analog_diag_new();
    analog_program *p = analog_parse("test.analog", src, strlen(src), d);
    analog_plan *plan = NULL;
    if (p && analog_check(p, pn, np, sources, nsources, d) == 0)
        plan = analog_plan_new(p, pn, pv, np, d);
    size_t len;
    FILE *m = open_memstream(diag_text, &len);
    analog_diag_print(d, m);
    fclose(m);
    analog_program_destroy(&p);
    analog_diag_destroy(&d);
    return plan;
}

/** Injects every input into a fresh runtime running plan; returns the
 *  outputs as text (the caller frees). */
static char *run_plan(analog_plan *plan, const input *in, size_t nin, unsigned threads)
{
    static collected col;
    memset(col.lines, 0, sizeof col.lines);
    pthread_mutex_init(&col.mu, NULL);
    sx_runtime_opts o;
    sx_runtime_opts_default(&o);
    o.threads = threads;
    o.tokens = 64;
    char err[256];
    sx_runtime *rt = sx_runtime_new(&o, err, sizeof err);
    sx_pipeline *pl = rt ? sx_pipeline_new(rt, "test") : NULL;
    if (rt)
        analog_plan_set_workers(plan, sx_runtime_threads(rt));
    if (!pl || analog_plan_install(plan, pl, err, sizeof err) != 0) {
        fprintf(stderr, "cannot build the pipeline: %s\n", err);
        exit(1);
    }
    sx_pipeline_set_sink(pl, sink, &col);
    if (sx_runtime_start(rt, err, sizeof err) != 0) {
        fprintf(stderr, "cannot start: %s\n", err);
        exit(1);
    }
    for (size_t i = 0; i < nin; i++) {
        sx_batch *b = sx_batch_new(0);
        b->time_ns = in[i].time_ns;
        if (!strcmp(in[i].rel, "HEARTBEAT") || !strcmp(in[i].rel, "EOF")) {
            b->flags = SX_BATCH_HEARTBEAT | (in[i].rel[0] == 'E' ? SX_BATCH_EOF : 0u);
            sx_pipeline_inject(pl, b);
            continue;
        }
        uint32_t n = 0;
        while (n < MAX_VALS && in[i].vals[n])
            n++;
        sx_tuple *t = sx_batch_add(b, in[i].rel, n);
        for (uint32_t k = 0; k < n; k++)
            t->vals[k] = parse_val(in[i].vals[k]);
        b->time_ns = in[i].time_ns;
        sx_pipeline_inject(pl, b);
    }
    sx_pipeline_finish(pl);
    sx_runtime_destroy(&rt);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    for (size_t t = 0; t <= MAX_INPUTS; t++) {
        if (col.lines[t])
            fputs(col.lines[t], m);
        free(col.lines[t]);
    }
    fclose(m);
    pthread_mutex_destroy(&col.mu);
    return text;
}

/** Plans and runs src (no params); stats of component 0 into *st if given. */
static char *run_src(const char *test, const char *src, const char *const *pn,
                     const char *const *pv, size_t np, const input *in, size_t nin,
                     unsigned threads, analog_plan_stats *st)
{
    char *diag = NULL;
    analog_plan *plan = plan_src(src, pn, pv, np, in, nin, &diag);
    if (!plan) {
        fail(test, "planning failed:\n%s", diag);
        free(diag);
        return strdup("");
    }
    free(diag);
    char *out = run_plan(plan, in, nin, threads);
    if (st)
        analog_plan_stats_get(plan, 0, st);
    analog_plan_destroy(&plan);
    return out;
}

/** Runs src and compares with want. */
static void expect_run(const char *test, const char *src, const input *in, size_t nin,
                       const char *want)
{
    char *got = run_src(test, src, NULL, NULL, 0, in, nin, 2, NULL);
    expect_text(test, want, got);
    free(got);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- tests ---- */

/** Three rules chained within one component; unmatched input passes. */
static void test_chain(void)
{
    const char *src =
        "component c(parallel) {\n"
        "r1 b(@N, X, Y) :- a(@N, X), Y = X + 1.\n"
        "r2 c(@N, Y, Z) :- b(@N, X, Y), Z = Y * 2.\n"
        "r3 d(@N, Z) :- c(@N, Y, Z), Z > 2.\n"
        "}\n";
    input in[] = {IN("a", "s:n", "i:1"), IN("a", "s:n", "i:5"), IN("x", "s:n", "s:pass"),
                  IN("a", "s:n", "i:0")};
    expect_run("chain", src, in, N(in),
               "1: d(\"n\", 4)\n2: d(\"n\", 12)\n3: x(\"n\", \"pass\")\n");
}

/** det1/det2: det2 consumes what det1 derives; a derived tuple that fails
 *  det2's body is dropped, since it triggered a rule. */
static const char *det_src(const char *kind, const char *assign, const char *fn)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "component det(%s, context_keys(tcp_stream(5))) {\n"
             "det1 detected(@N, PKT, FLOW, PROTO) :-\n"
             "  tcp_stream(@N, PKT, S, D, FLOW, MSG), PROTO %s %s(MSG).\n"
             "det2 smtp_segment(@N, PKT, FLOW, MSG) :-\n"
             "  detected(@N, PKT, FLOW, PROTO), PROTO == \"SMTP\", MSG = f_lower(PROTO).\n"
             "}\n",
             kind, assign, fn);
    return buf;
}

static const input det_in[] = {
    IN("tcp_stream", "s:n", "i:1", "s:a", "s:b", "i:7", "s:smtp"),
    IN("tcp_stream", "s:n", "i:2", "s:a", "s:b", "i:8", "s:http"),
    IN("other", "s:n", "i:3"),
    IN("tcp_stream", "s:n", "i:4", "s:a", "s:b", "i:7", "s:Smtp"),
};
static const char *det_want = "1: smtp_segment(\"n\", 1, 7, \"smtp\")\n"
                              "3: other(\"n\", 3)\n"
                              "4: smtp_segment(\"n\", 4, 7, \"smtp\")\n";

static void test_det(void)
{
    expect_run("det.canonical", det_src("parallel_context_order", "=", "f_upper"), det_in,
               N(det_in), det_want);
    expect_run("det.define", det_src("parallel_context_order", ":=", "f_upper"), det_in,
               N(det_in), det_want);
    expect_run("det.fn_case", det_src("parallel_context_order", "=", "f_Upper"), det_in,
               N(det_in), det_want);
    expect_run("det.serial_context_order", det_src("serial_context_order", ":=", "f_UPPER"),
               det_in, N(det_in), det_want);
    expect_run("det.ordered_spelling", det_src("parallel_context_ordered", "=", "f_upper"),
               det_in, N(det_in), det_want);
}

/** f_match in a parallel component, with a prepared constant pattern. */
static void test_match(void)
{
    const char *src =
        "component regex_match(parallel) {\n"
        "regex1 positive_match(@N, MAIL, MATCH) :-\n"
        "  smtp_mail(@N, MAIL), MATCH = f_match(MAIL, \"hel+o\"), MATCH == \"true\".\n"
        "}\n";
    input in[] = {IN("smtp_mail", "s:n", "s:say helllo"), IN("smtp_mail", "s:n", "s:bye"),
                  IN("smtp_mail", "s:n", "s:hello")};
    expect_run("match", src, in, N(in),
               "1: positive_match(\"n\", \"say helllo\", \"true\")\n"
               "3: positive_match(\"n\", \"hello\", \"true\")\n");
}

/** Arithmetic (int stays int, mixed goes float), comparisons, errors. */
static void test_arith(void)
{
    const char *src =
        "component c(serial) {\n"
        "r1 out(@N, A, B, C, D, E, F) :- num(@N, X, Y),\n"
        "  A = X + Y, B = X / Y, C = X % Y, D = X * 1.5, E = -X, F = (X - Y) * 2,\n"
        "  X < 100, X >= 2.0, Y != 3.\n"
        "r2 str(@N, S) :- s(@N, S), S > \"abc\", S <= \"abd\", S != \"x\".\n"
        "r3 mixed(@N, X) :- m(@N, X), X == 2.0.\n"
        "r4 bad(@N, X) :- t(@N, X), X < \"a\".\n"
        "}\n";
    input in[] = {
        IN("num", "s:n", "i:7", "i:2"),   /* all pass */
        IN("num", "s:n", "i:7", "i:0"),   /* division by zero: error, consumed */
        IN("num", "s:n", "i:1", "i:2"),   /* X >= 2.0 fails */
        IN("num", "s:n", "i:9", "i:3"),   /* Y != 3 fails */
        IN("s", "s:n", "s:abd"),          /* passes */
        IN("s", "s:n", "s:abc"),          /* not > "abc" */
        IN("m", "s:n", "i:2"),            /* int 2 == float 2.0 */
        IN("t", "s:n", "i:1"),            /* int < string: type error */
        IN("num", "s:n", "f:7.5", "i:2"), /* float arithmetic */
    };
    analog_plan_stats st;
    char *got = run_src("arith", src, NULL, NULL, 0, in, N(in), 2, &st);
    expect_text("arith", "1: out(\"n\", 9, 3, 1, 10.5, -7, 10)\n"
                         "5: str(\"n\", \"abd\")\n"
                         "7: mixed(\"n\", 2)\n"
                         "9: out(\"n\", 9.5, 3.75, 1.5, 11.25, -7.5, 11)\n",
                got);
    free(got);
    if (st.arith_errors != 1 || st.type_errors != 1)
        fail("arith.counters", "want 1 arithmetic and 1 type error, got %" PRIu64 " and %" PRIu64,
             st.arith_errors, st.type_errors);
}

/** $PARAM values: int, float, string. */
static void test_params(void)
{
    const char *src =
        "component c(parallel) {\n"
        "r1 out(@N, X, $LABEL, $RATE, L) :- a(@N, X), X > $MIN, L = X * $RATE.\n"
        "}\n";
    const char *pn[] = {"MIN", "LABEL", "RATE"};
    const char *pv[] = {"3", "hi there", "0.5"};
    input in[] = {IN("a", "s:n", "i:3"), IN("a", "s:n", "i:4")};
    char *got = run_src("params", src, pn, pv, 3, in, N(in), 2, NULL);
    expect_text("params", "2: out(\"n\", 4, \"hi there\", 0.5, 2)\n", got);
    free(got);
}

/** A rule that derives its own trigger stops at the derivation cap. */
static void test_cap(void)
{
    const char *src = "component c(parallel) {\n"
                      "r1 a(@N, X) :- a(@N, Y), X = Y + 1.\n"
                      "}\n";
    input in[] = {IN("a", "s:n", "i:0"), IN("b", "s:n", "i:0")};
    analog_plan_stats st;
    char *got = run_src("cap", src, NULL, NULL, 0, in, N(in), 2, &st);
    expect_text("cap", "2: b(\"n\", 0)\n", got);
    free(got);
    if (st.cap_hits != 1 || st.cap_dropped != 1 || st.fired != 10001)
        fail("cap.counters", "want 1 hit, 1 dropped, 10001 fired; got %" PRIu64 ", %" PRIu64
             ", %" PRIu64, st.cap_hits, st.cap_dropped, st.fired);
}

/** Stateful: per-key counts keyed on the 5th attribute; idle state expires. */
static void test_state(void)
{
    const char *src =
        "component c(parallel_context_order, context_keys(ev(5))) {\n"
        "r1 counted(@N, I, K, C) :- ev(@N, I, A, B, K), C = f_testCount(K).\n"
        "}\n";
    input in[] = {
        IN_AT(0, "ev", "s:n", "i:1", "s:a", "s:b", "s:k1"),
        IN_AT(100, "ev", "s:n", "i:2", "s:a", "s:b", "s:k2"),
        IN_AT(200, "ev", "s:n", "i:3", "s:a", "s:b", "s:k1"),
        IN_AT(900, "ev", "s:n", "i:4", "s:a", "s:b", "s:k1"),
        IN_AT(5000, "ev", "s:n", "i:5", "s:a", "s:b", "s:k1"), /* idle > 1000 ns: restarts */
        IN_AT(5100, "ev", "s:n", "i:6", "s:a", "s:b", "s:k1"),
    };
    analog_plan_stats st;
    char *got = run_src("state", src, NULL, NULL, 0, in, N(in), 4, &st);
    expect_text("state",
                "1: counted(\"n\", 1, \"k1\", 1)\n2: counted(\"n\", 2, \"k2\", 1)\n"
                "3: counted(\"n\", 3, \"k1\", 2)\n4: counted(\"n\", 4, \"k1\", 3)\n"
                "5: counted(\"n\", 5, \"k1\", 1)\n6: counted(\"n\", 6, \"k1\", 2)\n",
                got);
    free(got);
    if (st.state_expired < 1)
        fail("state.expired", "want an expired entry, got %" PRIu64, st.state_expired);

    /* the same function in a parallel component is a plan error */
    const char *bad = "component c(parallel) {\n"
                      "r1 counted(@N, C) :- ev(@N, K), C = f_testCount(K).\n"
                      "}\n";
    input bin[] = {IN("ev", "s:n", "i:1")};
    char *diag = NULL;
    analog_plan *plan = plan_src(bad, NULL, NULL, 0, bin, 1, &diag);
    if (plan || !strstr(diag, "test.analog:2:37: error") || !strstr(diag, "parallel_context_order"))
        fail("state.parallel", "want a plan error naming the kind, got:\n%s", diag);
    else
        printf("ok state.parallel\n");
    analog_plan_destroy(&plan);
    free(diag);
}

/** At the eval.state_entries cap the least recently used entry goes:
 *  with room for 2, k1 k2 k3 k1 counts k1 afresh (it was evicted by k3). */
static void test_state_cap(void)
{
    const char *src =
        "component c(serial_context_order, context_keys(ev(5))) {\n"
        "r1 counted(@N, I, K, C) :- ev(@N, I, A, B, K), C = f_testCount(K).\n"
        "}\n";
    input in[] = {
        IN_AT(0, "ev", "s:n", "i:1", "s:a", "s:b", "s:k1"),
        IN_AT(10, "ev", "s:n", "i:2", "s:a", "s:b", "s:k2"),
        IN_AT(20, "ev", "s:n", "i:3", "s:a", "s:b", "s:k3"),
        IN_AT(30, "ev", "s:n", "i:4", "s:a", "s:b", "s:k1"),
    };
    char err[200];
    if (analog_setting_set("eval.state_entries", "2", err, sizeof err) != 0) {
        fail("state.cap", "%s", err);
        return;
    }
    analog_plan_stats st;
    char *got = run_src("state.cap", src, NULL, NULL, 0, in, N(in), 2, &st);
    expect_text("state.cap",
                "1: counted(\"n\", 1, \"k1\", 1)\n2: counted(\"n\", 2, \"k2\", 1)\n"
                "3: counted(\"n\", 3, \"k3\", 1)\n4: counted(\"n\", 4, \"k1\", 1)\n",
                got);
    free(got);
    if (st.state_evicted != 2)
        fail("state.cap", "want 2 evictions, got %" PRIu64, st.state_evicted);
    if (analog_setting_set("eval.state_entries", "65536", err, sizeof err) != 0)
        fail("state.cap", "%s", err);
}

/** A multi-valued function fires its rule once per item; heartbeats
 *  drain what fell due (the rule goes on with the variables of the
 *  key's last call) and the end of input flushes the rest; the same at
 *  1 and 4 threads. A multi-valued call inside an expression is a plan
 *  error. */
static void test_heartbeat(void)
{
    const char *src =
        "component c(parallel_context_order, context_keys(ev(2))) {\n"
        "r1 out(@N, K, I, V) :- ev(@N, K, X, I), V = f_testSession(K, X).\n"
        "}\n"
        "component d(parallel) {\n"
        "r2 seen(@N, K, I, V) :- out(@N, K, I, V).\n"
        "}\n";
    input in[] = {
        IN_AT(0, "ev", "s:n", "s:k1", "i:1", "i:10"),
        IN_AT(100, "ev", "s:n", "s:k2", "i:2", "i:20"),
        IN_AT(200, "ev", "s:n", "s:k1", "i:0", "i:30"),
        IN_AT(700, "ev", "s:n", "s:k2", "i:3", "i:40"),
        IN_AT(1000, "HEARTBEAT", NULL),
        IN_AT(1100, "ev", "s:n", "s:k1", "i:4", "i:50"),
        IN_AT(1200, "EOF", NULL),
    };
    const char *want =
        "1: seen(\"n\", \"k1\", 10, 1)\n"
        "2: seen(\"n\", \"k2\", 20, 2)\n2: seen(\"n\", \"k2\", 20, 20)\n"
        "4: seen(\"n\", \"k2\", 40, 3)\n"
        "5: seen(\"n\", \"k1\", 30, \"timeout:k1:1\")\n"
        "6: seen(\"n\", \"k1\", 50, 4)\n6: seen(\"n\", \"k1\", 50, 40)\n";
    for (unsigned threads = 1; threads <= 4; threads += 3) {
        char *got = run_src("heartbeat", src, NULL, NULL, 0, in, N(in), threads, NULL);
        /* the final drains come in lane order: compare them as a set */
        char *eof = strstr(got, "7: ");
        size_t head = eof ? (size_t)(eof - got) : strlen(got);
        char test[64];
        snprintf(test, sizeof test, "heartbeat.t%u", threads);
        if (strncmp(got, want, head) != 0 || head != strlen(want))
            fail(test, "output differs\n--- expected\n%s--- got\n%s---", want, got);
        else if (!eof || !strstr(eof, "7: seen(\"n\", \"k1\", 50, \"final:k1:4\")\n") ||
                 !strstr(eof, "7: seen(\"n\", \"k2\", 40, \"final:k2:5\")\n") ||
                 strlen(eof) != 2 * strlen("7: seen(\"n\", \"k1\", 50, \"final:k1:4\")\n"))
            fail(test, "want the two final drains at token 7, got\n%s", got);
        else
            printf("ok %s\n", test);
        free(got);
    }

    const char *bad = "component c(parallel_context_order, context_keys(ev(2))) {\n"
                      "r1 out(@N, L) :- ev(@N, K, X), L = f_strlen(f_testSession(K, X)).\n"
                      "}\n";
    input bin[] = {IN("ev", "s:n", "s:k", "i:1")};
    char *diag = NULL;
    analog_plan *plan = plan_src(bad, NULL, NULL, 0, bin, 1, &diag);
    if (plan || !strstr(diag, "whole right side of an assignment"))
        fail("heartbeat.nested", "want a plan error, got:\n%s", diag);
    else
        printf("ok heartbeat.nested\n");
    analog_plan_destroy(&plan);
    free(diag);
}

/** The same outputs with 1 and 4 threads, over a 3-component chain. */
static void test_threads(void)
{
    const char *src =
        "component first(parallel) {\n"
        "r1 ev(@N, I, A, B, K) :- input(@N, I, A), B = I * 3, K = I % 13.\n"
        "}\n"
        "component second(parallel_context_order, context_keys(ev(5))) {\n"
        "r2 seq(@N, I, K, C) :- ev(@N, I, A, B, K), C = f_testCount(K), B % 2 == 0.\n"
        "}\n"
        "component third(serial) {\n"
        "r3 out(@N, I, K, C, M) :- seq(@N, I, K, C), M = f_match(f_concat(\"x\", I), \"7\").\n"
        "}\n";
    static input in[600];
    static char texts[600][2][32];
    for (int i = 0; i < 600; i++) {
        snprintf(texts[i][0], 32, "i:%d", i);
        snprintf(texts[i][1], 32, "s:v%d", i * 7);
        in[i] = (input){"input", {"s:node", texts[i][0], texts[i][1]}, (int64_t)i * 10};
    }
    char *one = run_src("threads.1", src, NULL, NULL, 0, in, 600, 1, NULL);
    char *four = run_src("threads.4", src, NULL, NULL, 0, in, 600, 4, NULL);
    if (strlen(one) < 1000)
        fail("threads", "too little output:\n%s", one);
    expect_text("threads.same_for_1_and_4", one, four);
    free(one);
    free(four);
}

/** Attribute names, plan printing, stats printing. */
static void test_names_and_print(void)
{
    const char *src =
        "component c(parallel) {\n"
        "r1 out(@N, X, \"c\", X + 1) :- a(@N, X).\n"
        "}\n";
    input in[] = {IN("a", "s:n", "i:1"), IN("z", "s:n")};
    char *diag = NULL;
    analog_plan *plan = plan_src(src, NULL, NULL, 0, in, N(in), &diag);
    free(diag);
    if (!plan) {
        fail("names", "planning failed");
        return;
    }
    uint32_t n;
    const char *const *names = analog_plan_attr_names(plan, "out", &n);
    if (!names || n != 4 || strcmp(names[0], "@N") || strcmp(names[1], "X") ||
        strcmp(names[2], "_3") || strcmp(names[3], "_4"))
        fail("names.head", "want @N, X, _3, _4");
    names = analog_plan_attr_names(plan, "a", &n);
    if (!names || n != 2 || strcmp(names[1], "X"))
        fail("names.event", "want @N, X for a");
    if (analog_plan_attr_names(plan, "z", &n) != NULL || n != 0)
        fail("names.none", "want NULL for a relation no atom mentions");
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    analog_plan_print(plan, m);
    analog_plan_print_stats(plan, m);
    fclose(m);
    if (!strstr(text, "rule r1") || !strstr(text, "on a/2") || !strstr(text, "emit   out("))
        fail("print", "unexpected plan text:\n%s", text);
    else
        printf("ok names, print\n");
    free(text);
    analog_plan_destroy(&plan);
}

int main(void)
{
    test_chain();
    test_det();
    test_match();
    test_arith();
    test_params();
    test_cap();
    test_state();
    test_state_cap();
    test_heartbeat();
    test_threads();
    test_names_and_print();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all eval tests passed\n");
    return 0;
}
