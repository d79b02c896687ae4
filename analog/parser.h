/*
 * parser.h -- the ANALOG parser: source text in, syntax tree out.
 *
 * The grammar is documented at the top of parser.c. The parser reports
 * every syntax error it finds to the diag (recovering at the end of the
 * rule, see parser.c) and builds a tree only for an error-free source.
 */
#ifndef ANALOG_PARSER_H
#define ANALOG_PARSER_H

#include <stddef.h>

#include "analog/ast.h"
#include "analog/diag.h"

#define ANALOG_MAX_SOURCE (16u << 20) /* bytes of source */
#define ANALOG_MAX_COMPONENTS 10000
#define ANALOG_MAX_RULES 1000000     /* in a whole program */
#define ANALOG_MAX_ARGS 256          /* of an atom or a call */
#define ANALOG_MAX_TERMS 1024        /* in one rule body */
#define ANALOG_MAX_KEYS 64           /* context keys of a component */

/** Parses src[0..len) named file. Returns the program (the caller owns
 *  it: analog_program_destroy), or NULL when there were errors, all of
 *  them in d. The program keeps copies of file and src. */
analog_program *analog_parse(const char *file, const char *src, size_t len, analog_diag *d);

#endif
