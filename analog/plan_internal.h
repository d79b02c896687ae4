/*
 * plan_internal.h -- the plan's structures, shared by planner.c (which
 * builds them) and eval.c (which runs them).
 *
 * Not for use outside analog/planner.c and analog/eval.c. The structs
 * live here rather than in one .c file because the evaluator's hot path
 * walks them directly and must not pay for accessors.
 *
 * Invariants:
 *  - a plan is immutable once analog_plan_new returns, except for the
 *    counters (atomics, relaxed) and the lane state tables;
 *  - every variable is a slot index: no name is looked up at run time;
 *  - a lane's state table is touched only by the worker running that
 *    lane (the runtime runs a lane on one worker at a time), so it has
 *    no lock; the lane directory's chunks are published by CAS.
 */
#ifndef ANALOG_PLAN_INTERNAL_H
#define ANALOG_PLAN_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "analog/ast.h"
#include "analog/functions.h"
#include "analog/planner.h"
#include "proto/tuple.h"

#define ANALOG_MAX_DERIVATIONS 10000 /* default of eval.max_derivations */
#define ANALOG_STATE_CAP 65536       /* default of eval.state_entries (per lane) */
#define ANALOG_STATE_IDLE_S 300      /* default of eval.state_idle_seconds */
#define ANALOG_HEARTBEAT_LANES 64    /* default of eval.heartbeat_lanes */
#define ANALOG_LANE_CHUNK 256        /* lanes per directory chunk */
#define ANALOG_LANE_CHUNKS 1024      /* => at most 262144 lanes hold state */
#define ANALOG_STACK_SLOTS 64        /* slots kept on the stack */

typedef enum plan_expr_kind {
    PX_CONST, /* a pre-built value */
    PX_SLOT,  /* a bound variable */
    PX_CALL,  /* a function call site */
    PX_BIN,   /* + - * / % */
    PX_NEG,
} plan_expr_kind;

typedef struct plan_call plan_call;
typedef struct plan_expr plan_expr;

struct plan_expr {
    plan_expr_kind kind;
    analog_pos pos;
    sx_value val;            /* PX_CONST */
    uint32_t slot;           /* PX_SLOT */
    plan_call *call;         /* PX_CALL */
    char op;                 /* PX_BIN */
    plan_expr *lhs, *rhs;    /* PX_BIN; PX_NEG uses lhs */
};

/* One call site: the function, its prepared constants, its counters. */
struct plan_call {
    const analog_fn_def *def;
    void *prepared;
    plan_expr **args;
    uint32_t nargs;
    analog_pos pos;
    uint32_t site;           /* index among the component's call sites */
    /* the call is the whole right side of an assignment: where a rule
     * goes on from when the function's drain hook gives a value */
    bool resumable;
    uint32_t rule, step;     /* its rule (in the component) and step */
    uint32_t *resume_slots;  /* slots bound before it and used after it */
    uint32_t nresume;
    atomic_ullong errors;
    atomic_bool reported;    /* first error message printed */
};

typedef enum plan_step_kind {
    PS_BIND_ARG,  /* slot := event arg */
    PS_TEST_ARG,  /* event arg == expr */
    PS_ASSIGN,    /* slot := expr */
    PS_COMPARE,   /* lhs op rhs */
} plan_step_kind;

typedef struct plan_step {
    plan_step_kind kind;
    analog_pos pos;
    uint32_t arg;            /* event argument index (BIND_ARG, TEST_ARG) */
    uint32_t slot;           /* BIND_ARG, ASSIGN */
    analog_term_op op;       /* COMPARE (ASSIGN/DEFINE mean EQ here) */
    plan_expr *lhs, *rhs;    /* TEST_ARG uses rhs; ASSIGN rhs; COMPARE both */
    bool multi;              /* ASSIGN of an ANALOG_FN_MULTI call: once per item */
} plan_step;

typedef struct plan_rule {
    const char *label;       /* borrowed from the plan's copy */
    analog_pos pos;
    sx_blob *trigger;        /* event relation */
    uint32_t arity;
    plan_step *steps;
    uint32_t nsteps;
    uint32_t nslots;
    char **slot_names;
    sx_blob *head_rel;
    plan_expr **head;
    uint32_t nhead;
    atomic_ullong fired;
    atomic_ullong tried;
} plan_rule;

typedef struct plan_key {
    sx_blob *rel;
    uint32_t index;          /* 1-based, @N is 1 */
} plan_key;

typedef struct lane_table lane_table;

typedef struct plan_comp {
    char *name;
    analog_kind kind;
    plan_key *keys;
    uint32_t nkeys;
    plan_rule *rules;
    uint32_t nrules;
    uint32_t max_slots;
    plan_call **calls;       /* every call site, in site order */
    uint32_t ncalls;
    bool stateful;           /* some call site keeps state */
    bool drains;             /* some call site's function has a drain hook */
    bool places;             /* some rule's head location is not the event's */
    sx_runtime *rt;          /* set by install: resolves node names */
    struct analog_plan *plan;
    /* counters */
    atomic_ullong fn_errors, type_errors, arith_errors;
    atomic_ullong cap_hits, cap_dropped;
    atomic_ullong state_new, state_evicted, state_expired, state_lane_refused;
    atomic_ullong inputs, outputs;
    /* lane state directory (stateful components only) */
    _Atomic(lane_table **) lanes[ANALOG_LANE_CHUNKS];
} plan_comp;

typedef struct plan_names {
    char *rel;
    char **names;
    uint32_t n;
} plan_names;

struct analog_plan {
    plan_comp *comps;
    uint32_t ncomps;
    plan_names *names;
    uint32_t nnames;
    char *file;
    unsigned workers;        /* for analog_fn_ctx.workers; 0 = unknown */
    /* settings, read once when the plan is made */
    uint32_t max_derivations; /* eval.max_derivations */
    uint32_t state_cap;       /* eval.state_entries */
    int64_t state_idle_ns;    /* eval.state_idle_seconds */
    uint32_t heartbeat_lanes; /* eval.heartbeat_lanes */
};

/** Frees every lane state table of c (calls state_free on each entry). */
void analog_eval_free_state(plan_comp *c);
/** Compares a and b for op (EQ, NE, LT, ...): *type_error is set for an
 *  ordering between kinds that do not order. */
bool analog_eval_compare(const sx_value *a, const sx_value *b, analog_term_op op, bool *type_error);

#endif
