/*
 * bayes_eval.h -- measuring a naive Bayes model for `scalanytics
 * train-bayes`: confusion matrices on held-out mail and k-fold
 * cross-validation on the training mail (for tuning without looking at
 * the test part).
 *
 * A class's error is the share of its mails classified as another
 * class; with classes ham and spam, ham's error is the false-positive
 * rate and spam's the false-negative rate.
 */
#ifndef SX_CLI_BAYES_EVAL_H
#define SX_CLI_BAYES_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "cli/corpus.h"
#include "functions/bayes.h"

/** Counts of (true class, class chosen). */
typedef struct cli_confusion {
    unsigned nclasses;
    uint64_t count[FN_BAYES_CLASSES_MAX][FN_BAYES_CLASSES_MAX];
} cli_confusion;

/** The error of class cls in percent (0 when it has no mails). */
double cli_confusion_error(const cli_confusion *c, unsigned cls);

/** Prints c under a title line: a row per true class (counts per class
 *  chosen, mails, error %), then the accuracy. */
void cli_confusion_print(FILE *f, const cli_confusion *c, const fn_bayes_model *m,
                         const char *title);

/** Classifies every mail of corpus (labels are classes of m), adding
 *  to c. 0, or -1 with a message in err (a file that cannot be read). */
int cli_bayes_evaluate(const fn_bayes_model *m, const cli_corpus *corpus, cli_confusion *c,
                       char *err, size_t errlen);

/** k-fold cross-validation of m, trained on corpus's mails whose token
 *  sets are tokens[i]: each fold's mails are taken out of m, classified,
 *  and put back (m ends as it began). Prints the confusion matrix to f;
 *  with sweep >= 0, also each class's error for a range of thresholds
 *  of class sweep. */
void cli_bayes_cross_validate(FILE *f, fn_bayes_model *m, const cli_corpus *corpus,
                              const fn_bayes_tokens *tokens, unsigned folds, int sweep);

#endif
