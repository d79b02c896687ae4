/*
 * settings.h -- named integer settings of the function library and the
 * evaluator (caps, limits, timeouts), with defaults that suit most runs.
 *
 * Whoever owns a setting declares it where it is used, with
 * ANALOG_SETTING_REGISTER, so programs never need to pass such things as
 * function arguments (the reference's f_DetectAttack(FEATURE) takes no
 * model argument). The command line overrides them (`--set KEY=VALUE`,
 * `--config FILE`) before anything runs; from then on they are read-only,
 * which is why reading needs no lock.
 */
#ifndef ANALOG_SETTINGS_H
#define ANALOG_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

typedef struct analog_setting_def {
    const char *name; /* "match.limit": lower case, dotted */
    int64_t def, min, max;
    const char *unit;    /* "steps", "entries", "seconds", ... */
    const char *summary; /* one line for `scalanytics functions` */
} analog_setting_def;

/** Registers def (it must outlive the program). 0, or -1 if the name is
 *  taken, the default lies outside [min, max], or the table is full. */
int analog_setting_register(const analog_setting_def *def);
/** Sets name from the decimal text value. 0, or -1 with a message in
 *  err (unknown name, not a number, out of range). Call before running. */
int analog_setting_set(const char *name, const char *value, char *err, size_t errlen);
/** Applies a file of `name = value` lines ('#' starts a comment). 0, or
 *  -1 with "FILE:LINE: message" in err. */
int analog_settings_load(const char *path, char *err, size_t errlen);
/** The current value of a registered setting. Asking for an unknown name
 *  is a programming error: it aborts with a message. */
int64_t analog_setting_get(const char *name);
/** Registered settings, sorted by name, and their current values. */
unsigned analog_setting_count(void);
const analog_setting_def *analog_setting_at(unsigned i, int64_t *value);

/** Registers a setting at start-up from the file that uses it. */
#define ANALOG_SETTING_REGISTER(def)                                                            \
    __attribute__((constructor)) static void analog_setting_register_##def(void)                \
    {                                                                                           \
        if (analog_setting_register(&def) != 0)                                                 \
            analog_setting_refused(def.name);                                                   \
    }

/** Reports a refused registration (a build defect) and aborts. */
_Noreturn void analog_setting_refused(const char *name);

#endif
