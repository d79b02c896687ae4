/*
 * csv.h -- tuples as CSV rows (RFC 4180), for `run -o REL=FILE.csv`.
 *
 *     cli_csv *w = cli_csv_new(f);               borrows f
 *     cli_csv_header(w, names, n);               the column names
 *     cli_csv_row(w, t);                         one line per tuple
 *     cli_csv_destroy(&w);                       f stays open
 *
 * Values as their plain text: null an empty field; strings as they are;
 * ints in decimal; floats with the fewest digits that read back the same
 * double (%.15g to %.17g; nan, inf, -inf); bools true / false; IPs
 * 10.0.0.1 / 2001:db8::1; bytes as padded base64 (as in the JSON
 * output); lists and records as their JSON text, always quoted. An empty
 * string or byte string is written "" so it differs from null.
 * A field holding a comma, a double quote, CR or LF is quoted, each
 * quote inside doubled. Lines end in LF, not RFC 4180's CRLF, so a file
 * compares line by line with text tools.
 */
#ifndef SX_CLI_CSV_H
#define SX_CLI_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "proto/tuple.h"

typedef struct cli_csv cli_csv;

/** A writer onto f, which it borrows (f must outlive it). The caller
 *  owns the writer: cli_csv_destroy. */
cli_csv *cli_csv_new(FILE *f);
/** Writes the header line: names[0..n-1], quoted where needed. 0 or -1. */
int cli_csv_header(cli_csv *w, const char *const *names, uint32_t n);
/** Writes t's values as one line (the relation is not written). 0, or
 *  -1 on an output error. */
int cli_csv_row(cli_csv *w, const sx_tuple *t);
/** Frees the writer (not its FILE); nulls *w. */
void cli_csv_destroy(cli_csv **w);

#endif
