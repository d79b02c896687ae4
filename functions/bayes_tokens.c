/*
 * bayes_tokens.c -- the naive Bayes tokenizer (functions/bayes_tokens.h).
 *
 * Design: the mail is decoded once by functions/mime.c into text (the
 * top-level headers as "Name: value" lines, an empty line, then every
 * part's decoded body); that text is copied with CR dropped and ASCII
 * folded to lower case into a scratch buffer of at most
 * FN_BAYES_TEXT_MAX bytes, and scanned in one forward pass. Every later
 * step works on that copy, so the tokens cannot depend on line ends.
 *
 * Words follow Paul Graham's "A Plan for Spam": letters, digits,
 * apostrophes, dashes and dollar signs (and any byte >= 0x80, so 8-bit
 * charsets make words too) form a word; apostrophes and dashes at its
 * ends are trimmed; words of fewer than 3 bytes and words of digits
 * only are dropped.
 *
 * Headers: only those that say something about the sender and the
 * content, as a mail on the wire carries them (HEADERS below). Left out
 * on purpose: Received, Return-Path, Delivered-To, Delivery-Date and
 * X-Spam-* and other filters' verdicts -- in a collected corpus they
 * describe the collector's own relays and its earlier filter, and a
 * classifier would learn where the corpus came from instead of what
 * spam says.
 *
 * HTML: a tag is '<' then a letter, '/', '!' or '?', up to the next '>'
 * within TAG_MAX bytes (a comment "<!--" up to "-->" within
 * COMMENT_MAX); it is dropped but its links are read. An entity
 * ("&nbsp;", "&#233;") separates words. Links (http://, https://,
 * www.) give "url:" tokens of their pieces, in tags and text alike.
 */
#include "functions/bayes_tokens.h"

#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"
#include "functions/mime.h"
#include "proto/alloc.h"

/* Longest HTML tag and comment dropped as one; beyond, '<' is text. */
#define TAG_MAX 1024u
#define COMMENT_MAX 4096u
/* Longest entity name ("&thetasym;") or number ("&#x1F600;"). */
#define ENTITY_MAX 10u
/* Longest link read for "url:" tokens. */
#define URL_MAX 512u
/* Shortest body word and "url:" piece kept. */
#define WORD_MIN 3u
#define URL_PIECE_MIN 2u

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* The headers whose words are tokens, prefixed "name:". */
static const char *const HEADERS[] = {
    "subject", "from", "to", "cc", "reply-to", "content-type", "x-mailer", "user-agent",
    "organization", "message-id", "x-priority", "x-msmail-priority", "importance",
    "mime-version", "content-transfer-encoding",
};

static analog_counter c_cut = {
    .name = "bayes.mails_cut",
    .summary = "mails longer than the tokenizer's budgets, classified on their beginning"};
ANALOG_COUNTER_REGISTER(c_cut)

/** A walk over one mail's cleaned text, handing tokens to cb. */
typedef struct tok_walk {
    fn_bayes_token_cb cb;
    void *arg;
    size_t emitted;
    bool full; /* the token budget is spent: the rest is not read */
    char tok[FN_BAYES_TOKEN_TEXT_MAX];
} tok_walk;

/* ---- tokens ---- */

uint64_t fn_bayes_token_hash(const char *tok, size_t len)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)tok[i]) * FNV_PRIME;
    return h;
}

/* Hot path: once per token. */
/** Hands prefix + word[0..n) (cut to FN_BAYES_TOKEN_TEXT_MAX) to the
 *  callback, unless the token budget is spent. */
static void emit(tok_walk *w, const char *prefix, const uint8_t *word, size_t n)
{
    if (w->emitted >= FN_BAYES_TOKENS_MAX) {
        w->full = true;
        return;
    }
    size_t plen = strlen(prefix);
    if (plen + n > sizeof w->tok)
        n = sizeof w->tok - plen;
    memcpy(w->tok, prefix, plen);
    memcpy(w->tok + plen, word, n);
    w->emitted++;
    w->cb(w->tok, plen + n, w->arg);
}

/** True for the bytes words are made of (the text is lower case). */
static bool is_word(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c == '-' ||
           c == '$' || c >= 0x80;
}

/** True for a byte of a link's pieces. */
static bool is_alnum(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/** Emits the word p[0..n) with prefix: ends trimmed of apostrophes and
 *  dashes; too short and all-digit words dropped; a long one as
 *  "skip:" its first byte and its length in tens. */
static void word(tok_walk *w, const char *prefix, const uint8_t *p, size_t n)
{
    while (n && (p[0] == '\'' || p[0] == '-')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == '\'' || p[n - 1] == '-'))
        n--;
    if (n < WORD_MIN)
        return;
    size_t digits = 0;
    while (digits < n && p[digits] >= '0' && p[digits] <= '9')
        digits++;
    if (digits == n)
        return;
    if (n > FN_BAYES_WORD_MAX) {
        char skip[32];
        int k = snprintf(skip, sizeof skip, "skip:%c:%zu", p[0] >= 0x80 ? '8' : p[0], n / 10 * 10);
        emit(w, "", (const uint8_t *)skip, (size_t)k);
        return;
    }
    emit(w, prefix, p, n);
}

/** The next run of bytes in class in() at or after *i in p[0..n): its
 *  start goes to *start, its length is returned (0 at the end); *i
 *  moves past it. */
static size_t next_run(const uint8_t *p, size_t n, size_t *i, bool (*in)(uint8_t),
                       size_t *start)
{
    while (*i < n && !in(p[*i]))
        (*i)++;
    *start = *i;
    while (*i < n && in(p[*i]))
        (*i)++;
    return *i - *start;
}

/** Emits the words of p[0..n) with prefix (no HTML, no links: for
 *  header values). */
static void plain_words(tok_walk *w, const char *prefix, const uint8_t *p, size_t n)
{
    size_t i = 0, start, len;
    while ((len = next_run(p, n, &i, is_word, &start)) > 0)
        word(w, prefix, p + start, len);
}

/* ---- links ---- */

/** Length of the link starting at p (http://, https:// or www.), up to
 *  white space, a quote or an angle bracket, at most URL_MAX; 0 when p
 *  does not start one. */
static size_t url_at(const uint8_t *p, size_t n)
{
    static const char *const schemes[] = {"http://", "https://", "www."};
    bool found = false;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0] && !found; i++) {
        size_t k = strlen(schemes[i]);
        found = n > k && memcmp(p, schemes[i], k) == 0;
    }
    if (!found)
        return 0;
    size_t len = 0;
    while (len < n && len < URL_MAX && p[len] > ' ' && p[len] != '"' && p[len] != '\'' &&
           p[len] != '<' && p[len] != '>')
        len++;
    return len;
}

/** Emits "url:" tokens of the pieces (runs of letters and digits) of
 *  the link p[0..n). */
static void url_tokens(tok_walk *w, const uint8_t *p, size_t n)
{
    size_t i = 0, start, len;
    while ((len = next_run(p, n, &i, is_alnum, &start)) > 0)
        if (len >= URL_PIECE_MIN && len <= FN_BAYES_WORD_MAX)
            emit(w, "url:", p + start, len);
}

/** Emits the "url:" tokens of every link inside the tag p[0..n). */
static void tag_urls(tok_walk *w, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = p[i] == 'h' ? url_at(p + i, n - i) : 0;
        if (len)
            url_tokens(w, p + i, len);
        i += len ? len : 1;
    }
}

/* ---- HTML ---- */

/** Length of the HTML tag or comment at p[0] == '<', or 0 when '<' is
 *  text there (no tag start, or no end close enough). */
static size_t tag_at(const uint8_t *p, size_t n)
{
    if (n >= 4 && memcmp(p, "<!--", 4) == 0) {
        size_t lim = n < COMMENT_MAX ? n : COMMENT_MAX;
        const uint8_t *end = memmem(p + 4, lim - 4, "-->", 3);
        if (end)
            return (size_t)(end - p) + 3;
    }
    if (n < 2 || !((p[1] >= 'a' && p[1] <= 'z') || p[1] == '/' || p[1] == '!' || p[1] == '?'))
        return 0;
    const uint8_t *end = memchr(p + 1, '>', (n < TAG_MAX ? n : TAG_MAX) - 1);
    return end ? (size_t)(end - p) + 1 : 0;
}

/** Length of the HTML entity at p[0] == '&' ("&name;", "&#123;",
 *  "&#x1f;"), or 0. */
static size_t entity_at(const uint8_t *p, size_t n)
{
    size_t i = 1;
    bool number = i < n && p[i] == '#';
    i += number;
    bool hex = number && i < n && p[i] == 'x';
    i += hex;
    size_t start = i;
    while (i < n && i - start < ENTITY_MAX &&
           ((p[i] >= '0' && p[i] <= '9') || (!number && p[i] >= 'a' && p[i] <= 'z') ||
            (hex && p[i] >= 'a' && p[i] <= 'f')))
        i++;
    return i > start && i < n && p[i] == ';' ? i + 1 : 0;
}

/* Hot path: once per body byte. */
/** Emits the tokens of a body p[0..n): words, with tags and entities
 *  taken out and links read. */
static void body_words(tok_walk *w, const uint8_t *p, size_t n)
{
    size_t i = 0, start = 0;
    bool in_word = false;
    while (i < n && !w->full) {
        uint8_t c = p[i];
        if (is_word(c)) {
            size_t len = !in_word && (c == 'h' || c == 'w') ? url_at(p + i, n - i) : 0;
            if (len) {
                url_tokens(w, p + i, len);
                i += len;
                continue;
            }
            if (!in_word)
                start = i;
            in_word = true;
            i++;
            continue;
        }
        if (in_word)
            word(w, "", p + start, i - start);
        in_word = false;
        size_t len = c == '<' ? tag_at(p + i, n - i) : c == '&' ? entity_at(p + i, n - i) : 0;
        if (len && c == '<')
            tag_urls(w, p + i, len);
        i += len ? len : 1;
    }
    if (in_word)
        word(w, "", p + start, i - start);
}

/* ---- headers ---- */

/** The token prefix ("subject:") of a header line's name, or NULL when
 *  its words are not tokens. */
static const char *header_prefix(const uint8_t *line, size_t n, size_t *value_off, char *buf,
                                 size_t buflen)
{
    const uint8_t *colon = memchr(line, ':', n);
    if (!colon)
        return NULL;
    size_t name_len = (size_t)(colon - line);
    for (size_t i = 0; i < sizeof HEADERS / sizeof HEADERS[0]; i++) {
        if (strlen(HEADERS[i]) == name_len && memcmp(HEADERS[i], line, name_len) == 0 &&
            name_len + 2 <= buflen) {
            memcpy(buf, line, name_len);
            buf[name_len] = ':';
            buf[name_len + 1] = 0;
            *value_off = name_len + 1;
            return buf;
        }
    }
    return NULL;
}

/** Emits the tokens of the header block p[0..n) ("name: value" lines);
 *  returns where the body starts (after the empty line). */
static size_t header_words(tok_walk *w, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (p + i)) : n - i;
        if (len == 0)
            return i + 1;
        char prefix[32];
        size_t off;
        if (header_prefix(p + i, len, &off, prefix, sizeof prefix))
            plain_words(w, prefix, p + i + off, len - off);
        i += len + (nl != NULL);
    }
    return n;
}

/* ---- the mail ---- */

/** Copies text into out (at most FN_BAYES_TEXT_MAX bytes), CR dropped
 *  and ASCII folded to lower case; returns the length, *cut when text
 *  held more. */
static size_t clean_text(const uint8_t *text, size_t n, uint8_t *out, bool *cut)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = text[i];
        if (c == '\r')
            continue;
        if (k == FN_BAYES_TEXT_MAX) {
            *cut = true;
            break;
        }
        out[k++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
    }
    return k;
}

bool fn_bayes_tokenize_each(const uint8_t *msg, size_t len, fn_bayes_token_cb cb, void *arg)
{
    fn_mime_buf text;
    fn_mime_buf_init(&text, 0);
    fn_mime_text(msg, len, FN_BAYES_DECODE_MAX, &text);
    tok_walk w = {.cb = cb, .arg = arg};
    bool cut = text.truncated;
    size_t cap = text.len < FN_BAYES_TEXT_MAX ? text.len : FN_BAYES_TEXT_MAX;
    uint8_t *clean = sx_malloc(cap);
    size_t n = clean_text(text.data, text.len, clean, &cut);
    fn_mime_buf_free(&text);
    size_t body = header_words(&w, clean, n);
    body_words(&w, clean + body, n - body);
    free(clean);
    cut = cut || w.full;
    if (cut)
        analog_counter_add(&c_cut, 1);
    return cut;
}

void fn_bayes_tokens_init(fn_bayes_tokens *t)
{
    *t = (fn_bayes_tokens){0};
}

void fn_bayes_tokens_free(fn_bayes_tokens *t)
{
    free(t->hash);
    fn_bayes_tokens_init(t);
}

/** Adds a token's hash to the set being built (duplicates removed later). */
static void collect(const char *tok, size_t len, void *arg)
{
    fn_bayes_tokens *t = arg;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->hash = sx_realloc(t->hash, t->cap * sizeof *t->hash);
    }
    t->hash[t->n++] = fn_bayes_token_hash(tok, len);
}

/** qsort order of hashes. */
static int hash_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int fn_bayes_tokenize(const uint8_t *msg, size_t len, fn_bayes_tokens *t)
{
    t->n = 0;
    t->cut = fn_bayes_tokenize_each(msg, len, collect, t);
    if (t->n)
        qsort(t->hash, t->n, sizeof *t->hash, hash_cmp);
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (k == 0 || t->hash[i] != t->hash[k - 1])
            t->hash[k++] = t->hash[i];
    t->n = k;
    return 0;
}
