/*
 * planner.h -- compiles a checked ANALOG program into an executable plan
 * and installs it into a runtime pipeline.
 *
 *     analog_plan *plan = analog_plan_new(prog, names, values, n, diag);
 *     analog_plan_install(plan, pipeline, err, sizeof err);   one actor per component
 *     ... run the pipeline ...
 *     analog_plan_print_stats(plan, stderr);
 *     analog_plan_destroy(&plan);     after the runtime is destroyed
 *
 * The plan resolves variables to slot indexes, builds constants and
 * $PARAMs into values once, and prepares constant function arguments
 * once; the evaluator (eval.h) runs it. The plan does not keep the
 * program: the program may be destroyed after analog_plan_new.
 */
#ifndef ANALOG_PLANNER_H
#define ANALOG_PLANNER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "actors/runtime.h"
#include "analog/ast.h"
#include "analog/diag.h"

typedef struct analog_plan analog_plan;

/** Plans p, which must have been parsed and checked without errors.
 *  $NAME is bound to param_values[i] where param_names[i] is NAME: as an
 *  int when the whole value parses as a decimal integer, else as a float
 *  when the whole value parses as one (strtod), else as a string.
 *  Returns the plan (the caller owns it: analog_plan_destroy), or NULL
 *  with the errors in d (a stateful function in a parallel component, a
 *  function's prepare refusing its constant arguments, a missing
 *  $PARAM). */
analog_plan *analog_plan_new(const analog_program *p, const char *const *param_names,
                             const char *const *param_values, size_t nparams, analog_diag *d);

/** Appends one actor per component to pl (the evaluator as behaviour,
 *  the plan as its argument, a key function for context kinds). The plan
 *  must outlive the runtime. 0, or -1 with a message in err. */
int analog_plan_install(analog_plan *plan, sx_pipeline *pl, char *err, size_t errlen);

/** Tells the plan how many workers the runtime runs (sx_runtime_threads),
 *  passed to functions as analog_fn_ctx.workers. Call before the runtime
 *  starts; until then functions see 0 ("unknown"). */
void analog_plan_set_workers(analog_plan *plan, unsigned workers);

/** Attribute names of relation rel, *n of them: as written in the first
 *  head that emits rel (variable names; "@N" for a location variable N;
 *  "_I" for a constant or an expression at 1-based position I), else as
 *  written in the first event atom that mentions it; NULL if no atom
 *  does. The array belongs to the plan. */
const char *const *analog_plan_attr_names(const analog_plan *plan, const char *rel, uint32_t *n);

/** Prints the plan: components, kinds, context keys, rules with their
 *  trigger, slots and steps (for `scalanytics check`). */
void analog_plan_print(const analog_plan *plan, FILE *f);
/** Prints the counters: per rule tried/fired, per component function,
 *  type and arithmetic errors, derivation-cap hits, state tables. */
void analog_plan_print_stats(const analog_plan *plan, FILE *f);

/** Counters of one component, summed (for tests and summaries). */
typedef struct analog_plan_stats {
    uint64_t inputs, outputs, fired;
    uint64_t fn_errors, type_errors, arith_errors;
    uint64_t cap_hits, cap_dropped;
    uint64_t state_new, state_evicted, state_expired;
} analog_plan_stats;
/** Fills *out with component i's counters; -1 if there is no such one. */
int analog_plan_stats_get(const analog_plan *plan, uint32_t comp, analog_plan_stats *out);

/** Frees the plan, its prepared objects and all function state; nulls
 *  *plan. Destroy the runtime first. */
void analog_plan_destroy(analog_plan **plan);

#endif
