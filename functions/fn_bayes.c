/*
 * fn_bayes.c -- naive Bayes classification for ANALOG programs:
 * f_classify(MAIL, MODEL) and f_classScore(MAIL, MODEL [, CLASS]).
 *
 * MAIL is a mail record from f_processSMTPSegment (its raw field, the
 * message as sent, is classified) or a string or bytes holding a
 * message; MODEL is the path of a model file written by `scalanytics
 * train-bayes` (functions/bayes_model.h), a constant (a literal or a
 * $PARAM). f_classify answers the class's name; f_classScore the score
 * (0..1) of the class f_classify chooses, or of CLASS when given.
 * Classifying a record's raw bytes, not its decoded text field, makes
 * the answer the same as `scalanytics classify` gives the mail as a
 * file, whatever smtp.max_text_bytes is.
 *
 * The model is loaded once, at plan time, by prepare; every call site
 * naming the same path shares one copy (a reference-counted list,
 * under a mutex only prepare and free take), read-only for all threads.
 * A missing, empty or corrupt model file is a plan error naming the
 * file and the problem, so a program never starts without its model.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"
#include "analog/functions.h"
#include "functions/bayes.h"
#include "functions/fn_args.h"
#include "proto/alloc.h"

/** A model file loaded for call sites, shared by path. */
typedef struct loaded_model {
    char *path;
    fn_bayes_model *model;
    unsigned refs; /* call sites holding it */
    struct loaded_model *next;
} loaded_model;

/** What prepare leaves a call site: the model, and the class whose
 *  score f_classScore answers (-1: the chosen one; -2: per call). */
typedef struct bayes_site {
    loaded_model *lm;
    int cls;
} bayes_site;

/* Loaded models; the mutex guards the list and the reference counts,
 * never the models, which are read-only once loaded. */
static pthread_mutex_t models_lock = PTHREAD_MUTEX_INITIALIZER;
static loaded_model *models;

static analog_counter c_classified = {
    .name = "bayes.classified", .summary = "mails classified by f_classify"};
ANALOG_COUNTER_REGISTER(c_classified)

/* ---- the shared models ---- */

/** The model at path, loaded when no call site holds it yet; NULL with
 *  the loader's message in err. The caller releases it with
 *  model_release. */
static loaded_model *model_acquire(const char *path, char *err, size_t errlen)
{
    pthread_mutex_lock(&models_lock);
    loaded_model *lm = models;
    while (lm && strcmp(lm->path, path) != 0)
        lm = lm->next;
    if (!lm) {
        fn_bayes_model *m = fn_bayes_model_load(path, err, errlen);
        if (m) {
            lm = sx_calloc(1, sizeof *lm);
            lm->path = strdup(path);
            if (!lm->path)
                sx_alloc_fail(strlen(path) + 1);
            lm->model = m;
            lm->next = models;
            models = lm;
        }
    }
    if (lm)
        lm->refs++;
    pthread_mutex_unlock(&models_lock);
    return lm;
}

/** Drops one reference to lm; the last frees the model. */
static void model_release(loaded_model *lm)
{
    pthread_mutex_lock(&models_lock);
    if (--lm->refs == 0) {
        loaded_model **pp = &models;
        while (*pp != lm)
            pp = &(*pp)->next;
        *pp = lm->next;
        fn_bayes_model_destroy(&lm->model);
        free(lm->path);
        free(lm);
    }
    pthread_mutex_unlock(&models_lock);
}

/* ---- prepare ---- */

/** The class named by text value v in m, or -1 with a message naming fn
 *  and the classes there are. */
static int class_of(const fn_bayes_model *m, const char *fn, const sx_value *v, char *err,
                    size_t errlen)
{
    char name[FN_BAYES_NAME_MAX + 1] = "";
    size_t len = v->u.blob ? v->u.blob->len : 0;
    if (len <= FN_BAYES_NAME_MAX && len)
        memcpy(name, v->u.blob->data, len);
    int c = len <= FN_BAYES_NAME_MAX ? fn_bayes_model_class_find(m, name) : -1;
    if (c >= 0)
        return c;
    char classes[FN_BAYES_CLASSES_MAX * (FN_BAYES_NAME_MAX + 2)] = "";
    for (unsigned i = 0; i < fn_bayes_model_classes(m); i++) {
        strcat(classes, i ? ", " : "");
        strcat(classes, fn_bayes_model_class_name(m, i));
    }
    return fn_args_errorf(err, errlen, "%s: the model has no class '%.*s' (its classes: %s)", fn,
                          (int)(len < 80 ? len : 80), len ? (const char *)v->u.blob->data : "",
                          classes);
}

/** Loads the model of a call site of fn (argument 2 must be a constant
 *  path) and resolves a constant class (argument 3). */
static int site_prepare(const char *fn, const sx_value *args, const bool *is_const,
                        uint32_t nargs, void **prepared, char *err, size_t errlen)
{
    *prepared = NULL;
    if (!is_const[1] || !fn_args_is_text(&args[1]) || !args[1].u.blob || !args[1].u.blob->len)
        return fn_args_errorf(err, errlen, "%s: argument 2 must be the model file's path, a "
                              "constant string (a literal or a $PARAM)", fn);
    const sx_blob *b = args[1].u.blob;
    if (memchr(b->data, 0, b->len))
        return fn_args_errorf(err, errlen, "%s: argument 2: a path with a NUL byte", fn);
    char *path = sx_malloc(b->len + 1);
    memcpy(path, b->data, b->len);
    path[b->len] = 0;
    loaded_model *lm = model_acquire(path, err, errlen);
    free(path);
    if (!lm)
        return -1;
    bayes_site *site = sx_calloc(1, sizeof *site);
    site->lm = lm;
    site->cls = nargs < 3 ? -1 : -2;
    if (nargs >= 3 && is_const[2]) {
        site->cls = fn_args_is_text(&args[2])
                        ? class_of(lm->model, fn, &args[2], err, errlen)
                        : fn_args_errorf(err, errlen, "%s: argument 3 must be a class name", fn);
        if (site->cls < 0) {
            model_release(lm);
            free(site);
            return -1;
        }
    }
    *prepared = site;
    return 0;
}

/** f_classify's prepare. */
static int classify_prepare(const sx_value *args, const bool *is_const, uint32_t nargs,
                            void **prepared, char *err, size_t errlen)
{
    return site_prepare("f_classify", args, is_const, nargs, prepared, err, errlen);
}

/** f_classScore's prepare. */
static int score_prepare(const sx_value *args, const bool *is_const, uint32_t nargs,
                         void **prepared, char *err, size_t errlen)
{
    return site_prepare("f_classScore", args, is_const, nargs, prepared, err, errlen);
}

/** Frees what site_prepare made. */
static void site_free(void *prepared)
{
    bayes_site *site = prepared;
    model_release(site->lm);
    free(site);
}

/* ---- calls ---- */

/** The message bytes of argument 1 of fn: a mail record's raw field, or
 *  a string or bytes; NULL with a type error otherwise (an empty
 *  message may come back as a NULL blob in *out). */
static const sx_value *message_of(analog_fn_ctx *ctx, const char *fn, const sx_value *arg)
{
    const sx_value *raw = arg->kind == SX_RECORD ? sx_value_field(arg, "raw") : arg;
    if (raw && fn_args_is_text(raw))
        return raw;
    fn_args_type_error(ctx, fn, 1, "a mail record (with its raw field), a string or bytes", arg);
    return NULL;
}

/* Hot path: once per mail. */
/** Classifies argument 1 of fn with the call site's model into *r;
 *  0, or -1 with a message. */
static int classify_arg(analog_fn_ctx *ctx, const char *fn, const sx_value *args,
                        fn_bayes_result *r)
{
    const bayes_site *site = ctx->prepared;
    if (!site)
        return fn_args_errorf(ctx->err, ctx->errlen, "%s: no model (not prepared)", fn);
    const sx_value *msg = message_of(ctx, fn, &args[0]);
    if (!msg)
        return -1;
    const sx_blob *b = msg->u.blob;
    fn_bayes_tokens t;
    fn_bayes_tokens_init(&t);
    fn_bayes_classify_mail(site->lm->model, b ? b->data : NULL, b ? b->len : 0, &t, r);
    fn_bayes_tokens_free(&t);
    return 0;
}

/** The name of the class the model chooses for the mail. */
static int f_classify(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                      sx_value *result)
{
    fn_bayes_result r;
    if (classify_arg(ctx, "f_classify", args, &r) != 0)
        return -1;
    analog_counter_add(&c_classified, 1);
    const bayes_site *site = ctx->prepared;
    *result = sx_value_cstr(fn_bayes_model_class_name(site->lm->model, r.cls));
    return 0;
}

/** The score of the chosen class, or of the class named by argument 3. */
static int f_class_score(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                         sx_value *result)
{
    const bayes_site *site = ctx->prepared;
    int cls = site ? site->cls : -1;
    if (site && cls == -2) {
        if (!fn_args_is_text(&args[2]))
            return fn_args_type_error(ctx, "f_classScore", 3, "a class name", &args[2]);
        cls = class_of(site->lm->model, "f_classScore", &args[2], ctx->err, ctx->errlen);
        if (cls < 0)
            return -1;
    }
    fn_bayes_result r;
    if (classify_arg(ctx, "f_classScore", args, &r) != 0)
        return -1;
    *result = sx_value_float(r.score[cls >= 0 ? (unsigned)cls : r.cls]);
    return 0;
}

static const analog_fn_def fn_classify_def = {
    .name = "f_classify", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE,
    .call = f_classify,
    .prepare = classify_prepare,
    .prepared_free = site_free,
    .summary = "f_classify(mail, \"model.nb\"): the naive Bayes class of a mail record (its raw "
               "message) or a message string, by a model from `scalanytics train-bayes`",
};
ANALOG_FN_REGISTER(fn_classify_def)

static const analog_fn_def fn_class_score_def = {
    .name = "f_classScore", .min_args = 2, .max_args = 3, .flags = ANALOG_FN_PURE,
    .call = f_class_score,
    .prepare = score_prepare,
    .prepared_free = site_free,
    .summary = "f_classScore(mail, \"model.nb\" [, class]): the score (0..1) of the class "
               "f_classify chooses, or of the class named",
};
ANALOG_FN_REGISTER(fn_class_score_def)
