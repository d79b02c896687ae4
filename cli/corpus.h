/*
 * corpus.h -- mail files named on a command line, for train-bayes,
 * classify and `gen smtp --replay-dir`.
 *
 * A path is a file or a directory (walked recursively, entries sorted
 * by name, names starting with '.' left out). A file is a mail when its
 * first line is a header field ("Name: value") or an mbox "From " line;
 * anything else (a SpamAssassin "cmds" file, a README, binary data, an
 * empty file) is skipped and counted, never guessed at. An mbox file
 * (first line "From ") holds one mail per "From " line that starts the
 * file or follows an empty line; the "From " line itself is mbox
 * framing, not part of the mail. A mail is cut at CLI_CORPUS_MAIL_MAX
 * bytes (the SMTP pipeline's smtp.max_mail_bytes default).
 *
 * The split: a mail is in the test part when the FNV-1a 64 hash of its
 * file's base name, modulo 100, is below the test percentage, else in
 * the train part. Fixed and reproducible (no seed, no order), and the
 * same file name lands in the same part in any directory, so a mail
 * filed twice cannot be trained on and tested on.
 */
#ifndef SX_CLI_CORPUS_H
#define SX_CLI_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_CORPUS_MAIL_MAX (64u * 1024u * 1024u)

/** One mail: where its bytes are. */
typedef struct cli_mail {
    char *path;      /* the file */
    char *name;      /* what to print: the path, or "path#N" for the Nth mail of an mbox */
    uint64_t offset; /* the message's bytes in the file */
    uint64_t length;
    unsigned index;  /* 1, 2, ... within its file */
    uint64_t name_hash; /* FNV-1a 64 of the file's base name: the split's and the folds' */
    int label;       /* the caller's (train-bayes: the class) */
} cli_mail;

typedef struct cli_corpus {
    cli_mail *mails;
    size_t n, cap;
    uint64_t bytes;       /* the mails' lengths, summed */
    size_t skipped;       /* files that are not mail */
    char *first_skipped;  /* the first of them, for the message */
} cli_corpus;

/** Empties c. */
void cli_corpus_init(cli_corpus *c);
/** Frees c's mails and empties it. */
void cli_corpus_free(cli_corpus *c);

/** Adds the mails of path (a file or a directory) with label. 0, or -1
 *  with a message in err (a path that cannot be read). */
int cli_corpus_add(cli_corpus *c, const char *path, int label, char *err, size_t errlen);

/** Moves the mails of the test part (test_pct percent, 1..99) from c
 *  to the end of test, keeping the train part in c, each in order. */
void cli_corpus_split(cli_corpus *c, unsigned test_pct, cli_corpus *test);

/** True when m is in the test part at test_pct percent. */
bool cli_corpus_is_test(const cli_mail *m, unsigned test_pct);
/** The cross-validation fold (0..folds-1) of m: (name hash / 100) mod
 *  folds, bits independent of the split's. */
unsigned cli_corpus_fold(const cli_mail *m, unsigned folds);

/** Reads m's bytes into a new buffer (the caller frees it); its length
 *  goes to *len. NULL with a message in err. */
uint8_t *cli_corpus_read(const cli_mail *m, size_t *len, char *err, size_t errlen);

/** Parses a --split value "test=PCT" (PCT 1..99) into *pct; -1 when it
 *  is not one. */
int cli_corpus_parse_split(const char *arg, unsigned *pct);

/** Prints "NOTE: skipped N files that are not mail (first: PATH)" to
 *  stderr, prefixed by who, when any were. */
void cli_corpus_report_skipped(const cli_corpus *c, const char *who);

#endif
