/*
 * lexer.h -- the ANALOG lexer: a buffer in, one token at a time out.
 *
 * Usage (like Lua's llex): analog_lex_init over a buffer, then
 * analog_lex_next() fills lx->tok with the next token until
 * ANALOG_TK_EOF. Errors (unterminated string or comment, invalid
 * character, number overflow, over-long identifier) are reported to the
 * diag at their start and yield an ANALOG_TK_ERROR token, so the parser
 * can tell a token already reported from one it must report.
 *
 * Token text points into the buffer; a string literal's decoded value
 * lives in the lexer's scratch and is valid until the next call.
 */
#ifndef ANALOG_LEXER_H
#define ANALOG_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "analog/diag.h"

#define ANALOG_MAX_IDENT 256      /* bytes in a name, variable or parameter */
#define ANALOG_MAX_STRING 65536   /* bytes in a decoded string literal */

typedef enum analog_tok_kind {
    ANALOG_TK_EOF,
    ANALOG_TK_ERROR, /* already reported */
    ANALOG_TK_IDENT,
    ANALOG_TK_INT,
    ANALOG_TK_FLOAT,
    ANALOG_TK_STRING,
    ANALOG_TK_PARAM, /* $NAME; text is NAME */
    ANALOG_TK_IF,    /* :- */
    ANALOG_TK_DEFINE, /* := */
    ANALOG_TK_EQ,    /* == */
    ANALOG_TK_NE,    /* != */
    ANALOG_TK_LE,    /* <= */
    ANALOG_TK_GE,    /* >= */
    ANALOG_TK_ASSIGN, /* = */
    ANALOG_TK_LT,
    ANALOG_TK_GT,
    ANALOG_TK_AT,
    ANALOG_TK_LPAREN,
    ANALOG_TK_RPAREN,
    ANALOG_TK_LBRACE,
    ANALOG_TK_RBRACE,
    ANALOG_TK_COMMA,
    ANALOG_TK_DOT,
    ANALOG_TK_PLUS,
    ANALOG_TK_MINUS,
    ANALOG_TK_STAR,
    ANALOG_TK_SLASH,
    ANALOG_TK_PERCENT,
} analog_tok_kind;

typedef struct analog_token {
    analog_tok_kind kind;
    uint32_t line, col;
    const char *text; /* identifier or parameter name, in the buffer */
    size_t len;
    int64_t i;         /* ANALOG_TK_INT */
    double f;          /* ANALOG_TK_FLOAT */
    const char *str;   /* ANALOG_TK_STRING: decoded bytes (scratch) */
    size_t str_len;
} analog_token;

typedef struct analog_lexer {
    const char *p, *end;
    const char *line_start;
    uint32_t line;
    analog_diag *d;
    char *scratch; /* decoded string literal */
    size_t scratch_cap;
    analog_token tok;
    int eof_reported; /* an unterminated comment already ran to the end */
} analog_lexer;

/** Starts lexing src[0..len) (NUL bytes are ordinary invalid
 *  characters); errors go to d. Call analog_lex_next for the first token. */
void analog_lex_init(analog_lexer *lx, const char *src, size_t len, analog_diag *d);
/** Advances lx->tok to the next token. */
void analog_lex_next(analog_lexer *lx);
/** Frees the scratch buffer. */
void analog_lex_free(analog_lexer *lx);
/** The spelling of a punctuation kind ("':-'"), or a word ("name"). */
const char *analog_tok_kind_name(analog_tok_kind k);

#endif
