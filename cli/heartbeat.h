/*
 * heartbeat.h -- when the source injects heartbeats (DESIGN.md, Time and
 * heartbeats): a batch carrying only packet time, at every interval of
 * packet time and once more at the end of input, so stateful functions
 * expire and flush what is due whatever the thread count.
 *
 * One clock per source thread; no locks.
 */
#ifndef SX_CLI_HEARTBEAT_H
#define SX_CLI_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/runtime.h"

#define CLI_HEARTBEAT_DEFAULT_NS 1000000000LL /* one second of packet time */

typedef struct cli_heartbeat {
    int64_t interval_ns; /* 0: only at the end of input */
    int64_t next_ns;     /* the next boundary due */
    int64_t last_ns;     /* the latest packet time seen */
    bool started;
    uint64_t sent;
} cli_heartbeat;

/** A clock beating every interval_ns of packet time (0: never but at
 *  the end). */
void cli_heartbeat_init(cli_heartbeat *h, int64_t interval_ns);
/** Called before an input of packet time ns is admitted: when a
 *  heartbeat is due first, returns true with *at its time (the latest
 *  interval boundary not after ns; one heartbeat covers a gap of several
 *  intervals). Times that go backwards never make one due. */
bool cli_heartbeat_due(cli_heartbeat *h, int64_t ns, int64_t *at);
/** Admits a heartbeat at packet time `at` into every pipeline (waiting
 *  for a token, even live: a heartbeat is never dropped); eof marks the
 *  final one, at the latest packet time seen. */
void cli_heartbeat_send(cli_heartbeat *h, sx_pipeline **pipes, size_t np, int64_t at, bool eof);
/** The final heartbeat: at the latest packet time seen. */
void cli_heartbeat_finish(cli_heartbeat *h, sx_pipeline **pipes, size_t np);

#endif
