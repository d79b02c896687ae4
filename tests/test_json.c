/*
 * test_json.c -- JSON lines: the sink's writer and the --tuples reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"

static int failures;

#define CHECK(c, ...)                                                                           \
    do {                                                                                        \
        if (!(c)) {                                                                             \
            fprintf(stderr, "FAIL line %d: ", __LINE__);                                        \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                \
            failures++;                                                                         \
        }                                                                                       \
    } while (0)

/** Writes t as a JSON line into a string (caller frees). */
static char *write_line(const sx_tuple *t, const char *const *names, uint32_t nnames, size_t max)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sx_batch b = {0};
    b.token = 7;
    b.time_ns = 1700000000250000000LL;
    sx_json_opts o = {.max_bytes = max};
    if (sx_json_write_tuple(f, "p1", &b, t, names, nnames, &o) != 0)
        CHECK(0, "write failed");
    fclose(f);
    return buf;
}

static void test_writer(void)
{
    sx_tuple t;
    sx_tuple_init(&t, "out", 8);
    t.vals[0] = sx_value_cstr("node1");
    t.vals[1] = sx_value_str("a\"b\\\n\x01\xff\xc3\xa9", 9); /* quote, escapes, bad byte, é */
    t.vals[2] = sx_value_bytes("hello", 5);
    uint8_t ip[4] = {10, 0, 0, 1};
    t.vals[3] = sx_value_ip4(ip);
    t.vals[4] = sx_value_float(0.0 / 0.0);
    sx_value l = sx_value_list(2);
    sx_value_list_set(&l, 0, NULL, sx_value_int(-3));
    sx_value rec = sx_value_record(1);
    sx_value_list_set(&rec, 0, "k", sx_value_bool(true));
    sx_value_list_set(&l, 1, NULL, rec);
    t.vals[5] = l;
    t.vals[6] = sx_value_null();
    t.vals[7] = sx_value_int(42);
    const char *names[] = {"N", "TEXT", "PKT", "IP", "F", "L", NULL};
    char *line = write_line(&t, names, 7, 0);
    const char *want =
        "{\"pipeline\": \"p1\", \"relation\": \"out\", \"token\": 7, \"time\": 1700000000.250000, "
        "\"N\": \"node1\", \"TEXT\": \"a\\\"b\\\\\\n\\u0001\\u00ff\xc3\xa9\", \"PKT\": \"aGVsbG8=\", "
        "\"IP\": \"10.0.0.1\", \"F\": \"nan\", \"L\": [-3, {\"k\": true}], \"_6\": null, \"_7\": 42}\n";
    CHECK(!strcmp(line, want), "writer:\n got  %s want %s", line, want);
    free(line);
    line = write_line(&t, names, 7, 2);
    CHECK(strstr(line, "\"PKT\": \"aGU=\", \"PKT_truncated\": true") != NULL, "truncated: %s", line);
    free(line);
    sx_tuple_clear(&t);
}

static void test_reader_ok(void)
{
    const char *line =
        "{\"relation\": \"input\", \"time\": 1700000000.5, \"values\": [\"node1\", 42, -2.5, "
        "\"t\\u00e9\\n\", true, null, {\"ip\": \"10.0.0.1\"}, {\"ip\": \"::1\"}, "
        "{\"bytes\": \"aGVsbG8=\"}, [1, [2]], {\"record\": {\"a\": 1}}]}";
    sx_tuple t = {0};
    int64_t ns;
    char err[200];
    int rc = sx_json_read_tuple(line, strlen(line), &t, &ns, err, sizeof err);
    CHECK(rc == 0, "reader: %s", err);
    if (rc)
        return;
    CHECK(sx_tuple_is(&t, "input") && t.n == 11, "relation/arity");
    CHECK(ns == 1700000000500000000LL, "time %lld", (long long)ns);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sx_tuple_print(f, &t);
    fclose(f);
    CHECK(strstr(buf, "input(\"node1\", 42, -2.5,") == buf, "printed: %s", buf);
    CHECK(t.vals[6].kind == SX_IP && t.vals[7].kind == SX_IP && t.vals[7].u.ip.family == 6, "ips");
    CHECK(t.vals[8].kind == SX_BYTES && t.vals[8].u.blob->len == 5 &&
          !memcmp(t.vals[8].u.blob->data, "hello", 5), "bytes");
    CHECK(t.vals[3].kind == SX_STR && t.vals[3].u.blob->len == 3, "\\u00e9 is one byte (%zu)",
          t.vals[3].u.blob->len);
    CHECK(t.vals[10].kind == SX_RECORD, "record");
    free(buf);
    sx_tuple_clear(&t);
}

static void test_reader_errors(void)
{
    static const struct { const char *line, *want; } cases[] = {
        {"", "expected '{'"},
        {"{\"relation\": \"x\"}", "no \"values\""},
        {"{\"values\": [1]}", "no \"relation\""},
        {"{\"relation\": \"x\", \"values\": [1], \"bogus\": 2}", "unknown key \"bogus\""},
        {"{\"relation\": \"x\", \"values\": [1, }", "column"},
        {"{\"relation\": \"x\", \"values\": [\"abc]}", "unterminated string"},
        {"{\"relation\": \"x\", \"values\": [{\"ip\": \"300.1.1.1\"}]}", "not an IP address"},
        {"{\"relation\": \"x\", \"values\": [{\"bytes\": \"!!\"}]}", "bad base64"},
        {"{\"relation\": \"x\", \"values\": [{\"color\": 1}]}", "unknown value object"},
        {"{\"relation\": \"x\", \"values\": [99999999999999999999]}", "out-of-range integer"},
        {"{\"relation\": \"x\", \"values\": [1]} trailing", "unexpected text"},
        {"{\"relation\": \"x\", \"values\": [\"a\\q\"]}", "unknown escape"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sx_tuple t = {0};
        int64_t ns;
        char err[200] = "";
        int rc = sx_json_read_tuple(cases[i].line, strlen(cases[i].line), &t, &ns, err, sizeof err);
        CHECK(rc == -1 && strstr(err, cases[i].want), "case %zu: rc %d err '%s', want '%s'", i, rc,
              err, cases[i].want);
        sx_tuple_clear(&t);
    }
    /* 10k nested arrays: an error, not a stack overflow */
    size_t depth = 10000;
    char *deep = malloc(depth + 64);
    int n = sprintf(deep, "{\"relation\": \"x\", \"values\": [");
    memset(deep + n, '[', depth);
    deep[n + depth] = 0;
    sx_tuple t = {0};
    int64_t ns;
    char err[200] = "";
    CHECK(sx_json_read_tuple(deep, strlen(deep), &t, &ns, err, sizeof err) == -1 &&
          strstr(err, "nested deeper"), "deep: %s", err);
    free(deep);
}

int main(void)
{
    test_writer();
    test_reader_ok();
    test_reader_errors();
    if (failures)
        return 1;
    printf("json: all checks passed\n");
    return 0;
}
