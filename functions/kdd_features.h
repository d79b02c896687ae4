/*
 * kdd_features.h -- a connection described by the 41 KDD Cup '99
 * features (NSL-KDD uses the same), and the encoder that turns it into
 * the vector an SVM classifies.
 *
 * A record comes from a CSV line of NSL-KDD or KDD'99 (41 features,
 * the label, NSL-KDD's difficulty) or from an ANALOG record value whose
 * fields carry the 41 names (what f_GetTCPFeature produces). The
 * encoder one-hot encodes the three categorical features with the
 * vocabularies seen in training (a category it never saw encodes as
 * all zeros, and is reported) and scales the 38 numeric ones, optionally
 * after log1p, by parameters learned in training. A fitted or loaded
 * encoder is read-only: any number of threads may encode with it.
 */
#ifndef FN_KDD_FEATURES_H
#define FN_KDD_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <svm.h>

#include "proto/value.h"

#define FN_KDD_FEATURES 41u
#define FN_KDD_NAME_MAX 32u    /* bytes of a category or a label */
#define FN_KDD_VOCAB_MAX 256u  /* categories one categorical feature may have */
/* svm_nodes fn_kdd_encode writes at most: one per numeric feature, one
 * per categorical feature, the terminator. */
#define FN_KDD_NODES_MAX (FN_KDD_FEATURES + 1u)

/* Positions of the categorical features (the rest are numeric). */
enum { FN_KDD_PROTOCOL_TYPE = 1, FN_KDD_SERVICE = 2, FN_KDD_FLAG = 3 };

typedef struct fn_kdd_record {
    double num[FN_KDD_FEATURES];                /* by position; 0 at a categorical one */
    char cat[FN_KDD_FLAG + 1][FN_KDD_NAME_MAX + 1]; /* cat[FN_KDD_SERVICE]: "http" */
    char label[FN_KDD_NAME_MAX + 1]; /* "neptune" (KDD'99's final '.' dropped); "" from a value */
    int difficulty;                  /* NSL-KDD's 0..21; -1 when absent */
} fn_kdd_record;

/** How numeric features are scaled after the optional log1p. */
typedef enum fn_kdd_scaling {
    FN_KDD_MINMAX = 0, /* (x - min) / (max - min): [0, 1] on the training data */
    FN_KDD_ZSCORE = 1, /* (x - mean) / standard deviation */
} fn_kdd_scaling;

/** Which numeric features are log1p-transformed before scaling. */
typedef enum fn_kdd_log {
    FN_KDD_LOG_NONE = 0,
    FN_KDD_LOG_BYTES = 1,  /* duration, src_bytes, dst_bytes */
    FN_KDD_LOG_COUNTS = 2, /* those, and every count that is not a rate */
} fn_kdd_log;

/** One numeric feature's transform: x' = (t(x) - offset) / span, where
 *  t is log1p(max(x, 0)) when log1p, else the identity; span 0 (a
 *  feature constant in training) makes x' 0. */
typedef struct fn_kdd_scale {
    bool log1p;
    double offset, span;
} fn_kdd_scale;

typedef struct fn_kdd_encoder fn_kdd_encoder;

/* ---- features, records and labels ---- */

/** The name of feature i (0..40), "duration" ... "dst_host_srv_rerror_rate". */
const char *fn_kdd_feature_name(unsigned i);
/** True for protocol_type, service and flag. */
bool fn_kdd_feature_categorical(unsigned i);
/** The position of the feature named name, or -1. */
int fn_kdd_feature_find(const char *name);

/** Parses one CSV line (NUL-terminated; a final "\n" or "\r\n" is
 *  ignored): 41 features, the label, an optional difficulty. 0, or -1
 *  with a message naming the field in err. */
int fn_kdd_parse_csv(const char *line, fn_kdd_record *r, char *err, size_t errlen);
/** Fills r from a record value with a field for each of the 41 names:
 *  protocol_type, service and flag strings, the rest int, float or
 *  bool; other fields are ignored. 0, or -1 with a message naming the
 *  missing or mistyped field in err. */
int fn_kdd_from_value(const sx_value *v, fn_kdd_record *r, char *err, size_t errlen);

/** The DoS attack types of NSL-KDD (10): index i's name, and whether
 *  the training set has it (back, land, neptune, pod, smurf, teardrop)
 *  or only the test set (apache2, mailbomb, processtable, udpstorm). */
unsigned fn_kdd_dos_types(void);
const char *fn_kdd_dos_name(unsigned i);
bool fn_kdd_dos_in_training(unsigned i);
/** The DoS type label names, or -1 when it names none. */
int fn_kdd_dos_find(const char *label);

/* ---- the encoder ---- */

/** An encoder without categories, every scale the identity. The caller
 *  owns it and frees it with fn_kdd_encoder_destroy. */
fn_kdd_encoder *fn_kdd_encoder_new(void);
/** Frees *e (NULL is fine) and nulls the pointer. */
void fn_kdd_encoder_destroy(fn_kdd_encoder **e);
/** Learns from n training records: each categorical feature's
 *  vocabulary (sorted), each numeric feature's scale as s and lg say.
 *  Replaces what e knew. 0, or -1 with a message (a vocabulary over
 *  FN_KDD_VOCAB_MAX). */
int fn_kdd_encoder_fit(fn_kdd_encoder *e, const fn_kdd_record *recs, size_t n,
                       fn_kdd_scaling s, fn_kdd_log lg, char *err, size_t errlen);

/** Appends category name to categorical feature i's vocabulary (a
 *  loader's verb): names must come in strictly increasing strcmp
 *  order. 0, or -1 with a message. */
int fn_kdd_encoder_add_category(fn_kdd_encoder *e, unsigned i, const char *name, char *err,
                                size_t errlen);
/** Sets numeric feature i's scale. 0, or -1 with a message (a span
 *  below 0, a value not finite). */
int fn_kdd_encoder_set_scale(fn_kdd_encoder *e, unsigned i, const fn_kdd_scale *s, char *err,
                             size_t errlen);
/** Numeric feature i's scale (owned by e). */
const fn_kdd_scale *fn_kdd_encoder_scale(const fn_kdd_encoder *e, unsigned i);
/** Categorical feature i's vocabulary: its size, and its j-th name. */
unsigned fn_kdd_encoder_categories(const fn_kdd_encoder *e, unsigned i);
const char *fn_kdd_encoder_category(const fn_kdd_encoder *e, unsigned i, unsigned j);
/** The vector's dimension: 38 plus the three vocabularies' sizes. */
unsigned fn_kdd_encoder_dims(const fn_kdd_encoder *e);

/* Hot path: once per record classified. */
/** Writes r's vector to x (room for FN_KDD_NODES_MAX nodes) as libsvm
 *  nodes: indices from 1, increasing, zeros left out, ended by index
 *  -1. Features in their standard order, a categorical one taking one
 *  index per category. Sets bit i of *unknown (when not NULL) for each
 *  categorical feature i whose value the vocabulary lacks. Returns the
 *  number of nodes before the terminator. */
unsigned fn_kdd_encode(const fn_kdd_encoder *e, const fn_kdd_record *r, struct svm_node *x,
                       unsigned *unknown);

#endif
