/*
 * planner.c -- compiles a checked ANALOG program into a plan (see
 * planner.h) and installs it into a runtime pipeline.
 *
 * Design: each rule becomes a flat list of steps over a slot array.
 * The event atom's arguments come first (a first occurrence of a
 * variable binds a slot, a repeat or a constant tests equality), then
 * the terms left to right (an assignment when the checker marked it
 * `binds`, else a comparison), then the head's argument expressions.
 * Variables are resolved to slots here, once; constants and $PARAMs
 * become pre-built values; each function call site keeps its
 * definition and the result of def->prepare for its constant arguments.
 *
 * Invariants: the plan owns copies of every name it keeps (the program
 * may be destroyed after planning); stateful functions appear only in
 * context-ordered or serial components, so their state is per lane and
 * needs no lock (eval.c).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analog/eval.h"
#include "analog/plan_internal.h"
#include "analog/planner.h"
#include "analog/settings.h"

/* The evaluator's settings (analog/settings.h), read when a plan is made. */
static const analog_setting_def max_derivations_setting = {
    .name = "eval.max_derivations", .def = ANALOG_MAX_DERIVATIONS, .min = 1, .max = 10000000,
    .unit = "tuples",
    .summary = "tuples a component may derive from one input before the rest are dropped"};
ANALOG_SETTING_REGISTER(max_derivations_setting)
static const analog_setting_def state_entries_setting = {
    .name = "eval.state_entries", .def = ANALOG_STATE_CAP, .min = 1, .max = 1 << 24,
    .unit = "entries",
    .summary = "stateful-function entries per key lane; the least recently used is evicted"};
ANALOG_SETTING_REGISTER(state_entries_setting)
static const analog_setting_def state_idle_setting = {
    .name = "eval.state_idle_seconds", .def = ANALOG_STATE_IDLE_S, .min = 1, .max = 86400 * 365,
    .unit = "seconds",
    .summary = "packet time after which idle function state is freed (unless the function sets its own)"};
ANALOG_SETTING_REGISTER(state_idle_setting)
static const analog_setting_def heartbeat_lanes_setting = {
    .name = "eval.heartbeat_lanes", .def = ANALOG_HEARTBEAT_LANES, .min = 1, .max = 1 << 20,
    .unit = "lanes",
    .summary = "key lanes each heartbeat visits in turn in a component whose functions drain "
               "(a timeout is reported within used lanes / this many heartbeats)"};
ANALOG_SETTING_REGISTER(heartbeat_lanes_setting)

/* The planner's working state while one program is planned. */
typedef struct planner {
    const analog_program *prog;
    const char *const *pnames, *const *pvalues;
    size_t nparams;
    analog_diag *d;
    int errors;
    plan_comp *comp;      /* the component being planned */
    plan_rule *rule;      /* the rule being planned */
    uint32_t slot_cap;
    uint32_t calls_cap;
} planner;

/** Reports a plan error at pos. */
#define PLAN_ERROR(pl, pos, ...)                                                              \
    do {                                                                                      \
        analog_diag_error((pl)->d, (pos).line, (pos).col, __VA_ARGS__);                       \
        (pl)->errors++;                                                                       \
    } while (0)

/** strdup that aborts on out-of-memory: the plan is built once at start-up. */
static char *xstrdup(const char *s)
{
    char *c = strdup(s);
    if (!c)
        abort();
    return c;
}

/** calloc that aborts on out-of-memory (plan time only). */
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

/** realloc that aborts on out-of-memory (plan time only). */
static void *xrealloc(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n ? n : 1) * size);
    if (!q)
        abort();
    return q;
}

/* ---- parameters ---- */

/** The value of --param text: an int if it all parses as one, else a
 *  float if it all parses as one, else a string (so " 3" stays a
 *  string: no leading space is skipped). */
static sx_value param_value(const char *text)
{
    if (!*text || isspace((unsigned char)*text)) /* strtoll/strtod would skip it */
        return sx_value_cstr(text);
    char *end;
    errno = 0;
    long long i = strtoll(text, &end, 10);
    if (!*end && errno == 0)
        return sx_value_int(i);
    errno = 0;
    double f = strtod(text, &end);
    if (!*end && errno == 0)
        return sx_value_float(f);
    return sx_value_cstr(text);
}

/** Binds $name: 0 with *out set, or -1 if no --param names it. */
static int param_lookup(const planner *pl, const char *name, sx_value *out)
{
    for (size_t i = 0; i < pl->nparams; i++) {
        if (!strcmp(pl->pnames[i], name)) {
            *out = param_value(pl->pvalues[i]);
            return 0;
        }
    }
    return -1;
}

/* ---- slots ---- */

/** The slot of variable name in the current rule, or UINT32_MAX. */
static uint32_t slot_find(const planner *pl, const char *name)
{
    for (uint32_t i = 0; i < pl->rule->nslots; i++)
        if (!strcmp(pl->rule->slot_names[i], name))
            return i;
    return UINT32_MAX;
}

/** A new slot for variable name in the current rule. */
static uint32_t slot_add(planner *pl, const char *name)
{
    plan_rule *r = pl->rule;
    if (r->nslots == pl->slot_cap) {
        pl->slot_cap = pl->slot_cap ? pl->slot_cap * 2 : 8;
        r->slot_names = xrealloc(r->slot_names, pl->slot_cap, sizeof *r->slot_names);
    }
    r->slot_names[r->nslots] = xstrdup(name);
    return r->nslots++;
}

/* ---- expressions ---- */

static plan_expr *plan_expr_build(planner *pl, const analog_expr *e);

/** Frees a plan expression tree (NULL is fine). */
static void plan_expr_free(plan_expr *x)
{
    if (!x)
        return;
    sx_value_release(&x->val);
    plan_expr_free(x->lhs);
    plan_expr_free(x->rhs);
    free(x);
}

/** Frees a call site: its arguments and prepared object. */
static void plan_call_free(plan_call *c)
{
    for (uint32_t i = 0; i < c->nargs; i++)
        plan_expr_free(c->args[i]);
    free(c->args);
    free(c->resume_slots);
    if (c->prepared && c->def->prepared_free)
        c->def->prepared_free(c->prepared);
    free(c);
}

/** A constant node holding v (taken). */
static plan_expr *const_expr(analog_pos pos, sx_value v)
{
    plan_expr *x = xcalloc(1, sizeof *x);
    x->kind = PX_CONST;
    x->pos = pos;
    x->val = v;
    return x;
}

/** Calls def->prepare with the constant arguments of site c. */
static void call_prepare(planner *pl, plan_call *c)
{
    if (!c->def->prepare)
        return;
    sx_value *vals = xcalloc(c->nargs, sizeof *vals);
    bool *is_const = xcalloc(c->nargs, sizeof *is_const);
    for (uint32_t i = 0; i < c->nargs; i++) {
        is_const[i] = c->args[i]->kind == PX_CONST;
        if (is_const[i])
            vals[i] = c->args[i]->val; /* lent */
    }
    char err[256] = "";
    if (c->def->prepare(vals, is_const, c->nargs, &c->prepared, err, sizeof err) != 0) {
        PLAN_ERROR(pl, c->pos, "%s: %s", c->def->name, err[0] ? err : "cannot prepare arguments");
        c->prepared = NULL;
    }
    free(vals);
    free(is_const);
}

/** Registers call site c with the current component. */
static void call_register(planner *pl, plan_call *c)
{
    plan_comp *comp = pl->comp;
    if (comp->ncalls == pl->calls_cap) {
        pl->calls_cap = pl->calls_cap ? pl->calls_cap * 2 : 8;
        comp->calls = xrealloc(comp->calls, pl->calls_cap, sizeof *comp->calls);
    }
    c->site = comp->ncalls;
    comp->calls[comp->ncalls++] = c;
}

/** Checks that a stateful function sits in a component that orders by key. */
static void call_check_stateful(planner *pl, const plan_call *c)
{
    if (!(c->def->flags & ANALOG_FN_STATEFUL))
        return;
    pl->comp->stateful = true;
    if (c->def->drain)
        pl->comp->drains = true;
    if (pl->comp->kind == ANALOG_PARALLEL)
        PLAN_ERROR(pl, c->pos,
                   "%s keeps state per context key, but component '%s' is parallel: use "
                   "parallel_context_order with context_keys(...) (or serial_context_order, "
                   "or serial)",
                   c->def->name, pl->comp->name);
}

/** call -> f_name(args): a call site with prepared constant arguments. */
static plan_expr *call_build(planner *pl, const analog_expr *e)
{
    const analog_fn_def *def = analog_fn_lookup(e->u.call.name);
    if (!def) {
        PLAN_ERROR(pl, e->pos, "unknown function '%s'", e->u.call.name);
        return NULL;
    }
    plan_call *c = xcalloc(1, sizeof *c);
    c->def = def;
    c->pos = e->pos;
    c->nargs = e->u.call.nargs;
    c->args = xcalloc(c->nargs, sizeof *c->args);
    bool ok = true;
    for (uint32_t i = 0; i < c->nargs; i++)
        ok = (c->args[i] = plan_expr_build(pl, e->u.call.args[i])) != NULL && ok;
    if (!ok) {
        plan_call_free(c);
        return NULL;
    }
    call_prepare(pl, c);
    call_check_stateful(pl, c);
    call_register(pl, c);
    plan_expr *x = xcalloc(1, sizeof *x);
    x->kind = PX_CALL;
    x->pos = e->pos;
    x->call = c;
    return x;
}

/** A negation; a constant number is folded. */
static plan_expr *neg_build(planner *pl, const analog_expr *e)
{
    plan_expr *o = plan_expr_build(pl, e->u.operand);
    if (!o)
        return NULL;
    if (o->kind == PX_CONST && o->val.kind == SX_INT && o->val.u.i != INT64_MIN) {
        o->val.u.i = -o->val.u.i;
        return o;
    }
    if (o->kind == PX_CONST && o->val.kind == SX_FLOAT) {
        o->val.u.f = -o->val.u.f;
        return o;
    }
    plan_expr *x = xcalloc(1, sizeof *x);
    x->kind = PX_NEG;
    x->pos = e->pos;
    x->lhs = o;
    return x;
}

/** A binary arithmetic node. */
static plan_expr *bin_build(planner *pl, const analog_expr *e)
{
    plan_expr *l = plan_expr_build(pl, e->u.bin.lhs);
    plan_expr *r = plan_expr_build(pl, e->u.bin.rhs);
    if (!l || !r) {
        plan_expr_free(l);
        plan_expr_free(r);
        return NULL;
    }
    plan_expr *x = xcalloc(1, sizeof *x);
    x->kind = PX_BIN;
    x->pos = e->pos;
    x->op = e->u.bin.op;
    x->lhs = l;
    x->rhs = r;
    return x;
}

/** Builds the plan form of e (variables must be bound already). */
static plan_expr *plan_expr_build(planner *pl, const analog_expr *e)
{
    switch (e->kind) {
    case ANALOG_E_INT:
        return const_expr(e->pos, sx_value_int(e->u.i));
    case ANALOG_E_FLOAT:
        return const_expr(e->pos, sx_value_float(e->u.f));
    case ANALOG_E_STRING:
        return const_expr(e->pos, sx_value_str(e->u.str.bytes, e->u.str.len));
    case ANALOG_E_PARAM: {
        sx_value v;
        if (param_lookup(pl, e->u.name, &v) != 0) {
            PLAN_ERROR(pl, e->pos, "parameter $%s is not given (--param %s=VALUE)", e->u.name,
                       e->u.name);
            return NULL;
        }
        return const_expr(e->pos, v);
    }
    case ANALOG_E_VAR: {
        uint32_t s = slot_find(pl, e->u.name);
        if (s == UINT32_MAX) {
            PLAN_ERROR(pl, e->pos, "variable '%s' is used before it is bound", e->u.name);
            return NULL;
        }
        plan_expr *x = xcalloc(1, sizeof *x);
        x->kind = PX_SLOT;
        x->pos = e->pos;
        x->slot = s;
        return x;
    }
    case ANALOG_E_CALL:
        return call_build(pl, e);
    case ANALOG_E_BINARY:
        return bin_build(pl, e);
    case ANALOG_E_NEG:
        return neg_build(pl, e);
    }
    PLAN_ERROR(pl, e->pos, "unknown expression");
    return NULL;
}

/* ---- rules ---- */

/** Appends a step to the current rule and returns it (zeroed). */
static plan_step *step_add(planner *pl, uint32_t *cap)
{
    plan_rule *r = pl->rule;
    if (r->nsteps == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        r->steps = xrealloc(r->steps, *cap, sizeof *r->steps);
    }
    plan_step *s = &r->steps[r->nsteps++];
    memset(s, 0, sizeof *s);
    return s;
}

/** event atom: a first variable binds a slot, anything else tests equality. */
static void event_steps(planner *pl, const analog_atom *a, uint32_t *cap)
{
    for (uint32_t i = 0; i < a->nargs; i++) {
        const analog_expr *e = a->args[i];
        plan_step *s;
        if (e->kind == ANALOG_E_VAR && slot_find(pl, e->u.name) == UINT32_MAX) {
            s = step_add(pl, cap);
            s->kind = PS_BIND_ARG;
            s->slot = slot_add(pl, e->u.name);
        } else {
            plan_expr *x = plan_expr_build(pl, e);
            if (!x)
                continue;
            s = step_add(pl, cap);
            s->kind = PS_TEST_ARG;
            s->rhs = x;
        }
        s->pos = e->pos;
        s->arg = i;
    }
}

/** terms: an assignment into a slot when the term binds, else a comparison. */
static void term_steps(planner *pl, const analog_rule *ar, uint32_t *cap)
{
    for (uint32_t i = 0; i < ar->nterms; i++) {
        const analog_term *t = &ar->terms[i];
        plan_expr *rhs = plan_expr_build(pl, t->rhs);
        if (t->binds) {
            if (!rhs)
                continue;
            plan_step *s = step_add(pl, cap);
            s->kind = PS_ASSIGN;
            s->pos = t->pos;
            s->rhs = rhs;
            s->slot = slot_add(pl, t->lhs->u.name);
            continue;
        }
        plan_expr *lhs = plan_expr_build(pl, t->lhs);
        if (!lhs || !rhs) {
            plan_expr_free(lhs);
            plan_expr_free(rhs);
            continue;
        }
        plan_step *s = step_add(pl, cap);
        s->kind = PS_COMPARE;
        s->pos = t->pos;
        s->op = t->op;
        s->lhs = lhs;
        s->rhs = rhs;
    }
}

/** True when calls of def must be the whole right side of an assignment
 *  (their values go on from the call: lists, or drained later). */
static bool call_needs_assign(const analog_fn_def *def)
{
    return (def->flags & ANALOG_FN_MULTI) || def->drain;
}

/** Reports calls inside x that must stand alone in an assignment. */
static void expr_check_nested(planner *pl, const plan_expr *x)
{
    if (!x)
        return;
    if (x->kind == PX_CALL) {
        if (call_needs_assign(x->call->def))
            PLAN_ERROR(pl, x->pos,
                       "%s must be the whole right side of an assignment (V = %s(...))",
                       x->call->def->name, x->call->def->name);
        for (uint32_t i = 0; i < x->call->nargs; i++)
            expr_check_nested(pl, x->call->args[i]);
        return;
    }
    expr_check_nested(pl, x->lhs);
    expr_check_nested(pl, x->rhs);
}

/** Marks in used[] every slot x reads. */
static void expr_mark_slots(const plan_expr *x, bool *used)
{
    if (!x)
        return;
    if (x->kind == PX_SLOT)
        used[x->slot] = true;
    if (x->kind == PX_CALL)
        for (uint32_t i = 0; i < x->call->nargs; i++)
            expr_mark_slots(x->call->args[i], used);
    expr_mark_slots(x->lhs, used);
    expr_mark_slots(x->rhs, used);
}

/** Makes the call of assignment step k of rule r (rule index ri)
 *  resumable: records where it is and which slots bound before it the
 *  steps after it and the head read. */
static void call_resume_plan(plan_rule *r, uint32_t ri, uint32_t k)
{
    plan_call *c = r->steps[k].rhs->call;
    c->resumable = true;
    c->rule = ri;
    c->step = k;
    bool *used = xcalloc(r->nslots ? r->nslots : 1, sizeof *used);
    for (uint32_t i = k + 1; i < r->nsteps; i++) {
        expr_mark_slots(r->steps[i].lhs, used);
        expr_mark_slots(r->steps[i].rhs, used);
    }
    for (uint32_t i = 0; i < r->nhead; i++)
        expr_mark_slots(r->head[i], used);
    c->resume_slots = xcalloc(k + 1, sizeof *c->resume_slots);
    for (uint32_t i = 0; i < k; i++) {
        const plan_step *s = &r->steps[i];
        if ((s->kind == PS_BIND_ARG || s->kind == PS_ASSIGN) && used[s->slot])
            c->resume_slots[c->nresume++] = s->slot;
    }
    free(used);
}

/** After rule r (index ri) is planned: assignments of a call become
 *  resumable; calls needing that anywhere else are errors. */
static void rule_calls_check(planner *pl, plan_rule *r, uint32_t ri)
{
    for (uint32_t k = 0; k < r->nsteps; k++) {
        plan_step *s = &r->steps[k];
        if (s->kind == PS_ASSIGN && s->rhs && s->rhs->kind == PX_CALL) {
            plan_call *c = s->rhs->call;
            s->multi = (c->def->flags & ANALOG_FN_MULTI) != 0;
            if (c->def->drain)
                call_resume_plan(r, ri, k);
            for (uint32_t i = 0; i < c->nargs; i++)
                expr_check_nested(pl, c->args[i]);
            continue;
        }
        expr_check_nested(pl, s->lhs);
        expr_check_nested(pl, s->rhs);
    }
    for (uint32_t i = 0; i < r->nhead; i++)
        expr_check_nested(pl, r->head[i]);
}

/** Plans rule ar into r. */
static void rule_build(planner *pl, const analog_rule *ar, plan_rule *r)
{
    pl->rule = r;
    pl->slot_cap = 0;
    uint32_t cap = 0;
    r->pos = ar->pos;
    r->trigger = sx_blob_new(ar->event.rel, strlen(ar->event.rel));
    r->arity = ar->event.nargs;
    event_steps(pl, &ar->event, &cap);
    term_steps(pl, ar, &cap);
    r->head_rel = sx_blob_new(ar->head.rel, strlen(ar->head.rel));
    r->nhead = ar->head.nargs;
    r->head = xcalloc(r->nhead, sizeof *r->head);
    for (uint32_t i = 0; i < r->nhead; i++)
        r->head[i] = plan_expr_build(pl, ar->head.args[i]);
    if (r->nslots > pl->comp->max_slots)
        pl->comp->max_slots = r->nslots;
}

/** Frees what rule r owns. */
static void rule_free(plan_rule *r)
{
    for (uint32_t i = 0; i < r->nsteps; i++) {
        plan_expr_free(r->steps[i].lhs);
        plan_expr_free(r->steps[i].rhs);
    }
    free(r->steps);
    for (uint32_t i = 0; i < r->nslots; i++)
        free(r->slot_names[i]);
    free(r->slot_names);
    for (uint32_t i = 0; i < r->nhead; i++)
        plan_expr_free(r->head[i]);
    free(r->head);
    sx_blob_release(&r->trigger);
    sx_blob_release(&r->head_rel);
    free((char *)r->label);
}

/** Plans component ac into c. */
static void comp_build(planner *pl, const analog_component *ac, plan_comp *c)
{
    pl->comp = c;
    pl->calls_cap = 0;
    c->name = xstrdup(ac->name);
    c->kind = ac->kind;
    c->nkeys = ac->nkeys;
    c->keys = xcalloc(c->nkeys, sizeof *c->keys);
    for (uint32_t i = 0; i < c->nkeys; i++) {
        c->keys[i].rel = sx_blob_new(ac->keys[i].rel, strlen(ac->keys[i].rel));
        c->keys[i].index = ac->keys[i].index;
    }
    c->nrules = ac->nrules;
    c->rules = xcalloc(c->nrules, sizeof *c->rules);
    for (uint32_t i = 0; i < c->nrules; i++) {
        rule_build(pl, &ac->rules[i], &c->rules[i]);
        rule_calls_check(pl, &c->rules[i], i);
        c->rules[i].label = xstrdup(ac->rules[i].label);
    }
}

/** Frees what component c owns, its function state included. */
static void comp_free(plan_comp *c)
{
    analog_eval_free_state(c);
    for (uint32_t i = 0; i < c->nrules; i++)
        rule_free(&c->rules[i]);
    free(c->rules);
    for (uint32_t i = 0; i < c->nkeys; i++)
        sx_blob_release(&c->keys[i].rel);
    free(c->keys);
    /* call sites belong to this list, not to the expressions naming them */
    for (uint32_t i = 0; i < c->ncalls; i++)
        plan_call_free(c->calls[i]);
    free(c->calls);
    free(c->name);
}

/* ---- attribute names ---- */

/** The names entry of rel, or NULL. */
static plan_names *names_find(const analog_plan *plan, const char *rel)
{
    for (uint32_t i = 0; i < plan->nnames; i++)
        if (!strcmp(plan->names[i].rel, rel))
            return &plan->names[i];
    return NULL;
}

/** Records the names of atom a's attributes unless rel has names already. */
static void names_note(analog_plan *plan, const analog_atom *a, uint32_t *cap)
{
    if (names_find(plan, a->rel))
        return;
    if (plan->nnames == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        plan->names = xrealloc(plan->names, *cap, sizeof *plan->names);
    }
    plan_names *pn = &plan->names[plan->nnames++];
    pn->rel = xstrdup(a->rel);
    pn->n = a->nargs;
    pn->names = xcalloc(a->nargs, sizeof *pn->names);
    for (uint32_t i = 0; i < a->nargs; i++) {
        const analog_expr *e = a->args[i];
        char buf[64];
        if (e->kind == ANALOG_E_VAR && e->is_location) {
            size_t len = strlen(e->u.name);
            pn->names[i] = xcalloc(len + 2, 1);
            pn->names[i][0] = '@';
            memcpy(pn->names[i] + 1, e->u.name, len);
            continue;
        }
        if (e->kind == ANALOG_E_VAR) {
            pn->names[i] = xstrdup(e->u.name);
            continue;
        }
        snprintf(buf, sizeof buf, "_%" PRIu32, i + 1);
        pn->names[i] = xstrdup(buf);
    }
}

/** Collects attribute names: heads first (program order), then events. */
static void names_collect(analog_plan *plan, const analog_program *p)
{
    uint32_t cap = 0;
    for (uint32_t i = 0; i < p->ncomps; i++)
        for (uint32_t j = 0; j < p->comps[i].nrules; j++)
            names_note(plan, &p->comps[i].rules[j].head, &cap);
    for (uint32_t i = 0; i < p->ncomps; i++)
        for (uint32_t j = 0; j < p->comps[i].nrules; j++)
            names_note(plan, &p->comps[i].rules[j].event, &cap);
}

const char *const *analog_plan_attr_names(const analog_plan *plan, const char *rel, uint32_t *n)
{
    const plan_names *pn = plan ? names_find(plan, rel) : NULL;
    *n = pn ? pn->n : 0;
    return pn ? (const char *const *)pn->names : NULL;
}

/* ---- the plan ---- */

analog_plan *analog_plan_new(const analog_program *p, const char *const *param_names,
                             const char *const *param_values, size_t nparams, analog_diag *d)
{
    planner pl = {.prog = p, .pnames = param_names, .pvalues = param_values,
                  .nparams = nparams, .d = d};
    analog_diag_set_source(d, p->file, p->src, p->len);
    analog_plan *plan = xcalloc(1, sizeof *plan);
    plan->file = xstrdup(p->file ? p->file : "");
    plan->max_derivations = (uint32_t)analog_setting_get(max_derivations_setting.name);
    plan->state_cap = (uint32_t)analog_setting_get(state_entries_setting.name);
    plan->state_idle_ns = analog_setting_get(state_idle_setting.name) * 1000000000LL;
    plan->heartbeat_lanes = (uint32_t)analog_setting_get(heartbeat_lanes_setting.name);
    plan->ncomps = p->ncomps;
    plan->comps = xcalloc(p->ncomps, sizeof *plan->comps);
    for (uint32_t i = 0; i < p->ncomps; i++) {
        plan->comps[i].plan = plan;
        comp_build(&pl, &p->comps[i], &plan->comps[i]);
    }
    names_collect(plan, p);
    if (pl.errors) {
        analog_plan_destroy(&plan);
        return NULL;
    }
    return plan;
}

void analog_plan_destroy(analog_plan **pp)
{
    analog_plan *plan = pp ? *pp : NULL;
    if (!plan)
        return;
    for (uint32_t i = 0; i < plan->ncomps; i++)
        comp_free(&plan->comps[i]);
    free(plan->comps);
    for (uint32_t i = 0; i < plan->nnames; i++) {
        for (uint32_t j = 0; j < plan->names[i].n; j++)
            free(plan->names[i].names[j]);
        free(plan->names[i].names);
        free(plan->names[i].rel);
    }
    free(plan->names);
    free(plan->file);
    free(plan);
    *pp = NULL;
}

void analog_plan_set_workers(analog_plan *plan, unsigned workers)
{
    plan->workers = workers;
}

/** The runtime kind of an ANALOG kind. */
static sx_order order_of(analog_kind k)
{
    switch (k) {
    case ANALOG_SERIAL: return SX_SERIAL;
    case ANALOG_PARALLEL: return SX_PARALLEL;
    case ANALOG_PARALLEL_CONTEXT_ORDER: return SX_PARALLEL_CONTEXT;
    case ANALOG_SERIAL_CONTEXT_ORDER: return SX_SERIAL_CONTEXT;
    }
    return SX_SERIAL;
}

/** True when r's head location is anything but the slot its event's
 *  location bound: the rule may place its tuple on another node. */
static bool rule_places(const plan_rule *r)
{
    if (r->nhead == 0)
        return false;
    const plan_expr *h = r->head[0];
    for (uint32_t s = 0; s < r->nsteps; s++)
        if (r->steps[s].kind == PS_BIND_ARG && r->steps[s].arg == 0)
            return h->kind != PX_SLOT || h->slot != r->steps[s].slot;
    return true;
}

/** Marks the components whose outputs may go to another node. */
static void mark_placing(analog_plan *plan)
{
    for (uint32_t i = 0; i < plan->ncomps; i++)
        for (uint32_t k = 0; k < plan->comps[i].nrules; k++)
            plan->comps[i].places |= rule_places(&plan->comps[i].rules[k]);
}

int analog_plan_install(analog_plan *plan, sx_pipeline *pl, char *err, size_t errlen)
{
    mark_placing(plan);
    sx_runtime *rt = sx_pipeline_runtime(pl);
    for (uint32_t i = 0; i < plan->ncomps; i++) {
        plan_comp *c = &plan->comps[i];
        c->rt = rt;
        sx_order kind = order_of(c->kind);
        sx_actor *a = sx_pipeline_add(pl, c->name, kind, analog_eval_behaviour, c);
        if (!a) {
            snprintf(err, errlen, "cannot add component '%s' to the pipeline", c->name);
            return -1;
        }
        if (kind == SX_PARALLEL_CONTEXT || kind == SX_SERIAL_CONTEXT)
            sx_actor_set_key(a, analog_eval_key, c);
        /* heartbeats let the state of draining functions fall due */
        sx_actor_set_heartbeat_lanes(a, c->drains ? plan->heartbeat_lanes : 0);
        if (c->places && sx_runtime_distributed(rt) &&
            sx_pipeline_set_placement(pl, i, analog_eval_place, c) != 0) {
            snprintf(err, errlen, "cannot place the outputs of component '%s'", c->name);
            return -1;
        }
    }
    return 0;
}

/* ---- printing ---- */

/** Prints a plan expression: slots as NAME#k, calls with their args. */
static void expr_print(const plan_rule *r, const plan_expr *x, FILE *f)
{
    switch (x->kind) {
    case PX_CONST:
        sx_value_print(f, &x->val);
        return;
    case PX_SLOT:
        fprintf(f, "%s#%" PRIu32, r->slot_names[x->slot], x->slot);
        return;
    case PX_CALL:
        fprintf(f, "%s(", x->call->def->name);
        for (uint32_t i = 0; i < x->call->nargs; i++) {
            fputs(i ? ", " : "", f);
            expr_print(r, x->call->args[i], f);
        }
        fprintf(f, ")%s%s", x->call->prepared ? " [prepared]" : "",
                x->call->def->flags & ANALOG_FN_STATEFUL ? " [stateful]" : "");
        return;
    case PX_BIN:
        fputc('(', f);
        expr_print(r, x->lhs, f);
        fprintf(f, " %c ", x->op);
        expr_print(r, x->rhs, f);
        fputc(')', f);
        return;
    case PX_NEG:
        fputs("-(", f);
        expr_print(r, x->lhs, f);
        fputc(')', f);
        return;
    }
}

/** The spelling of a comparison operator. */
static const char *op_name(analog_term_op op)
{
    switch (op) {
    case ANALOG_OP_NE: return "!=";
    case ANALOG_OP_LT: return "<";
    case ANALOG_OP_LE: return "<=";
    case ANALOG_OP_GT: return ">";
    case ANALOG_OP_GE: return ">=";
    default: return "==";
    }
}

/** Prints one step. */
static void step_print(const plan_rule *r, const plan_step *s, FILE *f)
{
    switch (s->kind) {
    case PS_BIND_ARG:
        fprintf(f, "bind   %s#%" PRIu32 " <- arg %" PRIu32, r->slot_names[s->slot], s->slot,
                s->arg + 1);
        break;
    case PS_TEST_ARG:
        fprintf(f, "test   arg %" PRIu32 " == ", s->arg + 1);
        expr_print(r, s->rhs, f);
        break;
    case PS_ASSIGN:
        fprintf(f, "assign %s#%" PRIu32 " := ", r->slot_names[s->slot], s->slot);
        expr_print(r, s->rhs, f);
        break;
    case PS_COMPARE:
        fputs("test   ", f);
        expr_print(r, s->lhs, f);
        fprintf(f, " %s ", op_name(s->op));
        expr_print(r, s->rhs, f);
        break;
    }
    fputc('\n', f);
}

/** Prints one rule: trigger, slots, steps, head. */
static void rule_print(const plan_rule *r, FILE *f)
{
    fprintf(f, "  rule %s (line %" PRIu32 "): on %s/%" PRIu32 ", %" PRIu32 " slots\n", r->label,
            r->pos.line, (const char *)r->trigger->data, r->arity, r->nslots);
    for (uint32_t i = 0; i < r->nsteps; i++) {
        fprintf(f, "    %2" PRIu32 ". ", i + 1);
        step_print(r, &r->steps[i], f);
    }
    fprintf(f, "    emit   %s(", (const char *)r->head_rel->data);
    for (uint32_t i = 0; i < r->nhead; i++) {
        fputs(i ? ", " : "", f);
        if (r->head[i])
            expr_print(r, r->head[i], f);
    }
    fputs(")\n", f);
}

void analog_plan_print(const analog_plan *plan, FILE *f)
{
    for (uint32_t i = 0; i < plan->ncomps; i++) {
        const plan_comp *c = &plan->comps[i];
        fprintf(f, "component %s: %s", c->name, analog_kind_name(c->kind));
        for (uint32_t k = 0; k < c->nkeys; k++)
            fprintf(f, "%s%s(%" PRIu32 ")", k ? ", " : ", context keys ",
                    (const char *)c->keys[k].rel->data, c->keys[k].index);
        fprintf(f, "; %" PRIu32 " rules, %" PRIu32 " call sites%s\n", c->nrules, c->ncalls,
                c->stateful ? ", keeps per-key state" : "");
        for (uint32_t j = 0; j < c->nrules; j++)
            rule_print(&c->rules[j], f);
    }
}

/** Loads a relaxed counter. */
static uint64_t ld(const atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

int analog_plan_stats_get(const analog_plan *plan, uint32_t comp, analog_plan_stats *out)
{
    if (!plan || comp >= plan->ncomps)
        return -1;
    const plan_comp *c = &plan->comps[comp];
    memset(out, 0, sizeof *out);
    for (uint32_t j = 0; j < c->nrules; j++)
        out->fired += ld(&c->rules[j].fired);
    out->inputs = ld(&c->inputs);
    out->outputs = ld(&c->outputs);
    out->fn_errors = ld(&c->fn_errors);
    out->type_errors = ld(&c->type_errors);
    out->arith_errors = ld(&c->arith_errors);
    out->cap_hits = ld(&c->cap_hits);
    out->cap_dropped = ld(&c->cap_dropped);
    out->state_new = ld(&c->state_new);
    out->state_evicted = ld(&c->state_evicted);
    out->state_expired = ld(&c->state_expired);
    return 0;
}

void analog_plan_print_stats(const analog_plan *plan, FILE *f)
{
    fprintf(f, "%-24s %-16s %12s %12s\n", "component", "rule", "tried", "fired");
    for (uint32_t i = 0; i < plan->ncomps; i++) {
        const plan_comp *c = &plan->comps[i];
        for (uint32_t j = 0; j < c->nrules; j++)
            fprintf(f, "%-24s %-16s %12" PRIu64 " %12" PRIu64 "\n", c->name, c->rules[j].label,
                    ld(&c->rules[j].tried), ld(&c->rules[j].fired));
    }
    for (uint32_t i = 0; i < plan->ncomps; i++) {
        const plan_comp *c = &plan->comps[i];
        fprintf(f,
                "%s: in %" PRIu64 ", out %" PRIu64 "; errors: function %" PRIu64 ", type %" PRIu64
                ", arithmetic %" PRIu64 "; derivation cap hits %" PRIu64 " (%" PRIu64
                " tuples dropped)\n",
                c->name, ld(&c->inputs), ld(&c->outputs), ld(&c->fn_errors), ld(&c->type_errors),
                ld(&c->arith_errors), ld(&c->cap_hits), ld(&c->cap_dropped));
        if (c->stateful)
            fprintf(f,
                    "%s: state entries created %" PRIu64 ", evicted (cap %u per lane) %" PRIu64
                    ", expired %" PRIu64 ", refused (lane beyond %d) %" PRIu64 "\n",
                    c->name, ld(&c->state_new), plan->state_cap, ld(&c->state_evicted),
                    ld(&c->state_expired), ANALOG_LANE_CHUNK * ANALOG_LANE_CHUNKS,
                    ld(&c->state_lane_refused));
        for (uint32_t k = 0; k < c->ncalls; k++)
            if (ld(&c->calls[k]->errors))
                fprintf(f, "%s: %s at %s:%" PRIu32 ":%" PRIu32 " failed %" PRIu64 " times\n",
                        c->name, c->calls[k]->def->name, plan->file, c->calls[k]->pos.line,
                        c->calls[k]->pos.col, ld(&c->calls[k]->errors));
    }
}
