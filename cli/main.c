/*
 * main.c -- the `scalanytics` command: dispatches to sub-commands.
 *
 * Each sub-command lives in its own file and has the signature of
 * cli_command_fn; main() only finds it and reports usage errors.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"run", cli_run, "run ANALOG programs on input tuples, outputs as JSON lines"},
    {"check", cli_check, "parse and check ANALOG programs, print their plans"},
    {"plan", cli_plan, "print the pipelines programs compile to (--dot: Graphviz)"},
    {"listen", cli_listen, "print what a `run --publish` publishes"},
    {"functions", cli_functions, "list the f_* functions programs can call"},
    {"demo", cli_demo, "run the runtime's synthetic 5-stage pipeline (self-checking)"},
    {"gen", cli_gen, "write synthetic traces with ground truth (gen smtp)"},
    {"train-bayes", cli_train_bayes, "train a naive Bayes mail classifier (spam/ham, ...)"},
    {"classify", cli_classify, "classify mail files with a train-bayes model"},
    {"train-svm", cli_train_svm, "train and evaluate the DoS detector of f_DetectAttack (KDD)"},
    {"keygen", cli_keygen, "write a CurveZMQ key pair for a node of a deployment"},
};

/** Prints the top-level help. */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: scalanytics [--help] [--version] COMMAND [ARGS]\n"
            "\n"
            "Stateful, parallel, application-layer traffic analysis.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'scalanytics COMMAND --help' explains a command and its options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("scalanytics %s\n", CLI_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "scalanytics: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
