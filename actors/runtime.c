/*
 * runtime.c -- the runtime object: ZeroMQ context, workers, pipelines.
 *
 * Items on the workers' deques are either an sx_task (an actor's inbox
 * drain, a key lane) or, tagged by the low pointer bit, a batch to run
 * on a parallel actor. Tagging keeps the hot path free of allocation: a
 * parallel batch is its own activation.
 */
#include "net_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "proto/alloc.h"

enum { SX_DEFAULT_TOKENS = 1000, SX_DEFAULT_LANES = 4096, SX_DEFAULT_DRAIN = 64 };

void sx_runtime_opts_default(sx_runtime_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 0;
    o->tokens = SX_DEFAULT_TOKENS;
    o->lanes = SX_DEFAULT_LANES;
    o->drain_max = SX_DEFAULT_DRAIN;
    const char *env = getenv("SX_ENCODE_LOCAL");
    o->encode_local = env && *env && strcmp(env, "0") != 0;
}

_Noreturn void sx_rt_fatal(const char *what)
{
    fprintf(stderr, "scalanytics: internal error: %s\n", what);
    abort();
}

/** The scheduler's run function: dispatches on the item's tag. */
static void run_item(void *ctx, void *item, sx_worker *w)
{
    uintptr_t p = (uintptr_t)item;
    if (p & 1u) {
        sx_actor_run_batch((sx_batch *)(p & ~(uintptr_t)1), w);
    } else {
        sx_task *t = item;
        t->run(t, w);
    }
}

sx_runtime *sx_runtime_new(const sx_runtime_opts *o, char *err, size_t errlen)
{
    sx_runtime *rt = sx_calloc(1, sizeof *rt);
    rt->opts = *o;
    if (rt->opts.tokens == 0)
        rt->opts.tokens = SX_DEFAULT_TOKENS;
    if (rt->opts.lanes == 0)
        rt->opts.lanes = SX_DEFAULT_LANES;
    if (rt->opts.drain_max == 0)
        rt->opts.drain_max = SX_DEFAULT_DRAIN;
    rt->zctx = zmq_ctx_new();
    if (!rt->zctx) {
        snprintf(err, errlen, "cannot create ZeroMQ context: %s", zmq_strerror(errno));
        free(rt);
        return NULL;
    }
    zmq_ctx_set(rt->zctx, ZMQ_MAX_SOCKETS, 65536);
    rt->sched = sx_sched_new(o->threads, run_item, rt);
    rt->opts.threads = sx_sched_threads(rt->sched);
    return rt;
}

int sx_runtime_start(sx_runtime *rt, char *err, size_t errlen)
{
    for (size_t i = 0; i < rt->npipes; i++) {
        sx_pipeline *p = rt->pipes[i];
        if (sx_pipeline_prepare(p, err, errlen) != 0)
            return -1;
        p->receiving = rt->net && !rt->net->source;
    }
    if (rt->net && sx_net_start(rt->net, err, errlen) != 0)
        return -1;
    if (sx_sched_start(rt->sched) != 0) {
        snprintf(err, errlen, "cannot start %u worker threads", rt->opts.threads);
        return -1;
    }
    rt->started = true;
    return 0;
}

/** Frees one pipeline and its actors (runtime-private). */
static void pipeline_free(sx_pipeline *p)
{
    for (size_t i = 0; i < p->n; i++)
        sx_actor_destroy(&p->actors[i]);
    free(p->actors);
    sx_outbox_destroy(&p->admit);
    sx_tokens_destroy(&p->tokens);
    free((void *)p->parts);
    if (p->sink_order) {
        sx_reorder_destroy(&p->sink_order);
        pthread_mutex_destroy(&p->sink_mu);
    }
    free(p->name);
    free(p);
}

void sx_runtime_destroy(sx_runtime **rtp)
{
    sx_runtime *rt = *rtp;
    if (!rt)
        return;
    sx_sched_stop(rt->sched);
    for (unsigned i = 0; i < rt->opts.threads; i++)
        sx_outbox_destroy((sx_outbox **)sx_sched_slot(rt->sched, i));
    sx_net_destroy(&rt->net);
    for (size_t i = 0; i < rt->npipes; i++)
        pipeline_free(rt->pipes[i]);
    free(rt->pipes);
    sx_sched_destroy(&rt->sched);
    zmq_ctx_term(rt->zctx);
    free(rt);
    *rtp = NULL;
}

void sx_rt_schedule(sx_sender *snd, sx_task *task)
{
    if (snd->w)
        sx_sched_push(snd->w, task);
    else
        sx_sched_submit(snd->rt->sched, task);
}

void sx_rt_schedule_batch(sx_sender *snd, sx_batch *b)
{
    /* only workers run parallel actors' drains, so snd->w is set */
    sx_sched_push(snd->w, (void *)((uintptr_t)b | 1u));
}

void *sx_rt_inbox_new(sx_runtime *rt, uint32_t *id)
{
    if (rt->started)
        return NULL;
    *id = rt->inboxes++;
    return sx_inbox_bind(rt->zctx, *id);
}

unsigned sx_runtime_threads(const sx_runtime *rt) { return rt->opts.threads; }
const sx_runtime_opts *sx_runtime_options(const sx_runtime *rt) { return &rt->opts; }

/** Sums one counter over all workers' statistics. */
static uint64_t sum_workers(const sx_runtime *rt, size_t offset)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < rt->opts.threads; i++) {
        sx_worker_stats st;
        sx_sched_stats(rt->sched, i, &st);
        sum += *(const uint64_t *)((const char *)&st + offset);
    }
    return sum;
}

uint64_t sx_runtime_stolen(const sx_runtime *rt)
{
    return sum_workers(rt, offsetof(sx_worker_stats, stolen));
}

uint64_t sx_runtime_activations(const sx_runtime *rt)
{
    return sum_workers(rt, offsetof(sx_worker_stats, activations));
}

void sx_runtime_print_stats(const sx_runtime *rt, FILE *f)
{
    fprintf(f, "%-8s %14s %10s %8s %12s %8s\n", "worker", "activations", "stolen", "%stolen",
            "idle_ms", "sleeps");
    sx_worker_stats tot = {0};
    for (unsigned i = 0; i < rt->opts.threads; i++) {
        sx_worker_stats st;
        sx_sched_stats(rt->sched, i, &st);
        fprintf(f, "%-8u %14llu %10llu %7.2f%% %12.1f %8llu\n", i,
                (unsigned long long)st.activations, (unsigned long long)st.stolen,
                st.activations ? 100.0 * (double)st.stolen / (double)st.activations : 0.0,
                (double)st.idle_ns / 1e6, (unsigned long long)st.sleeps);
        tot.activations += st.activations;
        tot.stolen += st.stolen;
        tot.idle_ns += st.idle_ns;
        tot.sleeps += st.sleeps;
    }
    fprintf(f, "%-8s %14llu %10llu %7.2f%% %12.1f %8llu\n", "all",
            (unsigned long long)tot.activations, (unsigned long long)tot.stolen,
            tot.activations ? 100.0 * (double)tot.stolen / (double)tot.activations : 0.0,
            (double)tot.idle_ns / 1e6, (unsigned long long)tot.sleeps);
}
