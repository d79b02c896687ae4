/*
 * kdd_features.c -- KDD Cup '99 feature records and their encoding
 * (functions/kdd_features.h).
 *
 * Design: a record keeps every numeric feature as a double at its
 * position and the three categorical ones as short strings, so the CSV
 * and the record-value paths meet in one struct and one encoder. The
 * vector lays the features out in their standard order, a categorical
 * feature taking one index per category of its (sorted) vocabulary, so
 * the layout follows from the vocabularies alone and the model file
 * need not store it. Categories are found by binary search.
 *
 * Invariants: a vocabulary is sorted and free of repeats (fit sorts;
 * add_category refuses what would break it); base[i] is feature i's
 * first vector index, kept current by every change.
 */
#include "functions/kdd_features.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "functions/fn_args.h"
#include "proto/alloc.h"

static const char *const FEATURES[FN_KDD_FEATURES] = {
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate"};

/* NSL-KDD's DoS types (Tavallaee et al. 2009): the first six are in its
 * training set, the last four only in its test set. */
static const char *const DOS[] = {"back", "land", "neptune", "pod", "smurf", "teardrop",
                                  "apache2", "mailbomb", "processtable", "udpstorm"};
#define DOS_IN_TRAINING 6u

/* Positions of the features fn_kdd_log's settings transform. */
enum { DURATION = 0, SRC_BYTES = 4, DST_BYTES = 5 };

struct fn_kdd_encoder {
    fn_kdd_scale scale[FN_KDD_FEATURES]; /* numeric features */
    char *vocab[FN_KDD_FLAG + 1][FN_KDD_VOCAB_MAX]; /* categorical: sorted */
    unsigned nvocab[FN_KDD_FLAG + 1];
    int base[FN_KDD_FEATURES]; /* first vector index (from 1) of feature i */
};

/* ---- features and labels ---- */

const char *fn_kdd_feature_name(unsigned i)
{
    return i < FN_KDD_FEATURES ? FEATURES[i] : "?";
}

bool fn_kdd_feature_categorical(unsigned i)
{
    return i >= FN_KDD_PROTOCOL_TYPE && i <= FN_KDD_FLAG;
}

int fn_kdd_feature_find(const char *name)
{
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++)
        if (!strcmp(FEATURES[i], name))
            return (int)i;
    return -1;
}

unsigned fn_kdd_dos_types(void)
{
    return sizeof DOS / sizeof DOS[0];
}

const char *fn_kdd_dos_name(unsigned i)
{
    return i < fn_kdd_dos_types() ? DOS[i] : "?";
}

bool fn_kdd_dos_in_training(unsigned i)
{
    return i < DOS_IN_TRAINING;
}

int fn_kdd_dos_find(const char *label)
{
    for (unsigned i = 0; i < fn_kdd_dos_types(); i++)
        if (!strcmp(DOS[i], label))
            return (int)i;
    return -1;
}

/** True when s (len bytes) can be a category or label: 1 to
 *  FN_KDD_NAME_MAX printable ASCII bytes, no space or comma. */
static bool name_ok(const char *s, size_t len)
{
    if (len < 1 || len > FN_KDD_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == ',')
            return false;
    return true;
}

/** Copies the name s (len bytes) to dst (FN_KDD_NAME_MAX + 1 bytes);
 *  -1 with a message naming what when it cannot be one. */
static int name_copy(char *dst, const char *s, size_t len, const char *what, char *err,
                     size_t errlen)
{
    if (!name_ok(s, len))
        return fn_args_errorf(err, errlen, "%s: '%.*s' is not 1 to %u printable bytes without "
                              "spaces or commas", what, (int)(len < 40 ? len : 40), s,
                              FN_KDD_NAME_MAX);
    memcpy(dst, s, len);
    dst[len] = 0;
    return 0;
}

/** Parses the number s (len bytes) into *out; -1 with a message naming
 *  field i when it is not a finite decimal number. */
static int number_parse(unsigned i, const char *s, size_t len, double *out, char *err,
                        size_t errlen)
{
    char buf[64], *end;
    if (len == 0 || len >= sizeof buf)
        return fn_args_errorf(err, errlen, "field %u (%s): '%.*s' is not a number", i + 1,
                              FEATURES[i], (int)(len < 40 ? len : 40), s);
    memcpy(buf, s, len);
    buf[len] = 0;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno || !isfinite(v))
        return fn_args_errorf(err, errlen, "field %u (%s): '%s' is not a number", i + 1,
                              FEATURES[i], buf);
    *out = v;
    return 0;
}

/** Stores field i (len bytes at s) of a CSV line in r; -1 with a message. */
static int csv_field(fn_kdd_record *r, unsigned i, const char *s, size_t len, char *err,
                     size_t errlen)
{
    char what[64];
    if (i < FN_KDD_FEATURES && !fn_kdd_feature_categorical(i))
        return number_parse(i, s, len, &r->num[i], err, errlen);
    if (i < FN_KDD_FEATURES) {
        snprintf(what, sizeof what, "field %u (%s)", i + 1, FEATURES[i]);
        return name_copy(r->cat[i], s, len, what, err, errlen);
    }
    if (i == FN_KDD_FEATURES) {
        if (len && s[len - 1] == '.')
            len--; /* KDD'99 ends its labels with a dot */
        return name_copy(r->label, s, len, "field 42 (the label)", err, errlen);
    }
    char *end;
    long d = strtol(s, &end, 10);
    if (end != s + len || d < 0 || d > 100)
        return fn_args_errorf(err, errlen, "field 43 (the difficulty): '%.*s' is not 0 to 100",
                              (int)(len < 40 ? len : 40), s);
    r->difficulty = (int)d;
    return 0;
}

/* csv_line -> feature {',' feature} ',' label [',' difficulty] */
int fn_kdd_parse_csv(const char *line, fn_kdd_record *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->difficulty = -1;
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    unsigned field = 0;
    for (size_t start = 0;; field++) {
        const char *comma = memchr(line + start, ',', len - start);
        size_t end = comma ? (size_t)(comma - line) : len;
        if (field > FN_KDD_FEATURES + 1)
            break;
        if (csv_field(r, field, line + start, end - start, err, errlen) != 0)
            return -1;
        if (!comma)
            break;
        start = end + 1;
    }
    if (field < FN_KDD_FEATURES || field > FN_KDD_FEATURES + 1)
        return fn_args_errorf(err, errlen, "%s fields: want 41 features, the label and an "
                              "optional difficulty (42 or 43)",
                              field < FN_KDD_FEATURES ? "too few" : "too many");
    return 0;
}

/** Stores record v's field for feature i in r; -1 with a message. */
static int value_field(const sx_value *v, unsigned i, fn_kdd_record *r, char *err,
                       size_t errlen)
{
    const sx_value *f = sx_value_field(v, FEATURES[i]);
    if (!f)
        return fn_args_errorf(err, errlen, "no field '%s'", FEATURES[i]);
    if (fn_kdd_feature_categorical(i)) {
        if (f->kind != SX_STR)
            return fn_args_errorf(err, errlen, "field '%s' must be a string, not %s",
                                  FEATURES[i], sx_kind_name((sx_kind)f->kind));
        const sx_blob *b = f->u.blob;
        char what[64];
        snprintf(what, sizeof what, "field '%s'", FEATURES[i]);
        return name_copy(r->cat[i], b ? (const char *)b->data : "", b ? b->len : 0, what, err,
                         errlen);
    }
    switch (f->kind) {
    case SX_INT: r->num[i] = (double)f->u.i; return 0;
    case SX_FLOAT:
        if (!isfinite(f->u.f))
            return fn_args_errorf(err, errlen, "field '%s' is not finite", FEATURES[i]);
        r->num[i] = f->u.f;
        return 0;
    case SX_BOOL: r->num[i] = f->u.b; return 0;
    default:
        return fn_args_errorf(err, errlen, "field '%s' must be an int or a float, not %s",
                              FEATURES[i], sx_kind_name((sx_kind)f->kind));
    }
}

int fn_kdd_from_value(const sx_value *v, fn_kdd_record *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->difficulty = -1;
    if (v->kind != SX_RECORD)
        return fn_args_errorf(err, errlen, "a record of the 41 KDD features, not %s",
                              sx_kind_name((sx_kind)v->kind));
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++)
        if (value_field(v, i, r, err, errlen) != 0)
            return -1;
    return 0;
}

/* ---- the encoder ---- */

/** Recomputes every feature's first vector index. */
static void layout(fn_kdd_encoder *e)
{
    int next = 1;
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++) {
        e->base[i] = next;
        next += fn_kdd_feature_categorical(i) ? (int)e->nvocab[i] : 1;
    }
}

/** Forgets every vocabulary. */
static void vocab_clear(fn_kdd_encoder *e)
{
    for (unsigned i = 0; i <= FN_KDD_FLAG; i++) {
        for (unsigned j = 0; j < e->nvocab[i]; j++)
            free(e->vocab[i][j]);
        e->nvocab[i] = 0;
    }
}

fn_kdd_encoder *fn_kdd_encoder_new(void)
{
    fn_kdd_encoder *e = sx_calloc(1, sizeof *e);
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++)
        e->scale[i] = (fn_kdd_scale){.log1p = false, .offset = 0, .span = 1};
    layout(e);
    return e;
}

void fn_kdd_encoder_destroy(fn_kdd_encoder **ep)
{
    if (!*ep)
        return;
    vocab_clear(*ep);
    free(*ep);
    *ep = NULL;
}

/** True when lg log1p-transforms numeric feature i. */
static bool log_wanted(fn_kdd_log lg, unsigned i)
{
    if (lg == FN_KDD_LOG_BYTES)
        return i == DURATION || i == SRC_BYTES || i == DST_BYTES;
    if (lg == FN_KDD_LOG_COUNTS) /* every count: the features not named *_rate */
        return !strstr(FEATURES[i], "_rate");
    return false;
}

/** x after the scale's optional log1p. */
static double transformed(const fn_kdd_scale *s, double x)
{
    return s->log1p ? log1p(x > 0 ? x : 0) : x;
}

/** Fits numeric feature i's scale on the n records. */
static void fit_scale(fn_kdd_encoder *e, unsigned i, const fn_kdd_record *recs, size_t n,
                      fn_kdd_scaling s, fn_kdd_log lg)
{
    fn_kdd_scale *sc = &e->scale[i];
    *sc = (fn_kdd_scale){.log1p = log_wanted(lg, i), .offset = 0, .span = 0};
    double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
    for (size_t k = 0; k < n; k++) {
        double x = transformed(sc, recs[k].num[i]);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        sum += x;
    }
    if (n == 0)
        return;
    double mean = sum / (double)n;
    for (size_t k = 0; k < n; k++) {
        double d = transformed(sc, recs[k].num[i]) - mean;
        sq += d * d;
    }
    if (s == FN_KDD_ZSCORE)
        *sc = (fn_kdd_scale){sc->log1p, mean, sqrt(sq / (double)n)};
    else
        *sc = (fn_kdd_scale){sc->log1p, lo, hi - lo};
}

/** qsort order of category names. */
static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/** Learns categorical feature i's sorted vocabulary from the n records. */
static int fit_vocab(fn_kdd_encoder *e, unsigned i, const fn_kdd_record *recs, size_t n,
                     char *err, size_t errlen)
{
    for (size_t k = 0; k < n; k++) {
        bool known = false;
        for (unsigned j = 0; j < e->nvocab[i] && !known; j++)
            known = !strcmp(e->vocab[i][j], recs[k].cat[i]);
        if (known)
            continue;
        if (e->nvocab[i] == FN_KDD_VOCAB_MAX)
            return fn_args_errorf(err, errlen, "%s has more than %u categories", FEATURES[i],
                                  FN_KDD_VOCAB_MAX);
        char *copy = strdup(recs[k].cat[i]);
        if (!copy)
            sx_alloc_fail(FN_KDD_NAME_MAX);
        e->vocab[i][e->nvocab[i]++] = copy;
    }
    qsort(e->vocab[i], e->nvocab[i], sizeof e->vocab[i][0], name_cmp);
    return 0;
}

int fn_kdd_encoder_fit(fn_kdd_encoder *e, const fn_kdd_record *recs, size_t n,
                       fn_kdd_scaling s, fn_kdd_log lg, char *err, size_t errlen)
{
    vocab_clear(e);
    int rc = 0;
    for (unsigned i = 0; i < FN_KDD_FEATURES && rc == 0; i++) {
        if (fn_kdd_feature_categorical(i))
            rc = fit_vocab(e, i, recs, n, err, errlen);
        else
            fit_scale(e, i, recs, n, s, lg);
    }
    layout(e);
    return rc;
}

int fn_kdd_encoder_add_category(fn_kdd_encoder *e, unsigned i, const char *name, char *err,
                                size_t errlen)
{
    if (!fn_kdd_feature_categorical(i))
        return fn_args_errorf(err, errlen, "%s is not categorical", fn_kdd_feature_name(i));
    if (!name_ok(name, strlen(name)))
        return fn_args_errorf(err, errlen, "%s: a category is not 1 to %u printable bytes "
                              "without spaces or commas", FEATURES[i], FN_KDD_NAME_MAX);
    unsigned n = e->nvocab[i];
    if (n && strcmp(e->vocab[i][n - 1], name) >= 0)
        return fn_args_errorf(err, errlen, "%s: categories repeated or out of order at '%s'",
                              FEATURES[i], name);
    if (n == FN_KDD_VOCAB_MAX)
        return fn_args_errorf(err, errlen, "%s has more than %u categories", FEATURES[i],
                              FN_KDD_VOCAB_MAX);
    if (!(e->vocab[i][n] = strdup(name)))
        sx_alloc_fail(strlen(name) + 1);
    e->nvocab[i]++;
    layout(e);
    return 0;
}

int fn_kdd_encoder_set_scale(fn_kdd_encoder *e, unsigned i, const fn_kdd_scale *s, char *err,
                             size_t errlen)
{
    if (i >= FN_KDD_FEATURES || fn_kdd_feature_categorical(i))
        return fn_args_errorf(err, errlen, "%s is not numeric", fn_kdd_feature_name(i));
    if (!isfinite(s->offset) || !isfinite(s->span) || s->span < 0)
        return fn_args_errorf(err, errlen, "%s: the scale's offset and span must be finite, "
                              "the span not negative", FEATURES[i]);
    e->scale[i] = *s;
    return 0;
}

const fn_kdd_scale *fn_kdd_encoder_scale(const fn_kdd_encoder *e, unsigned i)
{
    return &e->scale[i];
}

unsigned fn_kdd_encoder_categories(const fn_kdd_encoder *e, unsigned i)
{
    return fn_kdd_feature_categorical(i) ? e->nvocab[i] : 0;
}

const char *fn_kdd_encoder_category(const fn_kdd_encoder *e, unsigned i, unsigned j)
{
    return e->vocab[i][j];
}

unsigned fn_kdd_encoder_dims(const fn_kdd_encoder *e)
{
    return (unsigned)e->base[FN_KDD_FEATURES - 1];
}

/** Categorical feature i's category name in its vocabulary, or -1. */
static int category_of(const fn_kdd_encoder *e, unsigned i, const char *name)
{
    char *const *hit = bsearch(&name, e->vocab[i], e->nvocab[i], sizeof e->vocab[i][0],
                               name_cmp);
    return hit ? (int)(hit - e->vocab[i]) : -1;
}

unsigned fn_kdd_encode(const fn_kdd_encoder *e, const fn_kdd_record *r, struct svm_node *x,
                       unsigned *unknown)
{
    unsigned n = 0, missing = 0;
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++) {
        if (fn_kdd_feature_categorical(i)) {
            int c = category_of(e, i, r->cat[i]);
            if (c >= 0)
                x[n++] = (struct svm_node){e->base[i] + c, 1.0};
            else
                missing |= 1u << i;
            continue;
        }
        const fn_kdd_scale *s = &e->scale[i];
        double v = s->span > 0 ? (transformed(s, r->num[i]) - s->offset) / s->span : 0;
        if (v != 0)
            x[n++] = (struct svm_node){e->base[i], v};
    }
    x[n] = (struct svm_node){-1, 0};
    if (unknown)
        *unknown = missing;
    return n;
}
