/*
 * kdd_data.h -- KDD Cup '99 / NSL-KDD CSV files read into feature
 * records, for `scalanytics train-svm` (cli/train_svm.c).
 */
#ifndef SX_CLI_KDD_DATA_H
#define SX_CLI_KDD_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "functions/kdd_features.h"

/* The class of a record's label, as train-svm sees it. */
enum { CLI_KDD_OTHER = -1, CLI_KDD_NORMAL = 0, CLI_KDD_DOS = 1 };

typedef struct cli_kdd_data {
    fn_kdd_record *recs;
    size_t n, cap;
} cli_kdd_data;

/** Empties d (no allocation). */
void cli_kdd_init(cli_kdd_data *d);
/** Frees d's records and empties it. */
void cli_kdd_free(cli_kdd_data *d);
/** Appends the records of the CSV file at path ("-": standard input):
 *  one per line, blank lines skipped, with a progress bar on a
 *  terminal. 0, or -1 with "PATH:LINE: problem" in err. */
int cli_kdd_read(const char *path, cli_kdd_data *d, char *err, size_t errlen);
/** CLI_KDD_NORMAL, CLI_KDD_DOS (any of NSL-KDD's ten DoS types) or
 *  CLI_KDD_OTHER (probe, R2L, U2R, anything else) for r's label. */
int cli_kdd_class(const fn_kdd_record *r);

#endif
