/*
 * svm_eval.c -- detection and false-positive rates of a DoS detector on
 * labelled KDD records (cli/svm_eval.h).
 *
 * Records of attack classes other than DoS (probe, R2L, U2R) are not in
 * the rates or the matrix: the detector was not trained on them. How
 * many of them it calls dos is printed on a line of its own.
 */
#include "cli/svm_eval.h"

#include <string.h>

void cli_svm_evaluate(const fn_svm_model *m, const fn_kdd_record *recs, size_t n,
                      cli_svm_eval *ev)
{
    memset(ev, 0, sizeof *ev);
    for (size_t i = 0; i < n; i++) {
        const fn_kdd_record *r = &recs[i];
        unsigned unknown = 0;
        int chosen = fn_svm_model_predict(m, r, NULL, &unknown);
        for (unsigned f = FN_KDD_PROTOCOL_TYPE; f <= FN_KDD_FLAG; f++)
            if (unknown & (1u << f) && !ev->unknown_by[f]++)
                memcpy(ev->unknown_example[f], r->cat[f], sizeof r->cat[f]);
        ev->unknown += unknown != 0;
        int truth = cli_kdd_class(r);
        if (truth == CLI_KDD_OTHER) {
            ev->other++;
            ev->other_dos += chosen == FN_SVM_DOS;
            continue;
        }
        ev->conf[truth][chosen]++;
        int type = fn_kdd_dos_find(r->label);
        if (type >= 0) {
            ev->type_records[type]++;
            ev->type_detected[type] += chosen == FN_SVM_DOS;
        }
    }
}

/** hits of of, with its percentage. */
static cli_svm_rate rate(uint64_t hits, uint64_t of)
{
    return (cli_svm_rate){hits, of, of ? 100.0 * (double)hits / (double)of : 0};
}

cli_svm_rate cli_svm_eval_detection(const cli_svm_eval *ev, bool seen)
{
    uint64_t hits = 0, of = 0;
    for (unsigned t = 0; t < fn_kdd_dos_types(); t++)
        if (fn_kdd_dos_in_training(t) == seen) {
            hits += ev->type_detected[t];
            of += ev->type_records[t];
        }
    return rate(hits, of);
}

cli_svm_rate cli_svm_eval_detection_all(const cli_svm_eval *ev)
{
    return rate(ev->conf[CLI_KDD_DOS][FN_SVM_DOS],
                ev->conf[CLI_KDD_DOS][FN_SVM_NORMAL] + ev->conf[CLI_KDD_DOS][FN_SVM_DOS]);
}

cli_svm_rate cli_svm_eval_false_positives(const cli_svm_eval *ev)
{
    return rate(ev->conf[CLI_KDD_NORMAL][FN_SVM_DOS],
                ev->conf[CLI_KDD_NORMAL][FN_SVM_NORMAL] + ev->conf[CLI_KDD_NORMAL][FN_SVM_DOS]);
}

/** Writes the names of the DoS types seen (or not) in training to buf. */
static void type_names(char *buf, size_t size, bool seen)
{
    buf[0] = 0;
    for (unsigned t = 0; t < fn_kdd_dos_types(); t++)
        if (fn_kdd_dos_in_training(t) == seen) {
            strncat(buf, buf[0] ? " " : "", size - strlen(buf) - 1);
            strncat(buf, fn_kdd_dos_name(t), size - strlen(buf) - 1);
        }
}

/** Prints one rate line. */
static void rate_print(FILE *f, const char *what, cli_svm_rate r, const char *note)
{
    fprintf(f, "  %-35s %6.2f%%  (%llu of %llu%s%s)\n", what, r.pct, (unsigned long long)r.hits,
            (unsigned long long)r.of, note[0] ? "; " : "", note);
}

/** Prints the confusion matrix. */
static void matrix_print(FILE *f, const cli_svm_eval *ev)
{
    fprintf(f, "  %-13s %9s %9s %9s %8s\n", "true \\ chosen", "normal", "dos", "records",
            "error");
    for (int t = 0; t < 2; t++) {
        uint64_t row = ev->conf[t][0] + ev->conf[t][1];
        fprintf(f, "  %-13s %9llu %9llu %9llu %7.2f%%\n", fn_svm_class_name(t),
                (unsigned long long)ev->conf[t][0], (unsigned long long)ev->conf[t][1],
                (unsigned long long)row, row ? 100.0 * (double)ev->conf[t][!t] / (double)row : 0);
    }
}

/** Prints each DoS type's records and detections. */
static void types_print(FILE *f, const cli_svm_eval *ev)
{
    fprintf(f, "  detection by DoS type:\n  %-13s %11s %9s %9s %8s\n", "type", "in training",
            "records", "detected", "rate");
    for (unsigned t = 0; t < fn_kdd_dos_types(); t++) {
        uint64_t n = ev->type_records[t];
        fprintf(f, "  %-13s %11s %9llu %9llu %7.2f%%\n", fn_kdd_dos_name(t),
                fn_kdd_dos_in_training(t) ? "yes" : "no", (unsigned long long)n,
                (unsigned long long)ev->type_detected[t],
                n ? 100.0 * (double)ev->type_detected[t] / (double)n : 0);
    }
}

void cli_svm_eval_print(FILE *f, const cli_svm_eval *ev, const char *title)
{
    char seen[128], unseen[128];
    type_names(seen, sizeof seen, true);
    type_names(unseen, sizeof unseen, false);
    fprintf(f, "%s\n", title);
    rate_print(f, "detection rate, seen DoS types:", cli_svm_eval_detection(ev, true), seen);
    rate_print(f, "detection rate, unseen DoS types:", cli_svm_eval_detection(ev, false), unseen);
    rate_print(f, "detection rate, all DoS:", cli_svm_eval_detection_all(ev), "");
    rate_print(f, "false-positive rate, normal:", cli_svm_eval_false_positives(ev), "");
    matrix_print(f, ev);
    types_print(f, ev);
    fprintf(f, "  other attack classes (probe, R2L, U2R; not counted above): %llu records, "
            "%llu of them chosen dos\n", (unsigned long long)ev->other,
            (unsigned long long)ev->other_dos);
    if (!ev->unknown)
        return;
    fprintf(f, "  records with a category the model never saw (encoded as all zeros): %llu",
            (unsigned long long)ev->unknown);
    for (unsigned c = FN_KDD_PROTOCOL_TYPE; c <= FN_KDD_FLAG; c++)
        if (ev->unknown_by[c])
            fprintf(f, "; %s %llu (e.g. '%s')", fn_kdd_feature_name(c),
                    (unsigned long long)ev->unknown_by[c], ev->unknown_example[c]);
    fprintf(f, "\n");
}
