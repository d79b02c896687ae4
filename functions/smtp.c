/*
 * smtp.c -- the SMTP session state machine (RFC 5321, with PIPELINING
 * RFC 2920, CHUNKING RFC 3030, STARTTLS RFC 3207, AUTH RFC 4954).
 *
 * Design: the client stream is parsed on its own, command by command,
 * never waiting for replies (pipelining needs no special case): MAIL
 * starts an envelope, RCPT adds to it, BDAT <n> takes the next n octets
 * raw, DATA takes content up to the "." line, unstuffing dots. Server
 * replies are only read for three decisions, matched to the client's
 * commands through a FIFO of those awaiting a reply:
 *   - DATA: real clients wait for the 354 before sending content, so
 *     after DATA the client's bytes are held (up to FN_SMTP_HOLD_BYTES)
 *     until the reply: 354 makes them content, a refusal (4xx/5xx)
 *     makes them commands again (counted data_rejected). When no server
 *     byte has been seen (a one-sided capture), or the hold overflows
 *     (the server is not answering), content is assumed at once
 *     (counted data_assumed), and from an overflow on for the session;
 *   - STARTTLS: held the same way; a 220 ends inspection (the rest is
 *     TLS), a refusal resumes it;
 *   - AUTH: client lines are skipped until the server's final (non-334)
 *     reply, or until a client line holds a space (base64 never does).
 * A mail completes at the client's end of data, whatever the server
 * answers to it; it needs a MAIL FROM (content without one is counted
 * and dropped, as a server refuses it). RCPT addresses are the
 * client's, accepted or not.
 *
 * Memory per session is bounded by the caps: the message buffer by
 * max_mail_bytes (beyond it bytes are counted, not kept), the command
 * line by max_line_bytes, the envelope by max_rcpt addresses of at most
 * a line each, the hold by FN_SMTP_HOLD_BYTES; server reply lines are
 * never buffered (only their first four bytes matter).
 */
#include "functions/smtp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analog/counters.h"
#include "proto/alloc.h"

/* A message buffer at most this big is kept for the session's next mail. */
#define MSG_KEEP (256u * 1024u)
/* Longest command verb ("STARTTLS" is 8). */
#define VERB_MAX 16u

/** What the client stream is doing. */
typedef enum client_mode {
    MODE_CMD,       /* reading command lines */
    MODE_AUTH,      /* skipping an AUTH exchange's lines */
    MODE_DATA_WAIT, /* after DATA: holding bytes until the reply */
    MODE_TLS_WAIT,  /* after STARTTLS: holding bytes until the reply */
    MODE_DATA,      /* reading DATA content */
    MODE_BDAT,      /* reading a BDAT chunk's octets */
    MODE_TLS,       /* inspection over */
} client_mode;

/** Where DATA content is, relative to its lines (for the "." line). */
typedef enum data_state {
    D_MID,   /* inside a line */
    D_BOL,   /* at a line's start */
    D_DOT,   /* after a line's leading '.' */
    D_DOTCR, /* after a line's leading ".\r" */
} data_state;

/** Commands awaiting a reply, by what their reply decides. */
typedef enum pending_kind {
    P_NONE,     /* the FIFO was empty */
    P_OTHER,    /* a reply nothing depends on */
    P_DATA,
    P_STARTTLS,
    P_AUTH,
} pending_kind;

struct fn_smtp_session {
    fn_smtp_limits lim;
    client_mode mode;
    bool finished;
    bool seen_server;      /* any server byte: replies can be waited for */
    bool greeted;          /* the first reply (the greeting) is past */
    bool replies_missing;  /* a hold overflowed: stop waiting for replies */
    /* the client's current command line */
    uint8_t *line;
    size_t line_len;
    bool line_over;        /* longer than max_line_bytes: being skipped */
    /* the server's current reply line: its first four bytes */
    uint8_t reply_head[4];
    size_t reply_len;
    /* commands awaiting replies (a ring) */
    uint8_t pending[FN_SMTP_PENDING];
    unsigned pending_head, pending_count;
    /* client bytes held while a reply is awaited */
    uint8_t *hold;
    size_t hold_len;
    /* content transfer */
    data_state dstate;
    uint64_t bdat_left;
    bool bdat_last;
    /* the mail being built */
    char *mail_from;
    char **rcpt;
    size_t rcpt_count, rcpt_alloc;
    uint8_t *msg;
    size_t msg_len, msg_alloc;
    uint64_t msg_size;
    bool in_transfer;      /* its content has begun */
    const char *transfer;  /* "DATA" or "BDAT" */
    unsigned mails;
};

/** Where completed mails go, and how many went there. */
typedef struct emit {
    fn_smtp_mail_cb cb;
    void *arg;
    int count;
} emit;

/* Counters, in the run summary through the registry (analog/counters.h,
 * a table of atomics; the session logic needs nothing else of ANALOG). */
#define SMTP_COUNTER(var, cname, text)                                                          \
    static analog_counter var = {.name = cname, .summary = text};                               \
    ANALOG_COUNTER_REGISTER(var)
SMTP_COUNTER(c_sessions, "smtp.sessions", "SMTP sessions followed")
SMTP_COUNTER(c_mails, "smtp.mails", "mails assembled")
SMTP_COUNTER(c_truncated, "smtp.mails_truncated", "mails cut at smtp.max_mail_bytes")
SMTP_COUNTER(c_discarded, "smtp.bytes_discarded",
             "message bytes beyond smtp.max_mail_bytes, dropped")
SMTP_COUNTER(c_incomplete, "smtp.mails_incomplete",
             "mails whose data had begun when their connection ended")
SMTP_COUNTER(c_starttls, "smtp.starttls", "SMTP sessions whose inspection ended at STARTTLS")
SMTP_COUNTER(c_tls_bytes, "smtp.tls_bytes_ignored", "bytes not inspected after STARTTLS")
SMTP_COUNTER(c_bad_lines, "smtp.bad_lines",
             "SMTP command lines over smtp.max_line_bytes or malformed")
SMTP_COUNTER(c_rsets, "smtp.rsets", "RSET commands (envelope and content dropped)")
SMTP_COUNTER(c_rcpt_dropped, "smtp.rcpt_dropped", "RCPT TO addresses beyond smtp.max_rcpt")
SMTP_COUNTER(c_data_rejected, "smtp.data_rejected",
             "DATA refused by the server: what followed read as commands")
SMTP_COUNTER(c_data_assumed, "smtp.data_assumed",
             "DATA content taken without the server's 354 (one-sided or unanswered)")
SMTP_COUNTER(c_no_envelope, "smtp.no_envelope",
             "message content sent without a MAIL FROM, dropped (the server refuses it)")
SMTP_COUNTER(c_deferred, "smtp.mails_deferred",
             "mails returned by a later f_processSMTPSegment call (several in one segment)")
SMTP_COUNTER(c_lost, "smtp.mails_lost",
             "mails dropped: f_processSMTPSegment's queue full, or its state freed")

/** Adds n to a counter. */
static void count(analog_counter *c, uint64_t n)
{
    if (n)
        analog_counter_add(c, n);
}

void fn_smtp_stats_get(fn_smtp_stats *out)
{
    *out = (fn_smtp_stats){
        .sessions = analog_counter_read(&c_sessions),
        .mails = analog_counter_read(&c_mails),
        .truncated = analog_counter_read(&c_truncated),
        .bytes_discarded = analog_counter_read(&c_discarded),
        .incomplete = analog_counter_read(&c_incomplete),
        .starttls = analog_counter_read(&c_starttls),
        .tls_bytes = analog_counter_read(&c_tls_bytes),
        .bad_lines = analog_counter_read(&c_bad_lines),
        .rsets = analog_counter_read(&c_rsets),
        .rcpt_dropped = analog_counter_read(&c_rcpt_dropped),
        .data_rejected = analog_counter_read(&c_data_rejected),
        .data_assumed = analog_counter_read(&c_data_assumed),
        .no_envelope = analog_counter_read(&c_no_envelope),
        .deferred = analog_counter_read(&c_deferred),
        .lost = analog_counter_read(&c_lost),
    };
}

void fn_smtp_count_queue(uint64_t deferred, uint64_t lost)
{
    count(&c_deferred, deferred);
    count(&c_lost, lost);
}

/* ---- the mail being built ---- */

/** A NUL-terminated copy of p[0..n). The caller owns it. */
static char *dup_text(const uint8_t *p, size_t n)
{
    char *s = sx_malloc(n + 1);
    if (n)
        memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/** Drops the envelope and message being built (what RSET, a new MAIL
 *  and a completed mail do); bytes cut at the cap are counted here. */
static void transaction_reset(fn_smtp_session *s)
{
    free(s->mail_from);
    s->mail_from = NULL;
    for (size_t i = 0; i < s->rcpt_count; i++)
        free(s->rcpt[i]);
    s->rcpt_count = 0;
    count(&c_discarded, s->msg_size - s->msg_len);
    if (s->msg_alloc > MSG_KEEP) {
        free(s->msg);
        s->msg = NULL;
        s->msg_alloc = 0;
    }
    s->msg_len = 0;
    s->msg_size = 0;
    s->in_transfer = false;
}

/** Drops a transfer that will not complete, counting it. */
static void transfer_abandon(fn_smtp_session *s)
{
    if (s->in_transfer)
        count(&c_incomplete, 1);
    transaction_reset(s);
}

/** Starts the message content of the envelope, by DATA or BDAT. */
static void transfer_begin(fn_smtp_session *s, const char *how)
{
    if (!s->in_transfer) {
        s->in_transfer = true;
        s->transfer = how;
    }
}

/* Hot path: every content byte passes here once. */
/** Appends n content bytes, keeping what fits under max_mail_bytes. */
static void msg_append(fn_smtp_session *s, const uint8_t *p, size_t n)
{
    s->msg_size += n;
    size_t room = s->lim.max_mail_bytes - s->msg_len;
    size_t take = n < room ? n : room;
    if (!take)
        return;
    if (s->msg_len + take > s->msg_alloc) {
        size_t a = s->msg_alloc ? s->msg_alloc : 4096;
        while (a < s->msg_len + take)
            a *= 2;
        if (a > s->lim.max_mail_bytes)
            a = s->lim.max_mail_bytes;
        s->msg = sx_realloc(s->msg, a);
        s->msg_alloc = a;
    }
    memcpy(s->msg + s->msg_len, p, take);
    s->msg_len += take;
}

/** Hands the finished mail to the callback and starts afresh. Content
 *  without a MAIL FROM is no mail (a server refuses it; with pipelined
 *  BDAT the octets come anyway) and is dropped, counted. */
static void mail_complete(fn_smtp_session *s, emit *e)
{
    if (!s->mail_from) {
        count(&c_no_envelope, 1);
        transaction_reset(s);
        return;
    }
    fn_smtp_mail m = {
        .mail_from = s->mail_from,
        .rcpt = (const char *const *)s->rcpt, .rcpt_count = s->rcpt_count,
        .raw = s->msg ? s->msg : (const uint8_t *)"", .raw_len = s->msg_len,
        .size = s->msg_size, .index = ++s->mails, .transfer = s->transfer,
        .truncated = s->msg_size > s->msg_len,
    };
    count(&c_mails, 1);
    if (m.truncated)
        count(&c_truncated, 1);
    if (e->cb)
        e->cb(&m, e->arg);
    e->count++;
    transaction_reset(s);
}

/* ---- replies awaited ---- */

/** Notes a client command whose reply is to come (forgotten when the
 *  FIFO is full: only DATA and STARTTLS replies matter, and both also
 *  resynchronise on their own reply codes). */
static void pending_push(fn_smtp_session *s, pending_kind k)
{
    if (s->pending_count == FN_SMTP_PENDING)
        return;
    s->pending[(s->pending_head + s->pending_count) % FN_SMTP_PENDING] = (uint8_t)k;
    s->pending_count++;
}

/** The oldest command awaiting a reply, removed; P_NONE if none. */
static pending_kind pending_pop(fn_smtp_session *s)
{
    if (!s->pending_count)
        return P_NONE;
    pending_kind k = (pending_kind)s->pending[s->pending_head];
    s->pending_head = (s->pending_head + 1) % FN_SMTP_PENDING;
    s->pending_count--;
    return k;
}

/** True when replies can be awaited (see the file comment). */
static bool replies_trusted(const fn_smtp_session *s)
{
    return s->seen_server && !s->replies_missing;
}

/** Ends inspection: the rest of the connection is TLS. */
static void tls_begin(fn_smtp_session *s)
{
    s->mode = MODE_TLS;
    count(&c_starttls, 1);
    transfer_abandon(s);
    free(s->hold);
    s->hold = NULL;
    s->hold_len = 0;
}

/** Enters DATA content, at the start of its first line. */
static void data_begin(fn_smtp_session *s)
{
    s->mode = MODE_DATA;
    s->dstate = D_BOL;
}

/* ---- the client stream ---- */

static void client_feed(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e);

/** Feeds the held client bytes again, now that their mode is known. */
static void hold_replay(fn_smtp_session *s, emit *e)
{
    uint8_t *h = s->hold;
    size_t n = s->hold_len;
    s->hold = NULL; /* feeding may start a new hold */
    s->hold_len = 0;
    client_feed(s, h, n, e);
    free(h);
}

/** Resolves a wait without the reply: DATA content or TLS assumed. */
static void wait_assume(fn_smtp_session *s, emit *e)
{
    if (s->mode == MODE_TLS_WAIT) {
        tls_begin(s);
        return;
    }
    count(&c_data_assumed, 1);
    data_begin(s);
    hold_replay(s, e);
}

/** Holds client bytes while a reply is awaited; on overflow assumes
 *  the reply and stops waiting for replies for the session. Returns
 *  the bytes used. */
static size_t hold_feed(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    if (s->hold_len + n > FN_SMTP_HOLD_BYTES) {
        s->replies_missing = true;
        wait_assume(s, e);
        return 0; /* the bytes go to the new mode */
    }
    if (!s->hold)
        s->hold = sx_malloc(FN_SMTP_HOLD_BYTES);
    memcpy(s->hold + s->hold_len, p, n);
    s->hold_len += n;
    return n;
}

/** Ends DATA content at its "." line. */
static void data_end(fn_smtp_session *s, emit *e)
{
    s->mode = MODE_CMD;
    pending_push(s, P_OTHER); /* the reply to the whole message */
    mail_complete(s, e);
}

/* content -> *(line) "." CRLF, a leading '.' of any other line removed */
/** Reads DATA content: unstuffs dots and stops after the "." line.
 *  Returns the bytes used. */
static size_t data_feed(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    size_t i = 0;
    while (i < n) {
        switch (s->dstate) {
        case D_MID: {
            const uint8_t *nl = memchr(p + i, '\n', n - i);
            size_t k = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
            msg_append(s, p + i, k);
            i += k;
            if (nl)
                s->dstate = D_BOL;
            break;
        }
        case D_BOL:
            s->dstate = p[i] == '.' ? D_DOT : D_MID;
            i += p[i] == '.';
            break;
        case D_DOT:
            if (p[i] == '\n') {
                data_end(s, e);
                return i + 1;
            }
            s->dstate = p[i] == '\r' ? D_DOTCR : D_MID; /* else the dot is dropped */
            i += p[i] == '\r';
            break;
        case D_DOTCR:
            if (p[i] == '\n') {
                data_end(s, e);
                return i + 1;
            }
            msg_append(s, (const uint8_t *)"\r", 1);
            s->dstate = D_MID;
            break;
        }
    }
    return i;
}

/** Reads a BDAT chunk's octets; the chunk of a BDAT ... LAST ends the
 *  mail. Returns the bytes used. */
static size_t bdat_feed(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    size_t take = s->bdat_left < n ? (size_t)s->bdat_left : n;
    msg_append(s, p, take);
    s->bdat_left -= take;
    if (!s->bdat_left) {
        s->mode = MODE_CMD;
        if (s->bdat_last)
            mail_complete(s, e);
    }
    return take;
}

/* ---- client commands ---- */

/** Counts a command line that is over-long or malformed. */
static void bad_line(void)
{
    count(&c_bad_lines, 1);
}

/** Length of a line's verb: 1 to VERB_MAX letters, then a space or
 *  the line's end; 0 when the line has none. */
static size_t verb_len(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && i <= VERB_MAX && ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z'))
        i++;
    return i == 0 || i > VERB_MAX || (i < n && p[i] != ' ') ? 0 : i;
}

/** Index of the first byte at or after i that is not a space. */
static size_t skip_spaces(const uint8_t *p, size_t n, size_t i)
{
    while (i < n && p[i] == ' ')
        i++;
    return i;
}

/* path-arg -> prefix [SP] ("<" address ">" | address) *(SP parameter) */
/** Finds the address of a MAIL or RCPT argument (after prefix,
 *  "FROM:" or "TO:") in p[0..n): *addr, *alen. False when malformed. */
static bool path_arg(const uint8_t *p, size_t n, const char *prefix, const uint8_t **addr,
                     size_t *alen)
{
    size_t plen = strlen(prefix);
    size_t i = skip_spaces(p, n, 0);
    if (n - i < plen || strncasecmp((const char *)p + i, prefix, plen) != 0)
        return false;
    i = skip_spaces(p, n, i + plen);
    bool angle = i < n && p[i] == '<';
    i += angle;
    const uint8_t *stop = angle ? memchr(p + i, '>', n - i) : NULL;
    if (!stop) { /* no angle brackets, or no closing one: up to a space */
        const uint8_t *sp = i < n ? memchr(p + i, ' ', n - i) : NULL;
        stop = sp ? sp : p + n;
    }
    *addr = p + i;
    *alen = (size_t)(stop - (p + i));
    return true;
}

/* mail -> "MAIL" SP "FROM:" path *(SP parameter) */
/** Starts a new envelope with its sender. */
static void cmd_mail(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    const uint8_t *addr;
    size_t alen;
    pending_push(s, P_OTHER);
    if (!path_arg(p, n, "FROM:", &addr, &alen)) {
        bad_line();
        return;
    }
    transfer_abandon(s); /* a BDAT mail left without its LAST chunk */
    s->mail_from = dup_text(addr, alen);
}

/* rcpt -> "RCPT" SP "TO:" path *(SP parameter) */
/** Adds a recipient to the envelope (up to max_rcpt). */
static void cmd_rcpt(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    const uint8_t *addr;
    size_t alen;
    pending_push(s, P_OTHER);
    if (!path_arg(p, n, "TO:", &addr, &alen)) {
        bad_line();
        return;
    }
    if (s->rcpt_count >= s->lim.max_rcpt) {
        count(&c_rcpt_dropped, 1);
        return;
    }
    if (s->rcpt_count == s->rcpt_alloc) {
        s->rcpt_alloc = s->rcpt_alloc ? s->rcpt_alloc * 2 : 4;
        s->rcpt = sx_realloc(s->rcpt, s->rcpt_alloc * sizeof *s->rcpt);
    }
    s->rcpt[s->rcpt_count++] = dup_text(addr, alen);
}

/* data -> "DATA" */
/** Starts DATA: content once the server's 354 is seen (or assumed). */
static void cmd_data(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    pending_push(s, P_DATA);
    transfer_begin(s, "DATA");
    if (replies_trusted(s)) {
        s->mode = MODE_DATA_WAIT;
        return;
    }
    count(&c_data_assumed, 1);
    data_begin(s);
}

/* bdat -> "BDAT" SP size [SP "LAST"] */
/** Parses BDAT's arguments into *size and *last; false if malformed. */
static bool bdat_args(const uint8_t *p, size_t n, uint64_t *size, bool *last)
{
    size_t i = skip_spaces(p, n, 0), digits = i;
    uint64_t v = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (i == digits)
        return false;
    i = skip_spaces(p, n, i);
    *last = n - i >= 4 && strncasecmp((const char *)p + i, "LAST", 4) == 0;
    i = skip_spaces(p, n, i + (*last ? 4 : 0));
    *size = v;
    return i == n;
}

/** Starts a BDAT chunk: the next size octets are content, raw. */
static void cmd_bdat(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    uint64_t size;
    bool last;
    pending_push(s, P_OTHER);
    if (!bdat_args(p, n, &size, &last)) {
        bad_line();
        return;
    }
    transfer_begin(s, "BDAT");
    s->bdat_left = size;
    s->bdat_last = last;
    s->mode = MODE_BDAT;
    if (!size) { /* "BDAT 0 LAST" ends the mail at once */
        s->mode = MODE_CMD;
        if (last)
            mail_complete(s, e);
    }
}

/** RSET: drops the envelope and any content received. */
static void cmd_rset(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    pending_push(s, P_OTHER);
    count(&c_rsets, 1);
    transaction_reset(s);
}

/** STARTTLS: inspection ends if the server agrees (220). */
static void cmd_starttls(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    pending_push(s, P_STARTTLS);
    if (replies_trusted(s))
        s->mode = MODE_TLS_WAIT;
    else
        tls_begin(s);
}

/** AUTH: its exchange's lines are skipped. */
static void cmd_auth(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    pending_push(s, P_AUTH);
    s->mode = MODE_AUTH;
}

typedef void (*command_fn)(fn_smtp_session *s, const uint8_t *args, size_t n, emit *e);

/* Commands that change state; any other (EHLO, HELO, NOOP, VRFY, HELP,
 * QUIT, unknown ones) only gets a reply. */
static const struct {
    const char *verb;
    command_fn fn;
} commands[] = {
    {"MAIL", cmd_mail}, {"RCPT", cmd_rcpt}, {"DATA", cmd_data}, {"BDAT", cmd_bdat},
    {"RSET", cmd_rset}, {"STARTTLS", cmd_starttls}, {"AUTH", cmd_auth},
};

/** Acts on one complete client line p[0..n) (no line end). */
static void client_line(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    if (s->mode == MODE_AUTH) {
        if (!memchr(p, ' ', n))
            return; /* base64 or "*": part of the exchange */
        s->mode = MODE_CMD; /* a command: the exchange ended unseen */
    }
    size_t vlen = verb_len(p, n);
    for (size_t i = 0; vlen && i < sizeof commands / sizeof commands[0]; i++) {
        if (strlen(commands[i].verb) == vlen &&
            strncasecmp((const char *)p, commands[i].verb, vlen) == 0) {
            commands[i].fn(s, p + vlen, n - vlen, e);
            return;
        }
    }
    if (!vlen)
        bad_line();
    pending_push(s, P_OTHER);
}

/** Reads command lines up to the max_line_bytes cap (a longer line is
 *  skipped and counted). Returns the bytes used: up to the end of the
 *  first line, so a command that changes mode takes effect at once. */
static size_t line_feed(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    const uint8_t *nl = memchr(p, '\n', n);
    size_t k = nl ? (size_t)(nl - p) : n;
    if (!s->line_over && s->line_len + k > s->lim.max_line_bytes)
        s->line_over = true;
    if (!s->line_over && k) {
        if (!s->line)
            s->line = sx_malloc(s->lim.max_line_bytes);
        memcpy(s->line + s->line_len, p, k);
        s->line_len += k;
    }
    if (!nl)
        return n;
    size_t len = s->line_len;
    bool over = s->line_over;
    s->line_len = 0;
    s->line_over = false;
    if (over && s->mode != MODE_AUTH) { /* AUTH tokens (GSSAPI) may be long */
        bad_line();
        pending_push(s, P_OTHER);
    } else if (!over) {
        if (len && s->line[len - 1] == '\r')
            len--;
        client_line(s, s->line ? s->line : (const uint8_t *)"", len, e);
    }
    return k + 1;
}

/* Hot path: the client's bytes, by mode; each step uses at least one
 * byte or changes the mode, so the loop ends. */
/** Feeds the client's bytes to whatever its mode reads. */
static void client_feed(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    while (n) {
        size_t used;
        switch (s->mode) {
        case MODE_CMD:
        case MODE_AUTH:
            used = line_feed(s, p, n, e);
            break;
        case MODE_DATA_WAIT:
        case MODE_TLS_WAIT:
            used = hold_feed(s, p, n, e);
            break;
        case MODE_DATA:
            used = data_feed(s, p, n, e);
            break;
        case MODE_BDAT:
            used = bdat_feed(s, p, n, e);
            break;
        default: /* MODE_TLS */
            count(&c_tls_bytes, n);
            return;
        }
        p += used;
        n -= used;
    }
}

/* ---- the server stream ---- */

/** Acts on a reply's final line with code: the greeting, then the
 *  awaited replies to DATA, STARTTLS and AUTH. */
static void reply(fn_smtp_session *s, unsigned code, emit *e)
{
    bool starttls_next = s->pending_count && s->pending[s->pending_head] == P_STARTTLS;
    if (!s->greeted && code == 220 && !starttls_next) {
        s->greeted = true;
        return;
    }
    s->greeted = true;
    if (code == 334)
        return; /* AUTH goes on; its command still awaits the final reply */
    pending_kind k = pending_pop(s);
    bool ours = k == P_NONE; /* an empty FIFO: take the reply as awaited */
    if (s->mode == MODE_DATA_WAIT && code == 354) {
        s->pending_count = 0; /* the client waited: nothing else is outstanding */
        data_begin(s);
        hold_replay(s, e);
    } else if (s->mode == MODE_DATA_WAIT && (ours || k == P_DATA)) {
        count(&c_data_rejected, 1);
        s->mode = MODE_CMD;
        s->in_transfer = false;
        hold_replay(s, e);
    } else if (s->mode == MODE_TLS_WAIT && (ours || k == P_STARTTLS)) {
        if (code == 220) {
            tls_begin(s);
        } else {
            s->mode = MODE_CMD;
            hold_replay(s, e);
        }
    } else if (s->mode == MODE_AUTH && (ours || k == P_AUTH)) {
        s->mode = MODE_CMD;
    }
}

/* reply-line -> 3DIGIT ("-" | SP) text; "-" lines are continued */
/** Acts on one server line of len bytes starting with head[0..4). */
static void reply_line(fn_smtp_session *s, const uint8_t *head, size_t len, emit *e)
{
    if (len < 3)
        return;
    unsigned code = 0;
    for (int i = 0; i < 3; i++) {
        if (head[i] < '0' || head[i] > '9')
            return;
        code = code * 10 + (unsigned)(head[i] - '0');
    }
    if (len > 3 && head[3] == '-')
        return;
    reply(s, code, e);
}

/** Reads server reply lines, remembering only each line's first four
 *  bytes, so a reply line of any length costs no memory. */
static void server_feed(fn_smtp_session *s, const uint8_t *p, size_t n, emit *e)
{
    s->seen_server = true;
    while (n && s->mode != MODE_TLS) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        for (size_t i = 0; i < k && s->reply_len + i < sizeof s->reply_head; i++)
            s->reply_head[s->reply_len + i] = p[i];
        s->reply_len += k;
        if (!nl)
            return;
        size_t len = s->reply_len;
        s->reply_len = 0;
        p += k + 1;
        n -= k + 1;
        reply_line(s, s->reply_head, len, e);
    }
    count(&c_tls_bytes, n);
}

/* ---- sessions ---- */

fn_smtp_session *fn_smtp_session_new(const fn_smtp_limits *limits)
{
    fn_smtp_session *s = sx_calloc(1, sizeof *s);
    s->lim = limits ? *limits
                    : (fn_smtp_limits){.max_mail_bytes = FN_SMTP_MAX_MAIL_BYTES,
                                       .max_line_bytes = FN_SMTP_MAX_LINE_BYTES,
                                       .max_rcpt = FN_SMTP_MAX_RCPT};
    if (!s->lim.max_line_bytes)
        s->lim.max_line_bytes = 1;
    s->mode = MODE_CMD;
    s->transfer = "DATA";
    count(&c_sessions, 1);
    return s;
}

void fn_smtp_session_destroy(fn_smtp_session **sp)
{
    fn_smtp_session *s = *sp;
    if (!s)
        return;
    if (!s->finished)
        transfer_abandon(s);
    transaction_reset(s);
    free(s->mail_from);
    free(s->rcpt);
    free(s->msg);
    free(s->hold);
    free(s->line);
    free(s);
    *sp = NULL;
}

int fn_smtp_feed(fn_smtp_session *s, int dir, const uint8_t *data, size_t len,
                 fn_smtp_mail_cb cb, void *arg)
{
    if (dir != FN_SMTP_C2S && dir != FN_SMTP_S2C)
        return -1;
    emit e = {.cb = cb, .arg = arg};
    if (s->finished || !len)
        return 0;
    if (dir == FN_SMTP_C2S)
        client_feed(s, data, len, &e);
    else
        server_feed(s, data, len, &e);
    return e.count;
}

int fn_smtp_finish(fn_smtp_session *s, fn_smtp_mail_cb cb, void *arg)
{
    emit e = {.cb = cb, .arg = arg};
    if (s->finished)
        return 0;
    if ((s->mode == MODE_DATA_WAIT || s->mode == MODE_TLS_WAIT) && s->hold_len)
        wait_assume(s, &e);
    transfer_abandon(s);
    s->finished = true;
    return e.count;
}

bool fn_smtp_tls(const fn_smtp_session *s)
{
    return s->mode == MODE_TLS;
}
