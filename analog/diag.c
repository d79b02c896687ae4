/*
 * diag.c -- the list of errors and warnings of one front-end run.
 *
 * Entries are copied at add time (file name, message, offending line cut
 * to ANALOG_DIAG_LINE_MAX bytes), so nothing borrowed is needed at print
 * time. The list is capped at ANALOG_DIAG_MAX entries: hostile input
 * (a megabyte of stray bytes) costs one counter increment per extra
 * error, never memory.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ANALOG_DIAG_LINE_MAX 240 /* bytes of the offending line kept */
#define ANALOG_DIAG_MSG_MAX 512

typedef struct diag_entry {
    int is_error;
    uint32_t line, col;
    char *file;
    char *msg;
    char *text; /* the offending line, NUL-terminated, or NULL */
} diag_entry;

struct analog_diag {
    const char *file; /* current source, borrowed */
    const char *src;
    size_t len;
    diag_entry entries[ANALOG_DIAG_MAX];
    unsigned n;
    unsigned errors, warnings;
    unsigned dropped;
};

analog_diag *analog_diag_new(void)
{
    return calloc(1, sizeof(analog_diag));
}

void analog_diag_destroy(analog_diag **dp)
{
    if (!dp || !*dp)
        return;
    analog_diag *d = *dp;
    for (unsigned i = 0; i < d->n; i++) {
        free(d->entries[i].file);
        free(d->entries[i].msg);
        free(d->entries[i].text);
    }
    free(d);
    *dp = NULL;
}

void analog_diag_set_source(analog_diag *d, const char *file, const char *src, size_t len)
{
    d->file = file;
    d->src = src;
    d->len = len;
}

/** Copies line `line` (1-based) of the current source, or NULL. */
static char *copy_line(const analog_diag *d, uint32_t line)
{
    if (!d->src || line == 0)
        return NULL;
    const char *p = d->src, *end = d->src + d->len;
    for (uint32_t l = 1; l < line; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return NULL;
        p = nl + 1;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)((nl ? nl : end) - p);
    if (n > ANALOG_DIAG_LINE_MAX)
        n = ANALOG_DIAG_LINE_MAX;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        /* keep the terminal sane: control bytes and non-ASCII become '?' */
        s[i] = (c == '\t' || (c >= 0x20 && c < 0x7f)) ? (char)c : '?';
    }
    if (n > 0 && s[n - 1] == '\r')
        n--;
    s[n] = '\0';
    return s;
}

/** Records one diagnostic, or only counts it once the list is full. */
static void add(analog_diag *d, int is_error, uint32_t line, uint32_t col, const char *fmt,
                va_list ap)
{
    if (is_error)
        d->errors++;
    else
        d->warnings++;
    if (d->n == ANALOG_DIAG_MAX) {
        d->dropped++;
        return;
    }
    char msg[ANALOG_DIAG_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    diag_entry *e = &d->entries[d->n++];
    e->is_error = is_error;
    e->line = line;
    e->col = col;
    e->file = strdup(d->file ? d->file : "<input>");
    e->msg = strdup(msg);
    e->text = copy_line(d, line);
}

void analog_diag_error(analog_diag *d, uint32_t line, uint32_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, 1, line, col, fmt, ap);
    va_end(ap);
}

void analog_diag_warning(analog_diag *d, uint32_t line, uint32_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, 0, line, col, fmt, ap);
    va_end(ap);
}

unsigned analog_diag_errors(const analog_diag *d)
{
    return d->errors;
}

unsigned analog_diag_warnings(const analog_diag *d)
{
    return d->warnings;
}

int analog_diag_full(const analog_diag *d)
{
    return d->n == ANALOG_DIAG_MAX;
}

/** Prints the source line and a caret under column col (tabs kept, so
 *  the caret lines up however the terminal expands them). */
static void print_caret(FILE *out, const char *text, uint32_t col)
{
    fprintf(out, "%s\n", text);
    size_t n = strlen(text);
    if (col == 0 || col > n + 1)
        return; /* the column lies past the part of the line kept */
    for (uint32_t i = 1; i < col; i++)
        fputc(i - 1 < n && text[i - 1] == '\t' ? '\t' : ' ', out);
    fputs("^\n", out);
}

void analog_diag_print(const analog_diag *d, FILE *out)
{
    for (unsigned i = 0; i < d->n; i++) {
        const diag_entry *e = &d->entries[i];
        fprintf(out, "%s:%u:%u: %s: %s\n", e->file ? e->file : "<input>", e->line, e->col,
                e->is_error ? "error" : "warning", e->msg ? e->msg : "(out of memory)");
        if (e->text)
            print_caret(out, e->text, e->col);
    }
    if (d->dropped)
        fprintf(out, "%s: error: too many errors, %u more not shown\n",
                d->n ? d->entries[d->n - 1].file : "<input>", d->dropped);
}
