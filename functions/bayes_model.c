/*
 * bayes_model.c -- a naive Bayes model's counts, and its file form
 * (functions/bayes_model.h).
 *
 * Design: one open-addressing table (linear probing, at most half
 * full, doubled as training grows it) maps a token's 64-bit hash to a
 * row of per-class counts; the counts live in one array, row i at
 * counts[i * nclasses], so a lookup touches two cache lines. Hash 0
 * marks an empty slot, so a token hashing to 0 is stored as 1 (the
 * one collision this costs is 2^-64 likely). A loaded model is never
 * written again, so readers need no lock.
 *
 * File format, version 1 (integers unsigned little-endian, reals IEEE
 * 754 binary64 little-endian):
 *
 *   offset size  field
 *   0      8     magic "SXNBAYES"
 *   8      4     format version: 1
 *   12     4     tokenizer version (FN_BAYES_TOKENIZER_VERSION): token
 *                hashes mean words only to the tokenizer that made them
 *   16     4     method: 0 Robinson/Fisher, 1 multinomial
 *   20     4     C, the number of classes: 2 to 32
 *   24     8     Robinson s (strength), > 0
 *   32     8     Robinson x (unknown-token probability), in (0, 1)
 *   40     8     Robinson minimum deviation, in [0, 0.5)
 *   48     4     Robinson most clues (0: all)
 *   52     4     reserved, 0
 *   56     8     multinomial alpha, > 0
 *   64     8     T, the number of tokens
 *   72           C class records: u32 name length L (1..64), L bytes of
 *                name (printable ASCII, no space), u64 training mails,
 *                f64 decision threshold (in [0, 1], or -1: none)
 *   ...          T token records: u64 token hash (FNV-1a 64 of the
 *                token's text; 0 is written as 1), then C u32 counts
 *                (mails of each class holding the token, at most that
 *                class's mails, not all 0); hashes strictly increasing
 *   end - 8  8   FNV-1a 64 of every byte before it
 *
 * The loader checks each field, so an empty, truncated, foreign or
 * corrupt file is refused with a message naming what is wrong.
 */
#include "functions/bayes_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "functions/fn_args.h"
#include "proto/alloc.h"
#include "proto/value.h"

#define MAGIC "SXNBAYES"
#define HEADER_BYTES 72u
#define TABLE_START 1024u
/* Largest model file read (a model of ten million tokens is ~200 MB). */
#define FILE_MAX (1ull << 32)

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

struct fn_bayes_model {
    unsigned nclasses;
    char names[FN_BAYES_CLASSES_MAX][FN_BAYES_NAME_MAX + 1];
    uint64_t mails[FN_BAYES_CLASSES_MAX];
    uint64_t total[FN_BAYES_CLASSES_MAX]; /* sum of the class's counts */
    double threshold[FN_BAYES_CLASSES_MAX];
    fn_bayes_params params;
    uint64_t *keys;   /* cap slots; 0: empty */
    uint32_t *counts; /* cap rows of nclasses */
    size_t cap, used;
    uint64_t live;    /* rows with a count above 0 */
};

void fn_bayes_params_defaults(fn_bayes_params *p)
{
    *p = (fn_bayes_params){.method = FN_BAYES_ROBINSON, .strength = 0.25, .unknown_prob = 0.5,
                           .min_dev = 0.1, .max_clues = 150, .alpha = 1.0};
}

const char *fn_bayes_method_name(fn_bayes_method m)
{
    return m == FN_BAYES_MULTINOMIAL ? "multinomial" : "robinson";
}

/** NULL when p is usable, else what is wrong with it. */
static const char *params_problem(const fn_bayes_params *p)
{
    if (p->method != FN_BAYES_ROBINSON && p->method != FN_BAYES_MULTINOMIAL)
        return "unknown method";
    if (!(p->strength > 0 && p->strength < 1e6))
        return "Robinson strength not in (0, 1e6)";
    if (!(p->unknown_prob > 0 && p->unknown_prob < 1))
        return "Robinson unknown-token probability not in (0, 1)";
    if (!(p->min_dev >= 0 && p->min_dev < 0.5))
        return "Robinson minimum deviation not in [0, 0.5)";
    if (!(p->alpha > 0 && p->alpha < 1e6))
        return "multinomial alpha not in (0, 1e6)";
    return NULL;
}

/** NULL when name can name a class, else what is wrong with it. */
static const char *name_problem(const char *name, size_t len)
{
    if (len < 1 || len > FN_BAYES_NAME_MAX)
        return "class names are 1 to 64 bytes";
    for (size_t i = 0; i < len; i++)
        if (name[i] <= ' ' || name[i] > '~')
            return "class names are printable ASCII without spaces";
    return NULL;
}

/** An empty model of n classes with parameters p (checked by the caller). */
static fn_bayes_model *model_alloc(unsigned n, const fn_bayes_params *p, size_t cap)
{
    fn_bayes_model *m = sx_calloc(1, sizeof *m);
    m->nclasses = n;
    m->params = *p;
    m->cap = cap;
    m->keys = sx_calloc(cap, sizeof *m->keys);
    m->counts = sx_calloc(cap * n, sizeof *m->counts);
    for (unsigned i = 0; i < n; i++)
        m->threshold[i] = FN_BAYES_NO_THRESHOLD;
    return m;
}

fn_bayes_model *fn_bayes_model_new(const char *const *names, unsigned nclasses,
                                   const fn_bayes_params *p, char *err, size_t errlen)
{
    fn_bayes_params defaults;
    fn_bayes_params_defaults(&defaults);
    if (!p)
        p = &defaults;
    const char *problem = params_problem(p);
    if (problem) {
        fn_args_errorf(err, errlen, "bad parameters: %s", problem);
        return NULL;
    }
    if (nclasses < 2 || nclasses > FN_BAYES_CLASSES_MAX) {
        fn_args_errorf(err, errlen, "a model has 2 to %u classes, not %u", FN_BAYES_CLASSES_MAX,
                       nclasses);
        return NULL;
    }
    for (unsigned i = 0; i < nclasses; i++) {
        if ((problem = name_problem(names[i], strlen(names[i])))) {
            fn_args_errorf(err, errlen, "class '%s': %s", names[i], problem);
            return NULL;
        }
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) {
                fn_args_errorf(err, errlen, "class '%s' named twice", names[i]);
                return NULL;
            }
    }
    fn_bayes_model *m = model_alloc(nclasses, p, TABLE_START);
    for (unsigned i = 0; i < nclasses; i++)
        snprintf(m->names[i], sizeof m->names[i], "%s", names[i]);
    return m;
}

void fn_bayes_model_destroy(fn_bayes_model **mp)
{
    fn_bayes_model *m = *mp;
    if (!m)
        return;
    free(m->keys);
    free(m->counts);
    free(m);
    *mp = NULL;
}

/* ---- the table ---- */

/** True when row (of m's classes) has a count above 0. */
static bool row_live(const fn_bayes_model *m, const uint32_t *row)
{
    for (unsigned c = 0; c < m->nclasses; c++)
        if (row[c])
            return true;
    return false;
}

/** The key a token hash is stored under (0 marks an empty slot). */
static uint64_t key_of(uint64_t hash)
{
    return hash ? hash : 1;
}

/** The slot holding key, or the empty slot where it would go. */
static size_t slot_of(const fn_bayes_model *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = (size_t)sx_hash_mix(key) & mask;
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

/** Doubles the table, moving every row. */
static void table_grow(fn_bayes_model *m)
{
    fn_bayes_model old = *m;
    m->cap *= 2;
    m->keys = sx_calloc(m->cap, sizeof *m->keys);
    m->counts = sx_calloc(m->cap * m->nclasses, sizeof *m->counts);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.keys[i])
            continue;
        size_t j = slot_of(m, old.keys[i]);
        m->keys[j] = old.keys[i];
        memcpy(&m->counts[j * m->nclasses], &old.counts[i * m->nclasses],
               m->nclasses * sizeof *m->counts);
    }
    free(old.keys);
    free(old.counts);
}

/** The counts row of key, inserted (all 0) when new. */
static uint32_t *row_insert(fn_bayes_model *m, uint64_t key)
{
    if (2 * (m->used + 1) > m->cap)
        table_grow(m);
    size_t i = slot_of(m, key);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->used++;
    }
    return &m->counts[i * m->nclasses];
}

const uint32_t *fn_bayes_model_counts(const fn_bayes_model *m, uint64_t hash)
{
    size_t i = slot_of(m, key_of(hash));
    return m->keys[i] ? &m->counts[i * m->nclasses] : NULL;
}

void fn_bayes_model_add(fn_bayes_model *m, unsigned cls, const fn_bayes_tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        uint32_t *row = row_insert(m, key_of(t->hash[i]));
        m->live += !row_live(m, row);
        if (row[cls] < UINT32_MAX) {
            row[cls]++;
            m->total[cls]++;
        }
    }
    m->mails[cls]++;
}

void fn_bayes_model_remove(fn_bayes_model *m, unsigned cls, const fn_bayes_tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        size_t s = slot_of(m, key_of(t->hash[i]));
        uint32_t *row = &m->counts[s * m->nclasses];
        if (m->keys[s] && row[cls]) {
            row[cls]--;
            m->total[cls]--;
            m->live -= !row_live(m, row);
        }
    }
    if (m->mails[cls])
        m->mails[cls]--;
}

void fn_bayes_model_set_threshold(fn_bayes_model *m, unsigned cls, double threshold)
{
    m->threshold[cls] = threshold;
}

/* ---- accessors ---- */

unsigned fn_bayes_model_classes(const fn_bayes_model *m)
{
    return m->nclasses;
}

const char *fn_bayes_model_class_name(const fn_bayes_model *m, unsigned i)
{
    return m->names[i];
}

int fn_bayes_model_class_find(const fn_bayes_model *m, const char *name)
{
    for (unsigned i = 0; i < m->nclasses; i++)
        if (!strcmp(m->names[i], name))
            return (int)i;
    return -1;
}

uint64_t fn_bayes_model_class_mails(const fn_bayes_model *m, unsigned i)
{
    return m->mails[i];
}

uint64_t fn_bayes_model_class_total(const fn_bayes_model *m, unsigned i)
{
    return m->total[i];
}

double fn_bayes_model_threshold(const fn_bayes_model *m, unsigned i)
{
    return m->threshold[i];
}

const fn_bayes_params *fn_bayes_model_params(const fn_bayes_model *m)
{
    return &m->params;
}

uint64_t fn_bayes_model_tokens(const fn_bayes_model *m)
{
    return m->live;
}

/* ---- writing ---- */

/** A file being written, with the running checksum of its bytes. */
typedef struct writer {
    FILE *f;
    uint64_t sum;
} writer;

/** Writes n bytes and adds them to the checksum. */
static void put(writer *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        w->sum = (w->sum ^ b[i]) * FNV_PRIME;
    fwrite(p, 1, n, w->f);
}

/** Writes x as little-endian, in bytes bytes (4 or 8). */
static void put_uint(writer *w, uint64_t x, unsigned bytes)
{
    uint8_t le[8];
    for (unsigned i = 0; i < bytes; i++)
        le[i] = (uint8_t)(x >> (8 * i));
    put(w, le, bytes);
}

/** Writes a double as its IEEE 754 bits, little-endian. */
static void put_f64(writer *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    put_uint(w, bits, 8);
}

/** A live row of the table: its key and slot. */
typedef struct keyed_slot {
    uint64_t key;
    size_t slot;
} keyed_slot;

/** qsort order of keyed slots: by key. */
static int keyed_cmp(const void *a, const void *b)
{
    uint64_t x = ((const keyed_slot *)a)->key, y = ((const keyed_slot *)b)->key;
    return x < y ? -1 : x > y;
}

/** The live rows of m, sorted by key; their number in *n. The caller
 *  frees the array. */
static keyed_slot *sorted_slots(const fn_bayes_model *m, size_t *n)
{
    keyed_slot *rows = sx_malloc((m->used ? m->used : 1) * sizeof *rows);
    size_t k = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] && row_live(m, &m->counts[i * m->nclasses]))
            rows[k++] = (keyed_slot){m->keys[i], i};
    qsort(rows, k, sizeof *rows, keyed_cmp);
    *n = k;
    return rows;
}

/** Writes m's header and class records. */
static void put_header(writer *w, const fn_bayes_model *m, size_t ntokens)
{
    const fn_bayes_params *p = &m->params;
    put(w, MAGIC, 8);
    put_uint(w, FN_BAYES_FORMAT_VERSION, 4);
    put_uint(w, FN_BAYES_TOKENIZER_VERSION, 4);
    put_uint(w, (uint64_t)p->method, 4);
    put_uint(w, m->nclasses, 4);
    put_f64(w, p->strength);
    put_f64(w, p->unknown_prob);
    put_f64(w, p->min_dev);
    put_uint(w, p->max_clues, 4);
    put_uint(w, 0, 4);
    put_f64(w, p->alpha);
    put_uint(w, ntokens, 8);
    for (unsigned c = 0; c < m->nclasses; c++) {
        size_t len = strlen(m->names[c]);
        put_uint(w, len, 4);
        put(w, m->names[c], len);
        put_uint(w, m->mails[c], 8);
        put_f64(w, m->threshold[c]);
    }
}

int fn_bayes_model_save(const fn_bayes_model *m, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return fn_args_errorf(err, errlen, "%s: path too long", path);
    writer w = {.f = fopen(tmp, "wb"), .sum = FNV_OFFSET};
    if (!w.f)
        return fn_args_errorf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    size_t n;
    keyed_slot *rows = sorted_slots(m, &n);
    put_header(&w, m, n);
    for (size_t i = 0; i < n; i++) {
        put_uint(&w, rows[i].key, 8);
        for (unsigned c = 0; c < m->nclasses; c++)
            put_uint(&w, m->counts[rows[i].slot * m->nclasses + c], 4);
    }
    free(rows);
    put_uint(&w, w.sum, 8);
    bool bad = ferror(w.f) != 0;
    int e = errno;
    if (fclose(w.f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = true;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        return fn_args_errorf(err, errlen, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

/* ---- reading ---- */

/** A model file in memory, read front to back. */
typedef struct reader {
    const uint8_t *p;
    size_t n, off;
} reader;

/** Reads a little-endian integer of bytes bytes (the caller checked
 *  that they are there). */
static uint64_t get_uint(reader *r, unsigned bytes)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < bytes; i++)
        x |= (uint64_t)r->p[r->off + i] << (8 * i);
    r->off += bytes;
    return x;
}

/** Reads a double. */
static double get_f64(reader *r)
{
    uint64_t bits = get_uint(r, 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/** Reads the whole file at path into *data (the caller frees it).
 *  0, or -1 with a message. */
static int slurp(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fn_args_errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > FILE_MAX) {
        fclose(f);
        return fn_args_errorf(err, errlen, "%s: not a regular file of at most 4 GiB", path);
    }
    *len = (size_t)st.st_size;
    *data = sx_malloc(*len);
    size_t got = fread(*data, 1, *len, f);
    fclose(f);
    if (got != *len) {
        free(*data);
        return fn_args_errorf(err, errlen, "%s: read error", path);
    }
    return 0;
}

/** Checks the header fields read into p and n; NULL or the problem. */
static const char *header_problem(reader *r, fn_bayes_params *p, unsigned *nclasses,
                                  uint64_t *ntokens)
{
    if (memcmp(r->p, MAGIC, 8) != 0)
        return "not a Scalanytics naive Bayes model (no SXNBAYES magic)";
    r->off = 8;
    uint64_t version = get_uint(r, 4), tokenizer = get_uint(r, 4), method = get_uint(r, 4);
    *nclasses = (unsigned)get_uint(r, 4);
    if (version != FN_BAYES_FORMAT_VERSION)
        return "a model file of another format version (this build reads version 1)";
    if (tokenizer != FN_BAYES_TOKENIZER_VERSION)
        return "made by another tokenizer version: train it again";
    p->method = (fn_bayes_method)method;
    p->strength = get_f64(r);
    p->unknown_prob = get_f64(r);
    p->min_dev = get_f64(r);
    p->max_clues = (uint32_t)get_uint(r, 4);
    uint64_t reserved = get_uint(r, 4);
    p->alpha = get_f64(r);
    *ntokens = get_uint(r, 8);
    if (method > FN_BAYES_MULTINOMIAL || params_problem(p) || reserved)
        return "corrupt: bad parameters";
    if (*nclasses < 2 || *nclasses > FN_BAYES_CLASSES_MAX)
        return "corrupt: the class count is not 2 to 32";
    return NULL;
}

/** Reads the class records into m; NULL or the problem. */
static const char *classes_read(reader *r, fn_bayes_model *m)
{
    for (unsigned c = 0; c < m->nclasses; c++) {
        if (r->n - r->off < 4)
            return "truncated in the class records";
        uint64_t len = get_uint(r, 4);
        if (len < 1 || len > FN_BAYES_NAME_MAX || r->n - r->off < len + 16)
            return "corrupt or truncated class record";
        if (name_problem((const char *)r->p + r->off, (size_t)len))
            return "corrupt: a class name is not printable ASCII";
        memcpy(m->names[c], r->p + r->off, (size_t)len);
        m->names[c][len] = 0;
        r->off += (size_t)len;
        m->mails[c] = get_uint(r, 8);
        double t = get_f64(r);
        if (!(t == FN_BAYES_NO_THRESHOLD || (t >= 0 && t <= 1)))
            return "corrupt: a decision threshold is not in [0, 1]";
        m->threshold[c] = t;
        for (unsigned j = 0; j < c; j++)
            if (!strcmp(m->names[c], m->names[j]))
                return "corrupt: a class is named twice";
    }
    return NULL;
}

/** Reads the token records into m's table; NULL or the problem. */
static const char *tokens_read(reader *r, fn_bayes_model *m, uint64_t ntokens)
{
    uint64_t prev = 0;
    for (uint64_t t = 0; t < ntokens; t++) {
        uint64_t key = get_uint(r, 8);
        if (key <= prev)
            return "corrupt: token hashes out of order";
        prev = key;
        size_t s = slot_of(m, key);
        m->keys[s] = key;
        m->used++;
        uint32_t *row = &m->counts[s * m->nclasses];
        for (unsigned c = 0; c < m->nclasses; c++) {
            row[c] = (uint32_t)get_uint(r, 4);
            if (row[c] > m->mails[c])
                return "corrupt: a token count exceeds its class's mails";
            m->total[c] += row[c];
        }
        if (!row_live(m, row))
            return "corrupt: a token with no count";
        m->live++;
    }
    return NULL;
}

/** True when the FNV-1a 64 of all but the last 8 bytes of r's file
 *  is what those 8 bytes say. */
static bool checksum_ok(const reader *r)
{
    uint64_t sum = FNV_OFFSET;
    for (size_t i = 0; i < r->n - 8; i++)
        sum = (sum ^ r->p[i]) * FNV_PRIME;
    reader tail = {.p = r->p, .n = r->n, .off = r->n - 8};
    return get_uint(&tail, 8) == sum;
}

/** Checks that the file ends exactly where ntokens records and the
 *  checksum after r's position end, and the checksum; NULL or the
 *  problem. */
static const char *size_problem(const reader *r, uint64_t ntokens, uint64_t row_bytes)
{
    uint64_t left = r->n - r->off;
    if (left < 8 || ntokens > (left - 8) / row_bytes)
        return "truncated (the file is shorter than its token count says)";
    if (left - 8 != ntokens * row_bytes)
        return "corrupt: bytes after the last token record";
    return checksum_ok(r) ? NULL : "corrupt: checksum mismatch";
}

/** Parses a model file's bytes; NULL with the problem in *problem. */
static fn_bayes_model *model_parse(reader *r, const char **problem)
{
    fn_bayes_params p;
    unsigned nclasses;
    uint64_t ntokens;
    if ((*problem = header_problem(r, &p, &nclasses, &ntokens)))
        return NULL;
    uint64_t row_bytes = 8 + 4ull * nclasses;
    if (ntokens > r->n / row_bytes) {
        *problem = "truncated (the file is shorter than its token count says)";
        return NULL;
    }
    size_t cap = TABLE_START;
    while (cap / 2 < ntokens)
        cap *= 2;
    fn_bayes_model *m = model_alloc(nclasses, &p, cap);
    if (!(*problem = classes_read(r, m)) && !(*problem = size_problem(r, ntokens, row_bytes)))
        *problem = tokens_read(r, m, ntokens);
    if (*problem)
        fn_bayes_model_destroy(&m);
    return m;
}

fn_bayes_model *fn_bayes_model_load(const char *path, char *err, size_t errlen)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (slurp(path, &data, &len, err, errlen) != 0)
        return NULL;
    const char *problem = NULL;
    fn_bayes_model *m = NULL;
    if (len == 0)
        problem = "empty file, not a model";
    else if (len < HEADER_BYTES + 8)
        problem = len >= 8 && memcmp(data, MAGIC, 8) == 0
                      ? "truncated (shorter than a model's header)"
                      : "not a Scalanytics naive Bayes model (too short)";
    else
        m = model_parse(&(reader){.p = data, .n = len}, &problem);
    free(data);
    if (!m)
        fn_args_errorf(err, errlen, "%s: %s", path, problem);
    return m;
}
