/*
 * eval.c -- the ANALOG rule evaluator: runs one plan component on a
 * batch (the component actor's behaviour).
 *
 * Design: each input tuple starts a FIFO worklist. Every tuple taken
 * from it is tried against every rule whose trigger relation and arity
 * match, in program order; a successful rule appends its head tuple to
 * the worklist. A tuple that matches some rule's trigger is consumed
 * (whether or not the body succeeds); one that matches none is an
 * output, moved to `out`. So the outputs for one input depend only on
 * the input and the per-key state, never on threads. At most
 * eval.max_derivations tuples are derived per input: the rest are
 * dropped and counted (a recursive program cannot loop forever).
 *
 * Stateful functions keep state per (call site, context key value) in a
 * table per lane: bounded (eval.state_entries entries, least recently
 * used evicted), expired after the function's idle timeout in packet
 * time (checked at each activation of the lane, oldest first).
 *
 * Invariants: a lane's table is touched only by the worker running the
 * lane (the runtime runs a lane on one worker at a time), so there is
 * no lock; the counters are relaxed atomics. Hot path: per tuple, no
 * allocation but the derived tuples themselves and function results;
 * slots live on the stack (ANALOG_STACK_SLOTS) and values are shared by
 * reference count, never deep-copied.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/eval.h"
#include "analog/plan_internal.h"

#define CALL_STACK_ARGS 16 /* call arguments kept on the stack */
#define LOCAL_RULES 64     /* rules whose counters an activation batches */

/* One state entry: the state of one call site for one context key. */
typedef struct state_entry state_entry;
struct state_entry {
    uint32_t site;
    uint64_t hash;
    sx_value key;
    void *state;
    const analog_fn_def *def;
    int64_t last_ns;               /* packet time of the last use */
    sx_value *saved;               /* resumable calls: the slots to go on with */
    uint32_t nsaved;
    bool doomed;                   /* detached, waiting for its final drain */
    state_entry *hnext;            /* bucket chain; the doomed list */
    state_entry *newer, *older;    /* LRU list */
};

/* A lane's state: a chained hash table with an LRU list. */
struct lane_table {
    state_entry **buckets;
    uint32_t nbuckets, n;
    state_entry *newest, *oldest;
};

/* The FIFO of tuples still to be tried, reused across inputs. */
typedef struct worklist {
    sx_tuple *t;
    uint32_t head, n, cap;
} worklist;

/* The work of one activation. */
typedef struct run {
    plan_comp *c;
    const sx_activation *act;
    int64_t now_ns;
    sx_value key;          /* context key of the current input (or null) */
    sx_value *slots;
    int failed;            /* some rule failed with an error */
    worklist *w;           /* tuples of the current input still to try */
    sx_batch *out;         /* where outputs go */
    uint32_t derived;      /* tuples derived from the current input */
    state_entry *doomed;   /* entries removed, their final drain due */
    /* counters summed here and added to the shared atomics once per
     * activation, so workers do not fight over their cache lines */
    uint64_t inputs, outputs;
    uint64_t tried[LOCAL_RULES], fired[LOCAL_RULES];
} run;

static int eval_expr(run *r, const plan_expr *x, sx_value *out);

/** Bumps a relaxed counter. */
static void bump(atomic_ullong *a)
{
    atomic_fetch_add_explicit(a, 1, memory_order_relaxed);
}

/* ---- comparisons and arithmetic ---- */

/** True for an int or a float. */
static bool is_num(const sx_value *v)
{
    return v->kind == SX_INT || v->kind == SX_FLOAT;
}

/** A number as a double. */
static double num(const sx_value *v)
{
    return v->kind == SX_INT ? (double)v->u.i : v->u.f;
}

/** Three-way order of two numbers (int vs int exactly); 2 when unordered (NaN). */
static int num_order(const sx_value *a, const sx_value *b)
{
    if (a->kind == SX_INT && b->kind == SX_INT)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    double x = num(a), y = num(b);
    if (isnan(x) || isnan(y))
        return 2;
    return (x > y) - (x < y);
}

/** Bytewise three-way order of two blobs (shorter prefix first). */
static int blob_order(const sx_blob *a, const sx_blob *b)
{
    size_t la = a ? a->len : 0, lb = b ? b->len : 0;
    int c = la && lb ? memcmp(a->data, b->data, la < lb ? la : lb) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return (la > lb) - (la < lb);
}

bool analog_eval_compare(const sx_value *a, const sx_value *b, analog_term_op op, bool *type_error)
{
    *type_error = false;
    if (op == ANALOG_OP_EQ || op == ANALOG_OP_NE || op == ANALOG_OP_ASSIGN ||
        op == ANALOG_OP_DEFINE) {
        bool eq = is_num(a) && is_num(b) && a->kind != b->kind ? num_order(a, b) == 0
                                                               : sx_value_equal(a, b);
        return op == ANALOG_OP_NE ? !eq : eq;
    }
    int ord;
    if (is_num(a) && is_num(b))
        ord = num_order(a, b);
    else if ((a->kind == SX_STR || a->kind == SX_BYTES) && a->kind == b->kind)
        ord = blob_order(a->u.blob, b->u.blob);
    else {
        *type_error = true;
        return false;
    }
    switch (op) {
    case ANALOG_OP_LT: return ord == -1;
    case ANALOG_OP_LE: return ord == -1 || ord == 0;
    case ANALOG_OP_GT: return ord == 1;
    case ANALOG_OP_GE: return ord == 1 || ord == 0;
    default: return false;
    }
}

/** int op int, wrapping on overflow; -1 on division by zero. */
static int int_arith(char op, int64_t a, int64_t b, int64_t *out)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case '+': *out = (int64_t)(ua + ub); return 0;
    case '-': *out = (int64_t)(ua - ub); return 0;
    case '*': *out = (int64_t)(ua * ub); return 0;
    }
    if (b == 0)
        return -1;
    if (b == -1) { /* INT64_MIN / -1 overflows: wrap like the others */
        *out = op == '/' ? (int64_t)(0 - ua) : 0;
        return 0;
    }
    *out = op == '/' ? a / b : a % b;
    return 0;
}

/** a op b for numbers: int stays int, else float. -1 on division by
 *  zero or a non-number (counted by the caller). */
static int arith(run *r, char op, const sx_value *a, const sx_value *b, sx_value *out)
{
    if (!is_num(a) || !is_num(b)) {
        bump(&r->c->type_errors);
        return -1;
    }
    if (a->kind == SX_INT && b->kind == SX_INT) {
        int64_t v;
        if (int_arith(op, a->u.i, b->u.i, &v) != 0) {
            bump(&r->c->arith_errors);
            return -1;
        }
        *out = sx_value_int(v);
        return 0;
    }
    double x = num(a), y = num(b);
    if ((op == '/' || op == '%') && y == 0.0) {
        bump(&r->c->arith_errors);
        return -1;
    }
    double v = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : op == '/' ? x / y
                                                                                      : fmod(x, y);
    *out = sx_value_float(v);
    return 0;
}

/* ---- per-lane state ---- */

/** The hash of (site, key). */
static uint64_t state_hash(uint32_t site, const sx_value *key)
{
    return sx_value_hash(key) ^ ((uint64_t)(site + 1) * UINT64_C(0x9E3779B97F4A7C15));
}

/** The lane table of the running lane, created on first use; NULL when
 *  the lane is beyond the directory's reach (counted). */
static lane_table *lane_get(run *r)
{
    uint32_t lane = r->act->lane;
    uint32_t chunk = lane / ANALOG_LANE_CHUNK;
    if (chunk >= ANALOG_LANE_CHUNKS) {
        bump(&r->c->state_lane_refused);
        return NULL;
    }
    lane_table **dir = atomic_load_explicit(&r->c->lanes[chunk], memory_order_acquire);
    if (!dir) {
        lane_table **fresh = calloc(ANALOG_LANE_CHUNK, sizeof *fresh);
        if (!fresh)
            return NULL;
        lane_table **expect = NULL;
        if (atomic_compare_exchange_strong_explicit(&r->c->lanes[chunk], &expect, fresh,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            dir = fresh;
        } else {
            free(fresh);
            dir = expect;
        }
    }
    lane_table **slot = &dir[lane % ANALOG_LANE_CHUNK];
    if (!*slot)
        *slot = calloc(1, sizeof **slot);
    return *slot;
}

/** Unlinks e from the LRU list of t. */
static void lru_unlink(lane_table *t, state_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    e->newer = e->older = NULL;
}

/** Links e as the newest of t. */
static void lru_push(lane_table *t, state_entry *e)
{
    e->older = t->newest;
    e->newer = NULL;
    if (t->newest)
        t->newest->newer = e;
    t->newest = e;
    if (!t->oldest)
        t->oldest = e;
}

/** Removes e from t (not freed). */
static void state_detach(lane_table *t, state_entry *e)
{
    state_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    e->hnext = NULL;
    lru_unlink(t, e);
    t->n--;
}

/** Frees a detached entry with its state and saved slots. */
static void entry_free(state_entry *e)
{
    if (e->state && e->def->state_free)
        e->def->state_free(e->state);
    sx_value_release(&e->key);
    for (uint32_t i = 0; i < e->nsaved; i++)
        sx_value_release(&e->saved[i]);
    free(e->saved);
    free(e);
}

/** Removes e from t and frees it with its state. */
static void state_remove(lane_table *t, state_entry *e)
{
    state_detach(t, e);
    entry_free(e);
}

/** A detached entry leaves: its final drain is due (after the current
 *  input) when its function has one, else it is freed now. */
static void entry_retire(run *r, state_entry *e)
{
    if (!e->def->drain) {
        entry_free(e);
        return;
    }
    e->doomed = true;
    e->hnext = r->doomed;
    r->doomed = e;
}

/** The idle timeout of e's function in packet time. */
static int64_t idle_ns(const state_entry *e, int64_t default_idle_ns)
{
    return e->def->idle_timeout_ns > 0 ? e->def->idle_timeout_ns : default_idle_ns;
}

/** Frees the entries idle longer than their timeout, oldest first. */
static void state_expire(run *r, lane_table *t)
{
    while (t->oldest &&
           r->now_ns - t->oldest->last_ns > idle_ns(t->oldest, r->c->plan->state_idle_ns)) {
        state_entry *e = t->oldest;
        state_detach(t, e);
        entry_retire(r, e);
        bump(&r->c->state_expired);
    }
}

/** Doubles t's bucket array (kept a power of two). -1 on out-of-memory. */
static int state_grow(lane_table *t)
{
    uint32_t nb = t->nbuckets ? t->nbuckets * 2 : 64;
    state_entry **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (uint32_t i = 0; i < t->nbuckets; i++) {
        for (state_entry *e = t->buckets[i], *next; e; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return 0;
}

/** A new entry for (call, key) in t, evicting the least recently used
 *  one at the cap. NULL on out-of-memory or a failing state_new. */
static state_entry *state_add(run *r, lane_table *t, const plan_call *call, uint64_t h)
{
    if (t->n >= r->c->plan->state_cap) {
        state_entry *old = t->oldest;
        state_detach(t, old);
        entry_retire(r, old);
        bump(&r->c->state_evicted);
    }
    if (t->n >= t->nbuckets && t->nbuckets < r->c->plan->state_cap && state_grow(t) != 0)
        return NULL;
    state_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->state = call->def->state_new ? call->def->state_new() : NULL;
    if (call->def->state_new && !e->state) {
        free(e);
        return NULL;
    }
    e->site = call->site;
    e->hash = h;
    e->key = sx_value_copy(&r->key);
    e->def = call->def;
    e->hnext = t->buckets[h & (t->nbuckets - 1)];
    t->buckets[h & (t->nbuckets - 1)] = e;
    lru_push(t, e);
    t->n++;
    bump(&r->c->state_new);
    return e;
}

/** The state entry of call for the current context key, or NULL (the
 *  message in err). */
static state_entry *state_get(run *r, const plan_call *call, char *err, size_t errlen)
{
    lane_table *t = lane_get(r);
    if (!t) {
        snprintf(err, errlen, "no state table for lane %" PRIu32, r->act->lane);
        return NULL;
    }
    uint64_t h = state_hash(call->site, &r->key);
    state_entry *e = NULL;
    if (t->nbuckets)
        for (e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->hnext)
            if (e->hash == h && e->site == call->site && sx_value_equal(&e->key, &r->key))
                break;
    if (!e && !(e = state_add(r, t, call, h))) {
        snprintf(err, errlen, "cannot create state (out of memory)");
        return NULL;
    }
    lru_unlink(t, e);
    lru_push(t, e);
    e->last_ns = r->now_ns;
    return e;
}

/** Keeps the slots a resumable call goes on with (shared values, no
 *  copies) in its entry. */
static void entry_save(run *r, state_entry *e, const plan_call *call)
{
    if (!e->saved && call->nresume) {
        if (!(e->saved = calloc(call->nresume, sizeof *e->saved)))
            return; /* resume() counts the miss */
        e->nsaved = call->nresume;
    }
    for (uint32_t i = 0; i < e->nsaved; i++) {
        sx_value_release(&e->saved[i]);
        e->saved[i] = sx_value_copy(&r->slots[call->resume_slots[i]]);
    }
}

void analog_eval_free_state(plan_comp *c)
{
    for (uint32_t k = 0; k < ANALOG_LANE_CHUNKS; k++) {
        lane_table **dir = atomic_load_explicit(&c->lanes[k], memory_order_acquire);
        if (!dir)
            continue;
        for (uint32_t i = 0; i < ANALOG_LANE_CHUNK; i++) {
            lane_table *t = dir[i];
            while (t && t->oldest)
                state_remove(t, t->oldest);
            if (t)
                free(t->buckets);
            free(t);
        }
        free(dir);
        atomic_store_explicit(&c->lanes[k], NULL, memory_order_relaxed);
    }
}

/* ---- expressions ---- */

/** Counts a failed call and prints the first failure of its site. */
static void call_failed(run *r, plan_call *call, const char *msg)
{
    bump(&call->errors);
    bump(&r->c->fn_errors);
    if (!atomic_exchange_explicit(&call->reported, true, memory_order_relaxed))
        fprintf(stderr,
                "%s:%" PRIu32 ":%" PRIu32 ": %s failed in component '%s': %s (later failures "
                "of this call are only counted)\n",
                r->c->plan->file, call->pos.line, call->pos.col, call->def->name, r->c->name,
                msg[0] ? msg : "no message");
}

/** Calls a function site: arguments evaluated left to right. */
static int eval_call(run *r, plan_call *call, sx_value *out)
{
    sx_value stack[CALL_STACK_ARGS];
    sx_value *args = call->nargs <= CALL_STACK_ARGS ? stack : calloc(call->nargs, sizeof *args);
    if (!args)
        return -1;
    uint32_t got = 0;
    int rc = 0;
    for (; got < call->nargs && rc == 0; got++) {
        args[got] = sx_value_null(); /* a failed evaluation leaves it unset */
        rc = eval_expr(r, call->args[got], &args[got]);
    }
    char err[256];
    err[0] = '\0';
    analog_fn_ctx ctx = {.worker = r->act->worker, .workers = r->c->plan->workers,
                         .now_ns = r->now_ns,
                         .prepared = call->prepared, .err = err, .errlen = sizeof err};
    state_entry *e = NULL;
    if (rc == 0 && (call->def->flags & ANALOG_FN_STATEFUL)) {
        if (!(e = state_get(r, call, err, sizeof err))) {
            call_failed(r, call, err);
            rc = -1;
        } else {
            ctx.state = e->state;
        }
    }
    if (rc == 0) {
        *out = sx_value_null();
        if (call->def->call(&ctx, args, call->nargs, out) != 0) {
            sx_value_release(out);
            call_failed(r, call, err);
            rc = -1;
        } else if (e && call->resumable) {
            entry_save(r, e, call);
        }
    }
    for (uint32_t i = 0; i < got; i++)
        sx_value_release(&args[i]);
    if (args != stack)
        free(args);
    return rc;
}

/** Evaluates x into *out (owned by the caller). 0, or -1 counted. */
static int eval_expr(run *r, const plan_expr *x, sx_value *out)
{
    switch (x->kind) {
    case PX_CONST:
        *out = sx_value_copy(&x->val);
        return 0;
    case PX_SLOT:
        *out = sx_value_copy(&r->slots[x->slot]);
        return 0;
    case PX_CALL:
        return eval_call(r, x->call, out);
    case PX_NEG: {
        sx_value v;
        if (eval_expr(r, x->lhs, &v) != 0)
            return -1;
        sx_value zero = sx_value_int(0);
        int rc = arith(r, '-', &zero, &v, out);
        sx_value_release(&v);
        return rc;
    }
    case PX_BIN: {
        sx_value a, b;
        if (eval_expr(r, x->lhs, &a) != 0)
            return -1;
        if (eval_expr(r, x->rhs, &b) != 0) {
            sx_value_release(&a);
            return -1;
        }
        int rc = arith(r, x->op, &a, &b, out);
        sx_value_release(&a);
        sx_value_release(&b);
        return rc;
    }
    }
    return -1;
}

/* ---- rules ---- */

/** Compares a and b for op, counting a type error. */
static bool test(run *r, const sx_value *a, const sx_value *b, analog_term_op op)
{
    bool type_error;
    bool ok = analog_eval_compare(a, b, op, &type_error);
    if (type_error)
        bump(&r->c->type_errors);
    return ok;
}

/** Runs one step on tuple t: 1 passed, 0 failed, -1 failed with an error. */
static int step_run(run *r, const plan_step *s, const sx_tuple *t)
{
    sx_value a, b;
    switch (s->kind) {
    case PS_BIND_ARG:
        r->slots[s->slot] = sx_value_copy(&t->vals[s->arg]);
        return 1;
    case PS_ASSIGN:
        return eval_expr(r, s->rhs, &r->slots[s->slot]) == 0 ? 1 : -1;
    case PS_TEST_ARG: {
        if (eval_expr(r, s->rhs, &b) != 0)
            return -1;
        bool ok = test(r, &t->vals[s->arg], &b, ANALOG_OP_EQ);
        sx_value_release(&b);
        return ok;
    }
    case PS_COMPARE: {
        if (eval_expr(r, s->lhs, &a) != 0)
            return -1;
        if (eval_expr(r, s->rhs, &b) != 0) {
            sx_value_release(&a);
            return -1;
        }
        bool ok = test(r, &a, &b, s->op);
        sx_value_release(&a);
        sx_value_release(&b);
        return ok;
    }
    }
    return -1;
}

/** Builds rule's head tuple into *h. 0, or -1 (h left empty). */
static int head_build(run *r, const plan_rule *rule, sx_tuple *h)
{
    sx_tuple_init_blob(h, rule->head_rel, rule->nhead);
    for (uint32_t i = 0; i < rule->nhead; i++) {
        if (eval_expr(r, rule->head[i], &h->vals[i]) != 0) {
            sx_tuple_clear(h);
            return -1;
        }
    }
    return 0;
}

/** True when t's relation and arity are rule's trigger. */
static bool triggers(const plan_rule *rule, const sx_tuple *t)
{
    return rule->arity == t->n && sx_blob_equal(rule->trigger, t->relation);
}

/* ---- the worklist ---- */

/** Appends t (taken) to the worklist. -1 on out-of-memory (t cleared). */
static int wl_push(worklist *w, sx_tuple *t)
{
    if (w->n == w->cap) {
        uint32_t cap = w->cap ? w->cap * 2 : 16;
        sx_tuple *nt = realloc(w->t, cap * sizeof *nt);
        if (!nt) {
            sx_tuple_clear(t);
            return -1;
        }
        w->t = nt;
        w->cap = cap;
    }
    w->t[w->n++] = *t;
    memset(t, 0, sizeof *t);
    return 0;
}

/** Sets r->key to the context key value of input t (null if none). */
static void key_set(run *r, const sx_tuple *t)
{
    sx_value_release(&r->key);
    for (uint32_t k = 0; k < r->c->nkeys; k++) {
        const plan_key *pk = &r->c->keys[k];
        if (pk->index <= t->n && sx_blob_equal(pk->rel, t->relation)) {
            r->key = sx_value_copy(&t->vals[pk->index - 1]);
            return;
        }
    }
}

/** Counts a try (or a firing) of rule j: locally for the first
 *  LOCAL_RULES rules, else straight into the shared counter. */
static void count_rule(run *r, uint32_t j, plan_rule *rule, bool fired)
{
    if (j < LOCAL_RULES)
        (fired ? r->fired : r->tried)[j]++;
    else
        bump(fired ? &rule->fired : &rule->tried);
}

/** Adds the activation's local counters to the shared ones. */
static void counters_flush(run *r)
{
    plan_comp *c = r->c;
    atomic_fetch_add_explicit(&c->inputs, r->inputs, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->outputs, r->outputs, memory_order_relaxed);
    for (uint32_t j = 0; j < c->nrules && j < LOCAL_RULES; j++) {
        if (r->tried[j])
            atomic_fetch_add_explicit(&c->rules[j].tried, r->tried[j], memory_order_relaxed);
        if (r->fired[j])
            atomic_fetch_add_explicit(&c->rules[j].fired, r->fired[j], memory_order_relaxed);
    }
}

/** Releases the slots that steps from.. of rule bind. */
static void slots_release_from(run *r, const plan_rule *rule, uint32_t from)
{
    for (uint32_t i = from; i < rule->nsteps; i++) {
        const plan_step *s = &rule->steps[i];
        if (s->kind == PS_BIND_ARG || s->kind == PS_ASSIGN)
            sx_value_release(&r->slots[s->slot]);
    }
}

/** Builds rule j's head from the slots and appends it to the worklist,
 *  within the derivation cap. */
static void head_emit(run *r, uint32_t j)
{
    plan_rule *rule = &r->c->rules[j];
    sx_tuple h;
    if (head_build(r, rule, &h) != 0) {
        r->failed = 1;
        return;
    }
    count_rule(r, j, rule, true);
    if (r->derived >= r->c->plan->max_derivations) {
        if (r->derived == r->c->plan->max_derivations)
            bump(&r->c->cap_hits);
        r->derived++;
        sx_tuple_clear(&h);
        bump(&r->c->cap_dropped);
        return;
    }
    r->derived++;
    if (wl_push(r->w, &h) != 0)
        r->failed = 1;
}

static void steps_from(run *r, uint32_t j, uint32_t i, const sx_tuple *t);

/** Goes on after assignment step i of rule j with the value v
 *  (borrowed): once per item of a list for a multi step (never for
 *  null), else once. */
static void assign_each(run *r, uint32_t j, uint32_t i, const sx_value *v, const sx_tuple *t)
{
    const plan_rule *rule = &r->c->rules[j];
    const plan_step *s = &rule->steps[i];
    if (s->multi && v->kind == SX_NULL)
        return;
    if (!s->multi || v->kind != SX_LIST) {
        r->slots[s->slot] = sx_value_copy(v);
        steps_from(r, j, i + 1, t);
        slots_release_from(r, rule, i);
        return;
    }
    const sx_list *l = v->u.list;
    for (uint32_t k = 0; l && k < l->n; k++) {
        r->slots[s->slot] = sx_value_copy(&l->items[k]);
        steps_from(r, j, i + 1, t);
        slots_release_from(r, rule, i);
    }
}

/** Runs rule j's steps from i on tuple t (NULL past the event's own
 *  steps), emitting a head for every way through. */
static void steps_from(run *r, uint32_t j, uint32_t i, const sx_tuple *t)
{
    const plan_rule *rule = &r->c->rules[j];
    for (; i < rule->nsteps; i++) {
        const plan_step *s = &rule->steps[i];
        if (s->multi) {
            sx_value v;
            if (eval_expr(r, s->rhs, &v) != 0) {
                r->failed = 1;
                return;
            }
            assign_each(r, j, i, &v, t);
            sx_value_release(&v);
            return;
        }
        int rc = step_run(r, s, t);
        if (rc != 1) {
            if (rc < 0)
                r->failed = 1;
            return;
        }
    }
    head_emit(r, j);
}

/** Tries every rule on cur, pushing heads; true when some rule triggered. */
static bool tuple_run(run *r, const sx_tuple *cur)
{
    bool matched = false;
    for (uint32_t j = 0; j < r->c->nrules; j++) {
        plan_rule *rule = &r->c->rules[j];
        if (!triggers(rule, cur))
            continue;
        matched = true;
        count_rule(r, j, rule, false);
        steps_from(r, j, 0, cur);
        slots_release_from(r, rule, 0);
    }
    return matched;
}

/** Runs the worklist to its end: tuples no rule takes go to r->out. */
static void wl_run(run *r)
{
    worklist *w = r->w;
    while (w->head < w->n) {
        sx_tuple cur = w->t[w->head++]; /* moved: the array may move below */
        if (tuple_run(r, &cur)) {
            sx_tuple_clear(&cur);
        } else {
            sx_batch_push(r->out, &cur);
            r->outputs++;
        }
    }
    w->head = w->n = 0;
}

/** Goes on from a resumable call of e with the value v its drain gave:
 *  the entry's key and saved slots bound as at its last call. */
static void resume(run *r, state_entry *e, const plan_call *call, const sx_value *v)
{
    if (!call->resumable || e->nsaved != call->nresume) {
        r->failed = 1; /* out of memory when the slots were saved */
        return;
    }
    const plan_rule *rule = &r->c->rules[call->rule];
    sx_value key = r->key;
    r->key = sx_value_copy(&e->key);
    for (uint32_t i = 0; i < call->nresume; i++)
        r->slots[call->resume_slots[i]] = sx_value_copy(&e->saved[i]);
    r->derived = 0;
    assign_each(r, call->rule, call->step, v, NULL);
    slots_release_from(r, rule, 0);
    wl_run(r);
    sx_value_release(&r->key);
    r->key = key;
}

/** Calls e's drain hook and goes on with what it gives. Returns 1 when
 *  the state is finished, else 0. */
static int entry_drain(run *r, state_entry *e, bool final)
{
    plan_call *call = r->c->calls[e->site];
    char err[256];
    err[0] = '\0';
    analog_fn_ctx ctx = {.worker = r->act->worker, .workers = r->c->plan->workers,
                         .now_ns = r->now_ns, .prepared = call->prepared, .state = e->state,
                         .err = err, .errlen = sizeof err};
    sx_value v = sx_value_null();
    int rc = e->def->drain(&ctx, final, &v);
    if (rc < 0) {
        sx_value_release(&v);
        call_failed(r, call, err);
        r->failed = 1;
        return 0;
    }
    if (v.kind != SX_NULL)
        resume(r, e, call, &v);
    sx_value_release(&v);
    return rc == 1;
}

/** Gives every retired entry its final drain, then frees it. */
static void doomed_flush(run *r)
{
    while (r->doomed) {
        state_entry *e = r->doomed;
        r->doomed = e->hnext;
        entry_drain(r, e, true);
        entry_free(e);
    }
}

/** A heartbeat at this lane: every entry with a drain hook is asked
 *  what is due (finished ones are freed); at the end of input every
 *  entry is drained for the last time and freed. */
static void lane_heartbeat(run *r, lane_table *t, bool eof)
{
    state_entry **list = t->n ? malloc(t->n * sizeof *list) : NULL;
    uint32_t n = 0;
    if (t->n && !list) {
        r->failed = 1;
    } else {
        for (state_entry *e = t->oldest; e; e = e->newer)
            if (e->def->drain)
                list[n++] = e;
    }
    /* entries evicted meanwhile wait on the doomed list, still allocated */
    for (uint32_t i = 0; i < n; i++) {
        state_entry *e = list[i];
        if (!e->doomed && entry_drain(r, e, false) && !e->doomed)
            state_remove(t, e);
    }
    free(list);
    doomed_flush(r);
    while (eof && t->oldest) {
        state_entry *e = t->oldest;
        state_detach(t, e);
        if (e->def->drain)
            entry_drain(r, e, true);
        entry_free(e);
        doomed_flush(r);
    }
}

/* Hot path: one input tuple to its fixpoint. */
/** Runs input t (taken) to a fixpoint; outputs go to r->out in order. */
static void input_run(run *r, sx_tuple *t)
{
    key_set(r, t);
    r->w->head = r->w->n = 0;
    if (wl_push(r->w, t) != 0) {
        r->failed = 1;
        return;
    }
    r->derived = 0;
    wl_run(r);
    doomed_flush(r);
}

int analog_eval_behaviour(void *arg, const sx_activation *act, sx_batch *in, sx_batch *out)
{
    plan_comp *c = arg;
    sx_value stack[ANALOG_STACK_SLOTS] = {{0}};
    worklist w = {0};
    run r = {.c = c, .act = act, .now_ns = in->time_ns, .key = sx_value_null(), .w = &w,
             .out = out};
    r.slots = c->max_slots <= ANALOG_STACK_SLOTS ? stack : calloc(c->max_slots, sizeof *r.slots);
    if (!r.slots)
        return -1;
    lane_table *t = c->stateful ? lane_get(&r) : NULL;
    if (t) {
        state_expire(&r, t);
        doomed_flush(&r);
    }
    for (uint32_t k = 0; k < in->n; k++) {
        r.inputs++;
        input_run(&r, &in->tuples[k]);
    }
    in->n = 0; /* every tuple was moved out */
    if (t && (in->flags & SX_BATCH_HEARTBEAT)) {
        sx_value_release(&r.key);
        lane_heartbeat(&r, t, (in->flags & SX_BATCH_EOF) != 0);
    }
    for (uint32_t i = w.head; i < w.n; i++)
        sx_tuple_clear(&w.t[i]);
    free(w.t);
    sx_value_release(&r.key);
    counters_flush(&r);
    if (r.slots != stack)
        free(r.slots);
    return r.failed ? -1 : 0;
}

int analog_eval_place(void *arg, const sx_tuple *t)
{
    const plan_comp *c = arg;
    if (t->n == 0 || (t->vals[0].kind != SX_STR && t->vals[0].kind != SX_BYTES) ||
        !t->vals[0].u.blob)
        return -1;
    return sx_runtime_node_index(c->rt, (const char *)t->vals[0].u.blob->data,
                                 t->vals[0].u.blob->len);
}

uint64_t analog_eval_key(void *arg, const sx_tuple *t)
{
    const plan_comp *c = arg;
    for (uint32_t k = 0; k < c->nkeys; k++) {
        const plan_key *pk = &c->keys[k];
        if (pk->index <= t->n && sx_blob_equal(pk->rel, t->relation))
            return sx_value_hash(&t->vals[pk->index - 1]);
    }
    return 0;
}
