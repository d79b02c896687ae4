/*
 * fn_traffic.h -- the counters behind f_traffic(PKT, "name").
 *
 * f_traffic itself is reached through the function registry
 * (analog/functions.h); this header is how the run summary and tests
 * read the totals. Readers may run while workers count: totals are
 * summed from per-worker cells, so a report taken mid-run is a
 * consistent-enough snapshot, and an exact one once workers are idle.
 */
#ifndef FN_TRAFFIC_H
#define FN_TRAFFIC_H

#include <stdint.h>
#include <stdio.h>

/* Distinct counter names (a plan with more fails to prepare). */
#define FN_TRAFFIC_NAMES 64
/* Longest counter name, in bytes. */
#define FN_TRAFFIC_NAME_MAX 64

/** Writes a table, one line per counter: name, packets, bytes. */
void fn_traffic_report(FILE *f);
/** Writes one JSON object, {"input": {"packets": 3, "bytes": 180}, ...},
 *  counters in the order they were first used. Returns 0, or -1 on an
 *  output error. */
int fn_traffic_json(FILE *f);
/** Stores the totals of counter name in *packets and *bytes; returns 0,
 *  or -1 (both set to 0) when no counter has that name. */
int fn_traffic_counts(const char *name, uint64_t *packets, uint64_t *bytes);

#endif
