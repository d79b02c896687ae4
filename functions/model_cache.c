/*
 * model_cache.c -- plan-time models shared by path (functions/model_cache.h).
 *
 * Design: a short linked list of (loader, path, model, holds), under one
 * mutex. Programs name a handful of models, so a list is enough; the
 * loader is part of the key so two kinds of model file at one path stay
 * apart. Loading happens under the lock: plan time is single-minded, and
 * it keeps two call sites from loading one file twice.
 */
#include "functions/model_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

typedef struct cached {
    char *path;
    fn_model_load load;
    fn_model_free destroy;
    void *model;
    unsigned holds;
    struct cached *next;
} cached;

/* Guards the list and the hold counts, never the models. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached *cache;

void *fn_model_cache_acquire(const char *path, fn_model_load load, fn_model_free destroy,
                             char *err, size_t errlen)
{
    pthread_mutex_lock(&cache_lock);
    cached *c = cache;
    while (c && (c->load != load || strcmp(c->path, path) != 0))
        c = c->next;
    if (!c) {
        void *loaded = load(path, err, errlen);
        if (loaded) {
            c = sx_calloc(1, sizeof *c);
            if (!(c->path = strdup(path)))
                sx_alloc_fail(strlen(path) + 1);
            *c = (cached){c->path, load, destroy, loaded, 0, cache};
            cache = c;
        }
    }
    void *model = NULL;
    if (c) {
        c->holds++;
        model = c->model;
    }
    pthread_mutex_unlock(&cache_lock);
    return model;
}

void fn_model_cache_release(void *model)
{
    pthread_mutex_lock(&cache_lock);
    cached **pp = &cache;
    while (*pp && (*pp)->model != model)
        pp = &(*pp)->next;
    cached *c = *pp;
    if (c && --c->holds == 0) {
        *pp = c->next;
        c->destroy(c->model);
        free(c->path);
        free(c);
    }
    pthread_mutex_unlock(&cache_lock);
}
