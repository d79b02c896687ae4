/*
 * nids_shards.c -- drives the symbol-renamed copies of libnids.
 *
 * Copy I's globals are sxnidsI_* (cmake/nids-copies.sh). A table of
 * their entry points, made here by macro expansion, lets the rest of
 * the file treat a copy as an object. Every copy is initialized once
 * (pthread_once) from the settings, with a DLT_RAW pcap handle so that
 * libnids takes bare IPv4 packets, TCP checksums off (offloaded and
 * zero checksums are normal in captures), port-scan detection off.
 *
 * libnids reports through callbacks during nids_pcap_handler. The
 * thread feeding a shard holds its mutex and points the thread-local
 * `feeding` at what it wants collected, so the shared callbacks know
 * which packet they serve; a callback about another connection (an
 * eviction) is counted and otherwise ignored.
 */
#include "functions/nids_shards.h"

#include <arpa/inet.h>
#include <nids.h>
#include <pcap.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"
#include "analog/settings.h"
#include "functions/fn_args.h"
#include "proto/alloc.h"

/* ---- the copies ---- */

typedef struct nids_api {
    struct nids_prm *params;
    int (*init)(void);
    void (*register_tcp)(void *);
    void (*register_ip)(void *);
    void (*register_chksum_ctl)(struct nids_chksum_ctl *, int);
    void (*pcap_handler)(u_char *, struct pcap_pkthdr *, u_char *);
    char *errbuf;
} nids_api;

#define NIDS_DECLARE(i)                                                                         \
    extern struct nids_prm sxnids##i##_nids_params;                                             \
    extern char sxnids##i##_nids_errbuf[];                                                      \
    int sxnids##i##_nids_init(void);                                                            \
    void sxnids##i##_nids_register_tcp(void *);                                                 \
    void sxnids##i##_nids_register_ip(void *);                                                  \
    void sxnids##i##_nids_register_chksum_ctl(struct nids_chksum_ctl *, int);                   \
    void sxnids##i##_nids_pcap_handler(u_char *, struct pcap_pkthdr *, u_char *);
#define NIDS_API(i)                                                                             \
    {&sxnids##i##_nids_params, sxnids##i##_nids_init, sxnids##i##_nids_register_tcp,            \
     sxnids##i##_nids_register_ip, sxnids##i##_nids_register_chksum_ctl,                        \
     sxnids##i##_nids_pcap_handler, sxnids##i##_nids_errbuf},
#define NIDS_COPIES_8(X, a) X(a##0) X(a##1) X(a##2) X(a##3) X(a##4) X(a##5) X(a##6) X(a##7)
#define NIDS_COPIES_ALL(X)                                                                      \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)                                           \
    X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19)                                \
    X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29)                                \
    X(30) X(31) X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39)

NIDS_COPIES_ALL(NIDS_DECLARE)
static const nids_api copies[] = {NIDS_COPIES_ALL(NIDS_API)};
_Static_assert(sizeof copies / sizeof copies[0] == FN_NIDS_COPIES, "copy table size");

/* ---- settings and counters ---- */

static const analog_setting_def table_setting = {
    .name = "tcp.table_size", .def = 4096, .min = 16, .max = 1 << 22, .unit = "streams",
    .summary = "libnids n_tcp_streams of each TCP shard: a shard follows at most 3/4 of it "
               "and evicts the oldest connection beyond (tcp.streams_evicted)",
};
ANALOG_SETTING_REGISTER(table_setting)
static const analog_setting_def shards_setting = {
    .name = "tcp.shards", .def = FN_NIDS_TCP_SHARDS, .min = 1, .max = FN_NIDS_TCP_SHARDS,
    .unit = "shards",
    .summary = "independent libnids instances reassembling TCP (1 = one global instance)",
};
ANALOG_SETTING_REGISTER(shards_setting)
static const analog_setting_def hosts_setting = {
    .name = "ipfrag.hosts", .def = 256, .min = 1, .max = 1 << 20, .unit = "hosts",
    .summary = "libnids n_hosts: hash size of each defragmentation shard's host table",
};
ANALOG_SETTING_REGISTER(hosts_setting)

static analog_counter c_opened = {.name = "tcp.streams_opened",
                                  .summary = "TCP connections followed from their handshake"};
ANALOG_COUNTER_REGISTER(c_opened)
static analog_counter c_closed = {.name = "tcp.streams_closed",
                                  .summary = "TCP connections closed by FIN"};
ANALOG_COUNTER_REGISTER(c_closed)
static analog_counter c_reset = {.name = "tcp.streams_reset",
                                 .summary = "TCP connections closed by RST"};
ANALOG_COUNTER_REGISTER(c_reset)
static analog_counter c_evicted = {
    .name = "tcp.streams_evicted",
    .summary = "TCP connections dropped to make room (tcp.table_size per shard)"};
ANALOG_COUNTER_REGISTER(c_evicted)
static analog_counter c_bytes = {.name = "tcp.bytes_delivered",
                                 .summary = "in-order TCP payload bytes delivered"};
ANALOG_COUNTER_REGISTER(c_bytes)
static analog_counter c_tcp_warn = {
    .name = "tcp.bad_packets",
    .summary = "TCP packets libnids refused (bad header, bad flags, queue too big)"};
ANALOG_COUNTER_REGISTER(c_tcp_warn)
static analog_counter c_toomuch = {
    .name = "tcp.table_full", .summary = "established connections evicted from a full table"};
ANALOG_COUNTER_REGISTER(c_toomuch)
static analog_counter c_ip_warn = {
    .name = "ip.bad_packets",
    .summary = "IPv4 packets libnids refused (bad header or checksum, source route)"};
ANALOG_COUNTER_REGISTER(c_ip_warn)
static analog_counter c_frag_warn = {
    .name = "ipfrag.bad_fragments",
    .summary = "fragments libnids refused (overlapping, oversized, invalid list)"};
ANALOG_COUNTER_REGISTER(c_frag_warn)
static analog_counter c_frag_done = {.name = "ipfrag.datagrams",
                                     .summary = "datagrams reassembled from fragments"};
ANALOG_COUNTER_REGISTER(c_frag_done)

/* ---- shards ---- */

typedef struct shard {
    pthread_mutex_t lock;
    uint8_t *scratch; /* a copy of the packet being fed (libnids may write) */
    size_t cap;
} shard;

static shard shards[FN_NIDS_COPIES];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_failed;
static char init_err[PCAP_ERRBUF_SIZE + 64];
static pcap_t *raw_handle;
static unsigned tcp_shards;

/** What the thread feeding a shard wants collected. */
typedef struct feeding {
    const uint8_t *ip; /* the packet's IPv4 header (for matching streams) */
    uint16_t sport, dport;
    fn_nids_tcp_out *tcp;
    sx_blob **whole;
} feeding;

static _Thread_local feeding *cur;

/** libnids' warning channel: counted by kind, never printed. */
static void on_warning(int type, int err, struct ip *iph, void *data)
{
    if (type == NIDS_WARN_TCP && err == NIDS_WARN_TCP_TOOMUCH)
        analog_counter_add(&c_toomuch, 1);
    else if (type == NIDS_WARN_TCP)
        analog_counter_add(&c_tcp_warn, 1);
    else if (type == NIDS_WARN_IP && (err == NIDS_WARN_IP_HDR || err == NIDS_WARN_IP_SRR))
        analog_counter_add(&c_ip_warn, 1);
    else if (type == NIDS_WARN_IP)
        analog_counter_add(&c_frag_warn, 1);
}

/** libnids' out-of-memory hook: it cannot continue after one. */
static void on_no_mem(char *where)
{
    fprintf(stderr, "scalanytics: libnids out of memory in %s\n", where);
    abort();
}

/** True when stream s is the connection of the packet being fed. */
static bool is_current(const struct tcp_stream *s)
{
    if (!cur || !cur->tcp)
        return false;
    uint32_t src, dst;
    memcpy(&src, cur->ip + 12, 4);
    memcpy(&dst, cur->ip + 16, 4);
    const struct tuple4 *a = &s->addr;
    return (a->saddr == src && a->daddr == dst && a->source == cur->sport &&
            a->dest == cur->dport) ||
           (a->saddr == dst && a->daddr == src && a->source == cur->dport &&
            a->dest == cur->sport);
}

/** Appends n new bytes to out->data (usually the first and only piece). */
static void data_append(fn_nids_tcp_out *out, const char *p, size_t n)
{
    if (!out->data) {
        out->data = sx_blob_new(p, n);
        return;
    }
    sx_blob *b = sx_blob_new(NULL, out->data->len + n);
    memcpy(b->data, out->data->data, out->data->len);
    memcpy(b->data + out->data->len, p, n);
    sx_blob_release(&out->data);
    out->data = b;
}

/** Records the connection's endpoints in out. */
static void endpoints_set(fn_nids_tcp_out *out, const struct tcp_stream *s)
{
    memcpy(out->client, &s->addr.saddr, 4);
    memcpy(out->server, &s->addr.daddr, 4);
    out->cport = s->addr.source;
    out->sport = s->addr.dest;
}

/** The bytes a half-stream just received, for the data callback. */
static void data_collect(fn_nids_tcp_out *out, const struct tcp_stream *s)
{
    const struct half_stream *h = s->server.count_new ? &s->server : &s->client;
    if (!h->count_new)
        return;
    fn_nids_dir dir = h == &s->server ? FN_NIDS_DIR_C2S : FN_NIDS_DIR_S2C;
    if (out->dir != FN_NIDS_DIR_NONE && out->dir != dir && out->data) {
        /* libnids delivers one direction per packet; keep the first. */
        analog_counter_add(&c_tcp_warn, 1);
        return;
    }
    out->dir = dir;
    size_t avail = (size_t)(h->count - h->offset);
    data_append(out, h->data + avail - (size_t)h->count_new, (size_t)h->count_new);
    analog_counter_add(&c_bytes, (uint64_t)h->count_new);
    if (out->event == FN_NIDS_EV_NONE)
        out->event = FN_NIDS_EV_DATA;
}

/** The TCP callback of every TCP shard. */
static void on_tcp(struct tcp_stream *s, void **param)
{
    bool mine = is_current(s);
    fn_nids_tcp_out *out = mine ? cur->tcp : NULL;
    switch (s->nids_state) {
    case NIDS_JUST_EST:
        s->client.collect++;
        s->server.collect++;
        analog_counter_add(&c_opened, 1);
        if (out && out->event < FN_NIDS_EV_OPEN)
            out->event = FN_NIDS_EV_OPEN;
        break;
    case NIDS_DATA:
        if (out)
            data_collect(out, s);
        break;
    case NIDS_CLOSE:
        analog_counter_add(&c_closed, 1);
        if (out)
            out->event = FN_NIDS_EV_CLOSE;
        break;
    case NIDS_RESET:
        analog_counter_add(&c_reset, 1);
        if (out)
            out->event = FN_NIDS_EV_RESET;
        break;
    case NIDS_TIMED_OUT:
        analog_counter_add(&c_evicted, 1);
        if (out)
            out->event = FN_NIDS_EV_TIMEOUT;
        break;
    default: /* NIDS_EXITING */
        break;
    }
    if (out)
        endpoints_set(out, s);
}

/** The IP callback of every defragmentation shard: a whole datagram. */
static void on_ip(struct ip *iph, int skblen)
{
    if (!cur || !cur->whole)
        return;
    size_t len = ntohs(iph->ip_len);
    sx_blob_release(cur->whole);
    *cur->whole = sx_blob_new(iph, len);
}

/** Initializes copy i (TCP or defragmentation). 0, or -1 in init_err. */
static int copy_init(unsigned i)
{
    const nids_api *api = &copies[i];
    bool tcp = i < FN_NIDS_TCP_SHARDS;
    struct nids_prm *p = api->params;
    p->n_tcp_streams = tcp ? (int)analog_setting_get(table_setting.name) : 0;
    p->n_hosts = (int)analog_setting_get(hosts_setting.name);
    p->scan_num_hosts = 0;
    p->syslog = (void (*)())on_warning;
    p->no_mem = on_no_mem;
    p->pcap_desc = raw_handle;
    p->multiproc = 0;
    p->tcp_workarounds = 0;
    p->one_loop_less = 0;
    if (!api->init()) {
        snprintf(init_err, sizeof init_err, "libnids copy %u: %s", i, api->errbuf);
        return -1;
    }
    static struct nids_chksum_ctl no_checksums = {.netaddr = 0, .mask = 0,
                                                  .action = NIDS_DONT_CHKSUM};
    api->register_chksum_ctl(&no_checksums, 1);
    if (tcp)
        api->register_tcp((void *)on_tcp);
    else
        api->register_ip((void *)on_ip);
    return 0;
}

/** Initializes every copy once. */
static void init_all(void)
{
    tcp_shards = (unsigned)analog_setting_get(shards_setting.name);
    raw_handle = pcap_open_dead(DLT_RAW, 65535);
    if (!raw_handle) {
        snprintf(init_err, sizeof init_err, "pcap_open_dead failed");
        init_failed = 1;
        return;
    }
    for (unsigned i = 0; i < FN_NIDS_COPIES; i++) {
        pthread_mutex_init(&shards[i].lock, NULL);
        if (copy_init(i) != 0) {
            init_failed = 1;
            return;
        }
    }
}

/** Runs init_all once; -1 with its message in err if it failed. */
static int ready(char *err, size_t errlen)
{
    pthread_once(&init_once, init_all);
    if (init_failed)
        return fn_args_errorf(err, errlen, "%s", init_err);
    return 0;
}

/** Feeds pkt to copy i under its lock, with f collecting. */
static void shard_feed(unsigned i, const uint8_t *pkt, size_t len, int64_t ts_ns, feeding *f)
{
    shard *s = &shards[i];
    pthread_mutex_lock(&s->lock);
    if (s->cap < len) {
        free(s->scratch);
        s->cap = len < 2048 ? 2048 : len;
        s->scratch = sx_malloc(s->cap);
    }
    memcpy(s->scratch, pkt, len);
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};
    h.ts.tv_sec = (time_t)(ts_ns / 1000000000);
    h.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000 / 1000);
    cur = f;
    copies[i].pcap_handler(NULL, &h, s->scratch);
    cur = NULL;
    pthread_mutex_unlock(&s->lock);
}

/** Big-endian 16-bit read. */
static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/** Checks the IPv4 header of pkt: version 4, IHL >= 5, header and total
 *  length within the bytes. Sets *hlen. 0, or -1 with a message. */
static int ip4_check(const char *fn, const uint8_t *pkt, size_t len, size_t *hlen, char *err,
                     size_t errlen)
{
    if (len < 20 || pkt[0] >> 4 != 4)
        return fn_args_errorf(err, errlen, "%s: not an IPv4 packet", fn);
    *hlen = (size_t)(pkt[0] & 0x0f) * 4;
    size_t total = rd16(pkt + 2);
    if (*hlen < 20 || total < *hlen || total > len)
        return fn_args_errorf(err, errlen, "%s: bad IPv4 lengths (header %zu, total %zu, %zu "
                              "bytes present)", fn, *hlen, total, len);
    return 0;
}

int fn_nids_tcp_feed(const uint8_t *pkt, size_t len, int64_t ts_ns, fn_nids_tcp_out *out,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t hlen;
    if (ready(err, errlen) != 0 || ip4_check("f_processTCP", pkt, len, &hlen, err, errlen) != 0)
        return -1;
    if (pkt[9] != 6)
        return fn_args_errorf(err, errlen, "f_processTCP: not a TCP packet (IP protocol %u)",
                              pkt[9]);
    if ((rd16(pkt + 6) & 0x3fff) != 0)
        return fn_args_errorf(err, errlen, "f_processTCP: an IP fragment: reassemble with "
                              "f_processIpFrag first");
    if (rd16(pkt + 2) < hlen + 20)
        return fn_args_errorf(err, errlen, "f_processTCP: truncated TCP header");
    feeding f = {.ip = pkt, .sport = rd16(pkt + hlen), .dport = rd16(pkt + hlen + 2), .tcp = out};
    /* the shard: a hash of the two endpoints that ignores their order */
    uint64_t a = (uint64_t)rd16(pkt + 12) << 48 | (uint64_t)rd16(pkt + 14) << 32 |
                 (uint64_t)f.sport << 16;
    uint64_t b = (uint64_t)rd16(pkt + 16) << 48 | (uint64_t)rd16(pkt + 18) << 32 |
                 (uint64_t)f.dport << 16;
    uint64_t h = sx_hash_mix((a < b ? a : b) ^ sx_hash_mix(a < b ? b : a));
    shard_feed((unsigned)(h % tcp_shards), pkt, rd16(pkt + 2), ts_ns, &f);
    return 0;
}

int fn_nids_frag_feed(const uint8_t *pkt, size_t len, int64_t ts_ns, sx_blob **whole, char *err,
                      size_t errlen)
{
    *whole = NULL;
    size_t hlen;
    if (ready(err, errlen) != 0 ||
        ip4_check("f_processIpFrag", pkt, len, &hlen, err, errlen) != 0)
        return -1;
    /* the shard: every fragment of a datagram carries src, dst, id, proto */
    uint64_t k = (uint64_t)rd16(pkt + 12) << 48 | (uint64_t)rd16(pkt + 14) << 32 |
                 (uint64_t)rd16(pkt + 16) << 16 | rd16(pkt + 18);
    uint64_t h = sx_hash_mix(k ^ sx_hash_mix((uint64_t)rd16(pkt + 4) << 8 | pkt[9]));
    feeding f = {.ip = pkt, .whole = whole};
    shard_feed(FN_NIDS_TCP_SHARDS + (unsigned)(h % FN_NIDS_FRAG_SHARDS), pkt, rd16(pkt + 2),
               ts_ns, &f);
    if (*whole)
        analog_counter_add(&c_frag_done, 1);
    return 0;
}
