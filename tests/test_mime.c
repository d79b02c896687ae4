/*
 * test_mime.c -- functions/mime.h: a message turned into matchable
 * text. Headers unfolded and RFC 2047 decoded, base64 and
 * quoted-printable parts, nested multipart and message/rfc822, then
 * hostile input: missing and unterminated boundaries, truncated base64,
 * nesting far beyond the cap, the output cap, encoded-word openers that
 * never close (which must not cost quadratic time), random bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "functions/mime.h"

#include "tests/check.h"

/** The decoded text of the C string msg (cap bytes at most) as a
 *  NUL-terminated string the caller frees; *truncated tells whether the
 *  cap cut it. */
static char *text_of(const char *msg, size_t cap, bool *truncated)
{
    fn_mime_buf b;
    fn_mime_buf_init(&b, 0);
    CHECK(fn_mime_text((const uint8_t *)msg, strlen(msg), cap, &b) == 0, "fn_mime_text");
    CHECK(b.len <= cap, "the text stays within its cap");
    char *s = malloc(b.len + 1);
    if (b.len)
        memcpy(s, b.data, b.len);
    s[b.len] = 0;
    if (truncated)
        *truncated = b.truncated;
    fn_mime_buf_free(&b);
    return s;
}

/** Checks that the text of msg holds each of the NULL-terminated
 *  fragments and none of the forbidden ones. */
static void expect_text(int line, const char *msg, const char *const *want,
                        const char *const *forbid)
{
    char *t = text_of(msg, 1 << 20, NULL);
    for (size_t i = 0; want && want[i]; i++)
        if (!strstr(t, want[i])) {
            fprintf(stderr, "FAIL line %d: text lacks \"%s\":\n%s\n", line, want[i], t);
            exit(1);
        }
    for (size_t i = 0; forbid && forbid[i]; i++)
        if (strstr(t, forbid[i])) {
            fprintf(stderr, "FAIL line %d: text holds \"%s\":\n%s\n", line, forbid[i], t);
            exit(1);
        }
    free(t);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_TEXT(msg, want, forbid) expect_text(__LINE__, (msg), (want), (forbid))

/** Checks fn_mime_header(msg, name) against want (NULL: absent). */
static void expect_header(int line, const char *msg, const char *name, const char *want)
{
    fn_mime_buf b;
    fn_mime_buf_init(&b, 0);
    int found = fn_mime_header((const uint8_t *)msg, strlen(msg), name, 4096, &b);
    bool ok = want ? found == 1 && b.len == strlen(want) && (!b.len || !memcmp(b.data, want, b.len))
                   : found == 0 && b.len == 0;
    if (!ok) {
        fprintf(stderr, "FAIL line %d: header %s: want %s%s%s, got %d \"%.*s\"\n", line, name,
                want ? "\"" : "", want ? want : "absent", want ? "\"" : "", found, (int)b.len,
                b.data ? (const char *)b.data : "");
        exit(1);
    }
    fn_mime_buf_free(&b);
}

#define EXPECT_HEADER(msg, name, want) expect_header(__LINE__, (msg), (name), (want))

/* ---- headers ---- */

/** Headers: unfolding, RFC 2047 B and Q words, white space between
 *  adjacent words dropped (but kept next to plain text), malformed
 *  words kept as they are, any case of the name, the first of several. */
static void test_headers(void)
{
    const char *msg =
        "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <jm@example.org>\r\n"
        "To: a@example.org,\r\n"
        "\tb@example.org\r\n"
        "Subject: =?utf-8?B?SGVsbG8s?=\r\n"
        "   =?ISO-8859-1?q?_W=F6rld?= and more\r\n"
        "Message-ID: <1@x>\r\n"
        "X-Broken: =?utf-8?B?SGk?= =?bad =?x?Z?abc?= =?utf-8?Q?unterminated\r\n"
        "X-Dup: first\r\n"
        "x-dup: second\r\n"
        "\r\n"
        "Subject: not a header, the body\r\n";
    EXPECT_HEADER(msg, "From", "J\xc3\xbcrgen M\xc3\xbcller <jm@example.org>");
    EXPECT_HEADER(msg, "to", "a@example.org,\tb@example.org");
    EXPECT_HEADER(msg, "SUBJECT", "Hello, W\xf6rld and more");
    EXPECT_HEADER(msg, "Message-ID", "<1@x>");
    EXPECT_HEADER(msg, "X-Broken", "Hi =?bad =?x?Z?abc?= =?utf-8?Q?unterminated");
    EXPECT_HEADER(msg, "X-Dup", "first");
    EXPECT_HEADER(msg, "Cc", NULL);
    EXPECT_HEADER(msg, "Subject:", NULL);
    EXPECT_HEADER("Subject: =?utf-8?Q?a?= b =?utf-8?Q?c?=\r\n", "Subject", "a b c");
    EXPECT_HEADER("Subject: x\r\n", "Subject", "x"); /* no body at all */
    EXPECT_HEADER("Subject: x", "Subject", "x");     /* no line end either */
    EXPECT_HEADER("\r\nSubject: x\r\n", "Subject", NULL); /* only a body */
    EXPECT_HEADER("Subject:\n \n", "Subject", "");
    EXPECT_HEADER("Subject: bare\n LF\n\nbody\n", "Subject", "bare LF");
    EXPECT_TEXT(msg, WANT("From: J\xc3\xbcrgen", "Subject: Hello, W\xf6rld and more\n",
                          "To: a@example.org,\tb@example.org\n", "\n\nSubject: not a header"),
                WANT("=?utf-8?B?SGVsbG8s?="));
}

/* ---- bodies ---- */

/** Transfer encodings of single-part messages: base64 with line
 *  breaks and junk, quoted-printable with soft breaks and escapes,
 *  8bit as is. */
static void test_encodings(void)
{
    EXPECT_TEXT("Content-Transfer-Encoding: base64\r\n\r\n"
                "aGVsbG8g\r\nd29y*bGQh\r\n", /* "hello world!" with a stray '*' */
                WANT("\n\nhello world!"), WANT("aGVsbG8g"));
    EXPECT_TEXT("Content-Transfer-Encoding: BASE64\r\n\r\nYQ==YmM=\r\n", WANT("\n\nabc"), NULL);
    EXPECT_TEXT("Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                "caf=C3=A9 =3D soft=\r\nbreak, lower =c3=a9, stray = sign, end=\n",
                WANT("caf\xc3\xa9 = softbreak, lower \xc3\xa9, stray = sign, end"),
                WANT("=3D", "soft=\r\n"));
    EXPECT_TEXT("Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                "r\xc3\xa9sum\xc3\xa9 =3D as is\r\n",
                WANT("r\xc3\xa9sum\xc3\xa9 =3D as is"), NULL);
    EXPECT_TEXT("Subject: only headers\r\n", WANT("Subject: only headers\n"), NULL);
    EXPECT_TEXT("", NULL, NULL);
}

/** A multipart/mixed holding a multipart/alternative (QP text, base64
 *  HTML), a base64 attachment and an attached message/rfc822 whose own
 *  headers are decoded too; preamble and epilogue are left out. */
static void test_multipart(void)
{
    const char *msg =
        "Subject: =?utf-8?Q?nested?=\r\n"
        "Content-Type: multipart/mixed;\r\n boundary=\"outer; b\"\r\n"
        "\r\n"
        "preamble-text\r\n"
        "--outer; b\r\n"
        "Content-Type: multipart/alternative; boundary=inner\r\n"
        "\r\n"
        "--inner\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "plain caf=C3=A9\r\n"
        "--inner\r\n"
        "Content-Type: text/html\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "PGI+aHRtbCBwYXJ0PC9iPg==\r\n" /* <b>html part</b> */
        "--inner--\r\n"
        "--outer; b\r\n"
        "Content-Type: application/octet-stream; name=\"a.txt\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "YXR0YWNoZWQgZmlsZQ==\r\n" /* attached file */
        "--outer; b\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: =?utf-8?B?aW5uZXIgbWFpbA==?=\r\n" /* inner mail */
        "Content-Type: text/plain\r\n"
        "\r\n"
        "inner body\r\n"
        "--outer; b--\r\n"
        "epilogue-text\r\n";
    EXPECT_TEXT(msg, WANT("Subject: nested\n", "plain caf\xc3\xa9", "<b>html part</b>",
                          "attached file", "Subject: inner mail\n", "inner body"),
                WANT("preamble-text", "epilogue-text", "PGI+", "--inner", "=C3=A9"));
}

/* ---- hostile input ---- */

/** Boundaries missing or unterminated, truncated base64, a boundary
 *  that is only a prefix of a line: decoded as far as possible and
 *  counted, never read out of bounds (the sanitizer build checks). */
static void test_hostile_multipart(void)
{
    fn_mime_stats before, after;
    fn_mime_stats_get(&before);
    EXPECT_TEXT("Content-Type: multipart/mixed; boundary=nowhere\r\n\r\n"
                "--elsewhere\r\n\r\nbody kept as is\r\n",
                WANT("body kept as is", "--elsewhere"), NULL);
    EXPECT_TEXT("Content-Type: multipart/mixed\r\n\r\nno boundary parameter\r\n",
                WANT("no boundary parameter"), NULL);
    EXPECT_TEXT("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                "--b\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gV29y", /* cut */
                WANT("Hello Wor"), NULL);
    EXPECT_TEXT("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                "--b\r\n\r\nfirst\r\n--bx\r\n--b-x\r\nnot delimiters\r\n"
                "--b \r\n\r\nsecond\r\n--b--",
                WANT("first\r\n--bx\r\n--b-x\r\nnot delimiters", "second"), NULL);
    EXPECT_TEXT("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b", NULL, NULL);
    EXPECT_TEXT("Content-Type: multipart/mixed; boundary=\"\r\n\r\nx", WANT("x"), NULL);
    fn_mime_stats_get(&after);
    CHECK(after.bad_multipart >= before.bad_multipart + 3, "missing boundaries are counted");
    CHECK(after.unterminated >= before.unterminated + 2, "missing close delimiters are counted");
}

/** 200 nested multiparts: decoding stops at FN_MIME_DEPTH_MAX (bounded
 *  recursion), counted, and the deeper text is still there, undecoded. */
static void test_deep_nesting(void)
{
    enum { LEVELS = 200 };
    size_t cap = (size_t)LEVELS * 128 + 256, len = 0;
    char *msg = malloc(cap);
    for (int i = 0; i < LEVELS; i++)
        len += (size_t)snprintf(msg + len, cap - len,
                                "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n",
                                i, i);
    len += (size_t)snprintf(msg + len, cap - len, "\r\ndeep secret\r\n");
    fn_mime_stats before, after;
    fn_mime_stats_get(&before);
    EXPECT_TEXT(msg, WANT("deep secret"), NULL);
    fn_mime_stats_get(&after);
    CHECK(after.too_deep == before.too_deep + 1, "nesting beyond the cap is counted once");
    free(msg);
}

/** The output cap holds for a message far bigger than it, in the
 *  headers and in the body. */
static void test_output_cap(void)
{
    size_t n = 100000;
    char *msg = malloc(n + 64);
    int h = sprintf(msg, "Subject: big\r\n\r\n");
    memset(msg + h, 'x', n);
    msg[h + (int)n] = 0;
    bool truncated = false;
    char *t = text_of(msg, 1000, &truncated);
    CHECK(strlen(t) == 1000 && truncated, "the text is cut at its cap, and says so");
    free(t);
    t = text_of(msg, 5, &truncated);
    CHECK(strcmp(t, "Subje") == 0 && truncated, "a cap inside the headers");
    free(t);
    t = text_of("Subject: s\r\n\r\nbody", 1 << 20, &truncated);
    CHECK(strcmp(t, "Subject: s\n\nbody") == 0 && !truncated, "the exact form, not cut");
    free(t);
    free(msg);
}

/** A header of 4 MB of encoded-word openers that never close: each
 *  attempt stops at the next '?', so this takes linear time. */
static void test_unclosed_words(void)
{
    const char *unit = "=?c?b?X";
    size_t units = 4u << 20 >> 3, ulen = strlen(unit);
    char *msg = malloc(units * ulen + 32);
    size_t len = (size_t)sprintf(msg, "Subject: ");
    for (size_t i = 0; i < units; i++, len += ulen)
        memcpy(msg + len, unit, ulen);
    msg[len] = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fn_mime_buf b;
    fn_mime_buf_init(&b, 0);
    CHECK(fn_mime_header((const uint8_t *)msg, len, "subject", len, &b) == 1, "found");
    CHECK(b.len == len - strlen("Subject: "), "unclosed words are kept as they are");
    fn_mime_buf_free(&b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("4 MB of unclosed encoded-words: %.3f s\n", s);
    /* linear is milliseconds; a rescan per word would be ~10^12 steps,
     * hours: the bound is loose so a loaded machine or a sanitizer
     * build never trips it */
    CHECK(s < 60.0, "unclosed encoded-words take linear time");
    free(msg);
}

/** Random bytes, and random corruptions of a real multipart message:
 *  every call returns, within its cap (the sanitizers watch the reads). */
static void test_random(void)
{
    static const char base[] =
        "Subject: =?utf-8?B?aGk=?=\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
        "--q\r\nContent-Type: multipart/alternative; boundary=r\r\n\r\n--r\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n--r--\r\n"
        "--q\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--q--\r\n";
    static const char alphabet[] = "=?-\r\n:;\" bqBQ\t";
    uint64_t x = 88172645463325252ull;
    uint8_t buf[sizeof base + 64];
    fn_mime_buf out, hdr;
    fn_mime_buf_init(&out, 0);
    fn_mime_buf_init(&hdr, 0);
    for (int round = 0; round < 20000; round++) {
        size_t len = sizeof base - 1;
        memcpy(buf, base, len);
        for (int k = 0; k < 1 + round % 8; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % len] = round % 3 ? (uint8_t)alphabet[(x >> 32) % (sizeof alphabet - 1)]
                                     : (uint8_t)(x >> 40);
        }
        len = round % 5 ? len : (size_t)(x >> 20) % len; /* cut short at random */
        fn_mime_text(buf, len, 64 + (size_t)round % 512, &out);
        CHECK(out.len <= 64 + (size_t)round % 512, "within the cap");
        fn_mime_header(buf, len, "Subject", 32, &hdr);
        CHECK(hdr.len <= 32, "header within its cap");
    }
    fn_mime_buf_free(&out);
    fn_mime_buf_free(&hdr);
}

int main(void)
{
    test_headers();
    test_encodings();
    test_multipart();
    test_hostile_multipart();
    test_deep_nesting();
    test_output_cap();
    test_unclosed_words();
    test_random();
    printf("test_mime: all checks passed\n");
    return 0;
}
