/*
 * gen.c -- `scalanytics gen GENERATOR [OPTIONS]`: write synthetic traces
 * with their ground truth, for tests and benchmarks: smtp
 * (tools/gen_smtp.c), sip (tools/gen_sip.c) and dos (tools/gen_dos.c).
 * The option parsing and the summary live here; the traffic models in
 * tools/.
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
#include "tools/gen_dos.h"
#include "tools/gen_sip.h"
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
        "  sip     concurrent SIP calls (UDP and TCP) with a table of their outcomes\n"
        "  dos     benign TCP sessions mixed with a SYN flood, a connection flood and a\n"
        "          port scan, with every connection's label and KDD flag\n"
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

/** Parses an integer option of generator gen in [lo, hi]; -1 with a
 *  message if bad. */
static int parse_u64(const char *gen, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                     uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "scalanytics gen %s: %s wants a number from %" PRIu64 " to %" PRIu64
                ", got '%s'\n", gen, opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/** Parses a floating-point option of generator gen in [lo, hi]; -1 with
 *  a message if bad. */
static int parse_double(const char *gen, const char *opt, const char *s, double lo, double hi,
                        double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= lo && v <= hi)) {
        fprintf(stderr, "scalanytics gen %s: %s wants a number from %g to %g, got '%s'\n", gen,
                opt, lo, hi, s);
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

/** The truth file's default name, pcap_path with suffix appended; the
 *  caller frees it. */
static char *default_truth(const char *pcap_path, const char *suffix)
{
    size_t n = strlen(pcap_path) + strlen(suffix) + 1;
    char *path = sx_malloc(n);
    snprintf(path, n, "%s%s", pcap_path, suffix);
    return path;
}

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
    case 'n': return parse_u64("smtp", "--mails", arg, 1, 1000000000, &o->mails);
    case OPT_MEAN: return parse_u64("smtp", "--mean-size", arg, 200, 10000000, &o->mean_size);
    case OPT_SEED: return parse_u64("smtp", "--seed", arg, 0, UINT64_MAX, &o->seed);
    case 'c':
        if (parse_u64("smtp", "--concurrency", arg, 1, 100000, &v))
            return -1;
        o->concurrency = (uint32_t)v;
        return 0;
    case OPT_MSS:
        if (parse_u64("smtp", "--mss", arg, 64, 9000, &v))
            return -1;
        o->mss = (uint32_t)v;
        return 0;
    case OPT_PER_SESSION: return parse_range(arg, &o->mails_min, &o->mails_max);
    case OPT_RATE: return parse_double("smtp", "--rate-mbps", arg, 1, 1e6, &o->rate_mbps);
    case OPT_MATCH:
        return parse_double("smtp", "--match-fraction", arg, 0, 1, &o->match_fraction);
    case OPT_BDAT:
        return parse_double("smtp", "--bdat-fraction", arg, 0, 1, &o->bdat_fraction);
    case OPT_ANY_PORT:
        return parse_double("smtp", "--any-port-fraction", arg, 0, 1, &o->any_port_fraction);
    case OPT_RETRANSMIT:
        return parse_double("smtp", "--retransmit-fraction", arg, 0, 1,
                            &o->retransmit_fraction);
    case OPT_REORDER:
        return parse_double("smtp", "--reorder-fraction", arg, 0, 1, &o->reorder_fraction);
    case OPT_FRAGMENT:
        return parse_double("smtp", "--fragment-fraction", arg, 0, 1, &o->fragment_fraction);
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
    if (rc == 0 && !o->truth_path)
        o->truth_path = *truth_alloc = default_truth(o->pcap_path, ".truth.jsonl");
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

/* ---- gen sip ---- */

/** Prints `gen sip`'s help. */
static void gen_sip_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics gen sip -o FILE.pcap [OPTIONS]\n"
        "\n"
        "Writes a pcap (Ethernet, IPv4, UDP or TCP) of concurrent SIP calls, and a truth\n"
        "CSV with one line per call saying how it ended and when, for testing and\n"
        "measuring SIP call analysis.\n"
        "\n"
        "Each call: INVITE with SDP, 100 Trying, 180 Ringing, then by kind (--mix):\n"
        "  answered    200 OK with SDP, ACK, the talk, BYE (from either side), 200 OK\n"
        "  busy        486 Busy Here, ACK\n"
        "  failed      404, 480, 503, 603 or 302 (404, 503 and 302 without ringing), ACK\n"
        "  cancelled   CANCEL, 200 OK to it, 487 Request Terminated, ACK\n"
        "  unfinished  answered like the first, but never hung up: no BYE, no FIN\n"
        "Headers follow RFC 3261 (Via branch z9hG4bK..., Max-Forwards, From and To tags,\n"
        "Call-ID, CSeq 1 INVITE / 1 ACK / 1 CANCEL / 2 BYE, Contact, exact\n"
        "Content-Length). Callers sip:userN@a.example are at 10.1.x.y, callees\n"
        "sip:userM@b.example at 10.2.x.y; most use port 5060, some 5080 or a high port\n"
        "(SIP is found by content: tshark -o udp.try_heuristic_first:TRUE finds them).\n"
        "A TCP call has its own connection (handshake, the messages, FIN from the\n"
        "caller). Packet times start at 2026-01-01T00:00:00Z and strictly increase;\n"
        "concurrent calls interleave.\n"
        "\n"
        "output:\n"
        "  -o, --out FILE          the pcap file (required)\n"
        "      --truth FILE        the truth CSV (default: FILE.truth.csv, e.g.\n"
        "                          trace.pcap.truth.csv)\n"
        "\n"
        "calls:\n"
        "  -n, --calls N           calls in the trace, 1-%u (default 1000)\n"
        "      --mix KIND=W,...    the kinds' shares, percentages or any weights; kinds\n"
        "                          not named get none; each kind gets exactly its share,\n"
        "                          rounded (default answered=70,busy=10,failed=5,\n"
        "                          cancelled=10,unfinished=5)\n"
        "  -c, --concurrency C     calls in progress at once, 1-100000 (default 100)\n"
        "      --rate R            new calls per second of packet time, 0.001-1000000\n"
        "                          (default 200); an arrival waits while C calls are up\n"
        "      --duration-mean S   mean seconds from answer to BYE, 0.001-86400;\n"
        "                          exponential, within [1 ms, 10 x S] (default 30)\n"
        "      --seed N            the random seed (default 1)\n"
        "\n"
        "transport and impairments (percentages; 0 turns one off):\n"
        "      --tcp PCT           calls over TCP (default 10)\n"
        "      --fragment PCT      UDP calls whose INVITE carries a 1600-4000 byte SDP\n"
        "                          (ICE candidates), so it goes as IPv4 fragments at\n"
        "                          MTU 1500 (default 5)\n"
        "      --retransmit PCT    UDP calls whose INVITE or BYE is sent again 500 ms\n"
        "                          later, the same bytes (default 5)\n"
        "\n"
        "  -h, --help              this help\n"
        "\n"
        "The truth CSV has a header line, then one line per call sorted by call_id:\n"
        "  call_id,from,to,outcome,code,start_us,answer_us,end_us,duration_us\n"
        "  0a1b...@10.1.3.7,sip:user857@a.example,sip:user212@b.example,answered,200,\n"
        "    1767225600412345,1767225606123456,1767225641234567,35111111\n"
        "call_id: the Call-ID; from, to: the From and To URIs; outcome: answered, failed\n"
        "(busy ones too), cancelled or timeout (unfinished); code: the INVITE's final\n"
        "status (200 for answered and timeout, 487 for cancelled). Times are capture\n"
        "times in microseconds since the Unix epoch, of first transmissions (never of a\n"
        "retransmission), of the packet that completes the message (a fragmented\n"
        "INVITE's last fragment): start_us the INVITE, answer_us the 200 to it (0 if\n"
        "none), end_us the BYE (answered), the final response (failed), the 487\n"
        "(cancelled) or the ACK, the call's last packet (timeout); duration_us is\n"
        "end_us - answer_us for answered and timeout calls, else 0.\n"
        "\n"
        "A summary goes to stderr; a progress line too on a terminal.\n"
        "Exit status: 0 ok, 1 an error while writing, 2 bad usage.\n"
        "\n"
        "examples:\n"
        "  scalanytics gen sip -o sip.pcap\n"
        "  scalanytics gen sip -o big.pcap --calls 100000 --seed 7 --concurrency 1000\n"
        "  scalanytics gen sip -o plain.pcap --calls 50 --mix answered=1 --tcp 0 \\\n"
        "      --fragment 0 --retransmit 0\n",
        SX_GEN_SIP_MAX_CALLS);
}

enum { OPT_SIP_TRUTH = 256, OPT_SIP_MIX, OPT_SIP_RATE, OPT_SIP_DURATION, OPT_SIP_SEED,
       OPT_SIP_TCP, OPT_SIP_FRAGMENT, OPT_SIP_RETRANSMIT };

/** Parses a percentage option into a fraction; -1 with a message if bad. */
static int parse_percent(const char *opt, const char *s, double *fraction)
{
    double pct;
    if (parse_double("sip", opt, s, 0, 100, &pct))
        return -1;
    *fraction = pct / 100;
    return 0;
}

/** Applies one parsed `gen sip` option to o; -1 on a bad value (message
 *  printed). */
static int apply_sip_option(int c, const char *arg, sx_gen_sip_opts *o)
{
    uint64_t v;
    char err[256];
    switch (c) {
    case 'o': o->pcap_path = arg; return 0;
    case OPT_SIP_TRUTH: o->truth_path = arg; return 0;
    case 'n': return parse_u64("sip", "--calls", arg, 1, SX_GEN_SIP_MAX_CALLS, &o->calls);
    case OPT_SIP_SEED: return parse_u64("sip", "--seed", arg, 0, UINT64_MAX, &o->seed);
    case 'c':
        if (parse_u64("sip", "--concurrency", arg, 1, 100000, &v))
            return -1;
        o->concurrency = (uint32_t)v;
        return 0;
    case OPT_SIP_RATE: return parse_double("sip", "--rate", arg, 0.001, 1e6, &o->rate);
    case OPT_SIP_DURATION:
        return parse_double("sip", "--duration-mean", arg, 0.001, 86400, &o->duration_mean);
    case OPT_SIP_TCP: return parse_percent("--tcp", arg, &o->tcp_fraction);
    case OPT_SIP_FRAGMENT: return parse_percent("--fragment", arg, &o->fragment_fraction);
    case OPT_SIP_RETRANSMIT: return parse_percent("--retransmit", arg, &o->retransmit_fraction);
    case OPT_SIP_MIX:
        if (sx_gen_sip_parse_mix(arg, o->mix, err, sizeof err) == 0)
            return 0;
        fprintf(stderr, "scalanytics gen sip: %s\n", err);
        return -1;
    default: return -1;
    }
}

/** Parses `gen sip`'s argv into o; 0, 1 for --help, 2 on bad usage. */
static int gen_sip_parse(int argc, char **argv, sx_gen_sip_opts *o, char **truth_alloc)
{
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},
        {"truth", required_argument, 0, OPT_SIP_TRUTH},
        {"calls", required_argument, 0, 'n'},
        {"mix", required_argument, 0, OPT_SIP_MIX},
        {"concurrency", required_argument, 0, 'c'},
        {"rate", required_argument, 0, OPT_SIP_RATE},
        {"duration-mean", required_argument, 0, OPT_SIP_DURATION},
        {"seed", required_argument, 0, OPT_SIP_SEED},
        {"tcp", required_argument, 0, OPT_SIP_TCP},
        {"fragment", required_argument, 0, OPT_SIP_FRAGMENT},
        {"retransmit", required_argument, 0, OPT_SIP_RETRANSMIT},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:n:c:h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == '?' || apply_sip_option(c, optarg, o))
            rc = 2;
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "scalanytics gen sip: unexpected argument '%s'\n", argv[optind]);
        rc = 2;
    }
    if (rc == 0 && !o->pcap_path) {
        fprintf(stderr, "scalanytics gen sip: no output file: give -o FILE.pcap\n");
        rc = 2;
    }
    if (rc == 0 && !o->truth_path)
        o->truth_path = *truth_alloc = default_truth(o->pcap_path, ".truth.csv");
    char err[512];
    if (rc == 0 && sx_gen_sip_check(o, err, sizeof err)) {
        fprintf(stderr, "scalanytics gen sip: %s\n", err);
        rc = 2;
    }
    return rc;
}

/** `gen sip`'s one-line summary on stderr. */
static void print_sip_summary(const sx_gen_sip_stats *st, double secs)
{
    const uint64_t *k = st->by_kind;
    double mb = (double)st->pcap_bytes / 1e6;
    fprintf(stderr,
            "gen sip: %" PRIu64 " calls (%" PRIu64 " answered, %" PRIu64 " failed of which %"
            PRIu64 " busy, %" PRIu64 " cancelled, %" PRIu64 " timeout), %" PRIu64
            " packets, %" PRIu64 " INVITEs sent, %" PRIu64 " bytes (%.1f MB) over %.3f s of "
            "packet time; written in %.2f s; %" PRIu64 " tcp calls, %" PRIu64
            " fragmented INVITEs, %" PRIu64 " retransmitted\n",
            st->calls, k[SX_GEN_SIP_ANSWERED], k[SX_GEN_SIP_BUSY] + k[SX_GEN_SIP_FAILED],
            k[SX_GEN_SIP_BUSY], k[SX_GEN_SIP_CANCELLED], k[SX_GEN_SIP_UNFINISHED], st->packets,
            st->invites, st->pcap_bytes, mb, (double)st->trace_us / 1e6, secs, st->tcp,
            st->fragmented, st->retransmitted);
}

/** Writes the trace and truth o describes, with a progress bar, and
 *  prints the summary. 0, or 1 on an error. */
static int generate_sip(const sx_gen_sip_opts *o)
{
    char err[1024];
    double t0 = now_s();
    sx_gen_sip *g = sx_gen_sip_new(o, err, sizeof err);
    if (!g) {
        fprintf(stderr, "scalanytics gen sip: %s\n", err);
        return 1;
    }
    /* A guess at the total for the bar: about 6 kB of packets a call. */
    sx_progress *bar = sx_progress_new(o->calls * 6000);
    sx_gen_sip_stats st;
    int more;
    while ((more = sx_gen_sip_run(g, PROGRESS_PACKETS, err, sizeof err)) == 1) {
        sx_gen_sip_stats_get(g, &st);
        sx_progress_update(bar, st.pcap_bytes, st.pcap_bytes * 8);
    }
    sx_progress_finish(&bar);
    sx_gen_sip_stats_get(g, &st);
    sx_gen_sip_destroy(&g);
    if (more < 0) {
        fprintf(stderr, "scalanytics gen sip: %s\n", err);
        return 1;
    }
    print_sip_summary(&st, now_s() - t0);
    return 0;
}

/** `scalanytics gen sip ...`. */
static int gen_sip(int argc, char **argv)
{
    sx_gen_sip_opts o;
    sx_gen_sip_defaults(&o);
    char *truth_alloc = NULL;
    int rc = gen_sip_parse(argc, argv, &o, &truth_alloc);
    if (rc == 1) {
        gen_sip_usage(stdout);
        rc = 0;
    } else if (rc != 0) {
        fprintf(stderr, "(scalanytics gen sip --help explains the options)\n");
    } else {
        rc = generate_sip(&o);
    }
    free(truth_alloc);
    return rc;
}

/* ---- gen dos ---- */

/** Prints `gen dos`'s help. */
static void gen_dos_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics gen dos -o FILE.pcap [OPTIONS]\n"
        "\n"
        "Writes a pcap (Ethernet, IPv4, TCP) of benign TCP sessions mixed over time with\n"
        "a SYN flood, a connection flood and a port scan, and a truth CSV labelling every\n"
        "connection with the KDD Cup '99 flag it should get, for testing and measuring\n"
        "connection tracking and DoS detection.\n"
        "\n"
        "traffic (a connection is one TCP 4-tuple; none occurs twice in a trace):\n"
        "  benign      sessions from clients 10.1.x.y to servers 172.16.0.10.. (each offers\n"
        "              every service), Poisson arrivals over the whole duration: http 40%%\n"
        "              (80, 1-3 GETs, pages of 0.3-8 KB), https 30%% (443, TLS records),\n"
        "              smtp 12%% (25, greeting, EHLO, MAIL, RCPT, DATA, the mail, QUIT), ssh\n"
        "              10%% (22, banners, a key exchange in the clear, then encrypted-looking\n"
        "              packets both ways), ftp 8%% (21, the control connection of a login).\n"
        "              Handshake, the dialog, FIN both ways and the last ACK (SF,\n"
        "              92%%), or cut short by the client's RST (RSTO, 2%%) or the server's\n"
        "              (RSTR, 2%%) or never closed (S1, 1%%); or refused, RST-ACK to the SYN\n"
        "              (REJ, 1.5%%); or a SYN never answered (S0, 1.5%%)\n"
        "  syn flood   bare 54-byte SYNs to 172.16.0.10 port 80 from distinct spoofed\n"
        "              public addresses and random ports, at a fixed rate; never completed:\n"
        "              S0, also for those the victim answers with a SYN-ACK (--syn-answered):\n"
        "              the spoofed source never acknowledges it\n"
        "  conn flood  complete short connections (handshake, GET /, a short page, FIN\n"
        "              from the attacker: SF) from attackers 203.0.113.10.. in turn to\n"
        "              port 80 of the second server, at a fixed rate\n"
        "  port scan   SYN probes (as nmap -sS) from 198.51.100.7, one source port, to\n"
        "              ports 1..N of the third server in random order: an open port (21,\n"
        "              22, 25, 80, 443) answers SYN-ACK and the scanner resets (RSTOS0), a\n"
        "              closed one answers RST-ACK (REJ). Labelled probe, not dos\n"
        "Packet times start at 2026-01-01T00:00:00Z and strictly increase; the capture\n"
        "point is by the servers (a server answers within ms, a client a round trip,\n"
        "2-80 ms, later). Sessions started before --duration end after it.\n"
        "\n"
        "output:\n"
        "  -o, --out FILE          the pcap file (required)\n"
        "      --truth FILE        the truth CSV (default: FILE.truth.csv)\n"
        "      --seed N            the random seed (default 1)\n"
        "      --duration S        seconds of packet time in which connections start,\n"
        "                          0.001-86400 (default 60)\n"
        "\n"
        "benign traffic:\n"
        "      --benign-rate R     sessions a second (default 50)\n"
        "      --clients N         client addresses, 1-64000 (default 200)\n"
        "      --servers N         server addresses, 1-240 (default 16)\n"
        "      --no-benign         none\n"
        "\n"
        "attacks (START and LENGTH in seconds of packet time; the window must lie in the\n"
        "duration):\n"
        "      --syn-flood-rate R  SYNs a second (default 1000)\n"
        "      --syn-flood-start S, --syn-flood-length S  (default 20%% and 20%% of the\n"
        "                          duration: 12 s from 12 s)\n"
        "      --syn-answered PCT  flood SYNs the victim answers with a SYN-ACK (default 0)\n"
        "      --no-syn-flood      none\n"
        "      --conn-flood-rate R connections a second (default 200)\n"
        "      --conn-flood-start S, --conn-flood-length S  (default 50%% and 5%%)\n"
        "      --attackers N       connection flood sources, 1-200 (default 4)\n"
        "      --no-conn-flood     none\n"
        "      --scan-rate R       probes a second (default 200)\n"
        "      --scan-start S, --scan-length S  (default 70%% and 10%%)\n"
        "      --scan-ports N      the ports probed, 1..N, 1-65535 (default 1024); the scan\n"
        "                          ends when they are done or its window is\n"
        "      --no-port-scan      none\n"
        "\n"
        "the half-open test (nothing else is generated; the options above do not apply):\n"
        "      --half-open N       N bare SYNs from distinct spoofed sources to port 80 of\n"
        "                          172.16.0.10, each a half-open connection (S0), 1-%u\n"
        "      --half-open-rate R  their SYNs a second, 1-1000000 (default 1000000)\n"
        "\n"
        "  -h, --help              this help\n"
        "\n"
        "The truth CSV has a header line, then one line per connection in the order of\n"
        "their first packets (so sorted by start_us, then src):\n"
        "  src,sport,dst,dport,start_us,label,kind,flag\n"
        "  10.1.0.77,40123,172.16.0.13,80,1767225600021337,normal,http,SF\n"
        "src, sport: the originator (who sent the first SYN); start_us: the time of that\n"
        "SYN in microseconds since the Unix epoch; label: normal, dos (syn_flood,\n"
        "conn_flood) or probe (port_scan); kind: http, smtp, ftp, ssh, https, syn_flood,\n"
        "conn_flood or port_scan; flag: SF, S0, S1, REJ, RSTO, RSTR or RSTOS0, by the rules of\n"
        "functions/conn_track.h (Bro's connection states as KDD used them). Every\n"
        "connection opens with exactly one SYN without ACK (no retransmissions), so the\n"
        "trace's bare SYNs are the truth's lines.\n"
        "\n"
        "A summary goes to stderr: connections by label, kind and flag, packets, bytes.\n"
        "Exit status: 0 ok, 1 an error while writing, 2 bad usage.\n"
        "\n"
        "examples:\n"
        "  scalanytics gen dos -o dos.pcap\n"
        "  scalanytics gen dos -o flood.pcap --no-benign --no-port-scan --syn-flood-rate 50000\n"
        "  scalanytics gen dos -o halfopen.pcap --half-open 1000000     # about 70 MB\n",
        SX_GEN_DOS_MAX_FLOOD);
}

/* Each attack's four options are consecutive: rate, start, length, off. */
enum { OPT_DOS_SYN_RATE = 256, OPT_DOS_SYN_START, OPT_DOS_SYN_LENGTH, OPT_DOS_NO_SYN,
       OPT_DOS_CONN_RATE, OPT_DOS_CONN_START, OPT_DOS_CONN_LENGTH, OPT_DOS_NO_CONN,
       OPT_DOS_SCAN_RATE, OPT_DOS_SCAN_START, OPT_DOS_SCAN_LENGTH, OPT_DOS_NO_SCAN,
       OPT_DOS_TRUTH, OPT_DOS_SEED, OPT_DOS_DURATION, OPT_DOS_BENIGN_RATE, OPT_DOS_CLIENTS,
       OPT_DOS_SERVERS, OPT_DOS_NO_BENIGN, OPT_DOS_SYN_ANSWERED, OPT_DOS_ATTACKERS,
       OPT_DOS_SCAN_PORTS, OPT_DOS_HALF_OPEN, OPT_DOS_HALF_OPEN_RATE };

/** Parses a count option of `gen dos` into a uint32_t. */
static int parse_dos_u32(const char *opt, const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v;
    if (parse_u64("dos", opt, s, lo, hi, &v))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/** Applies an attack's option number which (0 rate, 1 start, 2 length,
 *  3 off) to a. */
static int apply_attack_option(int which, const char *opt, const char *arg,
                               sx_gen_dos_attack *a)
{
    switch (which) {
    case 0: return parse_double("dos", opt, arg, 0.001, 1e6, &a->rate);
    case 1: return parse_double("dos", opt, arg, 0, 86400, &a->start_s);
    case 2: return parse_double("dos", opt, arg, 0.000001, 86400, &a->length_s);
    default: a->on = false; return 0;
    }
}

/** Applies one parsed `gen dos` option to o (opt: its name); -1 on a
 *  bad value (message printed). */
static int apply_dos_option(int c, const char *opt, const char *arg, sx_gen_dos_opts *o)
{
    double pct;
    if (c >= OPT_DOS_SYN_RATE && c <= OPT_DOS_NO_SCAN) {
        sx_gen_dos_attack *attacks[3] = {&o->syn_flood, &o->conn_flood, &o->port_scan};
        int i = c - OPT_DOS_SYN_RATE;
        return apply_attack_option(i % 4, opt, arg, attacks[i / 4]);
    }
    switch (c) {
    case 'o': o->pcap_path = arg; return 0;
    case OPT_DOS_TRUTH: o->truth_path = arg; return 0;
    case OPT_DOS_SEED: return parse_u64("dos", opt, arg, 0, UINT64_MAX, &o->seed);
    case OPT_DOS_DURATION: return parse_double("dos", opt, arg, 0.001, 86400, &o->duration_s);
    case OPT_DOS_BENIGN_RATE: return parse_double("dos", opt, arg, 0.001, 1e6, &o->benign_rate);
    case OPT_DOS_CLIENTS: return parse_dos_u32(opt, arg, 1, 64000, &o->clients);
    case OPT_DOS_SERVERS: return parse_dos_u32(opt, arg, 1, 240, &o->servers);
    case OPT_DOS_ATTACKERS: return parse_dos_u32(opt, arg, 1, 200, &o->attackers);
    case OPT_DOS_SCAN_PORTS: return parse_dos_u32(opt, arg, 1, 65535, &o->scan_ports);
    case OPT_DOS_NO_BENIGN: o->benign = false; return 0;
    case OPT_DOS_SYN_ANSWERED:
        if (parse_double("dos", opt, arg, 0, 100, &pct))
            return -1;
        o->syn_answered = pct / 100;
        return 0;
    case OPT_DOS_HALF_OPEN:
        return parse_u64("dos", opt, arg, 1, SX_GEN_DOS_MAX_FLOOD, &o->half_open);
    case OPT_DOS_HALF_OPEN_RATE:
        return parse_double("dos", opt, arg, 1, 1e6, &o->half_open_rate);
    default: return -1;
    }
}

/** Parses `gen dos`'s argv into o; 0, 1 for --help, 2 on bad usage. */
static int gen_dos_parse(int argc, char **argv, sx_gen_dos_opts *o, char **truth_alloc)
{
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},
        {"truth", required_argument, 0, OPT_DOS_TRUTH},
        {"seed", required_argument, 0, OPT_DOS_SEED},
        {"duration", required_argument, 0, OPT_DOS_DURATION},
        {"benign-rate", required_argument, 0, OPT_DOS_BENIGN_RATE},
        {"clients", required_argument, 0, OPT_DOS_CLIENTS},
        {"servers", required_argument, 0, OPT_DOS_SERVERS},
        {"no-benign", no_argument, 0, OPT_DOS_NO_BENIGN},
        {"syn-flood-rate", required_argument, 0, OPT_DOS_SYN_RATE},
        {"syn-flood-start", required_argument, 0, OPT_DOS_SYN_START},
        {"syn-flood-length", required_argument, 0, OPT_DOS_SYN_LENGTH},
        {"syn-answered", required_argument, 0, OPT_DOS_SYN_ANSWERED},
        {"no-syn-flood", no_argument, 0, OPT_DOS_NO_SYN},
        {"conn-flood-rate", required_argument, 0, OPT_DOS_CONN_RATE},
        {"conn-flood-start", required_argument, 0, OPT_DOS_CONN_START},
        {"conn-flood-length", required_argument, 0, OPT_DOS_CONN_LENGTH},
        {"attackers", required_argument, 0, OPT_DOS_ATTACKERS},
        {"no-conn-flood", no_argument, 0, OPT_DOS_NO_CONN},
        {"scan-rate", required_argument, 0, OPT_DOS_SCAN_RATE},
        {"scan-start", required_argument, 0, OPT_DOS_SCAN_START},
        {"scan-length", required_argument, 0, OPT_DOS_SCAN_LENGTH},
        {"scan-ports", required_argument, 0, OPT_DOS_SCAN_PORTS},
        {"no-port-scan", no_argument, 0, OPT_DOS_NO_SCAN},
        {"half-open", required_argument, 0, OPT_DOS_HALF_OPEN},
        {"half-open-rate", required_argument, 0, OPT_DOS_HALF_OPEN_RATE},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c, rc = 0, index = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, &index)) != -1) {
        if (c == 'h')
            return 1;
        char opt[40] = "-o";
        if (index >= 0)
            snprintf(opt, sizeof opt, "--%s", longopts[index].name);
        if (c == '?' || apply_dos_option(c, opt, optarg, o))
            rc = 2;
        index = -1;
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "scalanytics gen dos: unexpected argument '%s'\n", argv[optind]);
        rc = 2;
    }
    if (rc == 0 && !o->pcap_path) {
        fprintf(stderr, "scalanytics gen dos: no output file: give -o FILE.pcap\n");
        rc = 2;
    }
    if (rc == 0 && !o->truth_path)
        o->truth_path = *truth_alloc = default_truth(o->pcap_path, ".truth.csv");
    char err[512];
    if (rc == 0 && sx_gen_dos_check(o, err, sizeof err)) {
        fprintf(stderr, "scalanytics gen dos: %s\n", err);
        rc = 2;
    }
    return rc;
}

/** `gen dos`'s summary on stderr: one line, counts by label, kind and
 *  flag as "name count" pairs. */
static void print_dos_summary(const sx_gen_dos_stats *st, double secs)
{
    fprintf(stderr, "gen dos: %" PRIu64 " connections (", st->connections);
    for (int l = 0; l < SX_GEN_DOS_LABELS; l++)
        fprintf(stderr, "%s%s %" PRIu64, l ? ", " : "", sx_gen_dos_label_name(l),
                st->by_label[l]);
    for (int k = 0; k < SX_GEN_DOS_KINDS; k++)
        fprintf(stderr, "%s%s %" PRIu64, k ? ", " : "; ", sx_gen_dos_kind_name(k),
                st->by_kind[k]);
    for (int f = 0; f < SX_GEN_DOS_FLAGS; f++)
        fprintf(stderr, "%s%s %" PRIu64, f ? ", " : "; ", sx_gen_dos_flag_name(f),
                st->by_flag[f]);
    double mb = (double)st->pcap_bytes / 1e6;
    fprintf(stderr, "), %" PRIu64 " packets, %" PRIu64 " payload bytes, %" PRIu64
            " bytes (%.1f MB) over %.3f s of packet time; written in %.2f s\n",
            st->packets, st->payload_bytes, st->pcap_bytes, mb, (double)st->trace_us / 1e6,
            secs);
}

/** A guess at the pcap's size, for the progress bar. */
static uint64_t dos_expected_bytes(const sx_gen_dos_opts *o)
{
    if (o->half_open)
        return o->half_open * 70;
    static const struct { sx_gen_dos_kind kind; double bytes; } attacks[] = {
        {SX_GEN_DOS_SYN_FLOOD, 70}, {SX_GEN_DOS_CONN_FLOOD, 1200}, {SX_GEN_DOS_PORT_SCAN, 200}};
    const sx_gen_dos_attack *on[] = {&o->syn_flood, &o->conn_flood, &o->port_scan};
    double bytes = o->benign ? o->benign_rate * o->duration_s * 9000 : 0;
    for (int i = 0; i < 3; i++) {
        double start, length;
        sx_gen_dos_window(o, attacks[i].kind, &start, &length);
        bytes += on[i]->on ? on[i]->rate * length * attacks[i].bytes : 0;
    }
    return (uint64_t)bytes;
}

/** Writes the trace and truth o describes, with a progress bar, and
 *  prints the summary. 0, or 1 on an error. */
static int generate_dos(const sx_gen_dos_opts *o)
{
    char err[1024];
    double t0 = now_s();
    sx_gen_dos *g = sx_gen_dos_new(o, err, sizeof err);
    if (!g) {
        fprintf(stderr, "scalanytics gen dos: %s\n", err);
        return 1;
    }
    sx_progress *bar = sx_progress_new(dos_expected_bytes(o));
    sx_gen_dos_stats st;
    int more;
    while ((more = sx_gen_dos_run(g, PROGRESS_PACKETS * 16, err, sizeof err)) == 1) {
        sx_gen_dos_stats_get(g, &st);
        sx_progress_update(bar, st.pcap_bytes, st.pcap_bytes * 8);
    }
    sx_progress_finish(&bar);
    sx_gen_dos_stats_get(g, &st);
    sx_gen_dos_destroy(&g);
    if (more < 0) {
        fprintf(stderr, "scalanytics gen dos: %s\n", err);
        return 1;
    }
    print_dos_summary(&st, now_s() - t0);
    return 0;
}

/** `scalanytics gen dos ...`. */
static int gen_dos(int argc, char **argv)
{
    sx_gen_dos_opts o;
    sx_gen_dos_defaults(&o);
    char *truth_alloc = NULL;
    int rc = gen_dos_parse(argc, argv, &o, &truth_alloc);
    if (rc == 1) {
        gen_dos_usage(stdout);
        rc = 0;
    } else if (rc != 0) {
        fprintf(stderr, "(scalanytics gen dos --help explains the options)\n");
    } else {
        rc = generate_dos(&o);
    }
    free(truth_alloc);
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
    if (!strcmp(argv[1], "sip"))
        return gen_sip(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dos"))
        return gen_dos(argc - 1, argv + 1);
    fprintf(stderr, "scalanytics gen: unknown generator '%s'\n\n", argv[1]);
    gen_usage(stderr);
    return 2;
}
