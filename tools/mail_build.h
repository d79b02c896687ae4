/*
 * mail_build.h -- builds synthetic RFC 5322 mails for the SMTP trace
 * generator: headers, MIME parts (7bit text, quoted-printable text or
 * HTML, base64 attachments), filler text from a word list, and a phrase
 * planted in exactly one part when asked.
 *
 * The guarantee a matcher's ground truth rests on: a mail built with
 * plant = SX_MAIL_NONE contains the phrase neither in its raw bytes nor
 * in any part's decoded content; a planted mail contains it exactly once,
 * decoded, in a part of the asked encoding, and in its raw bytes only
 * when that encoding is plain (7bit). Mails that break this by chance
 * (a short phrase formed by filler) are rebuilt from the same random
 * stream; a phrase the filler keeps forming is an error.
 */
#ifndef SX_TOOLS_MAIL_BUILD_H
#define SX_TOOLS_MAIL_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tools/buf.h"
#include "tools/rng.h"

#define SX_MAIL_MAX_RCPT 3
#define SX_MAIL_ADDR_MAX 96

/* Where a planted phrase sits (the truth file's "encoding"). */
typedef enum sx_mail_encoding {
    SX_MAIL_PLAIN = 0,  /* a 7bit text part: visible in the raw bytes */
    SX_MAIL_BASE64,     /* a base64 part: visible only decoded */
    SX_MAIL_QP,         /* a quoted-printable part, phrase split by the encoding */
    SX_MAIL_NOT_PLANTED
} sx_mail_encoding;

/* What to build. */
typedef struct sx_mail_spec {
    uint64_t number;          /* unique in the trace; goes into the Message-ID */
    uint64_t seed;            /* the run's seed; also in the Message-ID */
    size_t target_size;       /* the raw size to aim at (headers included) */
    sx_mail_encoding plant;   /* where to plant the phrase, or SX_MAIL_NOT_PLANTED */
    const char *phrase;
    size_t phrase_len;
    time_t date;              /* the Date: header */
    const char *client_host;  /* the host named in the Received: header */
} sx_mail_spec;

/* A built mail and the scratch space reused from mail to mail. */
typedef struct sx_mail {
    sx_buf raw; /* the message: header lines, blank line, body; ends in CRLF */
    char from[SX_MAIL_ADDR_MAX];
    char from_name[64]; /* the From: header's display name */
    char rcpt[SX_MAIL_MAX_RCPT][SX_MAIL_ADDR_MAX];
    unsigned nrcpt;
    char subject[256];
    char message_id[128];
    sx_buf src;          /* a part's content before it is encoded */
} sx_mail;

/** Builds a mail into m (emptied first) drawing from r. 0, or -1 with a
 *  message in err when the phrase could not be kept to its place. */
int sx_mail_build(sx_mail *m, const sx_mail_spec *s, sx_rng *r, char *err, size_t errlen);

/** Frees m's buffers (m itself is the caller's). */
void sx_mail_free(sx_mail *m);

/** Occurrences of needle in the n bytes at hay (overlaps counted). */
size_t sx_mail_count(const uint8_t *hay, size_t n, const char *needle, size_t nlen);

/** 0 when phrase is usable: 4 to 200 printable ASCII characters, not
 *  starting or ending with a space, and not inside the generator's own
 *  words and header templates (which would put it in every mail).
 *  Otherwise -1 with the reason in err. */
int sx_mail_phrase_check(const char *phrase, char *err, size_t errlen);

/** The truth file's name for an encoding ("plain", "base64",
 *  "quoted-printable"); NULL for SX_MAIL_NOT_PLANTED. */
const char *sx_mail_encoding_name(sx_mail_encoding e);

#endif
