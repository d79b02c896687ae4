/*
 * run_output.c -- the destinations of `scalanytics run`'s outputs: a
 * default one, one file per routed relation (-o REL=FILE), and the
 * --publish socket.
 *
 * Routes are checked before any file is opened, against what the
 * programs can output (worked out from their trees: the sources and
 * every rule head, less what a component consumes). A file is one
 * destination however often it is named, by the same name or another
 * (same device and inode): a JSON-lines file is shared, a CSV file
 * holds exactly one relation, so that its header, written when it is
 * opened (even if no tuple ever comes), describes every line.
 *
 * Sinks run on workers, so one mutex guards every destination, the
 * publish socket and the callers' counts; it is taken once per batch.
 */
#include "run_output.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

#include "cli/csv.h"
#include "proto/alloc.h"
#include "proto/json.h"

/* One file (or stdout). */
typedef struct dest {
    const char *path;        /* as given (borrowed from argv), or "stdout" */
    FILE *f;                 /* NULL: not open, or merged into another */
    bool csv;                /* by its name: ends in .csv */
    const char *rel;         /* CSV: the one relation it holds */
    const char *const *cols; /* CSV: that relation's variables (a plan's) */
    uint32_t ncols;
    const char *cols_from;   /* CSV: the program they came from */
    cli_csv *w;              /* CSV: the row writer */
    uint64_t write_errors;
    uint64_t misfits;        /* CSV: tuples of another arity, not written */
} dest;

/* -o REL=FILE: the relation's tuples go to dests[dest]. */
typedef struct route {
    char *rel;
    size_t len;
    size_t dest;
    const char *arg;         /* the -o argument, for messages */
} route;

struct run_output {
    /* Held by a sink around a batch: guards each dest's FILE, writer and
     * counters, the publish socket and its buffer, and the sinks' own
     * counts (run.c). The tables (dests, routes, deflt) are fixed before
     * the run starts and only read after. */
    pthread_mutex_t mu;
    dest *dests;
    size_t ndests;
    route *routes;
    size_t nroutes;
    long deflt;              /* the default destination; -1: none (--publish alone) */
    sx_json_opts json;
    void *zctx, *pub;        /* --publish: an XPUB socket, one message per tuple */
    FILE *mem;               /* reused buffer for a message */
    char *membuf;
    size_t memlen;
    uint64_t published, publish_errors;
};

/* ---- which relations the programs output ---- */

/* A set of relation names, borrowed from program trees or options. */
typedef struct relset {
    const char **v;
    size_t n;
} relset;

/** True when s holds rel. */
static bool relset_has(const relset *s, const char *rel)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], rel))
            return true;
    return false;
}

/** Adds rel to s unless it is there. */
static void relset_add(relset *s, const char *rel)
{
    if (relset_has(s, rel))
        return;
    s->v = sx_realloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = rel;
}

/** Removes rel from s if it is there. */
static void relset_remove(relset *s, const char *rel)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], rel)) {
            s->v[i] = s->v[--s->n];
            return;
        }
}

/** The relations that reach p's sink. The evaluator passes on every
 *  tuple no rule of a component consumes (the checker keeps one arity
 *  per relation), so what leaves component i is what entered it plus its
 *  heads, less the relations its rules consume. */
static void program_outputs(const analog_program *p, const char *const *sources, size_t nsources,
                            relset *out)
{
    for (size_t s = 0; s < nsources; s++)
        relset_add(out, sources[s]);
    for (uint32_t i = 0; i < p->ncomps; i++) {
        const analog_component *c = &p->comps[i];
        for (uint32_t r = 0; r < c->nrules; r++)
            relset_add(out, c->rules[r].head.rel);
        for (uint32_t r = 0; r < c->nrules; r++)
            relset_remove(out, c->rules[r].event.rel);
    }
}

/** Orders names for a message. */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/** Prints s sorted, comma-separated. */
static void relset_print(relset *s, FILE *f)
{
    qsort(s->v, s->n, sizeof *s->v, by_name);
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%s%s", i ? ", " : "", s->v[i]);
    if (s->n == 0)
        fputs("none", f);
}

/* ---- the routes, checked before anything is opened ---- */

/* What the checks need of the programs. */
typedef struct programs {
    const cli_program *progs;
    size_t np;
    relset *outs;            /* outs[i]: what program i outputs */
    relset all;              /* their union */
} programs;

/** Splits -o's "[REL=]FILE": REL is the text before the first '=' when
 *  it is a relation name (a letter or '_', then letters, digits, '_');
 *  otherwise the whole is FILE and *rel is NULL. *rel is the caller's. */
static void spec_split(const char *arg, char **rel, const char **path)
{
    size_t n = 0;
    bool name = arg[0] == '_' || (arg[0] >= 'a' && arg[0] <= 'z') || (arg[0] >= 'A' && arg[0] <= 'Z');
    while (name && (arg[n] == '_' || (arg[n] >= 'a' && arg[n] <= 'z') ||
                    (arg[n] >= 'A' && arg[n] <= 'Z') || (arg[n] >= '0' && arg[n] <= '9')))
        n++;
    *rel = NULL;
    *path = arg;
    if (name && arg[n] == '=') {
        *rel = sx_malloc(n + 1);
        memcpy(*rel, arg, n);
        (*rel)[n] = 0;
        *path = arg + n + 1;
    }
}

/** True when path names a CSV file (ends in .csv, any case). */
static bool is_csv(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && !strcasecmp(path + n - 4, ".csv");
}

/** The destination named path, added if new. */
static size_t dest_get(run_output *out, const char *path)
{
    for (size_t i = 0; i < out->ndests; i++)
        if (!strcmp(out->dests[i].path, path))
            return i;
    out->dests = sx_realloc(out->dests, (out->ndests + 1) * sizeof *out->dests);
    out->dests[out->ndests] = (dest){.path = path, .csv = is_csv(path)};
    return out->ndests++;
}

/** Makes CSV file d the home of relation rel: its columns are rel's
 *  variables, which must be known and the same in every program that
 *  outputs rel. 0, or -1 with a message. */
static int csv_claim(dest *d, const char *arg, const char *rel, const programs *ps)
{
    if (d->rel) {
        fprintf(stderr, "scalanytics run: -o %s: %s already holds relation '%s'; a CSV file "
                        "holds one relation (its header names the columns of every line)\n",
                arg, d->path, d->rel);
        return -1;
    }
    for (size_t i = 0; i < ps->np; i++) {
        if (!relset_has(&ps->outs[i], rel))
            continue;
        uint32_t n;
        const char *const *names = analog_plan_attr_names(ps->progs[i].plan, rel, &n);
        if (!names) {
            fprintf(stderr, "scalanytics run: -o %s: no rule of %s names the values of '%s' "
                            "(it passes through from the input), so there is no CSV header "
                            "for it; write it to a JSON-lines file\n", arg, ps->progs[i].path, rel);
            return -1;
        }
        bool same = !d->cols || n == d->ncols;
        for (uint32_t j = 0; d->cols && same && j < n; j++)
            same = !strcmp(names[j], d->cols[j]);
        if (!same) {
            fprintf(stderr, "scalanytics run: -o %s: relation '%s' has other variables in %s "
                            "than in %s; one CSV header cannot describe both\n",
                    arg, rel, ps->progs[i].path, d->cols_from);
            return -1;
        }
        d->cols = names, d->ncols = n, d->cols_from = ps->progs[i].path;
    }
    d->rel = rel;
    return 0;
}

/** Says that arg routes a relation no program outputs. */
static void unknown_relation(const char *arg, const char *rel, programs *ps)
{
    fprintf(stderr, "scalanytics run: -o %s: no program outputs relation '%s'; the outputs are: ",
            arg, rel);
    relset_print(&ps->all, stderr);
    fprintf(stderr, " (for a file whose name holds '=', write ./%s)\n", arg);
}

/** Adds one -o argument. 0, or -1 with a message. */
static int add_spec(run_output *out, const char *arg, programs *ps, const char **deflt_arg)
{
    char *rel;
    const char *path;
    spec_split(arg, &rel, &path);
    int rc = -1;
    if (!*path) {
        fprintf(stderr, "scalanytics run: -o %s names no file\n", arg);
    } else if (!rel && *deflt_arg) {
        fprintf(stderr, "scalanytics run: -o %s and -o %s: only one default destination (route "
                        "a relation elsewhere with -o REL=FILE)\n", *deflt_arg, arg);
    } else if (!rel && is_csv(path)) {
        fprintf(stderr, "scalanytics run: -o %s: a CSV file holds one relation, so it cannot be "
                        "the default destination (a header cannot describe every output); "
                        "route one relation to it with -o REL=%s\n", arg, path);
    } else if (!rel) {
        *deflt_arg = arg;
        out->deflt = (long)dest_get(out, path);
        rc = 0;
    } else if (!relset_has(&ps->all, rel)) {
        unknown_relation(arg, rel, ps);
    } else {
        rc = 0;
        for (size_t i = 0; i < out->nroutes && rc == 0; i++)
            if (!strcmp(out->routes[i].rel, rel)) {
                fprintf(stderr, "scalanytics run: -o %s: relation '%s' is already routed by "
                                "-o %s\n", arg, rel, out->routes[i].arg);
                rc = -1;
            }
        size_t d = rc == 0 ? dest_get(out, path) : 0;
        if (rc == 0 && out->dests[d].csv)
            rc = csv_claim(&out->dests[d], arg, rel, ps);
        if (rc == 0) {
            out->routes = sx_realloc(out->routes, (out->nroutes + 1) * sizeof *out->routes);
            out->routes[out->nroutes++] = (route){.rel = rel, .len = strlen(rel), .dest = d, .arg = arg};
            return 0;
        }
    }
    free(rel);
    return rc;
}

/** Checks and records every -o; with no default one, stdout is the
 *  default (unless --publish takes the outputs). 0, or -1. */
static int plan_routes(run_output *out, const run_output_opts *o, const cli_program *progs,
                       size_t np)
{
    static const char *const default_source[] = {"input"};
    programs ps = {.progs = progs, .np = np, .outs = sx_calloc(np ? np : 1, sizeof *ps.outs)};
    for (size_t i = 0; i < np; i++) {
        program_outputs(progs[i].ast, o->nsources ? o->sources : default_source,
                        o->nsources ? o->nsources : 1, &ps.outs[i]);
        for (size_t r = 0; r < ps.outs[i].n; r++)
            relset_add(&ps.all, ps.outs[i].v[r]);
    }
    const char *deflt_arg = NULL;
    int rc = 0;
    for (size_t i = 0; i < o->nouts && rc == 0; i++)
        rc = add_spec(out, o->outs[i], &ps, &deflt_arg);
    if (rc == 0 && !deflt_arg && !o->publish) { /* stdout: never matched by a name */
        out->dests = sx_realloc(out->dests, (out->ndests + 1) * sizeof *out->dests);
        out->dests[out->ndests] = (dest){.path = "stdout", .f = stdout};
        out->deflt = (long)out->ndests++;
    }
    for (size_t i = 0; i < np; i++)
        free(ps.outs[i].v);
    free(ps.outs);
    free(ps.all.v);
    return rc;
}

/* ---- opening ---- */

/** An open destination other than i that is the same file (same device
 *  and inode: another name, a link, /dev/stdout), or -1. */
static long same_file(const run_output *out, size_t i)
{
    struct stat a, b;
    if (fstat(fileno(out->dests[i].f), &a) != 0)
        return -1;
    for (size_t j = 0; j < out->ndests; j++)
        if (j != i && out->dests[j].f && fstat(fileno(out->dests[j].f), &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            return (long)j;
    return -1;
}

/** Makes every route and the default that went to dests[from] go to
 *  dests[to]. */
static void redirect(run_output *out, size_t from, size_t to)
{
    for (size_t r = 0; r < out->nroutes; r++)
        if (out->routes[r].dest == from)
            out->routes[r].dest = to;
    if (out->deflt == (long)from)
        out->deflt = (long)to;
}

/** Opens every file (a second name of one file joins the first) and
 *  writes the CSV headers. 0, or the exit status with a message. */
static int open_dests(run_output *out)
{
    for (size_t i = 0; i < out->ndests; i++) {
        dest *d = &out->dests[i];
        if (d->f == stdout)
            continue;
        if (!(d->f = fopen(d->path, "w"))) {
            fprintf(stderr, "scalanytics run: cannot write %s: %s\n", d->path, strerror(errno));
            return 1;
        }
        long j = same_file(out, i);
        if (j < 0)
            continue;
        if (d->csv || out->dests[j].csv) {
            fprintf(stderr, "scalanytics run: %s and %s are the same file, and a CSV file holds "
                            "one relation only\n", out->dests[j].path, d->path);
            return 2;
        }
        fclose(d->f);
        d->f = NULL;
        redirect(out, i, (size_t)j);
    }
    for (size_t i = 0; i < out->ndests; i++) {
        dest *d = &out->dests[i];
        if (d->csv && d->f) {
            d->w = cli_csv_new(d->f);
            if (cli_csv_header(d->w, d->cols, d->ncols) != 0)
                d->write_errors++;
        }
    }
    return 0;
}

/* ---- --publish ---- */

/** Monotonic seconds. */
static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Binds the XPUB socket and waits for `subscribers` subscriptions
 *  (10 s at most). 0, or -1 with a message. */
static int open_publish(run_output *out, const char *endpoint, unsigned subscribers)
{
    out->zctx = zmq_ctx_new();
    out->pub = zmq_socket(out->zctx, ZMQ_XPUB);
    int zero = 0, linger = 2000;
    zmq_setsockopt(out->pub, ZMQ_SNDHWM, &zero, sizeof zero); /* outputs are never dropped here */
    zmq_setsockopt(out->pub, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(out->pub, endpoint) != 0) {
        fprintf(stderr, "scalanytics run: --publish %s: %s\n", endpoint, zmq_strerror(errno));
        return -1;
    }
    out->mem = open_memstream(&out->membuf, &out->memlen);
    double deadline = monotonic_s() + 10;
    for (unsigned got = 0; got < subscribers;) {
        zmq_pollitem_t it = {out->pub, 0, ZMQ_POLLIN, 0};
        long left = (long)((deadline - monotonic_s()) * 1000);
        if (left <= 0 || zmq_poll(&it, 1, left) <= 0) {
            fprintf(stderr, "scalanytics run: only %u of %u subscribers came within 10 s\n", got,
                    subscribers);
            return -1;
        }
        char buf[256];
        int n = zmq_recv(out->pub, buf, sizeof buf, 0);
        if (n > 0 && buf[0] == 1)
            got++; /* a subscription (1) rather than an unsubscription (0) */
    }
    return 0;
}

/** Closes what open_publish made, reporting publish errors. */
static void close_publish(run_output *out)
{
    if (out->publish_errors)
        fprintf(stderr, "scalanytics run: %" PRIu64 " outputs could not be published\n",
                out->publish_errors);
    if (out->pub)
        zmq_close(out->pub);
    if (out->zctx)
        zmq_ctx_term(out->zctx);
    if (out->mem)
        fclose(out->mem);
    free(out->membuf);
}

/** Sends one tuple as a JSON message on the publish socket (under the
 *  output lock, which also hands the socket safely between workers). */
static void publish(run_output *o, const char *pipeline, const sx_batch *b, const sx_tuple *t,
                    const char *const *names, uint32_t nnames)
{
    fseek(o->mem, 0, SEEK_SET);
    if (sx_json_write_tuple(o->mem, pipeline, b, t, names, nnames, &o->json) != 0 ||
        fflush(o->mem) != 0 || o->memlen == 0 ||
        zmq_send(o->pub, o->membuf, o->memlen - 1 /* no newline */, 0) < 0)
        o->publish_errors++;
    else
        o->published++;
}

/* ---- the verbs ---- */

run_output *run_output_new(const run_output_opts *o, const cli_program *progs, size_t np,
                           int *status)
{
    run_output *out = sx_calloc(1, sizeof *out);
    pthread_mutex_init(&out->mu, NULL);
    out->json.max_bytes = o->max_bytes;
    out->deflt = -1;
    *status = plan_routes(out, o, progs, np) != 0 ? 2 : open_dests(out);
    if (*status == 0 && o->publish && open_publish(out, o->publish, o->subscribers) != 0)
        *status = 1;
    if (*status != 0)
        run_output_close(&out);
    return out;
}

void run_output_lock(run_output *out)
{
    pthread_mutex_lock(&out->mu);
}

void run_output_unlock(run_output *out)
{
    pthread_mutex_unlock(&out->mu);
}

/** Where tuples of relation rel go: its route's file, else the default
 *  (NULL when there is none). Hot path: a few routes, compared by length
 *  first. */
static dest *dest_of(run_output *out, const sx_blob *rel)
{
    for (size_t i = 0; rel && i < out->nroutes; i++)
        if (out->routes[i].len == rel->len && !memcmp(out->routes[i].rel, rel->data, rel->len))
            return &out->dests[out->routes[i].dest];
    return out->deflt >= 0 ? &out->dests[out->deflt] : NULL;
}

void run_output_tuple(run_output *out, const char *pipeline, const sx_batch *b, const sx_tuple *t,
                      const char *const *names, uint32_t nnames)
{
    dest *d = dest_of(out, t->relation);
    if (d && d->csv) {
        if (t->n != d->ncols)
            d->misfits++;
        else if (cli_csv_row(d->w, t) != 0)
            d->write_errors++;
    } else if (d && sx_json_write_tuple(d->f, pipeline, b, t, names, nnames, &out->json) != 0) {
        d->write_errors++;
    }
    if (out->pub)
        publish(out, pipeline, b, t, names, nnames);
}

/** Reports d's lost outputs and closes it. 0, or -1 when any was lost. */
static int dest_close(dest *d)
{
    int rc = 0;
    if (d->write_errors) {
        fprintf(stderr, "scalanytics run: %s: %" PRIu64 " output lines could not be written\n",
                d->path, d->write_errors);
        rc = -1;
    }
    if (d->misfits) {
        fprintf(stderr, "scalanytics run: %s: %" PRIu64 " outputs of '%s' were not written: they "
                        "do not have the header's %u values\n", d->path, d->misfits, d->rel, d->ncols);
        rc = -1;
    }
    cli_csv_destroy(&d->w);
    if (d->f == stdout ? fflush(stdout) != 0 : fclose(d->f) != 0) {
        fprintf(stderr, "scalanytics run: writing %s: %s\n", d->path, strerror(errno));
        rc = -1;
    }
    d->f = NULL;
    return rc;
}

int run_output_close(run_output **outp)
{
    run_output *out = *outp;
    if (!out)
        return 0;
    int rc = 0;
    for (size_t i = 0; i < out->ndests; i++)
        if (out->dests[i].f && dest_close(&out->dests[i]) != 0)
            rc = -1;
    close_publish(out);
    for (size_t i = 0; i < out->nroutes; i++)
        free(out->routes[i].rel);
    free(out->routes);
    free(out->dests);
    pthread_mutex_destroy(&out->mu);
    free(out);
    *outp = NULL;
    return rc;
}
