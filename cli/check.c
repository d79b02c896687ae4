/*
 * check.c -- `scalanytics check PROGRAM...`: parse, check and plan each
 * program and print its plan. Nothing runs. Exit 0 when every program is
 * clean (warnings allowed), 1 when any has an error, 2 on bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "program.h"

/** Prints check's help. */
static void check_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics check [OPTIONS] PROGRAM...\n"
        "\n"
        "Parses and checks ANALOG programs and prints each one's plan: components,\n"
        "kinds, context keys, and every rule's trigger, slots and steps. Errors are\n"
        "reported as file:line:col: message, with the source line and a caret.\n"
        "\n"
        "options:\n"
        "  -p, --param NAME=VALUE  bind $NAME in the programs (repeatable)\n"
        "  -s, --source REL        a relation the first component may consume\n"
        "                          (repeatable; default: input, what capture produces)\n"
        "  -q, --quiet             print diagnostics only, not the plan\n"
        "  -h, --help              this help\n"
        "\n"
        "example: scalanytics check programs/smtp.analog --param PATTERN=hello\n");
}

int cli_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"param", required_argument, 0, 'p'}, {"source", required_argument, 0, 's'},
        {"quiet", no_argument, 0, 'q'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cli_program_opts o = {0};
    int quiet = 0, c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:s:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': if (cli_program_add_param(&o, "check", optarg)) rc = 2; break;
        case 's': cli_program_add_source(&o, optarg); break;
        case 'q': quiet = 1; break;
        case 'h': check_usage(stdout); cli_program_opts_free(&o); return 0;
        default: rc = 2;
        }
    }
    if (rc == 0 && optind >= argc) {
        fprintf(stderr, "scalanytics check: no PROGRAM given\n");
        rc = 2;
    }
    if (rc != 0) {
        check_usage(stderr);
        cli_program_opts_free(&o);
        return rc;
    }
    for (int i = optind; i < argc; i++) {
        cli_program prog;
        if (cli_program_load(argv[i], &o, &prog) != 0) {
            rc = 1;
            continue;
        }
        if (!quiet) {
            printf("# %s\n", argv[i]);
            analog_plan_print(prog.plan, stdout);
        }
        cli_program_free(&prog);
    }
    cli_program_opts_free(&o);
    return rc;
}
