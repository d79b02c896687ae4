/*
 * progress.h -- a one-line progress bar on stderr while a file is read.
 *
 * Shows percent, MB read, Mbit/s of packet data and the time left; drawn
 * only when stderr is a terminal, at most about 4 times a second, and
 * erased by sx_progress_finish. On a pipe or a log file it prints nothing.
 */
#ifndef SX_CAPTURE_PROGRESS_H
#define SX_CAPTURE_PROGRESS_H

#include <stdint.h>

typedef struct sx_progress sx_progress;

/** A progress bar for total bytes (0: unknown, no percent or ETA).
 *  The caller owns it and ends it with sx_progress_finish. */
sx_progress *sx_progress_new(uint64_t total);
/** Reports done_bytes read so far and packet_bits of packet data so far
 *  (both running totals); redraws when enough time has passed. */
void sx_progress_update(sx_progress *p, uint64_t done_bytes, uint64_t packet_bits);
/** Erases the bar, frees it and nulls *p; NULL is fine. */
void sx_progress_finish(sx_progress **p);

#endif
