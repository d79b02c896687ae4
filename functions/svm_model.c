/*
 * svm_model.c -- a normal/dos SVM over KDD features, and its file form
 * (functions/svm_model.h).
 *
 * Design: the model owns one libsvm struct svm_model, filled by this
 * file (a copy of what svm_train made, or parsed from a file) with its
 * support vectors in one node array, so it never depends on training
 * data and frees the same way however it was made. Saving embeds the
 * text libsvm's own svm_save_model writes; loading parses that text
 * here rather than with svm_load_model, which needs a file of its own,
 * keeps its line buffer in a global and changes the process's locale
 * (neither safe while other threads run), and trusts its input (a
 * wrong count makes it read out of bounds).
 *
 * File format, version 1: text, lines ending in "\n", fields separated
 * by one space, reals in %.17g (they round-trip):
 *
 *   scalanytics-svm-model 1       magic and format version
 *   # ...                         comment lines, anywhere before "libsvm"
 *   classes normal dos            libsvm label 0 is normal, 1 dos
 *   trained normal N dos M C C scaling minmax|zscore log none|bytes|counts
 *                                 what training saw and chose (informative)
 *   41 feature lines, in the features' standard order:
 *     num NAME log1p|linear OFFSET SPAN
 *                                 a numeric feature x is encoded as
 *                                 (t(x) - OFFSET) / SPAN, t = log1p or
 *                                 identity; SPAN 0: always 0
 *     cat NAME K CAT1 ... CATK    a categorical feature: its vocabulary,
 *                                 strictly increasing (strcmp); one vector
 *                                 index per category
 *   libsvm B                      then B bytes: exactly the text libsvm's
 *                                 svm_save_model wrote (svm_type c_svc,
 *                                 kernel_type, gamma, nr_class 2, total_sv,
 *                                 rho, label, nr_sv, "SV", one line per
 *                                 support vector: coefficient, INDEX:VALUE)
 *   end HHHHHHHHHHHHHHHH          FNV-1a 64 of every byte before this line,
 *                                 16 lower-case hex digits; the file ends here
 *
 * Vector index k (from 1) belongs to the features laid out in order, a
 * numeric one taking one index, a categorical one K. The libsvm part is
 * libsvm's own model: `sed '1,/^libsvm /d;/^end /d' model.svm` gives a
 * file svm-predict reads (its input scaled as above).
 *
 * The loader checks every field, so an empty, truncated, foreign or
 * corrupt file is refused with a message naming what is wrong.
 */
#include "functions/svm_model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "functions/fn_args.h"
#include "proto/alloc.h"

#define MAGIC "scalanytics-svm-model"
/* Largest model file read: far above any KDD model (~1 MB per 10,000
 * support vectors). */
#define FILE_MAX (1ull << 30)
/* Longest line (a vocabulary of FN_KDD_VOCAB_MAX names fits). */
#define LINE_MAX_BYTES 16384u
/* Tokens of one header line, at most. */
#define TOKENS_MAX (FN_KDD_VOCAB_MAX + 4u)

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

struct fn_svm_model {
    fn_kdd_encoder *enc;
    fn_svm_info info;
    struct svm_model svm;   /* its arrays are this model's */
    struct svm_node *nodes; /* every support vector's nodes; svm.SV points here */
};

static const char *const CLASS_NAMES[] = {"normal", "dos"};
static const char *const SCALINGS[] = {"minmax", "zscore"};
static const char *const LOGS[] = {"none", "bytes", "counts"};
static const char *const KERNELS[] = {"linear", "polynomial", "rbf", "sigmoid"};

const char *fn_svm_class_name(int c)
{
    return c == FN_SVM_DOS ? "dos" : "normal";
}

/** Frees what m->svm and m->nodes hold. */
static void libsvm_free(fn_svm_model *m)
{
    if (m->svm.sv_coef)
        free(m->svm.sv_coef[0]);
    free(m->svm.sv_coef);
    free(m->svm.SV);
    free(m->svm.rho);
    free(m->svm.probA);
    free(m->svm.probB);
    free(m->svm.label);
    free(m->svm.nSV);
    free(m->nodes);
    memset(&m->svm, 0, sizeof m->svm);
    m->nodes = NULL;
}

void fn_svm_model_destroy(fn_svm_model **mp)
{
    fn_svm_model *m = *mp;
    if (!m)
        return;
    libsvm_free(m);
    fn_kdd_encoder_destroy(&m->enc);
    free(m);
    *mp = NULL;
}

/** Allocates m->svm's arrays for l support vectors of nnodes nodes in
 *  all (terminators included); the optional probA/probB stay NULL. */
static void libsvm_alloc(fn_svm_model *m, int l, size_t nnodes)
{
    struct svm_model *s = &m->svm;
    s->nr_class = 2;
    s->l = l;
    s->SV = sx_calloc((size_t)l, sizeof *s->SV);
    s->sv_coef = sx_calloc(1, sizeof *s->sv_coef);
    s->sv_coef[0] = sx_calloc((size_t)l, sizeof **s->sv_coef);
    s->rho = sx_calloc(1, sizeof *s->rho);
    s->label = sx_calloc(2, sizeof *s->label);
    s->nSV = sx_calloc(2, sizeof *s->nSV);
    s->free_sv = 1;
    m->nodes = sx_calloc(nnodes, sizeof *m->nodes);
}

/** NULL when p describes a kernel this file can hold, else the problem. */
static const char *param_problem(const struct svm_parameter *p)
{
    if (p->svm_type != C_SVC)
        return "not a C-SVC";
    if (p->kernel_type < LINEAR || p->kernel_type > SIGMOID)
        return "an unknown or precomputed kernel";
    if (p->kernel_type != LINEAR && !(isfinite(p->gamma) && p->gamma > 0))
        return "gamma not above 0";
    if ((p->kernel_type == POLY || p->kernel_type == SIGMOID) && !isfinite(p->coef0))
        return "coef0 not finite";
    if (p->kernel_type == POLY && (p->degree < 0 || p->degree > 100))
        return "degree not 0 to 100";
    return NULL;
}

/** NULL when s's labels are {0, 1} and its counts agree, else the problem. */
static const char *labels_problem(const struct svm_model *s)
{
    if (s->nr_class != 2)
        return "not two classes";
    if (s->label[0] + s->label[1] != 1 || s->label[0] * s->label[1] != 0)
        return "labels other than 0 (normal) and 1 (dos)";
    if (s->l < 1 || s->nSV[0] < 0 || s->nSV[1] < 0 || s->nSV[0] + s->nSV[1] != s->l)
        return "support vector counts do not add up";
    if (!isfinite(s->rho[0]))
        return "rho not finite";
    return NULL;
}

fn_svm_model *fn_svm_model_new(fn_kdd_encoder **enc, const struct svm_model *trained,
                               const fn_svm_info *info, char *err, size_t errlen)
{
    const char *problem = param_problem(&trained->param);
    if (!problem && (trained->nr_class != 2 || !trained->label || !trained->nSV))
        problem = "not a two-class model";
    if (!problem)
        problem = labels_problem(trained);
    if (problem) {
        fn_args_errorf(err, errlen, "the trained model: %s", problem);
        return NULL;
    }
    size_t nnodes = 0;
    for (int i = 0; i < trained->l; i++)
        for (const struct svm_node *p = trained->SV[i];; p++, nnodes++)
            if (p->index == -1) {
                nnodes++;
                break;
            }
    fn_svm_model *m = sx_calloc(1, sizeof *m);
    libsvm_alloc(m, trained->l, nnodes);
    struct svm_model *s = &m->svm;
    s->param = trained->param;
    s->param.nr_weight = 0;
    s->param.weight_label = NULL;
    s->param.weight = NULL;
    s->rho[0] = trained->rho[0];
    memcpy(s->label, trained->label, 2 * sizeof *s->label);
    memcpy(s->nSV, trained->nSV, 2 * sizeof *s->nSV);
    size_t k = 0;
    for (int i = 0; i < trained->l; i++) {
        s->SV[i] = &m->nodes[k];
        s->sv_coef[0][i] = trained->sv_coef[0][i];
        const struct svm_node *p = trained->SV[i];
        do
            m->nodes[k++] = *p;
        while ((p++)->index != -1);
    }
    m->enc = *enc;
    *enc = NULL;
    m->info = *info;
    return m;
}

const fn_kdd_encoder *fn_svm_model_encoder(const fn_svm_model *m)
{
    return m->enc;
}

const fn_svm_info *fn_svm_model_info(const fn_svm_model *m)
{
    return &m->info;
}

const struct svm_model *fn_svm_model_libsvm(const fn_svm_model *m)
{
    return &m->svm;
}

int fn_svm_model_predict(const fn_svm_model *m, const fn_kdd_record *r, double *decision,
                         unsigned *unknown)
{
    struct svm_node x[FN_KDD_NODES_MAX];
    fn_kdd_encode(m->enc, r, x, unknown);
    double dec = 0;
    int label = (int)svm_predict_values(&m->svm, x, &dec);
    /* libsvm's value is above 0 for its first label */
    if (decision)
        *decision = m->svm.label[0] == FN_SVM_DOS ? dec : -dec;
    return label == FN_SVM_DOS ? FN_SVM_DOS : FN_SVM_NORMAL;
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

/** Writes printf-style text (at most 511 bytes at a time). */
__attribute__((format(printf, 2, 3))) static void putf(writer *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(w, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/** Writes the magic, the classes, the training line and the features. */
static void put_header(writer *w, const fn_svm_model *m)
{
    const fn_svm_info *in = &m->info;
    putf(w, "%s %u\n", MAGIC, FN_SVM_FORMAT_VERSION);
    putf(w, "# normal vs dos over the 41 KDD Cup '99 features (scalanytics train-svm);\n"
            "# the format is described at the top of functions/svm_model.c\n");
    putf(w, "classes %s %s\n", CLASS_NAMES[0], CLASS_NAMES[1]);
    putf(w, "trained normal %llu dos %llu C %.17g scaling %s log %s\n",
         (unsigned long long)in->normal, (unsigned long long)in->dos, in->C,
         SCALINGS[in->scaling], LOGS[in->log]);
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++) {
        if (fn_kdd_feature_categorical(i)) {
            unsigned k = fn_kdd_encoder_categories(m->enc, i);
            putf(w, "cat %s %u", fn_kdd_feature_name(i), k);
            for (unsigned j = 0; j < k; j++)
                putf(w, " %s", fn_kdd_encoder_category(m->enc, i, j));
            putf(w, "\n");
            continue;
        }
        const fn_kdd_scale *s = fn_kdd_encoder_scale(m->enc, i);
        putf(w, "num %s %s %.17g %.17g\n", fn_kdd_feature_name(i),
             s->log1p ? "log1p" : "linear", s->offset, s->span);
    }
}

/** Reads the whole file at path into *data, NUL-terminated (the caller
 *  frees it). 0, or -1 with a message. */
static int slurp(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fn_args_errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > FILE_MAX) {
        fclose(f);
        return fn_args_errorf(err, errlen, "%s: not a regular file of at most 1 GiB", path);
    }
    *len = (size_t)st.st_size;
    *data = sx_malloc(*len + 1);
    size_t got = fread(*data, 1, *len, f);
    fclose(f);
    if (got != *len) {
        free(*data);
        return fn_args_errorf(err, errlen, "%s: read error", path);
    }
    (*data)[*len] = 0;
    return 0;
}

/** libsvm's text of m, made by svm_save_model in a file next to path
 *  (removed again); NULL with a message. The caller frees it. */
static char *libsvm_text(const fn_svm_model *m, const char *path, size_t *len, char *err,
                         size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld.libsvm", path, (long)getpid()) >= (int)sizeof tmp) {
        fn_args_errorf(err, errlen, "%s: path too long", path);
        return NULL;
    }
    char *text = NULL;
    if (svm_save_model(tmp, &m->svm) != 0)
        fn_args_errorf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    else if (slurp(tmp, &text, len, err, errlen) != 0)
        text = NULL;
    unlink(tmp);
    return text;
}

int fn_svm_model_save(const fn_svm_model *m, const char *path, char *err, size_t errlen)
{
    size_t n;
    char *text = libsvm_text(m, path, &n, err, errlen);
    if (!text)
        return -1;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    writer w = {.f = fopen(tmp, "wb"), .sum = FNV_OFFSET};
    if (!w.f) {
        free(text);
        return fn_args_errorf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    }
    put_header(&w, m);
    putf(&w, "libsvm %zu\n", n);
    put(&w, text, n);
    free(text);
    fprintf(w.f, "end %016llx\n", (unsigned long long)w.sum);
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

/** A part of a model file read line by line; line counts from 1. */
typedef struct reader {
    const char *p, *end;
    unsigned line;
    char buf[LINE_MAX_BYTES];
    char *tok[TOKENS_MAX];
    unsigned ntok;
    const char *problem; /* set by the first failure */
    char note[96];       /* room for a problem that needs a number */
} reader;

/** Fails r with problem (the first one sticks); returns false. */
static bool fail(reader *r, const char *problem)
{
    if (!r->problem)
        r->problem = problem;
    return false;
}

/** Copies the next line into r->buf (without its "\n"); false at the
 *  end, or on a line without "\n", too long, or holding a NUL. */
static bool next_line(reader *r)
{
    if (r->problem)
        return false;
    if (r->p >= r->end)
        return fail(r, "truncated (a line is missing)");
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (!nl)
        return fail(r, "truncated (the last line has no end)");
    size_t len = (size_t)(nl - r->p);
    if (len >= sizeof r->buf)
        return fail(r, "corrupt: a line longer than 16 KiB");
    if (memchr(r->p, 0, len))
        return fail(r, "corrupt: a NUL byte");
    memcpy(r->buf, r->p, len);
    r->buf[len] = 0;
    r->p = nl + 1;
    r->line++;
    return true;
}

/** Splits r->buf at single spaces into r->tok; false when a token is
 *  empty (two spaces, a space at either end) or there are too many.
 *  trailing_space allows one space at the end (libsvm's SV lines). */
static bool split(reader *r, bool trailing_space)
{
    r->ntok = 0;
    size_t len = strlen(r->buf);
    if (trailing_space && len && r->buf[len - 1] == ' ')
        r->buf[--len] = 0;
    for (char *s = r->buf;;) {
        char *sp = strchr(s, ' ');
        if (sp)
            *sp = 0;
        if (!*s || r->ntok == TOKENS_MAX)
            return fail(r, "corrupt: a line's fields are not separated by single spaces");
        r->tok[r->ntok++] = s;
        if (!sp)
            return true;
        s = sp + 1;
    }
}

/** The next non-comment line, split; false on a problem. */
static bool next_fields(reader *r)
{
    do
        if (!next_line(r))
            return false;
    while (r->buf[0] == '#');
    return split(r, false);
}

/** True when line's fields are exactly n and the first is word. */
static bool is_line(const reader *r, const char *word, unsigned n)
{
    return r->ntok == n && !strcmp(r->tok[0], word);
}

/** Parses a finite real, the whole of s. */
static bool real_of(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return end != s && !*end && !errno && isfinite(*out);
}

/** Parses an unsigned decimal integer up to max, the whole of s. */
static bool count_of(const char *s, uint64_t max, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    *out = v;
    return !*end && !errno && v <= max;
}

/** The index of s in names (n of them), or -1. */
static int word_of(const char *s, const char *const *names, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return (int)i;
    return -1;
}

/* trained -> 'trained' 'normal' N 'dos' M 'C' C 'scaling' S 'log' L */
static bool trained_read(reader *r, fn_svm_info *in)
{
    if (!next_fields(r) || !is_line(r, "classes", 3) || strcmp(r->tok[1], CLASS_NAMES[0]) ||
        strcmp(r->tok[2], CLASS_NAMES[1]))
        return fail(r, "corrupt: no 'classes normal dos' line");
    if (!next_fields(r) || !is_line(r, "trained", 11))
        return fail(r, "corrupt: no 'trained' line");
    char **t = r->tok;
    uint64_t normal, dos;
    int scaling = word_of(t[8], SCALINGS, 2), lg = word_of(t[10], LOGS, 3);
    if (strcmp(t[1], "normal") || strcmp(t[3], "dos") || strcmp(t[5], "C") ||
        strcmp(t[7], "scaling") || strcmp(t[9], "log") || !count_of(t[2], UINT64_MAX, &normal) ||
        !count_of(t[4], UINT64_MAX, &dos) || !real_of(t[6], &in->C) || scaling < 0 || lg < 0)
        return fail(r, "corrupt: a bad 'trained' line");
    *in = (fn_svm_info){in->C, normal, dos, (fn_kdd_scaling)scaling, (fn_kdd_log)lg};
    return true;
}

/* feature -> 'num' NAME ('log1p' | 'linear') OFFSET SPAN | 'cat' NAME K CAT{K} */
static bool feature_read(reader *r, fn_kdd_encoder *e, unsigned i, char *err, size_t errlen)
{
    const char *name = fn_kdd_feature_name(i);
    bool cat = fn_kdd_feature_categorical(i);
    if (!next_fields(r) || r->ntok < 3 || strcmp(r->tok[0], cat ? "cat" : "num") ||
        strcmp(r->tok[1], name))
        return fail(r, "corrupt: the feature lines are not the 41 features in order");
    if (!cat) {
        fn_kdd_scale s = {.log1p = !strcmp(r->tok[2], "log1p")};
        if (r->ntok != 5 || (!s.log1p && strcmp(r->tok[2], "linear")) ||
            !real_of(r->tok[3], &s.offset) || !real_of(r->tok[4], &s.span) ||
            fn_kdd_encoder_set_scale(e, i, &s, err, errlen) != 0)
            return fail(r, "corrupt: a bad 'num' line");
        return true;
    }
    uint64_t k;
    if (!count_of(r->tok[2], FN_KDD_VOCAB_MAX, &k) || r->ntok != 3 + k)
        return fail(r, "corrupt: a 'cat' line's count does not match its categories");
    for (unsigned j = 0; j < k; j++)
        if (fn_kdd_encoder_add_category(e, i, r->tok[3 + j], err, errlen) != 0)
            return fail(r, "corrupt: a vocabulary is not sorted, repeats a name or has a bad one");
    return true;
}

/** Reads a libsvm header line into s, marking the keyword in *seen. */
static bool libsvm_header_line(reader *r, struct svm_model *s, unsigned *seen)
{
    static const char *const KEYS[] = {"svm_type", "kernel_type", "gamma", "coef0", "degree",
                                       "nr_class", "total_sv", "rho", "label", "nr_sv",
                                       "probA", "probB"};
    static const unsigned NTOK[] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2};
    int key = word_of(r->tok[0], KEYS, sizeof KEYS / sizeof KEYS[0]);
    if (key < 0 || r->ntok != NTOK[key] || (*seen & (1u << key)))
        return fail(r, "corrupt: an unknown, repeated or malformed line in the libsvm part");
    *seen |= 1u << key;
    struct svm_parameter *p = &s->param;
    uint64_t a = 0, b = 0;
    const char *v = r->tok[1];
    bool ok;
    switch (key) {
    case 0: ok = !strcmp(v, "c_svc"); p->svm_type = C_SVC; break;
    case 1: p->kernel_type = word_of(v, KERNELS, 4); ok = p->kernel_type >= 0; break;
    case 2: ok = real_of(v, &p->gamma); break;
    case 3: ok = real_of(v, &p->coef0); break;
    case 4: ok = count_of(v, 100, &a); p->degree = (int)a; break;
    case 5: ok = count_of(v, 1000, &a) && a == 2; break;
    case 6: ok = count_of(v, INT32_MAX, &a) && a >= 1; s->l = (int)a; break;
    case 7: ok = real_of(v, &s->rho[0]); break;
    case 8:
        ok = count_of(v, 1, &a) && count_of(r->tok[2], 1, &b);
        s->label[0] = (int)a;
        s->label[1] = (int)b;
        break;
    case 9:
        ok = count_of(v, INT32_MAX, &a) && count_of(r->tok[2], INT32_MAX, &b);
        s->nSV[0] = (int)a;
        s->nSV[1] = (int)b;
        break;
    default: { /* probA, probB */
        double **slot = key == 10 ? &s->probA : &s->probB;
        *slot = sx_malloc(sizeof **slot);
        ok = real_of(v, *slot);
    }
    }
    return ok || fail(r, "corrupt: a bad value in the libsvm part's header");
}

/** Reads libsvm's header, up to its "SV" line, into m->svm (its arrays
 *  not yet sized by total_sv: rho, label, nSV only). */
static bool libsvm_header_read(reader *r, fn_svm_model *m)
{
    struct svm_model *s = &m->svm;
    s->nr_class = 2;
    s->rho = sx_calloc(1, sizeof *s->rho);
    s->label = sx_calloc(2, sizeof *s->label);
    s->nSV = sx_calloc(2, sizeof *s->nSV);
    s->free_sv = 1;
    unsigned seen = 0;
    while (next_line(r) && strcmp(r->buf, "SV") != 0)
        if (!split(r, false) || !libsvm_header_line(r, s, &seen))
            return false;
    if (r->problem)
        return false;
    /* svm_type, kernel_type, nr_class, total_sv, rho, label and nr_sv */
    const unsigned needed = 1u << 0 | 1u << 1 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 8 | 1u << 9;
    int k = s->param.kernel_type;
    unsigned want = needed | (k != LINEAR ? 1u << 2 : 0) |
                    (k == POLY || k == SIGMOID ? 1u << 3 : 0) | (k == POLY ? 1u << 4 : 0);
    if ((seen & want) != want)
        return fail(r, "corrupt: the libsvm part's header lacks a line");
    const char *problem = param_problem(&s->param);
    if (!problem)
        problem = labels_problem(s);
    return !problem || fail(r, problem);
}

/** Counts the ':' in [p, end): an upper bound of the nodes there. */
static size_t colons(const char *p, const char *end)
{
    size_t n = 0;
    while ((p = memchr(p, ':', (size_t)(end - p))))
        n++, p++;
    return n;
}

/* sv_line -> COEF {' ' INDEX ':' VALUE} [' '] */
static bool sv_read(reader *r, fn_svm_model *m, int i, size_t *k, int dims)
{
    if (!next_line(r) || !split(r, true) || !real_of(r->tok[0], &m->svm.sv_coef[0][i]))
        return fail(r, "corrupt: a bad support vector line");
    m->svm.SV[i] = &m->nodes[*k];
    int prev = 0;
    for (unsigned t = 1; t < r->ntok; t++) {
        char *colon = strchr(r->tok[t], ':'), *end;
        if (!colon)
            return fail(r, "corrupt: a support vector's INDEX:VALUE pair lacks its ':'");
        *colon = 0;
        errno = 0;
        long idx = strtol(r->tok[t], &end, 10);
        struct svm_node *n = &m->nodes[(*k)++];
        if (*end || errno || idx <= prev || idx > dims || !real_of(colon + 1, &n->value))
            return fail(r, "corrupt: a support vector's indices are not increasing within the "
                           "encoder's dimension, or a value is not a number");
        n->index = (int)idx;
        prev = (int)idx;
    }
    m->nodes[(*k)++].index = -1;
    return true;
}

/** Reads the libsvm part [r->p, r->end) into m->svm. */
static bool libsvm_read(reader *r, fn_svm_model *m)
{
    if (!libsvm_header_read(r, m))
        return false;
    struct svm_model *s = &m->svm;
    /* every support vector takes a line of at least two bytes */
    if ((uint64_t)s->l > (uint64_t)(r->end - r->p) / 2)
        return fail(r, "truncated (fewer support vectors than total_sv says)");
    s->SV = sx_calloc((size_t)s->l, sizeof *s->SV);
    s->sv_coef = sx_calloc(1, sizeof *s->sv_coef);
    s->sv_coef[0] = sx_calloc((size_t)s->l, sizeof **s->sv_coef);
    m->nodes = sx_calloc(colons(r->p, r->end) + (size_t)s->l, sizeof *m->nodes);
    int dims = (int)fn_kdd_encoder_dims(m->enc);
    size_t k = 0;
    for (int i = 0; i < s->l; i++)
        if (!sv_read(r, m, i, &k, dims))
            return false;
    return r->p == r->end || fail(r, "corrupt: more lines than total_sv support vectors");
}

/** Checks the final "end CHECKSUM" line of data and sets *body_end to
 *  where it starts; NULL or the problem. */
static const char *checksum_problem(const char *data, size_t len, size_t *body_end)
{
    /* "end " + 16 hex digits + "\n" */
    if (len < 21 || data[len - 1] != '\n' || memcmp(data + len - 21, "end ", 4) != 0 ||
        (len > 21 && data[len - 22] != '\n'))
        return "truncated (no final 'end CHECKSUM' line)";
    uint64_t want = 0;
    for (size_t i = len - 17; i < len - 1; i++) {
        char c = data[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return "corrupt: the checksum is not 16 hex digits";
        want = want << 4 | (uint64_t)d;
    }
    uint64_t sum = FNV_OFFSET;
    for (size_t i = 0; i < len - 21; i++)
        sum = (sum ^ (uint8_t)data[i]) * FNV_PRIME;
    *body_end = len - 21;
    return sum == want ? NULL : "corrupt: checksum mismatch";
}

/** Reads the magic line; NULL or the problem. */
static const char *magic_problem(reader *r)
{
    size_t have = (size_t)(r->end - r->p);
    if (have < sizeof MAGIC && !memcmp(r->p, MAGIC " ", have))
        return "truncated (shorter than its first line)";
    if (!next_line(r) || strncmp(r->buf, MAGIC " ", sizeof MAGIC) != 0)
        return "not a Scalanytics SVM model (its first line is not '" MAGIC " VERSION')";
    uint64_t v;
    if (!count_of(r->buf + sizeof MAGIC, UINT32_MAX, &v))
        return "corrupt: the first line's format version is not a number";
    if (v == FN_SVM_FORMAT_VERSION)
        return NULL;
    snprintf(r->note, sizeof r->note, "a model file of format version %llu (this build reads "
             "version %u)", (unsigned long long)v, FN_SVM_FORMAT_VERSION);
    return r->note;
}

/** Parses a model file's lines after the magic, up to its end line
 *  (the checksum checked); NULL with the problem in r->problem. */
static fn_svm_model *model_parse(reader *r, char *err, size_t errlen)
{
    fn_svm_model *m = sx_calloc(1, sizeof *m);
    m->enc = fn_kdd_encoder_new();
    bool ok = trained_read(r, &m->info);
    for (unsigned i = 0; ok && i < FN_KDD_FEATURES; i++)
        ok = feature_read(r, m->enc, i, err, errlen);
    uint64_t n = 0;
    if (ok && (!next_fields(r) || !is_line(r, "libsvm", 2) ||
               !count_of(r->tok[1], UINT64_MAX, &n) || n != (uint64_t)(r->end - r->p)))
        ok = fail(r, "corrupt: no 'libsvm BYTES' line giving the libsvm part's exact length");
    if (ok)
        ok = libsvm_read(r, m);
    if (!ok)
        fn_svm_model_destroy(&m);
    return m;
}

fn_svm_model *fn_svm_model_load(const char *path, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    if (slurp(path, &data, &len, err, errlen) != 0)
        return NULL;
    reader *r = sx_calloc(1, sizeof *r);
    *r = (reader){.p = data, .end = data + len};
    const char *problem = NULL;
    size_t body = 0;
    bool in_body = false; /* the problem is on line r->line */
    fn_svm_model *m = NULL;
    if (len == 0)
        problem = "empty file, not a model";
    else if (!(problem = magic_problem(r)) && !(problem = checksum_problem(data, len, &body))) {
        r->end = data + body;
        if (!(m = model_parse(r, err, errlen))) {
            problem = r->problem;
            in_body = true;
        }
    }
    if (!m && in_body)
        fn_args_errorf(err, errlen, "%s: line %u: %s", path, r->line, problem);
    else if (!m)
        fn_args_errorf(err, errlen, "%s: %s", path, problem);
    free(r);
    free(data);
    return m;
}
