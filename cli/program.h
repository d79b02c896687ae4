/*
 * program.h -- loading ANALOG programs for the sub-commands: read the
 * file, parse, check, plan; diagnostics printed with source and caret.
 */
#ifndef SX_CLI_PROGRAM_H
#define SX_CLI_PROGRAM_H

#include <stddef.h>

#include "analog/planner.h"

/* What --param and --source gave. */
typedef struct cli_program_opts {
    const char **param_names, **param_values;
    size_t nparams;
    const char **sources; /* relations the first component may consume */
    size_t nsources;
} cli_program_opts;

/* A loaded program: its tree and its plan (both owned). */
typedef struct cli_program {
    const char *path;
    analog_program *ast;
    analog_plan *plan;
} cli_program;

/** Adds "NAME=VALUE" to o; -1 (with a message on stderr) if malformed. */
int cli_program_add_param(cli_program_opts *o, const char *cmd, char *arg);
/** Adds a source relation to o. */
void cli_program_add_source(cli_program_opts *o, const char *rel);
/** Loads path into out: parse, check, plan. Prints diagnostics (errors
 *  and warnings) to stderr. Returns 0, or -1 if anything failed (out is
 *  then empty). */
int cli_program_load(const char *path, const cli_program_opts *o, cli_program *out);
/** Frees what a load produced. */
void cli_program_free(cli_program *p);
/** Frees the option arrays. */
void cli_program_opts_free(cli_program_opts *o);

#endif
