/*
 * ast.h -- the syntax tree of an ANALOG program.
 *
 * The structs are public, unlike most of our headers: the tree is plain
 * data that the parser builds and the checker, planner and evaluator
 * walk, and hiding it behind accessors would only add noise.
 *
 * Ownership: a program owns everything below it (strings, arrays,
 * expression nodes); analog_program_destroy frees it all. Every node
 * carries the 1-based line and byte column where it starts.
 *
 * Invariants the parser guarantees: every atom has at least one argument
 * and args[0] is the location specifier (@N: a variable with
 * is_location set); no expression is deeper than ANALOG_MAX_DEPTH, so
 * recursive walks are safe.
 */
#ifndef ANALOG_AST_H
#define ANALOG_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ANALOG_MAX_DEPTH 200 /* nesting of an expression (parentheses, calls, operators) */

typedef struct analog_pos {
    uint32_t line, col;
} analog_pos;

typedef enum analog_expr_kind {
    ANALOG_E_INT,
    ANALOG_E_FLOAT,
    ANALOG_E_STRING,
    ANALOG_E_VAR,   /* an identifier starting with an uppercase letter */
    ANALOG_E_PARAM, /* $NAME, bound by --param NAME=VALUE */
    ANALOG_E_CALL,  /* f_name(args), name kept as written */
    ANALOG_E_BINARY,
    ANALOG_E_NEG,
} analog_expr_kind;

typedef struct analog_expr analog_expr;
struct analog_expr {
    analog_expr_kind kind;
    analog_pos pos;
    bool is_location; /* written @N (args[0] of an atom) */
    uint16_t height;  /* 1 for a leaf; at most ANALOG_MAX_DEPTH */
    union {
        int64_t i;
        double f;
        struct {
            char *bytes; /* decoded, NUL-terminated; may hold no NUL inside */
            size_t len;
        } str;
        char *name; /* VAR, PARAM (without '$') */
        struct {
            char *name;
            analog_expr **args;
            uint32_t nargs;
        } call;
        struct {
            char op; /* '+', '-', '*', '/', '%' */
            analog_expr *lhs, *rhs;
        } bin;
        analog_expr *operand; /* NEG */
    } u;
};

typedef enum analog_term_op {
    ANALOG_OP_ASSIGN, /* X = e : binds X if unbound, else tests equality */
    ANALOG_OP_DEFINE, /* X := e : same meaning, the other spelling */
    ANALOG_OP_EQ,
    ANALOG_OP_NE,
    ANALOG_OP_LT,
    ANALOG_OP_LE,
    ANALOG_OP_GT,
    ANALOG_OP_GE,
} analog_term_op;

typedef struct analog_term {
    analog_term_op op;
    analog_pos pos;  /* of the operator */
    analog_expr *lhs; /* a VAR for ASSIGN and DEFINE */
    analog_expr *rhs;
    bool binds;      /* set by the checker: this term binds lhs */
} analog_term;

typedef struct analog_atom {
    char *rel;
    analog_pos pos;
    analog_expr **args; /* args[0] is the location @N */
    uint32_t nargs;     /* counts @N */
} analog_atom;

typedef struct analog_rule {
    char *label;
    analog_pos pos;
    analog_atom head;
    analog_atom event; /* the body's one event atom */
    analog_term *terms; /* the rest of the body, left to right */
    uint32_t nterms;
} analog_rule;

typedef enum analog_kind {
    ANALOG_SERIAL,
    ANALOG_PARALLEL,
    ANALOG_PARALLEL_CONTEXT_ORDER,
    ANALOG_SERIAL_CONTEXT_ORDER,
} analog_kind;

typedef struct analog_context_key {
    char *rel;
    uint32_t index; /* 1-based, @N counts as 1 */
    analog_pos pos;
} analog_context_key;

typedef struct analog_component {
    char *name;
    analog_pos pos;
    analog_kind kind;
    analog_pos kind_pos;
    analog_context_key *keys;
    uint32_t nkeys;
    analog_rule *rules;
    uint32_t nrules;
} analog_component;

typedef struct analog_program {
    char *file;
    char *src; /* the source text, NUL-terminated, kept for caret display */
    size_t len;
    analog_component *comps;
    uint32_t ncomps;
} analog_program;

/** The kind's canonical spelling ("parallel_context_order"). */
const char *analog_kind_name(analog_kind k);

/** Frees an expression tree (NULL is fine). */
void analog_expr_free(analog_expr *e);
void analog_atom_clear(analog_atom *a);
void analog_rule_clear(analog_rule *r);
void analog_component_clear(analog_component *c);
/** Frees a program and everything it owns; nulls *p. */
void analog_program_destroy(analog_program **p);

#endif
