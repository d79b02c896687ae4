/*
 * test_bayes.c -- the naive Bayes classifier: functions/bayes_tokens.h,
 * bayes_model.h, bayes.h and the ANALOG functions f_classify and
 * f_classScore.
 *
 *   test_bayes units     the tokenizer (headers, MIME, HTML, links, case,
 *                        lengths, line ends), training and classifying
 *                        two and three classes with both methods,
 *                        thresholds, undoing training, the model file's
 *                        round trip, the ANALOG functions
 *   test_bayes hostile   bad input: empty, foreign, truncated (every
 *                        length) and corrupted (every byte) model files,
 *                        broken MIME, 10 MB of base64 without a newline,
 *                        random bytes -- a clear error or a bounded,
 *                        correct answer, never a crash
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analog/functions.h"
#include "functions/bayes.h"

#include "tests/check.h"
#include "tests/fn_call.h"

/* ---- helpers ---- */

/** The token set of the C string msg (the caller frees it). */
static fn_bayes_tokens tokens_of(const char *msg)
{
    fn_bayes_tokens t;
    fn_bayes_tokens_init(&t);
    fn_bayes_tokenize((const uint8_t *)msg, strlen(msg), &t);
    return t;
}

/** True when the set holds the token text tok. */
static bool has(const fn_bayes_tokens *t, const char *tok)
{
    uint64_t h = fn_bayes_token_hash(tok, strlen(tok));
    for (size_t i = 0; i < t->n; i++)
        if (t->hash[i] == h)
            return true;
    return false;
}

/** Checks that msg's tokens hold each of want and none of forbid
 *  (NULL-terminated lists). */
static void expect_tokens(int line, const char *msg, const char *const *want,
                          const char *const *forbid)
{
    fn_bayes_tokens t = tokens_of(msg);
    for (size_t i = 0; want && want[i]; i++)
        if (!has(&t, want[i])) {
            fprintf(stderr, "FAIL line %d: no token \"%s\"\n", line, want[i]);
            exit(1);
        }
    for (size_t i = 0; forbid && forbid[i]; i++)
        if (has(&t, forbid[i])) {
            fprintf(stderr, "FAIL line %d: token \"%s\" should not be there\n", line, forbid[i]);
            exit(1);
        }
    fn_bayes_tokens_free(&t);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_TOKENS(msg, want, forbid) expect_tokens(__LINE__, (msg), (want), (forbid))

/** Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** A path for a scratch file, unique to this process. */
static void scratch_path(char *buf, size_t len, const char *what)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, len, "%s/test_bayes.%ld.%s", dir && *dir ? dir : "/tmp", (long)getpid(), what);
}

/** Writes n bytes to path. */
static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, n, f) == n && fclose(f) == 0, "write a scratch file");
}

/** The bytes of path (the caller frees them); *n their count. */
static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "open a scratch file");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n ? *n : 1);
    CHECK(fread(p, 1, *n, f) == *n, "read a scratch file");
    fclose(f);
    return p;
}

/* ---- a small labelled corpus ---- */

/** Mails of three classes, told apart by their words. */
static const char *const SPORTS[] = {
    "Subject: match report\n\nThe team won the football match with a late goal.\n",
    "Subject: league table\n\nOur striker scored twice; the football league table moves.\n",
    "Subject: training\n\nCoach says the team trains before the match on Sunday.\n",
    "Subject: transfer news\n\nThe club signed a striker before the league season.\n",
};
static const char *const COOKING[] = {
    "Subject: recipe\n\nBake the bread dough with butter and flour for an hour.\n",
    "Subject: dinner\n\nSimmer the tomato sauce, add garlic and basil, serve with pasta.\n",
    "Subject: dessert\n\nWhisk butter and sugar, fold the flour, bake the cake.\n",
    "Subject: soup\n\nChop garlic and onion, simmer the soup with basil.\n",
};
static const char *const TRAVEL[] = {
    "Subject: flight\n\nOur flight lands at the airport; the hotel is near the beach.\n",
    "Subject: booking\n\nBook the hotel and the train ticket for the island trip.\n",
    "Subject: itinerary\n\nThe itinerary: airport, ferry to the island, hotel by the beach.\n",
    "Subject: passport\n\nBring your passport and ticket to the airport.\n",
};

/** A model of the three classes above trained with params p. */
static fn_bayes_model *three_class_model(const fn_bayes_params *p)
{
    static const char *const names[] = {"sports", "cooking", "travel"};
    char err[256];
    fn_bayes_model *m = fn_bayes_model_new(names, 3, p, err, sizeof err);
    CHECK(m != NULL, err);
    const char *const *sets[] = {SPORTS, COOKING, TRAVEL};
    for (unsigned c = 0; c < 3; c++)
        for (size_t i = 0; i < 4; i++) {
            fn_bayes_tokens t = tokens_of(sets[c][i]);
            fn_bayes_model_add(m, c, &t);
            fn_bayes_tokens_free(&t);
        }
    return m;
}

/** The class m gives msg; its result in *r when r is not NULL. */
static unsigned classify(const fn_bayes_model *m, const char *msg, fn_bayes_result *r)
{
    fn_bayes_result own;
    fn_bayes_tokens t;
    fn_bayes_tokens_init(&t);
    fn_bayes_classify_mail(m, (const uint8_t *)msg, strlen(msg), &t, r ? r : &own);
    fn_bayes_tokens_free(&t);
    return (r ? r : &own)->cls;
}

/* ---- the tokenizer ---- */

/** Chosen headers give prefixed words; others (Received, X-Spam-*) none. */
static void test_headers(void)
{
    const char *msg = "Received: from relay.example by mx.example\n"
                      "X-Spam-Status: Yes, score=9\n"
                      "From: Alice Example <alice@example.org>\n"
                      "Subject: =?utf-8?B?RlJFRSBNb25leQ==?=\n" /* FREE Money */
                      "Content-Type: text/plain; charset=windows-1252\n"
                      "\n"
                      "body words here\n";
    EXPECT_TOKENS(msg, WANT("subject:free", "subject:money", "from:alice", "from:example",
                            "content-type:windows-1252", "body", "words", "here"),
                  WANT("received:relay", "relay", "x-spam-status:yes", "yes", "score",
                       "subject:FREE", "free"));
}

/** The body: case folded, HTML tags and entities out, links read, MIME
 *  decoded (base64, quoted-printable), lengths and digits. */
static void test_body(void)
{
    EXPECT_TOKENS("Subject: x\n\nHello WORLD, it's $100 ok 12345 to\n",
                  WANT("hello", "world", "it's", "$100"), WANT("WORLD", "ok", "to", "12345"));
    EXPECT_TOKENS("Content-Type: text/html\n\n"
                  "<html><font color=red>Cheap&nbsp;pills</font> <!-- hidden comment -->"
                  "<a href=\"http://pills.example.com/buy?now\">click</a></html>\n",
                  WANT("cheap", "pills", "click", "url:pills", "url:example", "url:buy",
                       "url:now"),
                  WANT("font", "color", "red", "nbsp", "html", "href", "hidden", "comment"));
    EXPECT_TOKENS("Subject: x\n\nsee www.shop.example/offer now\n",
                  WANT("url:shop", "url:offer", "see", "now"), WANT("www"));
    EXPECT_TOKENS("Content-Transfer-Encoding: base64\n\naGVsbG8gYmFzZTY0IHdvcmxk\n",
                  WANT("hello", "base64", "world"), WANT("agvsbg8gymfzzty0ihdvcmxk"));
    EXPECT_TOKENS("Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 soft=\nbreak\n",
                  WANT("caf\xc3\xa9", "softbreak"), NULL);
    EXPECT_TOKENS("Subject: x\n\nsupercalifragilisticexpialidocious\n",
                  WANT("skip:s:30"), WANT("supercalifragilisticexpialidocious"));
}

/** The same mail with LF and with CRLF line ends gives the same set. */
static void test_line_ends(void)
{
    const char *lf = "Subject: Line ends\nContent-Type: multipart/alternative; boundary=b\n\n"
                     "--b\nContent-Transfer-Encoding: quoted-printable\n\nsoft=\nbreak word\n"
                     "--b\nContent-Type: text/html\n\n<p>html\npart</p>\n--b--\n";
    char crlf[1024];
    size_t k = 0;
    for (const char *p = lf; *p; p++) {
        if (*p == '\n')
            crlf[k++] = '\r';
        crlf[k++] = *p;
    }
    crlf[k] = 0;
    fn_bayes_tokens a = tokens_of(lf), b = tokens_of(crlf);
    CHECK(a.n > 5 && a.n == b.n && !memcmp(a.hash, b.hash, a.n * sizeof *a.hash),
          "LF and CRLF line ends give the same tokens");
    CHECK(has(&a, "softbreak") && has(&a, "html") && has(&a, "part"), "tokens of both parts");
    fn_bayes_tokens_free(&a);
    fn_bayes_tokens_free(&b);
}

/** Counts the tokens it is called with (arg: a size_t). */
static void count_token(const char *tok, size_t len, void *arg)
{
    (void)tok;
    (void)len;
    (*(size_t *)arg)++;
}

/** The token budget: a mail of more words is cut, and says so. */
static void test_budget(void)
{
    size_t words = FN_BAYES_TOKENS_MAX + 1000, n = 0;
    char *msg = malloc(words * 6 + 16);
    size_t k = (size_t)sprintf(msg, "Subject: x\n\n");
    for (size_t i = 0; i < words; i++)
        k += (size_t)sprintf(msg + k, "w%04zu ", i % 10000);
    bool cut = fn_bayes_tokenize_each((const uint8_t *)msg, k, count_token, &n);
    CHECK(cut && n == FN_BAYES_TOKENS_MAX, "the token budget cuts a long mail");
    fn_bayes_tokens t = tokens_of(msg);
    CHECK(t.cut && t.n == 10000, "the set of a cut mail: its distinct tokens");
    fn_bayes_tokens_free(&t);
    free(msg);
}

/* ---- training and classifying ---- */

/** Three classes, both methods: unseen mails go to their class; scores
 *  are in [0, 1]. */
static void test_three_classes(void)
{
    for (int method = 0; method < 2; method++) {
        fn_bayes_params p;
        fn_bayes_params_defaults(&p);
        p.method = method ? FN_BAYES_MULTINOMIAL : FN_BAYES_ROBINSON;
        fn_bayes_model *m = three_class_model(&p);
        fn_bayes_result r;
        CHECK(classify(m, "Subject: weekend\n\nThe striker and the team at the match\n", &r) == 0,
              "a sports mail");
        CHECK(classify(m, "Subject: tonight\n\ngarlic butter pasta with basil\n", NULL) == 1,
              "a cooking mail");
        CHECK(classify(m, "Subject: holiday\n\nhotel near the airport, ferry ticket\n", NULL) ==
                  2, "a travel mail");
        for (unsigned c = 0; c < 3; c++)
            CHECK(r.score[c] >= 0 && r.score[c] <= 1, "scores are in [0, 1]");
        CHECK(r.score[0] > r.score[1] && r.score[0] > r.score[2], "the chosen class scores most");
        CHECK(fn_bayes_model_class_find(m, "cooking") == 1 &&
                  fn_bayes_model_class_find(m, "spam") == -1, "classes by name");
        CHECK(fn_bayes_model_class_mails(m, 2) == 4, "mails per class");
        fn_bayes_model_destroy(&m);
        CHECK(m == NULL, "destroy nulls the pointer");
    }
}

/** Two classes: Robinson's scores mirror each other; a threshold moves
 *  the choice; removing what was added restores the model. */
static void test_two_classes(void)
{
    static const char *const names[] = {"ham", "spam"};
    char err[256];
    fn_bayes_model *m = fn_bayes_model_new(names, 2, NULL, err, sizeof err);
    CHECK(m != NULL, err);
    for (size_t i = 0; i < 4; i++) {
        fn_bayes_tokens a = tokens_of(COOKING[i]), b = tokens_of(TRAVEL[i]);
        fn_bayes_model_add(m, 0, &a);
        fn_bayes_model_add(m, 1, &b);
        fn_bayes_tokens_free(&a);
        fn_bayes_tokens_free(&b);
    }
    const char *mixed = "Subject: trip\n\nbake bread at the hotel, garlic and the island ferry\n";
    fn_bayes_result r;
    unsigned plain = classify(m, mixed, &r);
    CHECK(r.score[0] + r.score[1] > 0.999999 && r.score[0] + r.score[1] < 1.000001,
          "two-class Robinson scores add up to 1");
    CHECK(r.clues > 0, "clues weighed");
    fn_bayes_model_set_threshold(m, 1, r.score[1] + 0.01 > 1 ? 1 : r.score[1] + 0.01);
    CHECK(classify(m, mixed, NULL) == 0, "a threshold above its score keeps spam out");
    fn_bayes_model_set_threshold(m, 1, r.score[1] - 0.01 < 0 ? 0 : r.score[1] - 0.01);
    CHECK(classify(m, mixed, NULL) == 1, "a threshold below its score makes it spam");
    fn_bayes_model_set_threshold(m, 1, FN_BAYES_NO_THRESHOLD);
    CHECK(classify(m, mixed, NULL) == plain, "no threshold: the plain choice");

    uint64_t tokens = fn_bayes_model_tokens(m), total = fn_bayes_model_class_total(m, 1);
    fn_bayes_tokens extra = tokens_of("Subject: new words\n\nzebra quokka axolotl\n");
    fn_bayes_model_add(m, 1, &extra);
    CHECK(fn_bayes_model_tokens(m) > tokens, "training adds tokens");
    fn_bayes_model_remove(m, 1, &extra);
    CHECK(fn_bayes_model_tokens(m) == tokens && fn_bayes_model_class_total(m, 1) == total &&
              fn_bayes_model_class_mails(m, 1) == 4, "remove undoes add");
    fn_bayes_tokens_free(&extra);
    fn_bayes_model_destroy(&m);

    static const char *const bad[] = {"ham", "ham"}, *const spaced[] = {"ham", "sp am"};
    CHECK(!fn_bayes_model_new(bad, 2, NULL, err, sizeof err) && strstr(err, "twice"),
          "a class named twice is refused");
    CHECK(!fn_bayes_model_new(spaced, 2, NULL, err, sizeof err) && strstr(err, "spaces"),
          "a class name with a space is refused");
    CHECK(!fn_bayes_model_new(names, 1, NULL, err, sizeof err), "one class is refused");
    fn_bayes_params p;
    fn_bayes_params_defaults(&p);
    p.unknown_prob = 1.5;
    CHECK(!fn_bayes_model_new(names, 2, &p, err, sizeof err) && strstr(err, "parameters"),
          "bad parameters are refused");
}

/** Save then load: the same classes, parameters, thresholds and
 *  answers, bit for bit; saving twice writes the same bytes. */
static void test_round_trip(void)
{
    fn_bayes_params p;
    fn_bayes_params_defaults(&p);
    p.max_clues = 40;
    fn_bayes_model *m = three_class_model(&p);
    fn_bayes_model_set_threshold(m, 2, 0.75);
    char path[512], path2[512], err[600];
    scratch_path(path, sizeof path, "model.nb");
    scratch_path(path2, sizeof path2, "model2.nb");
    CHECK(fn_bayes_model_save(m, path, err, sizeof err) == 0, err);
    CHECK(fn_bayes_model_save(m, path2, err, sizeof err) == 0, err);
    size_t n1, n2;
    uint8_t *b1 = read_file(path, &n1), *b2 = read_file(path2, &n2);
    CHECK(n1 == n2 && !memcmp(b1, b2, n1), "saving is deterministic");
    free(b1);
    free(b2);
    fn_bayes_model *l = fn_bayes_model_load(path, err, sizeof err);
    CHECK(l != NULL, err);
    CHECK(fn_bayes_model_classes(l) == 3 && !strcmp(fn_bayes_model_class_name(l, 1), "cooking"),
          "classes survive");
    CHECK(fn_bayes_model_params(l)->max_clues == 40 && fn_bayes_model_threshold(l, 2) == 0.75 &&
              fn_bayes_model_threshold(l, 0) == FN_BAYES_NO_THRESHOLD, "parameters survive");
    CHECK(fn_bayes_model_tokens(l) == fn_bayes_model_tokens(m), "tokens survive");
    const char *mails[] = {SPORTS[0], COOKING[1], TRAVEL[2], "Subject: ?\n\nnothing known\n"};
    for (size_t i = 0; i < 4; i++) {
        fn_bayes_result a, b;
        classify(m, mails[i], &a);
        classify(l, mails[i], &b);
        CHECK(a.cls == b.cls && !memcmp(a.score, b.score, 3 * sizeof a.score[0]),
              "the loaded model answers as the trained one");
    }
    fn_bayes_model_destroy(&m);
    fn_bayes_model_destroy(&l);
    unlink(path);
    unlink(path2);
}

/* ---- the ANALOG functions ---- */

/** f_classify and f_classScore on a mail record (its raw field) and on
 *  a string; the model loaded at prepare; errors for a non-constant
 *  model, a missing file and an unknown class. */
static void test_functions(void)
{
    fn_bayes_model *m = three_class_model(NULL);
    char path[512], err[600];
    scratch_path(path, sizeof path, "fn.nb");
    CHECK(fn_bayes_model_save(m, path, err, sizeof err) == 0, err);
    const char *mail = COOKING[2];
    fn_bayes_result want;
    classify(m, mail, &want);

    sx_value rec = sx_value_record(2);
    sx_value_list_set(&rec, 0, "text", sx_value_cstr("decoded text is not what is classified"));
    sx_value_list_set(&rec, 1, "raw", sx_value_bytes(mail, strlen(mail)));
    sx_value args[3] = {rec, sx_value_cstr(path), sx_value_cstr("travel")}, r;
    CHECK(fn_call("f_classify", args, 2, 2, NULL, &r, err, sizeof err) == 0, err);
    CHECK(r.kind == SX_STR && r.u.blob->len == 7 && !memcmp(r.u.blob->data, "cooking", 7),
          "f_classify of a mail record names its class");
    sx_value_release(&r);
    CHECK(fn_call("f_classScore", args, 2, 2, NULL, &r, err, sizeof err) == 0, err);
    CHECK(r.kind == SX_FLOAT && r.u.f == want.score[want.cls], "f_classScore: the chosen score");
    sx_value_release(&r);
    CHECK(fn_call("f_classScore", args, 3, 6, NULL, &r, err, sizeof err) == 0, err);
    CHECK(r.kind == SX_FLOAT && r.u.f == want.score[2], "f_classScore of a named class");
    sx_value_release(&r);
    CHECK(fn_call("f_classScore", args, 3, 2, NULL, &r, err, sizeof err) == 0, err);
    CHECK(r.u.f == want.score[2], "a class named at call time");
    sx_value_release(&r);

    sx_value str[2] = {sx_value_cstr(mail), sx_value_cstr(path)};
    CHECK(fn_call("f_classify", str, 2, 2, NULL, &r, err, sizeof err) == 0, err);
    CHECK(r.u.blob->len == 7, "f_classify of a string");
    sx_value_release(&r);

    CHECK(fn_call("f_classify", args, 2, 0, NULL, &r, err, sizeof err) == -2 &&
              strstr(err, "constant"), "a model path that is not constant is a plan error");
    sx_value_release(&args[2]);
    args[2] = sx_value_cstr("spam");
    CHECK(fn_call("f_classScore", args, 3, 6, NULL, &r, err, sizeof err) == -2 &&
              strstr(err, "no class 'spam'") && strstr(err, "sports, cooking, travel"),
          "an unknown class names the classes there are");
    sx_value num[2] = {sx_value_int(3), sx_value_cstr(path)};
    CHECK(fn_call("f_classify", num, 2, 2, NULL, &r, err, sizeof err) == -1 &&
              strstr(err, "argument 1"), "an int is not a mail");
    sx_value missing[2] = {sx_value_cstr(mail), sx_value_cstr("/nonexistent/model.nb")};
    CHECK(fn_call("f_classify", missing, 2, 2, NULL, &r, err, sizeof err) == -2 &&
              strstr(err, "/nonexistent/model.nb: cannot open"), "a missing model file");
    for (int i = 0; i < 3; i++)
        sx_value_release(&args[i]);
    for (int i = 0; i < 2; i++) {
        sx_value_release(&str[i]);
        sx_value_release(&num[i]);
        sx_value_release(&missing[i]);
    }
    fn_bayes_model_destroy(&m);
    unlink(path);
}

/* ---- hostile input ---- */

/** The loader refuses, with a message, everything that is not a whole
 *  model: empty, foreign, every truncation, every one-byte corruption,
 *  another version, trailing bytes. */
static void test_bad_models(void)
{
    fn_bayes_model *m = three_class_model(NULL);
    char path[512], bad[512], err[600];
    scratch_path(path, sizeof path, "good.nb");
    scratch_path(bad, sizeof bad, "bad.nb");
    CHECK(fn_bayes_model_save(m, path, err, sizeof err) == 0, err);
    fn_bayes_model_destroy(&m);
    size_t n;
    uint8_t *good = read_file(path, &n);

    write_file(bad, "", 0);
    CHECK(!fn_bayes_model_load(bad, err, sizeof err) && strstr(err, "empty"), "an empty file");
    write_file(bad, "# not a model\n", 14);
    CHECK(!fn_bayes_model_load(bad, err, sizeof err) && strstr(err, "not a Scalanytics"),
          "a text file");
    CHECK(!fn_bayes_model_load("/nonexistent.nb", err, sizeof err) && strstr(err, "cannot open"),
          "a missing file");
    for (size_t len = 0; len < n; len++) { /* every truncation */
        write_file(bad, good, len);
        CHECK(!fn_bayes_model_load(bad, err, sizeof err) && err[0], "a truncated model");
    }
    write_file(bad, good, n - 100);
    CHECK(!fn_bayes_model_load(bad, err, sizeof err) && strstr(err, "truncated"),
          "truncation is named");
    uint8_t *copy = malloc(n + 1);
    for (size_t i = 0; i < n; i++) { /* every one-byte corruption */
        memcpy(copy, good, n);
        copy[i] ^= 0x20;
        write_file(bad, copy, n);
        CHECK(!fn_bayes_model_load(bad, err, sizeof err) && err[0], "a corrupted model");
    }
    memcpy(copy, good, n);
    copy[n] = 0;
    write_file(bad, copy, n + 1);
    CHECK(!fn_bayes_model_load(bad, err, sizeof err) && err[0], "trailing bytes");
    memcpy(copy, good, n);
    copy[8] = 2; /* version 2, checksum left stale: the version is named first */
    write_file(bad, copy, n);
    CHECK(!fn_bayes_model_load(bad, err, sizeof err) && strstr(err, "version"),
          "another format version");
    free(copy);
    free(good);
    unlink(path);
    unlink(bad);
}

/** Broken MIME and random bytes: tokenized and classified without
 *  reading out of bounds (the sanitizer build checks), with an answer. */
static void test_bad_mails(const fn_bayes_model *m)
{
    static const char *const broken[] = {
        "Content-Type: multipart/mixed; boundary=nowhere\n\n--elsewhere\n\nstriker goal\n",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\n"
        "c3RyaWtlciBnb2Fs", /* cut base64, no end */
        "Content-Type: multipart/mixed\n\nno boundary parameter\n",
        "Subject: =?utf-8?B?unterminated\n\n<html <a href=\"http://x.example/",
        "", "\n", "<", "&#", "http://", "From ",
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        CHECK(classify(m, broken[i], NULL) < 3, "a broken mail gets a class");
    char *deep = malloc(1000 * 80);
    size_t k = 0;
    for (int i = 0; i < 1000; i++)
        k += (size_t)snprintf(deep + k, 80,
                              "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
    CHECK(classify(m, deep, NULL) < 3, "nesting far beyond the MIME cap");
    free(deep);
    srand(7);
    char noise[4096];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof noise - 1; i++)
            noise[i] = (char)(1 + rand() % 255);
        noise[sizeof noise - 1] = 0;
        CHECK(classify(m, noise, NULL) < 3, "random bytes get a class");
    }
}

/** 10 MB of base64 without a newline: decoded within the caps and
 *  judged on its beginning (the token budget), a class in bounded time. */
static void test_huge_base64(const fn_bayes_model *m)
{
    size_t body = 10u * 1024 * 1024;
    const char *head = "Subject: big\nContent-Transfer-Encoding: base64\n\n";
    size_t hl = strlen(head);
    char *msg = malloc(hl + body + 1);
    memcpy(msg, head, hl);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    srand(11);
    for (size_t i = 0; i < body; i++)
        msg[hl + i] = b64[rand() % 64];
    msg[hl + body] = 0;
    double t0 = now_s();
    fn_bayes_result r;
    fn_bayes_tokens t;
    fn_bayes_tokens_init(&t);
    fn_bayes_classify_mail(m, (const uint8_t *)msg, hl + body, &t, &r);
    double secs = now_s() - t0;
    CHECK(r.cls < 3 && t.cut && t.n <= FN_BAYES_TOKENS_MAX,
          "a class, the mail judged on its start");
    CHECK(secs < 20, "10 MB of base64 in bounded time");
    printf("test_bayes: 10 MB base64 line classified in %.2f s (%zu tokens)\n", secs, t.n);
    fn_bayes_tokens_free(&t);
    free(msg);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "units";
    if (!strcmp(mode, "units")) {
        test_headers();
        test_body();
        test_line_ends();
        test_budget();
        test_three_classes();
        test_two_classes();
        test_round_trip();
        test_functions();
    } else if (!strcmp(mode, "hostile")) {
        test_bad_models();
        fn_bayes_model *m = three_class_model(NULL);
        test_bad_mails(m);
        test_huge_base64(m);
        fn_bayes_model_destroy(&m);
    } else {
        fprintf(stderr, "usage: test_bayes units|hostile\n");
        return 2;
    }
    printf("test_bayes %s: all checks passed\n", mode);
    return 0;
}
