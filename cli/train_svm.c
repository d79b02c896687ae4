/*
 * train_svm.c -- `scalanytics train-svm`: trains the DoS detector that
 * f_DetectAttack uses (functions/svm_model.h), a libsvm C-SVC with an
 * RBF kernel telling normal from dos connections by their 41 KDD Cup
 * '99 features; writes it; chooses C and gamma by cross-validation on
 * request; and evaluates it, or a model written before, on labelled
 * records. Option parsing, training and the grid live here; the CSV
 * files in cli/kdd_data.c, the evaluation in cli/svm_eval.c.
 *
 * libsvm reports progress through one process-wide print function; the
 * command runs single-threaded, so the ticker that function drives is
 * file-level state (ticker below), set up before and torn down after
 * each libsvm call.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli/kdd_data.h"
#include "cli/svm_eval.h"
#include "functions/svm_model.h"
#include "proto/alloc.h"

#define ME "scalanytics train-svm"

/* The defaults: what --grid chooses on NSL-KDD's KDDTrain+_20Percent.txt
 * (5-fold cross-validation; README.md, "The DoS detector"). */
#define DEFAULT_C 4.0
#define DEFAULT_GAMMA 0.5
#define DEFAULT_FOLDS 5u

/* The grid --grid searches: C and gamma in powers of 4. */
static const double GRID_C[] = {1, 4, 16, 64, 256};
static const double GRID_GAMMA[] = {0.0078125, 0.03125, 0.125, 0.5, 2};

/** Prints the help. */
static void usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics train-svm --data FILE [-o MODEL] [--eval FILE] [OPTIONS]\n"
        "       scalanytics train-svm --model MODEL --eval FILE [--min-detection PCT]\n"
        "                             [--max-fp PCT]\n"
        "\n"
        "Trains the DoS detector of the ANALOG function f_DetectAttack: a support vector\n"
        "machine (libsvm's C-SVC, RBF kernel) that tells a \"normal\" connection from a\n"
        "\"dos\" one by the 41 features of KDD Cup '99 (duration, protocol_type, service,\n"
        "flag, src_bytes, ...). The data are CSV files as NSL-KDD and KDD'99 ship them:\n"
        "41 features, the label, NSL-KDD's difficulty; no header. Records labelled normal\n"
        "are normal; back, land, neptune, pod, smurf, teardrop (and apache2, mailbomb,\n"
        "processtable, udpstorm) are dos; other attacks (probe, R2L, U2R) are left out\n"
        "of training and of the rates, and counted.\n"
        "\n"
        "The features are encoded as the model remembers: protocol_type, service and\n"
        "flag one-hot over the categories seen in training (one never seen encodes as\n"
        "all zeros, and is counted); the numeric ones log1p-transformed (see --log) and\n"
        "scaled to [0, 1] over the training data (see --scale).\n"
        "\n"
        "training:\n"
        "  --data FILE           the training records (\"-\": standard input)\n"
        "  -o, --out FILE        write the model to FILE (its format: README.md, \"The DoS\n"
        "                        detector\"); without it nothing is written\n"
        "  --C X                 the cost of a misclassified training record (default %g):\n"
        "                        larger fits the training data more closely\n"
        "  --gamma G             the RBF kernel's width, exp(-G |x - y|^2) (default %g):\n"
        "                        larger makes each support vector's reach shorter\n"
        "  --grid                first choose C and gamma by K-fold cross-validation on\n"
        "                        the training records: C in 1, 4, 16, 64, 256, gamma in\n"
        "                        1/128, 1/32, 1/8, 1/2, 2; the pair with the fewest\n"
        "                        cross-validated errors wins (a table on stdout)\n"
        "  --folds K             folds of --grid (default %u)\n"
        "  --sample N            train on N of the normal and dos records only: evenly\n"
        "                        spaced in file order (quick tries, slow machines)\n"
        "  --scale S             minmax (default): (x - min) / (max - min); zscore:\n"
        "                        (x - mean) / standard deviation\n"
        "  --log L               which numeric features get log1p first: none; bytes\n"
        "                        (duration, src_bytes, dst_bytes); counts, the default:\n"
        "                        every numeric feature but the *_rate ones\n"
        "\n"
        "evaluation (on stdout):\n"
        "  --eval FILE           classify these labelled records with the model just\n"
        "                        trained (as written to -o, read back) or with --model,\n"
        "                        and print the detection rate on the DoS types seen in\n"
        "                        training, on those not seen, on all DoS, the false-\n"
        "                        positive rate on normal records, the confusion matrix\n"
        "                        and each DoS type's detections\n"
        "  --model FILE          evaluate this model instead of training one\n"
        "  --min-detection PCT   exit 1 when the detection rate on the seen DoS types is\n"
        "                        below PCT\n"
        "  --max-fp PCT          exit 1 when the false-positive rate is above PCT\n"
        "\n"
        "  -h, --help            this help\n"
        "\n"
        "A summary goes to stderr; on a terminal, progress too.\n"
        "Exit status: 0 ok, 1 an error or a --min-detection/--max-fp limit missed, 2 bad\n"
        "usage.\n"
        "\n"
        "examples:\n"
        "  d=../shared/data/nsl-kdd\n"
        "  scalanytics train-svm --data $d/KDDTrain+_20Percent.txt -o dos.svm \\\n"
        "      --eval $d/KDDTest+.txt\n"
        "  scalanytics train-svm --data $d/KDDTrain+_20Percent.txt --grid   # tune\n"
        "  scalanytics train-svm --model dos.svm --eval $d/KDDTest-21.txt\n"
        "  zcat $d/kddcup.data_10_percent.gz | scalanytics train-svm --data - \\\n"
        "      --sample 50000 -o kdd99.svm\n",
        DEFAULT_C, DEFAULT_GAMMA, DEFAULT_FOLDS);
}

typedef struct svm_opts {
    const char *data, *out, *eval, *model;
    double C, gamma;
    bool grid;
    unsigned folds;
    size_t sample; /* 0: all */
    fn_kdd_scaling scaling;
    fn_kdd_log log;
    double min_detection, max_fp; /* -1: no limit */
} svm_opts;

/* ---- options ---- */

/** Parses a number in [lo, hi] for flag; -1 with a message if bad. */
static int parse_number(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, ME ": %s wants a number from %g to %g, got '%s'\n", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/** The index of s among names (n of them), or -1 with a message. */
static int parse_word(const char *flag, const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    fprintf(stderr, ME ": %s is %s or %s%s%s, not '%s'\n", flag, names[0],
            n > 2 ? names[1] : names[n - 1], n > 2 ? " or " : "", n > 2 ? names[2] : "", s);
    return -1;
}

enum { OPT_DATA = 256, OPT_EVAL, OPT_MODEL, OPT_C, OPT_GAMMA, OPT_GRID, OPT_FOLDS, OPT_SAMPLE,
       OPT_SCALE, OPT_LOG, OPT_MIN_DETECTION, OPT_MAX_FP };

/** Applies one parsed option; -1 on a bad value (message printed). */
static int apply_option(svm_opts *o, int c, const char *arg)
{
    static const char *const scalings[] = {"minmax", "zscore"};
    static const char *const logs[] = {"none", "bytes", "counts"};
    double v;
    int w;
    switch (c) {
    case 'o': o->out = arg; return 0;
    case OPT_DATA: o->data = arg; return 0;
    case OPT_EVAL: o->eval = arg; return 0;
    case OPT_MODEL: o->model = arg; return 0;
    case OPT_GRID: o->grid = true; return 0;
    case OPT_C: return parse_number("--C", arg, 1e-6, 1e9, &o->C);
    case OPT_GAMMA: return parse_number("--gamma", arg, 1e-9, 1e6, &o->gamma);
    case OPT_MIN_DETECTION: return parse_number("--min-detection", arg, 0, 100, &o->min_detection);
    case OPT_MAX_FP: return parse_number("--max-fp", arg, 0, 100, &o->max_fp);
    case OPT_FOLDS:
        if (parse_number("--folds", arg, 2, 100, &v))
            return -1;
        o->folds = (unsigned)v;
        return 0;
    case OPT_SAMPLE:
        if (parse_number("--sample", arg, 2, 1e9, &v))
            return -1;
        o->sample = (size_t)v;
        return 0;
    case OPT_SCALE:
        if ((w = parse_word("--scale", arg, scalings, 2)) < 0)
            return -1;
        o->scaling = (fn_kdd_scaling)w;
        return 0;
    case OPT_LOG:
        if ((w = parse_word("--log", arg, logs, 3)) < 0)
            return -1;
        o->log = (fn_kdd_log)w;
        return 0;
    default: return -1;
    }
}

/** Checks that the options make one of the two uses; -1 with a message. */
static int check_use(const svm_opts *o)
{
    const char *problem = NULL;
    if (o->model && o->data)
        problem = "give --data to train a model or --model to evaluate one, not both";
    else if (o->model && !o->eval)
        problem = "--model needs --eval FILE: the records to evaluate it on";
    else if (o->model && (o->out || o->grid))
        problem = "-o and --grid are for training (with --data), not --model";
    else if (!o->model && !o->data)
        problem = "give --data FILE (the training records) or --model FILE with --eval";
    else if (!o->eval && (o->min_detection >= 0 || o->max_fp >= 0))
        problem = "--min-detection and --max-fp need --eval FILE";
    if (problem)
        fprintf(stderr, ME ": %s\n", problem);
    return problem ? -1 : 0;
}

/** Parses argv into o; 0, 1 for --help, 2 on bad usage. */
static int parse(int argc, char **argv, svm_opts *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, 0, OPT_DATA},
        {"out", required_argument, 0, 'o'},
        {"eval", required_argument, 0, OPT_EVAL},
        {"model", required_argument, 0, OPT_MODEL},
        {"C", required_argument, 0, OPT_C},
        {"gamma", required_argument, 0, OPT_GAMMA},
        {"grid", no_argument, 0, OPT_GRID},
        {"folds", required_argument, 0, OPT_FOLDS},
        {"sample", required_argument, 0, OPT_SAMPLE},
        {"scale", required_argument, 0, OPT_SCALE},
        {"log", required_argument, 0, OPT_LOG},
        {"min-detection", required_argument, 0, OPT_MIN_DETECTION},
        {"max-fp", required_argument, 0, OPT_MAX_FP},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == '?' || apply_option(o, c, optarg))
            rc = 2;
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, ME ": unexpected argument '%s' (files go in --data and --eval)\n",
                argv[optind]);
        rc = 2;
    }
    if (rc == 0 && check_use(o) != 0)
        rc = 2;
    return rc;
}

/* ---- progress ---- */

/** Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What libsvm's print function reports to: the stage being run, the
 * thousands of solver iterations it has dotted, the iterations its
 * finished optimizations reported. */
static struct {
    bool tty;
    char stage[128];
    double start, next_draw;
    uint64_t dots, iterations;
} ticker;

/** libsvm's print function: counts its progress dots and finished
 *  optimizations; on a terminal redraws a line at most 4 times a
 *  second; passes its warnings on (but for one that is only advice). */
static void ticker_print(const char *s)
{
    ticker.dots += !strcmp(s, "."); /* one per 1000 iterations (fewer on tiny data) */
    const char *it = strstr(s, "#iter = ");
    if (it)
        ticker.iterations += strtoull(it + 8, NULL, 10);
    /* "using -h 0 may be faster" is advice about speed, not a problem */
    if (strstr(s, "WARNING") && !strstr(s, "-h 0"))
        fprintf(stderr, "%s" ME ": libsvm: %s", ticker.tty ? "\r\033[K" : "", s + strspn(s, "\n"));
    double now = now_s();
    if (!ticker.tty || now < ticker.next_draw)
        return;
    ticker.next_draw = now + 0.25;
    fprintf(stderr, "\r%s: %llu thousand iterations, %.0f s\033[K", ticker.stage,
            (unsigned long long)ticker.dots, now - ticker.start);
    fflush(stderr);
}

/** Starts the ticker for a stage (printf-style name). */
__attribute__((format(printf, 1, 2))) static void ticker_start(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ticker.stage, sizeof ticker.stage, fmt, ap);
    va_end(ap);
    ticker.tty = isatty(STDERR_FILENO) == 1;
    ticker.start = now_s();
    ticker.next_draw = ticker.start + 0.25;
    ticker.dots = ticker.iterations = 0;
    svm_set_print_string_function(ticker_print);
    if (ticker.tty)
        fprintf(stderr, "\r%s\033[K", ticker.stage);
}

/** Erases the ticker's line. */
static void ticker_stop(void)
{
    if (ticker.tty)
        fprintf(stderr, "\r\033[K");
}

/* ---- training ---- */

/** The training problem: vectors of the normal and dos records chosen. */
typedef struct train_set {
    struct svm_problem prob; /* prob.x[i] points into nodes */
    struct svm_node *nodes;
    uint64_t count[2]; /* records of each class */
    uint64_t other;    /* records of other attack classes, left out */
} train_set;

/** The normal and dos records of d (every one, or sample of them evenly
 *  spaced) copied to an array the caller frees; their number in *n,
 *  what they are in s's counts. */
static fn_kdd_record *records_choose(const cli_kdd_data *d, size_t sample, train_set *s,
                                     size_t *n)
{
    size_t usable = 0;
    for (size_t i = 0; i < d->n; i++)
        usable += cli_kdd_class(&d->recs[i]) != CLI_KDD_OTHER;
    s->other = d->n - usable;
    size_t want = sample && sample < usable ? sample : usable, k = 0, j = 0;
    fn_kdd_record *recs = sx_calloc(want ? want : 1, sizeof *recs);
    for (size_t i = 0; i < d->n; i++) {
        int cls = cli_kdd_class(&d->recs[i]);
        if (cls == CLI_KDD_OTHER)
            continue;
        /* record j of the usable ones is taken when j * want / usable steps */
        if ((j + 1) * want / usable > j * want / usable) {
            recs[k++] = d->recs[i];
            s->count[cls]++;
        }
        j++;
    }
    *n = k;
    return recs;
}

/** Encodes the n records with e into s's problem. */
static void problem_build(train_set *s, const fn_kdd_encoder *e, const fn_kdd_record *recs,
                          size_t n)
{
    s->prob.l = (int)n;
    s->prob.y = sx_calloc(n, sizeof *s->prob.y);
    s->prob.x = sx_calloc(n, sizeof *s->prob.x);
    s->nodes = sx_calloc(n * FN_KDD_NODES_MAX, sizeof *s->nodes);
    for (size_t i = 0; i < n; i++) {
        s->prob.x[i] = &s->nodes[i * FN_KDD_NODES_MAX];
        fn_kdd_encode(e, &recs[i], s->prob.x[i], NULL);
        s->prob.y[i] = cli_kdd_class(&recs[i]) == CLI_KDD_DOS ? FN_SVM_DOS : FN_SVM_NORMAL;
    }
}

/** Frees what problem_build made. */
static void train_set_free(train_set *s)
{
    free(s->prob.y);
    free(s->prob.x);
    free(s->nodes);
}

/** The C-SVC's parameters for C and gamma. */
static struct svm_parameter params(double C, double gamma)
{
    return (struct svm_parameter){.svm_type = C_SVC, .kernel_type = RBF, .gamma = gamma,
                                  .C = C, .cache_size = 256, .eps = 1e-3, .shrinking = 1};
}

/** Cross-validates every pair of the grid on s, prints a table, and
 *  sets *C and *gamma to the pair with the fewest errors. */
static void grid_search(const train_set *s, unsigned folds, double *C, double *gamma)
{
    size_t nc = sizeof GRID_C / sizeof GRID_C[0], ng = sizeof GRID_GAMMA / sizeof GRID_GAMMA[0];
    double *target = sx_calloc((size_t)s->prob.l, sizeof *target);
    uint64_t best = UINT64_MAX;
    printf("%u-fold cross-validation on %d training records (%llu normal, %llu dos):\n"
           "  %8s %10s %8s %10s %10s %8s\n", folds, s->prob.l,
           (unsigned long long)s->count[0], (unsigned long long)s->count[1], "C", "gamma",
           "errors", "detection", "false-pos", "seconds");
    for (size_t i = 0; i < nc; i++)
        for (size_t j = 0; j < ng; j++) {
            struct svm_parameter p = params(GRID_C[i], GRID_GAMMA[j]);
            ticker_start("grid %zu of %zu (C %g, gamma %g)", i * ng + j + 1, nc * ng, p.C,
                         p.gamma);
            srand(1); /* libsvm deals the folds with rand() */
            svm_cross_validation(&s->prob, &p, (int)folds, target);
            ticker_stop();
            uint64_t fp = 0, fn = 0;
            for (int k = 0; k < s->prob.l; k++) {
                fp += s->prob.y[k] == FN_SVM_NORMAL && target[k] == FN_SVM_DOS;
                fn += s->prob.y[k] == FN_SVM_DOS && target[k] == FN_SVM_NORMAL;
            }
            printf("  %8g %10g %8llu %9.2f%% %9.2f%% %8.1f\n", p.C, p.gamma,
                   (unsigned long long)(fp + fn),
                   s->count[1] ? 100.0 * (double)(s->count[1] - fn) / (double)s->count[1] : 0,
                   s->count[0] ? 100.0 * (double)fp / (double)s->count[0] : 0,
                   now_s() - ticker.start);
            fflush(stdout);
            if (fp + fn < best) {
                best = fp + fn;
                *C = p.C;
                *gamma = p.gamma;
            }
        }
    printf("  chosen: C %g, gamma %g\n", *C, *gamma);
    fflush(stdout);
    free(target);
}

/** Trains on s with o's parameters (after the grid, when asked) into a
 *  model taking *enc; NULL with a message printed. */
static fn_svm_model *train(svm_opts *o, const train_set *s, fn_kdd_encoder **enc)
{
    if (!s->count[0] || !s->count[1]) {
        fprintf(stderr, ME ": the training data hold no %s records\n",
                s->count[0] ? "dos" : "normal");
        return NULL;
    }
    if (o->grid)
        grid_search(s, o->folds, &o->C, &o->gamma);
    struct svm_parameter p = params(o->C, o->gamma);
    const char *bad = svm_check_parameter(&s->prob, &p);
    if (bad) {
        fprintf(stderr, ME ": libsvm: %s\n", bad);
        return NULL;
    }
    double t0 = now_s();
    ticker_start("training on %d records", s->prob.l);
    struct svm_model *trained = svm_train(&s->prob, &p);
    ticker_stop();
    fn_svm_info info = {o->C, s->count[0], s->count[1], o->scaling, o->log};
    char err[512];
    fn_svm_model *m = fn_svm_model_new(enc, trained, &info, err, sizeof err);
    if (!m)
        fprintf(stderr, ME ": %s\n", err);
    else
        fprintf(stderr, "train-svm: C-SVC, RBF kernel, C %g, gamma %g: %d support vectors "
                "(%d normal, %d dos) from %llu normal and %llu dos records in %.1f s (%llu "
                "solver iterations)\n", o->C, o->gamma, trained->l,
                trained->nSV[trained->label[0] == FN_SVM_DOS], 
                trained->nSV[trained->label[0] != FN_SVM_DOS],
                (unsigned long long)s->count[0], (unsigned long long)s->count[1],
                now_s() - t0, (unsigned long long)ticker.iterations);
    svm_free_and_destroy_model(&trained);
    return m;
}

/** Reads the training data, trains, writes: the model (NULL with a
 *  message printed). */
static fn_svm_model *train_from_data(svm_opts *o)
{
    cli_kdd_data d;
    cli_kdd_init(&d);
    char err[4200];
    if (cli_kdd_read(o->data, &d, err, sizeof err) != 0) {
        fprintf(stderr, ME ": %s\n", err);
        cli_kdd_free(&d);
        return NULL;
    }
    train_set s = {0};
    size_t n;
    fn_kdd_record *recs = records_choose(&d, o->sample, &s, &n);
    cli_kdd_free(&d);
    fprintf(stderr, "train-svm: %s: %llu normal and %llu dos records%s; %llu of other attack "
            "classes (probe, R2L, U2R) left out\n", o->data, (unsigned long long)s.count[0],
            (unsigned long long)s.count[1], o->sample ? " (--sample)" : "",
            (unsigned long long)s.other);
    fn_kdd_encoder *enc = fn_kdd_encoder_new();
    fn_svm_model *m = NULL;
    if (fn_kdd_encoder_fit(enc, recs, n, o->scaling, o->log, err, sizeof err) != 0)
        fprintf(stderr, ME ": %s: %s\n", o->data, err);
    else {
        problem_build(&s, enc, recs, n);
        m = train(o, &s, &enc);
    }
    free(recs);
    train_set_free(&s);
    fn_kdd_encoder_destroy(&enc);
    if (m && o->out && fn_svm_model_save(m, o->out, err, sizeof err) != 0) {
        fprintf(stderr, ME ": %s\n", err);
        fn_svm_model_destroy(&m);
    }
    if (m && o->out)
        fprintf(stderr, "train-svm: written to %s\n", o->out);
    return m;
}

/* ---- evaluation ---- */

/** Evaluates m on o->eval and checks the limits: 0 when they hold, 1
 *  when one does not or the file could not be read. */
static int evaluate(const svm_opts *o, const fn_svm_model *m)
{
    cli_kdd_data d;
    cli_kdd_init(&d);
    char err[4200], title[4400];
    if (cli_kdd_read(o->eval, &d, err, sizeof err) != 0) {
        fprintf(stderr, ME ": %s\n", err);
        cli_kdd_free(&d);
        return 1;
    }
    cli_svm_eval ev;
    double t0 = now_s();
    cli_svm_evaluate(m, d.recs, d.n, &ev);
    snprintf(title, sizeof title, "evaluation on %s: %zu records classified in %.1f s", o->eval,
             d.n, now_s() - t0);
    cli_kdd_free(&d);
    cli_svm_eval_print(stdout, &ev, title);
    int rc = 0;
    cli_svm_rate seen = cli_svm_eval_detection(&ev, true), fp = cli_svm_eval_false_positives(&ev);
    if (o->min_detection >= 0 && seen.pct < o->min_detection) {
        fprintf(stderr, ME ": detection rate on the seen DoS types %.2f%% is below "
                "--min-detection %g%%\n", seen.pct, o->min_detection);
        rc = 1;
    }
    if (o->max_fp >= 0 && fp.pct > o->max_fp) {
        fprintf(stderr, ME ": false-positive rate %.2f%% is above --max-fp %g%%\n", fp.pct,
                o->max_fp);
        rc = 1;
    }
    return rc;
}

/** The model to evaluate: --model's, or the one just trained as it was
 *  written (read back, so the rates are the file's), or as trained. */
static fn_svm_model *model_to_evaluate(const svm_opts *o, fn_svm_model **trained)
{
    const char *path = o->model ? o->model : o->out;
    if (!path) {
        fn_svm_model *m = *trained;
        *trained = NULL;
        return m;
    }
    fn_svm_model_destroy(trained);
    char err[4200];
    fn_svm_model *m = fn_svm_model_load(path, err, sizeof err);
    if (!m)
        fprintf(stderr, ME ": %s\n", err);
    return m;
}

int cli_train_svm(int argc, char **argv)
{
    svm_opts o = {.C = DEFAULT_C, .gamma = DEFAULT_GAMMA, .folds = DEFAULT_FOLDS,
                  .scaling = FN_KDD_MINMAX, .log = FN_KDD_LOG_COUNTS, .min_detection = -1,
                  .max_fp = -1};
    int rc = parse(argc, argv, &o);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "(" ME " --help explains the options)\n");
        return rc;
    }
    fn_svm_model *m = o.data ? train_from_data(&o) : NULL;
    if (o.data && !m)
        return 1;
    if (o.eval) {
        fn_svm_model *e = model_to_evaluate(&o, &m);
        rc = e ? evaluate(&o, e) : 1;
        fn_svm_model_destroy(&e);
    }
    fn_svm_model_destroy(&m);
    return rc;
}
