/*
 * tokens.h -- a pipeline's token dispenser.
 *
 * Every input admitted to a pipeline takes the next token (1, 2, 3, ...);
 * at most `limit` tokens are in flight. A token is released when the
 * pipeline's last component has finished it. The dispenser also checks
 * that each token is released exactly once, and keeps the in-flight
 * tokens within a window of sx_tokens_window() consecutive numbers.
 */
#ifndef SX_TOKENS_H
#define SX_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sx_tokens sx_tokens;

typedef struct sx_tokens_stats {
    uint64_t issued;        /* tokens handed out */
    uint64_t completed;     /* tokens released */
    uint64_t max_in_flight; /* the most ever in flight at once */
    uint64_t refused;       /* try_acquire calls that found no room */
    uint64_t bad_releases;  /* releases of a token not in flight */
    uint64_t limit;
} sx_tokens_stats;

/** New dispenser admitting at most limit (>= 1) tokens at once. */
sx_tokens *sx_tokens_new(uint32_t limit);
void sx_tokens_destroy(sx_tokens **tk);
/** Waits for room, then returns the next token (file capture). Only one
 *  thread at a time may admit (acquire/try_acquire) on a dispenser. */
uint64_t sx_tokens_acquire(sx_tokens *tk);
/** Takes the next token if there is room; false (and counted) if not
 *  (live capture drops rather than waits). */
bool sx_tokens_try_acquire(sx_tokens *tk, uint64_t *token);
/** Marks token finished. Returns 0, or -1 (counted) if token was not in
 *  flight: a duplicate or a stray. */
int sx_tokens_release(sx_tokens *tk, uint64_t token);
/** Waits until no token is in flight. */
void sx_tokens_wait_idle(sx_tokens *tk);
uint64_t sx_tokens_in_flight(sx_tokens *tk);
/** The window: limit rounded up to a power of two. No two in-flight
 *  tokens differ by this much or more. */
uint64_t sx_tokens_window(uint32_t limit);
/** Lowest token still in flight, or the next token to issue when none
 *  is: every token below it has completed. *cursor (start at 1) keeps
 *  the scan incremental; one thread at a time per cursor. */
uint64_t sx_tokens_floor(sx_tokens *tk, uint64_t *cursor);
/** The last token issued (0 before the first). */
uint64_t sx_tokens_stats_last(sx_tokens *tk);
void sx_tokens_stats_get(sx_tokens *tk, sx_tokens_stats *out);

#endif
