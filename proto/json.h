/*
 * json.h -- tuples to and from JSON lines.
 *
 * Output (sinks): one JSON object per tuple. Values map to JSON as:
 * int and float -> numbers (non-finite floats -> strings "nan", "inf",
 * "-inf"); string -> string (bytes that are not valid UTF-8 escaped as
 * \u00XX, so the line is always valid JSON); bytes -> base64 string
 * (optionally cut to max_bytes, with "<name>_truncated": true beside it);
 * bool -> true/false; ip -> "10.0.0.1" / "2001:db8::1"; null -> null;
 * list -> array; record -> object.
 *
 * Input (--tuples FILE): one object per line,
 *   {"relation": "input", "time": 1700000000.25,
 *    "values": ["node1", 42, 2.5, "text", true, null,
 *               {"ip": "10.0.0.1"}, {"bytes": "aGVsbG8="},
 *               [1, 2], {"record": {"a": 1}}]}
 * values[0] is the location (@N). "time" (seconds, optional) is the
 * packet time. A number without '.', 'e' or 'E' is an int.
 */
#ifndef SX_JSON_H
#define SX_JSON_H

#include <stdio.h>

#include "batch.h"

typedef struct sx_json_opts {
    size_t max_bytes; /* cut bytes values to this many (0 = no limit) */
} sx_json_opts;

/** Writes v as JSON. Returns 0, or -1 on an output error. */
int sx_json_write_value(FILE *f, const sx_value *v, const sx_json_opts *o);
/** Writes s (len bytes) as a JSON string literal. 0 or -1. */
int sx_json_write_string(FILE *f, const void *s, size_t len);
/** Writes one line for tuple t of batch b:
 *   {"pipeline": P, "relation": R, "token": T, "time": S, NAME: value...}
 * names[i] names attribute i (NULL names, or fewer than t->n, fall back to
 * "_i"). 0 or -1. */
int sx_json_write_tuple(FILE *f, const char *pipeline, const sx_batch *b, const sx_tuple *t,
                        const char *const *names, uint32_t nnames, const sx_json_opts *o);

/** Parses one input line into a tuple (t must be empty) and its packet
 *  time in ns (0 if absent). Returns 0, or -1 with a message in err
 *  naming the column of the problem. */
int sx_json_read_tuple(const char *line, size_t len, sx_tuple *t, int64_t *time_ns, char *err,
                       size_t errlen);

#endif
