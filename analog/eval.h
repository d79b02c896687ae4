/*
 * eval.h -- the ANALOG rule evaluator: a plan component as a runtime
 * behaviour.
 *
 * analog_plan_install wires these up; they are public so a test or a
 * custom pipeline can call them with a component of a plan.
 */
#ifndef ANALOG_EVAL_H
#define ANALOG_EVAL_H

#include <stdint.h>

#include "actors/runtime.h"

/** sx_behaviour_fn: runs the rules of the plan component `comp` (a
 *  plan_comp from analog_plan_install) to a fixpoint on each tuple of
 *  in; consumed tuples vanish, outputs are moved to out in the order
 *  produced. Returns -1 when some rule failed with an error (function,
 *  type, arithmetic), 0 otherwise; out is complete either way. */
int analog_eval_behaviour(void *comp, const sx_activation *act, sx_batch *in, sx_batch *out);

/** sx_key_fn: the hash of the context key attribute of t when t's
 *  relation is one of comp's context_keys, else 0. */
uint64_t analog_eval_key(void *comp, const sx_tuple *t);

/** sx_place_fn: the node that t's location (@ attribute, a node name)
 *  names when it is another node of the deployment, else -1 (stay). */
int analog_eval_place(void *comp, const sx_tuple *t);

#endif
