/*
 * model_cache.h -- models that ANALOG functions load at plan time from
 * a constant path, shared by every call site naming the same file.
 *
 * A function's prepare acquires the model (loading it when no call site
 * holds it yet) and its prepared_free releases it; the last release
 * frees it. The models themselves are read-only once loaded, so the
 * threads that call with them need no lock; the cache's own lock is
 * taken only by acquire and release, at plan time and at the end.
 */
#ifndef FN_MODEL_CACHE_H
#define FN_MODEL_CACHE_H

#include <stddef.h>

/** Loads the model at path; NULL with a message in err. */
typedef void *(*fn_model_load)(const char *path, char *err, size_t errlen);
/** Frees a model load made. */
typedef void (*fn_model_free)(void *model);

/** The model at path made by load, shared with every holder of the same
 *  path and loader; NULL with load's message in err. The caller gives
 *  its hold back with fn_model_cache_release. */
void *fn_model_cache_acquire(const char *path, fn_model_load load, fn_model_free destroy,
                             char *err, size_t errlen);
/** Gives back one hold of model (from fn_model_cache_acquire); the
 *  last frees it. */
void fn_model_cache_release(void *model);

#endif
