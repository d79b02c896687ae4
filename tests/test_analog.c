/*
 * test_analog.c -- tests of the ANALOG front end (lexer, parser, checker).
 *
 *   test_analog FILE.analog ...   parses and checks each file and compares
 *                                 the printed diagnostics with the sibling
 *                                 FILE.expected, byte for byte
 *   test_analog hostile           hostile inputs made in memory: random
 *                                 bytes, deep nesting, 100k rules, ...
 *
 * A golden file may name the checker's inputs in comment lines:
 *   // sources: tcp_stream, udp_stream     (default: input)
 *   // params: THRESHOLD, NET              (default: none)
 * Diagnostics name the file by its base name, so .expected files do not
 * depend on where the tree is checked out.
 *
 * The pipeline functions the DESIGN's examples call that the function
 * library does not provide yet are registered here as stubs (with the
 * arity the examples use), so the front end is tested now; once the
 * library defines them, its definitions win.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analog/checker.h"
#include "analog/functions.h"
#include "analog/parser.h"

/* ---- stubs for pipeline functions not in the library yet ---- */

static int stub_call(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    return -1;
}

static analog_fn_def stubs[] = {
    {.name = "f_processTCPDetector", .min_args = 2, .max_args = 2},
    {.name = "f_processSMTPSegment", .min_args = 2, .max_args = 2},
    {.name = "f_processIpFrag", .min_args = 1, .max_args = 1},
    {.name = "f_getTransportProtocol", .min_args = 1, .max_args = 1},
    {.name = "f_getSrcIPAddr", .min_args = 1, .max_args = 1},
    {.name = "f_getDstIPAddr", .min_args = 1, .max_args = 1},
    {.name = "f_getTCPFlowId", .min_args = 1, .max_args = 1},
    {.name = "f_getUDPFlowId", .min_args = 1, .max_args = 1},
    {.name = "f_processTCP", .min_args = 1, .max_args = 1},
};

/** Registers each stub whose name the library does not define. */
static void register_missing_stubs(void)
{
    for (size_t i = 0; i < sizeof stubs / sizeof stubs[0]; i++) {
        stubs[i].call = stub_call;
        if (!analog_fn_lookup(stubs[i].name))
            analog_fn_register(&stubs[i]);
    }
}

/* ---- golden files ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

#define MAX_NAMES 16

/** Splits the comma list after "// KEY:" in src into names[] (copies
 *  into store); returns how many. */
static size_t directive(const char *src, const char *key, char store[][64], const char **names)
{
    char tag[64];
    snprintf(tag, sizeof tag, "// %s:", key);
    const char *p = strstr(src, tag);
    if (!p)
        return 0;
    p += strlen(tag);
    size_t n = 0;
    while (n < MAX_NAMES) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t k = strcspn(p, ", \r\n");
        if (k == 0 || k >= 64)
            break;
        memcpy(store[n], p, k);
        store[n][k] = '\0';
        names[n] = store[n];
        n++;
        p += k;
    }
    return n;
}

/** Parses and checks src; returns the printed diagnostics (caller frees). */
static char *run_front_end(const char *name, const char *src, size_t len)
{
    char sstore[MAX_NAMES][64], pstore[MAX_NAMES][64];
    const char *sources[MAX_NAMES], *params[MAX_NAMES];
    size_t nsources = directive(src, "sources", sstore, sources);
    size_t nparams = directive(src, "params", pstore, params);
    if (nsources == 0) {
        sources[0] = "input";
        nsources = 1;
    }
    analog_diag *d = analog_diag_new();
    analog_program *p = analog_parse(name, src, len, d);
    if (p)
        analog_check(p, params, nparams, sources, nsources, d);
    char *out = NULL;
    size_t outlen = 0;
    FILE *mem = open_memstream(&out, &outlen);
    analog_diag_print(d, mem);
    fclose(mem);
    analog_program_destroy(&p);
    analog_diag_destroy(&d);
    return out;
}

/** Prints the first differing line of expected and got. */
static void show_difference(const char *path, const char *expected, const char *got)
{
    unsigned line = 1;
    const char *e = expected, *g = got;
    while (*e && *e == *g) {
        if (*e == '\n')
            line++;
        e++, g++;
    }
    fprintf(stderr, "%s: diagnostics differ from .expected at line %u\n", path, line);
    fprintf(stderr, "--- expected\n%s--- got\n%s---\n", expected, got);
}

static int golden(const char *path)
{
    size_t len, elen;
    char *src = read_file(path, &len);
    char epath[4096];
    snprintf(epath, sizeof epath, "%.*s.expected",
             (int)(strlen(path) - (strstr(path, ".analog") ? strlen(".analog") : 0)), path);
    char *expected = read_file(epath, &elen);
    if (!src || !expected) {
        fprintf(stderr, "%s: cannot read %s\n", path, src ? epath : path);
        free(src);
        free(expected);
        return 1;
    }
    const char *base = strrchr(path, '/');
    char *got = run_front_end(base ? base + 1 : path, src, len);
    int rc = strcmp(expected, got) != 0;
    if (rc)
        show_difference(path, expected, got);
    else
        printf("ok %s\n", path);
    free(src);
    free(expected);
    free(got);
    return rc;
}

/* ---- hostile inputs ---- */

/** Parses (and checks, if it parsed) buf; returns the error count. */
static unsigned front_end_errors(const char *buf, size_t len)
{
    analog_diag *d = analog_diag_new();
    analog_program *p = analog_parse("hostile.analog", buf, len, d);
    if ((analog_diag_errors(d) > 0) != (p == NULL)) {
        fprintf(stderr, "hostile: analog_parse must return NULL exactly when it reports errors\n");
        exit(1);
    }
    const char *src[] = {"input"};
    if (p)
        analog_check(p, NULL, 0, src, 1, d);
    unsigned errors = analog_diag_errors(d);
    analog_program_destroy(&p);
    analog_diag_destroy(&d);
    return errors;
}

static int expect_error(const char *what, const char *buf, size_t len)
{
    clock_t t0 = clock();
    unsigned errors = front_end_errors(buf, len);
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("%-28s %zu bytes: %u errors, %.2f s\n", what, len, errors, s);
    if (errors == 0) {
        fprintf(stderr, "hostile %s: expected an error\n", what);
        return 1;
    }
    return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/** Random bytes, and random picks of ANALOG tokens (which go deeper). */
static int random_inputs(void)
{
    static const char *const words[] = {
        "component ", "c", "(", ")", "parallel", ",", "context_keys", "r", "{", "}",
        "det1 ", "h", "@", "N", ":-", ".", "X", "=", ":=", "==", "f_match", "\"s\"",
        "1", "2.5", "$P", "-", "+", "*", "/* c */", "// x\n", "\n", "e", "<", ">="};
    char buf[512];
    for (int i = 0; i < 4000; i++) {
        size_t len = rng() % sizeof buf, n = 0;
        if (i % 2) {
            for (n = 0; n < len; n++)
                buf[n] = (char)rng();
        } else {
            while (n + 16 < len) {
                const char *w = words[rng() % (sizeof words / sizeof words[0])];
                memcpy(buf + n, w, strlen(w));
                n += strlen(w);
            }
        }
        front_end_errors(buf, n);
    }
    printf("random inputs                4000 buffers: no crash\n");
    return 0;
}

/** A valid program of n rules, each consuming the previous one's head. */
static char *many_rules(size_t n, size_t *len)
{
    size_t cap = n * 64 + 128, used = 0;
    char *s = malloc(cap);
    used += (size_t)snprintf(s, cap, "component big(parallel) {\n");
    for (size_t i = 0; i < n; i++) {
        char event[32] = "input";
        if (i)
            snprintf(event, sizeof event, "rel%zu", i);
        used += (size_t)snprintf(s + used, cap - used, "r%zu rel%zu(@N, X) :- %s(@N, X), X > 1.\n",
                                 i, i + 1, event);
    }
    used += (size_t)snprintf(s + used, cap - used, "}\n");
    *len = used;
    return s;
}

static int hostile(void)
{
    int rc = random_inputs();
    size_t n = 1u << 20;
    char *deep = malloc(n + 64);
    int k = snprintf(deep, 64, "component c(parallel) { r h(@N) :- input(@N), X = ");
    memset(deep + k, '(', n - (size_t)k);
    rc |= expect_error("1 MB of '('", deep, n);
    memset(deep + k, '-', n - (size_t)k);
    rc |= expect_error("1 MB of unary '-'", deep, n);
    for (size_t i = (size_t)k; i + 2 < n; i += 2)
        memcpy(deep + i, "1+", 2);
    rc |= expect_error("1 MB of '1+1+...'", deep, n - 1);
    free(deep);
    size_t len;
    char *big = many_rules(100000, &len);
    unsigned errors = front_end_errors(big, len);
    printf("%-28s %zu bytes: %u errors\n", "100k rules", len, errors);
    rc |= errors != 0; /* a valid program: it must check clean */
    free(big);
    const char *s1 = "component c(parallel) { r h(@N) :- input(@N), X = \"abc";
    rc |= expect_error("unterminated string at EOF", s1, strlen(s1));
    const char *s2 = "component c(parallel) { /* never closed ";
    rc |= expect_error("unterminated comment", s2, strlen(s2));
    rc |= expect_error("empty source with NUL", "\0", 1);
    return rc;
}

int main(int argc, char **argv)
{
    register_missing_stubs();
    if (argc == 2 && strcmp(argv[1], "hostile") == 0)
        return hostile();
    if (argc < 2) {
        fprintf(stderr, "usage: test_analog FILE.analog... | hostile\n");
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= golden(argv[i]);
    return rc;
}
