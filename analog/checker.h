/*
 * checker.h -- the semantic checks of an ANALOG program.
 *
 * Runs on a tree from analog_parse and reports every problem to the
 * diag at the offending item: unknown functions and wrong arities,
 * variables used before they are bound, unbound head variables,
 * undefined $PARAMs, bad context keys, components that consume nothing
 * their predecessor emits, duplicate labels and component names, and
 * relations used with different arities. It also marks the terms that
 * bind a variable (analog_term.binds) for the planner.
 */
#ifndef ANALOG_CHECKER_H
#define ANALOG_CHECKER_H

#include <stddef.h>

#include "analog/ast.h"
#include "analog/diag.h"

/** Checks p. params are the names given with --param (without '$');
 *  sources the relations the first component receives (the capture's
 *  "input" by default). Returns the number of errors added to d. */
int analog_check(analog_program *p, const char *const *params, size_t nparams,
                 const char *const *sources, size_t nsources, analog_diag *d);

#endif
