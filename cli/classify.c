/*
 * classify.c -- `scalanytics classify --model FILE PATH...`: classifies
 * mail files with a naive Bayes model from train-bayes, one line per
 * mail: name, class, score, tab-separated -- the same answer
 * f_classify and f_classScore give the mail on the wire.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli/corpus.h"
#include "functions/bayes.h"

#define ME "scalanytics classify"

/** Prints the help. */
static void usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics classify --model FILE [OPTIONS] FILE|DIR...\n"
        "\n"
        "Classifies mail files with a naive Bayes model written by `scalanytics\n"
        "train-bayes`, printing one line per mail on stdout:\n"
        "\n"
        "  NAME<TAB>CLASS<TAB>SCORE\n"
        "\n"
        "NAME is the file's path (\"path#N\" for the Nth mail of an mbox holding several),\n"
        "CLASS the class chosen and SCORE its score, 0..1, with 6 decimals. A directory\n"
        "is read recursively in name order; files that are not mail are skipped and\n"
        "counted on stderr. The answer is the one f_classify and f_classScore give the\n"
        "same mail assembled from the wire (programs/spam.analog).\n"
        "\n"
        "options:\n"
        "  -m, --model FILE      the model (required, but for --tokens)\n"
        "  --split test=PCT      classify only the test part of train-bayes's split: the\n"
        "                        mails whose file's base name hashes (FNV-1a 64, mod 100)\n"
        "                        below PCT\n"
        "  --tokens              print each mail's tokens instead (NAME<TAB>TOKEN lines,\n"
        "                        in the mail's order, repeats included)\n"
        "  -h, --help            this help\n"
        "\n"
        "Exit status: 0 ok, 1 a file or the model could not be read, 2 bad usage.\n"
        "\n"
        "examples:\n"
        "  scalanytics classify --model spam.nb inbox/\n"
        "  scalanytics classify --model spam.nb --split test=20 ../shared/data/spamassassin/spam\n"
        "  scalanytics classify --model spam.nb mail.eml | cut -f2\n");
}

typedef struct classify_opts {
    const char *model;
    unsigned split_pct;
    bool tokens;
} classify_opts;

/** Parses argv into o; 0, 1 for --help, 2 on bad usage. */
static int parse(int argc, char **argv, classify_opts *o)
{
    enum { OPT_SPLIT = 256, OPT_TOKENS };
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},
        {"split", required_argument, 0, OPT_SPLIT},
        {"tokens", no_argument, 0, OPT_TOKENS},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == 'm') {
            o->model = optarg;
        } else if (c == OPT_TOKENS) {
            o->tokens = true;
        } else if (c == OPT_SPLIT && cli_corpus_parse_split(optarg, &o->split_pct) != 0) {
            fprintf(stderr, ME ": --split wants test=PCT with PCT from 1 to 99, got '%s'\n",
                    optarg);
            rc = 2;
        } else if (c == '?') {
            rc = 2;
        }
    }
    if (rc == 0 && !o->model && !o->tokens) {
        fprintf(stderr, ME ": no model: give --model FILE (from scalanytics train-bayes)\n");
        rc = 2;
    }
    if (rc == 0 && optind == argc) {
        fprintf(stderr, ME ": no mail: give files or directories\n");
        rc = 2;
    }
    return rc;
}

/** Prints one token of the mail named by arg. */
static void print_token(const char *tok, size_t len, void *arg)
{
    printf("%s\t%.*s\n", (const char *)arg, (int)len, tok);
}

/** Classifies (or tokenizes) every mail of c, printing a line each. 0,
 *  or 1 when a file could not be read (the others are still done). */
static int classify_all(const fn_bayes_model *m, const cli_corpus *c, bool tokens)
{
    fn_bayes_tokens t;
    fn_bayes_tokens_init(&t);
    int rc = 0;
    for (size_t i = 0; i < c->n; i++) {
        char err[4200];
        size_t len;
        uint8_t *data = cli_corpus_read(&c->mails[i], &len, err, sizeof err);
        if (!data) {
            fprintf(stderr, ME ": %s\n", err);
            rc = 1;
            continue;
        }
        if (tokens) {
            fn_bayes_tokenize_each(data, len, print_token, c->mails[i].name);
        } else {
            fn_bayes_result r;
            fn_bayes_classify_mail(m, data, len, &t, &r);
            printf("%s\t%s\t%.6f\n", c->mails[i].name, fn_bayes_model_class_name(m, r.cls),
                   r.score[r.cls]);
        }
        free(data);
    }
    fn_bayes_tokens_free(&t);
    return rc;
}

/** Lists the mails of paths (the test part only, with a split) into c;
 *  -1 with a message printed. */
static int load(char **paths, int n, unsigned split_pct, cli_corpus *c)
{
    for (int i = 0; i < n; i++) {
        char err[4200];
        if (cli_corpus_add(c, paths[i], 0, err, sizeof err) != 0) {
            fprintf(stderr, ME ": %s\n", err);
            return -1;
        }
    }
    cli_corpus_report_skipped(c, ME);
    if (split_pct) {
        cli_corpus test;
        cli_corpus_init(&test);
        cli_corpus_split(c, split_pct, &test);
        cli_corpus_free(c);
        *c = test;
    }
    return 0;
}

int cli_classify(int argc, char **argv)
{
    classify_opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "(" ME " --help explains the options)\n");
        return rc;
    }
    char err[4200];
    fn_bayes_model *m = NULL;
    if (o.model && !(m = fn_bayes_model_load(o.model, err, sizeof err))) {
        fprintf(stderr, ME ": %s\n", err);
        return 1;
    }
    cli_corpus c;
    cli_corpus_init(&c);
    rc = load(argv + optind, argc - optind, o.split_pct, &c) == 0 ? 0 : 1;
    if (rc == 0)
        rc = classify_all(m, &c, o.tokens);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, ME ": cannot write the output\n");
        rc = 1;
    }
    cli_corpus_free(&c);
    fn_bayes_model_destroy(&m);
    return rc;
}
