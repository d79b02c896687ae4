/*
 * functions.c -- `scalanytics functions`: lists the f_* functions a
 * program can call, with their arity and what they do.
 */
#include <stdio.h>
#include <string.h>

#include "analog/functions.h"
#include "analog/settings.h"
#include "cli.h"

int cli_functions(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: scalanytics functions\n\nLists every function an ANALOG program can call:"
               " name, arguments, kind\n(pure or stateful) and a one-line summary. Names match"
               " case-insensitively.\nThen the settings (`run --set NAME=VALUE`): name, value,"
               " range and what it bounds.\n");
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
    printf("\nsettings (scalanytics run --set NAME=VALUE, or --config FILE):\n");
    for (unsigned i = 0; i < analog_setting_count(); i++) {
        int64_t v;
        const analog_setting_def *d = analog_setting_at(i, &v);
        printf("%-28s %12lld  [%lld..%lld %s]  %s\n", d->name, (long long)v, (long long)d->min,
               (long long)d->max, d->unit ? d->unit : "", d->summary ? d->summary : "");
    }
    return 0;
}
