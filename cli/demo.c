/*
 * demo.c -- `scalanytics demo`: the runtime's synthetic pipeline.
 *
 * Until ANALOG programs run, this is the main job: a 5-stage pipeline
 * with every component kind, some stages emitting nothing for some
 * tokens and several tuples for others, per-key state whose values are
 * right only if per-key token order holds, and a serial last stage. The
 * demo checks itself: every token completes exactly once, in order at
 * the sink, and the sink receives exactly the tuples the stage rules
 * imply. Its sink output is byte-identical for any thread count, with or
 * without --encode-local, and split over two processes (--role).
 *
 *   src(@N, I, KEY, NAME)                              admitted input
 *   fanout   parallel     -> ev(@N, I, KEY, J, F, IP, NAME)   0, 1 or 3 each
 *   keyed    par_ctx(KEY) -> kseq(..., SEQ)     SEQ = per-key count
 *   filter   parallel     -> f(..., SEQ, L)     drops (I+J)%5==0; L a list
 *   running  ser_ctx(KEY) -> r(..., SUM)        SUM = per-key running sum
 *   sink     serial       -> out(..., GSEQ)     GSEQ = global count
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/runtime.h"
#include "cli.h"

enum { DEMO_KEYS = 97 };

typedef struct demo {
    uint64_t keyseq[DEMO_KEYS];  /* keyed: state per key (lanes keep it safe) */
    int64_t keysum[DEMO_KEYS];   /* running: state per key */
    uint64_t gseq;               /* sink stage: serial */
    FILE *out;                   /* sink lines, or NULL */
    uint64_t sink_tokens;        /* tokens seen by the sink callback */
    uint64_t sink_last;          /* last token seen */
    uint64_t sink_disorder;      /* tokens not exactly previous + 1 (receiving:
                                    not above the previous one) */
    uint64_t sink_tuples;
    uint64_t sink_expect;        /* tuples expected for the tokens seen */
    bool receiving;              /* tokens with no output never arrive */
    int write_errors;
} demo;

/** Key attribute index of every keyed relation here: KEY is vals[2]. */
static uint64_t key_of(void *arg, const sx_tuple *t)
{
    return t->n > 2 ? (uint64_t)t->vals[2].u.i : 0;
}

/** Appends a copy of t extended by one value v (taken). */
static void extend(sx_batch *out, const char *rel, const sx_tuple *t, sx_value v)
{
    sx_tuple *o = sx_batch_add(out, rel, t->n + 1);
    for (uint32_t k = 0; k < t->n; k++)
        o->vals[k] = sx_value_copy(&t->vals[k]);
    o->vals[t->n] = v;
}

/** fanout: 0 tuples when I%10==3, 3 when I%4==0, else 1. */
static int st_fanout(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    for (uint32_t k = 0; k < in->n; k++) {
        const sx_tuple *t = &in->tuples[k];
        int64_t i = t->vals[1].u.i;
        int copies = i % 10 == 3 ? 0 : i % 4 == 0 ? 3 : 1;
        for (int j = 0; j < copies; j++) {
            sx_tuple *o = sx_batch_add(out, "ev", 7);
            o->vals[0] = sx_value_copy(&t->vals[0]);
            o->vals[1] = sx_value_int(i);
            o->vals[2] = sx_value_copy(&t->vals[2]);
            o->vals[3] = sx_value_int(j);
            o->vals[4] = sx_value_float((double)i / (j + 1.0));
            uint8_t ip[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
            o->vals[5] = sx_value_ip4(ip);
            o->vals[6] = sx_value_copy(&t->vals[3]);
        }
    }
    return 0;
}

/** keyed: numbers each key's tuples in token order. */
static int st_keyed(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    demo *d = arg;
    for (uint32_t k = 0; k < in->n; k++) {
        const sx_tuple *t = &in->tuples[k];
        uint64_t key = (uint64_t)t->vals[2].u.i % DEMO_KEYS;
        extend(out, "kseq", t, sx_value_int((int64_t)++d->keyseq[key]));
    }
    return 0;
}

/** filter: drops (I+J)%5==0, attaches a list [I, J, NAME]. */
static int st_filter(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    for (uint32_t k = 0; k < in->n; k++) {
        const sx_tuple *t = &in->tuples[k];
        int64_t i = t->vals[1].u.i, j = t->vals[3].u.i;
        if ((i + j) % 5 == 0)
            continue;
        sx_value l = sx_value_list(3);
        sx_value_list_set(&l, 0, NULL, sx_value_int(i));
        sx_value_list_set(&l, 1, NULL, sx_value_int(j));
        sx_value_list_set(&l, 2, NULL, sx_value_copy(&t->vals[6]));
        extend(out, "f", t, l);
    }
    return 0;
}

/** running: per-key running sum of I. */
static int st_running(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    demo *d = arg;
    for (uint32_t k = 0; k < in->n; k++) {
        const sx_tuple *t = &in->tuples[k];
        uint64_t key = (uint64_t)t->vals[2].u.i % DEMO_KEYS;
        d->keysum[key] += t->vals[1].u.i;
        extend(out, "r", t, sx_value_int(d->keysum[key]));
    }
    return 0;
}

/** sink stage: global sequence number. */
static int st_sink(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    demo *d = arg;
    for (uint32_t k = 0; k < in->n; k++)
        extend(out, "out", &in->tuples[k], sx_value_int((int64_t)++d->gseq));
    return 0;
}

static uint64_t expected_for(int64_t i);

/** Pipeline sink: checks token order and writes one line per tuple. */
static void sink(void *arg, const sx_batch *b)
{
    demo *d = arg;
    if (d->receiving ? b->token <= d->sink_last : b->token != d->sink_last + 1)
        d->sink_disorder++;
    d->sink_expect += expected_for((int64_t)b->token - 1);
    d->sink_last = b->token;
    d->sink_tokens++;
    d->sink_tuples += b->n;
    if (!d->out)
        return;
    for (uint32_t k = 0; k < b->n; k++) {
        if (fprintf(d->out, "%" PRIu64 "\t", b->token) < 0 || sx_tuple_print(d->out, &b->tuples[k]) ||
            fputc('\n', d->out) == EOF)
            d->write_errors++;
    }
}

/** Tuples the sink must receive for input I (mirror of the rules). */
static uint64_t expected_for(int64_t i)
{
    int copies = i % 10 == 3 ? 0 : i % 4 == 0 ? 3 : 1;
    uint64_t n = 0;
    for (int j = 0; j < copies; j++)
        n += (i + j) % 5 != 0;
    return n;
}

typedef struct demo_opts {
    sx_runtime_opts rt;
    uint64_t count;
    const char *output;
    const char *role;
    const char *endpoint;
    unsigned split;
    int stats, json;
} demo_opts;

/** Prints the demo's help. */
static void demo_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics demo [OPTIONS]\n"
        "\n"
        "Runs the runtime's synthetic 5-stage pipeline (fanout parallel -> keyed\n"
        "parallel_context_order -> filter parallel -> running serial_context_order ->\n"
        "sink serial) on COUNT generated inputs and checks the result: every token\n"
        "completes once and in order, and the sink gets exactly the expected tuples.\n"
        "Exit status 0 when every check passes, 1 when one fails, 2 on bad usage.\n"
        "\n"
        "options:\n"
        "  -t, --threads N      worker threads (default: number of CPUs)\n"
        "  -T, --tokens N       tokens in flight at most (default 1000)\n"
        "  -n, --count N        inputs to admit (default 100000)\n"
        "  -o, --output FILE    write the sink's tuples, one per line ('-' = stdout)\n"
        "      --encode-local   protobuf-encode every local hop (also SX_ENCODE_LOCAL=1)\n"
        "      --role ROLE      local (default), send or receive: split the pipeline\n"
        "                       over two processes; 'send' admits the inputs and runs\n"
        "                       the components before --split, 'receive' runs the rest\n"
        "      --endpoint EP    ZeroMQ tcp endpoint of the split (receive binds it,\n"
        "                       send connects), e.g. tcp://127.0.0.1:5701\n"
        "      --split K        first component of the receiving side (default 2)\n"
        "      --stats          print per-component and per-worker tables on stderr\n"
        "      --json           print the run summary as one JSON object on stderr\n"
        "  -h, --help           this help\n"
        "\n"
        "example: scalanytics demo --threads 4 --output out.txt --stats\n");
}

/** Parses a positive integer option; -1 on error. */
static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "scalanytics demo: %s wants a number from %" PRIu64 " to %" PRIu64
                        ", got '%s'\n", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/** Parses argv into o; returns 0, 1 for --help, or -1 on a usage error. */
static int demo_parse(int argc, char **argv, demo_opts *o)
{
    static const struct option longopts[] = {
        {"threads", required_argument, 0, 't'}, {"tokens", required_argument, 0, 'T'},
        {"count", required_argument, 0, 'n'},   {"output", required_argument, 0, 'o'},
        {"encode-local", no_argument, 0, 'e'},  {"role", required_argument, 0, 'r'},
        {"endpoint", required_argument, 0, 'E'},{"split", required_argument, 0, 's'},
        {"stats", no_argument, 0, 'S'},         {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    sx_runtime_opts_default(&o->rt);
    o->count = 100000;
    o->role = "local";
    o->split = 2;
    uint64_t v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:T:n:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': if (parse_u64("--threads", optarg, 1, 1024, &v)) return -1; o->rt.threads = (unsigned)v; break;
        case 'T': if (parse_u64("--tokens", optarg, 1, 1u << 24, &v)) return -1; o->rt.tokens = (uint32_t)v; break;
        case 'n': if (parse_u64("--count", optarg, 0, UINT64_C(1) << 40, &v)) return -1; o->count = v; break;
        case 'o': o->output = optarg; break;
        case 'e': o->rt.encode_local = true; break;
        case 'r': o->role = optarg; break;
        case 'E': o->endpoint = optarg; break;
        case 's': if (parse_u64("--split", optarg, 1, 4, &v)) return -1; o->split = (unsigned)v; break;
        case 'S': o->stats = 1; break;
        case 'j': o->json = 1; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "scalanytics demo: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (strcmp(o->role, "local") && strcmp(o->role, "send") && strcmp(o->role, "receive")) {
        fprintf(stderr, "scalanytics demo: --role is local, send or receive, got '%s'\n", o->role);
        return -1;
    }
    if (strcmp(o->role, "local") && !o->endpoint) {
        fprintf(stderr, "scalanytics demo: --role %s needs --endpoint\n", o->role);
        return -1;
    }
    return 0;
}

/** Builds the 5-stage pipeline on rt. */
static sx_pipeline *build(sx_runtime *rt, demo *d)
{
    sx_pipeline *p = sx_pipeline_new(rt, "demo");
    sx_actor *a;
    if (!p || !sx_pipeline_add(p, "fanout", SX_PARALLEL, st_fanout, d) ||
        !(a = sx_pipeline_add(p, "keyed", SX_PARALLEL_CONTEXT, st_keyed, d)))
        return NULL;
    sx_actor_set_key(a, key_of, NULL);
    if (!sx_pipeline_add(p, "filter", SX_PARALLEL, st_filter, d) ||
        !(a = sx_pipeline_add(p, "running", SX_SERIAL_CONTEXT, st_running, d)))
        return NULL;
    sx_actor_set_key(a, key_of, NULL);
    if (!sx_pipeline_add(p, "sink", SX_SERIAL, st_sink, d))
        return NULL;
    sx_pipeline_set_sink(p, sink, d);
    return p;
}

/** Placement of the split: every tuple goes to the receiving node. */
static int to_receiver(void *arg, const sx_tuple *t)
{
    (void)t;
    return *(const int *)arg;
}

/** Makes rt one of two nodes, "sender" (admits, runs the components
 *  before --split) and "receiver" (binds the endpoint, runs the rest).
 *  0, or -1 with a message. */
static int split(sx_runtime *rt, sx_pipeline *p, const demo_opts *o, char *err, size_t errlen)
{
    static const char *const names[] = {"sender", "receiver"};
    static const bool sources[] = {true, false};
    static const int receiver = 1;
    bool sending = !strcmp(o->role, "send");
    const char *endpoints[] = {NULL, o->endpoint};
    sx_net_opts no = {.node = names[sending ? 0 : 1], .names = names, .endpoints = endpoints,
                      .sources = sources, .n = 2, .bind = sending ? NULL : o->endpoint};
    if (sx_runtime_set_net(rt, &no, err, errlen) != 0)
        return -1;
    if (sending && sx_pipeline_set_placement(p, o->split - 1, to_receiver, (void *)&receiver) != 0) {
        snprintf(err, errlen, "cannot split at component %u", o->split);
        return -1;
    }
    return 0;
}

/** Admits count inputs src(@"local", I, KEY, NAME). */
static void admit_inputs(sx_pipeline *p, uint64_t count)
{
    sx_blob *node = sx_blob_new("local", 5);
    for (uint64_t i = 0; i < count; i++) {
        sx_batch *b = sx_batch_new(0);
        sx_tuple *t = sx_batch_add(b, "src", 4);
        t->vals[0] = sx_value_from_blob(SX_STR, sx_blob_ref(node));
        t->vals[1] = sx_value_int((int64_t)i);
        t->vals[2] = sx_value_int((int64_t)((i * 7919) % DEMO_KEYS));
        char name[32];
        int len = snprintf(name, sizeof name, "item-%" PRIu64, i);
        t->vals[3] = sx_value_str(name, (size_t)len);
        b->time_ns = (int64_t)i * 1000;
        sx_pipeline_inject(p, b);
    }
    sx_blob_release(&node);
}

/** Monotonic seconds. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Checks the run; prints the summary. Returns the number of failures. */
static int report(const demo_opts *o, sx_runtime *rt, sx_pipeline *p, const demo *d, double secs)
{
    sx_pipeline_stats st;
    sx_pipeline_stats_get(p, &st);
    bool receiving = !strcmp(o->role, "receive"), sending = !strcmp(o->role, "send");
    uint64_t tokens = receiving ? d->sink_last : o->count;
    uint64_t expect = 0;
    for (uint64_t i = 0; i < tokens; i++)
        expect += expected_for((int64_t)i);
    if (receiving)
        expect = d->sink_expect; /* the tokens that came, each checked */
    int fail = 0;
    if (!receiving && (st.admitted != o->count || st.completed != o->count)) fail++;
    if (st.bad_releases || st.max_in_flight > o->rt.tokens || d->write_errors) fail++;
    if (!sending && (d->sink_disorder || d->sink_tuples != expect || d->sink_last != tokens)) fail++;
    uint64_t stolen = sx_runtime_stolen(rt);
    if (o->json) {
        fprintf(stderr,
                "{\"role\":\"%s\",\"threads\":%u,\"tokens\":%u,\"encode_local\":%s,"
                "\"admitted\":%" PRIu64 ",\"completed\":%" PRIu64 ",\"max_in_flight\":%" PRIu64
                ",\"sink_tokens\":%" PRIu64 ",\"sink_tuples\":%" PRIu64 ",\"expected_tuples\":%" PRIu64
                ",\"out_of_order\":%" PRIu64 ",\"stolen\":%" PRIu64 ",\"link_batches\":%" PRIu64
                ",\"seconds\":%.3f,\"ok\":%s}\n",
                o->role, sx_runtime_threads(rt), o->rt.tokens, o->rt.encode_local ? "true" : "false",
                st.admitted, st.completed, st.max_in_flight, d->sink_tokens, d->sink_tuples,
                sending ? 0 : expect, d->sink_disorder, stolen, st.link_batches, secs,
                fail ? "false" : "true");
    } else {
        fprintf(stderr,
                "demo (%s): %u threads, %u tokens max, encode-local %s\n"
                "  admitted %" PRIu64 ", completed %" PRIu64 ", max in flight %" PRIu64 "\n",
                o->role, sx_runtime_threads(rt), o->rt.tokens, o->rt.encode_local ? "on" : "off",
                st.admitted, st.completed, st.max_in_flight);
        if (!sending)
            fprintf(stderr, "  sink: %" PRIu64 " tokens (%" PRIu64 " out of order), %" PRIu64
                            " tuples (expected %" PRIu64 ")\n",
                    d->sink_tokens, d->sink_disorder, d->sink_tuples, expect);
        if (st.link_batches || st.link_bad)
            fprintf(stderr, "  link: %" PRIu64 " batches, %" PRIu64 " malformed\n",
                    st.link_batches, st.link_bad);
        fprintf(stderr, "  %.3f s, %.0f inputs/s, %" PRIu64 " activations stolen\n  %s\n", secs,
                secs > 0 ? (double)tokens / secs : 0.0, stolen,
                fail ? "FAILED: see the counts above" : "all checks passed");
    }
    if (o->stats) {
        sx_pipeline_print_stats(p, stderr);
        sx_runtime_print_stats(rt, stderr);
    }
    return fail;
}

int cli_demo(int argc, char **argv)
{
    demo_opts o;
    int rc = demo_parse(argc, argv, &o);
    if (rc != 0) {
        demo_usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    static demo d; /* large per-key arrays: keep them off the stack */
    memset(&d, 0, sizeof d);
    if (o.output) {
        d.out = strcmp(o.output, "-") ? fopen(o.output, "w") : stdout;
        if (!d.out) {
            fprintf(stderr, "scalanytics demo: cannot write %s: %s\n", o.output, strerror(errno));
            return 1;
        }
    }
    char err[256];
    sx_runtime *rt = sx_runtime_new(&o.rt, err, sizeof err);
    sx_pipeline *p = rt ? build(rt, &d) : NULL;
    d.receiving = !strcmp(o.role, "receive");
    if (p && strcmp(o.role, "local") && split(rt, p, &o, err, sizeof err) != 0)
        p = NULL;
    if (!p || sx_runtime_start(rt, err, sizeof err) != 0) {
        fprintf(stderr, "scalanytics demo: %s\n", p ? err : rt ? "cannot build pipeline" : err);
        sx_runtime_destroy(&rt);
        return 1;
    }
    double t0 = now_s();
    if (!strcmp(o.role, "receive")) {
        rc = sx_runtime_wait_sources(rt);
    } else {
        admit_inputs(p, o.count);
        rc = sx_pipeline_finish(p);
    }
    double secs = now_s() - t0;
    if (rc != 0)
        fprintf(stderr, "scalanytics demo: the link failed\n");
    int fail = report(&o, rt, p, &d, secs) + (rc != 0);
    sx_runtime_destroy(&rt);
    if (d.out && d.out != stdout && fclose(d.out) != 0) {
        fprintf(stderr, "scalanytics demo: writing %s: %s\n", o.output, strerror(errno));
        fail++;
    }
    return fail ? 1 : 0;
}
