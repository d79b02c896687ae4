/*
 * counters.c -- the table of named counters.
 *
 * A small sorted array of pointers (at most MAX_COUNTERS), filled by
 * constructors before main and never changed afterwards, so readers
 * need no lock; the values themselves are relaxed atomics owned by the
 * registering file.
 */
#include "analog/counters.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COUNTERS = 256 };

static analog_counter *table[MAX_COUNTERS];
static unsigned ncounters;

/** Index of name, or -1. */
static int find(const char *name)
{
    int lo = 0, hi = (int)ncounters - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(name, table[mid]->name);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

int analog_counter_register(analog_counter *c)
{
    if (!c->name || ncounters == MAX_COUNTERS || find(c->name) >= 0)
        return -1;
    unsigned i = ncounters;
    while (i > 0 && strcmp(table[i - 1]->name, c->name) > 0) {
        table[i] = table[i - 1];
        i--;
    }
    table[i] = c;
    ncounters++;
    return 0;
}

_Noreturn void analog_counter_refused(const char *name)
{
    fprintf(stderr, "scalanytics: counter '%s' refused: duplicate name or more than %d counters\n",
            name ? name : "(null)", MAX_COUNTERS);
    abort();
}

uint64_t analog_counter_get(const char *name)
{
    int i = find(name);
    return i < 0 ? UINT64_MAX : analog_counter_read(table[i]);
}

unsigned analog_counter_count(void)
{
    return ncounters;
}

analog_counter *analog_counter_at(unsigned i)
{
    return i < ncounters ? table[i] : NULL;
}

void analog_counters_report(FILE *f)
{
    bool any = false;
    for (unsigned i = 0; i < ncounters; i++) {
        uint64_t v = analog_counter_read(table[i]);
        if (!v)
            continue;
        if (!any)
            fprintf(f, "counters:\n");
        any = true;
        fprintf(f, "  %-32s %12" PRIu64 "  %s\n", table[i]->name, v,
                table[i]->summary ? table[i]->summary : "");
    }
}

int analog_counters_json(FILE *f)
{
    int bad = fputc('{', f) == EOF;
    for (unsigned i = 0; i < ncounters && !bad; i++)
        bad = fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", table[i]->name,
                      analog_counter_read(table[i])) < 0;
    if (!bad)
        bad = fputc('}', f) == EOF;
    return bad ? -1 : 0;
}
