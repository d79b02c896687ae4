/*
 * test_svm.c -- the DoS detector: the KDD feature encoder
 * (functions/kdd_features.h), the SVM model and its file
 * (functions/svm_model.h), and the ANALOG function f_DetectAttack.
 *
 *   test_svm units     CSV lines of NSL-KDD and KDD'99 and bad ones,
 *                      record values, fitting (vocabularies, min-max,
 *                      z-score, log1p), encoding and unknown categories,
 *                      a model trained on synthetic connections, its
 *                      file's round trip and agreement with libsvm's own
 *                      loader, f_DetectAttack, the shared model cache
 *   test_svm hostile   bad model files: empty, foreign, another version,
 *                      every truncation, every one-byte corruption, and
 *                      every one-byte corruption with the checksum made
 *                      good again (the parser itself must hold) -- a
 *                      clear error or a usable model, never a crash
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analog/counters.h"
#include "analog/functions.h"
#include "functions/kdd_features.h"
#include "functions/model_cache.h"
#include "functions/svm_model.h"

#include "tests/check.h"
#include "tests/fn_call.h"

/* An NSL-KDD line (difficulty 19) and a KDD'99 one (a final '.'). */
static const char NSL_LINE[] =
    "0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,0.00,0.05,0.07,"
    "0.00,255,26,0.10,0.05,0.00,0.00,1.00,1.00,0.00,0.00,neptune,19\r\n";
static const char KDD99_LINE[] =
    "0,tcp,http,SF,181,5450,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0.00,0.00,0.00,0.00,1.00,0.00,"
    "0.00,9,9,1.00,0.00,0.11,0.00,0.00,0.00,0.00,0.00,normal.\n";

/* ---- helpers ---- */

static void scratch_path(char *buf, size_t len, const char *what)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, len, "%s/test_svm.%ld.%s", dir && *dir ? dir : "/tmp", (long)getpid(), what);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, n, f) == n && fclose(f) == 0, "write a scratch file");
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "open a scratch file");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc(*n + 1);
    CHECK(fread(p, 1, *n, f) == *n, "read a scratch file");
    p[*n] = 0;
    fclose(f);
    return p;
}

/** A deterministic pseudo-random number in [0, 1). */
static double uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/** A synthetic connection: a web request (normal) or a SYN flood
 *  packet (dos, "neptune"), with noise. */
static fn_kdd_record synthetic(bool dos, uint64_t *seed)
{
    char err[256];
    fn_kdd_record r;
    CHECK(fn_kdd_parse_csv(dos ? NSL_LINE : KDD99_LINE, &r, err, sizeof err) == 0, err);
    double u = uniform(seed);
    if (dos) {
        r.num[22] = 100 + 400 * u;         /* count */
        r.num[24] = 0.8 + 0.2 * u;         /* serror_rate */
        r.num[29] = 0.05 + 0.1 * uniform(seed); /* diff_srv_rate */
    } else {
        r.num[4] = 100 + 2000 * u;          /* src_bytes */
        r.num[5] = 1000 + 50000 * uniform(seed); /* dst_bytes */
        r.num[22] = 1 + 20 * uniform(seed);  /* count */
    }
    return r;
}

/** libsvm prints progress to stdout unless told otherwise. */
static void quiet(const char *s)
{
    (void)s;
}

/** A model trained on n synthetic connections, half of each class. */
static fn_svm_model *synthetic_model(size_t n)
{
    uint64_t seed = 42;
    fn_kdd_record *recs = calloc(n, sizeof *recs);
    for (size_t i = 0; i < n; i++)
        recs[i] = synthetic(i % 2, &seed);
    char err[256];
    fn_kdd_encoder *enc = fn_kdd_encoder_new();
    CHECK(fn_kdd_encoder_fit(enc, recs, n, FN_KDD_MINMAX, FN_KDD_LOG_COUNTS, err, sizeof err) == 0,
          err);
    struct svm_node *nodes = calloc(n * FN_KDD_NODES_MAX, sizeof *nodes);
    struct svm_node **x = calloc(n, sizeof *x);
    double *y = calloc(n, sizeof *y);
    for (size_t i = 0; i < n; i++) {
        x[i] = &nodes[i * FN_KDD_NODES_MAX];
        fn_kdd_encode(enc, &recs[i], x[i], NULL);
        y[i] = i % 2 ? FN_SVM_DOS : FN_SVM_NORMAL;
    }
    struct svm_problem prob = {(int)n, y, x};
    struct svm_parameter p = {.svm_type = C_SVC, .kernel_type = RBF, .gamma = 0.5, .C = 4,
                              .cache_size = 16, .eps = 1e-3, .shrinking = 1};
    svm_set_print_string_function(quiet);
    CHECK(!svm_check_parameter(&prob, &p), "libsvm parameters");
    struct svm_model *trained = svm_train(&prob, &p);
    fn_svm_info info = {4, n / 2, n - n / 2, FN_KDD_MINMAX, FN_KDD_LOG_COUNTS};
    fn_svm_model *m = fn_svm_model_new(&enc, trained, &info, err, sizeof err);
    CHECK(m && !enc, err);
    /* the model copied what it needs: the training data may go now */
    svm_free_and_destroy_model(&trained);
    free(nodes);
    free(x);
    free(y);
    free(recs);
    return m;
}

/** A record value with the 41 features of r (skipping feature skip). */
static sx_value record_value(const fn_kdd_record *r, int skip)
{
    sx_value v = sx_value_record(FN_KDD_FEATURES + 1);
    uint32_t k = 0;
    sx_value_list_set(&v, k++, "label", sx_value_cstr("ignored"));
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++) {
        if ((int)i == skip)
            continue;
        sx_value f = fn_kdd_feature_categorical(i) ? sx_value_cstr(r->cat[i])
                     : r->num[i] == floor(r->num[i]) ? sx_value_int((int64_t)r->num[i])
                                                     : sx_value_float(r->num[i]);
        sx_value_list_set(&v, k++, fn_kdd_feature_name(i), f);
    }
    if (skip >= 0) /* one field fewer: shrink by naming the last slot after an ignored one */
        sx_value_list_set(&v, k++, "padding", sx_value_int(0));
    return v;
}

/* ---- units ---- */

/** Feature names, positions and the DoS types. */
static void test_names(void)
{
    CHECK(!strcmp(fn_kdd_feature_name(0), "duration") &&
              !strcmp(fn_kdd_feature_name(40), "dst_host_srv_rerror_rate"), "the names' order");
    CHECK(fn_kdd_feature_find("service") == FN_KDD_SERVICE && fn_kdd_feature_find("x") == -1,
          "finding a feature");
    unsigned categorical = 0;
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++)
        categorical += fn_kdd_feature_categorical(i);
    CHECK(categorical == 3, "three categorical features");
    CHECK(fn_kdd_dos_types() == 10 && fn_kdd_dos_in_training((unsigned)fn_kdd_dos_find("smurf"))
              && !fn_kdd_dos_in_training((unsigned)fn_kdd_dos_find("apache2")) &&
              fn_kdd_dos_find("satan") == -1, "DoS types seen and unseen in training");
}

/** CSV lines of both data sets, and bad ones named precisely. */
static void test_csv(void)
{
    fn_kdd_record r;
    char err[256];
    CHECK(fn_kdd_parse_csv(NSL_LINE, &r, err, sizeof err) == 0, err);
    CHECK(!strcmp(r.cat[FN_KDD_PROTOCOL_TYPE], "tcp") && !strcmp(r.cat[FN_KDD_SERVICE], "private")
              && !strcmp(r.cat[FN_KDD_FLAG], "S0") && r.num[22] == 123 && r.num[24] == 1.0 &&
              r.num[31] == 255 && !strcmp(r.label, "neptune") && r.difficulty == 19,
          "an NSL-KDD line (CRLF)");
    CHECK(fn_kdd_parse_csv(KDD99_LINE, &r, err, sizeof err) == 0, err);
    CHECK(!strcmp(r.label, "normal") && r.difficulty == -1 && r.num[4] == 181 &&
              r.num[5] == 5450, "a KDD'99 line: the label's final dot dropped, no difficulty");
    static const struct {
        const char *line, *says;
    } bad[] = {
        {"", "field 1 (duration)"},
        {"0,tcp,http,SF,181", "too few fields"},
        {"0,tcp,http,SF,x1,5450,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0,0,0,0,1,0,0,9,9,1,0,0,0,0,0,"
         "0,0,normal", "field 5 (src_bytes): 'x1' is not a number"},
        {"0,tcp,,SF,1,1,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0,0,0,0,1,0,0,9,9,1,0,0,0,0,0,0,0,normal",
         "field 3 (service)"},
        {"0,tcp,http,SF,1,1,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0,0,0,0,1,0,0,9,9,1,0,0,0,0,0,0,0,",
         "field 42 (the label)"},
        {"0,tcp,http,SF,1,1,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0,0,0,0,1,0,0,9,9,1,0,0,0,0,0,0,0,"
         "normal,x", "field 43 (the difficulty)"},
        {"0,tcp,http,SF,1,1,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0,0,0,0,1,0,0,9,9,1,0,0,0,0,0,0,0,"
         "normal,3,4", "too many fields"},
        {"0,tcp,http,SF,1,inf,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0,0,0,0,1,0,0,9,9,1,0,0,0,0,0,0,0,"
         "normal", "dst_bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK(fn_kdd_parse_csv(bad[i].line, &r, err, sizeof err) == -1, bad[i].says);
        if (!strstr(err, bad[i].says)) {
            fprintf(stderr, "FAIL: '%s' says '%s', not '%s'\n", bad[i].line, err, bad[i].says);
            exit(1);
        }
    }
}

/** Fitting: sorted vocabularies, min-max and z-score, log1p. */
static void test_fit(void)
{
    fn_kdd_record recs[3];
    char err[256];
    CHECK(fn_kdd_parse_csv(NSL_LINE, &recs[0], err, sizeof err) == 0, err);
    CHECK(fn_kdd_parse_csv(KDD99_LINE, &recs[1], err, sizeof err) == 0, err);
    recs[2] = recs[1];
    strcpy(recs[2].cat[FN_KDD_PROTOCOL_TYPE], "udp");
    strcpy(recs[2].cat[FN_KDD_SERVICE], "domain_u");
    recs[2].num[4] = 999; /* src_bytes: 0, 181, 999 */
    fn_kdd_encoder *e = fn_kdd_encoder_new();
    CHECK(fn_kdd_encoder_fit(e, recs, 3, FN_KDD_MINMAX, FN_KDD_LOG_NONE, err, sizeof err) == 0, err);
    CHECK(fn_kdd_encoder_categories(e, FN_KDD_PROTOCOL_TYPE) == 2 &&
              fn_kdd_encoder_categories(e, FN_KDD_SERVICE) == 3 &&
              !strcmp(fn_kdd_encoder_category(e, FN_KDD_SERVICE, 0), "domain_u") &&
              !strcmp(fn_kdd_encoder_category(e, FN_KDD_SERVICE, 2), "private"),
          "vocabularies, sorted");
    CHECK(fn_kdd_encoder_dims(e) == 38 + 2 + 3 + 2, "38 numeric dimensions and one a category");
    const fn_kdd_scale *s = fn_kdd_encoder_scale(e, 4);
    CHECK(!s->log1p && s->offset == 0 && s->span == 999, "min-max: offset min, span max - min");
    CHECK(fn_kdd_encoder_scale(e, 6)->span == 0, "a constant feature: span 0");

    /* the vector: indices increasing, zeros left out, one-hot categories */
    struct svm_node x[FN_KDD_NODES_MAX];
    unsigned unknown = 99, n = fn_kdd_encode(e, &recs[2], x, &unknown);
    CHECK(unknown == 0 && x[n].index == -1, "terminated, nothing unknown");
    for (unsigned i = 1; i < n; i++)
        CHECK(x[i].index > x[i - 1].index, "indices increasing");
    /* duration 1, protocol_type 2..3 (tcp, udp), service 4..6, flag 7..8 (S0, SF), src_bytes 9 */
    CHECK(x[0].index == 3 && x[0].value == 1 && x[1].index == 4 && x[2].index == 8 &&
              x[3].index == 9 && x[3].value == 1.0, "udp, domain_u, SF, src_bytes scaled to 1");
    fn_kdd_record odd = recs[2];
    strcpy(odd.cat[FN_KDD_SERVICE], "gopher");
    strcpy(odd.cat[FN_KDD_FLAG], "RSTR");
    n = fn_kdd_encode(e, &odd, x, &unknown);
    CHECK(unknown == (1u << FN_KDD_SERVICE | 1u << FN_KDD_FLAG) && x[0].index == 3 &&
              x[1].index == 9, "unknown categories: all zeros, reported");

    CHECK(fn_kdd_encoder_fit(e, recs, 3, FN_KDD_ZSCORE, FN_KDD_LOG_BYTES, err, sizeof err) == 0,
          err);
    s = fn_kdd_encoder_scale(e, 4);
    double l0 = 0, l1 = log1p(181), l2 = log1p(999), mean = (l0 + l1 + l2) / 3;
    double sd = sqrt(((l0 - mean) * (l0 - mean) + (l1 - mean) * (l1 - mean) +
                      (l2 - mean) * (l2 - mean)) / 3);
    CHECK(s->log1p && fabs(s->offset - mean) < 1e-12 && fabs(s->span - sd) < 1e-12,
          "z-score after log1p: offset the mean, span the standard deviation");
    CHECK(!fn_kdd_encoder_scale(e, 22)->log1p, "bytes: count is not log1p'd");
    CHECK(fn_kdd_encoder_fit(e, recs, 3, FN_KDD_MINMAX, FN_KDD_LOG_COUNTS, err, sizeof err) == 0,
          err);
    CHECK(fn_kdd_encoder_scale(e, 22)->log1p && !fn_kdd_encoder_scale(e, 24)->log1p,
          "counts: count is log1p'd, serror_rate is not");
    CHECK(fn_kdd_encoder_add_category(e, FN_KDD_SERVICE, "aaa", err, sizeof err) == -1 &&
              strstr(err, "out of order"), "a loader cannot break a vocabulary's order");
    CHECK(fn_kdd_encoder_add_category(e, 0, "x", err, sizeof err) == -1, "duration has none");
    fn_kdd_encoder_destroy(&e);
    CHECK(!e, "destroy nulls the pointer");
}

/** A record value encodes as its CSV line does; its faults are named. */
static void test_value(void)
{
    fn_kdd_record r, back;
    char err[256];
    CHECK(fn_kdd_parse_csv(NSL_LINE, &r, err, sizeof err) == 0, err);
    sx_value v = record_value(&r, -1);
    CHECK(fn_kdd_from_value(&v, &back, err, sizeof err) == 0, err);
    CHECK(!memcmp(back.num, r.num, sizeof r.num) && !strcmp(back.cat[2], "private"),
          "the same features as the CSV line");
    sx_value_release(&v);
    v = record_value(&r, 4);
    CHECK(fn_kdd_from_value(&v, &back, err, sizeof err) == -1 && strstr(err, "'src_bytes'"),
          "a missing field is named");
    sx_value_release(&v);
    v = sx_value_record(FN_KDD_FEATURES);
    for (unsigned i = 0; i < FN_KDD_FEATURES; i++)
        sx_value_list_set(&v, i, fn_kdd_feature_name(i), sx_value_int(1));
    CHECK(fn_kdd_from_value(&v, &back, err, sizeof err) == -1 &&
              strstr(err, "'protocol_type' must be a string, not int"), "a mistyped category");
    sx_value_release(&v);
    v = record_value(&r, -1);
    v.u.list->items[5] = sx_value_cstr("x"); /* src_bytes (after "label"); int needs no release */
    CHECK(fn_kdd_from_value(&v, &back, err, sizeof err) == -1 &&
              strstr(err, "'src_bytes' must be an int or a float"), "a mistyped number");
    sx_value_release(&v);
    v = sx_value_int(3);
    CHECK(fn_kdd_from_value(&v, &back, err, sizeof err) == -1 && strstr(err, "not int"),
          "not a record");
}

/** A model trained on synthetic connections: it separates them, its
 *  file round-trips, and libsvm's own loader reads its libsvm part to
 *  the same decisions. */
static void test_model(void)
{
    fn_svm_model *m = synthetic_model(400);
    uint64_t seed = 7;
    unsigned right = 0;
    for (int i = 0; i < 200; i++) {
        fn_kdd_record r = synthetic(i % 2, &seed);
        double d;
        right += fn_svm_model_predict(m, &r, &d, NULL) == (i % 2 ? FN_SVM_DOS : FN_SVM_NORMAL);
        CHECK((d > 0) == (fn_svm_model_predict(m, &r, NULL, NULL) == FN_SVM_DOS),
              "the decision value is above 0 for dos");
    }
    CHECK(right == 200, "synthetic connections separated");

    char path[512], path2[512], lib[512], err[600];
    scratch_path(path, sizeof path, "model.svm");
    scratch_path(path2, sizeof path2, "model2.svm");
    scratch_path(lib, sizeof lib, "model.libsvm");
    CHECK(fn_svm_model_save(m, path, err, sizeof err) == 0, err);
    fn_svm_model *l = fn_svm_model_load(path, err, sizeof err);
    CHECK(l, err);
    CHECK(fn_svm_model_info(l)->normal == 200 && fn_svm_model_info(l)->C == 4 &&
              fn_svm_model_info(l)->log == FN_KDD_LOG_COUNTS, "the training line");
    CHECK(fn_kdd_encoder_dims(fn_svm_model_encoder(l)) ==
              fn_kdd_encoder_dims(fn_svm_model_encoder(m)), "the encoder");
    CHECK(fn_svm_model_save(l, path2, err, sizeof err) == 0, err);
    size_t n1, n2;
    char *a = read_file(path, &n1), *b = read_file(path2, &n2);
    CHECK(n1 == n2 && !memcmp(a, b, n1), "load then save writes the same bytes");
    CHECK(!strncmp(a, "scalanytics-svm-model 1\n", 24), "the magic line");

    /* the libsvm part, cut out, is a file libsvm itself reads */
    char *start = strstr(a, "\nlibsvm ") + 1, *body = strchr(start, '\n') + 1;
    size_t len = strtoull(start + 7, NULL, 10);
    write_file(lib, body, len);
    struct svm_model *own = svm_load_model(lib);
    CHECK(own, "svm_load_model reads the libsvm part");
    seed = 9;
    for (int i = 0; i < 200; i++) {
        fn_kdd_record r = synthetic(i % 3 == 0, &seed);
        r.num[22] = 600 * uniform(&seed); /* in between, too */
        struct svm_node x[FN_KDD_NODES_MAX];
        fn_kdd_encode(fn_svm_model_encoder(l), &r, x, NULL);
        double mine, theirs, dm, dl;
        double cls = svm_predict_values(fn_svm_model_libsvm(l), x, &mine);
        CHECK(svm_predict_values(own, x, &theirs) == cls && mine == theirs,
              "the same decision as libsvm's loader, to the bit");
        fn_svm_model_predict(m, &r, &dm, NULL);
        fn_svm_model_predict(l, &r, &dl, NULL);
        CHECK(fabs(dm - dl) < 1e-5, "the file keeps the decision (support vectors at 8 digits)");
    }
    svm_free_and_destroy_model(&own);
    free(a);
    free(b);
    fn_svm_model_destroy(&l);
    fn_svm_model_destroy(&m);
    CHECK(!m, "destroy nulls the pointer");
    unlink(path);
    unlink(path2);
    unlink(lib);
}

/** f_DetectAttack through the registry, as the evaluator calls it. */
static void test_function(void)
{
    fn_svm_model *m = synthetic_model(200);
    char path[512], err[600];
    scratch_path(path, sizeof path, "fn.svm");
    CHECK(fn_svm_model_save(m, path, err, sizeof err) == 0, err);
    fn_svm_model_destroy(&m);
    uint64_t seed = 3;
    fn_kdd_record dos = synthetic(true, &seed), normal = synthetic(false, &seed);
    sx_value args[2] = {record_value(&dos, -1), sx_value_cstr(path)}, r;
    uint64_t before = analog_counter_get("svm.classified");
    CHECK(fn_call("f_DetectAttack", args, 2, 2, NULL, &r, err, sizeof err) == 0, err);
    CHECK(r.kind == SX_STR && !strcmp((const char *)r.u.blob->data, "dos"), "a SYN flood is dos");
    sx_value_release(&r);
    sx_value_release(&args[0]);
    args[0] = record_value(&normal, -1);
    CHECK(fn_call("f_detectattack", args, 2, 2, NULL, &r, err, sizeof err) == 0, err);
    CHECK(!strcmp((const char *)r.u.blob->data, "normal"), "a web request is normal");
    sx_value_release(&r);
    CHECK(analog_counter_get("svm.classified") == before + 2, "classifications counted");

    uint64_t unknown = analog_counter_get("svm.unknown_category");
    sx_value_release(&args[0]);
    strcpy(normal.cat[FN_KDD_SERVICE], "tftp_u");
    args[0] = record_value(&normal, -1);
    CHECK(fn_call("f_DetectAttack", args, 2, 2, NULL, &r, err, sizeof err) == 0, err);
    sx_value_release(&r);
    CHECK(analog_counter_get("svm.unknown_category") == unknown + 1, "an unknown service counted");

    sx_value_release(&args[0]);
    args[0] = record_value(&normal, 31);
    CHECK(fn_call("f_DetectAttack", args, 2, 2, NULL, &r, err, sizeof err) == -1 &&
              strstr(err, "f_DetectAttack: argument 1: no field 'dst_host_count'"),
          "a missing field is named");
    sx_value num[2] = {sx_value_int(3), sx_value_cstr(path)};
    CHECK(fn_call("f_DetectAttack", num, 2, 2, NULL, &r, err, sizeof err) == -1 &&
              strstr(err, "argument 1 must be a record"), "an int is not a connection");
    CHECK(fn_call("f_DetectAttack", args, 2, 0, NULL, &r, err, sizeof err) == -2 &&
              strstr(err, "constant"), "a model path that is not constant is a plan error");
    sx_value missing[2] = {sx_value_int(0), sx_value_cstr("/nonexistent/model.svm")};
    CHECK(fn_call("f_DetectAttack", missing, 2, 2, NULL, &r, err, sizeof err) == -2 &&
              strstr(err, "/nonexistent/model.svm: cannot open"), "a missing model file");
    for (int i = 0; i < 2; i++) {
        sx_value_release(&args[i]);
        sx_value_release(&num[i]);
        sx_value_release(&missing[i]);
    }
    unlink(path);
}

/* Loads and frees counted by the cache test's loader. */
static int cache_loads, cache_frees;

/** A "model" that is a copy of its path, counted. */
static void *counting_load(const char *path, char *err, size_t errlen)
{
    if (!strcmp(path, "missing")) {
        snprintf(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    cache_loads++;
    return strdup(path);
}

static void counting_free(void *model)
{
    cache_frees++;
    free(model);
}

/** Call sites naming one path share one model, loaded once, freed by
 *  the last release. */
static void test_cache(void)
{
    char err[128];
    void *a = fn_model_cache_acquire("m1", counting_load, counting_free, err, sizeof err);
    void *b = fn_model_cache_acquire("m1", counting_load, counting_free, err, sizeof err);
    void *c = fn_model_cache_acquire("m2", counting_load, counting_free, err, sizeof err);
    CHECK(a && a == b && c && c != a && cache_loads == 2, "one load per path, shared");
    CHECK(!fn_model_cache_acquire("missing", counting_load, counting_free, err, sizeof err) &&
              strstr(err, "missing: cannot open"), "a failed load gives its message");
    fn_model_cache_release(a);
    CHECK(cache_frees == 0, "still held by one call site");
    fn_model_cache_release(b);
    fn_model_cache_release(c);
    CHECK(cache_frees == 2, "the last release frees");
    a = fn_model_cache_acquire("m1", counting_load, counting_free, err, sizeof err);
    CHECK(cache_loads == 3, "loaded again after the last release");
    fn_model_cache_release(a);
}

/* ---- hostile input ---- */

/** Loads path, which must fail with a message holding says (NULL: any). */
static void refused(const char *path, const char *says, const char *what)
{
    char err[600] = "";
    fn_svm_model *m = fn_svm_model_load(path, err, sizeof err);
    if (m || !err[0] || (says && !strstr(err, says))) {
        fprintf(stderr, "FAIL: %s: %s (want '%s')\n", what, m ? "loaded" : err,
                says ? says : "a message");
        exit(1);
    }
}

/** Rewrites the final "end CHECKSUM" line of a model file's n bytes. */
static void checksum_fix(char *p, size_t n)
{
    uint64_t sum = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n - 21; i++)
        sum = (sum ^ (uint8_t)p[i]) * 0x100000001b3ull;
    char tail[32];
    snprintf(tail, sizeof tail, "end %016llx\n", (unsigned long long)sum);
    memcpy(p + n - 21, tail, 21);
}

/** Everything that is not a whole model is refused with a message;
 *  what passes the checksum but is corrupt never crashes. */
static void test_bad_models(void)
{
    fn_svm_model *m = synthetic_model(200);
    char path[512], bad[512], err[600];
    scratch_path(path, sizeof path, "good.svm");
    scratch_path(bad, sizeof bad, "bad.svm");
    CHECK(fn_svm_model_save(m, path, err, sizeof err) == 0, err);
    fn_svm_model_destroy(&m);
    size_t n;
    char *good = read_file(path, &n), *copy = malloc(n + 2);

    write_file(bad, "", 0);
    refused(bad, "empty file", "an empty file");
    write_file(bad, "svm_type c_svc\n", 15);
    refused(bad, "not a Scalanytics SVM model", "a bare libsvm model");
    refused("/nonexistent.svm", "cannot open", "a missing file");
    write_file(bad, "scalanytics-svm-model 2\n", 24);
    refused(bad, "format version 2 (this build reads version 1)", "another format version");
    memcpy(copy, good, n);
    copy[22] = '7'; /* version 7, checksum left stale: the version is named first */
    write_file(bad, copy, n);
    refused(bad, "format version 7", "another version in a whole file");
    for (size_t len = 0; len < n; len++) { /* every truncation */
        write_file(bad, good, len);
        refused(bad, NULL, "a truncated model");
    }
    write_file(bad, good, n - 100);
    refused(bad, "truncated", "truncation is named");
    write_file(bad, good, 10);
    refused(bad, "truncated", "truncation in the first line is named");
    for (size_t i = 0; i < n; i++) { /* every one-byte corruption */
        memcpy(copy, good, n);
        copy[i] ^= 0x01;
        write_file(bad, copy, n);
        refused(bad, NULL, "a corrupted model");
    }
    memcpy(copy, good, n);
    copy[n / 2] ^= 0x01;
    write_file(bad, copy, n);
    refused(bad, "checksum mismatch", "corruption is named");
    memcpy(copy, good, n);
    copy[n] = '\n';
    write_file(bad, copy, n + 1);
    refused(bad, NULL, "trailing bytes");

    /* corruption the checksum does not catch (made good again): the
     * parser refuses it or yields a model that classifies */
    fn_kdd_record r;
    CHECK(fn_kdd_parse_csv(NSL_LINE, &r, err, sizeof err) == 0, err);
    static const char flips[] = {0x01, 0x10, 0x20, '0' ^ '9', ' ' ^ '\n'};
    unsigned loaded = 0, tries = 0;
    for (size_t i = 0; i < n - 21; i++)
        for (size_t f = 0; f < sizeof flips; f++, tries++) {
            memcpy(copy, good, n);
            copy[i] ^= flips[f];
            checksum_fix(copy, n);
            write_file(bad, copy, n);
            err[0] = 0;
            fn_svm_model *c = fn_svm_model_load(bad, err, sizeof err);
            CHECK(c || err[0], "refused with a message");
            if (c) {
                loaded++;
                fn_svm_model_predict(c, &r, NULL, NULL);
                fn_svm_model_destroy(&c);
            }
        }
    printf("test_svm: %u corruptions past the checksum: %u refused, %u still a model\n", tries,
           tries - loaded, loaded);
    free(copy);
    free(good);
    unlink(path);
    unlink(bad);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "units";
    if (!strcmp(mode, "units")) {
        test_names();
        test_csv();
        test_fit();
        test_value();
        test_model();
        test_function();
        test_cache();
    } else if (!strcmp(mode, "hostile")) {
        test_bad_models();
    } else {
        fprintf(stderr, "usage: test_svm units|hostile\n");
        return 2;
    }
    printf("test_svm %s: all checks passed\n", mode);
    return 0;
}
