/*
 * check.h -- the assertion the simple test programs share: on failure it
 * prints the line and message and exits 1, so CTest sees the failure.
 */
#ifndef SX_TESTS_CHECK_H
#define SX_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c, msg)                                                                           \
    do {                                                                                        \
        if (!(c)) {                                                                             \
            fprintf(stderr, "FAIL line %d: %s\n", __LINE__, msg);                               \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

#endif
