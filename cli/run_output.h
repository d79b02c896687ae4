/*
 * run_output.h -- where `scalanytics run` writes its outputs: the
 * default destination (stdout or -o FILE), per-relation files
 * (-o REL=FILE), each JSON lines or, for a name ending in .csv, CSV
 * (cli/csv.h), and the --publish socket.
 *
 *     run_output *out = run_output_new(&opts, progs, np, &status);
 *     per sink batch:   run_output_lock(out);
 *                       run_output_tuple(out, ...) for each tuple;
 *                       run_output_unlock(out);
 *     if (run_output_close(&out) != 0) status = 1;
 */
#ifndef SX_CLI_RUN_OUTPUT_H
#define SX_CLI_RUN_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "program.h"
#include "proto/batch.h"

typedef struct run_output run_output;

typedef struct run_output_opts {
    char **outs;                  /* every -o argument, "[REL=]FILE", in order */
    size_t nouts;
    const char *const *sources;   /* --source relations (none: input) */
    size_t nsources;
    const char *publish;          /* --publish EP, or NULL */
    unsigned subscribers;         /* --subscribers N */
    size_t max_bytes;             /* --max-bytes: cuts bytes in JSON */
} run_output_opts;

/** Checks the -o routes against what the np programs output, opens the
 *  files (writing each CSV header) and binds --publish. Returns the
 *  outputs (the caller owns them: run_output_close), or NULL with a
 *  message on stderr and *status 2 (bad usage) or 1 (cannot write,
 *  cannot bind). */
run_output *run_output_new(const run_output_opts *o, const cli_program *progs, size_t np,
                           int *status);

/** The output lock, held by a sink around one batch: it guards every
 *  destination and the publish socket, and whatever per-batch counts
 *  the caller keeps beside them. */
void run_output_lock(run_output *out);
void run_output_unlock(run_output *out);

/** Writes tuple t of batch b, an output of pipeline, to its relation's
 *  destination and publishes it; names[0..nnames-1] name its values in
 *  JSON. Call with the lock held. Errors are counted, not returned. */
void run_output_tuple(run_output *out, const char *pipeline, const sx_batch *b, const sx_tuple *t,
                      const char *const *names, uint32_t nnames);

/** Flushes and closes every file, reporting on stderr the outputs that
 *  could not be written and errors on close; unbinds --publish; nulls
 *  *out. Returns 0, or -1 when an output was lost. */
int run_output_close(run_output **out);

#endif
