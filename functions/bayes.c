/*
 * bayes.c -- naive Bayes classification (functions/bayes.h).
 *
 * Design: a mail's distinct tokens are looked up once in the model
 * (one row of per-class counts each, NULL for tokens never seen, which
 * weigh nothing); each class is then scored by the model's method from
 * those rows, and one class is chosen by the scores and the classes'
 * thresholds. Scratch arrays are per call, sized by the mail's tokens
 * (at most FN_BAYES_TOKENS_MAX).
 *
 * Robinson/Fisher, as SpamBayes computes it (Gary Robinson, "A
 * Statistical Approach to the Spam Problem", 2003): for class c, with
 * b = count_c(w) / mails_c and g = count_rest(w) / mails_rest,
 * p(w) = b / (b + g), n = count_c(w) + count_rest(w), and
 * f(w) = (s x + n p(w)) / (s + n); the clues' f are combined as
 * S = 1 - chi2Q(-2 sum ln(1 - f), 2k), H = 1 - chi2Q(-2 sum ln f, 2k),
 * score (1 + S - H) / 2 (0.5 with no clue). "Rest" pools the other
 * classes, so two classes give mirror-image scores.
 */
#include "functions/bayes.h"

#include <math.h>
#include <stdlib.h>

#include "proto/alloc.h"

/** A token that weighs for or against a class. */
typedef struct clue {
    double f;    /* Robinson's f(w) for the class */
    double dev;  /* |f - 0.5| */
    uint64_t hash;
} clue;

/** The upper tail of the chi-square distribution with v (even) degrees
 *  of freedom at x2: the Poisson sum exp(-m) sum m^i / i!, m = x2 / 2. */
static double chi2q(double x2, unsigned v)
{
    double m = x2 / 2.0, term = exp(-m), sum = term;
    for (unsigned i = 1; i < v / 2; i++) {
        term *= m / i;
        sum += term;
    }
    return sum < 1.0 ? sum : 1.0;
}

/** Order of clues: strongest first, ties by hash (deterministic). */
static int clue_cmp(const void *a, const void *b)
{
    const clue *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev > y->dev ? -1 : 1;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/** Robinson's f(w) for class c of a token with counts row. */
static double robinson_f(const fn_bayes_model *m, const uint32_t *row, unsigned c,
                         uint64_t mails_all)
{
    const fn_bayes_params *p = fn_bayes_model_params(m);
    uint64_t mails_c = fn_bayes_model_class_mails(m, c), mails_rest = mails_all - mails_c;
    uint64_t count_rest = 0;
    for (unsigned k = 0; k < fn_bayes_model_classes(m); k++)
        count_rest += k == c ? 0 : row[k];
    double b = mails_c ? (double)row[c] / (double)mails_c : 0;
    double g = mails_rest ? (double)count_rest / (double)mails_rest : 0;
    if (b + g <= 0)
        return p->unknown_prob;
    double n = (double)row[c] + (double)count_rest;
    return (p->strength * p->unknown_prob + n * (b / (b + g))) / (p->strength + n);
}

/** Class c's Robinson/Fisher score from the rows of the mail's known
 *  tokens (rows[i] for hash[i], NULL when unknown); clues is scratch of
 *  n. The clues used go to *nclues. */
static double robinson_score(const fn_bayes_model *m, const uint32_t *const *rows,
                             const uint64_t *hash, size_t n, unsigned c, clue *clues,
                             unsigned *nclues)
{
    const fn_bayes_params *p = fn_bayes_model_params(m);
    uint64_t mails_all = 0;
    for (unsigned k = 0; k < fn_bayes_model_classes(m); k++)
        mails_all += fn_bayes_model_class_mails(m, k);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i])
            continue;
        double f = robinson_f(m, rows[i], c, mails_all);
        double dev = fabs(f - 0.5);
        if (dev >= p->min_dev)
            clues[k++] = (clue){f, dev, hash[i]};
    }
    if (p->max_clues && k > p->max_clues) {
        qsort(clues, k, sizeof *clues, clue_cmp);
        k = p->max_clues;
    }
    *nclues = (unsigned)k;
    if (k == 0)
        return 0.5;
    double ln_f = 0, ln_not_f = 0;
    for (size_t i = 0; i < k; i++) {
        ln_f += log(clues[i].f);
        ln_not_f += log(1.0 - clues[i].f);
    }
    double s = 1.0 - chi2q(-2.0 * ln_not_f, (unsigned)(2 * k));
    double h = 1.0 - chi2q(-2.0 * ln_f, (unsigned)(2 * k));
    return (1.0 + s - h) / 2.0;
}

/** Multinomial posteriors of every class into score[] from the rows of
 *  the mail's tokens; tokens the model does not know are left out. */
static void multinomial_scores(const fn_bayes_model *m, const uint32_t *const *rows, size_t n,
                               double *score)
{
    const fn_bayes_params *p = fn_bayes_model_params(m);
    unsigned nc = fn_bayes_model_classes(m);
    double vocab = (double)fn_bayes_model_tokens(m), mails_all = 0, logp[FN_BAYES_CLASSES_MAX];
    for (unsigned c = 0; c < nc; c++)
        mails_all += (double)fn_bayes_model_class_mails(m, c);
    double best = -INFINITY;
    for (unsigned c = 0; c < nc; c++) {
        double mails = (double)fn_bayes_model_class_mails(m, c);
        double denom = log((double)fn_bayes_model_class_total(m, c) + p->alpha * vocab);
        logp[c] = log((mails + p->alpha) / (mails_all + p->alpha * nc));
        for (size_t i = 0; i < n; i++)
            if (rows[i])
                logp[c] += log((double)rows[i][c] + p->alpha) - denom;
        best = logp[c] > best ? logp[c] : best;
    }
    double sum = 0;
    for (unsigned c = 0; c < nc; c++)
        sum += (score[c] = exp(logp[c] - best));
    for (unsigned c = 0; c < nc; c++)
        score[c] /= sum;
}

unsigned fn_bayes_choose(const fn_bayes_model *m, const double *score)
{
    int met = -1, free_best = -1, any = 0; /* best of: thresholds met, no threshold, all */
    for (unsigned c = 0; c < fn_bayes_model_classes(m); c++) {
        double t = fn_bayes_model_threshold(m, c);
        if (t == FN_BAYES_NO_THRESHOLD) {
            if (free_best < 0 || score[c] > score[free_best])
                free_best = (int)c;
        } else if (score[c] >= t && (met < 0 || score[c] > score[met])) {
            met = (int)c;
        }
        if (score[c] > score[any])
            any = (int)c;
    }
    return (unsigned)(met >= 0 ? met : free_best >= 0 ? free_best : any);
}

int fn_bayes_classify(const fn_bayes_model *m, const fn_bayes_tokens *t, fn_bayes_result *r)
{
    size_t n = t->n;
    const uint32_t **rows = sx_malloc((n ? n : 1) * sizeof *rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = fn_bayes_model_counts(m, t->hash[i]);
    unsigned nc = fn_bayes_model_classes(m), clues[FN_BAYES_CLASSES_MAX] = {0};
    *r = (fn_bayes_result){0};
    if (fn_bayes_model_params(m)->method == FN_BAYES_MULTINOMIAL) {
        multinomial_scores(m, rows, n, r->score);
        for (size_t i = 0; i < n; i++)
            clues[0] += rows[i] != NULL;
        for (unsigned c = 1; c < nc; c++)
            clues[c] = clues[0];
    } else {
        clue *scratch = sx_malloc((n ? n : 1) * sizeof *scratch);
        for (unsigned c = 0; c < nc; c++)
            r->score[c] = robinson_score(m, rows, t->hash, n, c, scratch, &clues[c]);
        free(scratch);
    }
    free(rows);
    r->cls = fn_bayes_choose(m, r->score);
    r->clues = clues[r->cls];
    return 0;
}

int fn_bayes_classify_mail(const fn_bayes_model *m, const uint8_t *msg, size_t len,
                           fn_bayes_tokens *t, fn_bayes_result *r)
{
    fn_bayes_tokenize(msg, len, t);
    return fn_bayes_classify(m, t, r);
}
