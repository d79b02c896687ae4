/*
 * test_runtime.c -- the runtime's promises, through its public API.
 *
 *   test_runtime order  THREADS   kinds keep their order; concurrency shows
 *   test_runtime noloss THREADS   1e5 tokens, 5 mixed stages: each token
 *                                 completes once, each tuple arrives once,
 *                                 in-flight tokens stay within the limit
 *   test_runtime steal  THREADS   an unbalanced load makes workers steal
 *   test_runtime idle   THREADS   an idle pipeline sleeps: its workers use
 *                                 (almost) no CPU while nothing arrives
 *
 * Exit 0 on success; on failure a line saying which check broke.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "actors/runtime.h"

static int failures;

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                \
            failures++;                                                                         \
        }                                                                                       \
    } while (0)

/** Busy work for about us microseconds of real computation. */
static void spin_us(unsigned us)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do {
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < (long)us * 1000L);
}

/** Key of test tuples: vals[1] (an int). */
static uint64_t key1(void *arg, const sx_tuple *t)
{
    return (uint64_t)t->vals[1].u.i;
}

/** Moves every input tuple to the output unchanged. */
static void pass_all(sx_batch *in, sx_batch *out)
{
    for (uint32_t i = 0; i < in->n; i++)
        sx_batch_push(out, &in->tuples[i]);
    in->n = 0;
}

/** A runtime with the given threads and token limit, started later. */
static sx_runtime *runtime(unsigned threads, uint32_t tokens)
{
    sx_runtime_opts o;
    sx_runtime_opts_default(&o);
    o.threads = threads;
    o.tokens = tokens;
    char err[256];
    sx_runtime *rt = sx_runtime_new(&o, err, sizeof err);
    if (!rt) {
        fprintf(stderr, "runtime: %s\n", err);
        exit(1);
    }
    return rt;
}

/** Starts rt or exits. */
static void start(sx_runtime *rt)
{
    char err[256];
    if (sx_runtime_start(rt, err, sizeof err) != 0) {
        fprintf(stderr, "start: %s\n", err);
        exit(1);
    }
}

/* ------------------------------------------------------------------ order */

enum { ORDER_KEYS = 8, ORDER_TOKENS = 3000 };

typedef struct order_state {
    atomic_int par_active, par_peak;
    atomic_int ctx_active, ctx_peak;
    uint64_t ctx_last[ORDER_KEYS]; /* per key: written only in its lane */
    atomic_int ctx_disorder;
    atomic_int key_busy[ORDER_KEYS]; /* >1 would mean one key ran twice at once */
    atomic_int key_overlap;
    uint64_t serial_last;
    int serial_disorder;
    atomic_int serial_active;
    int serial_overlap;
} order_state;

/** Records a new concurrency level and its peak. */
static void enter(atomic_int *active, atomic_int *peak)
{
    int now = atomic_fetch_add(active, 1) + 1;
    int p = atomic_load(peak);
    while (now > p && !atomic_compare_exchange_weak(peak, &p, now))
        ;
}

static int order_par(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    order_state *s = arg;
    enter(&s->par_active, &s->par_peak);
    spin_us(20);
    atomic_fetch_sub(&s->par_active, 1);
    pass_all(in, out);
    return 0;
}

static int order_ctx(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    order_state *s = arg;
    enter(&s->ctx_active, &s->ctx_peak);
    for (uint32_t i = 0; i < in->n; i++) {
        int k = (int)in->tuples[i].vals[1].u.i;
        if (atomic_fetch_add(&s->key_busy[k], 1) != 0)
            atomic_fetch_add(&s->key_overlap, 1);
        if (in->token <= s->ctx_last[k])
            atomic_fetch_add(&s->ctx_disorder, 1);
        s->ctx_last[k] = in->token;
        spin_us(20);
        atomic_fetch_sub(&s->key_busy[k], 1);
    }
    atomic_fetch_sub(&s->ctx_active, 1);
    pass_all(in, out);
    return 0;
}

static int order_serial(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    order_state *s = arg;
    if (atomic_fetch_add(&s->serial_active, 1) != 0)
        s->serial_overlap++;
    if (in->token != s->serial_last + 1)
        s->serial_disorder++;
    s->serial_last = in->token;
    atomic_fetch_sub(&s->serial_active, 1);
    pass_all(in, out);
    return 0;
}

static void test_order(unsigned threads)
{
    static order_state s;
    memset(&s, 0, sizeof s);
    sx_runtime *rt = runtime(threads, 256);
    sx_pipeline *p = sx_pipeline_new(rt, "order");
    sx_pipeline_add(p, "par", SX_PARALLEL, order_par, &s);
    sx_actor_set_key(sx_pipeline_add(p, "ctx", SX_PARALLEL_CONTEXT, order_ctx, &s), key1, NULL);
    sx_pipeline_add(p, "serial", SX_SERIAL, order_serial, &s);
    start(rt);
    for (int i = 0; i < ORDER_TOKENS; i++) {
        sx_batch *b = sx_batch_new(0);
        sx_tuple *t = sx_batch_add(b, "in", 2);
        t->vals[0] = sx_value_cstr("local");
        t->vals[1] = sx_value_int(i % ORDER_KEYS);
        sx_pipeline_inject(p, b);
    }
    CHECK(sx_pipeline_finish(p) == 0, "finish");
    sx_pipeline_stats st;
    sx_pipeline_stats_get(p, &st);
    sx_runtime_destroy(&rt);
    CHECK(st.completed == ORDER_TOKENS, "completed %" PRIu64, st.completed);
    CHECK(s.serial_disorder == 0, "serial saw %d tokens out of order", s.serial_disorder);
    CHECK(s.serial_overlap == 0, "serial ran %d activations at once", s.serial_overlap);
    CHECK(s.serial_last == ORDER_TOKENS, "serial last token %" PRIu64, s.serial_last);
    CHECK(atomic_load(&s.ctx_disorder) == 0, "context-ordered: %d tokens out of order per key",
          atomic_load(&s.ctx_disorder));
    CHECK(atomic_load(&s.key_overlap) == 0, "one key ran concurrently %d times",
          atomic_load(&s.key_overlap));
    if (threads >= 2) {
        CHECK(atomic_load(&s.par_peak) >= 2, "parallel never ran concurrently (peak %d)",
              atomic_load(&s.par_peak));
        CHECK(atomic_load(&s.ctx_peak) >= 2, "different keys never ran concurrently (peak %d)",
              atomic_load(&s.ctx_peak));
    }
    printf("order: threads %u, parallel peak %d, context peak %d\n", threads,
           atomic_load(&s.par_peak), atomic_load(&s.ctx_peak));
}

/* ----------------------------------------------------------------- noloss */

enum { NOLOSS_TOKENS = 100000, NOLOSS_LIMIT = 100 };

/* A tuple's identity: id = input * 4 + copy (copy < 3), in vals[2]. */
typedef struct noloss_state {
    uint8_t *seen_tuple; /* per id: times it reached the sink */
    uint8_t *seen_token; /* per token: times the sink saw it */
    uint64_t expect_tuples, sink_tuples;
} noloss_state;

/** Stage 1 (parallel): input I becomes 0 (I%7==0), 3 (I%3==0) or 1 tuples. */
static int nl_fan(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    for (uint32_t i = 0; i < in->n; i++) {
        int64_t v = in->tuples[i].vals[2].u.i;
        int copies = v % 7 == 0 ? 0 : v % 3 == 0 ? 3 : 1;
        for (int c = 0; c < copies; c++) {
            sx_tuple *t = sx_batch_add(out, "x", 3);
            t->vals[0] = sx_value_copy(&in->tuples[i].vals[0]);
            t->vals[1] = sx_value_int((v + c) % 13); /* key */
            t->vals[2] = sx_value_int(v * 4 + c);
        }
    }
    return 0;
}

/** Pass-through stages (context-ordered and serial kinds). */
static int nl_pass(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    pass_all(in, out);
    return 0;
}

/** Stage 3 (parallel): drops ids divisible by 5. */
static int nl_drop(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    for (uint32_t i = 0; i < in->n; i++)
        if (in->tuples[i].vals[2].u.i % 5 != 0)
            sx_batch_push(out, &in->tuples[i]);
        else
            sx_tuple_clear(&in->tuples[i]);
    in->n = 0;
    return 0;
}

static void nl_sink(void *arg, const sx_batch *b)
{
    noloss_state *s = arg;
    if (b->token >= 1 && b->token <= NOLOSS_TOKENS)
        s->seen_token[b->token]++;
    for (uint32_t i = 0; i < b->n; i++) {
        int64_t id = b->tuples[i].vals[2].u.i;
        if (id >= 0 && id < (int64_t)NOLOSS_TOKENS * 4)
            s->seen_tuple[id]++;
        s->sink_tuples++;
    }
}

static void test_noloss(unsigned threads)
{
    noloss_state s = {0};
    s.seen_tuple = calloc((size_t)NOLOSS_TOKENS * 4, 1);
    s.seen_token = calloc(NOLOSS_TOKENS + 1, 1);
    sx_runtime *rt = runtime(threads, NOLOSS_LIMIT);
    sx_pipeline *p = sx_pipeline_new(rt, "noloss");
    sx_pipeline_add(p, "fan", SX_PARALLEL, nl_fan, &s);
    sx_actor_set_key(sx_pipeline_add(p, "ctx", SX_PARALLEL_CONTEXT, nl_pass, &s), key1, NULL);
    sx_pipeline_add(p, "drop", SX_PARALLEL, nl_drop, &s);
    sx_actor_set_key(sx_pipeline_add(p, "sctx", SX_SERIAL_CONTEXT, nl_pass, &s), key1, NULL);
    sx_pipeline_add(p, "serial", SX_SERIAL, nl_pass, &s);
    sx_pipeline_set_sink(p, nl_sink, &s);
    start(rt);
    for (int64_t v = 0; v < NOLOSS_TOKENS; v++) {
        sx_batch *b = sx_batch_new(0);
        sx_tuple *t = sx_batch_add(b, "in", 3);
        t->vals[0] = sx_value_cstr("local");
        t->vals[1] = sx_value_int(v % 13);
        t->vals[2] = sx_value_int(v);
        sx_pipeline_inject(p, b);
    }
    CHECK(sx_pipeline_finish(p) == 0, "finish");
    sx_pipeline_stats st;
    sx_pipeline_stats_get(p, &st);
    sx_runtime_destroy(&rt);

    CHECK(st.admitted == NOLOSS_TOKENS && st.completed == NOLOSS_TOKENS,
          "admitted %" PRIu64 " completed %" PRIu64, st.admitted, st.completed);
    CHECK(st.bad_releases == 0, "%" PRIu64 " tokens released twice", st.bad_releases);
    CHECK(st.max_in_flight <= NOLOSS_LIMIT, "in flight reached %" PRIu64 " > %d",
          st.max_in_flight, NOLOSS_LIMIT);
    int bad_tokens = 0, bad_tuples = 0;
    for (int t = 1; t <= NOLOSS_TOKENS; t++)
        bad_tokens += s.seen_token[t] != 1;
    uint64_t expect = 0;
    for (int64_t v = 0; v < NOLOSS_TOKENS; v++) {
        int copies = v % 7 == 0 ? 0 : v % 3 == 0 ? 3 : 1;
        for (int c = 0; c < 4; c++) {
            int64_t id = v * 4 + c;
            int want = c < copies && id % 5 != 0;
            expect += want;
            bad_tuples += s.seen_tuple[id] != want;
        }
    }
    CHECK(bad_tokens == 0, "%d tokens did not reach the sink exactly once", bad_tokens);
    CHECK(bad_tuples == 0, "%d tuples did not arrive exactly once", bad_tuples);
    CHECK(s.sink_tuples == expect, "sink got %" PRIu64 " tuples, expected %" PRIu64,
          s.sink_tuples, expect);
    printf("noloss: threads %u, %" PRIu64 " tuples, max in flight %" PRIu64 " of %d\n", threads,
           s.sink_tuples, st.max_in_flight, NOLOSS_LIMIT);
    free(s.seen_tuple);
    free(s.seen_token);
}

/* ------------------------------------------------------------------ steal */

/** A slow parallel stage: 200 us for every 50th token, 2 us otherwise. */
static int st_slow(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    spin_us(in->token % 50 == 0 ? 200 : 2);
    pass_all(in, out);
    return 0;
}

static void test_steal(unsigned threads)
{
    sx_runtime *rt = runtime(threads, 1000);
    sx_pipeline *p = sx_pipeline_new(rt, "steal");
    sx_pipeline_add(p, "slow", SX_PARALLEL, st_slow, NULL);
    sx_actor_set_key(sx_pipeline_add(p, "hot", SX_PARALLEL_CONTEXT, nl_pass, NULL), key1, NULL);
    sx_pipeline_add(p, "serial", SX_SERIAL, nl_pass, NULL);
    start(rt);
    for (int i = 0; i < 5000; i++) {
        sx_batch *b = sx_batch_new(0);
        sx_tuple *t = sx_batch_add(b, "in", 2);
        t->vals[0] = sx_value_cstr("local");
        t->vals[1] = sx_value_int(i % 10 == 0 ? i : 0); /* key 0 is hot */
        sx_pipeline_inject(p, b);
    }
    CHECK(sx_pipeline_finish(p) == 0, "finish");
    uint64_t stolen = sx_runtime_stolen(rt);
    sx_runtime_print_stats(rt, stdout);
    sx_runtime_destroy(&rt);
    if (threads >= 2)
        CHECK(stolen > 0, "no activation was stolen with %u threads", threads);
    printf("steal: threads %u, %" PRIu64 " activations stolen\n", threads, stolen);
}

/* ------------------------------------------------------------------- idle */

/** CPU time (user + system) this process has used, in ms. */
static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void test_idle(unsigned threads)
{
    sx_runtime *rt = runtime(threads, 100);
    sx_pipeline *p = sx_pipeline_new(rt, "idle");
    sx_pipeline_add(p, "par", SX_PARALLEL, nl_pass, NULL);
    sx_pipeline_add(p, "serial", SX_SERIAL, nl_pass, NULL);
    start(rt);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++) {
            sx_batch *b = sx_batch_new(0);
            sx_tuple *t = sx_batch_add(b, "in", 2);
            t->vals[0] = sx_value_cstr("local");
            t->vals[1] = sx_value_int(i);
            sx_pipeline_inject(p, b);
        }
        CHECK(sx_pipeline_finish(p) == 0, "finish");
        usleep(50000); /* let the workers give up spinning and sleep */
        double c0 = cpu_ms();
        usleep(500000);
        double used = cpu_ms() - c0;
        /* spinning workers would burn ~500 ms each; sleeping ones ~0 */
        CHECK(used < 50.0, "idle workers used %.1f ms of CPU in 500 ms (threads %u)", used, threads);
        printf("idle: threads %u, round %d: %.2f ms CPU in 500 ms idle\n", threads, round, used);
    }
    sx_pipeline_stats st;
    sx_pipeline_stats_get(p, &st);
    CHECK(st.completed == 300, "completed %" PRIu64 " of 300 after waking up", st.completed);
    sx_runtime_destroy(&rt);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_runtime order|noloss|steal|idle THREADS\n");
        return 2;
    }
    unsigned threads = (unsigned)atoi(argv[2]);
    if (!strcmp(argv[1], "order"))
        test_order(threads);
    else if (!strcmp(argv[1], "noloss"))
        test_noloss(threads);
    else if (!strcmp(argv[1], "steal"))
        test_steal(threads);
    else if (!strcmp(argv[1], "idle"))
        test_idle(threads);
    else {
        fprintf(stderr, "unknown test %s\n", argv[1]);
        return 2;
    }
    return failures ? 1 : 0;
}
