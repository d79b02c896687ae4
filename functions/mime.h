/*
 * mime.h -- an RFC 5322 / MIME message turned into text a regex can
 * match: unfolded headers with RFC 2047 encoded-words decoded, then the
 * decoded text of every leaf part (base64, quoted-printable, 7bit, 8bit,
 * binary), multipart bodies walked recursively up to FN_MIME_DEPTH_MAX.
 *
 * Messages are hostile input: nothing is read outside [msg, msg + len),
 * recursion is bounded, and every output is bounded by the caller's cap
 * (cut short and flagged, never grown beyond it). Pure functions; safe
 * from any thread. No charset conversion: decoded bytes are kept as is.
 */
#ifndef FN_MIME_H
#define FN_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Multipart (and message/rfc822) levels decoded; a body nested deeper
 * is kept undecoded (still matchable) and counted. */
#define FN_MIME_DEPTH_MAX 16
/* Longest boundary parameter honoured (RFC 2046 allows 70). */
#define FN_MIME_BOUNDARY_MAX 200

/** A growable output buffer that never holds more than cap bytes. */
typedef struct fn_mime_buf {
    uint8_t *data; /* malloc'd, owned by the buffer; NULL until written */
    size_t len;
    size_t alloc;
    size_t cap;     /* the most bytes it will hold */
    bool truncated; /* something was cut at cap */
} fn_mime_buf;

typedef struct fn_mime_stats {
    uint64_t texts;          /* fn_mime_text calls */
    uint64_t truncated;      /* texts cut at their cap */
    uint64_t headers_cut;    /* header values cut at their cap */
    uint64_t too_deep;       /* bodies nested beyond FN_MIME_DEPTH_MAX, kept undecoded */
    uint64_t bad_multipart;  /* multipart bodies without their boundary (kept as is) */
    uint64_t unterminated;   /* multipart bodies missing the closing boundary */
} fn_mime_stats;

/** Empties b and sets the cap it will hold to. */
void fn_mime_buf_init(fn_mime_buf *b, size_t cap);
/** Frees b's storage and leaves it empty. */
void fn_mime_buf_free(fn_mime_buf *b);

/** Replaces out's content (out was initialised by fn_mime_buf_init or
 *  used before; its storage is reused, its cap becomes cap) with the
 *  matchable text of message msg: each header unfolded and decoded as
 *  "Name: value\n", a blank line, then each leaf part's decoded body,
 *  parts separated by a newline. Returns 0; out->truncated tells whether
 *  cap cut it. The caller frees out with fn_mime_buf_free. */
int fn_mime_text(const uint8_t *msg, size_t len, size_t cap, fn_mime_buf *out);

/** Replaces out's content (as fn_mime_text does) with the value of msg's
 *  first header named name (any case): unfolded, RFC 2047 decoded,
 *  trimmed, at most cap bytes. Returns 1 when the header is present, 0
 *  when it is not (out is then empty). */
int fn_mime_header(const uint8_t *msg, size_t len, const char *name, size_t cap,
                   fn_mime_buf *out);

/** Copies the counters (totals since start, all threads) to *out. */
void fn_mime_stats_get(fn_mime_stats *out);

#endif
