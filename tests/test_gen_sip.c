/*
 * test_gen_sip.c -- tests of the SIP trace generator's tools, and an
 * independent checker of what `scalanytics gen sip` writes.
 *
 *   test_gen_sip units
 *       sip_build: every message of a call parsed back with libosip2
 *       (Via branches, tags, CSeq, Content-Length, SDP); --mix parsing
 *       and the rounding of its counts; the generator in process: bad
 *       options refused, the same options give the same bytes, another
 *       seed others, each kind dealt exactly its count.
 *   test_gen_sip check PCAP TRUTH
 *       reads PCAP with libpcap: strictly increasing times, every IPv4,
 *       UDP and TCP checksum; reassembles IPv4 fragments and TCP streams
 *       (handshake, in-order sequence numbers, FINs); parses every SIP
 *       message with libosip2 and checks the RFC 3261 rules the
 *       generator promises; derives each call's truth row from the
 *       packets alone and compares it with TRUTH (which must be sorted
 *       by call_id), then prints
 *       "messages M invites I calls C fragmented F tcp T".
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <osipparser2/osip_parser.h>
#include <osipparser2/sdp_message.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "tools/buf.h"
#include "tools/gen_sip.h"
#include "tools/sip_build.h"

#define MAX_DATAGRAMS 256

/* ---- helpers ---- */

/** The Internet checksum, summed 16 bits at a time (deliberately not
 *  the generator's code); 0 over a header whose checksum is right. */
static uint16_t inet_sum(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/** The TCP/UDP checksum of a transport payload over the pseudo header
 *  of IPv4 header ip: 0 when right. */
static uint16_t l4_sum(const uint8_t *ip, const uint8_t *l4, size_t len)
{
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = ip[9];
    pseudo[10] = (uint8_t)(len >> 8);
    pseudo[11] = (uint8_t)len;
    uint16_t s = inet_sum(0, pseudo, 12);
    return inet_sum((uint16_t)~s, l4, len);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** The 64-bit FNV-1a hash. */
static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/** A message parsed by libosip2, and what the checks read from it. */
typedef struct parsed {
    osip_message_t *m;
    char call_id[96], branch[64], cseq_method[16];
    int cseq;
    bool to_tag, from_tag;
    size_t body_len;      /* Content-Length */
    const char *body;     /* NULL when there is none */
} parsed;

/** Parses text[0..len) with libosip2 and checks the framing every
 *  message has: a Call-ID, a CSeq, a topmost Via with a z9hG4bK branch,
 *  From with a tag, a Content-Length equal to the bytes after the
 *  empty line. The caller frees p->m with osip_message_free. */
static void parse_sip(const uint8_t *text, size_t len, parsed *p)
{
    memset(p, 0, sizeof *p);
    CHECK(osip_message_init(&p->m) == 0, "osip_message_init");
    CHECK(osip_message_parse(p->m, (const char *)text, len) == 0, "libosip2 parses the message");
    osip_message_t *m = p->m;
    char *s = NULL;
    CHECK(m->call_id && osip_call_id_to_str(m->call_id, &s) == 0, "a Call-ID");
    snprintf(p->call_id, sizeof p->call_id, "%s", s);
    osip_free(s);
    CHECK(m->cseq && m->cseq->number && m->cseq->method, "a CSeq");
    p->cseq = atoi(m->cseq->number);
    snprintf(p->cseq_method, sizeof p->cseq_method, "%s", m->cseq->method);
    osip_via_t *via = NULL;
    osip_generic_param_t *branch = NULL;
    CHECK(osip_message_get_via(m, 0, &via) >= 0 && via, "a Via");
    CHECK(osip_via_param_get_byname(via, "branch", &branch) == 0 && branch && branch->gvalue,
          "a Via branch");
    snprintf(p->branch, sizeof p->branch, "%s", branch->gvalue);
    CHECK(!strncmp(p->branch, "z9hG4bK", 7), "the branch starts with the magic cookie");
    osip_generic_param_t *tag = NULL;
    CHECK(m->from && m->to, "From and To");
    p->from_tag = osip_from_get_tag(m->from, &tag) == 0 && tag && tag->gvalue;
    tag = NULL;
    p->to_tag = osip_to_get_tag(m->to, &tag) == 0 && tag && tag->gvalue;
    CHECK(p->from_tag, "From has a tag");
    CHECK(m->content_length && m->content_length->value, "a Content-Length");
    p->body_len = (size_t)strtoul(m->content_length->value, NULL, 10);
    const uint8_t *end = memmem(text, len, "\r\n\r\n", 4);
    CHECK(end, "an empty line ends the headers");
    CHECK((size_t)(text + len - (end + 4)) == p->body_len, "Content-Length is exact");
    p->body = p->body_len ? (const char *)end + 4 : NULL;
}

/** Checks that body is SDP libosip2 parses, with an audio port. */
static void check_sdp(const char *body, size_t len)
{
    char *text = strndup(body, len);
    sdp_message_t *sdp = NULL;
    CHECK(text && sdp_message_init(&sdp) == 0, "sdp_message_init");
    CHECK(sdp_message_parse(sdp, text) == 0, "the SDP parses");
    CHECK(sdp_message_m_port_get(sdp, 0) != NULL, "the SDP has an m= line");
    sdp_message_free(sdp);
    free(text);
}

/** The URI of a From or To header as a string ("sip:user1@a.example"). */
static void uri_of(osip_from_t *h, char *out, size_t n)
{
    char *s = NULL;
    CHECK(h->url && osip_uri_to_str(h->url, &s) == 0, "a URI");
    snprintf(out, n, "%s", s);
    osip_free(s);
}

/* ---- units ---- */

/** A call as the generator would describe it. */
static sx_sip_call sample_call(bool tcp)
{
    sx_sip_call c = {.tcp = tcp, .sdp_session = 123456789};
    const char *agent = "test-agent/1";
    snprintf(c.caller.user, sizeof c.caller.user, "user123");
    snprintf(c.caller.uri, sizeof c.caller.uri, "sip:user123@a.example");
    snprintf(c.caller.display, sizeof c.caller.display, "User 123");
    snprintf(c.caller.tag, sizeof c.caller.tag, "a1b2c3d4");
    snprintf(c.caller.host, sizeof c.caller.host, "10.1.0.24");
    snprintf(c.caller.contact, sizeof c.caller.contact, "sip:user123@10.1.0.24:5060");
    c.caller.port = 5060;
    c.caller.rtp_port = 10000;
    c.caller.agent = agent;
    snprintf(c.callee.user, sizeof c.callee.user, "user456");
    snprintf(c.callee.uri, sizeof c.callee.uri, "sip:user456@b.example");
    snprintf(c.callee.tag, sizeof c.callee.tag, "e5f6a7b8");
    snprintf(c.callee.host, sizeof c.callee.host, "10.2.1.107");
    snprintf(c.callee.contact, sizeof c.callee.contact, "sip:user456@10.2.1.107:5080");
    c.callee.port = 5080;
    c.callee.rtp_port = 12000;
    c.callee.agent = agent;
    snprintf(c.call_id, sizeof c.call_id, "00112233aabbccdd@10.1.0.24");
    snprintf(c.branch[SX_SIP_TXN_INVITE], sizeof c.branch[0], "z9hG4bKinvite1");
    snprintf(c.branch[SX_SIP_TXN_ACK2XX], sizeof c.branch[0], "z9hG4bKack1");
    snprintf(c.branch[SX_SIP_TXN_BYE], sizeof c.branch[0], "z9hG4bKbye1");
    snprintf(c.redirect, sizeof c.redirect, "sip:user456@c.example");
    return c;
}

/** sip_build: the INVITE has its transaction's headers and an SDP offer. */
static void test_invite(sx_buf *out, sx_buf *scratch)
{
    sx_sip_call c = sample_call(false);
    parsed p;
    char uri[128];
    sx_sip_request(out, scratch, &c, SX_SIP_INVITE, 0);
    parse_sip(out->p, out->len, &p);
    CHECK(MSG_IS_INVITE(p.m) && p.cseq == 1 && !strcmp(p.cseq_method, "INVITE"), "INVITE, CSeq 1");
    CHECK(!p.to_tag && !strcmp(p.branch, "z9hG4bKinvite1"), "INVITE: no To tag, its branch");
    CHECK(!strcmp(p.call_id, c.call_id), "INVITE: the Call-ID");
    uri_of(p.m->from, uri, sizeof uri);
    CHECK(!strcmp(uri, "sip:user123@a.example"), "INVITE: From");
    uri_of(p.m->to, uri, sizeof uri);
    CHECK(!strcmp(uri, "sip:user456@b.example"), "INVITE: To");
    CHECK(p.body && p.m->content_type && !strcmp(p.m->content_type->type, "application") &&
              !strcmp(p.m->content_type->subtype, "sdp"), "INVITE: an SDP body");
    check_sdp(p.body, p.body_len);
    CHECK(memmem(out->p, out->len, "Max-Forwards: 70\r\n", 18), "INVITE: Max-Forwards");
    CHECK(memmem(out->p, out->len, "Via: SIP/2.0/UDP 10.1.0.24:5060;", 32), "INVITE: Via over UDP");
    osip_message_free(p.m);

    c = sample_call(true);
    c.offer_min = 3000;
    sx_sip_request(out, scratch, &c, SX_SIP_INVITE, 0);
    parse_sip(out->p, out->len, &p);
    CHECK(p.body_len >= 3000, "a large offer is at least offer_min bytes");
    check_sdp(p.body, p.body_len);
    CHECK(memmem(out->p, out->len, "Via: SIP/2.0/TCP ", 17), "TCP in Via");
    osip_message_free(p.m);
}

/** sip_build: responses to the INVITE copy its transaction, add the To
 *  tag from 101 on, a Contact where RFC 3261 wants one, SDP in the 200. */
static void test_invite_responses(sx_buf *out, sx_buf *scratch)
{
    sx_sip_call c = sample_call(false);
    const int codes[] = {100, 180, 200, 302, 486, 487};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        parsed p;
        sx_sip_response(out, scratch, &c, SX_SIP_INVITE, codes[i]);
        parse_sip(out->p, out->len, &p);
        CHECK(MSG_IS_RESPONSE(p.m) && p.m->status_code == codes[i], "a response's status");
        CHECK(p.to_tag == (codes[i] > 100), "the To tag from 101 on");
        CHECK(!strcmp(p.branch, "z9hG4bKinvite1") && p.cseq == 1, "copied Via and CSeq");
        CHECK((p.body != NULL) == (codes[i] == 200), "only the 200 has a body");
        if (p.body)
            check_sdp(p.body, p.body_len);
        osip_contact_t *ct = NULL;
        bool contact = osip_message_get_contact(p.m, 0, &ct) >= 0 && ct;
        CHECK(contact == (codes[i] == 180 || codes[i] == 200 || codes[i] == 302),
              "a Contact in 18x, 2xx and 3xx");
        if (codes[i] == 302) {
            char uri[128];
            uri_of(ct, uri, sizeof uri);
            CHECK(!strcmp(uri, "sip:user456@c.example"), "302: the redirect");
        }
        osip_message_free(p.m);
    }
}

/** sip_build: a 2xx ACK is its own transaction to the Contact; a
 *  non-2xx ACK and a CANCEL belong to the INVITE's. */
static void test_ack_cancel(sx_buf *out, sx_buf *scratch)
{
    sx_sip_call c = sample_call(false);
    parsed p;
    sx_sip_request(out, scratch, &c, SX_SIP_ACK, 200);
    parse_sip(out->p, out->len, &p);
    CHECK(MSG_IS_ACK(p.m) && p.cseq == 1 && p.to_tag, "2xx ACK: CSeq 1, To tag");
    CHECK(!strcmp(p.branch, "z9hG4bKack1"), "2xx ACK: its own transaction");
    CHECK(!strncmp((const char *)out->p, "ACK sip:user456@10.2.1.107:5080 SIP/2.0\r\n", 41),
          "2xx ACK: to the Contact");
    osip_message_free(p.m);

    sx_sip_request(out, scratch, &c, SX_SIP_ACK, 486);
    parse_sip(out->p, out->len, &p);
    CHECK(!strcmp(p.branch, "z9hG4bKinvite1") && p.to_tag, "non-2xx ACK: the INVITE's branch");
    CHECK(!strncmp((const char *)out->p, "ACK sip:user456@b.example SIP/2.0\r\n", 35),
          "non-2xx ACK: the INVITE's Request-URI");
    osip_message_free(p.m);

    sx_sip_request(out, scratch, &c, SX_SIP_CANCEL, 0);
    parse_sip(out->p, out->len, &p);
    CHECK(MSG_IS_CANCEL(p.m) && p.cseq == 1 && !strcmp(p.cseq_method, "CANCEL"), "CANCEL 1");
    CHECK(!strcmp(p.branch, "z9hG4bKinvite1") && !p.to_tag, "CANCEL: the INVITE's branch and To");
    osip_message_free(p.m);
}

/** sip_build: the callee's BYE goes from the callee to the caller's
 *  Contact, and its 200 comes back with the callee's Via. */
static void test_bye(sx_buf *out, sx_buf *scratch)
{
    sx_sip_call c = sample_call(false);
    parsed p;
    char uri[128];
    c.callee_hangs_up = true;
    sx_sip_request(out, scratch, &c, SX_SIP_BYE, 0);
    parse_sip(out->p, out->len, &p);
    CHECK(MSG_IS_BYE(p.m) && p.cseq == 2 && p.to_tag, "BYE: CSeq 2, both tags");
    uri_of(p.m->from, uri, sizeof uri);
    CHECK(!strcmp(uri, "sip:user456@b.example"), "the callee's BYE is from the callee");
    CHECK(!strncmp((const char *)out->p, "BYE sip:user123@10.1.0.24:5060 SIP/2.0\r\n", 40),
          "the callee's BYE goes to the caller's Contact");
    osip_message_free(p.m);
    sx_sip_response(out, scratch, &c, SX_SIP_BYE, 200);
    parse_sip(out->p, out->len, &p);
    CHECK(!strcmp(p.branch, "z9hG4bKbye1") && !strcmp(p.cseq_method, "BYE"), "200 to BYE");
    CHECK(memmem(out->p, out->len, "Via: SIP/2.0/UDP 10.2.1.107:5080;", 33),
          "200 to BYE: the callee's Via");
    osip_message_free(p.m);
}

/** sip_build: every message of a call parses, and agrees with the others. */
static void test_sip_build(void)
{
    sx_buf out = {0}, scratch = {0};
    test_invite(&out, &scratch);
    test_invite_responses(&out, &scratch);
    test_ack_cancel(&out, &scratch);
    test_bye(&out, &scratch);
    sx_buf_free(&out);
    sx_buf_free(&scratch);
}

/** --mix parsing and the rounding of counts. */
static void test_mix(void)
{
    sx_gen_sip_opts o;
    sx_gen_sip_defaults(&o);
    char err[256];
    uint64_t n[SX_GEN_SIP_KINDS];
    sx_gen_sip_counts(&o, n);
    CHECK(n[0] == 700 && n[1] == 100 && n[2] == 50 && n[3] == 100 && n[4] == 50,
          "the default mix of 1000 calls");
    CHECK(sx_gen_sip_parse_mix("answered=1,busy=1,failed=1", o.mix, err, sizeof err) == 0,
          "a weight mix parses");
    CHECK(o.mix[3] == 0 && o.mix[4] == 0, "kinds not named get 0");
    o.calls = 7;
    sx_gen_sip_counts(&o, n);
    CHECK(n[0] == 3 && n[1] == 2 && n[2] == 2 && n[3] == 0 && n[4] == 0,
          "7 calls in thirds: the first kind gets the tie");
    CHECK(sx_gen_sip_parse_mix("cancelled=2.5,unfinished=7.5", o.mix, err, sizeof err) == 0,
          "fractional weights");
    o.calls = 10;
    sx_gen_sip_counts(&o, n);
    CHECK(n[3] == 3 && n[4] == 7, "2.5:7.5 of 10 rounds to 3 and 7 (largest remainder)");
    const char *bad[][2] = {
        {"answered=70,bogus=3", "'bogus' is no kind"}, {"answered", "wants answered=WEIGHT"},
        {"busy=-1", "wants busy=WEIGHT"}, {"busy=x", "wants busy=WEIGHT"},
        {"busy=1,busy=2", "busy is given twice"}, {"answered=0,busy=0", "add up to 0"},
        {"answered=1,,busy=1", "--mix wants KIND=WEIGHT"}, {"", "--mix wants KIND=WEIGHT"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double before = o.mix[3];
        CHECK(sx_gen_sip_parse_mix(bad[i][0], o.mix, err, sizeof err) == -1, bad[i][0]);
        CHECK(strstr(err, bad[i][1]) != NULL, err);
        CHECK(o.mix[3] == before, "a bad mix changes nothing");
    }
}

/** Reads a whole file into b; false if it cannot. */
static bool read_file(const char *path, sx_buf *b)
{
    b->len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n;
    do {
        n = fread(sx_buf_reserve(b, 65536), 1, 65536, f);
        b->len += n;
    } while (n > 0);
    fclose(f);
    return true;
}

/** Runs the generator in process with o; returns its stats. */
static sx_gen_sip_stats generate(const sx_gen_sip_opts *o)
{
    char err[512];
    CHECK(sx_gen_sip_check(o, err, sizeof err) == 0, err);
    sx_gen_sip *g = sx_gen_sip_new(o, err, sizeof err);
    CHECK(g, err);
    int rc;
    while ((rc = sx_gen_sip_run(g, 100, err, sizeof err)) == 1)
        ;
    CHECK(rc == 0, err);
    sx_gen_sip_stats st;
    sx_gen_sip_stats_get(g, &st);
    sx_gen_sip_destroy(&g);
    CHECK(g == NULL, "destroy nulls the pointer");
    return st;
}

/** The generator in process: checks, determinism, exact kinds. */
static void test_generator(void)
{
    char dir[] = "/tmp/test_gen_sip.XXXXXX", a[64], b[64], ta[64], tb[64], err[512];
    CHECK(mkdtemp(dir), "mkdtemp");
    snprintf(a, sizeof a, "%s/a.pcap", dir);
    snprintf(b, sizeof b, "%s/b.pcap", dir);
    snprintf(ta, sizeof ta, "%s/a.csv", dir);
    snprintf(tb, sizeof tb, "%s/b.csv", dir);
    sx_gen_sip_opts o;
    sx_gen_sip_defaults(&o);
    CHECK(sx_gen_sip_check(&o, err, sizeof err) == -1 && strstr(err, "-o FILE.pcap"),
          "an output file is required");
    o.pcap_path = a;
    o.truth_path = ta;
    o.calls = 0;
    CHECK(sx_gen_sip_check(&o, err, sizeof err) == -1 && strstr(err, "--calls"), "--calls 0");
    o.calls = 300;
    o.tcp_fraction = 1.5;
    CHECK(sx_gen_sip_check(&o, err, sizeof err) == -1 && strstr(err, "--tcp"), "--tcp 150");
    o.tcp_fraction = 0.3;
    o.fragment_fraction = o.retransmit_fraction = 0.2;
    o.concurrency = 20;
    o.duration_mean = 5;
    sx_gen_sip_stats s1 = generate(&o);
    CHECK(s1.calls == 300 && s1.by_kind[0] == 210 && s1.by_kind[1] == 30 && s1.by_kind[2] == 15 &&
              s1.by_kind[3] == 30 && s1.by_kind[4] == 15, "each kind gets exactly its count");
    CHECK(s1.tcp > 0 && s1.fragmented > 0 && s1.retransmitted > 0, "every impairment occurs");
    CHECK(s1.invites >= 300 && s1.invites <= 300 + s1.retransmitted, "INVITEs sent");
    o.pcap_path = b;
    o.truth_path = tb;
    generate(&o);
    sx_buf x = {0}, y = {0};
    CHECK(read_file(a, &x) && read_file(b, &y), "read the pcaps");
    CHECK(x.len == y.len && !memcmp(x.p, y.p, x.len), "same options, same pcap");
    CHECK(read_file(ta, &x) && read_file(tb, &y), "read the truths");
    CHECK(x.len == y.len && !memcmp(x.p, y.p, x.len), "same options, same truth");
    o.seed = 2;
    generate(&o);
    CHECK(read_file(tb, &y) && (x.len != y.len || memcmp(x.p, y.p, x.len)),
          "another seed, another truth");
    o.pcap_path = "/nonexistent/dir/x.pcap";
    CHECK(sx_gen_sip_new(&o, err, sizeof err) == NULL && strstr(err, "cannot create"),
          "an uncreatable file is reported");
    sx_buf_free(&x);
    sx_buf_free(&y);
    unlink(a);
    unlink(b);
    unlink(ta);
    unlink(tb);
    rmdir(dir);
}

/* ---- check: an independent reading of the trace ---- */

/* What the packets say about one call. */
typedef struct call_obs {
    char call_id[96], from[96], to[96];
    char invite_branch[64];
    uint64_t invite_hash;           /* of the first INVITE's bytes */
    uint64_t start, answer, final_at, bye, last_packet;
    int final_code;
    unsigned invites;
    bool cancelled, acked;
} call_obs;

/* One direction of a TCP connection. */
typedef struct half {
    uint32_t nxt;                   /* the next sequence number expected */
    bool fin;
    sx_buf bytes;                   /* received, not yet framed */
} half;

typedef struct conn {
    uint32_t cip, sip;              /* client (who sent the SYN) and server */
    uint16_t cport, sport;
    half h[2];                      /* 0: from the client */
    bool established, closed;
    call_obs *call;
} conn;

/* An IPv4 datagram being reassembled. */
typedef struct datagram {
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
    bool used;
    uint8_t header[20];
    uint8_t data[65536];
    uint8_t have[65536 / 8];        /* a bit per byte received */
    size_t total;                   /* the payload's length, once the last piece came */
    size_t received;
} datagram;

typedef struct checker {
    call_obs *calls;
    size_t cap, ncalls;             /* open addressing, cap a power of two */
    conn *conns;                    /* open addressing by address pair, cap entries */
    size_t nconns;
    datagram *dgrams;
    uint64_t last_ts, messages, invites, fragmented, tcp;
} checker;

/** The call with this Call-ID, created when new. */
static call_obs *find_call(checker *k, const char *id)
{
    size_t i = fnv1a((const uint8_t *)id, strlen(id)) & (k->cap - 1);
    while (k->calls[i].call_id[0] && strcmp(k->calls[i].call_id, id))
        i = (i + 1) & (k->cap - 1);
    call_obs *c = &k->calls[i];
    if (!c->call_id[0]) {
        CHECK(k->ncalls + 1 < k->cap / 2, "more calls in the trace than in the truth");
        snprintf(c->call_id, sizeof c->call_id, "%s", id);
        k->ncalls++;
    }
    return c;
}

/** A request: checks its CSeq and branch against the call's INVITE. */
static void on_request(call_obs *c, const parsed *p, const uint8_t *text, size_t len,
                       uint64_t ts)
{
    osip_message_t *m = p->m;
    CHECK(osip_message_get_max_forwards(m, 0, &(osip_header_t *){NULL}) >= 0,
          "a request has Max-Forwards");
    CHECK(!strcmp(m->sip_method, p->cseq_method), "CSeq names the request's method");
    if (MSG_IS_INVITE(m)) {
        CHECK(p->cseq == 1 && !p->to_tag && p->body, "INVITE: CSeq 1, no To tag, SDP");
        check_sdp(p->body, p->body_len);
        if (c->invites++ == 0) {
            c->start = ts;
            c->invite_hash = fnv1a(text, len);
            snprintf(c->invite_branch, sizeof c->invite_branch, "%s", p->branch);
            uri_of(m->from, c->from, sizeof c->from);
            uri_of(m->to, c->to, sizeof c->to);
        } else {
            CHECK(fnv1a(text, len) == c->invite_hash, "a resent INVITE is the same bytes");
        }
    } else if (MSG_IS_ACK(m)) {
        CHECK(c->final_code >= 200 && p->cseq == 1 && p->to_tag, "ACK after the final response");
        bool same = !strcmp(p->branch, c->invite_branch);
        CHECK(same == (c->final_code >= 300), "a non-2xx ACK has the INVITE's branch, "
                                              "a 2xx ACK its own");
        c->acked = true;
    } else if (MSG_IS_CANCEL(m)) {
        CHECK(p->cseq == 1 && !p->to_tag && !strcmp(p->branch, c->invite_branch),
              "CANCEL: CSeq 1, the INVITE's branch and To");
        CHECK(c->final_code == 0, "CANCEL before the final response");
        c->cancelled = true;
    } else {
        CHECK(MSG_IS_BYE(m) && p->cseq == 2 && p->to_tag, "BYE: CSeq 2 and both tags");
        CHECK(c->answer && c->acked, "BYE after the answer and its ACK");
        if (!c->bye)
            c->bye = ts;
    }
}

/** A response: the first final one to the INVITE decides the outcome. */
static void on_response(call_obs *c, const parsed *p, uint64_t ts)
{
    int code = p->m->status_code;
    CHECK(p->to_tag == (code > 100), "responses carry the To tag from 101 on");
    if (strcmp(p->cseq_method, "INVITE"))
        return;
    CHECK(!strcmp(p->branch, c->invite_branch), "a response to INVITE has its branch");
    if (code < 200 || c->final_code)
        return;
    c->final_code = code;
    c->final_at = ts;
    if (code < 300) {
        CHECK(p->body, "a 200 to INVITE carries SDP");
        check_sdp(p->body, p->body_len);
        c->answer = ts;
    }
}

/** One SIP message, completed by the packet at ts. */
static call_obs *on_sip(checker *k, const uint8_t *text, size_t len, uint64_t ts)
{
    parsed p;
    parse_sip(text, len, &p);
    call_obs *c = find_call(k, p.call_id);
    CHECK(c->invites || MSG_IS_INVITE(p.m), "a call starts with its INVITE");
    if (MSG_IS_REQUEST(p.m))
        on_request(c, &p, text, len, ts);
    else
        on_response(c, &p, ts);
    k->invites += MSG_IS_INVITE(p.m);
    k->messages++;
    c->last_packet = ts;
    osip_message_free(p.m);
    return c;
}

/** Where the connection between two ends starts its probe: the same
 *  for both directions. */
static size_t conn_hash(const checker *k, uint32_t a, uint16_t ap, uint32_t b, uint16_t bp)
{
    uint64_t x = (uint64_t)a << 16 | ap, y = (uint64_t)b << 16 | bp;
    uint64_t key[2] = {x < y ? x : y, x < y ? y : x};
    return fnv1a((const uint8_t *)key, sizeof key) & (k->cap - 1);
}

/** The open connection of a segment, either direction (*from_client
 *  says which); NULL when none, *slot then the first free entry. Closed
 *  connections stay in the table, so a later one on the same ports is
 *  found past them. */
static conn *find_conn(checker *k, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp,
                       bool *from_client, conn **slot)
{
    for (size_t i = conn_hash(k, src, sp, dst, dp);; i = (i + 1) & (k->cap - 1)) {
        conn *c = &k->conns[i];
        if (!c->cip) {
            *slot = c;
            return NULL;
        }
        if (c->closed)
            continue;
        if (c->cip == src && c->cport == sp && c->sip == dst && c->sport == dp) {
            *from_client = true;
            return c;
        }
        if (c->cip == dst && c->cport == dp && c->sip == src && c->sport == sp) {
            *from_client = false;
            return c;
        }
    }
}

/** Frames and handles every complete SIP message in a stream's bytes. */
static void frame_stream(checker *k, conn *c, half *h, uint64_t ts)
{
    for (;;) {
        const uint8_t *end = memmem(h->bytes.p, h->bytes.len, "\r\n\r\n", 4);
        if (!end)
            return;
        size_t head = (size_t)(end + 4 - h->bytes.p);
        const char *cl = memmem(h->bytes.p, head, "\r\nContent-Length: ", 18);
        CHECK(cl, "a message on TCP has a Content-Length");
        size_t total = head + strtoul(cl + 18, NULL, 10);
        if (h->bytes.len < total)
            return;
        call_obs *call = on_sip(k, h->bytes.p, total, ts);
        CHECK(!c->call || c->call == call, "one call per TCP connection");
        c->call = call;
        memmove(h->bytes.p, h->bytes.p + total, h->bytes.len - total);
        h->bytes.len -= total;
    }
}

/** A TCP segment: the handshake, in-order data, FINs. */
static void on_tcp(checker *k, const uint8_t *ip, const uint8_t *tcp, size_t len, uint64_t ts)
{
    CHECK(len >= 20 && l4_sum(ip, tcp, len) == 0, "TCP checksum");
    uint32_t src = be32(ip + 12), dst = be32(ip + 16), seq = be32(tcp + 4), ack = be32(tcp + 8);
    uint16_t sp = be16(tcp), dp = be16(tcp + 2);
    uint8_t flags = tcp[13];
    size_t off = (size_t)(tcp[12] >> 4) * 4, n = len - off;
    bool from_client;
    conn *slot = NULL, *c = find_conn(k, src, sp, dst, dp, &from_client, &slot);
    if (flags & 0x02 && !(flags & 0x10)) { /* SYN */
        CHECK(!c, "a SYN opens a new connection");
        CHECK(++k->nconns < k->cap / 2, "more connections in the trace than calls");
        c = slot;
        *c = (conn){.cip = src, .sip = dst, .cport = sp, .sport = dp};
        c->h[0].nxt = seq + 1;
        k->tcp++;
        return;
    }
    CHECK(c, "a segment belongs to a connection that began with a SYN");
    half *me = &c->h[from_client ? 0 : 1], *peer = &c->h[from_client ? 1 : 0];
    if (flags & 0x02) { /* SYN-ACK */
        CHECK(!from_client && ack == c->h[0].nxt, "SYN-ACK acknowledges the SYN");
        me->nxt = seq + 1;
        return;
    }
    CHECK(flags & 0x10 && ack == peer->nxt, "every segment acknowledges all the peer sent");
    CHECK(seq == me->nxt, "segments come in order, none missing or resent");
    c->established = true;
    if (n) {
        CHECK(!me->fin, "no data after FIN");
        sx_buf_put(&me->bytes, tcp + off, n);
        me->nxt += (uint32_t)n;
        frame_stream(k, c, me, ts);
    }
    if (flags & 0x01) {
        CHECK(me->bytes.len == 0, "FIN after whole messages");
        me->fin = true;
        me->nxt++;
    }
    if (c->call)
        c->call->last_packet = ts;
    if (c->h[0].fin && c->h[1].fin && !(flags & 0x01)) { /* the last ACK */
        c->closed = true;
        sx_buf_free(&c->h[0].bytes);
        sx_buf_free(&c->h[1].bytes);
    }
}

/** A UDP datagram (whole or reassembled): one SIP message. */
static void on_udp(checker *k, const uint8_t *ip, const uint8_t *udp, size_t len, uint64_t ts)
{
    CHECK(len >= 8 && be16(udp + 4) == len, "UDP length");
    CHECK(be16(udp + 6) != 0 && l4_sum(ip, udp, len) == 0, "UDP checksum");
    on_sip(k, udp + 8, len - 8, ts);
}

/** The slot reassembling this fragment's datagram (a new one if needed). */
static datagram *find_datagram(checker *k, const uint8_t *ip)
{
    datagram *free_slot = NULL;
    for (size_t i = 0; i < MAX_DATAGRAMS; i++) {
        datagram *d = &k->dgrams[i];
        if (d->used && d->src == be32(ip + 12) && d->dst == be32(ip + 16) &&
            d->id == be16(ip + 4) && d->proto == ip[9])
            return d;
        if (!d->used && !free_slot)
            free_slot = d;
    }
    CHECK(free_slot, "too many datagrams in reassembly");
    free_slot->used = true;
    free_slot->src = be32(ip + 12);
    free_slot->dst = be32(ip + 16);
    free_slot->id = be16(ip + 4);
    free_slot->proto = ip[9];
    free_slot->total = 0;
    free_slot->received = 0;
    memset(free_slot->have, 0, sizeof free_slot->have);
    return free_slot;
}

/** A fragment; the datagram goes on once every byte of it is here. */
static void on_fragment(checker *k, const uint8_t *ip, size_t len, uint64_t ts)
{
    uint16_t frag = be16(ip + 6);
    size_t off = (size_t)(frag & 0x1fff) * 8, n = len - 20;
    bool more = frag & 0x2000;
    CHECK(!(frag & 0x4000), "no DF on a fragment");
    CHECK(!more || n % 8 == 0, "a fragment but the last carries a multiple of 8 bytes");
    CHECK(off + n <= 65535 - 20, "a fragment within 64 KiB");
    datagram *d = find_datagram(k, ip);
    for (size_t i = off; i < off + n; i++) {
        CHECK(!(d->have[i / 8] & (1u << (i % 8))), "fragments do not overlap");
        d->have[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    memcpy(d->data + off, ip + 20, n);
    d->received += n;
    if (off == 0)
        memcpy(d->header, ip, 20);
    if (!more)
        d->total = off + n;
    if (!d->total || d->received < d->total)
        return;
    d->used = false;
    k->fragmented++;
    uint8_t header[20];
    memcpy(header, d->header, 20);
    header[2] = (uint8_t)((d->total + 20) >> 8);
    header[3] = (uint8_t)(d->total + 20);
    CHECK(d->proto == 17, "only UDP is fragmented");
    on_udp(k, header, d->data, d->total, ts);
}

/** One captured frame: Ethernet, IPv4, then UDP, TCP or a fragment. */
static void on_frame(checker *k, const struct pcap_pkthdr *h, const uint8_t *f)
{
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    CHECK(ts > k->last_ts, "capture times strictly increase");
    k->last_ts = ts;
    CHECK(h->caplen == h->len && h->len >= 34 && h->len <= 1514, "a whole frame, at most 1514");
    CHECK(be16(f + 12) == 0x0800, "IPv4");
    const uint8_t *ip = f + 14;
    size_t ip_len = be16(ip + 2);
    CHECK(ip[0] == 0x45 && ip_len == h->len - 14, "a 20-byte IPv4 header, its length");
    CHECK(inet_sum(0, ip, 20) == 0, "IPv4 header checksum");
    if (be16(ip + 6) & 0x3fff)
        on_fragment(k, ip, ip_len, ts);
    else if (ip[9] == 17)
        on_udp(k, ip, ip + 20, ip_len - 20, ts);
    else if (ip[9] == 6)
        on_tcp(k, ip, ip + 20, ip_len - 20, ts);
    else
        CHECK(false, "UDP or TCP");
}

/** Splits a truth line into its 9 fields (in place). */
static void split_line(char *line, char *f[9])
{
    for (int i = 0; i < 9; i++) {
        f[i] = line;
        char *comma = strchr(line, i < 8 ? ',' : '\n');
        CHECK(comma || i == 8, "9 fields on a truth line");
        if (comma) {
            *comma = 0;
            line = comma + 1;
        }
    }
    CHECK(!strchr(f[8], ','), "no more than 9 fields");
}

/** Compares a truth line with what the packets say of that call. */
static void check_row(checker *k, char *f[9])
{
    call_obs *c = find_call(k, f[0]);
    CHECK(c->invites, "a truth call is in the trace");
    const char *outcome = c->final_code / 100 == 2 ? (c->bye ? "answered" : "timeout")
                          : c->final_code == 487 && c->cancelled ? "cancelled"
                                                                 : "failed";
    uint64_t end = !strcmp(outcome, "answered") ? c->bye
                   : !strcmp(outcome, "timeout") ? c->last_packet
                                                 : c->final_at;
    uint64_t duration = c->answer ? end - c->answer : 0;
    char want[512], got[512];
    snprintf(want, sizeof want, "%s,%s,%s,%s,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
             c->call_id, c->from, c->to, outcome, c->final_code, c->start, c->answer, end,
             duration);
    snprintf(got, sizeof got, "%s,%s,%s,%s,%s,%s,%s,%s,%s", f[0], f[1], f[2], f[3], f[4], f[5],
             f[6], f[7], f[8]);
    if (strcmp(want, got)) {
        fprintf(stderr, "truth:   %s\npackets: %s\n", got, want);
        CHECK(false, "the truth line says what the packets say");
    }
}

/** Reads the truth file and checks every line against the packets. */
static size_t check_truth(checker *k, const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f, "open the truth file");
    char line[1024], prev[128] = "";
    CHECK(fgets(line, sizeof line, f) &&
              !strcmp(line, "call_id,from,to,outcome,code,start_us,answer_us,end_us,"
                            "duration_us\n"), "the truth's header line");
    size_t rows = 0;
    while (fgets(line, sizeof line, f)) {
        char *fields[9];
        split_line(line, fields);
        CHECK(strcmp(prev, fields[0]) < 0, "truth lines sorted by call_id, each once");
        snprintf(prev, sizeof prev, "%s", fields[0]);
        check_row(k, fields);
        rows++;
    }
    fclose(f);
    return rows;
}

/** Lines in a file. */
static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f, "open the truth file");
    size_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static int check_mode(const char *pcap_path, const char *truth_path)
{
    parser_init();
    checker k = {0};
    size_t rows = count_lines(truth_path);
    for (k.cap = 16; k.cap < 4 * rows; k.cap *= 2)
        ;
    k.calls = calloc(k.cap, sizeof *k.calls);
    k.conns = calloc(k.cap, sizeof *k.conns);
    k.dgrams = calloc(MAX_DATAGRAMS, sizeof *k.dgrams);
    CHECK(k.calls && k.conns && k.dgrams, "memory");
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(pcap_path, errbuf);
    CHECK(p, errbuf);
    CHECK(pcap_datalink(p) == DLT_EN10MB, "Ethernet");
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1)
        on_frame(&k, h, data);
    CHECK(rc == PCAP_ERROR_BREAK, "the pcap reads to its end");
    pcap_close(p);
    for (size_t i = 0; i < MAX_DATAGRAMS; i++)
        CHECK(!k.dgrams[i].used, "no datagram left half reassembled");
    for (size_t i = 0; i < k.cap; i++) {
        conn *c = &k.conns[i];
        if (!c->cip)
            continue;
        CHECK(c->h[0].bytes.len == 0 && c->h[1].bytes.len == 0, "no partial message at the end");
        CHECK(c->closed || (c->established && c->call && !c->call->bye),
              "connections close, but those of unfinished calls");
        sx_buf_free(&c->h[0].bytes);
        sx_buf_free(&c->h[1].bytes);
    }
    size_t checked = check_truth(&k, truth_path);
    CHECK(checked == k.ncalls, "every call in the trace has a truth line");
    printf("messages %" PRIu64 " invites %" PRIu64 " calls %zu fragmented %" PRIu64
           " tcp %" PRIu64 "\n", k.messages, k.invites, k.ncalls, k.fragmented, k.tcp);
    free(k.calls);
    free(k.conns);
    free(k.dgrams);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "units")) {
        parser_init();
        test_sip_build();
        test_mix();
        test_generator();
        printf("ok: units\n");
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "check"))
        return check_mode(argv[2], argv[3]);
    fprintf(stderr, "usage: test_gen_sip units | check PCAP TRUTH\n");
    return 2;
}
