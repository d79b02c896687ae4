/*
 * settings.c -- the table of named settings.
 *
 * A small sorted array (at most MAX_SETTINGS), filled by constructors
 * before main, changed only by the command line before the runtime
 * starts, read-only afterwards. Lookups are binary searches; the hot
 * paths read a setting once (at plan time, or when a thread's state is
 * made) and keep the value.
 */
#include "analog/settings.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SETTINGS = 128, MAX_LINE = 1024 };

typedef struct entry {
    const analog_setting_def *def;
    int64_t value;
} entry;

static entry table[MAX_SETTINGS];
static unsigned nsettings;

/** Index of name, or -1. */
static int find(const char *name)
{
    int lo = 0, hi = (int)nsettings - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(name, table[mid].def->name);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

int analog_setting_register(const analog_setting_def *def)
{
    if (!def->name || nsettings == MAX_SETTINGS || find(def->name) >= 0 || def->min > def->max ||
        def->def < def->min || def->def > def->max)
        return -1;
    unsigned i = nsettings;
    while (i > 0 && strcmp(table[i - 1].def->name, def->name) > 0) {
        table[i] = table[i - 1];
        i--;
    }
    table[i].def = def;
    table[i].value = def->def;
    nsettings++;
    return 0;
}

_Noreturn void analog_setting_refused(const char *name)
{
    fprintf(stderr, "scalanytics: setting '%s' refused: duplicate name, default out of range, "
                    "or more than %d settings\n", name ? name : "(null)", MAX_SETTINGS);
    abort();
}

int analog_setting_set(const char *name, const char *value, char *err, size_t errlen)
{
    int i = find(name);
    if (i < 0) {
        snprintf(err, errlen, "unknown setting '%s' ('scalanytics functions' lists them)", name);
        return -1;
    }
    const analog_setting_def *d = table[i].def;
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end) {
        snprintf(err, errlen, "setting %s wants an integer, got '%s'", name, value);
        return -1;
    }
    if (v < d->min || v > d->max) {
        snprintf(err, errlen, "setting %s must be from %" PRId64 " to %" PRId64 " %s, got %lld",
                 name, d->min, d->max, d->unit ? d->unit : "", v);
        return -1;
    }
    table[i].value = v;
    return 0;
}

/** Trims white space at both ends of s in place; returns the start. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\r\n", s[n - 1]))
        s[--n] = 0;
    return s;
}

int analog_settings_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[MAX_LINE], msg[256];
    int rc = 0;
    for (unsigned lineno = 1; rc == 0 && fgets(line, sizeof line, f); lineno++) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected 'name = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = 0;
        if (analog_setting_set(trim(s), trim(eq + 1), msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

int64_t analog_setting_get(const char *name)
{
    int i = find(name);
    if (i < 0) {
        fprintf(stderr, "scalanytics: internal error: setting '%s' is not registered\n", name);
        abort();
    }
    return table[i].value;
}

unsigned analog_setting_count(void) { return nsettings; }

const analog_setting_def *analog_setting_at(unsigned i, int64_t *value)
{
    if (i >= nsettings)
        return NULL;
    if (value)
        *value = table[i].value;
    return table[i].def;
}
