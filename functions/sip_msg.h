/*
 * sip_msg.h -- one SIP message (RFC 3261) parsed with libosip2, and the
 * framing of SIP messages in a byte stream.
 *
 * Pure C: no ANALOG values, no counters. fn_sip_parse turns the bytes
 * of one message (a UDP payload, or what fn_sip_frame_len cut from a
 * TCP stream) into an fn_sip_msg whose strings it owns;
 * fn_sip_msg_clear frees them. Input is hostile: every function checks
 * lengths, caps the header block, and hands libosip2 only header blocks
 * that start with a SIP start line and hold no NUL byte. Any thread
 * (see sip_msg.c on libosip2's thread safety).
 */
#ifndef FN_SIP_MSG_H
#define FN_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default cap of a message's header block (start line to empty line). */
#define FN_SIP_MAX_HEADER_BYTES (64u * 1024u)
/* Default cap of the header lines, ',' and ';' in a header block:
 * libosip2 appends each header, list element and parameter to a linked
 * list by walking it, so its parse time grows with their square (a 64
 * KiB block of "Route: <sip:a@b>,<sip:a@b>,..." takes some 70 ms). Real
 * messages have a few dozen. */
#define FN_SIP_MAX_HEADER_ITEMS 256u

/** The caps of fn_sip_parse. */
typedef struct fn_sip_limits {
    size_t max_header_bytes; /* header block bytes, start line to empty line */
    size_t max_header_items; /* header lines, ',' and ';' in the header block */
} fn_sip_limits;

/** Why a message was refused (FN_SIP_OK: it was not). */
typedef enum fn_sip_error {
    FN_SIP_OK = 0,
    FN_SIP_NOT_SIP,         /* the first line is no request or status line */
    FN_SIP_HEADER_TOO_BIG,  /* the header block is over the cap */
    FN_SIP_TOO_MANY_ITEMS,  /* too many header lines, ',' or ';' in it */
    FN_SIP_TRUNCATED,       /* no empty line ends the headers, or the body is short */
    FN_SIP_BINARY,          /* a NUL byte in the header block */
    FN_SIP_BAD_LENGTH,      /* Content-Length not a number, or repeated and different */
    FN_SIP_NO_LENGTH,       /* no Content-Length (framing a stream needs it) */
    FN_SIP_UNPARSABLE,      /* libosip2 refused the message */
    FN_SIP_MISSING_CALL_ID,
    FN_SIP_MISSING_CSEQ,
    FN_SIP_BAD_CSEQ,        /* CSeq number not a 32-bit decimal, or no method */
    FN_SIP_MISSING_FROM,
    FN_SIP_MISSING_TO,
    FN_SIP_ERROR_COUNT
} fn_sip_error;

/** A parsed message. Every string is NUL-terminated, "" when absent,
 *  and owned by the message (freed by fn_sip_msg_clear). */
typedef struct fn_sip_msg {
    bool request;
    const char *method;      /* request method, or the CSeq method of a response */
    int status;              /* response status code, 0 for a request */
    const char *reason;      /* reason phrase ("" for a request) */
    const char *request_uri; /* "" for a response */
    const char *call_id;
    int64_t cseq;
    const char *cseq_method;
    const char *from_uri, *from_tag;
    const char *to_uri, *to_tag;
    const char *via_branch;  /* the topmost Via's branch parameter */
    const char *contact;     /* the first Contact's URI ("*" for a wildcard) */
    const char *content_type; /* "type/subtype" */
    size_t content_length;   /* body bytes present */
    size_t size;             /* bytes of the whole message, start line to body end */
    char *store_;            /* private: the block all strings live in */
} fn_sip_msg;

/** The error's name, lower case with '_' ("missing_call_id"), fit for
 *  a counter name. */
const char *fn_sip_error_name(fn_sip_error e);

/** True when buf[0..len) starts with a complete SIP start line (ending
 *  in LF): a request line "METHOD SP Request-URI SP SIP/2.0" (METHOD a
 *  token, the URI "scheme:..." of any scheme) or a status line
 *  "SIP/2.0 SP 3DIGIT SP reason". Reads at most the first line; cheap
 *  enough to run on every datagram. */
bool fn_sip_looks_like(const uint8_t *buf, size_t len);

/** Bytes of CR and LF at the start of buf[0..len): what a stream may
 *  carry between messages (RFC 3261 7.5, RFC 5626 keep-alives). */
size_t fn_sip_skip_crlf(const uint8_t *buf, size_t len);

/** Where fn_sip_frame_len left off on a message it could not frame
 *  yet, so that a message arriving a byte at a time costs linear work.
 *  Zero it before each new message. Private fields. */
typedef struct fn_sip_frame_pos {
    size_t searched; /* bytes searched for the first line end / the empty line */
    bool start_ok;   /* the first line is complete and a SIP start line */
    int64_t total;   /* the message's length once known, else 0 */
} fn_sip_frame_pos;

/** Frames the message at the start of a stream's buffered bytes
 *  buf[0..len): returns its whole length (header block and
 *  Content-Length body bytes), 0 when more bytes are needed, or -1 when
 *  the stream cannot be framed: the first line is not a SIP start line,
 *  the header block is over max_header bytes, or Content-Length is
 *  missing (RFC 3261 18.3 requires it on streams), malformed or
 *  repeated with different values. *why (may be NULL) says which. pos
 *  (may be NULL: search from scratch) carries the search from a call
 *  that returned 0 to the next one with the same bytes and more. The
 *  message is framed, not parsed: fn_sip_parse checks the rest. */
int64_t fn_sip_frame_len(const uint8_t *buf, size_t len, size_t max_header,
                         fn_sip_frame_pos *pos, fn_sip_error *why);

/** Parses buf[0..len) as one message (leading CR/LF skipped): a header
 *  block within the caps of lim (NULL: the defaults above) ending in an
 *  empty line, then its
 *  body (Content-Length bytes, or all the rest when it is absent; bytes
 *  after the body are ignored, as RFC 3261 18.3 says for datagrams).
 *  Fills *out (the caller frees it with fn_sip_msg_clear, whatever the
 *  result) and returns FN_SIP_OK, or why the message was refused
 *  (*out then holds nothing). */
fn_sip_error fn_sip_parse(const uint8_t *buf, size_t len, const fn_sip_limits *lim,
                          fn_sip_msg *out);

/** Frees what fn_sip_parse put in *m and zeroes it (a zeroed message is
 *  fine). */
void fn_sip_msg_clear(fn_sip_msg *m);

#endif
