/*
 * checker.c -- semantic checks of an ANALOG program.
 *
 * Four passes over the tree, each linear in its size:
 *   1. names:  duplicate component names and rule labels;
 *   2. arity:  every relation keeps one arity across the program;
 *   3. chain:  the components form a linear chain. What a component
 *      receives is the sources plus the heads of every earlier component
 *      (unmatched tuples pass through, so everything flows on); it must
 *      consume some of it, and its context keys must name a relation it
 *      receives, at an index within that relation's arity (@N is 1);
 *   4. rules:  left to right, the event atom binds its variables and
 *      `X = e` / `X := e` binds X when X is still unbound (else it tests
 *      equality); every variable used must be bound by then, every head
 *      variable by the end; functions exist and get a fitting number of
 *      arguments; $PARAMs were given.
 * Lookups go through one small open-addressing table keyed by the
 * tree's own strings; per-rule variable sets are the same table with a
 * generation stamp, so nothing is cleared between rules.
 */
#include "checker.h"

#include <string.h>

#include "analog/functions.h"
#include "proto/alloc.h"

/* ---- a string-keyed table ---- */

typedef struct entry {
    const char *key; /* borrowed from the tree or the caller; NULL = empty */
    uint32_t gen;    /* variables: the rule that wrote this entry */
    uint32_t count;  /* arity, or a flag set */
    analog_pos pos;  /* where the key was first seen */
} entry;

typedef struct table {
    entry *slots;
    uint32_t cap, n; /* cap is a power of two, n < cap / 2 */
} table;

enum { VAR_BOUND = 1, VAR_USED = 2, VAR_REPORTED = 4 };

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/** The slot for key in t (grown to keep it half empty); *created says
 *  whether it was just added (then all fields but key are zero). */
static entry *table_get(table *t, const char *key, bool *created)
{
    if (2 * (t->n + 1) > t->cap) {
        table old = *t;
        t->cap = old.cap ? old.cap * 2 : 64;
        t->slots = sx_calloc(t->cap, sizeof *t->slots);
        t->n = 0;
        for (uint32_t i = 0; i < old.cap; i++) {
            if (old.slots[i].key) {
                bool c;
                *table_get(t, old.slots[i].key, &c) = old.slots[i];
            }
        }
        free(old.slots);
    }
    uint32_t i = hash(key) & (t->cap - 1);
    while (t->slots[i].key && strcmp(t->slots[i].key, key) != 0)
        i = (i + 1) & (t->cap - 1);
    *created = t->slots[i].key == NULL;
    if (*created) {
        t->slots[i].key = key;
        t->n++;
    }
    return &t->slots[i];
}

/** The entry for key, or NULL. */
static entry *table_find(const table *t, const char *key)
{
    if (!t->cap)
        return NULL;
    uint32_t i = hash(key) & (t->cap - 1);
    while (t->slots[i].key) {
        if (strcmp(t->slots[i].key, key) == 0)
            return &t->slots[i];
        i = (i + 1) & (t->cap - 1);
    }
    return NULL;
}

typedef struct checker {
    analog_diag *d;
    const char *const *params;
    size_t nparams;
    const char *const *sources;
    size_t nsources;
    table arity; /* relation -> count = its arity */
    table avail; /* relations received so far along the chain */
    table vars;  /* variable -> VAR_* flags, valid when gen == rule_gen */
    uint32_t rule_gen;
    const analog_rule *rule; /* the rule being checked */
} checker;

#define ERR(ck, pos, ...) analog_diag_error((ck)->d, (pos).line, (pos).col, __VA_ARGS__)
#define WARN(ck, pos, ...) analog_diag_warning((ck)->d, (pos).line, (pos).col, __VA_ARGS__)

/* ---- pass 1: names ---- */

/** Reports a second definition of name (kind is "component name"...). */
static void check_unique(checker *ck, table *seen, const char *name, analog_pos pos,
                         const char *what)
{
    bool created;
    entry *e = table_get(seen, name, &created);
    if (created)
        e->pos = pos;
    else
        ERR(ck, pos, "duplicate %s '%s' (first defined at line %u)", what, name, e->pos.line);
}

/** Duplicate component names and rule labels (labels are program-wide). */
static void check_names(checker *ck, const analog_program *p)
{
    table comps = {0}, labels = {0};
    for (uint32_t i = 0; i < p->ncomps; i++) {
        const analog_component *c = &p->comps[i];
        check_unique(ck, &comps, c->name, c->pos, "component name");
        for (uint32_t j = 0; j < c->nrules; j++)
            check_unique(ck, &labels, c->rules[j].label, c->rules[j].pos, "rule label");
    }
    free(comps.slots);
    free(labels.slots);
}

/* ---- pass 2: arity ---- */

/** Records a's arity, or reports a clash with the first use. */
static void note_arity(checker *ck, const analog_atom *a)
{
    bool created;
    entry *e = table_get(&ck->arity, a->rel, &created);
    if (created) {
        e->count = a->nargs;
        e->pos = a->pos;
    } else if (e->count != a->nargs) {
        ERR(ck, a->pos, "relation '%s' has %u arguments here but %u at line %u:%u", a->rel,
            a->nargs, e->count, e->pos.line, e->pos.col);
    }
}

static void check_arities(checker *ck, const analog_program *p)
{
    for (uint32_t i = 0; i < p->ncomps; i++) {
        for (uint32_t j = 0; j < p->comps[i].nrules; j++) {
            note_arity(ck, &p->comps[i].rules[j].event);
            note_arity(ck, &p->comps[i].rules[j].head);
        }
    }
}

/* ---- pass 3: the chain ---- */

static bool is_context_ordered(analog_kind k)
{
    return k == ANALOG_PARALLEL_CONTEXT_ORDER || k == ANALOG_SERIAL_CONTEXT_ORDER;
}

/** The key must name a received relation, at an index within its arity. */
static void check_key(checker *ck, const analog_component *c, const analog_context_key *k)
{
    if (!table_find(&ck->avail, k->rel))
        ERR(ck, k->pos, "context key relation '%s' is not received by component '%s'", k->rel,
            c->name);
    const entry *a = table_find(&ck->arity, k->rel);
    if (k->index == 0)
        ERR(ck, k->pos, "context key index 0 of '%s': attributes count from 1 (@N is 1)",
            k->rel);
    else if (a && k->index > a->count)
        ERR(ck, k->pos, "context key index %u is outside relation '%s' of arity %u", k->index,
            k->rel, a->count);
}

/** Kind vs context keys: ordering on a context needs a key. */
static void check_kind(checker *ck, const analog_component *c)
{
    if (is_context_ordered(c->kind) && c->nkeys == 0)
        ERR(ck, c->kind_pos, "component '%s' of kind %s needs context_keys(...)", c->name,
            analog_kind_name(c->kind));
    else if (!is_context_ordered(c->kind) && c->nkeys > 0)
        WARN(ck, c->kind_pos, "context keys of component '%s' are ignored by kind %s", c->name,
             analog_kind_name(c->kind));
}

/** Formats what component i receives from, for a message. */
static void describe_upstream(const checker *ck, const analog_program *p, uint32_t i,
                              char *buf, size_t n)
{
    if (i > 0) {
        snprintf(buf, n, "the previous component '%s' emits", p->comps[i - 1].name);
        return;
    }
    size_t used = (size_t)snprintf(buf, n, "the sources (");
    for (size_t s = 0; s < ck->nsources && used < n; s++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", s ? ", " : "", ck->sources[s]);
    if (used < n)
        snprintf(buf + used, n - used, ") provide");
}

/** Component i must consume something it receives. */
static void check_consumes(checker *ck, const analog_program *p, uint32_t i)
{
    const analog_component *c = &p->comps[i];
    if (c->nrules == 0) {
        WARN(ck, c->pos, "component '%s' has no rules", c->name);
        return;
    }
    for (uint32_t j = 0; j < c->nrules; j++)
        if (table_find(&ck->avail, c->rules[j].event.rel))
            return;
    char up[256];
    describe_upstream(ck, p, i, up, sizeof up);
    ERR(ck, c->pos, "component '%s' consumes nothing that %s", c->name, up);
}

/** Adds c's heads to what flows on; warns of rules nothing can trigger. */
static void pass_on(checker *ck, const analog_component *c)
{
    bool created;
    for (uint32_t j = 0; j < c->nrules; j++)
        table_get(&ck->avail, c->rules[j].head.rel, &created);
    for (uint32_t j = 0; j < c->nrules; j++) {
        const analog_atom *ev = &c->rules[j].event;
        if (!table_find(&ck->avail, ev->rel))
            WARN(ck, ev->pos, "rule '%s' never fires: no '%s' tuple reaches component '%s'",
                 c->rules[j].label, ev->rel, c->name);
    }
}

static void check_chain(checker *ck, const analog_program *p)
{
    bool created;
    for (size_t s = 0; s < ck->nsources; s++)
        table_get(&ck->avail, ck->sources[s], &created);
    for (uint32_t i = 0; i < p->ncomps; i++) {
        const analog_component *c = &p->comps[i];
        check_kind(ck, c);
        for (uint32_t k = 0; k < c->nkeys; k++)
            check_key(ck, c, &c->keys[k]);
        check_consumes(ck, p, i);
        pass_on(ck, c);
    }
}

/* ---- pass 4: rules ---- */

/** The variable's flags in the current rule (0 if not seen in it). */
static entry *var_entry(checker *ck, const char *name)
{
    bool created;
    entry *e = table_get(&ck->vars, name, &created);
    if (e->gen != ck->rule_gen) {
        e->gen = ck->rule_gen;
        e->count = 0;
    }
    return e;
}

static void bind_var(checker *ck, const analog_expr *v)
{
    entry *e = var_entry(ck, v->u.name);
    e->count |= VAR_BOUND;
    if (!(e->count & VAR_USED))
        e->pos = v->pos;
}

static bool param_defined(const checker *ck, const char *name)
{
    for (size_t i = 0; i < ck->nparams; i++)
        if (strcmp(ck->params[i], name) == 0)
            return true;
    return false;
}

/** Reports a call to an unknown function or with a wrong arity. */
static void check_call(checker *ck, const analog_expr *e)
{
    const analog_fn_def *fn = analog_fn_lookup(e->u.call.name);
    if (!fn) {
        ERR(ck, e->pos, "unknown function '%s'", e->u.call.name);
        return;
    }
    int n = (int)e->u.call.nargs;
    bool variadic = fn->max_args == ANALOG_FN_VARIADIC;
    if (n >= fn->min_args && (variadic || n <= fn->max_args))
        return;
    if (variadic)
        ERR(ck, e->pos, "function '%s' takes at least %d argument%s, given %d",
            e->u.call.name, fn->min_args, fn->min_args == 1 ? "" : "s", n);
    else if (fn->min_args == fn->max_args)
        ERR(ck, e->pos, "function '%s' takes %d argument%s, given %d", e->u.call.name,
            fn->min_args, fn->min_args == 1 ? "" : "s", n);
    else
        ERR(ck, e->pos, "function '%s' takes %d to %d arguments, given %d", e->u.call.name,
            fn->min_args, fn->max_args, n);
}

/** Reports a variable not bound at this point (once per rule). */
static void use_var(checker *ck, const analog_expr *v, bool in_head)
{
    entry *e = var_entry(ck, v->u.name);
    if (e->count & VAR_BOUND) {
        e->count |= VAR_USED;
        return;
    }
    if (e->count & VAR_REPORTED)
        return;
    e->count |= VAR_REPORTED;
    if (in_head)
        ERR(ck, v->pos, "head variable '%s' of rule '%s' is never bound in its body",
            v->u.name, ck->rule->label);
    else
        ERR(ck, v->pos, "variable '%s' is used before it is bound", v->u.name);
}

/** Checks every use in e (depth <= ANALOG_MAX_DEPTH, so recursion is fine). */
static void check_expr(checker *ck, const analog_expr *e, bool in_head)
{
    switch (e->kind) {
    case ANALOG_E_VAR:
        use_var(ck, e, in_head);
        break;
    case ANALOG_E_PARAM:
        if (!param_defined(ck, e->u.name))
            ERR(ck, e->pos, "undefined parameter '$%s' (give it with --param %s=VALUE)",
                e->u.name, e->u.name);
        break;
    case ANALOG_E_CALL:
        check_call(ck, e);
        for (uint32_t i = 0; i < e->u.call.nargs; i++)
            check_expr(ck, e->u.call.args[i], in_head);
        break;
    case ANALOG_E_BINARY:
        check_expr(ck, e->u.bin.lhs, in_head);
        check_expr(ck, e->u.bin.rhs, in_head);
        break;
    case ANALOG_E_NEG:
        check_expr(ck, e->u.operand, in_head);
        break;
    case ANALOG_E_INT:
    case ANALOG_E_FLOAT:
    case ANALOG_E_STRING:
        break;
    }
}

/** True when evaluating e may have a side effect (an impure call). */
static bool has_effect(const analog_expr *e)
{
    switch (e->kind) {
    case ANALOG_E_CALL: {
        const analog_fn_def *fn = analog_fn_lookup(e->u.call.name);
        if (!fn || !(fn->flags & ANALOG_FN_PURE))
            return true;
        for (uint32_t i = 0; i < e->u.call.nargs; i++)
            if (has_effect(e->u.call.args[i]))
                return true;
        return false;
    }
    case ANALOG_E_BINARY:
        return has_effect(e->u.bin.lhs) || has_effect(e->u.bin.rhs);
    case ANALOG_E_NEG:
        return has_effect(e->u.operand);
    default:
        return false;
    }
}

/** The event atom binds its variables, left to right. */
static void check_event(checker *ck, const analog_atom *a)
{
    for (uint32_t i = 0; i < a->nargs; i++) {
        const analog_expr *e = a->args[i];
        if (e->kind == ANALOG_E_VAR) {
            entry *v = var_entry(ck, e->u.name);
            if (v->count & VAR_BOUND)
                v->count |= VAR_USED; /* a repeat is a join: a use */
            else
                bind_var(ck, e);
        } else {
            check_expr(ck, e, false);
        }
    }
}

/** term -> X = e binds X when X is unbound; otherwise both sides are uses. */
static void check_term(checker *ck, analog_term *t)
{
    bool assign = t->op == ANALOG_OP_ASSIGN || t->op == ANALOG_OP_DEFINE;
    if (assign && !(var_entry(ck, t->lhs->u.name)->count & VAR_BOUND)) {
        check_expr(ck, t->rhs, false);
        bind_var(ck, t->lhs);
        t->binds = true;
        return;
    }
    t->binds = false;
    check_expr(ck, t->lhs, false);
    check_expr(ck, t->rhs, false);
}

/** Warns of variables a term binds and nothing uses, unless the
 *  binding has a side effect (P = f_traffic(PKT, "input")). */
static void warn_unused(checker *ck, const analog_rule *r)
{
    for (uint32_t i = 0; i < r->nterms; i++) {
        const analog_term *t = &r->terms[i];
        if (!t->binds || has_effect(t->rhs))
            continue;
        const entry *e = var_entry(ck, t->lhs->u.name);
        if (!(e->count & VAR_USED))
            WARN(ck, t->lhs->pos, "variable '%s' is bound but never used", t->lhs->u.name);
    }
}

static void check_rule(checker *ck, analog_rule *r)
{
    ck->rule_gen++;
    ck->rule = r;
    check_event(ck, &r->event);
    for (uint32_t i = 0; i < r->nterms; i++)
        check_term(ck, &r->terms[i]);
    for (uint32_t i = 0; i < r->head.nargs; i++)
        check_expr(ck, r->head.args[i], true);
    warn_unused(ck, r);
}

int analog_check(analog_program *p, const char *const *params, size_t nparams,
                 const char *const *sources, size_t nsources, analog_diag *d)
{
    checker ck = {.d = d, .params = params, .nparams = nparams, .sources = sources,
                  .nsources = nsources};
    unsigned before = analog_diag_errors(d);
    analog_diag_set_source(d, p->file, p->src, p->len);
    check_names(&ck, p);
    check_arities(&ck, p);
    check_chain(&ck, p);
    for (uint32_t i = 0; i < p->ncomps; i++)
        for (uint32_t j = 0; j < p->comps[i].nrules; j++)
            check_rule(&ck, &p->comps[i].rules[j]);
    free(ck.arity.slots);
    free(ck.avail.slots);
    free(ck.vars.slots);
    return (int)(analog_diag_errors(d) - before);
}
