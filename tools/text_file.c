/*
 * text_file.c -- closing a generator's text output (text_file.h).
 */
#include "tools/text_file.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int sx_text_close(FILE **f, const char *path, char *err, size_t errlen)
{
    if (!*f)
        return 0;
    bool bad = ferror(*f) || fflush(*f) != 0;
    int e = errno;
    if (fclose(*f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    *f = NULL;
    if (!bad)
        return 0;
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(e ? e : EIO));
    return -1;
}
