/*
 * corpus.c -- mail files named on a command line (cli/corpus.h).
 *
 * Design: paths are expanded at once into a flat list of mails (path,
 * offset, length), sorted directory by directory, so every command sees
 * the same mails in the same order; bytes are read later, one mail at a
 * time. Only a file's first line is read to tell mail from not-mail;
 * an mbox file is read whole once, to find where its mails start.
 */
#include "cli/corpus.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/alloc.h"

/* Directory levels walked below a named directory. */
#define DEPTH_MAX 32
/* Bytes of a file's first line looked at (RFC 5322 lines are at most 998). */
#define FIRST_LINE_MAX 1000u
/* Largest mbox file split into mails. */
#define MBOX_MAX (1ull << 32)

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

void cli_corpus_init(cli_corpus *c)
{
    *c = (cli_corpus){0};
}

void cli_corpus_free(cli_corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->mails[i].name != c->mails[i].path)
            free(c->mails[i].name);
        free(c->mails[i].path);
    }
    free(c->mails);
    free(c->first_skipped);
    cli_corpus_init(c);
}

/** A malloc'd copy of s (aborts when out of memory). */
static char *copy(const char *s)
{
    char *d = strdup(s);
    if (!d)
        sx_alloc_fail(strlen(s) + 1);
    return d;
}

/** FNV-1a 64 of a file's base name. */
static uint64_t name_hash_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    uint64_t h = FNV_OFFSET;
    for (const char *p = base; *p; p++)
        h = (h ^ (uint8_t)*p) * FNV_PRIME;
    return h;
}

/** A new last entry of c's mails (grown as needed), uninitialised. */
static cli_mail *mail_slot(cli_corpus *c)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->mails = sx_realloc(c->mails, c->cap * sizeof *c->mails);
    }
    return &c->mails[c->n++];
}

/** Appends a mail of path at [offset, offset + length), its index-th in
 *  the file; name is taken over (NULL: the path). */
static void mail_push(cli_corpus *c, const char *path, char *name, uint64_t offset,
                      uint64_t length, unsigned index, int label)
{
    if (length > CLI_CORPUS_MAIL_MAX)
        length = CLI_CORPUS_MAIL_MAX;
    cli_mail *m = mail_slot(c);
    *m = (cli_mail){.path = copy(path), .offset = offset, .length = length, .index = index,
                    .name_hash = name_hash_of(path), .label = label};
    m->name = name ? name : m->path;
    c->bytes += length;
}

/** Counts a file that is not mail. */
static void skip(cli_corpus *c, const char *path)
{
    if (!c->skipped++)
        c->first_skipped = copy(path);
}

/* field -> name ":" where name is 1*(printable ASCII but ':' and space) */
/** True when line[0..n) starts with a header field's name and colon. */
static bool is_header_line(const uint8_t *line, size_t n)
{
    size_t i = 0;
    while (i < n && line[i] > ' ' && line[i] < 0x7f && line[i] != ':')
        i++;
    return i > 0 && i < n && line[i] == ':';
}

/** True when p[0..n) starts with an mbox "From " line. */
static bool is_from_line(const uint8_t *p, size_t n)
{
    return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/** Where the line after the one at p starts (or end). */
static size_t line_after(const uint8_t *data, size_t n, size_t p)
{
    const uint8_t *nl = memchr(data + p, '\n', n - p);
    return nl ? (size_t)(nl - data) + 1 : n;
}

/** True when a "From " line at p starts a mail: at the file's start, or
 *  after an empty line. */
static bool is_separator(const uint8_t *data, size_t n, size_t p)
{
    if (!is_from_line(data + p, n - p))
        return false;
    if (p == 0)
        return true;
    if (p < 2 || data[p - 1] != '\n')
        return false;
    return data[p - 2] == '\n' || (p >= 3 && data[p - 2] == '\r' && data[p - 3] == '\n');
}

/** Adds the mails of an mbox file's bytes (they start with a "From "
 *  line): each runs from after its "From " line to the next separator. */
static void mbox_split(cli_corpus *c, const char *path, const uint8_t *data, size_t n, int label)
{
    size_t first = c->n, p = 0;
    unsigned index = 0;
    while (p < n) {
        size_t body = line_after(data, n, p), end = body;
        while (end < n && !is_separator(data, n, end))
            end = line_after(data, n, end);
        mail_push(c, path, NULL, body, end - body, ++index, label);
        p = end;
    }
    if (c->n - first < 2)
        return;
    for (size_t i = first; i < c->n; i++) { /* several: name each "path#N" */
        size_t len = strlen(path) + 16;
        char *name = sx_malloc(len);
        snprintf(name, len, "%s#%u", path, c->mails[i].index);
        c->mails[i].name = name;
    }
}

/** Reads up to max bytes of the file at path into buf; the count, or -1
 *  with a message. */
static long read_head(const char *path, uint8_t *buf, size_t max, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t got = fread(buf, 1, max, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "cannot read %s", path);
        return -1;
    }
    return (long)got;
}

/** Adds the mails of the regular file path of size bytes. */
static int add_file(cli_corpus *c, const char *path, uint64_t size, int label, char *err,
                    size_t errlen)
{
    uint8_t head[FIRST_LINE_MAX];
    long got = read_head(path, head, sizeof head, err, errlen);
    if (got < 0)
        return -1;
    if (is_header_line(head, (size_t)got) && !is_from_line(head, (size_t)got)) {
        mail_push(c, path, NULL, 0, size, 1, label);
        return 0;
    }
    if (!is_from_line(head, (size_t)got) || size > MBOX_MAX) {
        skip(c, path);
        return 0;
    }
    uint8_t *data = sx_malloc(size ? size : 1);
    got = read_head(path, data, size, err, errlen);
    if (got >= 0)
        mbox_split(c, path, data, (size_t)got, label);
    free(data);
    return got < 0 ? -1 : 0;
}

/** scandir order: bytewise by name, whatever the locale. */
static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/** scandir filter: no hidden entries (nor "." and ".."). */
static int visible(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

static int add_path(cli_corpus *c, const char *path, int label, int depth, char *err,
                    size_t errlen);

/** Adds the mails below directory path, in name order. */
static int add_dir(cli_corpus *c, const char *path, int label, int depth, char *err,
                   size_t errlen)
{
    struct dirent **list;
    int n = scandir(path, &list, visible, name_cmp);
    if (n < 0) {
        snprintf(err, errlen, "cannot read directory %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path) + strlen(list[i]->d_name) + 2;
        char *child = sx_malloc(len);
        snprintf(child, len, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
                 list[i]->d_name);
        if (rc == 0)
            rc = add_path(c, child, label, depth + 1, err, errlen);
        free(child);
        free(list[i]);
    }
    free(list);
    return rc;
}

/** Adds the mails of a file, or below a directory (depth levels down). */
static int add_path(cli_corpus *c, const char *path, int label, int depth, char *err,
                    size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        if (depth >= DEPTH_MAX) {
            snprintf(err, errlen, "%s: directories nested more than %d deep", path, DEPTH_MAX);
            return -1;
        }
        return add_dir(c, path, label, depth, err, errlen);
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        skip(c, path);
        return 0;
    }
    return add_file(c, path, (uint64_t)st.st_size, label, err, errlen);
}

int cli_corpus_add(cli_corpus *c, const char *path, int label, char *err, size_t errlen)
{
    return add_path(c, path, label, 0, err, errlen);
}

bool cli_corpus_is_test(const cli_mail *m, unsigned test_pct)
{
    return m->name_hash % 100 < test_pct;
}

unsigned cli_corpus_fold(const cli_mail *m, unsigned folds)
{
    return (unsigned)(m->name_hash / 100 % folds);
}

void cli_corpus_split(cli_corpus *c, unsigned test_pct, cli_corpus *test)
{
    size_t k = 0;
    c->bytes = 0;
    for (size_t i = 0; i < c->n; i++) {
        cli_mail m = c->mails[i];
        if (!cli_corpus_is_test(&m, test_pct)) {
            c->mails[k++] = m;
            c->bytes += m.length;
            continue;
        }
        *mail_slot(test) = m;
        test->bytes += m.length;
    }
    c->n = k;
}

uint8_t *cli_corpus_read(const cli_mail *m, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(m->path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", m->path, strerror(errno));
        return NULL;
    }
    uint8_t *data = sx_malloc(m->length ? m->length : 1);
    bool ok = fseeko(f, (off_t)m->offset, SEEK_SET) == 0;
    size_t got = ok ? fread(data, 1, m->length, f) : 0;
    ok = ok && !ferror(f);
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, "cannot read %s", m->path);
        free(data);
        return NULL;
    }
    *len = got; /* a file that shrank since it was listed gives what is left */
    return data;
}

int cli_corpus_parse_split(const char *arg, unsigned *pct)
{
    char *end;
    if (strncmp(arg, "test=", 5) != 0)
        return -1;
    errno = 0;
    unsigned long v = strtoul(arg + 5, &end, 10);
    if (errno || end == arg + 5 || *end || v < 1 || v > 99)
        return -1;
    *pct = (unsigned)v;
    return 0;
}

void cli_corpus_report_skipped(const cli_corpus *c, const char *who)
{
    if (c->skipped)
        fprintf(stderr, "%s: skipped %zu file%s that %s not mail (first: %s)\n", who, c->skipped,
                c->skipped == 1 ? "" : "s", c->skipped == 1 ? "is" : "are", c->first_skipped);
}
