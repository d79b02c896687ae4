/*
 * bayes_eval.c -- confusion matrices and cross-validation for
 * `scalanytics train-bayes` (cli/bayes_eval.h).
 *
 * Cross-validation reuses the one trained model: a fold's mails are
 * subtracted (fn_bayes_model_remove), classified, and added back, so k
 * folds cost one training and k passes of classification, and the
 * model ends exactly as it began.
 */
#include "cli/bayes_eval.h"

#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

/* Thresholds a sweep tries. */
static const double SWEEP[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9,
                               0.925, 0.95, 0.975, 0.99, 0.995, 0.999};

double cli_confusion_error(const cli_confusion *c, unsigned cls)
{
    uint64_t all = 0;
    for (unsigned j = 0; j < c->nclasses; j++)
        all += c->count[cls][j];
    return all ? 100.0 * (double)(all - c->count[cls][cls]) / (double)all : 0;
}

void cli_confusion_print(FILE *f, const cli_confusion *c, const fn_bayes_model *m,
                         const char *title)
{
    uint64_t all = 0, right = 0;
    fprintf(f, "%s\n  %-12s", title, "true \\ chosen");
    for (unsigned j = 0; j < c->nclasses; j++)
        fprintf(f, " %9s", fn_bayes_model_class_name(m, j));
    fprintf(f, " %9s %8s\n", "mails", "error");
    for (unsigned i = 0; i < c->nclasses; i++) {
        uint64_t row = 0;
        fprintf(f, "  %-12s", fn_bayes_model_class_name(m, i));
        for (unsigned j = 0; j < c->nclasses; j++) {
            fprintf(f, " %9llu", (unsigned long long)c->count[i][j]);
            row += c->count[i][j];
        }
        fprintf(f, " %9llu %7.2f%%\n", (unsigned long long)row, cli_confusion_error(c, i));
        all += row;
        right += c->count[i][i];
    }
    fprintf(f, "  accuracy %.2f%% (%llu of %llu)\n", all ? 100.0 * (double)right / (double)all : 0,
            (unsigned long long)right, (unsigned long long)all);
}

int cli_bayes_evaluate(const fn_bayes_model *m, const cli_corpus *corpus, cli_confusion *c,
                       char *err, size_t errlen)
{
    fn_bayes_tokens t;
    fn_bayes_tokens_init(&t);
    int rc = 0;
    for (size_t i = 0; i < corpus->n && rc == 0; i++) {
        const cli_mail *mail = &corpus->mails[i];
        size_t len;
        uint8_t *data = cli_corpus_read(mail, &len, err, errlen);
        if (!data) {
            rc = -1;
            break;
        }
        fn_bayes_result r;
        fn_bayes_classify_mail(m, data, len, &t, &r);
        c->count[mail->label][r.cls]++;
        free(data);
    }
    fn_bayes_tokens_free(&t);
    return rc;
}

/** Prints each class's cross-validated error for each threshold of
 *  class sweep, from the scores of every mail (scores[i * C + class]). */
static void sweep_print(FILE *f, fn_bayes_model *m, const cli_corpus *corpus,
                        const double *scores, int sweep)
{
    unsigned nc = fn_bayes_model_classes(m);
    double saved = fn_bayes_model_threshold(m, (unsigned)sweep);
    fprintf(f, "cross-validated error by threshold of class %s:\n  %-9s",
            fn_bayes_model_class_name(m, (unsigned)sweep), "threshold");
    for (unsigned c = 0; c < nc; c++)
        fprintf(f, " %9s", fn_bayes_model_class_name(m, c));
    fprintf(f, "\n");
    for (size_t k = 0; k < sizeof SWEEP / sizeof SWEEP[0]; k++) {
        cli_confusion conf = {.nclasses = nc};
        fn_bayes_model_set_threshold(m, (unsigned)sweep, SWEEP[k]);
        for (size_t i = 0; i < corpus->n; i++)
            conf.count[corpus->mails[i].label][fn_bayes_choose(m, &scores[i * nc])]++;
        fprintf(f, "  %-9g", SWEEP[k]);
        for (unsigned c = 0; c < nc; c++)
            fprintf(f, " %8.2f%%", cli_confusion_error(&conf, c));
        fprintf(f, "\n");
    }
    fn_bayes_model_set_threshold(m, (unsigned)sweep, saved);
}

void cli_bayes_cross_validate(FILE *f, fn_bayes_model *m, const cli_corpus *corpus,
                              const fn_bayes_tokens *tokens, unsigned folds, int sweep)
{
    unsigned nc = fn_bayes_model_classes(m);
    cli_confusion conf = {.nclasses = nc};
    double *scores = sx_calloc(corpus->n ? corpus->n * nc : 1, sizeof *scores);
    for (unsigned k = 0; k < folds; k++) {
        for (size_t i = 0; i < corpus->n; i++)
            if (cli_corpus_fold(&corpus->mails[i], folds) == k)
                fn_bayes_model_remove(m, (unsigned)corpus->mails[i].label, &tokens[i]);
        for (size_t i = 0; i < corpus->n; i++) {
            if (cli_corpus_fold(&corpus->mails[i], folds) != k)
                continue;
            fn_bayes_result r;
            fn_bayes_classify(m, &tokens[i], &r);
            conf.count[corpus->mails[i].label][r.cls]++;
            memcpy(&scores[i * nc], r.score, nc * sizeof *scores);
        }
        for (size_t i = 0; i < corpus->n; i++)
            if (cli_corpus_fold(&corpus->mails[i], folds) == k)
                fn_bayes_model_add(m, (unsigned)corpus->mails[i].label, &tokens[i]);
    }
    char title[128];
    snprintf(title, sizeof title, "%u-fold cross-validation on the training mails:", folds);
    cli_confusion_print(f, &conf, m, title);
    if (sweep >= 0)
        sweep_print(f, m, corpus, scores, sweep);
    free(scores);
}
