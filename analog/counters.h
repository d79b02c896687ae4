/*
 * counters.h -- named event counters of the function library (drops,
 * evictions, caps hit, malformed input), shown in the run summary.
 *
 * Whoever counts something declares the counter where it is counted,
 * with ANALOG_COUNTER_REGISTER, and bumps it with analog_counter_add
 * (a relaxed atomic add: any thread, no lock). The run summary lists
 * every counter that is not zero, and `--stats=FILE` all of them, so a
 * drop is never silent.
 */
#ifndef ANALOG_COUNTERS_H
#define ANALOG_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

typedef struct analog_counter {
    const char *name;    /* "tcp.streams_evicted": lower case, dotted */
    const char *summary; /* one line: what an increment means */
    _Atomic uint64_t value;
} analog_counter;

/** Registers c (it must outlive the program). 0, or -1 if the name is
 *  taken or the table is full. */
int analog_counter_register(analog_counter *c);
/** Adds n to c. */
static inline void analog_counter_add(analog_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}
/** The current value of c. */
static inline uint64_t analog_counter_read(analog_counter *c)
{
    return atomic_load_explicit(&c->value, memory_order_relaxed);
}
/** Value of the counter named name; -1 (as uint64_t max) if unknown. */
uint64_t analog_counter_get(const char *name);
/** Registered counters, sorted by name. */
unsigned analog_counter_count(void);
analog_counter *analog_counter_at(unsigned i);
/** Writes "  name  value  summary" for each non-zero counter under a
 *  "counters:" heading (nothing when all are zero). */
void analog_counters_report(FILE *f);
/** Writes every counter as one JSON object {"name": value, ...}.
 *  Returns 0, or -1 on an output error. */
int analog_counters_json(FILE *f);

/** Registers a counter at start-up from the file that counts it. */
#define ANALOG_COUNTER_REGISTER(c)                                                              \
    __attribute__((constructor)) static void analog_counter_register_##c(void)                  \
    {                                                                                           \
        if (analog_counter_register(&c) != 0)                                                   \
            analog_counter_refused(c.name);                                                     \
    }

/** Reports a refused registration (a build defect) and aborts. */
_Noreturn void analog_counter_refused(const char *name);

#endif
