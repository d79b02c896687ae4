/*
 * text_file.h -- closing a text file a generator wrote (a ground-truth
 * table) so that no write error goes unnoticed.
 */
#ifndef SX_TOOLS_TEXT_FILE_H
#define SX_TOOLS_TEXT_FILE_H

#include <stddef.h>
#include <stdio.h>

/** Flushes and closes *f (NULL: nothing to do) and nulls it. Returns 0,
 *  or -1 with "cannot write PATH: reason" in err when an earlier write,
 *  the flush or the close failed. */
int sx_text_close(FILE **f, const char *path, char *err, size_t errlen);

#endif
