/*
 * fn_call.h -- calls a registered ANALOG function from a test the way
 * the evaluator does: prepare with the constant arguments, call (with a
 * state, for stateful functions), free what prepare made. For the test
 * programs of functions/ (test_smtp.c, test_bayes.c).
 */
#ifndef SX_TESTS_FN_CALL_H
#define SX_TESTS_FN_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "analog/functions.h"
#include "tests/check.h"

/** Calls the function named name: bit i of const_mask says args[i] is a
 *  constant (prepare sees it), state is ctx->state; args stay the
 *  caller's, *result is the caller's to release. Returns the call's rc
 *  (0 or -1), or -2 when prepare refused the arguments (a plan error);
 *  any message is in err. */
static inline int fn_call(const char *name, const sx_value *args, uint32_t nargs,
                          unsigned const_mask, void *state, sx_value *result, char *err,
                          size_t errlen)
{
    const analog_fn_def *def = analog_fn_lookup(name);
    CHECK(def && (int)nargs >= def->min_args &&
              (def->max_args == ANALOG_FN_VARIADIC || (int)nargs <= def->max_args), name);
    bool is_const[8] = {false};
    for (uint32_t i = 0; i < nargs && i < 8; i++)
        is_const[i] = (const_mask >> i) & 1u;
    void *prepared = NULL;
    err[0] = 0;
    *result = (sx_value){.kind = SX_NULL};
    if (def->prepare && def->prepare(args, is_const, nargs, &prepared, err, errlen) != 0)
        return -2;
    analog_fn_ctx ctx = {.workers = 1, .prepared = prepared, .state = state, .err = err,
                         .errlen = errlen};
    int rc = def->call(&ctx, args, nargs, result);
    CHECK(rc == 0 || err[0], "a failing call leaves a message");
    if (prepared)
        def->prepared_free(prepared);
    return rc;
}

#endif
