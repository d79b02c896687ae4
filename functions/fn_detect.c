/*
 * fn_detect.c -- f_processTCPDetector(TCP_MESSAGE, FLOW_ID): content-based
 * protocol detection on reassembled TCP streams, on any port.
 *
 * Per connection (stateful: one state per context key, in its lane) it
 * keeps the first bytes of each direction, up to DETECT_WINDOW, and
 * decides once:
 *   SMTP  the responder greets "220 " or "220-" and the initiator says
 *         EHLO or HELO (FTP also greets with 220: the EHLO decides);
 *   HTTP  the initiator's first line is "METHOD target HTTP/1.x", or the
 *         responder's starts "HTTP/1.";
 *   SIP   a first line "METHOD sip:... SIP/2.0" or "SIP/2.0 code ...".
 * After the decision every message of the connection returns the
 * protocol ("SMTP", "HTTP", "SIP"), including the closing one, so the
 * next stage sees the end. Before it, messages return "". A connection
 * that shows neither within DETECT_WINDOW bytes each way, or whose first
 * lines rule them out, is "UNKNOWN" from then on.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"
#include "analog/functions.h"
#include "functions/fn_args.h"
#include "proto/alloc.h"

#define DETECT_WINDOW 512

typedef enum proto { UNDECIDED = 0, SMTP, HTTP, SIP, UNKNOWN } proto;

static const char *const proto_names[] = {"", "SMTP", "HTTP", "SIP", "UNKNOWN"};

typedef struct detect_state {
    proto decided;
    size_t len[2];                /* bytes kept per direction: 0 c2s, 1 s2c */
    char head[2][DETECT_WINDOW]; /* the first bytes of each direction */
} detect_state;

static analog_counter c_smtp = {.name = "detect.smtp", .summary = "connections detected as SMTP"};
ANALOG_COUNTER_REGISTER(c_smtp)
static analog_counter c_http = {.name = "detect.http", .summary = "connections detected as HTTP"};
ANALOG_COUNTER_REGISTER(c_http)
static analog_counter c_sip = {.name = "detect.sip", .summary = "connections detected as SIP"};
ANALOG_COUNTER_REGISTER(c_sip)
static analog_counter c_unknown = {
    .name = "detect.unknown", .summary = "connections no detector recognized"};
ANALOG_COUNTER_REGISTER(c_unknown)

/** New state: nothing seen, nothing decided. */
static void *detect_new(void)
{
    return sx_calloc(1, sizeof(detect_state));
}

/** Frees a state. */
static void detect_free(void *s)
{
    free(s);
}

/** Length of the first line of s[0..n) without its line end, or -1 if
 *  the line is not complete yet. */
static long line_len(const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    if (!nl)
        return -1;
    long l = nl - s;
    return l > 0 && s[l - 1] == '\r' ? l - 1 : l;
}

/** True when s[0..n) starts with the case-insensitive word w. */
static bool starts_ci(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    return n >= k && strncasecmp(s, w, k) == 0;
}

/** True when line[0..n) is "TOKEN SP target SP version" with version
 *  starting with ver ("HTTP/1." or "SIP/2.0") and, for SIP, a target
 *  starting with "sip:" or "sips:". */
static bool request_line(const char *line, long n, const char *ver, bool sip)
{
    long i = 0;
    while (i < n && isupper((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= n || line[i] != ' ')
        return false;
    const char *target = line + i + 1;
    const char *sp = memchr(target, ' ', (size_t)(n - i - 1));
    if (!sp || sp == target)
        return false;
    if (sip && !starts_ci(target, (size_t)(sp - target), "sip:") &&
        !starts_ci(target, (size_t)(sp - target), "sips:"))
        return false;
    size_t rest = (size_t)(line + n - sp - 1);
    return rest >= strlen(ver) && strncmp(sp + 1, ver, strlen(ver)) == 0;
}

/** Decides from the initiator's (c) and responder's (s) first lines
 *  whatever can be decided now. */
static proto decide(const detect_state *st)
{
    const char *c = st->head[0], *s = st->head[1];
    long cl = line_len(c, st->len[0]), sl = line_len(s, st->len[1]);
    bool greeting = st->len[1] >= 4 && strncmp(s, "220", 3) == 0 && (s[3] == ' ' || s[3] == '-');
    if (greeting && cl >= 0 && (starts_ci(c, (size_t)cl, "EHLO") || starts_ci(c, (size_t)cl, "HELO")))
        return SMTP;
    if ((cl >= 0 && request_line(c, cl, "HTTP/1.", false)) || starts_ci(s, st->len[1], "HTTP/1."))
        return HTTP;
    if ((cl >= 0 && (request_line(c, cl, "SIP/2.0", true) || starts_ci(c, (size_t)cl, "SIP/2.0 "))) ||
        (sl >= 0 && starts_ci(s, (size_t)sl, "SIP/2.0 ")))
        return SIP;
    bool c_done = cl >= 0 || st->len[0] == DETECT_WINDOW;
    bool s_done = sl >= 0 || st->len[1] == DETECT_WINDOW;
    /* both first lines are in and none matched, unless an SMTP greeting
     * still waits for its EHLO (the initiator speaks after the 220) */
    if (c_done && (s_done || st->len[1] == 0) && !(greeting && cl < 0))
        return st->len[0] ? UNKNOWN : UNDECIDED;
    return UNDECIDED;
}

/** Counts a decision. */
static void count(proto p)
{
    analog_counter *c = p == SMTP ? &c_smtp : p == HTTP ? &c_http : p == SIP ? &c_sip : &c_unknown;
    analog_counter_add(c, 1);
}

/** Keeps the first bytes of data in direction d. */
static void keep(detect_state *st, int d, const sx_blob *data)
{
    if (!data || st->len[d] == DETECT_WINDOW)
        return;
    size_t n = data->len < DETECT_WINDOW - st->len[d] ? data->len : DETECT_WINDOW - st->len[d];
    memcpy(st->head[d] + st->len[d], data->data, n);
    st->len[d] += n;
}

/** f_processTCPDetector(TCP_MESSAGE, FLOW_ID): the connection's protocol
 *  once known ("SMTP", "HTTP", "SIP", "UNKNOWN"), "" before. */
static int f_processTCPDetector(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs,
                                sx_value *result)
{
    detect_state *st = ctx->state;
    const sx_value *msg = &args[0];
    if (msg->kind != SX_RECORD) {
        if (fn_args_is_text(msg) && (!msg->u.blob || msg->u.blob->len == 0)) {
            *result = sx_value_cstr("");
            return 0;
        }
        return fn_args_type_error(ctx, "f_processTCPDetector", 1,
                                  "a TCP message (f_processTCP) or \"\"", msg);
    }
    if (st->decided == UNDECIDED) {
        const sx_value *dir = sx_value_field(msg, "dir");
        const sx_value *data = sx_value_field(msg, "data");
        if (dir && data && fn_args_is_text(dir) && fn_args_is_text(data) && dir->u.blob &&
            dir->u.blob->len == 3)
            keep(st, dir->u.blob->data[0] == 'c' ? 0 : 1, data->u.blob);
        st->decided = decide(st);
        if (st->decided != UNDECIDED)
            count(st->decided);
    }
    *result = sx_value_cstr(proto_names[st->decided]);
    return 0;
}

static const analog_fn_def fn_processtcpdetector_def = {
    .name = "f_processTCPDetector", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_STATEFUL,
    .call = f_processTCPDetector, .state_new = detect_new, .state_free = detect_free,
    .idle_timeout_ns = 600LL * 1000000000LL,
    .summary = "f_processTCPDetector(TCP_MESSAGE, FLOW_ID): the connection's protocol by "
               "content, any port: \"SMTP\", \"HTTP\", \"SIP\", \"UNKNOWN\"; \"\" until known",
};
ANALOG_FN_REGISTER(fn_processtcpdetector_def)
