/*
 * svm_model.h -- a DoS detector: a libsvm C-SVC that tells normal from
 * dos connections described by the 41 KDD Cup '99 features, with the
 * encoder that makes its input vectors (functions/kdd_features.h); and
 * its file form.
 *
 * Lifecycle: train with libsvm on vectors from an encoder, then
 * fn_svm_model_new (which copies the libsvm model), fn_svm_model_save;
 * or fn_svm_model_load. Once made or loaded a model is read-only and any
 * number of threads may classify with it at once (libsvm's
 * svm_predict_values reads the model only; it allocates its scratch
 * per call).
 *
 * The file format (version 1) is written in full at the top of
 * svm_model.c and in README.md. A file that is empty, truncated, of
 * another version or fails its checksum is refused with a message
 * saying which; never a crash.
 */
#ifndef FN_SVM_MODEL_H
#define FN_SVM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <svm.h>

#include "functions/kdd_features.h"

#define FN_SVM_FORMAT_VERSION 1u

/* The two classes, and their libsvm labels. */
enum { FN_SVM_NORMAL = 0, FN_SVM_DOS = 1 };

/** What training recorded, kept in the file for the curious. */
typedef struct fn_svm_info {
    double C;                       /* the C-SVC's cost */
    uint64_t normal, dos;           /* training records of each class */
    fn_kdd_scaling scaling;         /* how the encoder was fitted */
    fn_kdd_log log;
} fn_svm_info;

typedef struct fn_svm_model fn_svm_model;

/** A model of encoder *enc (taken: *enc is nulled) and a copy of
 *  trained, a two-class C-SVC over enc's vectors with labels
 *  FN_SVM_NORMAL and FN_SVM_DOS (trained stays the caller's: it may be
 *  freed, with its training vectors, at once). NULL with a message in
 *  err when trained is not such a model. The caller owns the model and
 *  frees it with fn_svm_model_destroy. */
fn_svm_model *fn_svm_model_new(fn_kdd_encoder **enc, const struct svm_model *trained,
                               const fn_svm_info *info, char *err, size_t errlen);
/** Frees *m (NULL is fine) and nulls the pointer. */
void fn_svm_model_destroy(fn_svm_model **m);

/** Writes m to path (replaced whole: written to a temporary file, then
 *  renamed). Uses libsvm's svm_save_model, which sets the process's
 *  locale for a moment: call it while no other thread runs. 0, or -1
 *  with a message in err. */
int fn_svm_model_save(const fn_svm_model *m, const char *path, char *err, size_t errlen);
/** Reads a model written by fn_svm_model_save (safe from any thread:
 *  it parses the libsvm part itself). NULL with a message naming path
 *  and the problem in err. The caller owns the model. */
fn_svm_model *fn_svm_model_load(const char *path, char *err, size_t errlen);

/** The encoder (owned by the model). */
const fn_kdd_encoder *fn_svm_model_encoder(const fn_svm_model *m);
/** What training recorded (owned by the model). */
const fn_svm_info *fn_svm_model_info(const fn_svm_model *m);
/** The libsvm model (owned by the model, read-only). */
const struct svm_model *fn_svm_model_libsvm(const fn_svm_model *m);
/** The name of class c: "normal" or "dos". */
const char *fn_svm_class_name(int c);

/* Hot path: once per connection classified. */
/** Classifies r: FN_SVM_NORMAL or FN_SVM_DOS. Sets *decision (when not
 *  NULL) to the SVM's decision value, above 0 for dos, and *unknown
 *  (when not NULL) as fn_kdd_encode does. */
int fn_svm_model_predict(const fn_svm_model *m, const fn_kdd_record *r, double *decision,
                         unsigned *unknown);

#endif
