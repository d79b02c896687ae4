/*
 * mail_replay.h -- real mail files as the SMTP trace generator sends
 * them (`scalanytics gen smtp --replay-dir`).
 *
 * A replayed mail is the bytes of a file (or of one mail of an mbox,
 * its "From " line left out), made into what a sending MTA puts on the
 * wire: every LF not preceded by CR becomes CRLF (bare CRs and existing
 * CRLFs are kept), and a CRLF is added when the mail does not end with
 * one. Dot-stuffing is the generator's (on the wire only). That wire
 * form, unstuffed, is exactly what the SMTP assembler must give back;
 * the truth file's size and fnv1a64 are of it. The envelope is
 * synthetic and names the mail's number: MAIL FROM
 * <replay-N@sender.example>, RCPT TO <inbox@recipient.example>.
 */
#ifndef SX_TOOLS_MAIL_REPLAY_H
#define SX_TOOLS_MAIL_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "tools/mail_build.h"

/** Where a replayed mail's bytes are. */
typedef struct sx_mail_replay {
    const char *path;  /* the file read */
    const char *name;  /* what the truth file calls it ("path" or "path#N") */
    uint64_t offset;   /* the mail's bytes in the file */
    uint64_t length;
} sx_mail_replay;

/** Fills m (emptied first) with mail number `number` read as r says: its
 *  wire form in m->raw, the synthetic envelope in m->from and m->rcpt.
 *  0, or -1 with a message in err (the file cannot be read). */
int sx_mail_replay_load(sx_mail *m, const sx_mail_replay *r, uint64_t number, char *err,
                        size_t errlen);

/** Appends s to out as a JSON string (quoted; '"', '\\' and control
 *  bytes escaped, other bytes as they are). */
void sx_mail_replay_json_string(sx_buf *out, const char *s);

#endif
