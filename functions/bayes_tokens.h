/*
 * bayes_tokens.h -- the naive Bayes tokenizer: a mail (RFC 5322 bytes,
 * as a file or an SMTP session holds it) turned into the set of tokens
 * a classifier weighs.
 *
 * What it reads: the mail's MIME-decoded text (functions/mime.h: RFC
 * 2047 headers, base64 and quoted-printable parts, nested multiparts),
 * with every CR dropped and ASCII folded to lower case. Tokens:
 *   - words of a few chosen headers, prefixed by the header's name
 *     ("subject:free", "from:example"); other headers are left out,
 *     since they mostly describe how a mail was collected, not what it
 *     says (Received, Delivered-To, X-Spam-*: see the .c file);
 *   - words of the body, HTML tags and entities stripped ("url:" words
 *     of the links in tags and text kept), of 3 to FN_BAYES_WORD_MAX
 *     bytes; a longer run gives one "skip:" token of its first byte and
 *     length in tens.
 * Dropping CR makes the tokens independent of line ends: a mail with
 * LF lines and the same mail sent with CRLF lines give the same set
 * (while its decoded text is within FN_BAYES_DECODE_MAX).
 *
 * Bounded: at most FN_BAYES_TEXT_MAX bytes of decoded text and
 * FN_BAYES_TOKENS_MAX tokens are read per mail (a longer mail is judged
 * on its beginning, counted in bayes.mails_cut). Pure functions, safe
 * from any thread.
 */
#ifndef FN_BAYES_TOKENS_H
#define FN_BAYES_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tokenizer's version: a model records it and is refused by
 * another (token hashes would not mean the same words). */
#define FN_BAYES_TOKENIZER_VERSION 1u
/* Decoded text made of one mail (functions/mime.h's cap). */
#define FN_BAYES_DECODE_MAX (8u * 1024u * 1024u)
/* Decoded bytes (CR dropped) tokenized per mail. */
#define FN_BAYES_TEXT_MAX (2u * 1024u * 1024u)
/* Tokens taken per mail, repeats included. */
#define FN_BAYES_TOKENS_MAX 100000u
/* Longest word kept as itself; a longer run becomes a "skip:" token. */
#define FN_BAYES_WORD_MAX 20u
/* Longest token text (a prefix and a word). */
#define FN_BAYES_TOKEN_TEXT_MAX 64u

/** A mail's tokens: the distinct 64-bit token hashes, sorted. */
typedef struct fn_bayes_tokens {
    uint64_t *hash; /* malloc'd, owned by the set */
    size_t n, cap;
    bool cut;       /* the mail was longer than the budgets: its beginning was read */
} fn_bayes_tokens;

/** Called for each token, repeats included, in the mail's order; tok
 *  is valid only during the call. */
typedef void (*fn_bayes_token_cb)(const char *tok, size_t len, void *arg);

/** Empties t (no storage yet). */
void fn_bayes_tokens_init(fn_bayes_tokens *t);
/** Frees t's storage and leaves it empty. */
void fn_bayes_tokens_free(fn_bayes_tokens *t);

/** Replaces t's content with the token set of the mail msg[0..len)
 *  (its storage is reused). Returns 0. */
int fn_bayes_tokenize(const uint8_t *msg, size_t len, fn_bayes_tokens *t);

/** Calls cb(token, len, arg) for each token of msg, as fn_bayes_tokenize
 *  sees them (for `scalanytics classify --tokens` and tests). Returns
 *  whether the budgets cut the mail. */
bool fn_bayes_tokenize_each(const uint8_t *msg, size_t len, fn_bayes_token_cb cb, void *arg);

/** The hash fn_bayes_tokenize gives the token text tok[0..len). */
uint64_t fn_bayes_token_hash(const char *tok, size_t len);

#endif
