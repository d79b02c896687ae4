/*
 * functions.h -- the registry of ANALOG functions (f_name).
 *
 * A component author adds a function in one file under functions/: fill
 * an analog_fn_def and register it with ANALOG_FN_REGISTER(def); nothing
 * central changes. Names match case-insensitively ("f_processIpFrag" and
 * "f_ProcessIpFrag" are one function).
 *
 * Calling convention: arguments and the result are sx_values
 * (proto/value.h). The result is owned by the caller. A function that
 * fails (bad argument type, ...) writes a message to ctx->err and returns
 * -1; the evaluator counts it and the rule does not fire.
 *
 * Constant arguments (e.g. a regex pattern) can be prepared once at plan
 * time by def->prepare; the prepared object is shared read-only by all
 * threads and reaches every call as ctx->prepared.
 *
 * Stateful functions keep state per context key: the evaluator creates
 * it with state_new on the first call for a key (in that key's lane, so
 * no lock is needed), passes it as ctx->state, and frees it with
 * state_free when idle longer than idle_timeout_ns of packet time, when
 * the table cap evicts it, or at the end of the run.
 */
#ifndef ANALOG_FUNCTIONS_H
#define ANALOG_FUNCTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/value.h"

enum {
    ANALOG_FN_PURE = 1u << 0,     /* result depends on the arguments only */
    ANALOG_FN_STATEFUL = 1u << 1, /* keeps per-context-key state */
    /* the result is a list and the rule fires once per item, in order
     * (not at all for an empty list); the call must be the whole right
     * side of an assignment, V = f(...) */
    ANALOG_FN_MULTI = 1u << 2,
    ANALOG_FN_VARIADIC = -1,      /* max_args: no upper bound */
};

typedef struct analog_fn_ctx {
    unsigned worker;  /* index of the running worker (per-thread scratch) */
    unsigned workers; /* number of workers */
    int64_t now_ns;   /* packet time of the token being processed */
    void *prepared;   /* def->prepare's result, or NULL */
    void *state;      /* stateful: this context key's state */
    char *err;        /* where a failing call writes its message */
    size_t errlen;
} analog_fn_ctx;

typedef int (*analog_fn_call)(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                              sx_value *result);

typedef struct analog_fn_def {
    const char *name; /* "f_match" */
    int min_args;
    int max_args; /* or ANALOG_FN_VARIADIC */
    unsigned flags;
    analog_fn_call call;
    /* optional: prepare constant arguments once at plan time.
     * is_const[i] says whether args[i] is a constant; return 0 and set
     * *prepared, or -1 with a message in err (a plan error). */
    int (*prepare)(const sx_value *args, const bool *is_const, uint32_t nargs, void **prepared,
                   char *err, size_t errlen);
    void (*prepared_free)(void *prepared);
    /* stateful functions */
    void *(*state_new)(void);
    void (*state_free)(void *state);
    int64_t idle_timeout_ns;
    /* optional, stateful functions: what falls due without an input (a
     * call that timed out). Called with ctx->state at every heartbeat
     * (ctx->now_ns its packet time; final false) and once more with
     * final true just before the state is freed (idle expiry, eviction,
     * end of input). Leaves *result null when nothing is due, else sets
     * it like a call's result (a list for ANALOG_FN_MULTI): the rule
     * then goes on from the call as if the call had returned it, with
     * the variables bound at the state's last call. Returns 1 when the
     * state is finished and may be freed now, 0 to keep it, -1 with a
     * message in ctx->err. The call must be the whole right side of an
     * assignment, V = f(...). */
    int (*drain)(analog_fn_ctx *ctx, bool final, sx_value *result);
    const char *summary; /* one line for `scalanytics functions` */
} analog_fn_def;

/** Registers def (it must stay valid for the program's life). Returns 0,
 *  or -1 if a function of that name (case-insensitively) exists. */
int analog_fn_register(const analog_fn_def *def);
/** The function named name (any case), or NULL. */
const analog_fn_def *analog_fn_lookup(const char *name);
/** Number of registered functions; analog_fn_at(i) lists them sorted by
 *  name. */
unsigned analog_fn_count(void);
const analog_fn_def *analog_fn_at(unsigned i);

/** Registers a definition at program start-up from the file that
 *  defines it (functions/ is linked as an object library, so every
 *  file's registration runs). */
#define ANALOG_FN_REGISTER(def)                                                                 \
    __attribute__((constructor)) static void analog_fn_register_##def(void)                     \
    {                                                                                           \
        if (analog_fn_register(&def) != 0)                                                      \
            analog_fn_duplicate(def.name);                                                      \
    }

/** Reports a refused registration -- a duplicate name, an incomplete
 *  definition or a full table: a build defect -- and aborts. */
_Noreturn void analog_fn_duplicate(const char *name);

#endif
