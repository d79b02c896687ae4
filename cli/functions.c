/*
 * functions.c -- `scalanytics functions`: lists the f_* functions a
 * program can call, with their arity and what they do.
 */
#include <stdio.h>
#include <string.h>

#include "analog/functions.h"
#include "cli.h"

int cli_functions(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: scalanytics functions\n\nLists every function an ANALOG program can call:"
               " name, arguments, kind\n(pure or stateful) and a one-line summary. Names match"
               " case-insensitively.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "scalanytics functions: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    for (unsigned i = 0; i < analog_fn_count(); i++) {
        const analog_fn_def *d = analog_fn_at(i);
        char arity[32];
        if (d->max_args == ANALOG_FN_VARIADIC)
            snprintf(arity, sizeof arity, "%d+", d->min_args);
        else if (d->max_args == d->min_args)
            snprintf(arity, sizeof arity, "%d", d->min_args);
        else
            snprintf(arity, sizeof arity, "%d-%d", d->min_args, d->max_args);
        printf("%-24s %-6s %-9s %s\n", d->name, arity,
               d->flags & ANALOG_FN_STATEFUL ? "stateful" : d->flags & ANALOG_FN_PURE ? "pure" : "effect",
               d->summary ? d->summary : "");
    }
    return 0;
}
