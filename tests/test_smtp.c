/*
 * test_smtp.c -- SMTP mail assembly.
 *
 *   test_smtp session    functions/smtp.h: sessions fed whole, byte by
 *                        byte and split at every point give the same
 *                        mails; several mails, RSET, pipelining, BDAT,
 *                        dot-unstuffing, STARTTLS, AUTH, refused DATA,
 *                        one-sided captures, the caps (200 MiB through a
 *                        1 MiB cap in bounded memory), random input.
 *   test_smtp functions  f_processSMTPSegment, f_mailSummary, f_mailRaw,
 *                        f_match on a mail and f_matchText, called as the
 *                        evaluator calls them (state per connection,
 *                        prepared patterns), and the smtp.* settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "analog/functions.h"
#include "analog/settings.h"
#include "functions/smtp.h"

#include "tests/check.h"
#include "tests/fn_call.h"

/* ---- collecting the mails a session completes ---- */

#define MAX_MAILS 16

typedef struct got_mail {
    char *from;
    char *rcpt; /* the addresses joined by ',' */
    uint8_t *raw;
    size_t raw_len;
    uint64_t size;
    unsigned index;
    char transfer[8];
    bool truncated;
} got_mail;

typedef struct collector {
    got_mail mail[MAX_MAILS];
    size_t n;
} collector;

/** Session callback: copies the mail into the collector. */
static void collect(const fn_smtp_mail *m, void *arg)
{
    collector *c = arg;
    CHECK(c->n < MAX_MAILS, "too many mails for the test");
    got_mail *g = &c->mail[c->n++];
    g->from = strdup(m->mail_from);
    size_t len = 1;
    for (size_t i = 0; i < m->rcpt_count; i++)
        len += strlen(m->rcpt[i]) + 1;
    g->rcpt = calloc(1, len);
    for (size_t i = 0; i < m->rcpt_count; i++) {
        strcat(g->rcpt, i ? "," : "");
        strcat(g->rcpt, m->rcpt[i]);
    }
    g->raw = malloc(m->raw_len + 1);
    memcpy(g->raw, m->raw, m->raw_len);
    g->raw[m->raw_len] = 0;
    g->raw_len = m->raw_len;
    g->size = m->size;
    g->index = m->index;
    snprintf(g->transfer, sizeof g->transfer, "%s", m->transfer);
    g->truncated = m->truncated;
}

/** Frees what collect copied. */
static void collector_free(collector *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->mail[i].from);
        free(c->mail[i].rcpt);
        free(c->mail[i].raw);
    }
    c->n = 0;
}

/** Checks mail i of c: sender, recipients (joined by ','), raw message
 *  and transfer mode. */
static void expect_mail(int line, const collector *c, size_t i, const char *from,
                        const char *rcpt, const char *raw, const char *transfer)
{
    const got_mail *g = i < c->n ? &c->mail[i] : NULL;
    if (!g || strcmp(g->from, from) || strcmp(g->rcpt, rcpt) || g->raw_len != strlen(raw) ||
        memcmp(g->raw, raw, g->raw_len) || strcmp(g->transfer, transfer) ||
        g->index != i + 1 || g->truncated || g->size != g->raw_len) {
        fprintf(stderr, "FAIL line %d: mail %zu of %zu", line, i + 1, c->n);
        if (g)
            fprintf(stderr, ": from <%s> rcpt <%s> %s #%u raw [%s]", g->from, g->rcpt,
                    g->transfer, g->index, (const char *)g->raw);
        fprintf(stderr, "\n  want from <%s> rcpt <%s> %s raw [%s]\n", from, rcpt, transfer, raw);
        exit(1);
    }
}

#define EXPECT_MAIL(c, i, from, rcpt, raw, transfer)                                            \
    expect_mail(__LINE__, (c), (i), (from), (rcpt), (raw), (transfer))

/* ---- transcripts ---- */

#define C FN_SMTP_C2S
#define S FN_SMTP_S2C

/** One burst of bytes in one direction. */
typedef struct step {
    int dir;
    const char *text;
} step;

#define STEPS(...)                                                                              \
    ((const step[]){__VA_ARGS__}), (sizeof((const step[]){__VA_ARGS__}) / sizeof(step))

/** Feeds steps to a new session (limits NULL: defaults) in pieces of
 *  chunk bytes (0: each step whole), then finishes it; mails go to c. */
static void run_steps(const step *steps, size_t nsteps, size_t chunk,
                      const fn_smtp_limits *limits, collector *c)
{
    fn_smtp_session *s = fn_smtp_session_new(limits);
    for (size_t i = 0; i < nsteps; i++) {
        const uint8_t *p = (const uint8_t *)steps[i].text;
        size_t n = strlen(steps[i].text);
        for (size_t off = 0; off < n;) {
            size_t k = chunk && n - off > chunk ? chunk : n - off;
            CHECK(fn_smtp_feed(s, steps[i].dir, p + off, k, collect, c) >= 0, "feed");
            off += k;
        }
    }
    fn_smtp_finish(s, collect, c);
    fn_smtp_session_destroy(&s);
    CHECK(s == NULL, "destroy nulls the pointer");
}

/** True when a and b hold the same mails. */
static bool same_mails(const collector *a, const collector *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const got_mail *x = &a->mail[i], *y = &b->mail[i];
        if (strcmp(x->from, y->from) || strcmp(x->rcpt, y->rcpt) || x->raw_len != y->raw_len ||
            memcmp(x->raw, y->raw, x->raw_len) || x->index != y->index || x->size != y->size ||
            strcmp(x->transfer, y->transfer) || x->truncated != y->truncated)
            return false;
    }
    return true;
}

/** Feeds steps whole, byte by byte, in 7-byte pieces, and with every
 *  step split in two at every point: all give the mails of the whole
 *  feed, which go to c. */
static void run_all_splits(const step *steps, size_t nsteps, collector *c)
{
    run_steps(steps, nsteps, 0, NULL, c);
    collector other = {0};
    for (size_t chunk = 1; chunk <= 7; chunk += 6) {
        run_steps(steps, nsteps, chunk, NULL, &other);
        CHECK(same_mails(c, &other), "pieces of any size give the same mails");
        collector_free(&other);
    }
    for (size_t i = 0; i < nsteps; i++) {
        size_t n = strlen(steps[i].text);
        for (size_t k = 1; k < n; k++) {
            step split[64];
            CHECK(nsteps + 1 <= 64, "transcript too long for the test");
            memcpy(split, steps, i * sizeof *steps);
            char *head = strndup(steps[i].text, k);
            split[i] = (step){steps[i].dir, head};
            split[i + 1] = (step){steps[i].dir, steps[i].text + k};
            memcpy(split + i + 2, steps + i + 1, (nsteps - i - 1) * sizeof *steps);
            run_steps(split, nsteps + 1, 0, NULL, &other);
            free(head);
            CHECK(same_mails(c, &other), "a split anywhere gives the same mails");
            collector_free(&other);
        }
    }
}

/* ---- sessions ---- */

/** A full session: greeting, multi-line EHLO reply, MAIL with
 *  parameters, two RCPT, DATA with dot-stuffed lines, QUIT. */
static void test_full_session(void)
{
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 mx.example.org ESMTP\r\n"},
        {C, "EHLO client.example.org\r\n"},
        {S, "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n"},
        {C, "MAIL FROM:<alice@example.org> SIZE=120 BODY=8BITMIME\r\n"},
        {S, "250 2.1.0 Ok\r\n"},
        {C, "RCPT TO:<bob@example.org>\r\n"},
        {S, "250 2.1.5 Ok\r\n"},
        {C, "rcpt to: <carol@example.org> NOTIFY=NEVER\r\n"},
        {S, "250 2.1.5 Ok\r\n"},
        {C, "DATA\r\n"},
        {S, "354 End data with <CR><LF>.<CR><LF>\r\n"},
        {C, "Subject: hi\r\n\r\n..leading dot\r\n...two dots\r\n.single\r\na.b\r\n"
            "last line\r\n.\r\n"},
        {S, "250 2.0.0 Ok: queued as 1234\r\n"},
        {C, "QUIT\r\n"},
        {S, "221 2.0.0 Bye\r\n"}), &c);
    CHECK(c.n == 1, "one mail");
    EXPECT_MAIL(&c, 0, "alice@example.org", "bob@example.org,carol@example.org",
                "Subject: hi\r\n\r\n.leading dot\r\n..two dots\r\nsingle\r\na.b\r\nlast line\r\n",
                "DATA");
    collector_free(&c);
}

/** Three mails in one session, each with its own envelope; an empty
 *  message; bare LF line ends throughout. */
static void test_several_mails(void)
{
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 hi\n"}, {C, "HELO x\n"}, {S, "250 ok\n"},
        {C, "MAIL FROM:<a@x>\n"}, {S, "250 ok\n"}, {C, "RCPT TO:<b@x>\n"}, {S, "250 ok\n"},
        {C, "DATA\n"}, {S, "354 go\n"}, {C, "one\n.\n"}, {S, "250 ok\n"},
        {C, "MAIL FROM:<>\n"}, {S, "250 ok\n"}, {C, "RCPT TO:<c@x>\n"}, {S, "250 ok\n"},
        {C, "DATA\n"}, {S, "354 go\n"}, {C, ".\n"}, {S, "250 ok\n"},
        {C, "MAIL FROM:d@x\n"}, {S, "250 ok\n"}, {C, "RCPT TO:e@x\n"}, {S, "250 ok\n"},
        {C, "DATA\n"}, {S, "354 go\n"}, {C, "three\r\n.\r\n"}, {S, "250 ok\n"},
        {C, "QUIT\n"}), &c);
    CHECK(c.n == 3, "three mails");
    EXPECT_MAIL(&c, 0, "a@x", "b@x", "one\n", "DATA");
    EXPECT_MAIL(&c, 1, "", "c@x", "", "DATA");
    EXPECT_MAIL(&c, 2, "d@x", "e@x", "three\r\n", "DATA");
    collector_free(&c);
}

/** RSET drops the envelope being built; NOOP, VRFY, HELP and unknown
 *  commands change nothing. */
static void test_rset(void)
{
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 hi\r\n"}, {C, "EHLO x\r\n"}, {S, "250 ok\r\n"},
        {C, "MAIL FROM:<dropped@x>\r\n"}, {S, "250 ok\r\n"},
        {C, "RCPT TO:<dropped@y>\r\n"}, {S, "250 ok\r\n"},
        {C, "RSET\r\n"}, {S, "250 ok\r\n"},
        {C, "NOOP\r\n"}, {S, "250 ok\r\n"}, {C, "VRFY root\r\n"}, {S, "252 maybe\r\n"},
        {C, "HELP\r\n"}, {S, "214 see RFC 5321\r\n"}, {C, "XYZZY plugh\r\n"}, {S, "500 what\r\n"},
        {C, "MAIL FROM:<kept@x>\r\n"}, {S, "250 ok\r\n"},
        {C, "RCPT TO:<kept@y>\r\n"}, {S, "250 ok\r\n"},
        {C, "DATA\r\n"}, {S, "354 go\r\n"}, {C, "body\r\n.\r\n"}, {S, "250 ok\r\n"}), &c);
    EXPECT_MAIL(&c, 0, "kept@x", "kept@y", "body\r\n", "DATA");
    CHECK(c.n == 1, "one mail");
    fn_smtp_stats_get(&after);
    CHECK(after.rsets > before.rsets, "RSET is counted");
    collector_free(&c);
    /* without a new MAIL FROM after RSET, content makes no mail */
    fn_smtp_stats_get(&before);
    run_steps(STEPS({C, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nRSET\r\nDATA\r\nx\r\n.\r\n"}), 0,
              NULL, &c);
    fn_smtp_stats_get(&after);
    CHECK(c.n == 0 && after.no_envelope == before.no_envelope + 1, "RSET dropped the envelope");
}

/** PIPELINING: the client sends its commands before any reply; the
 *  server answers them together (one RCPT refused). The mail keeps the
 *  client's recipients. */
static void test_pipelining(void)
{
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 hi\r\n"}, {C, "EHLO x\r\n"}, {S, "250-hi\r\n250 PIPELINING\r\n"},
        {C, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<nobody@x>\r\nDATA\r\n"},
        {S, "250 ok\r\n250 ok\r\n550 no such user\r\n354 go\r\n"},
        {C, "piped\r\n.\r\nQUIT\r\n"}, {S, "250 ok\r\n221 bye\r\n"}), &c);
    CHECK(c.n == 1, "one mail");
    EXPECT_MAIL(&c, 0, "a@x", "b@x,nobody@x", "piped\r\n", "DATA");
    collector_free(&c);
}

/** CHUNKING: BDAT chunks are raw octets (no dot-stuffing, no end
 *  line); two complete mails and the commands between them arrive in
 *  one burst. */
static void test_bdat(void)
{
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 hi\r\n"}, {C, "EHLO x\r\n"}, {S, "250-hi\r\n250-CHUNKING\r\n250 PIPELINING\r\n"},
        {C, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nBDAT 9\r\n..dots\r\n."
            "BDAT 11 LAST\r\n\r\nDATA\r\n.\r\n"
            "MAIL FROM:<c@x>\r\nRCPT TO:<d@x>\r\nbdat 3 last\r\nabcBDAT 0 LAST\r\nQUIT\r\n"},
        {S, "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n"}),
        &c);
    CHECK(c.n == 2, "two BDAT mails; BDAT 0 LAST without MAIL FROM makes none");
    EXPECT_MAIL(&c, 0, "a@x", "b@x", "..dots\r\n.\r\nDATA\r\n.\r\n", "BDAT");
    EXPECT_MAIL(&c, 1, "c@x", "d@x", "abc", "BDAT");
    collector_free(&c);
    /* BDAT 0 LAST after chunks ends the mail; a malformed BDAT is a bad line */
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    run_steps(STEPS({C, "MAIL FROM:<a@x>\r\nBDAT 2\r\nhiBDAT x\r\nBDAT 0 LAST\r\n"}), 0, NULL,
              &c);
    fn_smtp_stats_get(&after);
    EXPECT_MAIL(&c, 0, "a@x", "", "hi", "BDAT");
    CHECK(after.bad_lines == before.bad_lines + 1, "BDAT without a size is a bad line");
    collector_free(&c);
}

/** The end-of-data line split in every way (run_all_splits) and data
 *  lines that only look like it. */
static void test_terminator(void)
{
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 hi\r\n"}, {C, "MAIL FROM:<a@x>\r\n"}, {S, "250 ok\r\n"},
        {C, "RCPT TO:<b@x>\r\n"}, {S, "250 ok\r\n"}, {C, "DATA\r\n"}, {S, "354 go\r\n"},
        {C, "x.\r\n. \r\n.\rz\r\n..\r\n\r\n.\r"}, {C, "\n"}, {S, "250 ok\r\n"}), &c);
    CHECK(c.n == 1, "one mail");
    EXPECT_MAIL(&c, 0, "a@x", "b@x", "x.\r\n \r\n\rz\r\n.\r\n\r\n", "DATA");
    collector_free(&c);
}

/** STARTTLS: after the server's 220 nothing more is inspected (the
 *  bytes that follow, even if they look like SMTP, are counted); a
 *  refused STARTTLS goes on in clear. */
static void test_starttls(void)
{
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 hi\r\n"}, {C, "EHLO x\r\n"}, {S, "250-hi\r\n250 STARTTLS\r\n"},
        {C, "STARTTLS\r\n"}, {S, "220 2.0.0 Ready to start TLS\r\n"},
        {C, "\x16\x03\x01 MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
        {S, "354 go\r\n"}, {C, "hidden\r\n.\r\n"}), &c);
    CHECK(c.n == 0, "nothing after STARTTLS is inspected");
    fn_smtp_stats_get(&after);
    CHECK(after.starttls > before.starttls, "STARTTLS is counted");
    CHECK(after.tls_bytes > before.tls_bytes, "the bytes after it are counted");

    fn_smtp_session *s = fn_smtp_session_new(NULL);
    const char *refused[] = {"220 hi\r\n", "STARTTLS\r\n", "454 TLS not available\r\n",
                             "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n", "354 go\r\n",
                             "clear\r\n.\r\n"};
    for (int i = 0; i < 6; i++)
        fn_smtp_feed(s, i % 2 ? C : S, (const uint8_t *)refused[i], strlen(refused[i]),
                     collect, &c);
    CHECK(!fn_smtp_tls(s), "a refused STARTTLS leaves the session in clear");
    fn_smtp_session_destroy(&s);
    EXPECT_MAIL(&c, 0, "a@x", "b@x", "clear\r\n", "DATA");
    collector_free(&c);
}

/** AUTH exchanges are skipped, even lines that decode to commands;
 *  with an initial response, and when the server side is not seen. */
static void test_auth(void)
{
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 hi\r\n"}, {C, "EHLO x\r\n"}, {S, "250-hi\r\n250 AUTH LOGIN PLAIN\r\n"},
        {C, "AUTH LOGIN\r\n"}, {S, "334 VXNlcm5hbWU6\r\n"},
        {C, "DATA\r\n"}, {S, "334 UGFzc3dvcmQ6\r\n"}, /* a user named DATA */
        {C, "cGFzcw==\r\n"}, {S, "235 2.7.0 Authentication successful\r\n"},
        {C, "AUTH PLAIN AGEAYg==\r\n"}, {S, "503 already authenticated\r\n"},
        {C, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
        {S, "250 ok\r\n250 ok\r\n354 go\r\n"}, {C, "after auth\r\n.\r\n"}), &c);
    CHECK(c.n == 1, "one mail");
    EXPECT_MAIL(&c, 0, "a@x", "b@x", "after auth\r\n", "DATA");
    fn_smtp_stats_get(&after);
    CHECK(after.bad_lines == before.bad_lines, "AUTH lines are not read as commands");
    collector_free(&c);
    run_steps(STEPS({C, "AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nMAIL FROM:<a@x>\r\n"
                        "RCPT TO:<b@x>\r\nDATA\r\none-sided\r\n.\r\n"}), 0, NULL, &c);
    EXPECT_MAIL(&c, 0, "a@x", "b@x", "one-sided\r\n", "DATA");
    collector_free(&c);
}

/** DATA refused (554): what the client sends next is commands, not
 *  content; content sent before the 354 waits for it. */
static void test_data_refused(void)
{
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    collector c = {0};
    run_all_splits(STEPS(
        {S, "220 hi\r\n"}, {C, "MAIL FROM:<a@x>\r\nRCPT TO:<gone@x>\r\nDATA\r\n"},
        {S, "250 ok\r\n550 unknown user\r\n554 no valid recipients\r\n"},
        {C, "RSET\r\nMAIL FROM:<a2@x>\r\nRCPT TO:<b2@x>\r\nDATA\r\n"},
        {C, "early\r\n"}, /* a client that does not wait for the 354 */
        {S, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"}, {C, "content\r\n.\r\nQUIT\r\n"}), &c);
    fn_smtp_stats_get(&after);
    CHECK(c.n == 1, "only the accepted DATA makes a mail");
    EXPECT_MAIL(&c, 0, "a2@x", "b2@x", "early\r\ncontent\r\n", "DATA");
    CHECK(after.data_rejected > before.data_rejected, "the refusal is counted");
    collector_free(&c);
}

/** Only the client side seen (one-sided capture): content is assumed
 *  after DATA. And a server that never answers DATA: content assumed
 *  once the hold overflows. */
static void test_one_sided(void)
{
    collector c = {0};
    run_all_splits(STEPS({C, "EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
                         {C, "Subject: one-sided\r\n\r\nhi\r\n.\r\nQUIT\r\n"}), &c);
    EXPECT_MAIL(&c, 0, "a@x", "b@x", "Subject: one-sided\r\n\r\nhi\r\n", "DATA");
    collector_free(&c);

    size_t n = 3 * FN_SMTP_HOLD_BYTES;
    char *big = malloc(n + 8);
    memset(big, 'y', n);
    memcpy(big + n - 2, "\r\n.\r\n", 6);
    run_steps(STEPS({S, "220 hi\r\n"}, {C, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
                    {C, big}), 1000, NULL, &c);
    CHECK(c.n == 1 && c.mail[0].raw_len == n, "unanswered DATA: content assumed");
    collector_free(&c);
    free(big);
}

/** Resident memory peak of the process, in KiB. */
static long peak_kib(void)
{
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0, "getrusage");
    return ru.ru_maxrss;
}

/** 200 MiB of DATA through a 1 MiB cap: the mail keeps 1 MiB, says it
 *  is truncated and how big it was; the rest is counted, and memory
 *  stays bounded. Also the line and recipient caps. */
static void test_caps(void)
{
    fn_smtp_limits lim = {.max_mail_bytes = 1u << 20, .max_line_bytes = 512, .max_rcpt = 2};
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    long peak0 = peak_kib();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fn_smtp_session *s = fn_smtp_session_new(&lim);
    collector c = {0};
    const char *head = "220 hi\r\n";
    fn_smtp_feed(s, S, (const uint8_t *)head, strlen(head), collect, &c);
    char cmd[2048];
    memset(cmd, 'L', sizeof cmd);
    fn_smtp_feed(s, C, (const uint8_t *)cmd, sizeof cmd, collect, &c); /* over 512 */
    head = "\r\nMAIL FROM:<a@x>\r\nRCPT TO:<1@x>\r\nRCPT TO:<2@x>\r\nRCPT TO:<3@x>\r\nDATA\r\n";
    fn_smtp_feed(s, C, (const uint8_t *)head, strlen(head), collect, &c);
    head = "250 a\r\n250 b\r\n250 c\r\n250 d\r\n354 go\r\n";
    fn_smtp_feed(s, S, (const uint8_t *)head, strlen(head), collect, &c);
    enum { CHUNK = 64 * 1024, LINE = 1024 };
    uint8_t *chunk = malloc(CHUNK);
    for (size_t i = 0; i < CHUNK; i++)
        chunk[i] = i % LINE == LINE - 2 ? '\r' : i % LINE == LINE - 1 ? '\n' : 'm';
    uint64_t total = 200ull << 20;
    for (uint64_t sent = 0; sent < total; sent += CHUNK)
        fn_smtp_feed(s, C, chunk, CHUNK, collect, &c);
    fn_smtp_feed(s, C, (const uint8_t *)".\r\n", 3, collect, &c);
    fn_smtp_session_destroy(&s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fn_smtp_stats_get(&after);
    long grown = peak_kib() - peak0;
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("200 MiB of DATA through a 1 MiB cap: %.3f s, peak memory grew %ld KiB\n", secs, grown);
    CHECK(c.n == 1, "the mail completes");
    got_mail *g = &c.mail[0];
    CHECK(g->truncated && g->size == total && g->raw_len == lim.max_mail_bytes,
          "truncated at the cap, with its full size");
    CHECK(memcmp(g->raw, chunk, CHUNK) == 0 &&
              memcmp(g->raw + g->raw_len - CHUNK, chunk, CHUNK) == 0,
          "the kept part is the message's start");
    CHECK(strcmp(g->rcpt, "1@x,2@x") == 0, "recipients beyond max_rcpt are dropped");
    CHECK(after.bytes_discarded - before.bytes_discarded == total - lim.max_mail_bytes,
          "the bytes beyond the cap are counted");
    CHECK(after.truncated == before.truncated + 1, "the truncated mail is counted");
    CHECK(after.rcpt_dropped == before.rcpt_dropped + 1, "the dropped recipient is counted");
    CHECK(after.bad_lines == before.bad_lines + 1, "the over-long line is counted");
    CHECK(grown < 64 * 1024, "memory stays bounded");
    free(chunk);
    collector_free(&c);
}

/** A session ending in the middle of a mail: no mail, counted; a
 *  destroyed, unfinished session too; later feeds are ignored. */
static void test_incomplete(void)
{
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    collector c = {0};
    run_steps(STEPS({S, "220 hi\r\n"}, {C, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
                    {S, "354 go\r\n"}, {C, "cut short\r\n"}), 0, NULL, &c);
    fn_smtp_session *s = fn_smtp_session_new(NULL);
    const char *bdat = "MAIL FROM:<a@x>\r\nBDAT 10\r\nabc";
    fn_smtp_feed(s, C, (const uint8_t *)bdat, strlen(bdat), collect, &c);
    fn_smtp_session_destroy(&s);
    fn_smtp_stats_get(&after);
    CHECK(c.n == 0, "no mail from a session that ends mid-mail");
    CHECK(after.incomplete == before.incomplete + 2, "incomplete mails are counted");

    s = fn_smtp_session_new(NULL);
    CHECK(fn_smtp_feed(s, 7, (const uint8_t *)"x", 1, collect, &c) == -1, "a bad direction");
    fn_smtp_finish(s, collect, &c);
    const char *late = "MAIL FROM:<a@x>\r\nBDAT 1 LAST\r\nx";
    CHECK(fn_smtp_feed(s, C, (const uint8_t *)late, strlen(late), collect, &c) == 0,
          "feeds after finish are ignored");
    fn_smtp_session_destroy(&s);
    CHECK(c.n == 0, "nothing after finish");
}

/** Random bytes and random corruptions of a session, in random pieces
 *  and directions: nothing crashes or reads out of bounds (sanitizer
 *  builds), every mail stays within the caps. */
static void test_random(void)
{
    static const char base[] =
        "EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nhi\r\n..x\r\n.\r\n"
        "BDAT 3 LAST\r\nabcAUTH LOGIN\r\nx\r\nSTARTTLS\r\nRSET\r\n";
    static const char replies[] = "220 a\r\n250-b\r\n250 c\r\n354 d\r\n334 e\r\n554 f\r\n";
    fn_smtp_limits lim = {.max_mail_bytes = 100, .max_line_bytes = 40, .max_rcpt = 3};
    uint64_t x = 2463534242ull;
    uint8_t buf[sizeof base];
    collector c = {0};
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, base, sizeof base - 1);
        for (int k = 0; k < round % 6; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % (sizeof base - 1)] = (uint8_t)(x >> 24);
        }
        fn_smtp_session *s = fn_smtp_session_new(&lim);
        for (size_t off = 0; off < sizeof base - 1;) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t k = 1 + x % 17;
            k = k > sizeof base - 1 - off ? sizeof base - 1 - off : k;
            fn_smtp_feed(s, C, buf + off, k, collect, &c);
            off += k;
            size_t r = (x >> 20) % (sizeof replies - 1), rn = (x >> 30) % 9;
            rn = rn > sizeof replies - 1 - r ? sizeof replies - 1 - r : rn;
            fn_smtp_feed(s, S, (const uint8_t *)replies + r, rn, collect, &c);
            for (size_t i = 0; i < c.n; i++)
                CHECK(c.mail[i].raw_len <= lim.max_mail_bytes, "within the mail cap");
            collector_free(&c);
        }
        fn_smtp_finish(s, collect, &c);
        fn_smtp_session_destroy(&s);
        collector_free(&c);
    }
}

/* ---- the ANALOG functions ---- */

/** A TCP_MESSAGE as f_processTCP makes it. */
static sx_value tcp_msg(const char *dir, const char *data, const char *event)
{
    static const uint8_t client[4] = {10, 0, 0, 1}, server[4] = {10, 0, 0, 2};
    sx_value r = sx_value_record(7);
    sx_value_list_set(&r, 0, "dir", sx_value_cstr(dir));
    sx_value_list_set(&r, 1, "data", sx_value_bytes(data, strlen(data)));
    sx_value_list_set(&r, 2, "event", sx_value_cstr(event));
    sx_value_list_set(&r, 3, "client", sx_value_ip4(client));
    sx_value_list_set(&r, 4, "cport", sx_value_int(40000));
    sx_value_list_set(&r, 5, "server", sx_value_ip4(server));
    sx_value_list_set(&r, 6, "sport", sx_value_int(25));
    return r;
}

/** Feeds one TCP_MESSAGE (consumed) to f_processSMTPSegment with state
 *  st; returns its result (the caller releases it). */
static sx_value segment(void *st, sx_value msg)
{
    char err[256];
    sx_value args[2] = {msg, sx_value_int(77)}, r;
    int rc = fn_call("f_processSMTPSegment", args, 2, 0, st, &r, err, sizeof err);
    CHECK(rc == 0, err);
    sx_value_release(&args[0]);
    return r;
}

/** True when v is the string s. */
static bool is_str(const sx_value *v, const char *s)
{
    return v->kind == SX_STR && v->u.blob->len == strlen(s) &&
           memcmp(v->u.blob->data, s, strlen(s)) == 0;
}

/** The field named name of record r (which must have it). */
static const sx_value *field(const sx_value *r, const char *name)
{
    CHECK(r->kind == SX_RECORD, "a record");
    for (uint32_t i = 0; i < r->u.list->n; i++)
        if (r->u.list->names[i] && strcmp((const char *)r->u.list->names[i]->data, name) == 0)
            return &r->u.list->items[i];
    fprintf(stderr, "FAIL: no field %s\n", name);
    exit(1);
}

/** Checks that record r's field names are exactly names, in order. */
static void expect_fields(int line, const sx_value *r, const char *const *names)
{
    size_t n = 0;
    while (names[n])
        n++;
    CHECK(r->kind == SX_RECORD, "a record");
    bool ok = r->u.list->n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = r->u.list->names[i] && strcmp((const char *)r->u.list->names[i]->data, names[i]) == 0;
    if (!ok) {
        fprintf(stderr, "FAIL line %d: record fields differ: ", line);
        sx_value_print(stderr, r);
        fputc('\n', stderr);
        exit(1);
    }
}

static const char *const mail_fields[] = {
    "mail_from", "rcpt_to", "from", "to", "subject", "message_id", "size", "index",
    "transfer", "truncated", "raw", "text", NULL};

/* A mail whose "hello" is only in a base64 part and whose subject is an
 * RFC 2047 word. */
static const char mime_mail[] =
    "From: =?utf-8?Q?Al=C3=AFce?= <alice@example.org>\r\n"
    "To: bob@example.org\r\n"
    "Subject: =?utf-8?B?R3JlZXRpbmdz?=\r\n"
    "Message-ID: <m1@example.org>\r\n"
    "Content-Type: multipart/mixed; boundary=zz\r\n"
    "\r\n"
    "--zz\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGVsbG8gd29ybGQ=\r\n" /* hello world */
    "--zz--\r\n";

/** A whole connection through f_processSMTPSegment: one mail record
 *  with every field; f_mailSummary, f_mailRaw, f_match on the record
 *  (decoded text, not raw), f_matchText. */
static void test_process_segment(void)
{
    const analog_fn_def *def = analog_fn_lookup("f_processSMTPSegment");
    CHECK(def && (def->flags & ANALOG_FN_STATEFUL) && def->state_new && def->state_free &&
              def->idle_timeout_ns == 600LL * 1000000000LL, "f_processSMTPSegment is stateful");
    void *st = def->state_new();
    char data[1024];
    snprintf(data, sizeof data, "%s.\r\n", mime_mail);
    const step script[] = {
        {S, "220 hi\r\n"}, {C, "EHLO x\r\n"}, {S, "250 hi\r\n"},
        {C, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
            "RCPT TO:<carol@example.org>\r\nDATA\r\n"},
        {S, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"}, {C, data}};
    sx_value r = segment(st, tcp_msg("", "", "open"));
    CHECK(is_str(&r, ""), "open: no mail");
    for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
        sx_value_release(&r);
        r = segment(st, tcp_msg(script[i].dir == C ? "c2s" : "s2c", script[i].text, "data"));
        CHECK(i + 1 == sizeof script / sizeof script[0] || is_str(&r, ""), "no mail yet");
    }
    expect_fields(__LINE__, &r, mail_fields);
    CHECK(is_str(field(&r, "mail_from"), "alice@example.org"), "mail_from");
    const sx_value *rcpt = field(&r, "rcpt_to");
    CHECK(rcpt->kind == SX_LIST && rcpt->u.list->n == 2 &&
          is_str(&rcpt->u.list->items[1], "carol@example.org"), "rcpt_to");
    CHECK(is_str(field(&r, "from"), "Al\xc3\xaf" "ce <alice@example.org>"), "from decoded");
    CHECK(is_str(field(&r, "to"), "bob@example.org"), "to");
    CHECK(is_str(field(&r, "subject"), "Greetings"), "subject decoded");
    CHECK(is_str(field(&r, "message_id"), "<m1@example.org>"), "message_id");
    CHECK(field(&r, "size")->u.i == (int64_t)strlen(mime_mail), "size");
    CHECK(field(&r, "index")->u.i == 1, "index");
    CHECK(is_str(field(&r, "transfer"), "DATA"), "transfer");
    CHECK(field(&r, "truncated")->kind == SX_BOOL && !field(&r, "truncated")->u.b, "truncated");
    const sx_value *raw = field(&r, "raw");
    CHECK(raw->kind == SX_BYTES && raw->u.blob->len == strlen(mime_mail) &&
          memcmp(raw->u.blob->data, mime_mail, strlen(mime_mail)) == 0, "raw");
    const sx_value *text = field(&r, "text");
    CHECK(text->kind == SX_STR && strstr((const char *)text->u.blob->data, "hello world") &&
          strstr((const char *)text->u.blob->data, "Subject: Greetings\n"), "text decoded");

    char err[256];
    sx_value out, args[2];
    CHECK(fn_call("f_mailSummary", &r, 1, 0, NULL, &out, err, sizeof err) == 0, err);
    static const char *const summary_fields[] = {"mail_from", "rcpt_to", "from", "to",
        "subject", "message_id", "size", "index", "transfer", "truncated", NULL};
    expect_fields(__LINE__, &out, summary_fields);
    CHECK(is_str(field(&out, "subject"), "Greetings"), "the summary keeps the rest");
    sx_value_release(&out);
    CHECK(fn_call("f_mailRaw", &r, 1, 0, NULL, &out, err, sizeof err) == 0, err);
    CHECK(sx_value_equal(&out, raw), "f_mailRaw is the raw field");
    sx_value_release(&out);

    for (unsigned mask = 0; mask <= 2; mask += 2) { /* per call, then prepared */
        args[0] = r;
        args[1] = sx_value_cstr("hello");
        CHECK(fn_call("f_match", args, 2, mask, NULL, &out, err, sizeof err) == 0, err);
        CHECK(is_str(&out, "true"), "f_match matches the decoded text of a mail");
        sx_value_release(&out);
        sx_value_release(&args[1]);
        args[1] = sx_value_cstr("aGVsbG8");
        CHECK(fn_call("f_match", args, 2, mask, NULL, &out, err, sizeof err) == 0, err);
        CHECK(is_str(&out, "false"), "not the raw base64");
        sx_value_release(&out);
        sx_value_release(&args[1]);
        args[1] = sx_value_cstr("h.llo \\w+");
        CHECK(fn_call("f_matchText", args, 2, mask, NULL, &out, err, sizeof err) == 0, err);
        CHECK(is_str(&out, "hello world"), "f_matchText gives the matched text");
        sx_value_release(&out);
        sx_value_release(&args[1]);
        args[1] = sx_value_cstr("absent");
        CHECK(fn_call("f_matchText", args, 2, mask, NULL, &out, err, sizeof err) == 0, err);
        CHECK(is_str(&out, ""), "f_matchText without a match");
        sx_value_release(&out);
        sx_value_release(&args[1]);
    }
    args[0] = sx_value_cstr("key=value;");
    args[1] = sx_value_cstr("(?<==)\\w+");
    CHECK(fn_call("f_matchText", args, 2, 2, NULL, &out, err, sizeof err) == 0, err);
    CHECK(is_str(&out, "value"), "f_matchText on a string");
    sx_value_release(&out);
    sx_value_release(&args[0]);
    args[0] = sx_value_record(0);
    CHECK(fn_call("f_match", args, 2, 0, NULL, &out, err, sizeof err) == -1 &&
          strstr(err, "f_match: argument 1 must be a string or bytes (or a record with a text"),
          "a record without text is refused");
    CHECK(fn_call("f_matchText", args, 2, 0, NULL, &out, err, sizeof err) == -1 &&
          strstr(err, "f_matchText: argument 1"), "by f_matchText too");
    CHECK(fn_call("f_mailRaw", args, 1, 0, NULL, &out, err, sizeof err) == -1 &&
          strstr(err, "f_mailRaw: argument 1"), "f_mailRaw wants a mail");
    sx_value_release(&args[0]);
    sx_value_release(&args[1]);
    args[0] = sx_value_int(3);
    CHECK(fn_call("f_mailSummary", args, 1, 0, NULL, &out, err, sizeof err) == -1 &&
          strstr(err, "f_mailSummary: argument 1 must be a mail record, not int"), "summary");
    sx_value_release(&r);
    def->state_free(st);
}

/** Two BDAT mails completed by one segment: the first is returned at
 *  once, the second by the next call (even one with ""), oldest first;
 *  queued mails left when the state is freed are counted lost. */
static void test_queue(void)
{
    const analog_fn_def *def = analog_fn_lookup("f_processSMTPSegment");
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    void *st = def->state_new();
    const char *two = "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nBDAT 5 LAST\r\nfirst"
                      "MAIL FROM:<c@x>\r\nRCPT TO:<d@x>\r\nBDAT 6 LAST\r\nsecond"
                      "MAIL FROM:<e@x>\r\nBDAT 5 LAST\r\nthird";
    sx_value r = segment(st, tcp_msg("c2s", two, "data"));
    CHECK(field(&r, "index")->u.i == 1 && is_str(field(&r, "transfer"), "BDAT"), "first");
    sx_value_release(&r);
    r = segment(st, sx_value_cstr(""));
    CHECK(field(&r, "index")->u.i == 2 && is_str(field(&r, "mail_from"), "c@x"), "second");
    sx_value_release(&r);
    r = segment(st, tcp_msg("s2c", "250 ok\r\n", "data"));
    CHECK(field(&r, "index")->u.i == 3, "third, by a segment completing nothing");
    sx_value_release(&r);
    r = segment(st, sx_value_cstr(""));
    CHECK(is_str(&r, ""), "then nothing");
    sx_value_release(&r);
    r = segment(st, tcp_msg("c2s", two, "close"));
    CHECK(field(&r, "index")->u.i == 4, "a close segment's data is processed first");
    sx_value_release(&r);
    def->state_free(st);
    fn_smtp_stats_get(&after);
    CHECK(after.deferred - before.deferred == 4, "deferred mails are counted");
    CHECK(after.lost - before.lost == 2, "mails still queued at the end are counted lost");
}

/** Connection ends: close mid-mail counts an incomplete mail, a new
 *  connection in the same state starts over (index 1); bad input is an
 *  error, not a crash. */
static void test_connection_events(void)
{
    const analog_fn_def *def = analog_fn_lookup("f_processSMTPSegment");
    fn_smtp_stats before, after;
    fn_smtp_stats_get(&before);
    void *st = def->state_new();
    sx_value r = segment(st, tcp_msg("c2s", "MAIL FROM:<a@x>\r\nDATA\r\npartial\r\n", "data"));
    sx_value_release(&r);
    r = segment(st, tcp_msg("", "", "reset"));
    CHECK(is_str(&r, ""), "no mail from a reset connection");
    sx_value_release(&r);
    r = segment(st, tcp_msg("", "", "open"));
    sx_value_release(&r);
    r = segment(st, tcp_msg("c2s", "MAIL FROM:<a@x>\r\nDATA\r\nwhole\r\n.\r\n", "data"));
    CHECK(field(&r, "index")->u.i == 1, "a new connection counts from 1");
    sx_value_release(&r);
    r = segment(st, tcp_msg("c2s", "MAIL FROM:<a@x>\r\nDATA\r\npartial", "timeout"));
    CHECK(is_str(&r, ""), "no mail from a timed-out connection");
    sx_value_release(&r);
    fn_smtp_stats_get(&after);
    CHECK(after.incomplete - before.incomplete == 2, "incomplete mails are counted");

    char err[256];
    sx_value args[2] = {sx_value_int(1), sx_value_int(2)};
    CHECK(fn_call("f_processSMTPSegment", args, 2, 0, st, &r, err, sizeof err) == -1 &&
          strstr(err, "f_processSMTPSegment: argument 1 must be a TCP message record"), err);
    args[0] = tcp_msg("sideways", "x", "data");
    CHECK(fn_call("f_processSMTPSegment", args, 2, 0, st, &r, err, sizeof err) == -1 &&
          strstr(err, "dir \"sideways\""), err);
    sx_value_release(&args[0]);
    args[0] = sx_value_record(1);
    sx_value_list_set(&args[0], 0, "data", sx_value_int(5));
    CHECK(fn_call("f_processSMTPSegment", args, 2, 0, st, &r, err, sizeof err) == -1 &&
          strstr(err, "field data must be a string or bytes, not int"), err);
    sx_value_release(&args[0]);
    def->state_free(st);
}

/** The smtp.* settings reach new connections: a 64 KiB mail cap and a
 *  1 KiB text cap. */
static void test_settings(void)
{
    char err[256];
    CHECK(analog_setting_set("smtp.max_mail_bytes", "65536", err, sizeof err) == 0, err);
    CHECK(analog_setting_set("smtp.max_text_bytes", "1024", err, sizeof err) == 0, err);
    CHECK(analog_setting_set("smtp.max_rcpt", "0", err, sizeof err) == -1, "min 1 recipient");
    const analog_fn_def *def = analog_fn_lookup("f_processSMTPSegment");
    void *st = def->state_new();
    size_t n = 1 << 20;
    char *data = malloc(n + 64);
    size_t len = (size_t)sprintf(data, "MAIL FROM:<a@x>\r\nBDAT %zu LAST\r\n", n);
    memset(data + len, 'q', n);
    data[len + n] = 0;
    sx_value r = segment(st, tcp_msg("c2s", data, "data"));
    CHECK(field(&r, "truncated")->u.b && field(&r, "size")->u.i == (int64_t)n &&
          field(&r, "raw")->u.blob->len == 65536, "smtp.max_mail_bytes applies");
    CHECK(field(&r, "text")->u.blob->len == 1024, "smtp.max_text_bytes applies");
    sx_value_release(&r);
    def->state_free(st);
    free(data);
    CHECK(analog_setting_set("smtp.max_mail_bytes", "67108864", err, sizeof err) == 0, err);
    CHECK(analog_setting_set("smtp.max_text_bytes", "8388608", err, sizeof err) == 0, err);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "session") == 0) {
        test_caps(); /* first, so the memory peak is this test's */
        test_full_session();
        test_several_mails();
        test_rset();
        test_pipelining();
        test_bdat();
        test_terminator();
        test_starttls();
        test_auth();
        test_data_refused();
        test_one_sided();
        test_incomplete();
        test_random();
    } else if (strcmp(what, "functions") == 0) {
        test_process_segment();
        test_queue();
        test_connection_events();
        test_settings();
    } else {
        fprintf(stderr, "usage: test_smtp session|functions\n");
        return 2;
    }
    printf("test_smtp %s: all checks passed\n", what);
    return 0;
}
