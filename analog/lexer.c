/*
 * lexer.c -- turns ANALOG source bytes into tokens.
 *
 * One pass, no lookahead beyond two bytes, no allocation except the
 * scratch buffer for string literals (grown up to ANALOG_MAX_STRING).
 * Every call consumes at least one byte or returns EOF, so a parser
 * driving it terminates on any input. Positions are 1-based; a column
 * counts bytes from the start of its line.
 *
 * Strings end on their own line (a raw newline inside one is an
 * unterminated string): that keeps one missing quote from swallowing
 * the rest of the file. Escapes: \" \\ \n \t.
 */
#include "lexer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void analog_lex_init(analog_lexer *lx, const char *src, size_t len, analog_diag *d)
{
    memset(lx, 0, sizeof *lx);
    lx->p = src;
    lx->end = src + len;
    lx->line_start = src;
    lx->line = 1;
    lx->d = d;
}

void analog_lex_free(analog_lexer *lx)
{
    free(lx->scratch);
    lx->scratch = NULL;
    lx->scratch_cap = 0;
}

const char *analog_tok_kind_name(analog_tok_kind k)
{
    static const char *const names[] = {
        [ANALOG_TK_EOF] = "end of file",  [ANALOG_TK_ERROR] = "invalid token",
        [ANALOG_TK_IDENT] = "name",       [ANALOG_TK_INT] = "integer",
        [ANALOG_TK_FLOAT] = "number",     [ANALOG_TK_STRING] = "string literal",
        [ANALOG_TK_PARAM] = "parameter",  [ANALOG_TK_IF] = "':-'",
        [ANALOG_TK_DEFINE] = "':='",      [ANALOG_TK_EQ] = "'=='",
        [ANALOG_TK_NE] = "'!='",          [ANALOG_TK_LE] = "'<='",
        [ANALOG_TK_GE] = "'>='",          [ANALOG_TK_ASSIGN] = "'='",
        [ANALOG_TK_LT] = "'<'",           [ANALOG_TK_GT] = "'>'",
        [ANALOG_TK_AT] = "'@'",           [ANALOG_TK_LPAREN] = "'('",
        [ANALOG_TK_RPAREN] = "')'",       [ANALOG_TK_LBRACE] = "'{'",
        [ANALOG_TK_RBRACE] = "'}'",       [ANALOG_TK_COMMA] = "','",
        [ANALOG_TK_DOT] = "'.'",          [ANALOG_TK_PLUS] = "'+'",
        [ANALOG_TK_MINUS] = "'-'",        [ANALOG_TK_STAR] = "'*'",
        [ANALOG_TK_SLASH] = "'/'",        [ANALOG_TK_PERCENT] = "'%'",
    };
    return (unsigned)k < sizeof names / sizeof names[0] && names[k] ? names[k] : "token";
}

/** Column of p on the current line. */
static uint32_t col_of(const analog_lexer *lx, const char *p)
{
    size_t c = (size_t)(p - lx->line_start) + 1;
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

/** Notes a newline at p (p points at the '\n'). */
static void newline(analog_lexer *lx, const char *p)
{
    lx->line++;
    lx->line_start = p + 1;
}

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_ident_char(int c)
{
    return is_ident_start(c) || is_digit(c);
}

/** Skips a comment starting at lx->p ("/" already seen followed by '*');
 *  returns 0, or -1 (reported at its start) when it never ends. */
static int skip_block_comment(analog_lexer *lx)
{
    uint32_t line = lx->line, col = col_of(lx, lx->p);
    const char *p = lx->p + 2;
    for (; p + 1 < lx->end; p++) {
        if (*p == '\n')
            newline(lx, p);
        else if (p[0] == '*' && p[1] == '/') {
            lx->p = p + 2;
            return 0;
        }
    }
    if (p < lx->end && *p == '\n')
        newline(lx, p);
    lx->p = lx->end;
    lx->eof_reported = 1;
    analog_diag_error(lx->d, line, col, "unterminated comment");
    return -1;
}

/** Skips blanks and comments; returns -1 if a comment never ended. */
static int skip_space(analog_lexer *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            newline(lx, lx->p);
            lx->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lx->p++;
        } else if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '/') {
            const char *nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
            lx->p = nl ? nl : lx->end;
        } else if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
            if (skip_block_comment(lx) != 0)
                return -1;
        } else {
            break;
        }
    }
    return 0;
}

/** Appends byte c to the scratch; -1 past ANALOG_MAX_STRING. */
static int scratch_put(analog_lexer *lx, size_t n, char c)
{
    if (n >= ANALOG_MAX_STRING)
        return -1;
    if (n + 1 > lx->scratch_cap) {
        size_t cap = lx->scratch_cap ? lx->scratch_cap * 2 : 64;
        char *s = realloc(lx->scratch, cap);
        if (!s)
            return -1;
        lx->scratch = s;
        lx->scratch_cap = cap;
    }
    lx->scratch[n] = c;
    return 0;
}

/** Decodes the escape after a backslash at p; returns the byte or -1. */
static int escape_value(char c)
{
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case 'n': return '\n';
    case 't': return '\t';
    default: return -1;
    }
}

/** string -> '"' { char | '\' ESC } '"' on one line. */
static void lex_string(analog_lexer *lx, analog_token *t)
{
    const char *p = lx->p + 1;
    size_t n = 0;
    int bad = 0;
    while (p < lx->end && *p != '"' && *p != '\n') {
        char c = *p++;
        if (c == '\\' && p < lx->end && *p != '\n') {
            int v = escape_value(*p);
            if (v < 0) {
                analog_diag_error(lx->d, lx->line, col_of(lx, p - 1),
                                  "unknown escape sequence '\\%c' in string literal",
                                  (*p >= 0x20 && *p < 0x7f) ? *p : '?');
                bad = 1;
            }
            c = (char)v;
            p++;
        }
        if (!bad && scratch_put(lx, n++, c) != 0) {
            analog_diag_error(lx->d, t->line, t->col, "string literal longer than %d bytes",
                              ANALOG_MAX_STRING);
            bad = 1;
        }
    }
    if (p >= lx->end || *p != '"') {
        analog_diag_error(lx->d, t->line, t->col, "unterminated string literal");
        lx->p = p;
        t->kind = ANALOG_TK_ERROR;
        return;
    }
    lx->p = p + 1;
    t->kind = bad ? ANALOG_TK_ERROR : ANALOG_TK_STRING;
    t->str = n ? lx->scratch : "";
    t->str_len = n;
}

/** number -> DIGITS [ '.' DIGITS ] [ ('e'|'E') ['+'|'-'] DIGITS ] */
static void lex_number(analog_lexer *lx, analog_token *t)
{
    const char *p = lx->p, *start = p;
    int is_float = 0;
    while (p < lx->end && is_digit(*p))
        p++;
    if (p + 1 < lx->end && *p == '.' && is_digit(p[1])) {
        is_float = 1;
        for (p++; p < lx->end && is_digit(*p);)
            p++;
    }
    if (p < lx->end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (q < lx->end && (*q == '+' || *q == '-'))
            q++;
        if (q < lx->end && is_digit(*q)) {
            is_float = 1;
            for (p = q; p < lx->end && is_digit(*p);)
                p++;
        }
    }
    lx->p = p;
    size_t n = (size_t)(p - start);
    if (n > 400) {
        analog_diag_error(lx->d, t->line, t->col, "number too long");
        t->kind = ANALOG_TK_ERROR;
        return;
    }
    char buf[401];
    memcpy(buf, start, n);
    buf[n] = '\0';
    errno = 0;
    if (is_float) {
        t->f = strtod(buf, NULL);
        t->kind = ANALOG_TK_FLOAT;
        if (errno == ERANGE && isinf(t->f)) {
            analog_diag_error(lx->d, t->line, t->col, "number %s is too large", buf);
            t->kind = ANALOG_TK_ERROR;
        }
    } else {
        unsigned long long v = strtoull(buf, NULL, 10);
        t->kind = ANALOG_TK_INT;
        t->i = (int64_t)v;
        if (errno == ERANGE || v > INT64_MAX) {
            analog_diag_error(lx->d, t->line, t->col,
                              "integer %s does not fit in 64 bits", buf);
            t->kind = ANALOG_TK_ERROR;
        }
    }
}

/** Scans an identifier at p; returns its length (may exceed the cap). */
static size_t ident_length(const analog_lexer *lx, const char *p)
{
    const char *q = p;
    while (q < lx->end && is_ident_char(*q))
        q++;
    return (size_t)(q - p);
}

/** IDENT -> [A-Za-z_][A-Za-z0-9_]* ; PARAM -> '$' IDENT */
static void lex_name(analog_lexer *lx, analog_token *t, int is_param)
{
    const char *p = lx->p + (is_param ? 1 : 0);
    size_t n = ident_length(lx, p);
    lx->p = p + n;
    t->text = p;
    t->len = n;
    t->kind = is_param ? ANALOG_TK_PARAM : ANALOG_TK_IDENT;
    if (is_param && n == 0) {
        analog_diag_error(lx->d, t->line, t->col, "expected a parameter name after '$'");
        t->kind = ANALOG_TK_ERROR;
    } else if (n > ANALOG_MAX_IDENT) {
        analog_diag_error(lx->d, t->line, t->col, "name longer than %d bytes",
                          ANALOG_MAX_IDENT);
        t->kind = ANALOG_TK_ERROR;
    }
}

/** Punctuation of two bytes, or -1. */
static int two_char(char a, char b)
{
    if (a == ':' && b == '-') return ANALOG_TK_IF;
    if (a == ':' && b == '=') return ANALOG_TK_DEFINE;
    if (a == '=' && b == '=') return ANALOG_TK_EQ;
    if (a == '!' && b == '=') return ANALOG_TK_NE;
    if (a == '<' && b == '=') return ANALOG_TK_LE;
    if (a == '>' && b == '=') return ANALOG_TK_GE;
    return -1;
}

/** Punctuation of one byte, or -1. */
static int one_char(char c)
{
    switch (c) {
    case '=': return ANALOG_TK_ASSIGN;
    case '<': return ANALOG_TK_LT;
    case '>': return ANALOG_TK_GT;
    case '@': return ANALOG_TK_AT;
    case '(': return ANALOG_TK_LPAREN;
    case ')': return ANALOG_TK_RPAREN;
    case '{': return ANALOG_TK_LBRACE;
    case '}': return ANALOG_TK_RBRACE;
    case ',': return ANALOG_TK_COMMA;
    case '.': return ANALOG_TK_DOT;
    case '+': return ANALOG_TK_PLUS;
    case '-': return ANALOG_TK_MINUS;
    case '*': return ANALOG_TK_STAR;
    case '/': return ANALOG_TK_SLASH;
    case '%': return ANALOG_TK_PERCENT;
    default: return -1;
    }
}

/** Punctuation, or an invalid character (reported, shown in hex when
 *  not printable). */
static void lex_punct(analog_lexer *lx, analog_token *t)
{
    char c = *lx->p;
    int k = lx->p + 1 < lx->end ? two_char(c, lx->p[1]) : -1;
    if (k >= 0) {
        lx->p += 2;
        t->kind = (analog_tok_kind)k;
        return;
    }
    lx->p++;
    k = one_char(c);
    if (k >= 0) {
        t->kind = (analog_tok_kind)k;
        return;
    }
    unsigned char u = (unsigned char)c;
    if (u >= 0x21 && u < 0x7f)
        analog_diag_error(lx->d, t->line, t->col, "invalid character '%c'", c);
    else
        analog_diag_error(lx->d, t->line, t->col, "invalid character 0x%02x", u);
    t->kind = ANALOG_TK_ERROR;
}

void analog_lex_next(analog_lexer *lx)
{
    analog_token *t = &lx->tok;
    memset(t, 0, sizeof *t);
    if (skip_space(lx) != 0) {
        t->kind = ANALOG_TK_ERROR; /* the unterminated comment ran to EOF */
        t->line = lx->line;
        t->col = col_of(lx, lx->p);
        return;
    }
    t->line = lx->line;
    t->col = col_of(lx, lx->p);
    if (lx->p >= lx->end) {
        t->kind = ANALOG_TK_EOF;
        return;
    }
    const char *start = lx->p;
    char c = *start;
    if (is_ident_start(c) || c == '$') {
        lex_name(lx, t, c == '$');
        return; /* text is the name, without '$' */
    }
    if (is_digit(c))
        lex_number(lx, t);
    else if (c == '"')
        lex_string(lx, t);
    else
        lex_punct(lx, t);
    t->text = start;
    t->len = (size_t)(lx->p - start);
}
