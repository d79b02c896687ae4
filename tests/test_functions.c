/*
 * test_functions.c -- the ANALOG function registry and the built-ins,
 * called exactly as the evaluator calls them: look the name up in any
 * case, check the arity, prepare constant arguments, call with an
 * analog_fn_ctx, free the prepared object. Also: duplicate registration,
 * PCRE2 compile errors and match limits, f_match from several threads,
 * f_traffic counted from several workers.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analog/functions.h"
#include "functions/fn_match.h"
#include "functions/fn_traffic.h"

#include "tests/check.h"

/* Bits of a constant-argument mask: argument i is a constant when bit i
 * is set (what the planner knows about each argument). */
#define C0 1u
#define C1 2u

/* ---- calling a function the way the evaluator does ---- */

typedef struct call {
    unsigned worker;
    int64_t now_ns;
    unsigned const_mask;
    char err[256];
} call;

/** Calls the function named name on args (consumed: released after the
 *  call) as the evaluator would. Returns the call's rc, or -2 when
 *  prepare refused the constants; the message is in c->err. */
static int call_fn(call *c, const char *name, sx_value *args, uint32_t nargs, sx_value *result)
{
    const analog_fn_def *def = analog_fn_lookup(name);
    CHECK(def != NULL, name);
    CHECK((int)nargs >= def->min_args, "too few arguments for the definition");
    CHECK(def->max_args == ANALOG_FN_VARIADIC || (int)nargs <= def->max_args,
          "too many arguments for the definition");
    bool is_const[16] = {false};
    for (uint32_t i = 0; i < nargs && i < 16; i++)
        is_const[i] = (c->const_mask >> i) & 1u;
    c->err[0] = 0;
    void *prepared = NULL;
    int rc = 0;
    if (def->prepare)
        rc = def->prepare(args, is_const, nargs, &prepared, c->err, sizeof c->err) == 0 ? 0 : -2;
    if (rc == 0) {
        analog_fn_ctx ctx = {.worker = c->worker, .workers = 16, .now_ns = c->now_ns,
                             .prepared = prepared, .err = c->err, .errlen = sizeof c->err};
        *result = sx_value_null();
        rc = def->call(&ctx, args, nargs, result);
        CHECK(rc == 0 || rc == -1, "a call returns 0 or -1");
        CHECK(rc == 0 || c->err[0], "a failing call leaves a message");
    }
    if (prepared && def->prepared_free)
        def->prepared_free(prepared);
    for (uint32_t i = 0; i < nargs; i++)
        sx_value_release(&args[i]);
    return rc;
}

#define NARGS(...) ((uint32_t)(sizeof((sx_value[]){__VA_ARGS__}) / sizeof(sx_value)))
/* CALL(c, "f_name", &result, args...): the args are built in place. */
#define CALL(c, name, res, ...)                                                                 \
    call_fn((c), (name), (sx_value[]){__VA_ARGS__}, NARGS(__VA_ARGS__), (res))

/** True when result is the string s. */
static bool is_str(const sx_value *result, const char *s)
{
    return result->kind == SX_STR && result->u.blob->len == strlen(s) &&
           memcmp(result->u.blob->data, s, strlen(s)) == 0;
}

/** Checks that a call succeeded with the string want, then releases it. */
static void expect_str(int line, int rc, sx_value *result, const char *want)
{
    if (rc != 0 || !is_str(result, want)) {
        fprintf(stderr, "FAIL line %d: want \"%s\", got rc %d kind %s", line, want, rc,
                sx_kind_name((sx_kind)result->kind));
        if (result->kind == SX_STR)
            fprintf(stderr, " \"%s\"", (const char *)result->u.blob->data);
        fputc('\n', stderr);
        exit(1);
    }
    sx_value_release(result);
}

/** Checks that a call succeeded with the int want. */
static void expect_int(int line, int rc, const sx_value *result, int64_t want)
{
    if (rc != 0 || result->kind != SX_INT || result->u.i != want) {
        fprintf(stderr, "FAIL line %d: want %lld, got rc %d kind %s %lld\n", line,
                (long long)want, rc, sx_kind_name((sx_kind)result->kind),
                (long long)result->u.i);
        exit(1);
    }
}

/** Checks that a call failed with rc want_rc and a message holding each
 *  of the (up to two) fragments. */
static void expect_err(int line, int rc, int want_rc, const call *c, const char *frag1,
                       const char *frag2)
{
    if (rc != want_rc || !strstr(c->err, frag1) || (frag2 && !strstr(c->err, frag2))) {
        fprintf(stderr, "FAIL line %d: want rc %d with \"%s\"%s%s, got rc %d \"%s\"\n", line,
                want_rc, frag1, frag2 ? " and " : "", frag2 ? frag2 : "", rc, c->err);
        exit(1);
    }
}

#define EXPECT_STR(rc, res, want) expect_str(__LINE__, (rc), (res), (want))
#define EXPECT_INT(rc, res, want) expect_int(__LINE__, (rc), (res), (want))
#define EXPECT_ERR(rc, c, frag1, frag2) expect_err(__LINE__, (rc), -1, (c), (frag1), (frag2))
#define EXPECT_PREP_ERR(rc, c, frag1, frag2) expect_err(__LINE__, (rc), -2, (c), (frag1), (frag2))

/* ---- a function registered by this file, as a component author would ---- */

/** Returns its argument unchanged. */
static int f_test_echo(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    *result = sx_value_copy(&args[0]);
    return 0;
}

static const analog_fn_def test_echo_def = {
    .name = "f_test_Echo", .min_args = 1, .max_args = 1, .flags = ANALOG_FN_PURE,
    .call = f_test_echo, .summary = "f_test_Echo(x): x",
};
ANALOG_FN_REGISTER(test_echo_def)

/* ---- the registry ---- */

/** Every built-in is registered with the arity the docs give it. */
static void test_arity(void)
{
    static const struct {
        const char *name;
        int min, max;
    } want[] = {
        {"f_concat", 1, ANALOG_FN_VARIADIC}, {"f_strlen", 1, 1},   {"f_substr", 3, 3},
        {"f_lower", 1, 1},   {"f_upper", 1, 1},   {"f_contains", 2, 2}, {"f_tostring", 1, 1},
        {"f_toint", 1, 1},   {"f_IPtoSTR", 1, 1}, {"f_strToIP", 1, 1},  {"f_ipInNet", 2, 2},
        {"f_min", 1, ANALOG_FN_VARIADIC}, {"f_max", 1, ANALOG_FN_VARIADIC}, {"f_abs", 1, 1},
        {"f_div", 2, 2},     {"f_hash", 1, 1},    {"f_match", 2, 2},    {"f_traffic", 2, 2},
        {"f_now", 0, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const analog_fn_def *d = analog_fn_lookup(want[i].name);
        CHECK(d != NULL, want[i].name);
        CHECK(strcmp(d->name, want[i].name) == 0, want[i].name);
        CHECK(d->min_args == want[i].min && d->max_args == want[i].max, want[i].name);
        CHECK(d->summary && d->summary[0], "every built-in has a summary");
    }
}

/** Lookup ignores case; the listing is sorted and complete. */
static void test_registry(void)
{
    const analog_fn_def *m = analog_fn_lookup("F_MATCH");
    CHECK(m && strcmp(m->name, "f_match") == 0, "F_MATCH finds f_match");
    CHECK(analog_fn_lookup("f_iptostr") == analog_fn_lookup("F_IPtoSTR"), "f_iptostr");
    CHECK(analog_fn_lookup("f_iptostr") != NULL, "f_iptostr exists");
    CHECK(analog_fn_lookup("F_TEST_ECHO") == &test_echo_def, "this file's own function");
    CHECK(analog_fn_lookup("f_no_such") == NULL, "unknown names are NULL");
    CHECK(analog_fn_lookup("f_matc") == NULL && analog_fn_lookup("f_matchx") == NULL,
          "prefixes do not match");
    CHECK(analog_fn_lookup(NULL) == NULL, "NULL name");
    unsigned n = analog_fn_count();
    CHECK(n >= 20, "19 built-ins and f_test_Echo");
    for (unsigned i = 1; i < n; i++)
        CHECK(strcasecmp(analog_fn_at(i - 1)->name, analog_fn_at(i)->name) < 0,
              "listing sorted by name, case-insensitively");
    CHECK(analog_fn_at(n) == NULL, "past the end is NULL");
    test_arity();
}

/** A second function of an existing name (any case) is refused, and so
 *  is an incomplete definition; the table is unchanged. */
static void test_duplicates(void)
{
    static const analog_fn_def dup = {
        .name = "F_CONCAT", .min_args = 0, .max_args = 0, .call = f_test_echo,
    };
    static const analog_fn_def no_call = {.name = "f_no_call", .min_args = 0, .max_args = 0};
    static const analog_fn_def bad_arity = {
        .name = "f_bad_arity", .min_args = 2, .max_args = 1, .call = f_test_echo,
    };
    unsigned n = analog_fn_count();
    CHECK(analog_fn_register(&dup) == -1, "duplicate refused");
    CHECK(analog_fn_register(&test_echo_def) == -1, "same definition twice refused");
    CHECK(analog_fn_register(&no_call) == -1, "definition without call refused");
    CHECK(analog_fn_register(&bad_arity) == -1, "max_args < min_args refused");
    CHECK(analog_fn_count() == n, "refusals leave the table as it was");
    CHECK(strcmp(analog_fn_lookup("f_concat")->name, "f_concat") == 0, "original kept");
}

/** analog_fn_duplicate, what ANALOG_FN_REGISTER calls on a refusal,
 *  names the function and aborts (checked in a child process). */
static void test_duplicate_aborts(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        dup2(fds[1], 2);
        analog_fn_duplicate("F_Match");
    }
    close(fds[1]);
    char buf[256] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "duplicate aborts");
    CHECK(strstr(buf, "F_Match is registered twice") != NULL, "duplicate message");
}

/* ---- string functions ---- */

/** String functions: results, kinds kept, and type errors. */
static void test_string(void)
{
    call c = {0};
    sx_value r;
    uint8_t ip4[4] = {10, 0, 0, 1};
    EXPECT_STR(CALL(&c, "f_concat", &r, sx_value_cstr("a="), sx_value_int(-12),
                    sx_value_cstr(" f="), sx_value_float(1.5), sx_value_cstr(" b="),
                    sx_value_bool(true), sx_value_cstr(" ip="), sx_value_ip4(ip4),
                    sx_value_bytes("!", 1)),
               &r, "a=-12 f=1.5 b=true ip=10.0.0.1!");
    EXPECT_STR(CALL(&c, "F_Concat", &r, sx_value_cstr("")), &r, "");
    EXPECT_ERR(CALL(&c, "f_concat", &r, sx_value_cstr("a"), sx_value_null()), &c,
               "f_concat: argument 2 must be", "not null");

    EXPECT_INT(CALL(&c, "f_strlen", &r, sx_value_cstr("hello")), &r, 5);
    EXPECT_INT(CALL(&c, "f_strlen", &r, sx_value_bytes("a\0b", 3)), &r, 3);
    EXPECT_ERR(CALL(&c, "f_strlen", &r, sx_value_int(5)), &c, "f_strlen: argument 1", "not int");

    EXPECT_STR(CALL(&c, "f_substr", &r, sx_value_cstr("hello world"), sx_value_int(6),
                    sx_value_int(5)), &r, "world");
    EXPECT_STR(CALL(&c, "f_substr", &r, sx_value_cstr("hello"), sx_value_int(3),
                    sx_value_int(100)), &r, "lo");
    EXPECT_STR(CALL(&c, "f_substr", &r, sx_value_cstr("hello"), sx_value_int(9),
                    sx_value_int(1)), &r, "");
    EXPECT_ERR(CALL(&c, "f_substr", &r, sx_value_cstr("hello"), sx_value_int(-1),
                    sx_value_int(1)), &c, "f_substr: argument 2 must not be negative", NULL);
    EXPECT_ERR(CALL(&c, "f_substr", &r, sx_value_cstr("hello"), sx_value_int(0),
                    sx_value_cstr("2")), &c, "f_substr: argument 3 must be an int", "not string");
    CHECK(CALL(&c, "f_substr", &r, sx_value_bytes("\x01\x02\x03", 3), sx_value_int(1),
               sx_value_int(1)) == 0 && r.kind == SX_BYTES && r.u.blob->len == 1 &&
          r.u.blob->data[0] == 2, "f_substr keeps bytes as bytes");
    sx_value_release(&r);

    EXPECT_STR(CALL(&c, "f_lower", &r, sx_value_cstr("MiXeD 42")), &r, "mixed 42");
    EXPECT_STR(CALL(&c, "f_upper", &r, sx_value_cstr("MiXeD 42")), &r, "MIXED 42");
    EXPECT_ERR(CALL(&c, "f_upper", &r, sx_value_bool(true)), &c, "f_upper: argument 1", "bool");

    EXPECT_STR(CALL(&c, "f_contains", &r, sx_value_cstr("say hello"), sx_value_cstr("hello")),
               &r, "true");
    EXPECT_STR(CALL(&c, "f_contains", &r, sx_value_cstr("say hello"), sx_value_cstr("bye")),
               &r, "false");
    EXPECT_STR(CALL(&c, "f_contains", &r, sx_value_bytes("a\0b", 3), sx_value_bytes("\0b", 2)),
               &r, "true");
    EXPECT_ERR(CALL(&c, "f_contains", &r, sx_value_cstr("x"), sx_value_int(1)), &c,
               "f_contains: argument 2", "not int");

    EXPECT_STR(CALL(&c, "f_tostring", &r, sx_value_int(42)), &r, "42");
    EXPECT_STR(CALL(&c, "f_tostring", &r, sx_value_float(-0.25)), &r, "-0.25");
    EXPECT_STR(CALL(&c, "f_tostring", &r, sx_value_bool(false)), &r, "false");
    EXPECT_STR(CALL(&c, "f_tostring", &r, sx_value_cstr("s")), &r, "s");
    EXPECT_STR(CALL(&c, "f_tostring", &r, sx_value_bytes("raw", 3)), &r, "raw");
    EXPECT_STR(CALL(&c, "f_tostring", &r, sx_value_null()), &r, "null");
    sx_value list = sx_value_list(2);
    sx_value_list_set(&list, 0, NULL, sx_value_int(1));
    sx_value_list_set(&list, 1, NULL, sx_value_cstr("a"));
    EXPECT_STR(CALL(&c, "f_tostring", &r, list), &r, "[1, \"a\"]");

    EXPECT_INT(CALL(&c, "f_toint", &r, sx_value_cstr(" -123 ")), &r, -123);
    EXPECT_INT(CALL(&c, "f_toint", &r, sx_value_bytes("77", 2)), &r, 77);
    EXPECT_INT(CALL(&c, "f_toint", &r, sx_value_int(5)), &r, 5);
    EXPECT_INT(CALL(&c, "f_toint", &r, sx_value_float(-2.9)), &r, -2);
    EXPECT_ERR(CALL(&c, "f_toint", &r, sx_value_cstr("12abc")), &c, "f_toint",
               "not a number");
    EXPECT_ERR(CALL(&c, "f_toint", &r, sx_value_cstr("")), &c, "f_toint", "not a number");
    EXPECT_ERR(CALL(&c, "f_toint", &r, sx_value_bytes("1\0" "2", 3)), &c, "f_toint",
               "not a number");
    EXPECT_ERR(CALL(&c, "f_toint", &r, sx_value_cstr("99999999999999999999")), &c, "f_toint",
               "out of range");
    EXPECT_ERR(CALL(&c, "f_toint", &r, sx_value_float(1e300)), &c, "f_toint", "fit");
    EXPECT_ERR(CALL(&c, "f_toint", &r, sx_value_bool(true)), &c, "f_toint: argument 1",
               "not bool");
}

/* ---- IP functions ---- */

/** IP functions, f_ipInNet with a prepared and a per-call network. */
static void test_ip(void)
{
    call c = {0};
    sx_value r;
    uint8_t ip4[4] = {192, 168, 1, 20};
    uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    EXPECT_STR(CALL(&c, "f_iptostr", &r, sx_value_ip4(ip4)), &r, "192.168.1.20");
    EXPECT_STR(CALL(&c, "F_IPTOSTR", &r, sx_value_ip6(ip6)), &r, "2001:db8::1");
    EXPECT_ERR(CALL(&c, "f_IPtoSTR", &r, sx_value_cstr("1.2.3.4")), &c,
               "f_IPtoSTR: argument 1 must be an IP address", "not string");

    CHECK(CALL(&c, "f_strToIP", &r, sx_value_cstr("192.168.1.20")) == 0 && r.kind == SX_IP &&
          r.u.ip.family == 4 && memcmp(r.u.ip.addr, ip4, 4) == 0, "f_strToIP v4");
    CHECK(CALL(&c, "F_STRTOIP", &r, sx_value_cstr("2001:db8::1")) == 0 && r.kind == SX_IP &&
          r.u.ip.family == 6 && memcmp(r.u.ip.addr, ip6, 16) == 0, "f_strToIP v6");
    EXPECT_ERR(CALL(&c, "f_strToIP", &r, sx_value_cstr("300.1.1.1")), &c, "f_strToIP",
               "not an IPv4 or IPv6 address");
    EXPECT_ERR(CALL(&c, "f_strToIP", &r, sx_value_bytes("1.2.3.4\0x", 9)), &c, "f_strToIP",
               "not an IPv4");
    EXPECT_ERR(CALL(&c, "f_strToIP", &r, sx_value_int(1)), &c, "f_strToIP: argument 1",
               "not int");

    c.const_mask = C1; /* the network is a constant: prepared once */
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("192.168.0.0/16")),
               &r, "true");
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("10.0.0.0/8")), &r,
               "false");
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("192.168.1.17/29")),
               &r, "true"); /* host bits ignored: .16/29 holds .16-.23 */
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("192.168.1.24/29")),
               &r, "false");
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("0.0.0.0/0")), &r,
               "true");
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("192.168.1.20")), &r,
               "true");
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip6(ip6), sx_value_cstr("2001:db8::/32")), &r,
               "true");
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip6(ip6), sx_value_cstr("0.0.0.0/0")), &r,
               "false");
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_cstr("10.9.8.7"), sx_value_cstr("10.0.0.0/8")),
               &r, "true");
    EXPECT_PREP_ERR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("10.0.0.0/33")),
                    &c, "f_ipInNet: argument 2 is not a network", "10.0.0.0/33");
    EXPECT_PREP_ERR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("nonsense/8")),
                    &c, "f_ipInNet: argument 2 is not a network", NULL);
    EXPECT_PREP_ERR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_int(8)), &c,
                    "f_ipInNet: argument 2 must be a string", "not int");
    EXPECT_ERR(CALL(&c, "f_ipInNet", &r, sx_value_int(3), sx_value_cstr("10.0.0.0/8")), &c,
               "f_ipInNet: argument 1 must be an IP address", "not int");

    c.const_mask = 0; /* a network computed per packet: parsed per call */
    EXPECT_STR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("192.168.0.0/16")),
               &r, "true");
    EXPECT_ERR(CALL(&c, "f_ipInNet", &r, sx_value_ip4(ip4), sx_value_cstr("192.168.0.0/x")), &c,
               "f_ipInNet: argument 2 is not a network", NULL);
}

/* ---- arithmetic ---- */

/** Arithmetic: exact mixed comparisons, overflow and division errors. */
static void test_arith(void)
{
    call c = {0};
    sx_value r;
    EXPECT_INT(CALL(&c, "f_min", &r, sx_value_int(3), sx_value_int(-7), sx_value_int(5)), &r, -7);
    EXPECT_INT(CALL(&c, "F_MAX", &r, sx_value_int(3), sx_value_int(-7), sx_value_int(5)), &r, 5);
    EXPECT_INT(CALL(&c, "f_max", &r, sx_value_int(9)), &r, 9);
    CHECK(CALL(&c, "f_min", &r, sx_value_int(2), sx_value_float(1.5)) == 0 &&
          r.kind == SX_FLOAT && r.u.f == 1.5, "f_min of int and float keeps the float");
    EXPECT_INT(CALL(&c, "f_max", &r, sx_value_int(2), sx_value_float(1.5)), &r, 2);
    /* exact: 2^53 + 1 is above the double 2^53 although (double)(2^53 + 1) == 2^53 */
    EXPECT_INT(CALL(&c, "f_max", &r, sx_value_float(9007199254740992.0),
                    sx_value_int(9007199254740993)), &r, 9007199254740993);
    EXPECT_ERR(CALL(&c, "f_min", &r, sx_value_int(1), sx_value_cstr("2")), &c,
               "f_min: argument 2 must be an int or a float", "not string");

    EXPECT_INT(CALL(&c, "f_abs", &r, sx_value_int(-4)), &r, 4);
    CHECK(CALL(&c, "f_abs", &r, sx_value_float(-2.5)) == 0 && r.kind == SX_FLOAT &&
          r.u.f == 2.5, "f_abs float");
    EXPECT_ERR(CALL(&c, "f_abs", &r, sx_value_int(INT64_MIN)), &c, "f_abs", "overflows");
    EXPECT_ERR(CALL(&c, "f_abs", &r, sx_value_cstr("1")), &c, "f_abs: argument 1", "string");

    EXPECT_INT(CALL(&c, "f_div", &r, sx_value_int(7), sx_value_int(2)), &r, 3);
    EXPECT_INT(CALL(&c, "f_div", &r, sx_value_int(-7), sx_value_int(2)), &r, -3);
    EXPECT_ERR(CALL(&c, "f_div", &r, sx_value_int(7), sx_value_int(0)), &c, "f_div",
               "division by zero");
    EXPECT_ERR(CALL(&c, "f_div", &r, sx_value_int(INT64_MIN), sx_value_int(-1)), &c, "f_div",
               "overflows");
    EXPECT_ERR(CALL(&c, "f_div", &r, sx_value_int(7), sx_value_float(2.0)), &c,
               "f_div: argument 2 must be an int", "not float");

    sx_value key = sx_value_cstr("flow-1");
    EXPECT_INT(CALL(&c, "f_hash", &r, sx_value_cstr("flow-1")), &r,
               (int64_t)sx_value_hash(&key));
    sx_value_release(&key);
    sx_value h1, h2;
    CHECK(CALL(&c, "f_hash", &h1, sx_value_int(1)) == 0 &&
          CALL(&c, "f_hash", &h2, sx_value_int(2)) == 0 && h1.u.i != h2.u.i,
          "different values hash differently");
}

/* ---- f_match ---- */

/** f_match: prepared and per-call patterns, bytes, compile errors. */
static void test_match(void)
{
    call c = {.const_mask = C1};
    sx_value r;
    EXPECT_STR(CALL(&c, "F_MATCH", &r, sx_value_cstr("Subject: hello there"),
                    sx_value_cstr("hello")), &r, "true");
    EXPECT_STR(CALL(&c, "f_match", &r, sx_value_cstr("Subject: bye"), sx_value_cstr("hello")),
               &r, "false");
    EXPECT_STR(CALL(&c, "f_match", &r, sx_value_cstr("ID 12345"), sx_value_cstr("^ID \\d{5}$")),
               &r, "true");
    /* bytes are matched as they are: invalid UTF-8 and NUL bytes included */
    EXPECT_STR(CALL(&c, "f_match", &r, sx_value_bytes("\xff\xfe\0hello", 8),
                    sx_value_cstr("\\x00hel+o")), &r, "true");
    EXPECT_STR(CALL(&c, "f_match", &r, sx_value_bytes("\xc3(", 2), sx_value_cstr("^\\xc3\\($")),
               &r, "true");
    EXPECT_PREP_ERR(CALL(&c, "f_match", &r, sx_value_cstr("x"), sx_value_cstr("ab(c")), &c,
                    "f_match: argument 2: bad pattern at offset 4",
                    "missing closing parenthesis");
    EXPECT_PREP_ERR(CALL(&c, "f_match", &r, sx_value_cstr("x"), sx_value_cstr("(*UTF)x")), &c,
                    "f_match: argument 2: bad pattern", NULL);
    EXPECT_PREP_ERR(CALL(&c, "f_match", &r, sx_value_cstr("x"), sx_value_int(1)), &c,
                    "f_match: argument 2 must be a string", "not int");
    EXPECT_ERR(CALL(&c, "f_match", &r, sx_value_int(1), sx_value_cstr("1")), &c,
               "f_match: argument 1 must be a string or bytes", "not int");

    c.const_mask = 0; /* per-call patterns, through the thread's cache */
    EXPECT_STR(CALL(&c, "f_match", &r, sx_value_cstr("abc"), sx_value_cstr("b")), &r, "true");
    EXPECT_STR(CALL(&c, "f_match", &r, sx_value_cstr("abc"), sx_value_cstr("b")), &r, "true");
    EXPECT_STR(CALL(&c, "f_match", &r, sx_value_cstr("abc"), sx_value_cstr("^b")), &r, "false");
    fn_match_stats before, after;
    fn_match_stats_get(&before);
    EXPECT_ERR(CALL(&c, "f_match", &r, sx_value_cstr("x"), sx_value_cstr("[z-a]")), &c,
               "f_match: argument 2: bad pattern at offset", "range out of order");
    EXPECT_ERR(CALL(&c, "f_match", &r, sx_value_cstr("x"), sx_value_bool(true)), &c,
               "f_match: argument 2 must be a string", "not bool");
    fn_match_stats_get(&after);
    CHECK(after.compile_errors == before.compile_errors + 1, "compile errors are counted");
}

/** A pattern with catastrophic backtracking stops at the match limit,
 *  with an error and a count, instead of hanging the worker. */
static void test_match_limit(void)
{
    fn_match_stats before, after;
    for (unsigned mask = 0; mask <= C1; mask += C1) {
        call c = {.const_mask = mask};
        sx_value r;
        struct timespec t0, t1;
        fn_match_stats_get(&before);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = CALL(&c, "f_match", &r, sx_value_cstr("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"),
                      sx_value_cstr("(a+)+$"));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        fn_match_stats_get(&after);
        EXPECT_ERR(rc, &c, "f_match", "match limit exceeded");
        CHECK(after.limit_hits == before.limit_hits + 1, "limit hits are counted");
        printf("catastrophic pattern (%s) stopped after %.3f s\n", mask ? "constant" : "per call",
               (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
}

/* ---- f_match from several threads ---- */

#define MATCH_THREADS 6
#define MATCH_ROUNDS 3000

typedef struct match_job {
    const analog_fn_def *def;
    void *prepared; /* "hello", compiled once, shared by all threads */
    unsigned worker;
    const char *failure;
} match_job;

/** One worker: alternates the shared prepared pattern with more
 *  distinct per-call patterns than the cache holds (so it evicts). */
static void *match_worker(void *arg)
{
    match_job *job = arg;
    char err[256];
    for (unsigned i = 0; i < MATCH_ROUNDS && !job->failure; i++) {
        char text[64], pat[32];
        bool hello = (i + job->worker) % 3 == 0;
        unsigned k = i % (FN_MATCH_CACHE + 3);
        snprintf(text, sizeof text, "%s mail %u from %u", hello ? "hello" : "hi", k, job->worker);
        snprintf(pat, sizeof pat, "mail %u from %u$", k, job->worker);
        sx_value args[2] = {sx_value_cstr(text), sx_value_cstr(pat)};
        sx_value r = sx_value_null();
        analog_fn_ctx ctx = {.worker = job->worker, .workers = MATCH_THREADS,
                             .prepared = job->prepared, .err = err, .errlen = sizeof err};
        if (job->def->call(&ctx, args, 2, &r) != 0 || !is_str(&r, hello ? "true" : "false"))
            job->failure = "prepared pattern gave a wrong answer";
        sx_value_release(&r);
        ctx.prepared = NULL;
        if (job->def->call(&ctx, args, 2, &r) != 0 || !is_str(&r, "true"))
            job->failure = "per-call pattern gave a wrong answer";
        sx_value_release(&r);
        sx_value_release(&args[0]);
        sx_value_release(&args[1]);
    }
    return NULL;
}

/** f_match from MATCH_THREADS threads at once, one shared prepared pattern. */
static void test_match_threads(void)
{
    const analog_fn_def *def = analog_fn_lookup("f_match");
    sx_value pat = sx_value_cstr("^hello");
    bool is_const[2] = {false, true};
    char err[256];
    void *prepared = NULL;
    sx_value args[2] = {sx_value_null(), pat};
    CHECK(def->prepare(args, is_const, 2, &prepared, err, sizeof err) == 0 && prepared,
          "prepare ^hello");
    pthread_t tid[MATCH_THREADS];
    match_job jobs[MATCH_THREADS];
    fn_match_stats before, after;
    fn_match_stats_get(&before);
    for (unsigned w = 0; w < MATCH_THREADS; w++) {
        jobs[w] = (match_job){.def = def, .prepared = prepared, .worker = w};
        CHECK(pthread_create(&tid[w], NULL, match_worker, &jobs[w]) == 0, "pthread_create");
    }
    for (unsigned w = 0; w < MATCH_THREADS; w++) {
        CHECK(pthread_join(tid[w], NULL) == 0, "pthread_join");
        CHECK(jobs[w].failure == NULL, jobs[w].failure);
    }
    fn_match_stats_get(&after);
    CHECK(after.evictions > before.evictions, "more patterns than the cache holds evict");
    CHECK(after.compiles - before.compiles <= (uint64_t)MATCH_THREADS * MATCH_ROUNDS,
          "compiles are counted");
    def->prepared_free(prepared);
    sx_value_release(&pat);
}

/* ---- f_traffic and f_now ---- */

#define TRAFFIC_WORKERS 4
#define TRAFFIC_ROUNDS 5000

typedef struct traffic_job {
    const analog_fn_def *def;
    void *prepared; /* counter "input" */
    unsigned worker;
    const char *failure;
} traffic_job;

/** One worker counts TRAFFIC_ROUNDS packets of worker + 1 bytes under
 *  "input", and as many empty ones under a per-call name "other". */
static void *traffic_worker(void *arg)
{
    traffic_job *job = arg;
    char err[256];
    char pkt[TRAFFIC_WORKERS] = {0};
    for (unsigned i = 0; i < TRAFFIC_ROUNDS; i++) {
        sx_value args[2] = {sx_value_bytes(pkt, job->worker + 1), sx_value_cstr("input")};
        analog_fn_ctx ctx = {.worker = job->worker, .workers = TRAFFIC_WORKERS,
                             .prepared = job->prepared, .err = err, .errlen = sizeof err};
        sx_value r = sx_value_null();
        if (job->def->call(&ctx, args, 2, &r) != 0 || r.kind != SX_INT || r.u.i != 1)
            job->failure = "f_traffic did not return 1";
        sx_value_release(&args[0]);
        sx_value_release(&args[1]);
        args[0] = sx_value_int(7); /* not a packet: counted, 0 bytes */
        args[1] = sx_value_cstr("other");
        ctx.prepared = NULL;
        if (job->def->call(&ctx, args, 2, &r) != 0)
            job->failure = "f_traffic with a per-call name failed";
        sx_value_release(&args[1]);
    }
    return NULL;
}

/** f_traffic counted from TRAFFIC_WORKERS workers; the reports; f_now. */
static void test_traffic(void)
{
    const analog_fn_def *def = analog_fn_lookup("F_TRAFFIC");
    CHECK(def != NULL, "f_traffic");
    sx_value args[2] = {sx_value_null(), sx_value_cstr("input")};
    bool is_const[2] = {false, true};
    char err[256];
    void *prepared = NULL;
    CHECK(def->prepare(args, is_const, 2, &prepared, err, sizeof err) == 0 && prepared,
          "prepare \"input\"");
    sx_value_release(&args[1]);
    pthread_t tid[TRAFFIC_WORKERS];
    traffic_job jobs[TRAFFIC_WORKERS];
    for (unsigned w = 0; w < TRAFFIC_WORKERS; w++) {
        jobs[w] = (traffic_job){.def = def, .prepared = prepared, .worker = w};
        CHECK(pthread_create(&tid[w], NULL, traffic_worker, &jobs[w]) == 0, "pthread_create");
    }
    for (unsigned w = 0; w < TRAFFIC_WORKERS; w++) {
        CHECK(pthread_join(tid[w], NULL) == 0, "pthread_join");
        CHECK(jobs[w].failure == NULL, jobs[w].failure);
    }
    def->prepared_free(prepared);

    uint64_t packets, bytes;
    CHECK(fn_traffic_counts("input", &packets, &bytes) == 0, "counter input exists");
    CHECK(packets == TRAFFIC_WORKERS * TRAFFIC_ROUNDS, "input packets");
    CHECK(bytes == TRAFFIC_ROUNDS * (1 + 2 + 3 + 4), "input bytes: worker w sent w + 1 each");
    CHECK(fn_traffic_counts("other", &packets, &bytes) == 0 && packets == 4 * TRAFFIC_ROUNDS &&
          bytes == 0, "other: packets counted, no bytes");
    CHECK(fn_traffic_counts("nothing", &packets, &bytes) == -1 && packets == 0,
          "unknown counter");

    call c = {.const_mask = C1};
    sx_value r;
    EXPECT_PREP_ERR(CALL(&c, "f_traffic", &r, sx_value_cstr("p"), sx_value_int(3)), &c,
                    "f_traffic: argument 2 must be a string", "not int");
    c.const_mask = 0;
    EXPECT_ERR(CALL(&c, "f_traffic", &r, sx_value_cstr("p"), sx_value_float(3)), &c,
               "f_traffic: argument 2 must be a string", "not float");

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL, "open_memstream");
    CHECK(fn_traffic_json(f) == 0, "fn_traffic_json");
    fn_traffic_report(f);
    CHECK(fclose(f) == 0, "fclose");
    CHECK(strstr(buf, "{\"input\": {\"packets\": 20000, \"bytes\": 50000}, "
                      "\"other\": {\"packets\": 20000, \"bytes\": 0}}") == buf, buf);
    CHECK(strstr(buf, "traffic counter") && strstr(buf, "input"), "the table");
    free(buf);

    c.now_ns = 1700000000123456789;
    sx_value none[1];
    EXPECT_INT(call_fn(&c, "F_NOW", none, 0, &r), &r, 1700000000123456789);
}

int main(void)
{
    test_registry();
    test_duplicates();
    test_duplicate_aborts();
    test_string();
    test_ip();
    test_arith();
    test_match();
    test_match_limit();
    test_match_threads();
    test_traffic();
    printf("test_functions: all checks passed (%u functions)\n", analog_fn_count());
    return 0;
}
