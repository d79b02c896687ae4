/*
 * kdd_window.h -- the KDD Cup '99 time-based and host-based window
 * features, computed per key so that the pipeline scales.
 *
 * The reference system kept one global, locked list of recent
 * connections, which capped its speedup at 3.8x. Here the features are
 * split by the key they count on, and each key's state is touched only
 * by that key's lane (analog/functions.h: no lock):
 *
 *   1. f_connSequence(CONN), serial: numbers the connections 1, 2, 3, ...
 *      in arrival order (`seq`) and gives each a window time
 *      wtime_ns = max(time_ns, previous wtime_ns), which never goes
 *      backwards. O(1) per connection; the only serial step.
 *   2. f_hostWindow(CONN, DST), parallel_context_order keyed on DST: the
 *      features of connections to the same host.
 *   3. f_serviceWindow(CONN, SERVICE), parallel_context_order keyed on
 *      SERVICE: the features of connections to the same service; returns
 *      the 41 features (functions/fn_kdd_window.c lists the record).
 * The three components must follow each other in this order, nothing
 * keyed between them.
 *
 * Definitions (sequential: the stream in seq order; c the current
 * connection, d ranges over connections; a fraction k/n is computed as
 * (double)k / (double)n, and is 0 when n is 0):
 *   seq(c)      c's position in the stream, from 1
 *   wtime(c)    max(time_ns(c), wtime(previous connection)); the first
 *               connection's is its time_ns
 *   serror(d)   flag(d) is S0, S1, S2 or S3;   rerror(d): flag(d) is REJ
 *   T(c)        the 2-second window: d with seq(d) <= seq(c) and
 *               wtime(d) > wtime(c) - 2e9 (c included)
 *   W(c)        the host window: d with seq(c) - H < seq(d) <= seq(c),
 *               H the setting kdd.host_window (default 100)
 *   TD = {d in T(c): dst(d) = dst(c)}     TS = {d in T(c): service(d) = service(c)}
 *   WD = {d in W(c): dst(d) = dst(c)}     WS = {d in W(c): service(d) = service(c)}
 *   count                   = min(|TD|, 511)
 *   serror_rate             = |{d in TD: serror(d)}| / |TD|
 *   rerror_rate             = |{d in TD: rerror(d)}| / |TD|
 *   same_srv_rate           = |TD intersect TS| / |TD|
 *   diff_srv_rate           = 1 - same_srv_rate (0 when TD is empty)
 *   srv_count               = min(|TS|, 511)
 *   srv_serror_rate         = |{d in TS: serror(d)}| / |TS|
 *   srv_rerror_rate         = |{d in TS: rerror(d)}| / |TS|
 *   srv_diff_host_rate      = (|TS| - |TS intersect TD|) / |TS|
 *   dst_host_count          = min(|WD|, 255)
 *   dst_host_srv_count      = min(|WS|, 255)
 *   dst_host_same_srv_rate  = |WD intersect WS| / |WD|
 *   dst_host_diff_srv_rate  = 1 - dst_host_same_srv_rate (0 when WD is empty)
 *   dst_host_same_src_port_rate = |{d in WD: sport(d) = sport(c)}| / |WD|
 *   dst_host_srv_diff_host_rate = (|WS| - |WS intersect WD|) / |WS|
 *   dst_host_serror_rate    = |{d in WD: serror(d)}| / |WD|   (rerror alike)
 *   dst_host_srv_serror_rate = |{d in WS: serror(d)}| / |WS|  (rerror alike)
 * The caps 511 and 255 are KDD'99's (its data never exceeds them); the
 * rates use the true, uncapped sizes. c is in every one of these sets,
 * so no denominator is 0 in practice.
 *
 * Why per-key state is exact. Every feature of c counts connections of
 * one key -- c's dst (stage 2) or c's service (stage 3) -- so the state
 * of that key needs to see only that key's connections, in seq order.
 * Membership needs no other key's connections: T(c) is decided by
 * wtime, W(c) -- "the last H connections overall", not the last H to
 * this host -- by the global seq each record carries. Since wtime and
 * seq never decrease along the stream, each window is a suffix of the
 * key's connections so far, and once a connection leaves it, it never
 * comes back for a later c: so a FIFO with two heads is exact.
 *   The order: stage 1 numbers connections in token order, and within
 * a token in the order emitted; the runtime runs one key's tuples in
 * token order, and a lane runs its piece of a token in the order the
 * piece holds them. So stage 2, fed by the serial stage 1, sees each
 * host's connections in seq order. Stage 2's output of a token split
 * over several host lanes is joined back in piece order (by the first
 * appearance of each host in the token), so two connections of one
 * service sharing a token may reach stage 3 swapped. Stage 1 therefore
 * appends srv_prev_seq: the seq of the service's previous connection
 * when it was numbered at the same packet time (it may share the
 * token; every batch of a token carries the token's packet time), else
 * 0. Stage 3 holds a connection back until its srv_prev_seq has been
 * counted, then counts it -- so each service's state, too, counts its
 * connections in seq order, and the features equal those of a
 * sequential computation over the whole ordered stream. (The holding
 * costs nothing when no token is split; fn_kdd_window.c says what
 * releases a connection whose predecessor was lost.)
 *
 * The window (fn_kwin) of one key: a ring of entries {wtime, seq,
 * other-key hash (the service at stage 2, the dst at stage 3), sport,
 * serror, rerror} holding the union of both windows, a head per window,
 * and per window the running counts (n, serror, rerror) and a map of
 * counts per other key (per sport too, in W at stage 2). An entry is
 * added once and leaves each window once: O(1) amortized per
 * connection. Other keys are compared by their 64-bit sx_value_hash
 * (two distinct services or hosts whose hashes collide, at about 2^-64
 * per pair, would count as one).
 *
 * Memory: an entry lives only while it is in a window. A key holds at
 * most kdd.window_max_entries entries (default 1,000,000: 32 MB); a
 * flood beyond that drops the oldest entry from the windows that hold
 * it, counted in kdd.window_overflow, and that key's features are then
 * approximate (undercounted) until the dropped entries would have left
 * anyway. The evaluator's per-lane LRU cap (eval.state_entries) bounds
 * the number of keys; an evicted or expired key's next connection starts
 * from empty windows, so its features undercount too. States expire
 * after 10 minutes without a connection (packet time): T needs 2 s, but
 * W can hold a quiet host's entries until H connections overall have
 * come after them, so W stays exact as long as at least H connections
 * arrive per 10 minutes (1 per 6 s at H = 100); a quiet key holds at
 * most H entries, so keeping it that long is cheap.
 *
 * Not thread-safe: one window is touched by one thread at a time (its
 * key lane).
 */
#ifndef FN_KDD_WINDOW_H
#define FN_KDD_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FN_KWIN_TIME_NS 2000000000LL   /* the width of T: 2 s */
#define FN_KWIN_COUNT_MAX 511          /* KDD'99's cap of count, srv_count */
#define FN_KWIN_HOST_COUNT_MAX 255     /* of dst_host_count, dst_host_srv_count */

typedef struct fn_kwin fn_kwin;

typedef struct fn_kwin_limits {
    int64_t window_ns;    /* T's width (FN_KWIN_TIME_NS) */
    uint64_t host_window; /* H, at least 1 */
    size_t max_entries;   /* entries held at most, at least 1 */
    bool track_sport;     /* count source ports in W (stage 2) */
} fn_kwin_limits;

/* One connection as a window sees it. */
typedef struct fn_kwin_conn {
    int64_t wtime_ns; /* never below the previous connection's */
    int64_t seq;      /* above the previous connection's */
    uint64_t other;   /* hash of the other key (service, or dst) */
    uint16_t sport;
    bool serror, rerror;
} fn_kwin_conn;

/* One window's counts for the current connection c, c included. */
typedef struct fn_kwin_counts {
    uint64_t n;          /* connections in the window */
    uint64_t same_other; /* ... with c's other key */
    uint64_t same_sport; /* ... with c's sport (W with track_sport, else 0) */
    uint64_t serror, rerror;
} fn_kwin_counts;

/** A window with nothing in it, owned by the caller. NULL on
 *  out-of-memory. */
fn_kwin *fn_kwin_new(const fn_kwin_limits *lim);
/** Frees *w (NULL is fine) and nulls the pointer. */
void fn_kwin_destroy(fn_kwin **w);

/* Hot path: once per connection and stage. */
/** Adds c (the key's next connection) and writes the counts of T(c) to
 *  *time and of W(c) to *host. 0, or -1 with a message in err when c
 *  comes out of order (seq not above, or wtime below, the previous
 *  connection's: counted in kdd.window_out_of_order; nothing changes). */
int fn_kwin_add(fn_kwin *w, const fn_kwin_conn *c, fn_kwin_counts *time, fn_kwin_counts *host,
                char *err, size_t errlen);
/** Entries held now (both windows' union). */
size_t fn_kwin_entries(const fn_kwin *w);

#endif
