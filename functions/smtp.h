/*
 * smtp.h -- one SMTP connection's session state machine, assembling the
 * mails it carries from the in-order bytes of both directions.
 *
 * Feed each direction's new bytes as they arrive, split anywhere; the
 * session calls back once per completed mail (when the client's end of
 * data is seen: the "." line after DATA, or the last octet of BDAT ...
 * LAST). The message handed over is the IMF message exactly as sent,
 * dot-unstuffed, without the "." line but with the line end before it
 * (what `tshark --export-objects imf` writes, after unstuffing). Pure C:
 * no ANALOG values or evaluator, only its counter registry (the counters
 * below show in the run summary). A session is used by one thread at a
 * time; the counters are shared atomics.
 */
#ifndef FN_SMTP_SESSION_H
#define FN_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    FN_SMTP_C2S = 0, /* bytes from the client (the connection's initiator) */
    FN_SMTP_S2C = 1, /* bytes from the server */
};

/* Defaults of the caps (functions/fn_smtp.c makes them settings). */
#define FN_SMTP_MAX_MAIL_BYTES (64u * 1024u * 1024u)
#define FN_SMTP_MAX_LINE_BYTES 4096u
#define FN_SMTP_MAX_RCPT 1000u
/* Client bytes held while the reply to DATA or STARTTLS is awaited.
 * Clients send nothing then, so it is small: beyond it the reply is
 * assumed, and it bounds the work one refusing reply can cause (the
 * held bytes are read again as commands). */
#define FN_SMTP_HOLD_BYTES 4096u
/* Client commands tracked while awaiting their replies (pipelining). */
#define FN_SMTP_PENDING 64u

typedef struct fn_smtp_limits {
    size_t max_mail_bytes; /* message bytes kept per mail; the rest is counted */
    size_t max_line_bytes; /* longest command line parsed */
    size_t max_rcpt;       /* RCPT TO addresses kept per mail */
} fn_smtp_limits;

/** A completed mail, valid only during the callback. */
typedef struct fn_smtp_mail {
    const char *mail_from;       /* MAIL FROM address without <> ("" for <>) */
    const char *const *rcpt;     /* RCPT TO addresses, rcpt_count of them */
    size_t rcpt_count;
    const uint8_t *raw;          /* the message, raw_len bytes (at most the cap) */
    size_t raw_len;
    uint64_t size;               /* message bytes sent, before the cap */
    unsigned index;              /* 1 for the session's first mail, 2, ... */
    const char *transfer;        /* "DATA" or "BDAT" */
    bool truncated;              /* size > raw_len */
} fn_smtp_mail;

typedef void (*fn_smtp_mail_cb)(const fn_smtp_mail *mail, void *arg);

typedef struct fn_smtp_session fn_smtp_session;

typedef struct fn_smtp_stats {
    uint64_t sessions;        /* sessions created */
    uint64_t mails;           /* mails completed */
    uint64_t truncated;       /* mails cut at max_mail_bytes */
    uint64_t bytes_discarded; /* message bytes beyond max_mail_bytes, dropped */
    uint64_t incomplete;      /* mails whose data had begun when their session ended */
    uint64_t starttls;        /* sessions whose inspection ended at STARTTLS */
    uint64_t tls_bytes;       /* bytes ignored after STARTTLS */
    uint64_t bad_lines;       /* command lines over-long or malformed */
    uint64_t rsets;           /* RSET commands (envelope dropped) */
    uint64_t rcpt_dropped;    /* RCPT TO beyond max_rcpt */
    uint64_t data_rejected;   /* DATA refused by the server: what followed read as commands */
    uint64_t data_assumed;    /* DATA content taken without seeing the server's 354 */
    uint64_t no_envelope;     /* content without a MAIL FROM, dropped */
    uint64_t deferred;        /* mails returned by a later f_processSMTPSegment call */
    uint64_t lost;            /* mails dropped: deferral queue full or freed */
} fn_smtp_stats;

/** A new session with limits (NULL: the defaults above). The caller
 *  owns it and frees it with fn_smtp_session_destroy. */
fn_smtp_session *fn_smtp_session_new(const fn_smtp_limits *limits);
/** Frees *s (NULL is fine; a mail still in transfer counts as
 *  incomplete unless fn_smtp_finish ran) and nulls the pointer. */
void fn_smtp_session_destroy(fn_smtp_session **s);
/** Feeds len new in-order bytes of direction dir (FN_SMTP_C2S or
 *  FN_SMTP_S2C), calling cb(mail, arg) for each mail they complete (a
 *  server reply can complete one too, by releasing held client bytes).
 *  Returns the number of mails completed, or -1 for a bad dir. */
int fn_smtp_feed(fn_smtp_session *s, int dir, const uint8_t *data, size_t len,
                 fn_smtp_mail_cb cb, void *arg);
/** Ends the session (connection closed, reset or timed out): client
 *  bytes still held for a reply are taken as what they most likely are,
 *  then a mail still in transfer is dropped and counted incomplete.
 *  Later feeds are ignored. Returns the number of mails completed. */
int fn_smtp_finish(fn_smtp_session *s, fn_smtp_mail_cb cb, void *arg);
/** True once inspection ended at STARTTLS. */
bool fn_smtp_tls(const fn_smtp_session *s);

/** Copies the counters (totals since start, all threads) to *out. */
void fn_smtp_stats_get(fn_smtp_stats *out);
/** Counts mails the ANALOG wrapper (functions/fn_smtp.c) returned
 *  late (deferred) or dropped (lost). */
void fn_smtp_count_queue(uint64_t deferred, uint64_t lost);

#endif
