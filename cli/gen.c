/*
 * gen.c -- `scalanytics gen GENERATOR [OPTIONS]`: write synthetic traces
 * with their ground truth, for tests and benchmarks. One generator so
 * far: smtp (tools/gen_smtp.c). The option parsing and the summary live
 * here; the traffic model in tools/.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/progress.h"
#include "cli.h"
#include "cli/corpus.h"
#include "proto/alloc.h"
#include "tools/gen_smtp.h"

#define PROGRESS_PACKETS 4096 /* packets between progress updates */
#define REPLAY_PATHS_MAX 256  /* --replay-dir options on one command line */

/** What --replay-dir and --split ask for, and the mails they find. */
typedef struct replay_args {
    const char *paths[REPLAY_PATHS_MAX];
    size_t npaths;
    unsigned split_pct;     /* 0: all the mails */
    const char *synthetic;  /* an option of synthetic mails that was given, or NULL */
    cli_corpus corpus;
    sx_mail_replay *mails;  /* corpus.n of them, pointing into corpus */
} replay_args;

/** Prints gen's own help (the list of generators). */
static void gen_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics gen GENERATOR [OPTIONS]\n"
        "\n"
        "Writes a synthetic packet trace and a ground-truth file saying what is in it,\n"
        "deterministically: the same options give the same bytes.\n"
        "\n"
        "generators:\n"
        "  smtp    concurrent SMTP sessions delivering mails, a phrase planted in some\n"
        "\n"
        "'scalanytics gen GENERATOR --help' explains a generator and its options.\n");
}

/** Prints `gen smtp`'s help. */
static void gen_smtp_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics gen smtp -o FILE.pcap [OPTIONS]\n"
        "\n"
        "Writes a pcap (Ethernet, IPv4, TCP) of SMTP sessions delivering synthetic mails,\n"
        "and a truth file with one JSON line per mail, for testing and measuring the\n"
        "SMTP pipeline. A phrase is planted in some mails: in a plain text part, inside\n"
        "a base64 part or inside a quoted-printable part (split by the encoding), so\n"
        "finding them all takes MIME decoding. Other mails contain it nowhere, raw or\n"
        "decoded.\n"
        "\n"
        "Each session: TCP handshake, \"220 ... ESMTP\", EHLO and a multi-line 250\n"
        "(PIPELINING, CHUNKING), then per mail an occasional RSET, MAIL FROM, 1-3 RCPT TO\n"
        "(half the sessions pipeline them with DATA in one segment), DATA, 354 and the\n"
        "dot-stuffed mail ending in \"<CRLF>.<CRLF>\", or BDAT chunks (the last one\n"
        "\"BDAT n LAST\"); then QUIT, 221 and FIN/ACK from both sides. Each session has\n"
        "its own client in 10/8; 16 servers in 192.168/16 listen on port 25 or (a few\n"
        "sessions) 2525 or 587. Data is cut into MSS-sized segments, every second one\n"
        "ACKed; packet times start at 2026-01-01T00:00:00Z and are spaced as if sent\n"
        "at --rate-mbps.\n"
        "\n"
        "output:\n"
        "  -o, --out FILE          the pcap file (required)\n"
        "      --truth FILE        the truth file (default: FILE.truth.jsonl, e.g.\n"
        "                          trace.pcap.truth.jsonl)\n"
        "      --mails-dir DIR     also write each raw mail to DIR/<mail>.eml\n"
        "\n"
        "mails:\n"
        "  -n, --mails N           mails in the trace (default 1000)\n"
        "      --mean-size BYTES   mean raw mail size; sizes are lognormal, clamped to\n"
        "                          [200, 20 x mean] (default 150000)\n"
        "      --phrase TEXT       the planted phrase, 4-200 printable ASCII characters\n"
        "                          (default scalanytics-planted-phrase)\n"
        "      --match-fraction F  fraction of mails with the phrase (default 0.1);\n"
        "                          their encodings take turns: plain, base64, q-p\n"
        "      --bdat-fraction F   fraction of mails sent with BDAT (default 0.1)\n"
        "      --seed N            the random seed (default 1)\n"
        "\n"
        "real mails instead (replayed; then --mails, --mean-size, --phrase and\n"
        "--match-fraction do not apply):\n"
        "      --replay-dir PATH   send the mails of PATH, a directory (read recursively,\n"
        "                          in name order), a mail file or an mbox; repeatable.\n"
        "                          Files that are not mail are skipped and counted. Each\n"
        "                          mail goes on the wire as an MTA sends it: LF line ends\n"
        "                          made CRLF (bare CRs kept), a final CRLF added if it\n"
        "                          lacks one, an mbox's \"From \" line left out; the\n"
        "                          envelope is MAIL FROM:<replay-N@sender.example>\n"
        "      --split test=PCT    replay only the test part of train-bayes's split\n"
        "\n"
        "sessions:\n"
        "  -c, --concurrency C     sessions open at a time, packets interleaved (default 64)\n"
        "      --mails-per-session MIN-MAX   mails a session sends, uniform (default 1-5)\n"
        "      --any-port-fraction F  sessions on port 2525 or 587 (default 0.05)\n"
        "      --mss BYTES         largest TCP payload, 64-9000 (default 1460: frames of\n"
        "                          at most 1514 bytes)\n"
        "      --rate-mbps R       the link rate packet times are spaced for, 1-1000000\n"
        "                          (default 1000)\n"
        "\n"
        "impairments (0 turns one off):\n"
        "      --retransmit-fraction F  data segments sent twice, the copy a little\n"
        "                          later (default 0.01)\n"
        "      --reorder-fraction F     data segments swapped with the next one of\n"
        "                          their direction (default 0.01)\n"
        "      --fragment-fraction F    data packets sent as 2-3 IPv4 fragments, some\n"
        "                          in reverse order (default 0.005)\n"
        "\n"
        "  -h, --help              this help\n"
        "\n"
        "The truth file has one line per mail, in the order the mails' last bytes appear\n"
        "in the trace:\n"
        "  {\"mail\": 7, \"session\": 3, \"index\": 2, \"client\": \"10.4.1.9\", \"cport\": 40211,\n"
        "   \"server\": \"192.168.2.77\", \"sport\": 25, \"mail_from\": \"...\", \"rcpt_to\": [\"...\"],\n"
        "   \"subject\": \"...\", \"message_id\": \"<...>\", \"size\": 152344, \"transfer\": \"DATA\",\n"
        "   \"planted\": true, \"encoding\": \"base64\", \"fnv1a64\": \"9f3c...\"}\n"
        "mail: number (1-based, in the order sessions take mails); index: its place in\n"
        "its session; size and fnv1a64 (64-bit FNV-1a, 16 hex digits): of the raw mail,\n"
        "the bytes after 354 and before the \".\" line, unstuffed, with the last line's\n"
        "CRLF (for BDAT the chunks joined); encoding: where the phrase is (\"plain\",\n"
        "\"base64\", \"quoted-printable\") or null. A replayed mail's line has \"file\" (the\n"
        "path, \"path#N\" for the Nth mail of an mbox) instead of subject, message_id,\n"
        "planted and encoding; its size and fnv1a64 are of its wire form above, which\n"
        "is what the SMTP pipeline assembles.\n"
        "\n"
        "A summary goes to stderr; a progress line too on a terminal. Contents depend\n"
        "only on the seed and the mail options: the impairments and the concurrency\n"
        "change the order of the truth lines, not what they say.\n"
        "Exit status: 0 ok, 1 an error while writing, 2 bad usage.\n"
        "\n"
        "examples:\n"
        "  scalanytics gen smtp -o smtp.pcap\n"
        "  scalanytics gen smtp -o big.pcap --mails 13000 --seed 7        # about 2 GB\n"
        "  scalanytics gen smtp -o clean.pcap --mails 50 --mean-size 5000 \\\n"
        "      --retransmit-fraction 0 --reorder-fraction 0 --fragment-fraction 0 \\\n"
        "      --mails-dir mails/\n"
        "  scalanytics gen smtp -o ham.pcap --replay-dir ../shared/data/spamassassin/easy_ham \\\n"
        "      --split test=20\n");
}

/** Parses an integer option in [lo, hi]; -1 with a message if bad. */
static int parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "scalanytics gen smtp: %s wants a number from %" PRIu64 " to %" PRIu64
                ", got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/** Parses a floating-point option in [lo, hi]; -1 with a message if bad. */
static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= lo && v <= hi)) {
        fprintf(stderr, "scalanytics gen smtp: %s wants a number from %g to %g, got '%s'\n", opt,
                lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/** Parses --mails-per-session MIN-MAX (or N, meaning N-N). */
static int parse_range(const char *s, uint32_t *lo, uint32_t *hi)
{
    char *end;
    errno = 0;
    unsigned long a = strtoul(s, &end, 10), b = a;
    bool ok = !errno && end != s && s[0] != '-';
    if (ok && *end == '-') {
        const char *t = end + 1;
        b = strtoul(t, &end, 10);
        ok = !errno && end != t && t[0] != '-';
    }
    if (!ok || *end || a < 1 || a > b || b > 10000) {
        fprintf(stderr, "scalanytics gen smtp: --mails-per-session wants MIN-MAX with "
                        "1 <= MIN <= MAX <= 10000, got '%s'\n", s);
        return -1;
    }
    *lo = (uint32_t)a;
    *hi = (uint32_t)b;
    return 0;
}

enum { OPT_TRUTH = 256, OPT_MAILS_DIR, OPT_MEAN, OPT_PHRASE, OPT_MATCH, OPT_BDAT, OPT_SEED,
       OPT_PER_SESSION, OPT_ANY_PORT, OPT_MSS, OPT_RATE, OPT_RETRANSMIT, OPT_REORDER,
       OPT_FRAGMENT, OPT_REPLAY, OPT_SPLIT };

/** Takes --replay-dir and --split into ra, and notes options that only
 *  synthetic mails have; 0 when c was one of those two, 1 when it is
 *  another option, -1 on a bad value (message printed). */
static int replay_option(int c, const char *arg, replay_args *ra)
{
    static const struct { int c; const char *name; } synthetic[] = {
        {'n', "--mails"}, {OPT_MEAN, "--mean-size"}, {OPT_PHRASE, "--phrase"},
        {OPT_MATCH, "--match-fraction"}};
    for (size_t i = 0; i < sizeof synthetic / sizeof synthetic[0]; i++)
        if (c == synthetic[i].c)
            ra->synthetic = synthetic[i].name;
    if (c == OPT_SPLIT && cli_corpus_parse_split(arg, &ra->split_pct) != 0) {
        fprintf(stderr, "scalanytics gen smtp: --split wants test=PCT with PCT from 1 to 99, "
                        "got '%s'\n", arg);
        return -1;
    }
    if (c == OPT_REPLAY) {
        if (ra->npaths == REPLAY_PATHS_MAX) {
            fprintf(stderr, "scalanytics gen smtp: more than %d --replay-dir\n", REPLAY_PATHS_MAX);
            return -1;
        }
        ra->paths[ra->npaths++] = arg;
    }
    return c == OPT_SPLIT || c == OPT_REPLAY ? 0 : 1;
}

/** Lists the mails of the --replay-dir paths (the test part with
 *  --split) and points o at them; -1 with a message printed. */
static int replay_load(replay_args *ra, sx_gen_smtp_opts *o)
{
    if (ra->synthetic) {
        fprintf(stderr, "scalanytics gen smtp: %s is for synthetic mails; --replay-dir sends the "
                        "mails it finds\n", ra->synthetic);
        return -1;
    }
    for (size_t i = 0; i < ra->npaths; i++) {
        char err[4200];
        if (cli_corpus_add(&ra->corpus, ra->paths[i], 0, err, sizeof err) != 0) {
            fprintf(stderr, "scalanytics gen smtp: %s\n", err);
            return -1;
        }
    }
    cli_corpus_report_skipped(&ra->corpus, "scalanytics gen smtp");
    if (ra->split_pct) {
        cli_corpus test;
        cli_corpus_init(&test);
        cli_corpus_split(&ra->corpus, ra->split_pct, &test);
        cli_corpus_free(&ra->corpus);
        ra->corpus = test;
    }
    if (ra->corpus.n == 0) {
        fprintf(stderr, "scalanytics gen smtp: no mail to replay in the --replay-dir paths\n");
        return -1;
    }
    ra->mails = sx_calloc(ra->corpus.n, sizeof *ra->mails);
    for (size_t i = 0; i < ra->corpus.n; i++) {
        const cli_mail *m = &ra->corpus.mails[i];
        ra->mails[i] = (sx_mail_replay){m->path, m->name, m->offset, m->length};
    }
    o->replay = ra->mails;
    o->nreplay = o->mails = ra->corpus.n;
    o->match_fraction = 0;
    return 0;
}

/** Applies one parsed option to o; -1 on a bad value (message printed). */
static int apply_option(int c, const char *arg, sx_gen_smtp_opts *o)
{
    uint64_t v;
    switch (c) {
    case 'o': o->pcap_path = arg; return 0;
    case OPT_TRUTH: o->truth_path = arg; return 0;
    case OPT_MAILS_DIR: o->mails_dir = arg; return 0;
    case OPT_PHRASE: o->phrase = arg; return 0;
    case 'n': return parse_u64("--mails", arg, 1, 1000000000, &o->mails);
    case OPT_MEAN: return parse_u64("--mean-size", arg, 200, 10000000, &o->mean_size);
    case OPT_SEED: return parse_u64("--seed", arg, 0, UINT64_MAX, &o->seed);
    case 'c':
        if (parse_u64("--concurrency", arg, 1, 100000, &v))
            return -1;
        o->concurrency = (uint32_t)v;
        return 0;
    case OPT_MSS:
        if (parse_u64("--mss", arg, 64, 9000, &v))
            return -1;
        o->mss = (uint32_t)v;
        return 0;
    case OPT_PER_SESSION: return parse_range(arg, &o->mails_min, &o->mails_max);
    case OPT_RATE: return parse_double("--rate-mbps", arg, 1, 1e6, &o->rate_mbps);
    case OPT_MATCH: return parse_double("--match-fraction", arg, 0, 1, &o->match_fraction);
    case OPT_BDAT: return parse_double("--bdat-fraction", arg, 0, 1, &o->bdat_fraction);
    case OPT_ANY_PORT:
        return parse_double("--any-port-fraction", arg, 0, 1, &o->any_port_fraction);
    case OPT_RETRANSMIT:
        return parse_double("--retransmit-fraction", arg, 0, 1, &o->retransmit_fraction);
    case OPT_REORDER: return parse_double("--reorder-fraction", arg, 0, 1, &o->reorder_fraction);
    case OPT_FRAGMENT:
        return parse_double("--fragment-fraction", arg, 0, 1, &o->fragment_fraction);
    default: return -1;
    }
}

/** Parses `gen smtp`'s argv into o; 0, 1 for --help, 2 on bad usage. */
static int gen_smtp_parse(int argc, char **argv, sx_gen_smtp_opts *o, char **truth_alloc,
                          replay_args *ra)
{
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},
        {"truth", required_argument, 0, OPT_TRUTH},
        {"mails-dir", required_argument, 0, OPT_MAILS_DIR},
        {"mails", required_argument, 0, 'n'},
        {"mean-size", required_argument, 0, OPT_MEAN},
        {"phrase", required_argument, 0, OPT_PHRASE},
        {"match-fraction", required_argument, 0, OPT_MATCH},
        {"bdat-fraction", required_argument, 0, OPT_BDAT},
        {"seed", required_argument, 0, OPT_SEED},
        {"concurrency", required_argument, 0, 'c'},
        {"mails-per-session", required_argument, 0, OPT_PER_SESSION},
        {"any-port-fraction", required_argument, 0, OPT_ANY_PORT},
        {"mss", required_argument, 0, OPT_MSS},
        {"rate-mbps", required_argument, 0, OPT_RATE},
        {"retransmit-fraction", required_argument, 0, OPT_RETRANSMIT},
        {"reorder-fraction", required_argument, 0, OPT_REORDER},
        {"fragment-fraction", required_argument, 0, OPT_FRAGMENT},
        {"replay-dir", required_argument, 0, OPT_REPLAY},
        {"split", required_argument, 0, OPT_SPLIT},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:n:c:h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        int own = c == '?' ? -1 : replay_option(c, optarg, ra);
        if (own < 0 || (own == 1 && apply_option(c, optarg, o)))
            rc = 2;
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "scalanytics gen smtp: unexpected argument '%s'\n", argv[optind]);
        rc = 2;
    }
    if (rc == 0 && !o->pcap_path) {
        fprintf(stderr, "scalanytics gen smtp: no output file: give -o FILE.pcap\n");
        rc = 2;
    }
    if (rc == 0 && !o->truth_path) {
        size_t n = strlen(o->pcap_path) + sizeof ".truth.jsonl";
        *truth_alloc = malloc(n);
        if (!*truth_alloc) {
            fprintf(stderr, "scalanytics gen smtp: out of memory\n");
            return 2;
        }
        snprintf(*truth_alloc, n, "%s.truth.jsonl", o->pcap_path);
        o->truth_path = *truth_alloc;
    }
    if (rc == 0 && ra->split_pct && !ra->npaths) {
        fprintf(stderr, "scalanytics gen smtp: --split selects replayed mails: give --replay-dir\n");
        rc = 2;
    }
    if (rc == 0 && ra->npaths && replay_load(ra, o) != 0)
        rc = 2;
    char err[512];
    if (rc == 0 && sx_gen_smtp_check(o, err, sizeof err)) {
        fprintf(stderr, "scalanytics gen smtp: %s\n", err);
        rc = 2;
    }
    return rc;
}

/** Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** The one-line summary on stderr. */
static void print_summary(const sx_gen_smtp_stats *st, double secs)
{
    double mb = (double)st->pcap_bytes / 1e6;
    fprintf(stderr,
            "gen smtp: %" PRIu64 " mails (%" PRIu64 " planted: %" PRIu64 " plain, %" PRIu64
            " base64, %" PRIu64 " quoted-printable; %" PRIu64 " BDAT), %" PRIu64 " sessions, %"
            PRIu64 " packets, %.1f MB over %.3f s of packet time; written in %.2f s (%.0f MB/s); "
            "impaired: %" PRIu64 " retransmitted, %" PRIu64 " reordered, %" PRIu64
            " fragmented\n",
            st->mails, st->planted, st->planted_by[0], st->planted_by[1], st->planted_by[2],
            st->bdat, st->sessions, st->packets, mb, (double)st->trace_us / 1e6, secs,
            secs > 0 ? mb / secs : 0, st->retransmitted, st->reordered, st->fragmented);
}

/** Writes the trace o describes, with a progress bar over about
 *  mail_bytes of mail, and prints the summary. 0, or 1 on an error. */
static int generate(const sx_gen_smtp_opts *o, uint64_t mail_bytes)
{
    char err[1024];
    double t0 = now_s();
    sx_gen_smtp *g = sx_gen_smtp_new(o, err, sizeof err);
    if (!g) {
        fprintf(stderr, "scalanytics gen smtp: %s\n", err);
        return 1;
    }
    /* A guess at the total for the bar: mails, plus ~7.5% of headers and ACKs. */
    sx_progress *bar = sx_progress_new((uint64_t)((double)mail_bytes * 1.075));
    sx_gen_smtp_stats st;
    int more;
    while ((more = sx_gen_smtp_run(g, PROGRESS_PACKETS, err, sizeof err)) == 1) {
        sx_gen_smtp_stats_get(g, &st);
        sx_progress_update(bar, st.pcap_bytes, st.pcap_bytes * 8);
    }
    sx_progress_finish(&bar);
    sx_gen_smtp_stats_get(g, &st);
    sx_gen_smtp_destroy(&g);
    if (more < 0) {
        fprintf(stderr, "scalanytics gen smtp: %s\n", err);
        return 1;
    }
    print_summary(&st, now_s() - t0);
    return 0;
}

/** `scalanytics gen smtp ...`. */
static int gen_smtp(int argc, char **argv)
{
    sx_gen_smtp_opts o;
    sx_gen_smtp_defaults(&o);
    char *truth_alloc = NULL;
    replay_args ra = {0};
    cli_corpus_init(&ra.corpus);
    int rc = gen_smtp_parse(argc, argv, &o, &truth_alloc, &ra);
    if (rc == 1) {
        gen_smtp_usage(stdout);
        rc = 0;
    } else if (rc != 0) {
        fprintf(stderr, "(scalanytics gen smtp --help explains the options)\n");
    } else {
        rc = generate(&o, o.replay ? ra.corpus.bytes : o.mails * o.mean_size);
    }
    free(truth_alloc);
    free(ra.mails);
    cli_corpus_free(&ra.corpus);
    return rc;
}

int cli_gen(int argc, char **argv)
{
    if (argc < 2) {
        gen_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        gen_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "smtp"))
        return gen_smtp(argc - 1, argv + 1);
    fprintf(stderr, "scalanytics gen: unknown generator '%s'\n\n", argv[1]);
    gen_usage(stderr);
    return 2;
}
