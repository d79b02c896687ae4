/*
 * ast.c -- destructors of the ANALOG syntax tree.
 *
 * The tree is a plain malloc'd tree; every node has one owner, its
 * parent. Expression trees are at most ANALOG_MAX_DEPTH deep (the parser
 * refuses deeper ones), so the recursive free cannot exhaust the stack.
 * The _clear functions free what a struct owns but not the struct, since
 * rules and components live by value in their parents' arrays.
 */
#include "ast.h"

#include <stdlib.h>

const char *analog_kind_name(analog_kind k)
{
    switch (k) {
    case ANALOG_SERIAL: return "serial";
    case ANALOG_PARALLEL: return "parallel";
    case ANALOG_PARALLEL_CONTEXT_ORDER: return "parallel_context_order";
    case ANALOG_SERIAL_CONTEXT_ORDER: return "serial_context_order";
    }
    return "?";
}

void analog_expr_free(analog_expr *e)
{
    if (!e)
        return;
    switch (e->kind) {
    case ANALOG_E_STRING:
        free(e->u.str.bytes);
        break;
    case ANALOG_E_VAR:
    case ANALOG_E_PARAM:
        free(e->u.name);
        break;
    case ANALOG_E_CALL:
        for (uint32_t i = 0; i < e->u.call.nargs; i++)
            analog_expr_free(e->u.call.args[i]);
        free(e->u.call.args);
        free(e->u.call.name);
        break;
    case ANALOG_E_BINARY:
        analog_expr_free(e->u.bin.lhs);
        analog_expr_free(e->u.bin.rhs);
        break;
    case ANALOG_E_NEG:
        analog_expr_free(e->u.operand);
        break;
    case ANALOG_E_INT:
    case ANALOG_E_FLOAT:
        break;
    }
    free(e);
}

void analog_atom_clear(analog_atom *a)
{
    for (uint32_t i = 0; i < a->nargs; i++)
        analog_expr_free(a->args[i]);
    free(a->args);
    free(a->rel);
    a->args = NULL;
    a->rel = NULL;
    a->nargs = 0;
}

void analog_rule_clear(analog_rule *r)
{
    free(r->label);
    analog_atom_clear(&r->head);
    analog_atom_clear(&r->event);
    for (uint32_t i = 0; i < r->nterms; i++) {
        analog_expr_free(r->terms[i].lhs);
        analog_expr_free(r->terms[i].rhs);
    }
    free(r->terms);
    r->label = NULL;
    r->terms = NULL;
    r->nterms = 0;
}

void analog_component_clear(analog_component *c)
{
    free(c->name);
    for (uint32_t i = 0; i < c->nkeys; i++)
        free(c->keys[i].rel);
    free(c->keys);
    for (uint32_t i = 0; i < c->nrules; i++)
        analog_rule_clear(&c->rules[i]);
    free(c->rules);
    c->name = NULL;
    c->keys = NULL;
    c->rules = NULL;
    c->nkeys = c->nrules = 0;
}

void analog_program_destroy(analog_program **pp)
{
    if (!pp || !*pp)
        return;
    analog_program *p = *pp;
    for (uint32_t i = 0; i < p->ncomps; i++)
        analog_component_clear(&p->comps[i]);
    free(p->comps);
    free(p->file);
    free(p->src);
    free(p);
    *pp = NULL;
}
