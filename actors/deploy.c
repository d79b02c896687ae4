/*
 * deploy.c -- reads deployment files and key files (deploy.h).
 *
 * The format is line based: a keyword and whitespace-separated words.
 * Every check that can be made without the network is made here, so a
 * typo fails at start-up with its line number rather than as a link
 * that never connects.
 */
#include "deploy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "proto/alloc.h"
#include "proto/value.h"

enum { MAX_WORDS = 64, KEY_LEN = 40 };

static const sx_deploy *current; /* set once at start-up, read-only after */

void sx_deploy_set_current(const sx_deploy *d) { current = d; }
const sx_deploy *sx_deploy_current(void) { return current; }

/** Copies a string, aborting when memory is out. */
static char *str_dup(const char *s)
{
    char *c = strdup(s);
    if (!c)
        sx_alloc_fail(strlen(s) + 1);
    return c;
}

/** Formats "path:line: message" into err; returns -1. */
static int fail_at(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
    int k = snprintf(err, errlen, "%s:%d: ", path, line);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < errlen)
        vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

/** Splits line into words at whitespace (in place). A word starting
 *  with '#' starts a comment; '#' inside a word is kept (Z85 keys may
 *  hold one). */
static int split_words(char *line, char **w)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r\n", &save); tok && tok[0] != '#' && n < MAX_WORDS;
         tok = strtok_r(NULL, " \t\r\n", &save))
        w[n++] = tok;
    return n;
}

/** True when s names a node or a group already. */
static bool name_taken(const sx_deploy *d, const char *s)
{
    return sx_deploy_find(d, s) >= 0 || sx_deploy_group_find(d, s) != NULL;
}

/** A valid Z85 public key: 40 characters that decode to 32 bytes. */
static bool key_ok(const char *k)
{
    uint8_t raw[32];
    return strlen(k) == KEY_LEN && zmq_z85_decode(raw, k) != NULL;
}

/** `node NAME ENDPOINT [source] [bind=EP]` */
static int parse_node(sx_deploy *d, char **w, int n, const char *path, int line, char *err,
                      size_t errlen)
{
    if (n < 3)
        return fail_at(err, errlen, path, line, "'node' wants NAME ENDPOINT [source] [bind=EP]");
    if (name_taken(d, w[1]))
        return fail_at(err, errlen, path, line, "'%s' is defined twice", w[1]);
    if (strncmp(w[2], "tcp://", 6) != 0 && strncmp(w[2], "ipc://", 6) != 0)
        return fail_at(err, errlen, path, line, "endpoint '%s' is not tcp://HOST:PORT", w[2]);
    sx_deploy_node nd = {.name = str_dup(w[1]), .endpoint = str_dup(w[2])};
    for (int i = 3; i < n; i++) {
        if (!strcmp(w[i], "source"))
            nd.source = true;
        else if (!strncmp(w[i], "bind=", 5) && w[i][5] && !nd.bind)
            nd.bind = str_dup(w[i] + 5);
        else {
            free(nd.name), free(nd.endpoint), free(nd.bind);
            return fail_at(err, errlen, path, line, "unknown node option '%s' (source, bind=EP)",
                           w[i]);
        }
    }
    if (!nd.bind)
        nd.bind = str_dup(nd.endpoint);
    d->nodes = sx_realloc(d->nodes, (d->n + 1) * sizeof *d->nodes);
    d->nodes[d->n++] = nd;
    return 0;
}

/** `group NAME MEMBER...` (members must be nodes defined above). */
static int parse_group(sx_deploy *d, char **w, int n, const char *path, int line, char *err,
                       size_t errlen)
{
    if (n < 3)
        return fail_at(err, errlen, path, line, "'group' wants NAME MEMBER...");
    if (name_taken(d, w[1]))
        return fail_at(err, errlen, path, line, "'%s' is defined twice", w[1]);
    sx_deploy_group g = {.name = str_dup(w[1]), .members = sx_calloc((size_t)n - 2, sizeof(uint32_t))};
    for (int i = 2; i < n; i++) {
        int k = sx_deploy_find(d, w[i]);
        bool again = false;
        for (size_t j = 0; j < g.n; j++)
            again |= g.members[j] == (uint32_t)k;
        if (k < 0 || again) {
            free(g.name), free(g.members);
            return fail_at(err, errlen, path, line, k < 0 ? "group member '%s' is not a node "
                           "defined above" : "'%s' is in the group twice", w[i]);
        }
        g.members[g.n++] = (uint32_t)k;
    }
    d->groups = sx_realloc(d->groups, (d->ngroups + 1) * sizeof *d->groups);
    d->groups[d->ngroups++] = g;
    return 0;
}

/** `key NAME Z85` */
static int parse_key(sx_deploy *d, char **w, int n, const char *path, int line, char *err,
                     size_t errlen)
{
    if (n != 3)
        return fail_at(err, errlen, path, line, "'key' wants NAME PUBLIC-KEY");
    int k = sx_deploy_find(d, w[1]);
    if (k < 0)
        return fail_at(err, errlen, path, line, "key for '%s', which is not a node defined above",
                       w[1]);
    if (d->nodes[k].public_key)
        return fail_at(err, errlen, path, line, "a second key for '%s'", w[1]);
    if (!key_ok(w[2]))
        return fail_at(err, errlen, path, line, "'%s' is not a Z85 CurveZMQ public key "
                       "(40 characters; `scalanytics keygen` writes one)", w[2]);
    d->nodes[k].public_key = str_dup(w[2]);
    return 0;
}

/** Whole-file checks once every line is read. */
static int check_all(sx_deploy *d, const char *path, int lines, char *err, size_t errlen)
{
    if (d->n == 0)
        return fail_at(err, errlen, path, lines, "no nodes defined");
    size_t keyed = 0, sources = 0;
    for (size_t i = 0; i < d->n; i++) {
        keyed += d->nodes[i].public_key != NULL;
        sources += d->nodes[i].source;
    }
    if (sources == 0)
        return fail_at(err, errlen, path, lines, "no node is marked 'source' (the node that "
                       "reads packets)");
    if (keyed != 0 && keyed != d->n)
        return fail_at(err, errlen, path, lines, "%zu of %zu nodes have a key: give every node "
                       "a key, or none", keyed, d->n);
    d->curve = keyed != 0;
    return 0;
}

/** Parses one line; 0 or -1. */
static int parse_line(sx_deploy *d, char *buf, const char *path, int line, char *err,
                      size_t errlen)
{
    char *w[MAX_WORDS];
    int n = split_words(buf, w);
    if (n == 0)
        return 0;
    if (n == MAX_WORDS)
        return fail_at(err, errlen, path, line, "more than %d words on a line", MAX_WORDS - 1);
    if (!strcmp(w[0], "node"))
        return parse_node(d, w, n, path, line, err, errlen);
    if (!strcmp(w[0], "group"))
        return parse_group(d, w, n, path, line, err, errlen);
    if (!strcmp(w[0], "key"))
        return parse_key(d, w, n, path, line, err, errlen);
    return fail_at(err, errlen, path, line, "unknown keyword '%s' (node, group, key)", w[0]);
}

sx_deploy *sx_deploy_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    sx_deploy *d = sx_calloc(1, sizeof *d);
    char *buf = NULL;
    size_t cap = 0;
    int line = 0, rc = 0;
    while (rc == 0 && getline(&buf, &cap, f) != -1)
        rc = parse_line(d, buf, path, ++line, err, errlen);
    free(buf);
    if (rc == 0 && ferror(f))
        rc = fail_at(err, errlen, path, line, "read error");
    fclose(f);
    if (rc == 0)
        rc = check_all(d, path, line, err, errlen);
    if (rc != 0)
        sx_deploy_free(&d);
    return d;
}

void sx_deploy_free(sx_deploy **dp)
{
    sx_deploy *d = *dp;
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->nodes[i].name);
        free(d->nodes[i].endpoint);
        free(d->nodes[i].bind);
        free(d->nodes[i].public_key);
    }
    for (size_t i = 0; i < d->ngroups; i++) {
        free(d->groups[i].name);
        free(d->groups[i].members);
    }
    free(d->nodes);
    free(d->groups);
    free(d);
    *dp = NULL;
}

int sx_deploy_find(const sx_deploy *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->nodes[i].name, name))
            return (int)i;
    return -1;
}

const sx_deploy_group *sx_deploy_group_find(const sx_deploy *d, const char *name)
{
    for (size_t i = 0; i < d->ngroups; i++)
        if (!strcmp(d->groups[i].name, name))
            return &d->groups[i];
    return NULL;
}

/** FNV-1a of a string, for rendezvous weights. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

const char *sx_deploy_partition(const sx_deploy *d, const sx_deploy_group *g, uint64_t key_hash)
{
    const char *best = NULL;
    uint64_t best_w = 0;
    for (size_t i = 0; i < g->n; i++) {
        const char *name = d->nodes[g->members[i]].name;
        uint64_t w = sx_hash_mix(key_hash ^ name_hash(name));
        if (!best || w > best_w) {
            best = name;
            best_w = w;
        }
    }
    return best;
}

/* ---- key files ---- */

int sx_keys_generate(const char *path, char *public40, char *err, size_t errlen)
{
    char secret[KEY_LEN + 1];
    if (zmq_curve_keypair(public40, secret) != 0) {
        snprintf(err, errlen, "cannot make a key pair: %s (is libzmq built with CURVE?)",
                 zmq_strerror(errno));
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "# scalanytics CurveZMQ key pair: keep this file secret; put the public\n"
               "# key in the deployment file as `key NODE PUBLIC`\n"
               "public = %s\nsecret = %s\n", public40, secret);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/** Copies the value of a `name = VALUE` line into out when it is a key. */
static void key_line(char *line, const char *name, char *out, bool *seen)
{
    char *w[MAX_WORDS];
    int n = split_words(line, w);
    if (n == 3 && !strcmp(w[0], name) && !strcmp(w[1], "=") && key_ok(w[2])) {
        memcpy(out, w[2], KEY_LEN + 1);
        *seen = true;
    }
}

int sx_keys_load(const char *path, char *public40, char *secret40, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
        return -1;
    }
    bool pub = false, sec = false;
    char *buf = NULL, copy[512];
    size_t cap = 0;
    while (getline(&buf, &cap, f) != -1) {
        snprintf(copy, sizeof copy, "%s", buf);
        key_line(buf, "public", public40, &pub);
        key_line(copy, "secret", secret40, &sec);
    }
    free(buf);
    fclose(f);
    if (!pub || !sec) {
        snprintf(err, errlen, "%s: no valid `public = ` and `secret = ` lines (write one with "
                 "`scalanytics keygen -o FILE`)", path);
        return -1;
    }
    return 0;
}
