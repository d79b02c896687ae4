/*
 * parser.c -- hand-written recursive descent parser for ANALOG.
 *
 * Grammar (EBNF; '...' is a token, UPPER a token class):
 *
 *   program   -> component*
 *   component -> 'component' NAME '(' KIND [',' 'context_keys' '(' key {',' key} ')'] ')'
 *                '{' rule* '}'
 *   KIND      -> 'serial' | 'parallel' | 'parallel_context_order'
 *                | 'parallel_context_ordered' | 'serial_context_order'
 *                | 'serial_context_ordered'
 *   key       -> NAME '(' INT ')'
 *   rule      -> NAME atom ':-' atom {',' term} '.'
 *   atom      -> NAME '(' '@' VAR {',' expr} ')'
 *   term      -> VAR ('=' | ':=') expr | expr CMP expr
 *   CMP       -> '==' | '!=' | '<' | '<=' | '>' | '>='
 *   expr      -> mul {('+' | '-') mul}
 *   mul       -> unary {('*' | '/' | '%') unary}
 *   unary     -> '-' unary | primary
 *   primary   -> INT | FLOAT | STRING | '$' NAME | VAR | IDENT '(' [expr {',' expr}] ')'
 *                | '(' expr ')'
 *
 * Names vs variables: an identifier whose first byte is an uppercase
 * ASCII letter (PKT, SRC_IP, N) is a VAR; any other identifier (det1,
 * tcp_stream, f_match, _x) is a NAME. In an expression any identifier
 * followed by '(' is a function call, whatever its case (F_Match(...) is
 * f_match), and a NAME must be followed by '('; 'component' and
 * 'context_keys' are reserved.
 *
 * Error recovery: a syntax error inside a rule abandons that rule and
 * skips to the next '.' (or to '}' / 'component' / end of file), then
 * parsing resumes with the next rule; an error in a component header
 * skips to its '{'. Every skip consumes at least one token, so parsing
 * is linear in the input and always ends. Parsing stops once the diag
 * is full (ANALOG_DIAG_MAX). Caps: see parser.h and ANALOG_MAX_DEPTH.
 */
#include "parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analog/lexer.h"
#include "proto/alloc.h"

typedef struct parser {
    analog_lexer lx;
    analog_diag *d;
    int depth;       /* current expression nesting */
    uint32_t nrules; /* in the whole program */
    bool stop;       /* a cap was hit: parse no further */
} parser;

/* ---- tokens and errors ---- */

/** The current token. */
static const analog_token *tok(const parser *ps)
{
    return &ps->lx.tok;
}

static void next(parser *ps)
{
    analog_lex_next(&ps->lx);
}

static bool at(const parser *ps, analog_tok_kind k)
{
    return tok(ps)->kind == k;
}

/** True when the current token is the identifier word. */
static bool at_word(const parser *ps, const char *word)
{
    const analog_token *t = tok(ps);
    return t->kind == ANALOG_TK_IDENT && t->len == strlen(word) &&
           memcmp(t->text, word, t->len) == 0;
}

static bool is_var_name(const char *s)
{
    return s[0] >= 'A' && s[0] <= 'Z';
}

static bool at_var(const parser *ps)
{
    return at(ps, ANALOG_TK_IDENT) && is_var_name(tok(ps)->text);
}

/** Describes the current token for "found ..." (buf has 80 bytes). */
static const char *describe(const analog_token *t, char *buf, size_t n)
{
    int len = t->len > 40 ? 40 : (int)t->len;
    switch (t->kind) {
    case ANALOG_TK_IDENT:
        snprintf(buf, n, "'%.*s'%s", len, t->text, t->len > 40 ? "..." : "");
        return buf;
    case ANALOG_TK_PARAM:
        snprintf(buf, n, "'$%.*s'", len, t->text);
        return buf;
    case ANALOG_TK_INT:
    case ANALOG_TK_FLOAT:
        snprintf(buf, n, "number %.*s", len, t->text);
        return buf;
    default:
        return analog_tok_kind_name(t->kind);
    }
}

/** The one error function: reports at line:col unless the current token
 *  is one the lexer already reported (no cascades from a stray byte). */
static void error_at(parser *ps, analog_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_at(parser *ps, analog_pos pos, const char *fmt, ...)
{
    if (at(ps, ANALOG_TK_ERROR) || (at(ps, ANALOG_TK_EOF) && ps->lx.eof_reported))
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    analog_diag_error(ps->d, pos.line, pos.col, "%s", msg);
}

static analog_pos here(const parser *ps)
{
    return (analog_pos){tok(ps)->line, tok(ps)->col};
}

/** Reports "expected WHAT CONTEXT, found TOKEN" at the current token. */
static void expected(parser *ps, const char *what, const char *context)
{
    char buf[80];
    error_at(ps, here(ps), "expected %s%s%s, found %s", what, *context ? " " : "", context,
             describe(tok(ps), buf, sizeof buf));
}

/** Consumes a token of kind k, or reports what was expected. */
static bool expect(parser *ps, analog_tok_kind k, const char *context)
{
    if (at(ps, k)) {
        next(ps);
        return true;
    }
    expected(ps, analog_tok_kind_name(k), context);
    return false;
}

/* ---- allocation ---- */

static char *dup_text(const char *s, size_t n)
{
    char *c = sx_malloc(n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

/** The current identifier's text, copied. */
static char *take_name(parser *ps)
{
    char *s = dup_text(tok(ps)->text, tok(ps)->len);
    next(ps);
    return s;
}

/** Makes room for one more element in *arr (n used, *cap allocated). */
static void *grow(void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 4;
    return sx_realloc(arr, (size_t)*cap * elem);
}

static analog_expr *new_expr(analog_expr_kind kind, analog_pos pos)
{
    analog_expr *e = sx_calloc(1, sizeof *e);
    e->kind = kind;
    e->pos = pos;
    e->height = 1;
    return e;
}

/** Sets e's height from a child's; false (reported) when too deep. */
static bool raise_height(parser *ps, analog_expr *e, const analog_expr *child)
{
    if (child->height + 1 > e->height)
        e->height = (uint16_t)(child->height + 1);
    if (e->height <= ANALOG_MAX_DEPTH)
        return true;
    error_at(ps, e->pos, "expression nested deeper than %d levels", ANALOG_MAX_DEPTH);
    return false;
}

/* ---- expressions ---- */

static analog_expr *parse_expr(parser *ps);

/** args -> '(' [expr {',' expr}] ')'  (the '(' already consumed) */
static bool parse_call_args(parser *ps, analog_expr *call)
{
    uint32_t cap = 0;
    if (at(ps, ANALOG_TK_RPAREN)) {
        next(ps);
        return true;
    }
    char context[320];
    snprintf(context, sizeof context, "after the arguments of %s", call->u.call.name);
    for (;;) {
        if (call->u.call.nargs == ANALOG_MAX_ARGS) {
            error_at(ps, here(ps), "more than %d arguments to %s", ANALOG_MAX_ARGS,
                     call->u.call.name);
            return false;
        }
        analog_expr *a = parse_expr(ps);
        if (!a)
            return false;
        call->u.call.args = grow(call->u.call.args, call->u.call.nargs, &cap, sizeof a);
        call->u.call.args[call->u.call.nargs++] = a;
        if (!raise_height(ps, call, a))
            return false;
        if (!at(ps, ANALOG_TK_COMMA))
            return expect(ps, ANALOG_TK_RPAREN, context);
        next(ps);
    }
}

/** primary -> VAR | IDENT '(' [expr {',' expr}] ')'  (at the identifier)
 *  Any identifier followed by '(' is a call, whatever its case, so
 *  F_Upper(...) and f_upper(...) are the same function. */
static analog_expr *parse_identifier(parser *ps)
{
    analog_pos pos = here(ps);
    bool is_var = is_var_name(tok(ps)->text);
    char *name = take_name(ps);
    bool is_call = at(ps, ANALOG_TK_LPAREN);
    analog_expr *e = new_expr(is_call || !is_var ? ANALOG_E_CALL : ANALOG_E_VAR, pos);
    if (!is_call && is_var) {
        e->u.name = name;
        return e;
    }
    e->u.call.name = name;
    if (!is_call) {
        /* a name in an expression can only be a call */
        error_at(ps, pos,
                 "expected an expression, found name '%s' (variables start with an "
                 "uppercase letter; a function call needs '(')",
                 name);
    } else {
        next(ps);
        if (parse_call_args(ps, e))
            return e;
    }
    analog_expr_free(e);
    return NULL;
}

/** primary -> '(' expr ')' */
static analog_expr *parse_paren(parser *ps)
{
    next(ps);
    analog_expr *e = parse_expr(ps);
    if (!e)
        return NULL;
    if (expect(ps, ANALOG_TK_RPAREN, "to close '('"))
        return e;
    analog_expr_free(e);
    return NULL;
}

/** primary -> INT | FLOAT | STRING | PARAM | VAR | call | '(' expr ')' */
static analog_expr *parse_primary(parser *ps)
{
    const analog_token *t = tok(ps);
    analog_expr *e = NULL;
    switch (t->kind) {
    case ANALOG_TK_INT:
        e = new_expr(ANALOG_E_INT, here(ps));
        e->u.i = t->i;
        break;
    case ANALOG_TK_FLOAT:
        e = new_expr(ANALOG_E_FLOAT, here(ps));
        e->u.f = t->f;
        break;
    case ANALOG_TK_STRING:
        e = new_expr(ANALOG_E_STRING, here(ps));
        e->u.str.bytes = dup_text(t->str, t->str_len);
        e->u.str.len = t->str_len;
        break;
    case ANALOG_TK_PARAM:
        e = new_expr(ANALOG_E_PARAM, here(ps));
        e->u.name = dup_text(t->text, t->len);
        break;
    case ANALOG_TK_IDENT:
        return parse_identifier(ps);
    case ANALOG_TK_LPAREN:
        return parse_paren(ps);
    default:
        expected(ps, "an expression", "");
        return NULL;
    }
    next(ps);
    return e;
}

/** unary -> '-' unary | primary   (counts the nesting depth) */
static analog_expr *parse_unary(parser *ps)
{
    if (++ps->depth > ANALOG_MAX_DEPTH) {
        error_at(ps, here(ps), "expression nested deeper than %d levels", ANALOG_MAX_DEPTH);
        ps->depth--;
        return NULL;
    }
    analog_expr *e;
    if (at(ps, ANALOG_TK_MINUS)) {
        e = new_expr(ANALOG_E_NEG, here(ps));
        next(ps);
        e->u.operand = parse_unary(ps);
        if (!e->u.operand || !raise_height(ps, e, e->u.operand)) {
            analog_expr_free(e);
            e = NULL;
        }
    } else {
        e = parse_primary(ps);
    }
    ps->depth--;
    return e;
}

/** The binary operator at the current token for the given level, or 0. */
static char binary_op(const parser *ps, int level)
{
    switch (tok(ps)->kind) {
    case ANALOG_TK_PLUS: return level == 0 ? '+' : 0;
    case ANALOG_TK_MINUS: return level == 0 ? '-' : 0;
    case ANALOG_TK_STAR: return level == 1 ? '*' : 0;
    case ANALOG_TK_SLASH: return level == 1 ? '/' : 0;
    case ANALOG_TK_PERCENT: return level == 1 ? '%' : 0;
    default: return 0;
    }
}

/** expr -> mul {('+'|'-') mul} (level 0);  mul -> unary {('*'|'/'|'%') unary} (level 1) */
static analog_expr *parse_binary(parser *ps, int level)
{
    analog_expr *lhs = level == 0 ? parse_binary(ps, 1) : parse_unary(ps);
    char op;
    while (lhs && (op = binary_op(ps, level)) != 0) {
        analog_expr *e = new_expr(ANALOG_E_BINARY, here(ps));
        next(ps);
        e->u.bin.op = op;
        e->u.bin.lhs = lhs;
        e->u.bin.rhs = level == 0 ? parse_binary(ps, 1) : parse_unary(ps);
        lhs = e;
        if (!e->u.bin.rhs || !raise_height(ps, e, e->u.bin.lhs) ||
            !raise_height(ps, e, e->u.bin.rhs)) {
            analog_expr_free(e);
            lhs = NULL;
        }
    }
    return lhs;
}

static analog_expr *parse_expr(parser *ps)
{
    return parse_binary(ps, 0);
}

/* ---- rules ---- */

/** The term operator at the current token, or -1. */
static int term_op(const parser *ps)
{
    switch (tok(ps)->kind) {
    case ANALOG_TK_ASSIGN: return ANALOG_OP_ASSIGN;
    case ANALOG_TK_DEFINE: return ANALOG_OP_DEFINE;
    case ANALOG_TK_EQ: return ANALOG_OP_EQ;
    case ANALOG_TK_NE: return ANALOG_OP_NE;
    case ANALOG_TK_LT: return ANALOG_OP_LT;
    case ANALOG_TK_LE: return ANALOG_OP_LE;
    case ANALOG_TK_GT: return ANALOG_OP_GT;
    case ANALOG_TK_GE: return ANALOG_OP_GE;
    default: return -1;
    }
}

/** term -> VAR ('=' | ':=') expr | expr CMP expr */
static bool parse_term(parser *ps, analog_term *t)
{
    t->lhs = parse_expr(ps);
    if (!t->lhs)
        return false;
    int op = term_op(ps);
    if (op < 0) {
        expected(ps, "a comparison ('==', '!=', '<', '<=', '>', '>=') or an assignment "
                     "('=', ':=')", "after the expression");
        return false;
    }
    t->op = (analog_term_op)op;
    t->pos = here(ps);
    if ((op == ANALOG_OP_ASSIGN || op == ANALOG_OP_DEFINE) && t->lhs->kind != ANALOG_E_VAR) {
        error_at(ps, t->lhs->pos, "expected a variable on the left of '%s'",
                 op == ANALOG_OP_ASSIGN ? "=" : ":=");
        return false;
    }
    next(ps);
    t->rhs = parse_expr(ps);
    return t->rhs != NULL;
}

/** The '@' VAR location specifier opening an atom's arguments. */
static bool parse_location(parser *ps, analog_atom *a, uint32_t *cap)
{
    char context[320];
    snprintf(context, sizeof context, "before the location variable of %s", a->rel);
    if (!expect(ps, ANALOG_TK_AT, context))
        return false;
    if (!at_var(ps)) {
        expected(ps, "a location variable (like N)", "after '@'");
        return false;
    }
    analog_expr *loc = new_expr(ANALOG_E_VAR, here(ps));
    loc->is_location = true;
    loc->u.name = take_name(ps);
    a->args = grow(a->args, a->nargs, cap, sizeof loc);
    a->args[a->nargs++] = loc;
    return true;
}

/** atom -> NAME '(' '@' VAR {',' expr} ')' */
static bool parse_atom(parser *ps, analog_atom *a, const char *role)
{
    if (!at(ps, ANALOG_TK_IDENT) || is_var_name(tok(ps)->text)) {
        expected(ps, "a relation name", role);
        return false;
    }
    a->pos = here(ps);
    a->rel = take_name(ps);
    char context[320];
    snprintf(context, sizeof context, "after relation name %s", a->rel);
    uint32_t cap = 0;
    if (!expect(ps, ANALOG_TK_LPAREN, context) || !parse_location(ps, a, &cap))
        return false;
    snprintf(context, sizeof context, "after the arguments of %s", a->rel);
    while (at(ps, ANALOG_TK_COMMA)) {
        next(ps);
        if (a->nargs == ANALOG_MAX_ARGS) {
            error_at(ps, here(ps), "more than %d arguments to %s", ANALOG_MAX_ARGS, a->rel);
            return false;
        }
        analog_expr *e = parse_expr(ps);
        if (!e)
            return false;
        a->args = grow(a->args, a->nargs, &cap, sizeof e);
        a->args[a->nargs++] = e;
    }
    return expect(ps, ANALOG_TK_RPAREN, context);
}

/** The body after the event atom: {',' term} '.' */
static bool parse_body_terms(parser *ps, analog_rule *r)
{
    uint32_t cap = 0;
    while (at(ps, ANALOG_TK_COMMA)) {
        next(ps);
        if (r->nterms == ANALOG_MAX_TERMS) {
            error_at(ps, here(ps), "rule %s has more than %d body terms", r->label,
                     ANALOG_MAX_TERMS);
            return false;
        }
        r->terms = grow(r->terms, r->nterms, &cap, sizeof *r->terms);
        analog_term *t = &r->terms[r->nterms++];
        memset(t, 0, sizeof *t);
        if (!parse_term(ps, t))
            return false;
    }
    char context[320];
    snprintf(context, sizeof context, "at the end of rule %s", r->label);
    if (at(ps, ANALOG_TK_DOT)) {
        next(ps);
        return true;
    }
    /* a name, '}' or the end next: most likely the '.' was forgotten */
    bool missing_dot = at(ps, ANALOG_TK_IDENT) || at(ps, ANALOG_TK_RBRACE) || at(ps, ANALOG_TK_EOF);
    expected(ps, missing_dot ? "'.'" : "',' or '.'", context);
    return false;
}

/** rule -> NAME atom ':-' atom {',' term} '.' */
static bool parse_rule(parser *ps, analog_rule *r)
{
    if (!at(ps, ANALOG_TK_IDENT) || is_var_name(tok(ps)->text)) {
        expected(ps, "a rule label", "");
        return false;
    }
    r->pos = here(ps);
    r->label = take_name(ps);
    char context[320];
    snprintf(context, sizeof context, "after the head of rule %s", r->label);
    if (!parse_atom(ps, &r->head, "for the head of the rule") ||
        !expect(ps, ANALOG_TK_IF, context) ||
        !parse_atom(ps, &r->event, "for the event of the rule"))
        return false;
    return parse_body_terms(ps, r);
}

/** Skips the rest of a broken rule: past the next '.', or up to '}',
 *  'component' or end of file. Consumes at least one token unless at
 *  one of those. */
static void skip_rule(parser *ps)
{
    while (!at(ps, ANALOG_TK_EOF) && !at(ps, ANALOG_TK_RBRACE) && !at_word(ps, "component")) {
        bool dot = at(ps, ANALOG_TK_DOT);
        next(ps);
        if (dot)
            return;
    }
}

/** Counts one more rule; false (reported, parsing stops) past the cap. */
static bool count_rule(parser *ps)
{
    if (++ps->nrules <= ANALOG_MAX_RULES)
        return true;
    error_at(ps, here(ps), "more than %d rules in the program", ANALOG_MAX_RULES);
    ps->stop = true;
    return false;
}

/** rule* '}' */
static void parse_rules(parser *ps, analog_component *c)
{
    uint32_t cap = 0;
    char context[320];
    snprintf(context, sizeof context, "at the end of component %s", c->name ? c->name : "");
    while (!at(ps, ANALOG_TK_RBRACE) && !ps->stop && !analog_diag_full(ps->d)) {
        if (at(ps, ANALOG_TK_EOF) || at_word(ps, "component")) {
            expected(ps, "'}'", context);
            return;
        }
        if (!count_rule(ps))
            return;
        analog_rule r;
        memset(&r, 0, sizeof r);
        if (parse_rule(ps, &r)) {
            c->rules = grow(c->rules, c->nrules, &cap, sizeof r);
            c->rules[c->nrules++] = r;
        } else {
            analog_rule_clear(&r);
            skip_rule(ps);
        }
    }
    if (at(ps, ANALOG_TK_RBRACE))
        next(ps);
}

/* ---- components ---- */

/** KIND -> 'serial' | 'parallel' | ... ; false if unknown. */
static bool kind_from_word(const parser *ps, analog_kind *k)
{
    static const struct {
        const char *word;
        analog_kind kind;
    } kinds[] = {
        {"serial", ANALOG_SERIAL},
        {"parallel", ANALOG_PARALLEL},
        {"parallel_context_order", ANALOG_PARALLEL_CONTEXT_ORDER},
        {"parallel_context_ordered", ANALOG_PARALLEL_CONTEXT_ORDER},
        {"serial_context_order", ANALOG_SERIAL_CONTEXT_ORDER},
        {"serial_context_ordered", ANALOG_SERIAL_CONTEXT_ORDER},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (at_word(ps, kinds[i].word)) {
            *k = kinds[i].kind;
            return true;
        }
    }
    return false;
}

/** KIND, with a message listing the kinds when it is unknown. */
static bool parse_kind(parser *ps, analog_component *c)
{
    c->kind_pos = here(ps);
    if (kind_from_word(ps, &c->kind)) {
        next(ps);
        return true;
    }
    expected(ps,
             "a component kind (serial, parallel, parallel_context_order or "
             "serial_context_order)",
             "");
    return false;
}

/** key -> NAME '(' INT ')' */
static bool parse_key(parser *ps, analog_context_key *k)
{
    if (!at(ps, ANALOG_TK_IDENT)) {
        expected(ps, "a relation name", "in context_keys");
        return false;
    }
    k->pos = here(ps);
    k->rel = take_name(ps);
    if (!expect(ps, ANALOG_TK_LPAREN, "after the relation name of a context key"))
        return false;
    if (!at(ps, ANALOG_TK_INT) || tok(ps)->i > UINT32_MAX) {
        expected(ps, "an attribute index", "in the context key");
        return false;
    }
    k->index = (uint32_t)tok(ps)->i;
    next(ps);
    return expect(ps, ANALOG_TK_RPAREN, "after the attribute index of a context key");
}

/** 'context_keys' '(' key {',' key} ')' */
static bool parse_keys(parser *ps, analog_component *c)
{
    if (!at_word(ps, "context_keys")) {
        expected(ps, "'context_keys'", "after the component kind");
        return false;
    }
    next(ps);
    if (!expect(ps, ANALOG_TK_LPAREN, "after 'context_keys'"))
        return false;
    uint32_t cap = 0;
    do {
        if (c->nkeys == ANALOG_MAX_KEYS) {
            error_at(ps, here(ps), "more than %d context keys", ANALOG_MAX_KEYS);
            return false;
        }
        c->keys = grow(c->keys, c->nkeys, &cap, sizeof *c->keys);
        analog_context_key *k = &c->keys[c->nkeys++];
        memset(k, 0, sizeof *k);
        if (!parse_key(ps, k))
            return false;
    } while (at(ps, ANALOG_TK_COMMA) && (next(ps), true));
    return expect(ps, ANALOG_TK_RPAREN, "after the context keys");
}

/** NAME '(' KIND [',' keys] ')' '{' */
static bool parse_header(parser *ps, analog_component *c)
{
    if (!at(ps, ANALOG_TK_IDENT)) {
        expected(ps, "a component name", "after 'component'");
        return false;
    }
    c->name = take_name(ps);
    if (!expect(ps, ANALOG_TK_LPAREN, "after the component name") || !parse_kind(ps, c))
        return false;
    if (at(ps, ANALOG_TK_COMMA)) {
        next(ps);
        if (!parse_keys(ps, c))
            return false;
    }
    return expect(ps, ANALOG_TK_RPAREN, "after the component kind") &&
           expect(ps, ANALOG_TK_LBRACE, "to open the component's rules");
}

/** Skips a broken header up to and past '{'; false if a '}',
 *  'component' or end of file came first. */
static bool skip_header(parser *ps)
{
    while (!at(ps, ANALOG_TK_EOF) && !at_word(ps, "component")) {
        analog_tok_kind k = tok(ps)->kind;
        next(ps);
        if (k == ANALOG_TK_LBRACE)
            return true;
        if (k == ANALOG_TK_RBRACE)
            return false;
    }
    return false;
}

/** component -> 'component' NAME '(' KIND [...] ')' '{' rule* '}' */
static void parse_component(parser *ps, analog_component *c)
{
    c->pos = here(ps);
    next(ps); /* 'component' */
    if (!parse_header(ps, c) && !skip_header(ps))
        return;
    parse_rules(ps, c);
}

/** program -> component* */
static void parse_program(parser *ps, analog_program *p)
{
    uint32_t cap = 0;
    while (!at(ps, ANALOG_TK_EOF) && !ps->stop && !analog_diag_full(ps->d)) {
        if (!at_word(ps, "component")) {
            expected(ps, "'component'", "");
            do
                next(ps);
            while (!at(ps, ANALOG_TK_EOF) && !at_word(ps, "component"));
            continue;
        }
        if (p->ncomps == ANALOG_MAX_COMPONENTS) {
            error_at(ps, here(ps), "more than %d components", ANALOG_MAX_COMPONENTS);
            return;
        }
        p->comps = grow(p->comps, p->ncomps, &cap, sizeof *p->comps);
        analog_component *c = &p->comps[p->ncomps++];
        memset(c, 0, sizeof *c);
        parse_component(ps, c);
    }
}

analog_program *analog_parse(const char *file, const char *src, size_t len, analog_diag *d)
{
    analog_diag_set_source(d, file, src, len);
    unsigned errors_before = analog_diag_errors(d);
    if (len > ANALOG_MAX_SOURCE) {
        analog_diag_error(d, 1, 1, "program is %zu bytes, more than the limit of %u", len,
                          ANALOG_MAX_SOURCE);
        return NULL;
    }
    analog_program *p = sx_calloc(1, sizeof *p);
    p->file = dup_text(file, strlen(file));
    p->src = dup_text(src, len);
    p->len = len;
    parser ps = {.d = d};
    /* lex over the program's own copy: token text stays valid with it */
    analog_lex_init(&ps.lx, p->src, len, d);
    next(&ps);
    parse_program(&ps, p);
    analog_lex_free(&ps.lx);
    if (analog_diag_errors(d) != errors_before)
        analog_program_destroy(&p);
    return p;
}
