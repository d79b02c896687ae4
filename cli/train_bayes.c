/*
 * train_bayes.c -- `scalanytics train-bayes`: trains a naive Bayes model
 * (functions/bayes_model.h) on labelled mail files, writes it, and
 * measures it: on held-out mail (a fixed split of the same files, or
 * other files) as a confusion matrix, and by cross-validation on the
 * training mail for tuning. Option parsing and the run live here; the
 * measuring in cli/bayes_eval.c, the files in cli/corpus.c.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/progress.h"
#include "cli.h"
#include "cli/bayes_eval.h"
#include "cli/corpus.h"
#include "functions/bayes.h"
#include "proto/alloc.h"

#define ME "scalanytics train-bayes"
/* NAME=VALUE options on one command line. */
#define NAMED_MAX 256

/** Prints the help. */
static void usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics train-bayes --class NAME=PATH[,PATH...] --class NAME=PATH...\n"
        "                               [OPTIONS]\n"
        "\n"
        "Trains a naive Bayes text classifier on mail files and writes the model that\n"
        "`scalanytics classify` and the ANALOG functions f_classify and f_classScore use\n"
        "(programs/spam.analog). Any two or more classes. A PATH is a mail file, an mbox\n"
        "or a directory (read recursively, in name order); files that are not mail (the\n"
        "first line is no header, e.g. SpamAssassin's \"cmds\") are skipped and counted.\n"
        "\n"
        "training:\n"
        "  --class NAME=PATH[,PATH...]  mails of class NAME; repeat it for more paths and\n"
        "                        for each class (classes keep the order they first appear)\n"
        "  -o, --out FILE        write the model to FILE (the format: README.md, \"The SPAM\n"
        "                        pipeline\"); without it nothing is written\n"
        "  --method M            how token evidence combines: robinson (Robinson's f(w)\n"
        "                        and Fisher's chi-square, the default) or multinomial\n"
        "  --threshold NAME=T    choose class NAME when, and only when, its score is at\n"
        "                        least T (0..1); else the best class without a threshold.\n"
        "                        Stored in the model. E.g. spam=0.85: fewer false positives\n"
        "  --clues N             Robinson: combine at most the N most telling tokens\n"
        "                        (default 150; 0: all)\n"
        "  --strength S          Robinson s: how much a rare token's f(w) is pulled to\n"
        "                        0.5 (default 0.25)\n"
        "  --min-dev D           Robinson: a token is a clue when |f(w) - 0.5| >= D\n"
        "                        (default 0.1)\n"
        "\n"
        "held-out evaluation (a confusion matrix on stdout):\n"
        "  --split test=PCT      hold out PCT%% of the --class mails and evaluate on them:\n"
        "                        a mail is held out when the FNV-1a 64 hash of its file's\n"
        "                        base name, modulo 100, is below PCT (fixed, reproducible;\n"
        "                        classify and gen smtp --replay-dir take the same option)\n"
        "  --eval NAME=PATH[,PATH...]  also evaluate on these mails of class NAME\n"
        "  --max-error NAME=PCT  exit 1 when more than PCT%% of class NAME's held-out mails\n"
        "                        are classified as another class\n"
        "\n"
        "tuning, on the training mails only:\n"
        "  --folds K             K-fold cross-validation (folds by file-name hash)\n"
        "  --sweep NAME          with --folds: each class's error for thresholds of NAME\n"
        "\n"
        "  -h, --help            this help\n"
        "\n"
        "A class's error is the share of its mails classified as another class: with\n"
        "ham and spam, ham's error is the false-positive rate, spam's the false-negative\n"
        "rate. A summary goes to stderr; a progress bar too on a terminal.\n"
        "Exit status: 0 ok, 1 an error or a --max-error exceeded, 2 bad usage.\n"
        "\n"
        "examples:\n"
        "  d=../shared/data/spamassassin\n"
        "  scalanytics train-bayes --class ham=$d/easy_ham,$d/easy_ham_2,$d/hard_ham \\\n"
        "      --class spam=$d/spam,$d/spam_2 --split test=20 --threshold spam=0.85 \\\n"
        "      -o spam.nb --max-error ham=0.3 --max-error spam=4.7\n"
        "  scalanytics train-bayes --class ham=$d/easy_ham --class spam=$d/spam \\\n"
        "      --split test=20 --folds 10 --sweep spam          # tune on the train part\n"
        "  scalanytics train-bayes --class en=mail/en --class de=mail/de \\\n"
        "      --class fr=mail/fr -o language.nb\n");
}

enum { OPT_CLASS = 256, OPT_METHOD, OPT_THRESHOLD, OPT_CLUES, OPT_STRENGTH, OPT_MIN_DEV,
       OPT_SPLIT, OPT_EVAL, OPT_MAX_ERROR, OPT_FOLDS, OPT_SWEEP };

/** A NAME=VALUE option: name and value point into one malloc'd copy. */
typedef struct named_arg {
    int opt;
    char *name, *value;
} named_arg;

typedef struct train_opts {
    named_arg named[NAMED_MAX];
    size_t nnamed;
    const char *out;
    unsigned split_pct; /* 0: no split */
    unsigned folds;
    const char *sweep_name;
    int sweep;
    const char *names[FN_BAYES_CLASSES_MAX];
    unsigned nclasses;
    double max_error[FN_BAYES_CLASSES_MAX];
    double threshold[FN_BAYES_CLASSES_MAX];
    fn_bayes_params params;
} train_opts;

/* ---- options ---- */

/** Keeps a NAME=VALUE option; -1 with a message when it is not one. */
static int named_push(train_opts *o, int opt, const char *flag, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, ME ": %s wants NAME=VALUE, got '%s'\n", flag, arg);
        return -1;
    }
    if (o->nnamed == NAMED_MAX) {
        fprintf(stderr, ME ": more than %d NAME=VALUE options\n", NAMED_MAX);
        return -1;
    }
    char *copy = strdup(arg);
    if (!copy)
        sx_alloc_fail(strlen(arg) + 1);
    copy[eq - arg] = 0;
    o->named[o->nnamed++] = (named_arg){opt, copy, copy + (eq - arg) + 1};
    return 0;
}

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

/** Applies one parsed option; -1 on a bad value (message printed). */
static int apply_option(train_opts *o, int c, const char *arg)
{
    double v;
    switch (c) {
    case 'o': o->out = arg; return 0;
    case OPT_CLASS: return named_push(o, c, "--class", arg);
    case OPT_EVAL: return named_push(o, c, "--eval", arg);
    case OPT_THRESHOLD: return named_push(o, c, "--threshold", arg);
    case OPT_MAX_ERROR: return named_push(o, c, "--max-error", arg);
    case OPT_SWEEP: o->sweep_name = arg; return 0;
    case OPT_METHOD:
        if (!strcmp(arg, "robinson") || !strcmp(arg, "multinomial")) {
            o->params.method = arg[0] == 'r' ? FN_BAYES_ROBINSON : FN_BAYES_MULTINOMIAL;
            return 0;
        }
        fprintf(stderr, ME ": --method is robinson or multinomial, not '%s'\n", arg);
        return -1;
    case OPT_CLUES:
        if (parse_number("--clues", arg, 0, 1e6, &v))
            return -1;
        o->params.max_clues = (uint32_t)v;
        return 0;
    case OPT_STRENGTH: return parse_number("--strength", arg, 0.001, 1000, &o->params.strength);
    case OPT_MIN_DEV: return parse_number("--min-dev", arg, 0, 0.49, &o->params.min_dev);
    case OPT_FOLDS:
        if (parse_number("--folds", arg, 2, 100, &v))
            return -1;
        o->folds = (unsigned)v;
        return 0;
    case OPT_SPLIT:
        if (cli_corpus_parse_split(arg, &o->split_pct) == 0)
            return 0;
        fprintf(stderr, ME ": --split wants test=PCT with PCT from 1 to 99, got '%s'\n", arg);
        return -1;
    default: return -1;
    }
}

/** The class named name, or -1 with a message naming flag. */
static int class_index(const train_opts *o, const char *flag, const char *name)
{
    for (unsigned i = 0; i < o->nclasses; i++)
        if (!strcmp(o->names[i], name))
            return (int)i;
    fprintf(stderr, ME ": %s names class '%s', which no --class gives\n", flag, name);
    return -1;
}

/** Numbers the classes in --class order, then reads the options that
 *  name them; -1 on a problem (message printed). */
static int resolve_classes(train_opts *o)
{
    for (size_t i = 0; i < o->nnamed; i++) {
        if (o->named[i].opt != OPT_CLASS)
            continue;
        bool known = false;
        for (unsigned c = 0; c < o->nclasses; c++)
            known = known || !strcmp(o->names[c], o->named[i].name);
        if (known)
            continue;
        if (o->nclasses == FN_BAYES_CLASSES_MAX) {
            fprintf(stderr, ME ": more than %u classes\n", FN_BAYES_CLASSES_MAX);
            return -1;
        }
        o->names[o->nclasses++] = o->named[i].name;
    }
    if (o->nclasses < 2) {
        fprintf(stderr, ME ": give at least two classes (--class NAME=PATH for each)\n");
        return -1;
    }
    for (size_t i = 0; i < o->nnamed; i++) {
        named_arg *a = &o->named[i];
        const char *flag = a->opt == OPT_EVAL        ? "--eval"
                           : a->opt == OPT_THRESHOLD ? "--threshold"
                           : a->opt == OPT_MAX_ERROR ? "--max-error"
                                                     : "--class";
        int c = class_index(o, flag, a->name);
        if (c < 0 ||
            (a->opt == OPT_THRESHOLD && parse_number(flag, a->value, 0, 1, &o->threshold[c])) ||
            (a->opt == OPT_MAX_ERROR && parse_number(flag, a->value, 0, 100, &o->max_error[c])))
            return -1;
    }
    o->sweep = o->sweep_name ? class_index(o, "--sweep", o->sweep_name) : -1;
    return o->sweep_name && o->sweep < 0 ? -1 : 0;
}

/** Parses argv into o; 0, 1 for --help, 2 on bad usage. */
static int parse(int argc, char **argv, train_opts *o)
{
    static const struct option longopts[] = {
        {"class", required_argument, 0, OPT_CLASS},
        {"out", required_argument, 0, 'o'},
        {"method", required_argument, 0, OPT_METHOD},
        {"threshold", required_argument, 0, OPT_THRESHOLD},
        {"clues", required_argument, 0, OPT_CLUES},
        {"strength", required_argument, 0, OPT_STRENGTH},
        {"min-dev", required_argument, 0, OPT_MIN_DEV},
        {"split", required_argument, 0, OPT_SPLIT},
        {"eval", required_argument, 0, OPT_EVAL},
        {"max-error", required_argument, 0, OPT_MAX_ERROR},
        {"folds", required_argument, 0, OPT_FOLDS},
        {"sweep", required_argument, 0, OPT_SWEEP},
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
        fprintf(stderr, ME ": unexpected argument '%s' (paths go in --class NAME=PATH)\n",
                argv[optind]);
        rc = 2;
    }
    if (rc == 0 && resolve_classes(o) != 0)
        rc = 2;
    if (rc == 0 && o->sweep >= 0 && !o->folds) {
        fprintf(stderr, ME ": --sweep needs --folds K\n");
        rc = 2;
    }
    return rc;
}

/** Frees the copies parse made. */
static void opts_free(train_opts *o)
{
    for (size_t i = 0; i < o->nnamed; i++)
        free(o->named[i].name);
}

/* ---- the run ---- */

/** Adds the comma-separated paths of every option opt to c, each mail
 *  labelled with its class; -1 with a message. */
static int corpus_load(const train_opts *o, int opt, cli_corpus *c)
{
    for (size_t i = 0; i < o->nnamed; i++) {
        if (o->named[i].opt != opt)
            continue;
        int label = class_index(o, "", o->named[i].name);
        char *paths = strdup(o->named[i].value), *save = NULL;
        if (!paths)
            sx_alloc_fail(strlen(o->named[i].value) + 1);
        int rc = 0;
        for (char *p = strtok_r(paths, ",", &save); p && rc == 0; p = strtok_r(NULL, ",", &save)) {
            char err[4200];
            if ((rc = cli_corpus_add(c, p, label, err, sizeof err)) != 0)
                fprintf(stderr, ME ": %s\n", err);
        }
        free(paths);
        if (rc)
            return -1;
    }
    return 0;
}

/** Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Tokenizes and counts every mail of train into m; keeps each mail's
 *  token set in tokens[i] when tokens is not NULL. 0, or -1 with a
 *  message printed. */
static int train(fn_bayes_model *m, const cli_corpus *train, fn_bayes_tokens *tokens)
{
    sx_progress *bar = sx_progress_new(train->bytes);
    fn_bayes_tokens scratch;
    fn_bayes_tokens_init(&scratch);
    uint64_t done = 0;
    int rc = 0;
    for (size_t i = 0; i < train->n && rc == 0; i++) {
        const cli_mail *mail = &train->mails[i];
        char err[4200];
        size_t len;
        uint8_t *data = cli_corpus_read(mail, &len, err, sizeof err);
        if (!data) {
            fprintf(stderr, ME ": %s\n", err);
            rc = -1;
            break;
        }
        fn_bayes_tokens *t = tokens ? &tokens[i] : &scratch;
        fn_bayes_tokenize(data, len, t);
        fn_bayes_model_add(m, (unsigned)mail->label, t);
        free(data);
        done += mail->length;
        sx_progress_update(bar, done, done * 8);
    }
    sx_progress_finish(&bar);
    fn_bayes_tokens_free(&scratch);
    return rc;
}

/** Evaluates m on test, prints the matrix, and checks the --max-error
 *  limits: 0 when all hold, 1 when one does not or a file failed. */
static int evaluate(const train_opts *o, const fn_bayes_model *m, const cli_corpus *test)
{
    cli_confusion conf = {.nclasses = o->nclasses};
    char err[4200], title[256];
    if (cli_bayes_evaluate(m, test, &conf, err, sizeof err) != 0) {
        fprintf(stderr, ME ": %s\n", err);
        return 1;
    }
    if (o->split_pct)
        snprintf(title, sizeof title, "held-out evaluation on %zu mails (the test part of "
                 "--split test=%u%s):", test->n, o->split_pct, test->n ? "" : ", empty");
    else
        snprintf(title, sizeof title, "held-out evaluation on %zu mails (--eval):", test->n);
    cli_confusion_print(stdout, &conf, m, title);
    int rc = 0;
    for (unsigned c = 0; c < o->nclasses; c++) {
        double e = cli_confusion_error(&conf, c);
        if (o->max_error[c] >= 0 && e > o->max_error[c]) {
            fprintf(stderr, ME ": class %s: error %.2f%% is above --max-error %g%%\n",
                    o->names[c], e, o->max_error[c]);
            rc = 1;
        }
    }
    return rc;
}

/** Prints what was trained to stderr. */
static void summary(const train_opts *o, const fn_bayes_model *m, double secs)
{
    fprintf(stderr, "train-bayes: %s model of %llu tokens from", 
            fn_bayes_method_name(fn_bayes_model_params(m)->method),
            (unsigned long long)fn_bayes_model_tokens(m));
    for (unsigned c = 0; c < o->nclasses; c++)
        fprintf(stderr, "%s %llu %s", c ? "," : "",
                (unsigned long long)fn_bayes_model_class_mails(m, c), o->names[c]);
    fprintf(stderr, " mails in %.2f s%s%s\n", secs, o->out ? "; written to " : " (not written)",
            o->out ? o->out : "");
}

/** 0 when every class has mails to train on, else -1 with a message. */
static int check_classes(const train_opts *o, const cli_corpus *train_set)
{
    size_t count[FN_BAYES_CLASSES_MAX] = {0};
    for (size_t i = 0; i < train_set->n; i++)
        count[train_set->mails[i].label]++;
    for (unsigned c = 0; c < o->nclasses; c++)
        if (!count[c]) {
            fprintf(stderr, ME ": class %s has no mail to train on%s\n", o->names[c],
                    o->split_pct ? " (outside the test part)" : "");
            return -1;
        }
    return 0;
}

/** Trains, writes, cross-validates and evaluates as o says. */
static int run(train_opts *o, cli_corpus *train_set, cli_corpus *test_set)
{
    char err[4200];
    if (check_classes(o, train_set) != 0)
        return 1;
    fn_bayes_model *m = fn_bayes_model_new(o->names, o->nclasses, &o->params, err, sizeof err);
    if (!m) {
        fprintf(stderr, ME ": %s\n", err);
        return 2;
    }
    for (unsigned c = 0; c < o->nclasses; c++)
        fn_bayes_model_set_threshold(m, c, o->threshold[c]);
    double t0 = now_s();
    fn_bayes_tokens *tokens = o->folds ? sx_calloc(train_set->n ? train_set->n : 1,
                                                    sizeof *tokens) : NULL;
    int rc = train(m, train_set, tokens) == 0 ? 0 : 1;
    if (rc == 0 && o->out && fn_bayes_model_save(m, o->out, err, sizeof err) != 0) {
        fprintf(stderr, ME ": %s\n", err);
        rc = 1;
    }
    if (rc == 0)
        summary(o, m, now_s() - t0);
    if (rc == 0 && o->folds)
        cli_bayes_cross_validate(stdout, m, train_set, tokens, o->folds, o->sweep);
    for (size_t i = 0; tokens && i < train_set->n; i++)
        fn_bayes_tokens_free(&tokens[i]);
    free(tokens);
    if (rc == 0 && (o->split_pct || test_set->n))
        rc = evaluate(o, m, test_set);
    fn_bayes_model_destroy(&m);
    return rc;
}

int cli_train_bayes(int argc, char **argv)
{
    train_opts o = {.sweep = -1};
    fn_bayes_params_defaults(&o.params);
    for (unsigned c = 0; c < FN_BAYES_CLASSES_MAX; c++) {
        o.max_error[c] = -1;
        o.threshold[c] = FN_BAYES_NO_THRESHOLD;
    }
    int rc = parse(argc, argv, &o);
    if (rc == 1) {
        usage(stdout);
        opts_free(&o);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "(" ME " --help explains the options)\n");
        opts_free(&o);
        return rc;
    }
    cli_corpus train_set, test_set;
    cli_corpus_init(&train_set);
    cli_corpus_init(&test_set);
    if (corpus_load(&o, OPT_CLASS, &train_set) != 0 || corpus_load(&o, OPT_EVAL, &test_set) != 0)
        rc = 1;
    if (rc == 0) {
        cli_corpus_report_skipped(&train_set, ME);
        cli_corpus_report_skipped(&test_set, ME);
        if (o.split_pct)
            cli_corpus_split(&train_set, o.split_pct, &test_set);
        rc = run(&o, &train_set, &test_set);
    }
    cli_corpus_free(&train_set);
    cli_corpus_free(&test_set);
    opts_free(&o);
    return rc;
}
