/*
 * bayes_model.h -- a naive Bayes model: for each of two or more named
 * classes, how many training mails it had and how many of them held
 * each token (document frequencies); the parameters of the combining
 * method; and its file form.
 *
 * Lifecycle: fn_bayes_model_new, then fn_bayes_model_add for each
 * training mail (fn_bayes_model_remove undoes one: cross-validation),
 * fn_bayes_model_save; or fn_bayes_model_load. A model is used by one
 * thread while it is trained; once trained or loaded it is read-only
 * and any number of threads may classify with it at once.
 *
 * The file format (version 1) is written in full at the top of
 * bayes_model.c and in README.md ("The SPAM pipeline"). A file that is
 * empty, truncated, of another version or tokenizer, or fails its
 * checksum is refused with a message saying which; never a crash.
 */
#ifndef FN_BAYES_MODEL_H
#define FN_BAYES_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "functions/bayes_tokens.h"

#define FN_BAYES_FORMAT_VERSION 1u
#define FN_BAYES_CLASSES_MAX 32u
#define FN_BAYES_NAME_MAX 64u   /* bytes of a class name */

/** How token evidence is combined (functions/bayes.c). */
typedef enum fn_bayes_method {
    FN_BAYES_ROBINSON = 0,    /* Robinson's f(w), Fisher's chi-square combining */
    FN_BAYES_MULTINOMIAL = 1, /* multinomial NB over token presence, Lidstone smoothing */
} fn_bayes_method;

typedef struct fn_bayes_params {
    fn_bayes_method method;
    double strength;     /* Robinson s: weight of the prior for rare tokens */
    double unknown_prob; /* Robinson x: a token's probability before it is seen */
    double min_dev;      /* Robinson: a clue is a token with |f(w) - 0.5| >= this */
    uint32_t max_clues;  /* Robinson: the most extreme clues combined (0: all) */
    double alpha;        /* multinomial: the pseudo-count added to each token's count */
} fn_bayes_params;

/* Sentinel of a class without a decision threshold. */
#define FN_BAYES_NO_THRESHOLD (-1.0)

typedef struct fn_bayes_model fn_bayes_model;

/** The default parameters: Robinson, s 0.25, x 0.5, min_dev 0.1,
 *  150 clues, alpha 1 (README.md says how they were chosen). */
void fn_bayes_params_defaults(fn_bayes_params *p);
/** The method's name ("robinson", "multinomial"). */
const char *fn_bayes_method_name(fn_bayes_method m);

/** An untrained model of nclasses (2..FN_BAYES_CLASSES_MAX) classes
 *  named names[i] (1..FN_BAYES_NAME_MAX printable ASCII bytes, no
 *  space, distinct), with parameters p (NULL: the defaults). NULL with
 *  a message in err when they are not usable. The caller owns the model
 *  and frees it with fn_bayes_model_destroy. */
fn_bayes_model *fn_bayes_model_new(const char *const *names, unsigned nclasses,
                                   const fn_bayes_params *p, char *err, size_t errlen);
/** Frees *m (NULL is fine) and nulls the pointer. */
void fn_bayes_model_destroy(fn_bayes_model **m);

/** Counts one training mail of class cls with token set t. */
void fn_bayes_model_add(fn_bayes_model *m, unsigned cls, const fn_bayes_tokens *t);
/** Undoes fn_bayes_model_add(m, cls, t) (t must have been added). */
void fn_bayes_model_remove(fn_bayes_model *m, unsigned cls, const fn_bayes_tokens *t);
/** Sets class cls's decision threshold (0..1, or FN_BAYES_NO_THRESHOLD):
 *  see fn_bayes_classify. */
void fn_bayes_model_set_threshold(fn_bayes_model *m, unsigned cls, double threshold);

/** Writes m to path (replaced whole: written to a temporary file, then
 *  renamed). 0, or -1 with a message in err. */
int fn_bayes_model_save(const fn_bayes_model *m, const char *path, char *err, size_t errlen);
/** Reads a model written by fn_bayes_model_save. NULL with a message
 *  naming path and the problem in err. The caller owns the model. */
fn_bayes_model *fn_bayes_model_load(const char *path, char *err, size_t errlen);

/** Number of classes. */
unsigned fn_bayes_model_classes(const fn_bayes_model *m);
/** Name of class i (owned by the model). */
const char *fn_bayes_model_class_name(const fn_bayes_model *m, unsigned i);
/** The class named name, or -1. */
int fn_bayes_model_class_find(const fn_bayes_model *m, const char *name);
/** Training mails of class i. */
uint64_t fn_bayes_model_class_mails(const fn_bayes_model *m, unsigned i);
/** Sum over tokens of class i's counts. */
uint64_t fn_bayes_model_class_total(const fn_bayes_model *m, unsigned i);
/** Class i's decision threshold, or FN_BAYES_NO_THRESHOLD. */
double fn_bayes_model_threshold(const fn_bayes_model *m, unsigned i);
/** The parameters (owned by the model). */
const fn_bayes_params *fn_bayes_model_params(const fn_bayes_model *m);
/** Distinct tokens known (with any count above 0). */
uint64_t fn_bayes_model_tokens(const fn_bayes_model *m);

/* Hot path: once per token of a mail. */
/** The per-class counts of token hash (fn_bayes_model_classes of them),
 *  or NULL when the model does not know it. Owned by the model; valid
 *  until it is next trained. */
const uint32_t *fn_bayes_model_counts(const fn_bayes_model *m, uint64_t hash);

#endif
