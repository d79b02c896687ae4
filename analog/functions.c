/*
 * functions.c -- the registry of ANALOG functions behind functions.h.
 *
 * A sorted array of definition pointers, capped at ANALOG_FN_CAP entries:
 * registration inserts in place (insertion sort, n is small), lookup is a
 * binary search. Names compare ASCII-case-insensitively and independent
 * of the locale, so "f_processIpFrag" and "F_PROCESSIPFRAG" are one
 * function whatever setlocale() says.
 *
 * Invariants: the table is this file's own state, written only by
 * analog_fn_register. Registration happens in constructors before main
 * (single-threaded); afterwards the table is read-only, so lookups from
 * any number of threads need no lock. Registering after threads have
 * started is a caller bug. The table holds pointers only: each
 * definition must outlive the program (they are static in their files).
 */
#include "analog/functions.h"

#include <stdio.h>
#include <stdlib.h>

/* Cap on registered functions; a full table refuses further ones. */
#define ANALOG_FN_CAP 1024

static const analog_fn_def *fn_table[ANALOG_FN_CAP]; /* sorted by name */
static unsigned fn_count;

/** Lower-cases one ASCII byte; other bytes are left alone. */
static int ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/** strcasecmp over ASCII only, so the order never depends on the locale. */
static int name_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    while (*x && ascii_lower(*x) == ascii_lower(*y)) {
        x++;
        y++;
    }
    return ascii_lower(*x) - ascii_lower(*y);
}

/** Index of the first entry not below name; *found says whether it is
 *  name itself. */
static unsigned find_slot(const char *name, bool *found)
{
    unsigned lo = 0, hi = fn_count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (name_cmp(fn_table[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < fn_count && name_cmp(fn_table[lo]->name, name) == 0;
    return lo;
}

/** True when def is complete enough to call: a name, a call, sane arity,
 *  and both state hooks for a stateful function. */
static bool def_valid(const analog_fn_def *def)
{
    if (!def || !def->name || !def->name[0] || !def->call || def->min_args < 0)
        return false;
    if (def->max_args != ANALOG_FN_VARIADIC && def->max_args < def->min_args)
        return false;
    if ((def->flags & ANALOG_FN_STATEFUL) && (!def->state_new || !def->state_free))
        return false;
    return true;
}

int analog_fn_register(const analog_fn_def *def)
{
    if (!def_valid(def) || fn_count == ANALOG_FN_CAP)
        return -1;
    bool found;
    unsigned at = find_slot(def->name, &found);
    if (found)
        return -1;
    for (unsigned i = fn_count; i > at; i--)
        fn_table[i] = fn_table[i - 1];
    fn_table[at] = def;
    fn_count++;
    return 0;
}

const analog_fn_def *analog_fn_lookup(const char *name)
{
    if (!name)
        return NULL;
    bool found;
    unsigned at = find_slot(name, &found);
    return found ? fn_table[at] : NULL;
}

unsigned analog_fn_count(void)
{
    return fn_count;
}

const analog_fn_def *analog_fn_at(unsigned i)
{
    return i < fn_count ? fn_table[i] : NULL;
}

/* analog_fn_register refuses a definition for three reasons; the one
 * that applies is told apart here so the message points at the defect. */
_Noreturn void analog_fn_duplicate(const char *name)
{
    const char *shown = name ? name : "(unnamed)";
    if (name && analog_fn_lookup(name))
        fprintf(stderr, "scalanytics: function %s is registered twice\n", shown);
    else if (fn_count == ANALOG_FN_CAP)
        fprintf(stderr, "scalanytics: cannot register function %s: registry full (cap %d)\n",
                shown, ANALOG_FN_CAP);
    else
        fprintf(stderr, "scalanytics: cannot register function %s: invalid definition\n",
                shown);
    abort();
}
