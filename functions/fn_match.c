/*
 * fn_match.c -- f_match(text, pattern) and f_matchText(text, pattern):
 * PCRE2 regex matching with JIT.
 *
 * Both take the same arguments and share the compiled-pattern paths:
 * f_match answers "true"/"false", f_matchText gives the matched text
 * ("" when none). The text may be a string, bytes, or a record with a
 * text field (a mail from f_processSMTPSegment), matched against that
 * field.
 *
 * A constant pattern (the usual case: f_match(MAIL, "hello")) is
 * compiled and JIT-compiled once by prepare; the compiled code is shared
 * read-only by all threads (PCRE2 allows this). A non-constant pattern
 * is compiled on the calling thread and kept in that thread's small
 * cache of FN_MATCH_CACHE patterns (round-robin eviction), keyed by the
 * pattern's bytes.
 *
 * Per-thread state (match data, match context with the limits, JIT
 * stack, the pattern cache) hangs off a pthread key and is freed when
 * its thread exits, so the hot path allocates nothing but the result
 * string and takes no lock. Only rare events (limit hits, compiles,
 * evictions) touch the shared atomic counters.
 *
 * Matching is bytewise: patterns are compiled with PCRE2_NEVER_UTF, so
 * text of any bytes (a string or a byte string) is matched as is. Every
 * match runs under FN_MATCH_LIMIT and FN_MATCH_HEAP_LIMIT_KIB, so a
 * catastrophic pattern fails with an error (counted) instead of hanging
 * a worker.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/fn_args.h"
#include "functions/fn_match.h"
#include "proto/alloc.h"

/* JIT stack per thread: starts small, may grow to this many bytes. */
#define JIT_STACK_START (32u * 1024u)
#define JIT_STACK_MAX (1024u * 1024u)

/** One compiled non-constant pattern in a thread's cache. */
typedef struct cached_pattern {
    sx_blob *pattern; /* a reference to the pattern's bytes, the key */
    pcre2_code *code;
} cached_pattern;

/** What one thread needs to match; only that thread touches it. */
typedef struct match_thread {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    cached_pattern cache[FN_MATCH_CACHE];
    unsigned next_victim;
} match_thread;

/* Limits per match, read when a thread's match state is made. */
static const analog_setting_def match_limit_setting = {
    .name = "match.limit", .def = FN_MATCH_LIMIT, .min = 1000, .max = 4000000000LL,
    .unit = "steps",
    .summary = "f_match, f_matchText: backtracking steps one match may take (PCRE2 match limit)"};
ANALOG_SETTING_REGISTER(match_limit_setting)
static const analog_setting_def match_heap_setting = {
    .name = "match.heap_kib", .def = FN_MATCH_HEAP_LIMIT_KIB, .min = 64, .max = 4000000,
    .unit = "KiB", .summary = "f_match, f_matchText: heap one match may use (PCRE2 heap limit)"};
ANALOG_SETTING_REGISTER(match_heap_setting)

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static int thread_key_rc;

static atomic_uint_fast64_t stat_limit_hits;
static atomic_uint_fast64_t stat_compiles;
static atomic_uint_fast64_t stat_compile_errors;
static atomic_uint_fast64_t stat_evictions;
static atomic_uint_fast64_t stat_jit_fallbacks;

/** Adds one to a counter; relaxed, since counters order nothing. */
static void count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void fn_match_stats_get(fn_match_stats *out)
{
    out->limit_hits = atomic_load_explicit(&stat_limit_hits, memory_order_relaxed);
    out->compiles = atomic_load_explicit(&stat_compiles, memory_order_relaxed);
    out->compile_errors = atomic_load_explicit(&stat_compile_errors, memory_order_relaxed);
    out->evictions = atomic_load_explicit(&stat_evictions, memory_order_relaxed);
    out->jit_fallbacks = atomic_load_explicit(&stat_jit_fallbacks, memory_order_relaxed);
}

/* ---- compiling ---- */

/** Compiles text value pattern (bytewise, no UTF) and JIT-compiles it
 *  when PCRE2 can (else it runs interpreted, counted). Returns the code,
 *  owned by the caller, or NULL with PCRE2's message and offset in err,
 *  naming function fn. */
static pcre2_code *compile(const char *fn, const sx_value *pattern, char *err, size_t errlen)
{
    int code_err;
    PCRE2_SIZE offset;
    const sx_blob *b = pattern->u.blob;
    pcre2_code *code = pcre2_compile(b ? b->data : (PCRE2_SPTR) "", b ? b->len : 0,
                                     PCRE2_NEVER_UTF, &code_err, &offset, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(code_err, msg, sizeof msg) < 0)
            strcpy((char *)msg, "unknown error");
        fn_args_errorf(err, errlen, "%s: argument 2: bad pattern at offset %zu: %s", fn,
                       (size_t)offset, (const char *)msg);
        return NULL;
    }
    if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0)
        count(&stat_jit_fallbacks);
    return code;
}

/** Compiles a constant pattern of function fn once at plan time; a
 *  non-constant one is left to the call (*prepared stays NULL). */
static int pattern_prepare(const char *fn, const sx_value *args, const bool *is_const,
                           uint32_t nargs, void **prepared, char *err, size_t errlen)
{
    *prepared = NULL;
    if (nargs < 2 || !is_const[1])
        return 0;
    if (!fn_args_is_text(&args[1]))
        return fn_args_errorf(err, errlen, "%s: argument 2 must be a string, not %s", fn,
                              sx_kind_name((sx_kind)args[1].kind));
    pcre2_code *code = compile(fn, &args[1], err, errlen);
    if (!code)
        return -1;
    *prepared = code;
    return 0;
}

/** f_match's prepare. */
static int match_prepare(const sx_value *args, const bool *is_const, uint32_t nargs,
                         void **prepared, char *err, size_t errlen)
{
    return pattern_prepare("f_match", args, is_const, nargs, prepared, err, errlen);
}

/** f_matchText's prepare. */
static int match_text_prepare(const sx_value *args, const bool *is_const, uint32_t nargs,
                              void **prepared, char *err, size_t errlen)
{
    return pattern_prepare("f_matchText", args, is_const, nargs, prepared, err, errlen);
}

/** Frees a pattern compiled by match_prepare. */
static void match_prepared_free(void *prepared)
{
    pcre2_code_free(prepared);
}

/* ---- per-thread state ---- */

/** Frees a thread's state; runs when the thread exits. */
static void thread_free(void *p)
{
    match_thread *t = p;
    for (unsigned i = 0; i < FN_MATCH_CACHE; i++) {
        pcre2_code_free(t->cache[i].code);
        sx_blob_release(&t->cache[i].pattern);
    }
    pcre2_jit_stack_free(t->jit_stack);
    pcre2_match_context_free(t->mctx);
    pcre2_match_data_free(t->md);
    free(t);
}

/** Creates the key that holds each thread's state (once per process). */
static void thread_key_init(void)
{
    thread_key_rc = pthread_key_create(&thread_key, thread_free);
}

/** A new thread state: one-pair match data (whether there is a match,
 *  and where the whole match is), a match context with the limits and a JIT stack.
 *  NULL if PCRE2 could not allocate. */
static match_thread *thread_new(void)
{
    match_thread *t = sx_calloc(1, sizeof *t);
    t->md = pcre2_match_data_create(1, NULL);
    t->mctx = pcre2_match_context_create(NULL);
    t->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
    if (!t->md || !t->mctx) {
        thread_free(t);
        return NULL;
    }
    pcre2_set_match_limit(t->mctx, (uint32_t)analog_setting_get(match_limit_setting.name));
    pcre2_set_heap_limit(t->mctx, (uint32_t)analog_setting_get(match_heap_setting.name));
    if (t->jit_stack) /* without it PCRE2 uses 32 KiB of the machine stack */
        pcre2_jit_stack_assign(t->mctx, NULL, t->jit_stack);
    return t;
}

/** The calling thread's state, created on first use; NULL with a
 *  message naming fn on failure. */
static match_thread *thread_get(analog_fn_ctx *ctx, const char *fn)
{
    pthread_once(&thread_key_once, thread_key_init);
    if (thread_key_rc != 0) {
        fn_args_errorf(ctx->err, ctx->errlen, "%s: cannot create thread state", fn);
        return NULL;
    }
    match_thread *t = pthread_getspecific(thread_key);
    if (t)
        return t;
    t = thread_new();
    if (!t || pthread_setspecific(thread_key, t) != 0) {
        if (t)
            thread_free(t);
        fn_args_errorf(ctx->err, ctx->errlen, "%s: out of memory for match state", fn);
        return NULL;
    }
    return t;
}

/** The compiled form of a non-constant pattern from t's cache,
 *  compiling (and evicting round-robin) on a miss. NULL with a message
 *  naming fn if the pattern is too long or does not compile (not
 *  cached). */
static const pcre2_code *cache_get(match_thread *t, analog_fn_ctx *ctx, const char *fn,
                                   const sx_value *pattern)
{
    for (unsigned i = 0; i < FN_MATCH_CACHE; i++)
        if (t->cache[i].code && sx_blob_equal(t->cache[i].pattern, pattern->u.blob))
            return t->cache[i].code;
    size_t len = pattern->u.blob ? pattern->u.blob->len : 0;
    if (len > FN_MATCH_PATTERN_MAX) {
        count(&stat_compile_errors);
        fn_args_errorf(ctx->err, ctx->errlen, "%s: argument 2: pattern longer than %u bytes", fn,
                       FN_MATCH_PATTERN_MAX);
        return NULL;
    }
    count(&stat_compiles);
    pcre2_code *code = compile(fn, pattern, ctx->err, ctx->errlen);
    if (!code) {
        count(&stat_compile_errors);
        return NULL;
    }
    cached_pattern *slot = &t->cache[t->next_victim];
    t->next_victim = (t->next_victim + 1) % FN_MATCH_CACHE;
    if (slot->code) {
        count(&stat_evictions);
        pcre2_code_free(slot->code);
        sx_blob_release(&slot->pattern);
    }
    slot->code = code;
    slot->pattern = pattern->u.blob ? sx_blob_ref(pattern->u.blob) : sx_blob_new(NULL, 0);
    return code;
}

/* ---- matching ---- */

/** Turns a pcre2_match result into a truth value in *matched, or -1
 *  with a message naming fn (a limit hit is counted). */
static int match_outcome(analog_fn_ctx *ctx, const char *fn, int rc, bool *matched)
{
    if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH) { /* 0: ovector too small, still a match */
        *matched = rc >= 0;
        return 0;
    }
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        count(&stat_limit_hits);
        return fn_args_errorf(ctx->err, ctx->errlen,
                              "%s: match limit exceeded (pattern too costly for this text)", fn);
    }
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
        strcpy((char *)msg, "unknown error");
    return fn_args_errorf(ctx->err, ctx->errlen, "%s: %s", fn, (const char *)msg);
}

/** The text to match in arg: a string or bytes as is, or a record's
 *  text field (a mail). NULL with a type error naming fn otherwise; an
 *  empty text may come back as a NULL blob in *text. */
static const sx_value *match_subject(analog_fn_ctx *ctx, const char *fn, const sx_value *arg)
{
    const sx_value *field = arg->kind == SX_RECORD ? sx_value_field(arg, "text") : NULL;
    const sx_value *text = field ? field : arg;
    if (fn_args_is_text(text))
        return text;
    fn_args_type_error(ctx, fn, 1, "a string or bytes (or a record with a text field)", arg);
    return NULL;
}

/* Hot path: one pcre2_match with this thread's match data; nothing is
 * allocated but the caller's result. */
/** Matches args[1] (prepared or per call) against the text of
 *  args[0]; *matched says whether it matched, *subject is the text and
 *  *ov the whole match's offsets. 0, or -1 with a message naming fn. */
static int match_run(analog_fn_ctx *ctx, const char *fn, const sx_value *args, bool *matched,
                     const sx_blob **subject, PCRE2_SIZE ov[2])
{
    const sx_value *text = match_subject(ctx, fn, &args[0]);
    if (!text)
        return -1;
    if (!ctx->prepared && !fn_args_is_text(&args[1]))
        return fn_args_type_error(ctx, fn, 2, "a string", &args[1]);
    match_thread *t = thread_get(ctx, fn);
    if (!t)
        return -1;
    const pcre2_code *code = ctx->prepared ? ctx->prepared : cache_get(t, ctx, fn, &args[1]);
    if (!code)
        return -1;
    const sx_blob *b = text->u.blob;
    int rc = pcre2_match(code, b ? b->data : (PCRE2_SPTR) "", b ? b->len : 0, 0, 0, t->md,
                         t->mctx);
    if (match_outcome(ctx, fn, rc, matched) != 0)
        return -1;
    const PCRE2_SIZE *o = pcre2_get_ovector_pointer(t->md);
    ov[0] = o[0];
    ov[1] = o[1];
    *subject = b;
    return 0;
}

/** "true" if pattern matches anywhere in text (a string, bytes, or a
 *  record's text field), "false" if not; an error for a bad pattern or
 *  a match limit hit. */
static int f_match(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    bool matched;
    const sx_blob *subject;
    PCRE2_SIZE ov[2];
    if (match_run(ctx, "f_match", args, &matched, &subject, ov) != 0)
        return -1;
    *result = fn_args_truth(matched);
    return 0;
}

/** The text the pattern's first match covers, as a string ("" when it
 *  does not match, or when \K leaves the match reversed). */
static int f_match_text(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                        sx_value *result)
{
    bool matched;
    const sx_blob *subject;
    PCRE2_SIZE ov[2];
    if (match_run(ctx, "f_matchText", args, &matched, &subject, ov) != 0)
        return -1;
    if (!matched || !subject || ov[0] > ov[1] || ov[1] > subject->len)
        *result = sx_value_str("", 0);
    else
        *result = sx_value_str((const char *)subject->data + ov[0], ov[1] - ov[0]);
    return 0;
}

static const analog_fn_def fn_match_def = {
    .name = "f_match", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE,
    .call = f_match,
    .prepare = match_prepare,
    .prepared_free = match_prepared_free,
    .summary = "f_match(text, pattern): \"true\" if the PCRE2 pattern matches text (a string, "
               "bytes or a mail's text), else \"false\"",
};
ANALOG_FN_REGISTER(fn_match_def)

static const analog_fn_def fn_match_text_def = {
    .name = "f_matchText", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE,
    .call = f_match_text,
    .prepare = match_text_prepare,
    .prepared_free = match_prepared_free,
    .summary = "f_matchText(text, pattern): the text the PCRE2 pattern's first match covers, "
               "or \"\"",
};
ANALOG_FN_REGISTER(fn_match_text_def)
