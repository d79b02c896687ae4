/*
 * mail_replay.c -- real mail files as the SMTP trace generator sends
 * them (tools/mail_replay.h).
 *
 * Design: the file's bytes are read straight into the mail's wire
 * buffer's tail, then copied forward into their wire form in one pass
 * (an LF gains a CR in front unless it has one), so a mail costs one
 * read and one copy; the buffer is the generator's and is reused.
 */
#include "tools/mail_replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/** Reads n bytes at offset of path into dst; 0, or -1 with a message
 *  (a file shorter than it was is an error: the list is stale). */
static int read_at(const char *path, uint64_t offset, uint64_t n, uint8_t *dst, char *err,
                   size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    bool ok = fseeko(f, (off_t)offset, SEEK_SET) == 0 && fread(dst, 1, n, f) == n;
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, "cannot read %" PRIu64 " bytes at %" PRIu64 " of %s", n, offset,
                 path);
        return -1;
    }
    return 0;
}

/* Hot path: once per replayed mail, over its bytes. */
/** Appends src[0..n) to out in wire form: LF made CRLF unless a CR is
 *  before it, and a CRLF at the end when it does not end with one. */
static void put_wire(sx_buf *out, const uint8_t *src, size_t n)
{
    uint8_t *dst = sx_buf_reserve(out, 2 * n + 2);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '\n' && (i == 0 || src[i - 1] != '\r'))
            dst[k++] = '\r';
        dst[k++] = src[i];
    }
    if (k < 2 || dst[k - 2] != '\r' || dst[k - 1] != '\n') {
        dst[k++] = '\r';
        dst[k++] = '\n';
    }
    out->len += k;
}

int sx_mail_replay_load(sx_mail *m, const sx_mail_replay *r, uint64_t number, char *err,
                        size_t errlen)
{
    m->raw.len = 0;
    m->src.len = 0;
    uint8_t *file = sx_buf_reserve(&m->src, (size_t)r->length + 1);
    if (read_at(r->path, r->offset, r->length, file, err, errlen) != 0)
        return -1;
    put_wire(&m->raw, file, (size_t)r->length);
    snprintf(m->from, sizeof m->from, "replay-%" PRIu64 "@sender.example", number);
    snprintf(m->rcpt[0], sizeof m->rcpt[0], "inbox@recipient.example");
    m->nrcpt = 1;
    m->from_name[0] = m->subject[0] = m->message_id[0] = 0;
    return 0;
}

void sx_mail_replay_json_string(sx_buf *out, const char *s)
{
    sx_buf_put(out, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sx_buf_printf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            sx_buf_printf(out, "\\u%04x", *p);
        else
            sx_buf_put(out, p, 1);
    }
    sx_buf_put(out, "\"", 1);
}
