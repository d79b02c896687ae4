/*
 * fn_svm.c -- DoS detection for ANALOG programs: f_DetectAttack(FEATURE,
 * MODEL) answers "dos" or "normal".
 *
 * FEATURE is a record with a field for each of the 41 KDD Cup '99
 * features, named as in functions/kdd_features.h (protocol_type,
 * service and flag strings, the rest int or float): what
 * f_GetTCPFeature makes of a connection. MODEL is the path of a model
 * file written by `scalanytics train-svm` (functions/svm_model.h), a
 * constant (a literal or a $PARAM).
 *
 * The model is loaded once, at plan time, by prepare, and shared by
 * every call site naming the same file (functions/model_cache.h),
 * read-only for all threads. A missing, empty or corrupt model file is
 * a plan error naming the file and the problem, so a program never
 * starts without its model. A category the model never saw (a service
 * missing from its training data) is encoded as all zeros and counted.
 */
#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"
#include "analog/functions.h"
#include "functions/fn_args.h"
#include "functions/model_cache.h"
#include "functions/svm_model.h"
#include "proto/alloc.h"

#define FN "f_DetectAttack"

static analog_counter c_classified = {
    .name = "svm.classified", .summary = "connections classified by f_DetectAttack"};
ANALOG_COUNTER_REGISTER(c_classified)
static analog_counter c_dos = {
    .name = "svm.dos", .summary = "connections f_DetectAttack classified as dos"};
ANALOG_COUNTER_REGISTER(c_dos)
static analog_counter c_unknown = {
    .name = "svm.unknown_category",
    .summary = "connections whose protocol_type, service or flag the SVM model never saw "
               "(encoded as all zeros)"};
ANALOG_COUNTER_REGISTER(c_unknown)

/** fn_svm_model_load for the model cache. */
static void *model_load(const char *path, char *err, size_t errlen)
{
    return fn_svm_model_load(path, err, errlen);
}

/** fn_svm_model_destroy for the model cache. */
static void model_free(void *model)
{
    fn_svm_model *m = model;
    fn_svm_model_destroy(&m);
}

/** Loads the model named by argument 2, a constant path. */
static int detect_prepare(const sx_value *args, const bool *is_const, uint32_t nargs,
                          void **prepared, char *err, size_t errlen)
{
    *prepared = NULL;
    if (!is_const[1] || !fn_args_is_text(&args[1]) || !args[1].u.blob || !args[1].u.blob->len)
        return fn_args_errorf(err, errlen, FN ": argument 2 must be the model file's path, a "
                              "constant string (a literal or a $PARAM)");
    const sx_blob *b = args[1].u.blob;
    if (memchr(b->data, 0, b->len))
        return fn_args_errorf(err, errlen, FN ": argument 2: a path with a NUL byte");
    char *path = sx_malloc(b->len + 1);
    memcpy(path, b->data, b->len);
    path[b->len] = 0;
    *prepared = fn_model_cache_acquire(path, model_load, model_free, err, errlen);
    free(path);
    return *prepared ? 0 : -1;
}

/** Gives the call site's model back. */
static void detect_free(void *prepared)
{
    fn_model_cache_release(prepared);
}

/* Hot path: once per connection. */
/** "dos" or "normal": the model's class of the connection argument 1
 *  describes. */
static int f_detect_attack(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                           sx_value *result)
{
    const fn_svm_model *m = ctx->prepared;
    if (!m)
        return fn_args_errorf(ctx->err, ctx->errlen, FN ": no model (not prepared)");
    if (args[0].kind != SX_RECORD)
        return fn_args_type_error(ctx, FN, 1, "a record of the 41 KDD features", &args[0]);
    fn_kdd_record r;
    char why[160];
    if (fn_kdd_from_value(&args[0], &r, why, sizeof why) != 0)
        return fn_args_errorf(ctx->err, ctx->errlen, FN ": argument 1: %s", why);
    unsigned unknown = 0;
    int cls = fn_svm_model_predict(m, &r, NULL, &unknown);
    analog_counter_add(&c_classified, 1);
    if (cls == FN_SVM_DOS)
        analog_counter_add(&c_dos, 1);
    if (unknown)
        analog_counter_add(&c_unknown, 1);
    *result = sx_value_cstr(fn_svm_class_name(cls));
    return 0;
}

static const analog_fn_def fn_detect_attack_def = {
    .name = FN, .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE,
    .call = f_detect_attack,
    .prepare = detect_prepare,
    .prepared_free = detect_free,
    .summary = "f_DetectAttack(feature, \"model.svm\"): \"dos\" or \"normal\", an SVM's class of "
               "a connection's 41 KDD features (a record), by a model from `scalanytics "
               "train-svm`",
};
ANALOG_FN_REGISTER(fn_detect_attack_def)
