/*
 * cli.h -- sub-commands of the `scalanytics` command.
 *
 * Exit status convention for every command: 0 success, 1 the work ran
 * but failed a check (or an error happened while running), 2 usage error.
 */
#ifndef SX_CLI_H
#define SX_CLI_H

#include <stdio.h>

#define CLI_VERSION "0.1.0"

typedef int (*cli_command_fn)(int argc, char **argv);

typedef struct cli_command {
    const char *name;
    cli_command_fn fn;
    const char *summary;
} cli_command;

/** `scalanytics demo`: see cli/demo.c. */
int cli_demo(int argc, char **argv);
/** `scalanytics check`: see cli/check.c. */
int cli_check(int argc, char **argv);
/** `scalanytics run`: see cli/run.c. */
int cli_run(int argc, char **argv);
/** `scalanytics listen`: see cli/listen.c. */
int cli_listen(int argc, char **argv);
/** `scalanytics plan`: see cli/plan.c. */
int cli_plan(int argc, char **argv);
/** `scalanytics functions`: see cli/functions.c. */
int cli_functions(int argc, char **argv);
/** `scalanytics gen`: see cli/gen.c. */
int cli_gen(int argc, char **argv);
/** `scalanytics train-bayes`: see cli/train_bayes.c. */
int cli_train_bayes(int argc, char **argv);
/** `scalanytics classify`: see cli/classify.c. */
int cli_classify(int argc, char **argv);
/** `scalanytics train-svm`: see cli/train_svm.c. */
int cli_train_svm(int argc, char **argv);
/** `scalanytics keygen`: see cli/keygen.c. */
int cli_keygen(int argc, char **argv);

#endif
