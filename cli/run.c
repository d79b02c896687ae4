/*
 * run.c -- `scalanytics run PROGRAM... --tuples FILE`: run ANALOG
 * programs, each as its own pipeline on one shared worker pool, every
 * input tuple fanned out to all of them; the last component's outputs go
 * to the destinations of run_output.c (JSON lines or CSV, per relation).
 *
 * The admitting thread (main) reads the input and injects; sinks run on
 * workers, so the outputs and the per-relation counts are guarded by the
 * output lock (the sink is once per token, not per hop). SIGINT stops
 * reading; what was admitted is drained and written before exit.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "actors/deploy.h"
#include "capture/progress.h"
#include "capture/source.h"
#include "analog/settings.h"
#include "cli.h"
#include "analog/counters.h"
#include "functions/fn_traffic.h"
#include "heartbeat.h"
#include "program.h"
#include "run_output.h"
#include "proto/alloc.h"
#include "proto/json.h"

enum { MAX_RELATIONS = 256, MAX_REPORTED_BAD_LINES = 10 };

typedef struct rel_count {
    char *name;
    uint64_t n;
} rel_count;

/* One pipeline's sink. */
typedef struct run_sink {
    const char *name;
    const analog_plan *plan;
    run_output *out;
    rel_count rels[MAX_RELATIONS];
    size_t nrels;
    uint64_t other; /* outputs of relations beyond MAX_RELATIONS names */
} run_sink;

static volatile sig_atomic_t interrupted;

/** SIGINT: stop admitting; the run drains and reports. */
static void on_sigint(int sig)
{
    interrupted = 1;
}

/** Counts one output of relation rel (under the output lock). */
static void count_relation(run_sink *s, const char *rel)
{
    for (size_t i = 0; i < s->nrels; i++)
        if (!strcmp(s->rels[i].name, rel)) {
            s->rels[i].n++;
            return;
        }
    if (s->nrels == MAX_RELATIONS) {
        s->other++;
        return;
    }
    s->rels[s->nrels].name = strdup(rel);
    if (!s->rels[s->nrels].name)
        sx_alloc_fail(strlen(rel) + 1);
    s->rels[s->nrels++].n = 1;
}

/** The pipeline sink: each output tuple to its destination, counted. */
static void sink(void *arg, const sx_batch *b)
{
    run_sink *s = arg;
    run_output_lock(s->out);
    for (uint32_t i = 0; i < b->n; i++) {
        const sx_tuple *t = &b->tuples[i];
        uint32_t nnames = 0;
        const char *const *names = analog_plan_attr_names(s->plan, sx_tuple_relation(t), &nnames);
        run_output_tuple(s->out, s->name, b, t, names, nnames);
        count_relation(s, sx_tuple_relation(t));
    }
    run_output_unlock(s->out);
}

typedef struct run_opts {
    sx_runtime_opts rt;
    cli_program_opts prog;
    const char *tuples, *stats_json, *publish;
    char **outs;              /* every -o [REL=]FILE */
    size_t nouts;
    const char *deploy, *key; /* --deploy FILE, --key FILE */
    int64_t heartbeat_ns;     /* --heartbeat; -1 = the default */
    int stats;
    size_t max_bytes;
    unsigned subscribers;
    sx_capture_opts cap; /* --read / --interface */
} run_opts;

/** Prints run's help. */
static void run_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics run [OPTIONS] PROGRAM... (--read PCAP | --interface IF | --tuples FILE)\n"
        "\n"
        "Runs ANALOG programs. Each program is its own pipeline with its own tokens;\n"
        "all share one pool of worker threads, and every input tuple goes to each.\n"
        "The last component's outputs are written as JSON lines, one object per tuple:\n"
        "  {\"pipeline\": P, \"relation\": R, \"token\": T, \"time\": SECONDS, VAR: value, ...}\n"
        "named by the variables of the rule head that produced it, or per relation\n"
        "into files of their own, JSON lines or CSV (see outputs).\n"
        "\n"
        "input (exactly one):\n"
        "  -r, --read FILE         packets from a pcap or pcapng file; each IPv4 packet\n"
        "                          becomes input(@NODE, PKT, SRC_IP, DST_IP) with its\n"
        "                          capture time (IPv6 and non-IP frames are counted\n"
        "                          and skipped); a progress bar shows on a terminal\n"
        "  -i, --interface IF      packets from a live interface (inputs beyond the\n"
        "                          token limit are dropped and counted, not queued)\n"
        "  -t, --tuples FILE       input tuples as JSON lines ('-' = stdin), each\n"
        "                          {\"relation\": \"input\", \"time\": 1.5, \"values\": [\"node\", ...]}\n"
        "                          (values[0] is the location @N; {\"ip\": \"10.0.0.1\"},\n"
        "                          {\"bytes\": \"<base64>\"} and {\"record\": {...}} for those kinds)\n"
        "\n"
        "capture options:\n"
        "  -f, --filter EXPR       a BPF filter, e.g. 'tcp port 25'\n"
        "      --node NAME         the location @N of captured packets (default local);\n"
        "                          with --deploy, this node's name in the deployment\n"
        "      --snaplen N         bytes captured per packet, live (default 262144)\n"
        "      --no-promisc        do not put the interface in promiscuous mode\n"
        "      --buffer-size MIB   kernel capture buffer, live\n"
        "      --immediate         deliver live packets at once (no batching)\n"
        "\n"
        "distribution (several processes or hosts run one program):\n"
        "      --deploy FILE       the deployment: node names, endpoints, groups, keys\n"
        "                          (format in deploy/README.md); every node runs the\n"
        "                          same program with its own --node. A rule whose head\n"
        "                          location names another node (A = \"collector\", or\n"
        "                          A = f_partition(KEY, \"group\")) ships the tuple\n"
        "                          there and that node continues with the next\n"
        "                          component. A node marked 'source' reads --read or\n"
        "                          --interface; the others give no input, receive, and\n"
        "                          exit when every source has finished\n"
        "      --key FILE          this node's CurveZMQ key pair (scalanytics keygen),\n"
        "                          needed when the deployment lists keys\n"
        "\n"
        "outputs:\n"
        "  -o, --out [REL=]FILE    where outputs go (repeatable). -o FILE: every output\n"
        "                          not routed elsewhere (default: stdout, or nowhere\n"
        "                          with --publish). -o REL=FILE: relation REL's\n"
        "                          outputs, which then leave the default (REL must be\n"
        "                          one a program outputs). A FILE ending in .csv is\n"
        "                          CSV: a header line of REL's variables (written even\n"
        "                          if no tuple comes), then one line per tuple, those\n"
        "                          columns only, RFC 4180 quoting; it holds one\n"
        "                          relation, so it is never the default. Any other\n"
        "                          FILE gets JSON lines; a FILE named twice is one\n"
        "                          file. E.g. -o sessions.jsonl -o sip_call=calls.csv\n"
        "                          (CSV values: strings as they are, \"\" if empty,\n"
        "                          nothing for null, floats shortest exact, IPs\n"
        "                          dotted, bytes base64, lists and records as JSON)\n"
        "      --publish EP        also publish each output as a ZeroMQ message on\n"
        "                          endpoint EP (bound here, e.g. tcp://127.0.0.1:5557);\n"
        "                          `scalanytics listen EP` prints them\n"
        "      --subscribers N     with --publish, wait (up to 10 s) for N subscribers\n"
        "                          before reading input, so none misses the start\n"
        "      --max-bytes N       cut bytes values in JSON output to N bytes, adding\n"
        "                          \"NAME_truncated\": true (default: no cut; CSV\n"
        "                          files get them whole)\n"
        "\n"
        "options:\n"
        "  -p, --param NAME=VALUE  bind $NAME in the programs (repeatable)\n"
        "  -s, --source REL        a relation the first component may consume\n"
        "                          (repeatable; default: input)\n"
        "      --set NAME=VALUE    change a setting of the functions or the evaluator\n"
        "                          (caps, limits, timeouts; 'scalanytics functions'\n"
        "                          lists them with their defaults); repeatable\n"
        "      --config FILE       settings from a file of 'name = value' lines\n"
        "  -j, --threads N         worker threads (default: number of CPUs)\n"
        "  -T, --tokens N          tokens in flight per pipeline (default 1000)\n"
        "      --heartbeat SECONDS a heartbeat every SECONDS of packet time (default 1;\n"
        "                          0 = only at the end of input): stateful functions\n"
        "                          report what fell due (calls that timed out) and free\n"
        "                          idle state; the end of input flushes everything\n"
        "      --encode-local      protobuf-encode every local hop (a runtime check)\n"
        "      --stats[=FILE]      per-component and per-worker tables on stderr, or\n"
        "                          the run summary as JSON into FILE\n"
        "  -h, --help              this help\n"
        "\n"
        "A summary (inputs, tokens, outputs per relation, elapsed) always goes to\n"
        "stderr. Ctrl-C stops reading; admitted inputs are still finished and written.\n"
        "Exit status: 0 ok, 1 a program error or bad input lines, 2 bad usage.\n"
        "\n"
        "examples:\n"
        "  scalanytics run programs/match.analog --tuples in.jsonl --param P=hello\n"
        "  scalanytics run programs/sip.analog --read voip.pcap \\\n"
        "      -o sessions.jsonl -o sip_call=calls.csv\n");
}

/** Parses a number option; -1 with a message if bad. */
static int num(const char *opt, const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v == 0 || v > max) {
        fprintf(stderr, "scalanytics run: %s wants a number from 1 to %llu, got '%s'\n", opt, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/** Parses --heartbeat SECONDS (0 to a day, fractions allowed) into ns;
 *  -1 with a message if bad. */
static int heartbeat_parse(const char *s, int64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= 0 && v <= 86400) || (v > 0 && v < 1e-6)) {
        fprintf(stderr, "scalanytics run: --heartbeat wants seconds from 0 (only at the end "
                        "of input) or 0.000001 to 86400, got '%s'\n", s);
        return -1;
    }
    *ns = (int64_t)(v * 1e9 + 0.5);
    return 0;
}

/** Applies --set NAME=VALUE (opt 'E') or --config FILE (opt 'C'). */
static int apply_setting(int opt, char *arg)
{
    char err[300];
    if (opt == 'C') {
        if (analog_settings_load(arg, err, sizeof err) == 0)
            return 0;
    } else {
        char *eq = strchr(arg, '=');
        if (!eq) {
            fprintf(stderr, "scalanytics run: --set wants NAME=VALUE, got '%s'\n", arg);
            return -1;
        }
        *eq = 0;
        if (analog_setting_set(arg, eq + 1, err, sizeof err) == 0)
            return 0;
    }
    fprintf(stderr, "scalanytics run: %s\n", err);
    return -1;
}

/** Parses argv; returns 0, 1 for --help, or 2 on a usage error. */
static int run_parse(int argc, char **argv, run_opts *o)
{
    static const struct option longopts[] = {
        {"tuples", required_argument, 0, 't'}, {"param", required_argument, 0, 'p'},
        {"source", required_argument, 0, 's'}, {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 'j'}, {"tokens", required_argument, 0, 'T'},
        {"max-bytes", required_argument, 0, 'm'}, {"encode-local", no_argument, 0, 'e'},
        {"stats", optional_argument, 0, 'S'}, {"publish", required_argument, 0, 'P'},
        {"subscribers", required_argument, 0, 'N'}, {"read", required_argument, 0, 'r'},
        {"interface", required_argument, 0, 'i'}, {"filter", required_argument, 0, 'f'},
        {"node", required_argument, 0, 'n'}, {"snaplen", required_argument, 0, 'L'},
        {"no-promisc", no_argument, 0, 'X'}, {"buffer-size", required_argument, 0, 'B'},
        {"immediate", no_argument, 0, 'I'}, {"set", required_argument, 0, 'E'},
        {"config", required_argument, 0, 'C'}, {"help", no_argument, 0, 'h'},
        {"deploy", required_argument, 0, 'D'}, {"key", required_argument, 0, 'K'},
        {"heartbeat", required_argument, 0, 'H'}, {0, 0, 0, 0}};
    unsigned long long v;
    int c;
    optind = 1;
    o->cap.promiscuous = true;
    o->heartbeat_ns = CLI_HEARTBEAT_DEFAULT_NS;
    while ((c = getopt_long(argc, argv, "t:p:s:o:j:T:r:i:f:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': o->tuples = optarg; break;
        case 'p': if (cli_program_add_param(&o->prog, "run", optarg)) return 2; break;
        case 's': cli_program_add_source(&o->prog, optarg); break;
        case 'o':
            o->outs = sx_realloc(o->outs, (o->nouts + 1) * sizeof *o->outs);
            o->outs[o->nouts++] = optarg;
            break;
        case 'j': if (num("--threads", optarg, 1024, &v)) return 2; o->rt.threads = (unsigned)v; break;
        case 'T': if (num("--tokens", optarg, 1u << 24, &v)) return 2; o->rt.tokens = (uint32_t)v; break;
        case 'm': if (num("--max-bytes", optarg, 1ull << 30, &v)) return 2; o->max_bytes = v; break;
        case 'e': o->rt.encode_local = true; break;
        case 'S': o->stats = 1; o->stats_json = optarg; break;
        case 'P': o->publish = optarg; break;
        case 'r': o->cap.path = optarg; break;
        case 'i': o->cap.interface = optarg; break;
        case 'f': o->cap.filter = optarg; break;
        case 'n': o->cap.node = optarg; break;
        case 'L': if (num("--snaplen", optarg, 1u << 18, &v)) return 2; o->cap.snaplen = (int)v; break;
        case 'X': o->cap.promiscuous = false; break;
        case 'B': if (num("--buffer-size", optarg, 2047, &v)) return 2; o->cap.buffer_mib = (int)v; break;
        case 'I': o->cap.immediate = true; break;
        case 'E':
        case 'C':
            if (apply_setting(c, optarg) != 0)
                return 2;
            break;
        case 'N': if (num("--subscribers", optarg, 1000, &v)) return 2; o->subscribers = (unsigned)v; break;
        case 'D': o->deploy = optarg; break;
        case 'K': o->key = optarg; break;
        case 'H':
            if (heartbeat_parse(optarg, &o->heartbeat_ns) != 0)
                return 2;
            break;
        case 'h': return 1;
        default: return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "scalanytics run: no PROGRAM given\n");
        return 2;
    }
    if (o->subscribers && !o->publish) {
        fprintf(stderr, "scalanytics run: --subscribers needs --publish\n");
        return 2;
    }
    int inputs = !!o->tuples + !!o->cap.path + !!o->cap.interface;
    if (o->deploy && !o->cap.node) {
        fprintf(stderr, "scalanytics run: --deploy needs --node NAME (this node's name)\n");
        return 2;
    }
    if (o->deploy && inputs <= 1)
        return 0; /* whether this node needs an input, the deployment says */
    if (inputs != 1) {
        fprintf(stderr, "scalanytics run: %s: give exactly one of --read FILE, --interface IF, "
                        "--tuples FILE\n", inputs ? "several inputs" : "no input");
        return 2;
    }
    return 0;
}

/** Gives tuple t (time ns) to every pipeline, each its own copy sharing
 *  t's storage, after the heartbeat due before it; live inputs are
 *  offered (dropped when no token is free). t is cleared. */
static void fan_out(sx_pipeline **pipes, size_t np, sx_tuple *t, int64_t ns, bool live,
                    cli_heartbeat *hb)
{
    int64_t at;
    if (cli_heartbeat_due(hb, ns, &at))
        cli_heartbeat_send(hb, pipes, np, at, false);
    for (size_t i = 0; i < np; i++) {
        sx_batch *b = sx_batch_new(0);
        b->time_ns = ns;
        sx_tuple copy;
        sx_tuple_copy(&copy, t);
        sx_batch_push(b, &copy);
        if (live)
            sx_pipeline_offer(pipes[i], b);
        else
            sx_pipeline_inject(pipes[i], b);
    }
    sx_tuple_clear(t);
}

/** Reads packets and fans each out to all pipelines. Returns 0, or 1
 *  when the capture failed (what was read before is still processed). */
static long admit_capture(sx_capture *cap, bool live, sx_pipeline **pipes, size_t np,
                          uint64_t *inputs, cli_heartbeat *hb)
{
    uint64_t size = 0, done = 0;
    sx_progress *bar = NULL;
    if (!live && sx_capture_progress(cap, &done, &size) == 0 && size > 0)
        bar = sx_progress_new(size);
    long rc = 0;
    uint64_t bits = 0;
    char err[256];
    while (!interrupted) {
        sx_tuple t = {0};
        int64_t ns;
        int got = sx_capture_next(cap, &t, &ns, err, sizeof err);
        if (got <= 0) {
            if (got < 0) {
                fprintf(stderr, "scalanytics run: %s\n", err);
                rc = 1;
            }
            break;
        }
        bits += 8 * (uint64_t)t.vals[1].u.blob->len;
        fan_out(pipes, np, &t, ns, live, hb);
        (*inputs)++;
        if (bar && (*inputs & 255) == 0 && sx_capture_progress(cap, &done, &size) == 0)
            sx_progress_update(bar, done, bits);
    }
    if (bar) {
        if (sx_capture_progress(cap, &done, &size) == 0)
            sx_progress_update(bar, done, bits);
        sx_progress_finish(&bar);
    }
    return rc;
}

/** Reads the input and fans every tuple out to all pipelines. Returns
 *  the number of bad lines; -1 if the input cannot be read. */
static long admit_all(const run_opts *o, sx_pipeline **pipes, size_t np, uint64_t *inputs,
                      cli_heartbeat *hb)
{
    FILE *in = strcmp(o->tuples, "-") ? fopen(o->tuples, "r") : stdin;
    if (!in) {
        fprintf(stderr, "scalanytics run: cannot read %s: %s\n", o->tuples, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long bad = 0, lineno = 0;
    while (!interrupted && (len = getline(&line, &cap, in)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        sx_tuple t = {0};
        int64_t ns;
        char err[200];
        if (sx_json_read_tuple(line, (size_t)len, &t, &ns, err, sizeof err) != 0) {
            if (bad++ < MAX_REPORTED_BAD_LINES)
                fprintf(stderr, "%s:%ld: %s (line skipped)\n", o->tuples, lineno, err);
            continue;
        }
        fan_out(pipes, np, &t, ns, false, hb);
        (*inputs)++;
    }
    if (ferror(in) && !interrupted)
        fprintf(stderr, "scalanytics run: error reading %s\n", o->tuples), bad++;
    free(line);
    if (in != stdin)
        fclose(in);
    if (bad > MAX_REPORTED_BAD_LINES)
        fprintf(stderr, "%s: %ld bad lines in all (only the first %d shown)\n", o->tuples, bad,
                MAX_REPORTED_BAD_LINES);
    return bad;
}

/** Monotonic seconds. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** The summary on stderr (always) and as JSON into a file (--stats=FILE). */
static int summary(const run_opts *o, sx_runtime *rt, sx_pipeline **pipes, run_sink *sinks,
                   cli_program *progs, size_t np, uint64_t inputs, long bad, double secs,
                   sx_capture *cap)
{
    FILE *js = NULL;
    if (o->stats_json && !(js = fopen(o->stats_json, "w"))) {
        fprintf(stderr, "scalanytics run: cannot write %s: %s\n", o->stats_json, strerror(errno));
        return -1;
    }
    uint64_t acts = sx_runtime_activations(rt), stolen = sx_runtime_stolen(rt);
    struct rusage ru;
    long peak_kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
    fprintf(stderr, "run: %" PRIu64 " inputs (%ld %s) in %.3f s, %u threads, %.1f%% of %" PRIu64
                    " activations stolen, peak RSS %.1f MiB, %s\n",
            inputs, bad, cap ? "capture errors" : "bad lines", secs, sx_runtime_threads(rt),
            acts ? 100.0 * (double)stolen / (double)acts : 0.0, acts, peak_kib / 1024.0,
            interrupted ? "interrupted" : "complete");
    sx_capture_stats cs;
    if (cap) {
        sx_capture_stats_get(cap, &cs);
        sx_capture_stats_print(&cs, stderr);
    }
    if (js)
        fprintf(js, "{\"inputs\": %" PRIu64 ", \"bad_lines\": %ld, \"seconds\": %.6f, \"threads\": %u, "
                    "\"activations\": %" PRIu64 ", \"stolen\": %" PRIu64 ", \"peak_rss_kib\": %ld, "
                    "\"interrupted\": %s, \"pipelines\": [",
                inputs, bad, secs, sx_runtime_threads(rt), acts, stolen, peak_kib,
                interrupted ? "true" : "false");
    for (size_t i = 0; i < np; i++) {
        sx_pipeline_stats st;
        sx_pipeline_stats_get(pipes[i], &st);
        fprintf(stderr, "pipeline %s: %" PRIu64 " tokens, %" PRIu64 " completed, max %" PRIu64
                        " in flight, %" PRIu64 " dropped (no token free), %" PRIu64 " errors\n",
                sinks[i].name, st.admitted, st.completed, st.max_in_flight, st.dropped, st.errors);
        if (js) {
            fprintf(js, "%s{\"name\": ", i ? ", " : "");
            sx_json_write_string(js, sinks[i].name, strlen(sinks[i].name));
            fprintf(js, ", \"tokens\": %" PRIu64 ", \"completed\": %" PRIu64 ", \"dropped\": %" PRIu64
                        ", \"outputs\": {", st.admitted, st.completed, st.dropped);
        }
        for (size_t r = 0; r < sinks[i].nrels; r++) {
            fprintf(stderr, "  %-28s %12" PRIu64 " outputs\n", sinks[i].rels[r].name, sinks[i].rels[r].n);
            if (js) {
                fprintf(js, "%s", r ? ", " : "");
                sx_json_write_string(js, sinks[i].rels[r].name, strlen(sinks[i].rels[r].name));
                fprintf(js, ": %" PRIu64, sinks[i].rels[r].n);
            }
        }
        if (js)
            fprintf(js, "}}");
        sx_pipeline_print_stats(pipes[i], stderr);
        if (o->stats && !o->stats_json)
            analog_plan_print_stats(progs[i].plan, stderr);
    }
    analog_counters_report(stderr);
    sx_runtime_print_net(rt, stderr);
    if (o->stats && !o->stats_json) {
        sx_runtime_print_stats(rt, stderr);
        fn_traffic_report(stderr);
    }
    if (js) {
        fprintf(js, "], \"traffic\": ");
        fn_traffic_json(js);
        fprintf(js, ", \"counters\": ");
        analog_counters_json(js);
        fprintf(js, ", \"net\": ");
        sx_runtime_net_json(rt, js);
        if (cap) {
            fprintf(js, ", \"capture\": ");
            sx_capture_stats_json(&cs, js);
        }
        fprintf(js, "}\n");
        if (fclose(js) != 0)
            return -1;
    }
    return 0;
}

/** Makes rt this node of deployment d. 0, or -1 with a message. */
static int setup_net(const run_opts *o, const sx_deploy *d, sx_runtime *rt)
{
    const char **names = sx_calloc(d->n, sizeof *names), **eps = sx_calloc(d->n, sizeof *eps);
    const char **keys = sx_calloc(d->n, sizeof *keys);
    bool *sources = sx_calloc(d->n, sizeof *sources);
    for (size_t i = 0; i < d->n; i++) {
        names[i] = d->nodes[i].name;
        eps[i] = d->nodes[i].endpoint;
        keys[i] = d->nodes[i].public_key;
        sources[i] = d->nodes[i].source;
    }
    char pub[41] = "", sec[41] = "", err[300];
    int rc = 0;
    if (d->curve && sx_keys_load(o->key, pub, sec, err, sizeof err) != 0)
        rc = -1;
    const sx_deploy_node *me = &d->nodes[sx_deploy_find(d, o->cap.node)];
    if (rc == 0 && d->curve && strcmp(pub, me->public_key) != 0) {
        snprintf(err, sizeof err, "%s holds a key pair whose public key is not node %s's in the "
                 "deployment", o->key, me->name);
        rc = -1;
    }
    sx_net_opts no = {.node = o->cap.node, .names = names, .endpoints = eps,
                      .sources = sources, .keys = d->curve ? keys : NULL, .n = d->n,
                      .bind = me->bind, .public_key = pub, .secret_key = sec};
    if (rc == 0)
        rc = sx_runtime_set_net(rt, &no, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "scalanytics run: %s\n", err);
    free(names), free(eps), free(keys), free(sources);
    return rc;
}

/** Builds, runs and reports; returns the exit status. */
static int run_programs(run_opts *o, cli_program *progs, size_t np, run_output *out,
                        const sx_deploy *d)
{
    char err[256];
    sx_runtime *rt = sx_runtime_new(&o->rt, err, sizeof err);
    if (!rt) {
        fprintf(stderr, "scalanytics run: %s\n", err);
        return 1;
    }
    bool receive_only = d && !d->nodes[sx_deploy_find(d, o->cap.node)].source;
    if (d && setup_net(o, d, rt) != 0) {
        sx_runtime_destroy(&rt);
        return 1;
    }
    sx_pipeline **pipes = sx_calloc(np, sizeof *pipes);
    run_sink *sinks = sx_calloc(np, sizeof *sinks);
    int status = 0;
    for (size_t i = 0; i < np && status == 0; i++) {
        const char *base = strrchr(progs[i].path, '/');
        sinks[i].name = base ? base + 1 : progs[i].path;
        sinks[i].plan = progs[i].plan;
        sinks[i].out = out;
        pipes[i] = sx_pipeline_new(rt, sinks[i].name);
        analog_plan_set_workers(progs[i].plan, sx_runtime_threads(rt));
        if (!pipes[i] || analog_plan_install(progs[i].plan, pipes[i], err, sizeof err) != 0) {
            fprintf(stderr, "scalanytics run: %s: %s\n", progs[i].path, pipes[i] ? err : "no pipeline");
            status = 1;
        } else {
            sx_pipeline_set_sink(pipes[i], sink, &sinks[i]);
        }
    }
    sx_capture *cap = NULL;
    if (status == 0 && !o->tuples && !receive_only) {
        cap = sx_capture_open(&o->cap, err, sizeof err);
        if (!cap) {
            fprintf(stderr, "scalanytics run: %s\n", err);
            status = 1;
        } else if (sx_capture_warning(cap)) {
            fprintf(stderr, "scalanytics run: warning: %s\n", sx_capture_warning(cap));
        }
    }
    if (status == 0 && sx_runtime_start(rt, err, sizeof err) != 0) {
        fprintf(stderr, "scalanytics run: %s\n", err);
        status = 1;
    }
    if (status == 0) {
        /* no SA_RESTART: a read blocked on a pipe must return on Ctrl-C */
        struct sigaction sa = {.sa_handler = on_sigint};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        double t0 = now_s();
        uint64_t inputs = 0;
        long bad = 0;
        if (receive_only) {
            if (sx_runtime_wait_sources(rt) != 0) {
                fprintf(stderr, "scalanytics run: the node's network failed\n");
                status = 1;
            }
        } else {
            cli_heartbeat hb;
            cli_heartbeat_init(&hb, o->heartbeat_ns);
            bad = cap ? admit_capture(cap, o->cap.interface != NULL, pipes, np, &inputs, &hb)
                      : admit_all(o, pipes, np, &inputs, &hb);
            cli_heartbeat_finish(&hb, pipes, np);
            for (size_t i = 0; i < np; i++)
                if (sx_pipeline_finish(pipes[i]) != 0) {
                    fprintf(stderr, "scalanytics run: the node's network failed\n");
                    status = 1;
                }
        }
        double secs = now_s() - t0;
        signal(SIGINT, SIG_DFL);
        if (summary(o, rt, pipes, sinks, progs, np, inputs, bad, secs, cap) != 0 || bad != 0)
            status = 1;
    }
    sx_runtime_destroy(&rt);
    sx_capture_close(&cap);
    for (size_t i = 0; i < np; i++)
        for (size_t r = 0; r < sinks[i].nrels; r++)
            free(sinks[i].rels[r].name);
    free(sinks);
    free(pipes);
    return status;
}

/** Loads --deploy, checks this node against it (its name, whether it
 *  reads input, its key) and makes it current for f_partition. Returns
 *  0, or the exit status. */
static int load_deploy(const run_opts *o, sx_deploy **out)
{
    char err[400];
    sx_deploy *d = sx_deploy_load(o->deploy, err, sizeof err);
    if (!d) {
        fprintf(stderr, "scalanytics run: %s\n", err);
        return 1;
    }
    int me = sx_deploy_find(d, o->cap.node);
    bool input = o->tuples || o->cap.path || o->cap.interface;
    const char *why = NULL;
    if (me < 0)
        why = "is not a node of the deployment";
    else if (d->nodes[me].source && !input)
        why = "is a source: give it --read, --interface or --tuples";
    else if (!d->nodes[me].source && input)
        why = "only receives (it is not marked 'source'): give it no input";
    else if (d->curve && !o->key)
        why = "needs --key FILE: the deployment uses CurveZMQ keys";
    if (why) {
        fprintf(stderr, "scalanytics run: node '%s' %s (%s)\n", o->cap.node, why, o->deploy);
        sx_deploy_free(&d);
        return 2;
    }
    sx_deploy_set_current(d);
    *out = d;
    return 0;
}

int cli_run(int argc, char **argv)
{
    run_opts o;
    memset(&o, 0, sizeof o);
    sx_runtime_opts_default(&o.rt);
    int rc = run_parse(argc, argv, &o);
    if (rc != 0) {
        run_usage(rc == 1 ? stdout : stderr);
        cli_program_opts_free(&o.prog);
        free(o.outs);
        return rc == 1 ? 0 : 2;
    }
    sx_deploy *d = NULL;
    if (o.deploy && (rc = load_deploy(&o, &d)) != 0) {
        cli_program_opts_free(&o.prog);
        free(o.outs);
        return rc;
    }
    size_t np = (size_t)(argc - optind);
    cli_program *progs = sx_calloc(np, sizeof *progs);
    int status = 0;
    for (size_t i = 0; i < np; i++)
        if (cli_program_load(argv[optind + (int)i], &o.prog, &progs[i]) != 0)
            status = 1;
    run_output_opts oo = {.outs = o.outs, .nouts = o.nouts, .sources = o.prog.sources,
                          .nsources = o.prog.nsources, .publish = o.publish,
                          .subscribers = o.subscribers, .max_bytes = o.max_bytes};
    run_output *out = NULL;
    if (status == 0)
        out = run_output_new(&oo, progs, np, &status);
    if (status == 0)
        status = run_programs(&o, progs, np, out, d);
    if (run_output_close(&out) != 0 && status == 0)
        status = 1;
    for (size_t i = 0; i < np; i++)
        cli_program_free(&progs[i]);
    free(progs);
    cli_program_opts_free(&o.prog);
    free(o.outs);
    sx_deploy_set_current(NULL);
    sx_deploy_free(&d);
    return status;
}
