/*
 * program.c -- read, parse, check and plan one ANALOG program file.
 *
 * Files are read whole (capped at the parser's source limit); nothing
 * runs unless all three steps pass. With no --source, the pipeline's
 * source relation is `input` (what capture produces).
 */
#include "program.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/checker.h"
#include "analog/parser.h"
#include "proto/alloc.h"

enum { MAX_PROGRAM_BYTES = 16 * 1024 * 1024 };

int cli_program_add_param(cli_program_opts *o, const char *cmd, char *arg)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "scalanytics %s: --param wants NAME=VALUE, got '%s'\n", cmd, arg);
        return -1;
    }
    *eq = 0;
    o->param_names = sx_realloc(o->param_names, (o->nparams + 1) * sizeof(char *));
    o->param_values = sx_realloc(o->param_values, (o->nparams + 1) * sizeof(char *));
    o->param_names[o->nparams] = arg;
    o->param_values[o->nparams] = eq + 1;
    o->nparams++;
    return 0;
}

void cli_program_add_source(cli_program_opts *o, const char *rel)
{
    o->sources = sx_realloc(o->sources, (o->nsources + 1) * sizeof(char *));
    o->sources[o->nsources++] = rel;
}

void cli_program_opts_free(cli_program_opts *o)
{
    free(o->param_names);
    free(o->param_values);
    free(o->sources);
    memset(o, 0, sizeof *o);
}

/** Reads a whole file (at most MAX_PROGRAM_BYTES); NULL with a message. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "scalanytics: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = sx_malloc(MAX_PROGRAM_BYTES + 1);
    size_t n = fread(buf, 1, MAX_PROGRAM_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err || n > MAX_PROGRAM_BYTES) {
        fprintf(stderr, "scalanytics: %s: %s\n", path,
                err ? "read error" : "larger than 16 MiB: not an ANALOG program");
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int cli_program_load(const char *path, const cli_program_opts *o, cli_program *out)
{
    memset(out, 0, sizeof *out);
    out->path = path;
    size_t len;
    char *src = read_file(path, &len);
    if (!src)
        return -1;
    static const char *const default_source[] = {"input"};
    analog_diag *d = analog_diag_new();
    out->ast = analog_parse(path, src, len, d);
    free(src);
    int rc = -1;
    if (out->ast &&
        analog_check(out->ast, o->param_names, o->nparams,
                     o->nsources ? o->sources : default_source, o->nsources ? o->nsources : 1,
                     d) == 0) {
        out->plan = analog_plan_new(out->ast, o->param_names, o->param_values, o->nparams, d);
        rc = out->plan ? 0 : -1;
    }
    analog_diag_print(d, stderr);
    if (rc != 0)
        fprintf(stderr, "scalanytics: %s: %u error%s, nothing runs\n", path,
                analog_diag_errors(d), analog_diag_errors(d) == 1 ? "" : "s");
    analog_diag_destroy(&d);
    if (rc != 0)
        cli_program_free(out);
    return rc;
}

void cli_program_free(cli_program *p)
{
    analog_plan_destroy(&p->plan);
    analog_program_destroy(&p->ast);
}
