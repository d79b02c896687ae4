/*
 * svm_eval.h -- how well a DoS detector (functions/svm_model.h) does on
 * labelled KDD records, for `scalanytics train-svm --eval`.
 */
#ifndef SX_CLI_SVM_EVAL_H
#define SX_CLI_SVM_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "cli/kdd_data.h"
#include "functions/svm_model.h"

#define CLI_SVM_DOS_TYPES 10u

typedef struct cli_svm_eval {
    uint64_t conf[2][2];                      /* [true class][chosen class] */
    uint64_t type_records[CLI_SVM_DOS_TYPES]; /* by fn_kdd_dos_find index */
    uint64_t type_detected[CLI_SVM_DOS_TYPES];
    uint64_t other, other_dos; /* other attack classes, and those chosen dos */
    uint64_t unknown;          /* records with a category the model never saw */
    uint64_t unknown_by[FN_KDD_FLAG + 1];
    char unknown_example[FN_KDD_FLAG + 1][FN_KDD_NAME_MAX + 1];
} cli_svm_eval;

/** A detection rate: detected of records, in percent. */
typedef struct cli_svm_rate {
    uint64_t hits, of;
    double pct;
} cli_svm_rate;

/** Classifies the n records with m and counts into ev (zeroed first). */
void cli_svm_evaluate(const fn_svm_model *m, const fn_kdd_record *recs, size_t n,
                      cli_svm_eval *ev);
/** Detection rate on the DoS types the training set has (seen true),
 *  or on the others (seen false). */
cli_svm_rate cli_svm_eval_detection(const cli_svm_eval *ev, bool seen);
/** Detection rate on every DoS record. */
cli_svm_rate cli_svm_eval_detection_all(const cli_svm_eval *ev);
/** False-positive rate: normal records chosen dos. */
cli_svm_rate cli_svm_eval_false_positives(const cli_svm_eval *ev);
/** Prints the rates, the confusion matrix and the per-type counts under
 *  title. */
void cli_svm_eval_print(FILE *f, const cli_svm_eval *ev, const char *title);

#endif
