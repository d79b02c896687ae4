/*
 * bayes.h -- naive Bayes text classification: a mail's tokens
 * (functions/bayes_tokens.h) weighed against a model
 * (functions/bayes_model.h), giving each class a score and choosing one.
 *
 * Generic in its classes: two or more, whatever they are named (spam
 * and ham, or languages, or departments). Scores are in [0, 1]:
 *   - Robinson/Fisher: for each class c, every token's f(w), Robinson's
 *     smoothed probability that a mail holding w is of class c rather
 *     than another; the most extreme (|f(w) - 0.5| >= min_dev, at most
 *     max_clues) are combined by Fisher's chi-square method into
 *     S (evidence for c) and H (against it): score (1 + S - H) / 2.
 *     With two classes the two scores add up to 1.
 *   - multinomial: the posterior probability of the class, tokens
 *     counted once per mail, Lidstone-smoothed.
 * The choice: a class with a decision threshold is chosen when its
 * score reaches it ("spam at 0.9 and above"; the highest such score if
 * several do); otherwise the class without a threshold that scores
 * highest; when every class has a threshold and none is reached, the
 * highest score.
 *
 * Pure: safe from any number of threads on one read-only model.
 */
#ifndef FN_BAYES_H
#define FN_BAYES_H

#include "functions/bayes_model.h"
#include "functions/bayes_tokens.h"

typedef struct fn_bayes_result {
    unsigned cls;                        /* the class chosen */
    double score[FN_BAYES_CLASSES_MAX];  /* each class's score, 0..1 */
    unsigned clues;                      /* tokens that weighed (Robinson: for the chosen class) */
} fn_bayes_result;

/** The class chosen for scores score[] (one per class of m) by the
 *  rule above, with m's thresholds. */
unsigned fn_bayes_choose(const fn_bayes_model *m, const double *score);

/** Classifies token set t with model m into *r. Returns 0. */
int fn_bayes_classify(const fn_bayes_model *m, const fn_bayes_tokens *t, fn_bayes_result *r);

/** Tokenizes the mail msg[0..len) and classifies it into *r (t is
 *  scratch space the caller initialised and frees; reusing it saves
 *  allocations). Returns 0. */
int fn_bayes_classify_mail(const fn_bayes_model *m, const uint8_t *msg, size_t len,
                           fn_bayes_tokens *t, fn_bayes_result *r);

#endif
