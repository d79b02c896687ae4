/*
 * pipeline.c -- a chain of actors, its token dispenser and its sink.
 *
 * The admitting thread (capture, or a test) takes a token per input and
 * sends the batch to the first component through its own outbox. Each
 * component's output goes to the next; the last one's goes to the sink,
 * after which the token is released. In a distributed run a token may
 * have several open paths (its local one plus the parts shipped to other
 * nodes): it is released when the last closes, and on a receiving node
 * it is then acknowledged upstream by the net (net.c).
 * Routes are resolved at start, once the chain is complete.
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
    if (p->sink && p->actors[p->n - 1]->kind != SX_SERIAL) {
        p->sink_order = sx_reorder_new(1, sx_tokens_window(p->rt->opts.tokens));
        pthread_mutex_init(&p->sink_mu, NULL);
    }
    if (!p->rt->net)
        return 0;
    p->parts_mask = sx_tokens_window(p->rt->opts.tokens) - 1;
    p->parts = sx_calloc(p->parts_mask + 1, sizeof *p->parts);
    return 0;
}

/** The admitting thread's sender (its outbox is made on first use). */
static sx_sender admit_sender(sx_pipeline *p)
{
    if (!p->admit)
        p->admit = sx_outbox_new(p->rt->zctx);
    sx_sender snd = {.rt = p->rt, .ob = p->admit, .w = NULL, .slot = p->rt->opts.threads};
    return snd;
}

/** Sends an admitted batch to the first component. A distributed run
 *  stamps the origin (this node, the token) and opens the token's
 *  local path. */
static void admit(sx_pipeline *p, sx_batch *b, uint64_t token)
{
    b->token = token;
    b->pipeline = p->id;
    b->target = 0;
    if (p->rt->net) {
        sx_blob_release(&b->origin);
        b->origin = sx_blob_ref(sx_net_node_blob(p->rt->net));
        b->origin_token = token;
        atomic_store_explicit(&p->parts[token & p->parts_mask], 1, memory_order_release);
    }
    sx_sender snd = admit_sender(p);
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

void sx_pipeline_part_done(sx_pipeline *p, uint64_t token, sx_sender *snd)
{
    if (p->rt->net &&
        atomic_fetch_sub_explicit(&p->parts[token & p->parts_mask], 1, memory_order_acq_rel) != 1)
        return; /* other paths of the token are still open */
    if (p->receiving)
        sx_net_token_done(p->rt->net, p, token, snd);
    else
        sx_tokens_release(p->tokens, token);
}

void sx_pipeline_complete(sx_pipeline *p, sx_batch *out, sx_sender *snd)
{
    atomic_fetch_add_explicit(&p->tuples_out, out->n, memory_order_relaxed);
    uint64_t token = out->token;
    if (p->receiving) {
        sx_net_sink_put(p->rt->net, p, out); /* released in the source's order */
    } else if (p->sink_order) {
        pthread_mutex_lock(&p->sink_mu);
        if (sx_reorder_put(p->sink_order, out) != 0)
            sx_rt_fatal("a token reached the sink twice");
        for (sx_batch *b; (b = sx_reorder_take(p->sink_order));) {
            p->sink(p->sink_arg, b);
            sx_batch_destroy(&b);
        }
        pthread_mutex_unlock(&p->sink_mu);
    } else {
        if (p->sink)
            p->sink(p->sink_arg, out);
        sx_batch_destroy(&out);
    }
    sx_pipeline_part_done(p, token, snd);
}

int sx_pipeline_finish(sx_pipeline *p)
{
    if (p->receiving)
        return -1;
    sx_tokens_wait_idle(p->tokens);
    if (p->rt->net) {
        sx_sender snd = admit_sender(p);
        return sx_net_finish(p->rt->net, p, &snd);
    }
    return 0;
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
    sx_net_pipeline_counts(p->rt->net, p->id, &out->link_batches, &out->link_bad);
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
sx_runtime *sx_pipeline_runtime(sx_pipeline *p) { return p->rt; }
sx_actor *sx_pipeline_actor(sx_pipeline *p, size_t i) { return i < p->n ? p->actors[i] : NULL; }
