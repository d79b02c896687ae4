/*
 * runtime_bench.c -- micro-benchmark of the actor runtime alone.
 *
 * Pipeline: serial source -> parallel -> parallel context-ordered on
 * KEYS keys -> serial sink; each stage does WORK microseconds of real
 * computation (a calibrated integer hash loop) per tuple. One tuple per
 * token. Prints one tab-separated result line:
 *   threads work_us count seconds tuples_per_s ns_per_hop stolen_pct encode
 * where ns_per_hop = wall time per tuple / 4 hops (with work 0: the
 * runtime's own cost of moving one token through one component).
 *
 * usage: sx-bench-runtime THREADS WORK_US COUNT [KEYS] [encode]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/runtime.h"

static uint64_t iters_per_us;
static volatile uint64_t sink_hole;

/** Real computation: ~us microseconds of a multiply-xorshift chain. */
static uint64_t work(uint64_t seed, unsigned us)
{
    uint64_t x = seed | 1;
    for (uint64_t i = 0, n = iters_per_us * us; i < n; i++) {
        x ^= x >> 31;
        x *= 0x9E3779B97F4A7C15ULL;
    }
    return x;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Measures iterations of work() per microsecond on this core. */
static void calibrate(void)
{
    iters_per_us = 1000;
    double t0 = now_s();
    sink_hole += work(7, 20000);
    double secs = now_s() - t0;
    iters_per_us = (uint64_t)(1000.0 * 20000 / (secs * 1e6));
    if (iters_per_us == 0)
        iters_per_us = 1;
}

static unsigned work_us;

/** Every stage: work, then pass the tuples on. */
static int stage(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    for (uint32_t i = 0; i < in->n; i++) {
        if (work_us)
            in->tuples[i].vals[2].u.i = (int64_t)work((uint64_t)in->tuples[i].vals[2].u.i, work_us);
        sx_batch_push(out, &in->tuples[i]);
    }
    in->n = 0;
    return 0;
}

static uint64_t key_of(void *arg, const sx_tuple *t)
{
    return (uint64_t)t->vals[1].u.i;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sx-bench-runtime THREADS WORK_US COUNT [KEYS] [encode]\n");
        return 2;
    }
    unsigned threads = (unsigned)atoi(argv[1]);
    work_us = (unsigned)atoi(argv[2]);
    uint64_t count = strtoull(argv[3], NULL, 10);
    uint64_t keys = argc > 4 ? strtoull(argv[4], NULL, 10) : 1000;
    bool encode = argc > 5 && !strcmp(argv[5], "encode");
    calibrate();

    sx_runtime_opts o;
    sx_runtime_opts_default(&o);
    o.threads = threads;
    o.encode_local = o.encode_local || encode;
    char err[256];
    sx_runtime *rt = sx_runtime_new(&o, err, sizeof err);
    if (!rt) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sx_pipeline *p = sx_pipeline_new(rt, "bench");
    sx_pipeline_add(p, "source", SX_SERIAL, stage, NULL);
    sx_pipeline_add(p, "parallel", SX_PARALLEL, stage, NULL);
    sx_actor_set_key(sx_pipeline_add(p, "keyed", SX_PARALLEL_CONTEXT, stage, NULL), key_of, NULL);
    sx_pipeline_add(p, "sink", SX_SERIAL, stage, NULL);
    if (sx_runtime_start(rt, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sx_blob *rel = sx_blob_new("t", 1);
    double t0 = now_s();
    for (uint64_t i = 0; i < count; i++) {
        sx_batch *b = sx_batch_new(0);
        sx_tuple t;
        sx_tuple_init_blob(&t, rel, 3);
        t.vals[1] = sx_value_int((int64_t)(i % keys));
        t.vals[2] = sx_value_int((int64_t)i);
        sx_batch_push(b, &t);
        sx_pipeline_inject(p, b);
    }
    sx_pipeline_finish(p);
    double secs = now_s() - t0;
    sx_blob_release(&rel);
    sx_pipeline_stats st;
    sx_pipeline_stats_get(p, &st);
    uint64_t stolen = sx_runtime_stolen(rt);
    sx_runtime_print_stats(rt, stderr);
    uint64_t acts = 0;
    (void)acts;
    unsigned nthreads = sx_runtime_threads(rt);
    sx_runtime_destroy(&rt);
    if (st.completed != count || st.tuples_out != count) {
        fprintf(stderr, "bench: lost tuples: %" PRIu64 " of %" PRIu64 "\n", st.tuples_out, count);
        return 1;
    }
    printf("%u\t%u\t%" PRIu64 "\t%.3f\t%.0f\t%.0f\t%" PRIu64 "\t%s\n", nthreads, work_us, count,
           secs, (double)count / secs, secs * 1e9 / (double)count / 4.0, stolen,
           o.encode_local ? "encode" : "ref");
    return 0;
}
