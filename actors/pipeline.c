/*
 * pipeline.c -- a chain of actors, its token dispenser and its sink.
 *
 * The admitting thread (capture, or a test) takes a token per input and
 * sends the batch to the first component through its own outbox. Each
 * component's output goes to the next; the last one's goes to the sink,
 * after which the token is released -- or, on the receiving side of a
 * split pipeline, acknowledged to the peer that owns the token.
 * Routes are resolved at start, once the chain and its split are known.
 */
#include "internal.h"

#include <string.h>

#include "proto/alloc.h"

sx_pipeline *sx_pipeline_new(sx_runtime *rt, const char *name)
{
    if (rt->started)
        return NULL;
    sx_pipeline *p = sx_calloc(1, sizeof *p);
    p->rt = rt;
    p->id = (uint32_t)rt->npipes;
    p->name = strdup(name);
    if (!p->name)
        sx_alloc_fail(strlen(name) + 1);
    p->tokens = sx_tokens_new(rt->opts.tokens);
    rt->pipes = sx_realloc(rt->pipes, (rt->npipes + 1) * sizeof *rt->pipes);
    rt->pipes[rt->npipes++] = p;
    return p;
}

sx_actor *sx_pipeline_add(sx_pipeline *p, const char *name, sx_order kind, sx_behaviour_fn fn,
                          void *arg)
{
    if (p->rt->started)
        return NULL;
    sx_actor *a = sx_actor_new(p, (uint32_t)p->n, name, kind, fn, arg);
    if (!a)
        return NULL;
    p->actors = sx_realloc(p->actors, (p->n + 1) * sizeof *p->actors);
    p->actors[p->n++] = a;
    return a;
}

void sx_pipeline_set_sink(sx_pipeline *p, sx_sink_fn fn, void *arg)
{
    p->sink = fn;
    p->sink_arg = arg;
}

/** Records a split point for either side. */
static int set_split(sx_pipeline *p, int role, size_t stage, const char *endpoint)
{
    if (p->rt->started || p->link_role != 0)
        return -1;
    p->link_role = role;
    p->split = stage;
    p->link_endpoint = strdup(endpoint);
    if (!p->link_endpoint)
        sx_alloc_fail(strlen(endpoint) + 1);
    return 0;
}

int sx_pipeline_send_to(sx_pipeline *p, size_t stage, const char *endpoint)
{
    return set_split(p, 1, stage, endpoint);
}

int sx_pipeline_receive_from(sx_pipeline *p, size_t stage, const char *endpoint)
{
    return set_split(p, 2, stage, endpoint);
}

int sx_pipeline_prepare(sx_pipeline *p, char *err, size_t errlen)
{
    if (p->n == 0) {
        snprintf(err, errlen, "pipeline %s has no components", p->name);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        sx_actor *a = p->actors[i];
        if (a->kind == SX_PARALLEL_CONTEXT && !a->keyfn) {
            snprintf(err, errlen, "component %s is context-ordered but has no context key",
                     a->name);
            return -1;
        }
        a->route = i + 1 < p->n ? SX_ROUTE_NEXT : SX_ROUTE_SINK;
        a->next = i + 1 < p->n ? p->actors[i + 1] : NULL;
    }
    if (p->link_role == 0)
        return 0;
    if (p->split >= p->n || (p->link_role == 2 && p->split == 0)) {
        snprintf(err, errlen, "pipeline %s: split at component %zu of %zu", p->name, p->split,
                 p->n);
        return -1;
    }
    if (p->link_role == 1) {
        p->link = sx_link_new_sender(p, p->link_endpoint, err, errlen);
        if (p->link && p->split > 0) {
            p->actors[p->split - 1]->route = SX_ROUTE_LINK;
            p->actors[p->split - 1]->link = p->link;
        }
    } else {
        p->link = sx_link_new_receiver(p, p->actors[p->split], p->link_endpoint, err, errlen);
    }
    return p->link ? 0 : -1;
}

/** The admitting thread's sender (its outbox is made on first use). */
static sx_sender admit_sender(sx_pipeline *p)
{
    if (!p->admit)
        p->admit = sx_outbox_new(p->rt->zctx);
    sx_sender snd = {.rt = p->rt, .ob = p->admit, .w = NULL, .slot = p->rt->opts.threads};
    return snd;
}

/** Sends an admitted batch to the first component (or straight over the
 *  link when every component is remote). */
static void admit(sx_pipeline *p, sx_batch *b, uint64_t token)
{
    b->token = token;
    b->pipeline = p->id;
    b->target = 0;
    sx_sender snd = admit_sender(p);
    if (p->link_role == 1 && p->split == 0)
        sx_link_send(p->link, b, &snd);
    else
        sx_actor_deliver(p->actors[0], b, &snd);
}

uint64_t sx_pipeline_inject(sx_pipeline *p, sx_batch *b)
{
    uint64_t token = sx_tokens_acquire(p->tokens);
    admit(p, b, token);
    return token;
}

uint64_t sx_pipeline_offer(sx_pipeline *p, sx_batch *b)
{
    uint64_t token;
    if (!sx_tokens_try_acquire(p->tokens, &token)) {
        atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
        sx_batch_destroy(&b);
        return 0;
    }
    admit(p, b, token);
    return token;
}

void sx_pipeline_complete(sx_pipeline *p, sx_batch *out, sx_sender *snd)
{
    if (p->sink)
        p->sink(p->sink_arg, out);
    atomic_fetch_add_explicit(&p->tuples_out, out->n, memory_order_relaxed);
    uint64_t token = out->token;
    sx_batch_destroy(&out);
    if (p->link_role == 2)
        sx_link_ack(p->link, token, snd);
    else
        sx_tokens_release(p->tokens, token);
}

int sx_pipeline_finish(sx_pipeline *p)
{
    if (p->link_role == 2)
        return -1;
    sx_tokens_wait_idle(p->tokens);
    if (p->link_role == 1) {
        sx_sender snd = admit_sender(p);
        return sx_link_finish(p->link, snd.ob);
    }
    return 0;
}

int sx_pipeline_wait(sx_pipeline *p)
{
    if (p->link_role != 2)
        return sx_pipeline_finish(p);
    return sx_link_wait(p->link);
}

void sx_pipeline_stats_get(sx_pipeline *p, sx_pipeline_stats *out)
{
    memset(out, 0, sizeof *out);
    sx_tokens_stats ts;
    sx_tokens_stats_get(p->tokens, &ts);
    out->admitted = ts.issued;
    out->completed = ts.completed;
    out->max_in_flight = ts.max_in_flight;
    out->bad_releases = ts.bad_releases;
    out->dropped = atomic_load(&p->dropped);
    out->tuples_out = atomic_load(&p->tuples_out);
    for (size_t i = 0; i < p->n; i++)
        for (unsigned w = 0; w <= p->rt->opts.threads; w++)
            out->errors += p->actors[i]->counters[w].errors;
    if (p->link) {
        out->link_batches = sx_link_batches(p->link);
        out->link_bad = sx_link_bad(p->link);
    }
}

void sx_pipeline_print_stats(sx_pipeline *p, FILE *f)
{
    fprintf(f, "%-20s %-9s %12s %12s %12s %12s %8s %8s\n", "component", "kind", "activations",
            "batches", "tuples_in", "tuples_out", "errors", "reorder");
    static const char *kinds[] = {"serial", "parallel", "par_ctx", "ser_ctx"};
    for (size_t i = 0; i < p->n; i++) {
        sx_actor *a = p->actors[i];
        sx_actor_counters sum = {0};
        for (unsigned w = 0; w <= p->rt->opts.threads; w++) {
            sum.activations += a->counters[w].activations;
            sum.batches += a->counters[w].batches;
            sum.tuples_in += a->counters[w].tuples_in;
            sum.tuples_out += a->counters[w].tuples_out;
            sum.errors += a->counters[w].errors;
        }
        fprintf(f, "%-20s %-9s %12llu %12llu %12llu %12llu %8llu %8zu\n", a->name, kinds[a->kind],
                (unsigned long long)sum.activations, (unsigned long long)sum.batches,
                (unsigned long long)sum.tuples_in, (unsigned long long)sum.tuples_out,
                (unsigned long long)sum.errors, a->reorder_peak);
    }
}

size_t sx_pipeline_length(const sx_pipeline *p) { return p->n; }
sx_actor *sx_pipeline_actor(sx_pipeline *p, size_t i) { return i < p->n ? p->actors[i] : NULL; }
