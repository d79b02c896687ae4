/*
 * scheduler.c -- worker threads, per-worker deques, stealing, sleeping.
 *
 * The loop: pop own deque; else take from the injection queue; else try
 * to steal from random victims; after repeated failure spin a little,
 * then yield, then sleep. No profiling, no static partitioning.
 *
 * Sleeping without lost wake-ups: a worker about to sleep announces
 * itself (sleepers++, seq_cst) and scans all deques once more; a pusher
 * stores its item (seq_cst) and then reads sleepers. One of the two sees
 * the other, so either the sleeper finds the work or the pusher wakes it
 * (by bumping the epoch under the mutex the sleeper waits on). The hot
 * path pays one seq_cst load of sleepers per push.
 */
#include "scheduler.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "deque.h"
#include "proto/alloc.h"

enum {
    STEAL_ROUNDS_BEFORE_YIELD = 64,
    STEAL_ROUNDS_BEFORE_SLEEP = 128,
};

struct sx_worker {
    _Alignas(64) sx_sched *sched;
    unsigned index;
    pthread_t thread;
    sx_deque *deque;
    uint64_t rng;
    void *slot;
    _Alignas(64) atomic_uint_fast64_t activations;
    atomic_uint_fast64_t stolen;
    atomic_uint_fast64_t injected;
    atomic_uint_fast64_t idle_ns;
    atomic_uint_fast64_t sleeps;
};

struct sx_sched {
    unsigned nworkers;
    sx_worker *workers;
    sx_sched_run_fn run;
    void *ctx;
    bool started;
    atomic_bool stopping;

    /* Sleep/wake: the mutex protects epoch and the condition variable. */
    _Alignas(64) atomic_int sleepers;
    pthread_mutex_t sleep_mu;
    pthread_cond_t sleep_cv;
    uint64_t epoch;

    /* Injection queue for non-worker threads: a ring under inject_mu. */
    _Alignas(64) atomic_size_t inject_count;
    pthread_mutex_t inject_mu;
    void **inject_ring;
    size_t inject_cap, inject_head;
};

/** Monotonic clock in nanoseconds. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/** xorshift64*: the victim picker's private PRNG. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/** A hint to the CPU that we are spinning. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

sx_sched *sx_sched_new(unsigned threads, sx_sched_run_fn run, void *ctx)
{
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    sx_sched *s = sx_calloc(1, sizeof *s);
    s->nworkers = threads;
    s->run = run;
    s->ctx = ctx;
    s->workers = sx_calloc(threads, sizeof *s->workers);
    for (unsigned i = 0; i < threads; i++) {
        sx_worker *w = &s->workers[i];
        w->sched = s;
        w->index = i;
        w->deque = sx_deque_new(1024);
        w->rng = 0x9E3779B97F4A7C15ULL * (i + 1);
    }
    pthread_mutex_init(&s->sleep_mu, NULL);
    pthread_cond_init(&s->sleep_cv, NULL);
    pthread_mutex_init(&s->inject_mu, NULL);
    s->inject_cap = 64;
    s->inject_ring = sx_malloc(s->inject_cap * sizeof(void *));
    return s;
}

/** Wakes every sleeping worker (by moving the epoch on). */
static void wake_all(sx_sched *s)
{
    pthread_mutex_lock(&s->sleep_mu);
    s->epoch++;
    pthread_cond_broadcast(&s->sleep_cv);
    pthread_mutex_unlock(&s->sleep_mu);
}

/** Wakes one sleeping worker if any sleeps. Called after publishing work. */
static void wake_one_if_sleeping(sx_sched *s)
{
    if (atomic_load_explicit(&s->sleepers, memory_order_seq_cst) == 0)
        return;
    pthread_mutex_lock(&s->sleep_mu);
    s->epoch++;
    pthread_cond_signal(&s->sleep_cv);
    pthread_mutex_unlock(&s->sleep_mu);
}

void sx_sched_push(sx_worker *w, void *item)
{
    sx_deque_push(w->deque, item);
    wake_one_if_sleeping(w->sched);
}

void sx_sched_submit(sx_sched *s, void *item)
{
    pthread_mutex_lock(&s->inject_mu);
    size_t n = atomic_load_explicit(&s->inject_count, memory_order_relaxed);
    if (n == s->inject_cap) { /* grow, unrolling the ring */
        void **ring = sx_malloc(2 * s->inject_cap * sizeof(void *));
        for (size_t i = 0; i < n; i++)
            ring[i] = s->inject_ring[(s->inject_head + i) % s->inject_cap];
        free(s->inject_ring);
        s->inject_ring = ring;
        s->inject_head = 0;
        s->inject_cap *= 2;
    }
    s->inject_ring[(s->inject_head + n) % s->inject_cap] = item;
    atomic_store_explicit(&s->inject_count, n + 1, memory_order_seq_cst);
    pthread_mutex_unlock(&s->inject_mu);
    wake_one_if_sleeping(s);
}

/** Takes one item from the injection queue, or NULL. */
static void *take_injected(sx_sched *s)
{
    if (atomic_load_explicit(&s->inject_count, memory_order_seq_cst) == 0)
        return NULL;
    void *item = NULL;
    pthread_mutex_lock(&s->inject_mu);
    size_t n = atomic_load_explicit(&s->inject_count, memory_order_relaxed);
    if (n > 0) {
        item = s->inject_ring[s->inject_head];
        s->inject_head = (s->inject_head + 1) % s->inject_cap;
        atomic_store_explicit(&s->inject_count, n - 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->inject_mu);
    return item;
}

/** One round of stealing: every other worker once, from a random start. */
static void *steal_round(sx_worker *w)
{
    sx_sched *s = w->sched;
    unsigned n = s->nworkers;
    if (n < 2)
        return NULL;
    unsigned start = (unsigned)(next_rand(&w->rng) % n);
    for (unsigned k = 0; k < n; k++) {
        unsigned v = (start + k) % n;
        if (v == w->index)
            continue;
        void *item = sx_deque_steal(s->workers[v].deque);
        if (item)
            return item;
    }
    return NULL;
}

/** True when any deque or the injection queue holds work. */
static bool any_work(sx_sched *s)
{
    if (atomic_load_explicit(&s->inject_count, memory_order_seq_cst) > 0)
        return true;
    for (unsigned i = 0; i < s->nworkers; i++)
        if (sx_deque_size(s->workers[i].deque) > 0)
            return true;
    return false;
}

/** Sleeps until some thread publishes work or the scheduler stops. */
static void sleep_until_work(sx_worker *w)
{
    sx_sched *s = w->sched;
    pthread_mutex_lock(&s->sleep_mu);
    uint64_t epoch = s->epoch;
    pthread_mutex_unlock(&s->sleep_mu);
    atomic_fetch_add_explicit(&s->sleepers, 1, memory_order_seq_cst);
    if (!any_work(s) && !atomic_load(&s->stopping)) {
        atomic_fetch_add_explicit(&w->sleeps, 1, memory_order_relaxed);
        pthread_mutex_lock(&s->sleep_mu);
        while (s->epoch == epoch && !atomic_load(&s->stopping))
            pthread_cond_wait(&s->sleep_cv, &s->sleep_mu);
        pthread_mutex_unlock(&s->sleep_mu);
    }
    atomic_fetch_sub_explicit(&s->sleepers, 1, memory_order_seq_cst);
}

/** Looks for work elsewhere, backing off; NULL only when stopping. */
static void *find_work(sx_worker *w)
{
    sx_sched *s = w->sched;
    uint64_t t0 = now_ns();
    void *item = NULL;
    for (unsigned round = 0; !item; round++) {
        if ((item = take_injected(s))) {
            atomic_fetch_add_explicit(&w->injected, 1, memory_order_relaxed);
            break;
        }
        if ((item = steal_round(w))) {
            atomic_fetch_add_explicit(&w->stolen, 1, memory_order_relaxed);
            break;
        }
        if (atomic_load_explicit(&s->stopping, memory_order_acquire))
            break;
        if (round < STEAL_ROUNDS_BEFORE_YIELD) {
            for (unsigned i = 0; i < (1u << (round < 6 ? round : 6)); i++)
                cpu_relax();
        } else if (round < STEAL_ROUNDS_BEFORE_SLEEP) {
            sched_yield();
        } else {
            sleep_until_work(w);
            round = 0;
        }
    }
    atomic_fetch_add_explicit(&w->idle_ns, now_ns() - t0, memory_order_relaxed);
    return item;
}

/** The worker loop: run own work first, else find some. */
static void *worker_main(void *arg)
{
    sx_worker *w = arg;
    sx_sched *s = w->sched;
    for (;;) {
        void *item = sx_deque_pop(w->deque);
        if (!item && !(item = find_work(w)))
            break;
        atomic_fetch_add_explicit(&w->activations, 1, memory_order_relaxed);
        s->run(s->ctx, item, w);
    }
    return NULL;
}

int sx_sched_start(sx_sched *s)
{
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            atomic_store(&s->stopping, true);
            wake_all(s);
            for (unsigned j = 0; j < i; j++)
                pthread_join(s->workers[j].thread, NULL);
            return -1;
        }
    }
    s->started = true;
    return 0;
}

void sx_sched_stop(sx_sched *s)
{
    if (!s->started)
        return;
    atomic_store(&s->stopping, true);
    wake_all(s);
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].thread, NULL);
    s->started = false;
}

void sx_sched_destroy(sx_sched **sp)
{
    sx_sched *s = *sp;
    if (!s)
        return;
    sx_sched_stop(s);
    for (unsigned i = 0; i < s->nworkers; i++)
        sx_deque_destroy(&s->workers[i].deque);
    free(s->workers);
    free(s->inject_ring);
    pthread_mutex_destroy(&s->sleep_mu);
    pthread_cond_destroy(&s->sleep_cv);
    pthread_mutex_destroy(&s->inject_mu);
    free(s);
    *sp = NULL;
}

unsigned sx_sched_threads(const sx_sched *s) { return s->nworkers; }
unsigned sx_worker_index(const sx_worker *w) { return w->index; }
void **sx_worker_slot(sx_worker *w) { return &w->slot; }
void **sx_sched_slot(sx_sched *s, unsigned i) { return &s->workers[i].slot; }

void sx_sched_stats(const sx_sched *s, unsigned i, sx_worker_stats *out)
{
    sx_worker *w = &s->workers[i];
    out->activations = atomic_load_explicit(&w->activations, memory_order_relaxed);
    out->stolen = atomic_load_explicit(&w->stolen, memory_order_relaxed);
    out->injected = atomic_load_explicit(&w->injected, memory_order_relaxed);
    out->idle_ns = atomic_load_explicit(&w->idle_ns, memory_order_relaxed);
    out->sleeps = atomic_load_explicit(&w->sleeps, memory_order_relaxed);
}
