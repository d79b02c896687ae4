/*
 * fuzz_analog.c -- libFuzzer harness for the ANALOG front end.
 *
 * Each input is parsed and, when it parses, checked; everything is
 * freed, so ASan also finds leaks. Built by tests/tests.cmake with
 * `clang -fsanitize=fuzzer,address,undefined` over the front end's own
 * sources only: instead of the function library (PCRE2, protobuf...)
 * it links the small fake registry below, in which every name starting
 * with "f_" exists and takes 0 to 3 arguments, so calls reach both the
 * "unknown function" and the arity paths.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "analog/checker.h"
#include "analog/functions.h"
#include "analog/parser.h"

static const analog_fn_def fake_fn = {.name = "f_fuzz", .min_args = 0, .max_args = 3};

/** The fake registry: any f_ name but f_unknown* exists. */
const analog_fn_def *analog_fn_lookup(const char *name)
{
    if (strncasecmp(name, "f_", 2) != 0 || strncasecmp(name, "f_unknown", 9) == 0)
        return NULL;
    return &fake_fn;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const sources[] = {"input", "tcp_stream"};
    static const char *const params[] = {"LIMIT"};
    analog_diag *d = analog_diag_new();
    analog_program *p = analog_parse("fuzz.analog", (const char *)data, size, d);
    if (p)
        analog_check(p, params, 1, sources, 2, d);
    if (analog_diag_errors(d) == 0 && size > 0 && !p)
        __builtin_trap(); /* NULL must come with errors */
    analog_program_destroy(&p);
    analog_diag_destroy(&d);
    return 0;
}
