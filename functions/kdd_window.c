/*
 * kdd_window.c -- one key's time window and host window over its
 * connections (kdd_window.h): a FIFO ring with two heads.
 *
 * Entries sit at positions base, base+1, ..., end-1 (slot p & (cap-1)).
 * Each window starts at its own head (`first`); the ring holds from the
 * lower head on, so base == min(time.first, host.first) after every
 * add. Adding c pushes its entry into both windows, then moves each
 * head past the entries that fell out (the windows are suffixes, so
 * heads only move forward). The ring doubles when full and halves when
 * a quarter full, so its size follows what the windows hold.
 */
#include "functions/kdd_window.h"

#include <stdio.h>
#include <stdlib.h>

#include "actors/u64map.h"
#include "analog/counters.h"

#define RING_MIN 16 /* slots: the ring never shrinks below this */

static analog_counter c_overflow = {
    .name = "kdd.window_overflow",
    .summary = "KDD window entries dropped while still in a window (kdd.window_max_entries "
               "reached): that key's features undercount"};
ANALOG_COUNTER_REGISTER(c_overflow)
static analog_counter c_out_of_order = {
    .name = "kdd.window_out_of_order",
    .summary = "connections refused by a KDD window: seq or window time below the key's last "
               "(not from f_connSequence, or not in a context-ordered component)"};
ANALOG_COUNTER_REGISTER(c_out_of_order)

typedef struct entry {
    int64_t wtime_ns, seq;
    uint64_t other;   /* map key of the other key's hash */
    uint16_t sport;
    bool serror, rerror;
} entry;

/* One window: its head and its running counts. */
typedef struct window {
    uint64_t first;    /* position of its oldest entry */
    uint64_t n, serror, rerror;
    sx_u64map other;   /* other key -> count (as a pointer-sized int) */
    sx_u64map sport;   /* sport + 1 -> count, when tracked */
    bool track_sport;
} window;

struct fn_kwin {
    fn_kwin_limits lim;
    entry *ring;
    uint64_t cap;       /* slots, a power of two */
    uint64_t base, end; /* held entries: positions [base, end) */
    window time, host;
    int64_t last_seq, last_wtime_ns;
    bool started;
};

fn_kwin *fn_kwin_new(const fn_kwin_limits *lim)
{
    fn_kwin *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->lim = *lim;
    if (w->lim.host_window < 1)
        w->lim.host_window = 1;
    if (w->lim.max_entries < 1)
        w->lim.max_entries = 1;
    w->host.track_sport = lim->track_sport;
    w->cap = RING_MIN;
    if (!(w->ring = malloc(w->cap * sizeof *w->ring))) {
        free(w);
        return NULL;
    }
    return w;
}

void fn_kwin_destroy(fn_kwin **pw)
{
    fn_kwin *w = *pw;
    if (!w)
        return;
    window *win[] = {&w->time, &w->host};
    for (int i = 0; i < 2; i++) {
        sx_u64map_clear(&win[i]->other);
        sx_u64map_clear(&win[i]->sport);
    }
    free(w->ring);
    free(w);
    *pw = NULL;
}

size_t fn_kwin_entries(const fn_kwin *w)
{
    return (size_t)(w->end - w->base);
}

/* ---- counts ---- */

/** The count of key in m (0 when absent). */
static uint64_t map_count(const sx_u64map *m, uint64_t key)
{
    return (uint64_t)(uintptr_t)sx_u64map_get(m, key);
}

/** Adds delta (+1 or -1) to key's count in m; a count of 0 leaves. */
static void map_bump(sx_u64map *m, uint64_t key, int delta)
{
    uint64_t n = map_count(m, key) + (uint64_t)(int64_t)delta;
    if (n)
        sx_u64map_put(m, key, (void *)(uintptr_t)n);
    else
        sx_u64map_remove(m, key);
}

/** Counts e into (delta +1) or out of (-1) window win. */
static void window_count(window *win, const entry *e, int delta)
{
    win->n += (uint64_t)(int64_t)delta;
    win->serror += e->serror ? (uint64_t)(int64_t)delta : 0;
    win->rerror += e->rerror ? (uint64_t)(int64_t)delta : 0;
    map_bump(&win->other, e->other, delta);
    if (win->track_sport)
        map_bump(&win->sport, (uint64_t)e->sport + 1, delta);
}

/** win's counts for c (c's entry is e, already counted in). */
static void window_read(const window *win, const entry *e, fn_kwin_counts *out)
{
    out->n = win->n;
    out->same_other = map_count(&win->other, e->other);
    out->same_sport = win->track_sport ? map_count(&win->sport, (uint64_t)e->sport + 1) : 0;
    out->serror = win->serror;
    out->rerror = win->rerror;
}

/* ---- the ring ---- */

/** The entry at position p. */
static entry *at(const fn_kwin *w, uint64_t p)
{
    return &w->ring[p & (w->cap - 1)];
}

/** Moves the held entries into a ring of cap slots. -1 on out-of-memory
 *  (nothing changes). */
static int ring_resize(fn_kwin *w, uint64_t cap)
{
    entry *r = malloc(cap * sizeof *r);
    if (!r)
        return -1;
    for (uint64_t p = w->base; p < w->end; p++)
        r[p & (cap - 1)] = *at(w, p);
    free(w->ring);
    w->ring = r;
    w->cap = cap;
    return 0;
}

/** Drops the oldest held entry from every window that still holds it
 *  (the cap was reached): the features undercount from here. */
static void ring_drop_oldest(fn_kwin *w)
{
    entry *e = at(w, w->base);
    window *win[] = {&w->time, &w->host};
    for (int i = 0; i < 2; i++) {
        if (win[i]->first == w->base) {
            window_count(win[i], e, -1);
            win[i]->first++;
        }
    }
    w->base++;
    analog_counter_add(&c_overflow, 1);
}

/** Makes room for one more entry: drops the oldest at the cap, grows a
 *  full ring. -1 on out-of-memory. */
static int ring_reserve(fn_kwin *w)
{
    if (w->end - w->base >= w->lim.max_entries)
        ring_drop_oldest(w);
    if (w->end - w->base == w->cap)
        return ring_resize(w, w->cap * 2);
    return 0;
}

/** Halves a ring a quarter full (a failed resize keeps the larger ring). */
static void ring_shrink(fn_kwin *w)
{
    if (w->cap > RING_MIN && (w->end - w->base) * 4 <= w->cap)
        (void)ring_resize(w, w->cap / 2);
}

/* ---- windows ---- */

/** True when e is in T(c): wtime(e) > wtime(c) - width, written without
 *  overflow (wtime(e) <= wtime(c)). */
static bool in_time(const fn_kwin *w, const entry *e, const fn_kwin_conn *c)
{
    return (uint64_t)c->wtime_ns - (uint64_t)e->wtime_ns < (uint64_t)w->lim.window_ns;
}

/** True when e is in W(c): seq(e) > seq(c) - H (seq(e) <= seq(c)). */
static bool in_host(const fn_kwin *w, const entry *e, const fn_kwin_conn *c)
{
    return (uint64_t)c->seq - (uint64_t)e->seq < w->lim.host_window;
}

/** Moves win's head past the entries that are no longer in it. */
static void window_advance(fn_kwin *w, window *win, const fn_kwin_conn *c,
                           bool (*in)(const fn_kwin *, const entry *, const fn_kwin_conn *))
{
    while (win->first < w->end) {
        const entry *e = at(w, win->first);
        if (in(w, e, c))
            break;
        window_count(win, e, -1);
        win->first++;
    }
}

int fn_kwin_add(fn_kwin *w, const fn_kwin_conn *c, fn_kwin_counts *time, fn_kwin_counts *host,
                char *err, size_t errlen)
{
    if (w->started && (c->seq <= w->last_seq || c->wtime_ns < w->last_wtime_ns)) {
        analog_counter_add(&c_out_of_order, 1);
        snprintf(err, errlen,
                 "connection out of order for its key: seq %lld after %lld, window time %lld "
                 "after %lld",
                 (long long)c->seq, (long long)w->last_seq, (long long)c->wtime_ns,
                 (long long)w->last_wtime_ns);
        return -1;
    }
    if (ring_reserve(w) != 0) {
        snprintf(err, errlen, "out of memory for %llu window entries",
                 (unsigned long long)(w->end - w->base + 1));
        return -1;
    }
    w->started = true;
    w->last_seq = c->seq;
    w->last_wtime_ns = c->wtime_ns;
    entry *e = at(w, w->end++);
    *e = (entry){.wtime_ns = c->wtime_ns, .seq = c->seq, .other = c->other ? c->other : 1,
                 .sport = c->sport, .serror = c->serror, .rerror = c->rerror};
    window_count(&w->time, e, +1);
    window_count(&w->host, e, +1);
    window_advance(w, &w->time, c, in_time);
    window_advance(w, &w->host, c, in_host);
    w->base = w->time.first < w->host.first ? w->time.first : w->host.first;
    /* c is in both windows, so its entry stays where it is until
     * ring_shrink moves the ring: read the counts first */
    window_read(&w->time, e, time);
    window_read(&w->host, e, host);
    ring_shrink(w);
    return 0;
}
