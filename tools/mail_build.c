/*
 * mail_build.c -- synthetic RFC 5322 mails with MIME parts and a planted
 * phrase, for the SMTP trace generator.
 *
 * Design: a mail is a header block and one of a few layouts (a single
 * 7bit, quoted-printable or base64 part, or multipart/mixed or
 * /alternative of two). Each part's content is first generated into
 * m->src (filler words, HTML around them, or random bytes for a binary
 * attachment), counted for the phrase, then encoded onto m->raw; the
 * whole raw mail is counted once more. A count that is not what the
 * plan says (the filler formed a short phrase by chance) makes the
 * attempt fail and the mail is rebuilt, the random stream carrying on.
 *
 * Sizes: the body is given target_size minus the headers, split between
 * the parts and divided by each encoding's expansion, so raw sizes come
 * out close to the target (a line more, at most). Filler lines are at
 * most LINE_WIDTH columns, CRLF-ended, with no trailing blanks; about
 * one line in DOT_LINE_ODDS starts with '.', so dot-stuffing is always
 * exercised.
 *
 * Hot path: put_text, put_base64 and put_qp write through a raw pointer
 * into space reserved up front; no call per byte.
 */
#include "tools/mail_build.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define LINE_WIDTH 72      /* filler text columns */
#define QP_WIDTH 75        /* encoded columns before a soft break's '=' */
#define B64_LINE_BYTES 57  /* 76 base64 characters a line */
#define DOT_LINE_ODDS 40   /* one filler line in this many starts with '.' */
#define UTF8_WORD_ODDS 12  /* one word in this many is accented, in UTF-8 text */
#define MAX_ATTEMPTS 8
#define MIN_PART 40        /* bytes of content every part gets */

typedef struct word {
    const char *s;
    size_t len;
} word;

#define W(s) {s, sizeof s - 1}
/* Filler vocabulary: lower-case ASCII, no punctuation, so filler never
 * forms a phrase with a hyphen, digit or capital in the middle. */
static const word ascii_words[] = {
    W("the"), W("of"), W("and"), W("to"), W("in"), W("is"), W("that"), W("for"), W("it"),
    W("as"), W("was"), W("with"), W("be"), W("by"), W("on"), W("not"), W("this"), W("are"),
    W("or"), W("from"), W("at"), W("which"), W("but"), W("have"), W("an"), W("had"),
    W("they"), W("you"), W("were"), W("their"), W("one"), W("all"), W("we"), W("can"),
    W("has"), W("there"), W("been"), W("if"), W("more"), W("when"), W("will"), W("would"),
    W("who"), W("so"), W("no"), W("report"), W("meeting"), W("schedule"), W("budget"),
    W("quarter"), W("project"), W("review"), W("team"), W("customer"), W("invoice"),
    W("shipment"), W("order"), W("update"), W("please"), W("thanks"), W("regards"),
    W("attached"), W("document"), W("draft"), W("version"), W("question"), W("answer"),
    W("office"), W("week"), W("month"), W("today"), W("tomorrow"), W("morning"),
    W("afternoon"), W("evening"), W("server"), W("network"), W("traffic"), W("message"),
    W("letter"), W("account"), W("payment"), W("balance"), W("contract"), W("partner"),
    W("supplier"), W("product"), W("service"), W("support"), W("ticket"), W("issue"),
    W("release"), W("feature"), W("design"), W("plan"), W("data"), W("figure"), W("table"),
    W("chart"), W("summary"), W("detail"), W("note"), W("list"), W("item"), W("number"),
    W("total"), W("amount"), W("price"), W("cost"), W("sale"), W("market"), W("growth"),
    W("result"), W("status"), W("progress"), W("deadline"), W("agenda"), W("minutes"),
    W("call"), W("phone"), W("address"), W("street"), W("city"), W("country"), W("travel"),
    W("hotel"), W("flight"), W("train"), W("lunch"), W("dinner"), W("coffee"), W("garden"),
    W("river"), W("mountain"), W("forest"), W("ocean"), W("weather"), W("sunny"), W("rain"),
    W("cold"), W("warm"), W("quick"), W("brown"), W("fox"), W("jumps"), W("over"),
    W("lazy"), W("dog"), W("green"), W("blue"), W("red"), W("yellow"), W("small"),
    W("large"), W("early"), W("late"), W("new"), W("old"), W("good"), W("better"),
    W("best"), W("simple"), W("clear"), W("final"), W("first"), W("second"), W("third"),
    W("last"), W("next"), W("other"), W("same"), W("different"), W("important"),
    W("urgent"), W("possible"), W("available"), W("ready"), W("open"), W("closed"),
    W("free"), W("busy"), W("happy"), W("kind"), W("fair"), W("north"), W("south"),
    W("east"), W("west"),
};
/* Accented words for UTF-8 parts: they make quoted-printable encode. */
static const word utf8_words[] = {
    W("caf\xc3\xa9"), W("na\xc3\xafve"), W("\xc3\xbc" "ber"), W("se\xc3\xb1or"),
    W("fa\xc3\xa7" "ade"), W("cr\xc3\xa8me"), W("d\xc3\xa9j\xc3\xa0"),
    W("r\xc3\xa9sum\xc3\xa9"), W("jalape\xc3\xb1o"), W("pi\xc3\xb1" "ata"),
    W("gar\xc3\xa7on"), W("fianc\xc3\xa9" "e"), W("Z\xc3\xbcrich"), W("Krak\xc3\xb3w"),
    W("\xe2\x82\xac"), W("\xc2\xbd"),
};
static const char *const first_names[] = {
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
    "yolanda"};
static const char *const last_names[] = {
    "smith", "jones", "brown", "taylor", "wilson", "davies", "evans", "thomas", "johnson",
    "roberts", "walker", "wright", "robinson", "thompson", "white", "hughes", "edwards",
    "green", "hall", "wood"};
static const char *const domains[] = {
    "example.com", "example.net", "example.org", "mail.example", "corp.example",
    "shop.example", "lab.example", "school.example"};
/* The literal text of the header and MIME templates below, for
 * sx_mail_phrase_check (a phrase inside it would be in every mail). */
static const char template_text[] =
    "Received: from localhost (localhost [127.0.0.1]) by (Postfix) with ESMTP id for "
    "From: To: Subject: Re: Fwd: Date: Message-ID: MIME-Version: 1.0 X-Mailer: sx-gen/1 "
    "Content-Type: multipart/mixed; multipart/alternative; boundary=\"----=_Part_ "
    "This is a multi-part message in MIME format. text/plain; charset=us-ascii "
    "charset=utf-8 text/html; name=\"notes-.txt\" application/octet-stream; data-.bin "
    "Content-Transfer-Encoding: 7bit quoted-printable base64 "
    "Content-Disposition: attachment; filename= <html><body><p></p></body></html> "
    "Mon Tue Wed Thu Fri Sat Sun Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec +0000";

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* How a part's content is made. */
typedef enum part_kind { PART_TEXT, PART_HTML, PART_ATTACH_TEXT, PART_ATTACH_BINARY } part_kind;

typedef struct part_plan {
    sx_mail_encoding enc; /* its Content-Transfer-Encoding: 7bit, base64, quoted-printable */
    part_kind kind;
} part_plan;

/* A mail's shape; a planted mail picks among those with a part of the
 * planted encoding, by weight. */
typedef struct layout {
    const char *multipart; /* "mixed", "alternative", or NULL for one part */
    unsigned weight;
    unsigned nparts;
    part_plan parts[2];
} layout;

static const layout layouts[] = {
    {NULL, 35, 1, {{SX_MAIL_PLAIN, PART_TEXT}}},
    {NULL, 10, 1, {{SX_MAIL_QP, PART_TEXT}}},
    {NULL, 5, 1, {{SX_MAIL_BASE64, PART_TEXT}}},
    {"mixed", 30, 2, {{SX_MAIL_PLAIN, PART_TEXT}, {SX_MAIL_BASE64, PART_ATTACH_TEXT}}},
    {"mixed", 10, 2, {{SX_MAIL_QP, PART_TEXT}, {SX_MAIL_BASE64, PART_ATTACH_TEXT}}},
    {"alternative", 10, 2, {{SX_MAIL_PLAIN, PART_TEXT}, {SX_MAIL_QP, PART_HTML}}},
};

/* Raw bytes per content byte, per encoding (base64: 4/3 and a CRLF every
 * 76; quoted-printable: the accented words and soft breaks). */
static const double expansion[] = {1.0, 4.0 / 3.0 * 78.0 / 76.0, 1.06};

const char *sx_mail_encoding_name(sx_mail_encoding e)
{
    switch (e) {
    case SX_MAIL_PLAIN: return "plain";
    case SX_MAIL_BASE64: return "base64";
    case SX_MAIL_QP: return "quoted-printable";
    default: return NULL;
    }
}

size_t sx_mail_count(const uint8_t *hay, size_t n, const char *needle, size_t nlen)
{
    size_t count = 0;
    const uint8_t *p = hay, *end = hay + n;
    while (nlen && (size_t)(end - p) >= nlen) {
        const uint8_t *hit = memmem(p, (size_t)(end - p), needle, nlen);
        if (!hit)
            break;
        count++;
        p = hit + 1;
    }
    return count;
}

int sx_mail_phrase_check(const char *phrase, char *err, size_t errlen)
{
    size_t n = strlen(phrase);
    if (n < 4 || n > 200) {
        snprintf(err, errlen, "--phrase wants 4 to 200 characters, got %zu", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (phrase[i] < 0x20 || phrase[i] > 0x7e) {
            snprintf(err, errlen, "--phrase wants printable ASCII characters only");
            return -1;
        }
    if (phrase[0] == ' ' || phrase[n - 1] == ' ') {
        snprintf(err, errlen, "--phrase must not start or end with a space");
        return -1;
    }
    const char *clash = NULL;
    for (size_t i = 0; i < COUNT(ascii_words) && !clash; i++)
        if (strstr(ascii_words[i].s, phrase))
            clash = ascii_words[i].s;
    for (size_t i = 0; i < COUNT(utf8_words) && !clash; i++)
        if (strstr(utf8_words[i].s, phrase))
            clash = utf8_words[i].s;
    for (size_t i = 0; i < COUNT(first_names) && !clash; i++)
        if (strstr(first_names[i], phrase) || strstr(last_names[i], phrase))
            clash = "a name";
    for (size_t i = 0; i < COUNT(domains) && !clash; i++)
        if (strstr(domains[i], phrase))
            clash = domains[i];
    if (!clash && strstr(template_text, phrase))
        clash = "the header templates";
    if (clash) {
        snprintf(err, errlen, "--phrase '%s' occurs in the generator's filler (%s); "
                 "every mail would contain it", phrase, clash);
        return -1;
    }
    return 0;
}

/* Hot path: most of a trace's bytes are made here. Appends about n
 * bytes of filler lines; plants phrase (when not NULL) as one word at
 * the first word boundary at or after plant_at bytes. Returns the
 * phrase's offset in b, or SIZE_MAX. */
static size_t put_text(sx_buf *b, sx_rng *r, size_t n, bool utf8, const char *phrase,
                       size_t plen, size_t plant_at)
{
    size_t start = b->len, planted = SIZE_MAX;
    uint8_t *base = sx_buf_reserve(b, n + 2 * plen + 4 * LINE_WIDTH);
    uint8_t *q = base, *end = base + n;
    unsigned sentence_left = 0, lines_left = sx_rng_range(r, 2, 7);
    while (q < end) {
        size_t col = 0;
        bool glue = false; /* the next word follows without a space */
        if (sx_rng_below(r, DOT_LINE_ODDS) == 0) {
            switch (sx_rng_below(r, 4)) {
            case 0: *q++ = '.'; goto line_end;              /* a lone "." line */
            case 1: memcpy(q, "..", 2); q += 2; goto line_end;
            case 2: memcpy(q, "...", 3); q += 3; col = 3; break;
            default: *q++ = '.'; col = 1; glue = true; break; /* ".word" */
            }
        }
        for (;;) {
            if (phrase && planted == SIZE_MAX && (size_t)(q - base) >= plant_at) {
                if (col && col + 1 + plen > LINE_WIDTH)
                    break;
                if (col && !glue)
                    *q++ = ' ';
                planted = start + (size_t)(q - base);
                memcpy(q, phrase, plen);
                q += plen;
                col += plen + 1;
                glue = false;
                continue;
            }
            const word *w = utf8 && sx_rng_below(r, UTF8_WORD_ODDS) == 0
                                ? &utf8_words[sx_rng_below(r, COUNT(utf8_words))]
                                : &ascii_words[sx_rng_below(r, COUNT(ascii_words))];
            if (col && col + w->len + 2 > LINE_WIDTH)
                break;
            if (col && !glue)
                *q++ = ' ';
            glue = false;
            memcpy(q, w->s, w->len);
            if (sentence_left == 0) {
                if (q[0] >= 'a' && q[0] <= 'z')
                    q[0] = (uint8_t)(q[0] - 'a' + 'A');
                sentence_left = sx_rng_range(r, 5, 14);
            }
            q += w->len;
            col += w->len + 1;
            if (--sentence_left == 0)
                *q++ = '.';
        }
    line_end:
        *q++ = '\r';
        *q++ = '\n';
        if (--lines_left == 0) {
            *q++ = '\r';
            *q++ = '\n';
            lines_left = sx_rng_range(r, 2, 7);
        }
    }
    if (phrase && planted == SIZE_MAX) { /* the text ended first: a last line */
        planted = start + (size_t)(q - base);
        memcpy(q, phrase, plen);
        q += plen;
        *q++ = '\r';
        *q++ = '\n';
    }
    b->len += (size_t)(q - base);
    return planted;
}

/** Appends n random bytes (a binary attachment). */
static void put_random(sx_buf *b, sx_rng *r, size_t n)
{
    uint8_t *q = sx_buf_reserve(b, n + 8);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = sx_rng_next(r);
        memcpy(q + i, &v, 8);
    }
    b->len += n;
}

/* Hot path. Appends s base64-encoded, 76 characters and CRLF a line. */
static void put_base64(sx_buf *b, const uint8_t *s, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t *q = sx_buf_reserve(b, (n + 2) / 3 * 4 + (n / B64_LINE_BYTES + 1) * 2);
    uint8_t *q0 = q;
    size_t i = 0;
    while (i < n) {
        size_t line_end = i + B64_LINE_BYTES < n ? i + B64_LINE_BYTES : n;
        for (; i + 3 <= line_end; i += 3) {
            uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
            q[0] = (uint8_t)abc[v >> 18];
            q[1] = (uint8_t)abc[(v >> 12) & 63];
            q[2] = (uint8_t)abc[(v >> 6) & 63];
            q[3] = (uint8_t)abc[v & 63];
            q += 4;
        }
        if (i < line_end) { /* 1 or 2 bytes left: the end of the data */
            uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < line_end ? (uint32_t)s[i + 1] << 8 : 0);
            q[0] = (uint8_t)abc[v >> 18];
            q[1] = (uint8_t)abc[(v >> 12) & 63];
            q[2] = i + 1 < line_end ? (uint8_t)abc[(v >> 6) & 63] : '=';
            q[3] = '=';
            q += 4;
            i = line_end;
        }
        *q++ = '\r';
        *q++ = '\n';
    }
    b->len += (size_t)(q - q0);
}

/* Hot path. Appends s quoted-printable-encoded (RFC 2045 6.7): CRLF
 * stays a hard line break, '=', controls, bytes over 126 and blanks
 * before a line end become =XX, lines are cut by soft breaks ("=" CRLF)
 * at QP_WIDTH. The byte at force_at is encoded even when printable, and
 * a soft break goes before the byte at break_at (SIZE_MAX: neither):
 * that is how a planted phrase is kept out of the raw bytes. */
static void put_qp(sx_buf *b, const uint8_t *s, size_t n, size_t force_at, size_t break_at)
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t *q = sx_buf_reserve(b, 4 * n + 8);
    uint8_t *q0 = q;
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
            *q++ = '\r';
            *q++ = '\n';
            col = 0;
            i++;
            continue;
        }
        bool line_end = i + 1 == n || s[i + 1] == '\r';
        bool literal = ((c >= 33 && c <= 126 && c != '=') ||
                        ((c == ' ' || c == '\t') && !line_end)) && i != force_at;
        size_t width = literal ? 1 : 3;
        if ((i == break_at && col) || col + width > QP_WIDTH) {
            memcpy(q, "=\r\n", 3);
            q += 3;
            col = 0;
        }
        if (literal) {
            *q++ = c;
        } else {
            q[0] = '=';
            q[1] = (uint8_t)hex[c >> 4];
            q[2] = (uint8_t)hex[c & 15];
            q += 3;
        }
        col += width;
    }
    b->len += (size_t)(q - q0);
}

/** Picks a layout by weight, among those with an encoding-e part when e
 *  is planted. */
static const layout *pick_layout(sx_rng *r, sx_mail_encoding e)
{
    unsigned total = 0;
    bool ok[COUNT(layouts)];
    for (size_t i = 0; i < COUNT(layouts); i++) {
        ok[i] = e == SX_MAIL_NOT_PLANTED;
        for (unsigned p = 0; p < layouts[i].nparts; p++)
            ok[i] = ok[i] || layouts[i].parts[p].enc == e;
        total += ok[i] ? layouts[i].weight : 0;
    }
    unsigned x = sx_rng_below(r, total);
    for (size_t i = 0; i < COUNT(layouts); i++) {
        if (!ok[i])
            continue;
        if (x < layouts[i].weight)
            return &layouts[i];
        x -= layouts[i].weight;
    }
    return &layouts[0];
}

/** Writes "first.last@domain" into out; the display name into name. */
static void pick_address(sx_rng *r, char *out, size_t len, char *name, size_t name_len)
{
    const char *f = first_names[sx_rng_below(r, COUNT(first_names))];
    const char *l = last_names[sx_rng_below(r, COUNT(last_names))];
    snprintf(out, len, "%s.%s@%s", f, l, domains[sx_rng_below(r, COUNT(domains))]);
    if (name)
        snprintf(name, name_len, "%c%s %c%s", f[0] - 'a' + 'A', f + 1, l[0] - 'a' + 'A', l + 1);
}

/** Fills m's envelope and subject. */
static void pick_envelope(sx_mail *m, const sx_mail_spec *s, sx_rng *r)
{
    pick_address(r, m->from, sizeof m->from, m->from_name, sizeof m->from_name);
    m->nrcpt = sx_rng_range(r, 1, SX_MAIL_MAX_RCPT);
    for (unsigned i = 0; i < m->nrcpt; i++)
        pick_address(r, m->rcpt[i], sizeof m->rcpt[i], NULL, 0);
    static const char *const prefixes[] = {"", "", "", "Re: ", "Fwd: "};
    size_t n = (size_t)snprintf(m->subject, sizeof m->subject, "%s",
                                prefixes[sx_rng_below(r, COUNT(prefixes))]);
    unsigned words = sx_rng_range(r, 2, 7);
    for (unsigned i = 0; i < words && n < sizeof m->subject - 32; i++) {
        const word *w = &ascii_words[sx_rng_below(r, COUNT(ascii_words))];
        n += (size_t)snprintf(m->subject + n, sizeof m->subject - n, "%s%c%s", i ? " " : "",
                              i ? w->s[0] : w->s[0] - 'a' + 'A', w->s + 1);
    }
    const char *at = strchr(m->from, '@');
    snprintf(m->message_id, sizeof m->message_id, "%" PRIu64 ".%016" PRIx64 "@%s", s->number,
             sx_rng_next(r), at ? at + 1 : "example.com");
}

/** Appends the header block up to (not including) the Content-* lines. */
static void put_headers(sx_mail *m, const sx_mail_spec *s, sx_rng *r)
{
    char date[64];
    struct tm tm;
    gmtime_r(&s->date, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    sx_buf *b = &m->raw;
    sx_buf_printf(b, "Received: from localhost (localhost [127.0.0.1])\r\n"
                     "\tby %s (Postfix) with ESMTP id %08" PRIX32 "\r\n"
                     "\tfor <%s>; %s\r\n",
                  s->client_host, (uint32_t)sx_rng_next(r), m->rcpt[0], date);
    sx_buf_printf(b, "From: %s <%s>\r\nTo: ", m->from_name, m->from);
    for (unsigned i = 0; i < m->nrcpt; i++)
        sx_buf_printf(b, "%s<%s>", i ? ", " : "", m->rcpt[i]);
    sx_buf_printf(b, "\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n",
                  m->subject, date, m->message_id);
    if (sx_rng_below(r, 2))
        sx_buf_puts(b, "X-Mailer: sx-gen/1\r\n");
}

/** Appends a part's Content-* header lines (without the blank line). */
static void put_part_headers(sx_buf *b, const part_plan *p, uint64_t number)
{
    switch (p->kind) {
    case PART_TEXT:
        sx_buf_puts(b, p->enc == SX_MAIL_PLAIN ? "Content-Type: text/plain; charset=us-ascii\r\n"
                                               : "Content-Type: text/plain; charset=utf-8\r\n");
        break;
    case PART_HTML: sx_buf_puts(b, "Content-Type: text/html; charset=utf-8\r\n"); break;
    case PART_ATTACH_TEXT:
        sx_buf_printf(b, "Content-Type: text/plain; charset=us-ascii; name=\"notes-%" PRIu64
                         ".txt\"\r\nContent-Disposition: attachment; filename=\"notes-%" PRIu64
                         ".txt\"\r\n", number, number);
        break;
    case PART_ATTACH_BINARY:
        sx_buf_printf(b, "Content-Type: application/octet-stream; name=\"data-%" PRIu64
                         ".bin\"\r\nContent-Disposition: attachment; filename=\"data-%" PRIu64
                         ".bin\"\r\n", number, number);
        break;
    }
    static const char *const cte[] = {"7bit", "base64", "quoted-printable"};
    sx_buf_printf(b, "Content-Transfer-Encoding: %s\r\n", cte[p->enc]);
}

/** Generates a part's content (about n bytes, the phrase in it when
 *  plant) into m->src and appends it encoded to m->raw. -1 when the
 *  content holds the phrase a number of times other than plant. */
static int put_part_body(sx_mail *m, const sx_mail_spec *s, sx_rng *r, const part_plan *p,
                         size_t n, bool plant)
{
    sx_buf *src = &m->src;
    src->len = 0;
    const char *phrase = plant ? s->phrase : NULL;
    size_t at = SIZE_MAX, plant_at = sx_rng_below(r, n);
    if (p->kind == PART_ATTACH_BINARY) {
        put_random(src, r, n);
    } else if (p->kind == PART_HTML) {
        sx_buf_puts(src, "<html><body>\r\n<p>");
        at = put_text(src, r, n, true, phrase, s->phrase_len, plant_at);
        sx_buf_puts(src, "</p>\r\n</body></html>\r\n");
    } else {
        at = put_text(src, r, n, p->enc != SX_MAIL_PLAIN, phrase, s->phrase_len, plant_at);
    }
    if (sx_mail_count(src->p, src->len, s->phrase, s->phrase_len) != (plant ? 1u : 0u))
        return -1;
    if (p->enc == SX_MAIL_PLAIN) {
        sx_buf_put(&m->raw, src->p, src->len);
    } else if (p->enc == SX_MAIL_BASE64) {
        put_base64(&m->raw, src->p, src->len);
    } else {
        size_t force = SIZE_MAX, split = SIZE_MAX;
        if (plant) { /* encode its first byte, cut it with a soft break, or both */
            unsigned how = sx_rng_below(r, 3);
            if (how != 1)
                force = at;
            if (how != 0)
                split = at + 1 + sx_rng_below(r, s->phrase_len - 1);
        }
        put_qp(&m->raw, src->p, src->len, force, split);
    }
    return 0;
}

/** One attempt at the whole mail; -1 when the phrase count is off. */
static int build_once(sx_mail *m, const sx_mail_spec *s, sx_rng *r)
{
    m->raw.len = 0;
    pick_envelope(m, s, r);
    put_headers(m, s, r);
    const layout *l = pick_layout(r, s->plant);
    part_plan parts[2];
    int plant_part = -1;
    for (unsigned i = 0; i < l->nparts; i++) {
        parts[i] = l->parts[i];
        if (plant_part < 0 && parts[i].enc == s->plant)
            plant_part = (int)i;
        else if (parts[i].kind == PART_ATTACH_TEXT && sx_rng_below(r, 2))
            parts[i].kind = PART_ATTACH_BINARY;
    }
    size_t overhead = m->raw.len + (l->multipart ? 300 : 100);
    size_t body = s->target_size > overhead + MIN_PART ? s->target_size - overhead : MIN_PART;
    size_t first_share = l->nparts == 1 ? 100 : sx_rng_range(r, 15, 60);
    char boundary[64];
    if (l->multipart) {
        snprintf(boundary, sizeof boundary, "----=_Part_%" PRIu64 "_%08" PRIx32, s->number,
                 (uint32_t)sx_rng_next(r));
        sx_buf_printf(&m->raw, "Content-Type: multipart/%s;\r\n\tboundary=\"%s\"\r\n\r\n"
                               "This is a multi-part message in MIME format.\r\n",
                      l->multipart, boundary);
    }
    for (unsigned i = 0; i < l->nparts; i++) {
        size_t share = i == 0 ? first_share : 100 - first_share;
        size_t n = (size_t)((double)body * (double)share / 100.0 / expansion[parts[i].enc]);
        if (l->multipart)
            sx_buf_printf(&m->raw, "--%s\r\n", boundary);
        put_part_headers(&m->raw, &parts[i], s->number);
        sx_buf_puts(&m->raw, "\r\n");
        if (put_part_body(m, s, r, &parts[i], n > MIN_PART ? n : MIN_PART, (int)i == plant_part))
            return -1;
    }
    if (l->multipart)
        sx_buf_printf(&m->raw, "--%s--\r\n", boundary);
    size_t want = s->plant == SX_MAIL_PLAIN ? 1 : 0;
    return sx_mail_count(m->raw.p, m->raw.len, s->phrase, s->phrase_len) == want ? 0 : -1;
}

int sx_mail_build(sx_mail *m, const sx_mail_spec *s, sx_rng *r, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++)
        if (build_once(m, s, r) == 0)
            return 0;
    snprintf(err, errlen, "mail %" PRIu64 ": the phrase '%s' keeps occurring in generated text "
             "where it must not (tried %d times); choose a longer or rarer phrase",
             s->number, s->phrase, MAX_ATTEMPTS);
    return -1;
}

void sx_mail_free(sx_mail *m)
{
    sx_buf_free(&m->raw);
    sx_buf_free(&m->src);
}
