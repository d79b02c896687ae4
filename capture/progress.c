/*
 * progress.c -- a one-line progress bar on stderr while a file is read.
 *
 * Design: update() is called per packet, so it only compares the
 * monotonic clock with the next draw time (one clock_gettime, vDSO, no
 * syscall) and draws at most every SX_PROGRESS_INTERVAL_NS. The rate is
 * packet bits over the time since new(); ETA extrapolates the byte rate.
 *
 * Invariants: nothing is written unless stderr was a terminal at new();
 * finish() leaves the terminal line empty.
 */
#include "capture/progress.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "proto/alloc.h"

#define SX_PROGRESS_INTERVAL_NS 250000000LL /* ~4 redraws a second */
#define SX_PROGRESS_BAR_WIDTH 30

struct sx_progress {
    uint64_t total;
    bool tty;
    bool drawn;
    int64_t start_ns;
    int64_t next_draw_ns;
};

/** Monotonic clock in nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

sx_progress *sx_progress_new(uint64_t total)
{
    sx_progress *p = sx_calloc(1, sizeof *p);
    p->total = total;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->start_ns = now_ns();
    p->next_draw_ns = p->start_ns + SX_PROGRESS_INTERVAL_NS;
    return p;
}

/** Formats seconds as H:MM:SS or M:SS into buf. */
static void format_eta(char *buf, size_t len, double secs)
{
    long s = secs > 0 ? (long)(secs + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

/** Draws the bar for the given totals, elapsed seconds since new(). */
static void draw(sx_progress *p, uint64_t done, uint64_t bits, double elapsed)
{
    double mbit_s = elapsed > 0 ? (double)bits / elapsed / 1e6 : 0;
    if (p->total == 0 || done > p->total) {
        fprintf(stderr, "\r%8.1f MB  %8.1f Mbit/s\033[K", (double)done / 1e6, mbit_s);
    } else {
        double frac = (double)done / (double)p->total;
        int fill = (int)(frac * SX_PROGRESS_BAR_WIDTH);
        char bar[SX_PROGRESS_BAR_WIDTH + 1];
        for (int i = 0; i < SX_PROGRESS_BAR_WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[SX_PROGRESS_BAR_WIDTH] = 0;
        char eta[32];
        format_eta(eta, sizeof eta, frac > 0 ? elapsed * (1 - frac) / frac : 0);
        fprintf(stderr, "\r[%s] %3d%%  %.1f/%.1f MB  %.1f Mbit/s  ETA %s\033[K", bar,
                (int)(frac * 100), (double)done / 1e6, (double)p->total / 1e6, mbit_s, eta);
    }
    fflush(stderr);
    p->drawn = true;
}

/* Hot path: called per packet; one clock read unless it is time to draw. */
void sx_progress_update(sx_progress *p, uint64_t done_bytes, uint64_t packet_bits)
{
    if (!p || !p->tty)
        return;
    int64_t now = now_ns();
    if (now < p->next_draw_ns)
        return;
    p->next_draw_ns = now + SX_PROGRESS_INTERVAL_NS;
    draw(p, done_bytes, packet_bits, (double)(now - p->start_ns) / 1e9);
}

void sx_progress_finish(sx_progress **pp)
{
    sx_progress *p = *pp;
    if (!p)
        return;
    if (p->tty && p->drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    free(p);
    *pp = NULL;
}
