/*
 * heartbeat.c -- the source's heartbeat clock (heartbeat.h).
 */
#include "heartbeat.h"

#include "proto/batch.h"

void cli_heartbeat_init(cli_heartbeat *h, int64_t interval_ns)
{
    *h = (cli_heartbeat){.interval_ns = interval_ns > 0 ? interval_ns : 0};
}

/** The latest multiple of the interval not after ns. */
static int64_t boundary(const cli_heartbeat *h, int64_t ns)
{
    int64_t r = ns % h->interval_ns;
    return ns - (r < 0 ? r + h->interval_ns : r);
}

bool cli_heartbeat_due(cli_heartbeat *h, int64_t ns, int64_t *at)
{
    if (!h->started || ns > h->last_ns)
        h->last_ns = ns;
    if (h->interval_ns == 0)
        return (h->started = true, false);
    if (!h->started) {
        h->started = true;
        h->next_ns = boundary(h, ns) + h->interval_ns;
        return false;
    }
    if (ns < h->next_ns)
        return false;
    *at = boundary(h, ns);
    h->next_ns = *at + h->interval_ns;
    return true;
}

void cli_heartbeat_send(cli_heartbeat *h, sx_pipeline **pipes, size_t np, int64_t at, bool eof)
{
    for (size_t i = 0; i < np; i++) {
        sx_batch *b = sx_batch_new(0);
        b->flags = SX_BATCH_HEARTBEAT | (eof ? SX_BATCH_EOF : 0u);
        b->time_ns = at;
        sx_pipeline_inject(pipes[i], b);
    }
    h->sent++;
}

void cli_heartbeat_finish(cli_heartbeat *h, sx_pipeline **pipes, size_t np)
{
    cli_heartbeat_send(h, pipes, np, h->last_ns, true);
}
