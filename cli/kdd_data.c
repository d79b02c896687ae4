/*
 * kdd_data.c -- reading KDD CSV files into records (cli/kdd_data.h).
 *
 * The whole file is kept as parsed records (about 500 bytes each: the
 * 494,021 records of KDD'99's 10% file take 250 MB), since training
 * needs them all at once and evaluation is a second pass over them.
 */
#include "cli/kdd_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/progress.h"
#include "functions/fn_args.h"
#include "proto/alloc.h"

void cli_kdd_init(cli_kdd_data *d)
{
    *d = (cli_kdd_data){0};
}

void cli_kdd_free(cli_kdd_data *d)
{
    free(d->recs);
    cli_kdd_init(d);
}

int cli_kdd_class(const fn_kdd_record *r)
{
    if (!strcmp(r->label, "normal"))
        return CLI_KDD_NORMAL;
    return fn_kdd_dos_find(r->label) >= 0 ? CLI_KDD_DOS : CLI_KDD_OTHER;
}

/** A free record slot at the end of d. */
static fn_kdd_record *slot(cli_kdd_data *d)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 4096;
        d->recs = sx_realloc(d->recs, d->cap * sizeof *d->recs);
    }
    return &d->recs[d->n];
}

/** True when line holds only white space. */
static bool blank(const char *line)
{
    return line[strspn(line, " \t\r\n")] == 0;
}

int cli_kdd_read(const char *path, cli_kdd_data *d, char *err, size_t errlen)
{
    bool std = !strcmp(path, "-");
    FILE *f = std ? stdin : fopen(path, "r");
    if (!f)
        return fn_args_errorf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    struct stat st;
    uint64_t size = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    sx_progress *bar = sx_progress_new(size);
    char *line = NULL, why[256];
    size_t cap = 0;
    uint64_t done = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        done += (uint64_t)len;
        if (memchr(line, 0, (size_t)len))
            rc = fn_args_errorf(err, errlen, "%s:%llu: a NUL byte: not a CSV file", path,
                                (unsigned long long)lineno);
        else if (!blank(line) && fn_kdd_parse_csv(line, slot(d), why, sizeof why) != 0)
            rc = fn_args_errorf(err, errlen, "%s:%llu: %s", path, (unsigned long long)lineno, why);
        else if (!blank(line))
            d->n++;
        sx_progress_update(bar, done, done * 8);
    }
    if (rc == 0 && ferror(f))
        rc = fn_args_errorf(err, errlen, "%s: read error: %s", path, strerror(errno));
    sx_progress_finish(&bar);
    free(line);
    if (!std)
        fclose(f);
    return rc;
}
