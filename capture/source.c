/*
 * source.c -- the packet source: libpcap, from a file or a live interface.
 *
 * Design: sx_capture_open sets libpcap up (offline with nanosecond
 * timestamps, or pcap_create + options + pcap_activate) and installs the
 * BPF filter; sx_capture_next pulls frames with pcap_next_ex, hands each to
 * decode.c and turns IPv4 ones into input(@NODE, PKT, SRC_IP, DST_IP).
 * The relation name and the node value are made once and shared by
 * reference, so a packet costs two allocations: the tuple's value array
 * and the copy of its bytes (the tuple outlives libpcap's buffer).
 *
 * Invariants: every frame libpcap returns is counted in exactly one of
 * ipv4_delivered / ipv6_skipped / nonip_skipped / malformed; packets_seen
 * is their sum. A read error never drops what was delivered before it.
 * Only sx_capture_break may run concurrently with the reader.
 */
#include "capture/source.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "capture/decode.h"
#include "proto/alloc.h"

struct sx_capture {
    pcap_t *pcap;
    char *name;            /* file path or interface, for messages */
    bool live;
    int dlt;
    int64_t ns_per_tick;   /* 1 for nanosecond timestamps, 1000 for micro */
    sx_blob *relation;     /* "input", shared by every tuple */
    sx_value node;         /* @NODE, shared by every tuple */
    sx_capture_stats st;
    FILE *file;            /* pcap_file(), NULL when live */
    uint64_t file_size;    /* 0: unknown */
    uint64_t good_offset;  /* file offset after the last complete frame */
    bool classic;          /* classic pcap: records are 16 bytes + caplen */
    char warning[PCAP_ERRBUF_SIZE + 64];
    atomic_bool stop;      /* set by sx_capture_break, maybe from a signal handler */
};

/** Writes a formatted message into err (if any). */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/** Copies a C string; the caller owns it. */
static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sx_malloc(n);
    memcpy(d, s, n);
    return d;
}

/** True when f, a regular file, starts with a classic pcap magic
 *  (either byte order, micro- or nanosecond): its records are then a
 *  16-byte header and caplen bytes, so offsets can be counted. */
static bool is_classic(FILE *f)
{
    uint8_t m[4];
    if (pread(fileno(f), m, 4, 0) != 4)
        return false;
    uint32_t be = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    return be == 0xa1b2c3d4u || be == 0xd4c3b2a1u || be == 0xa1b23c4du || be == 0x4d3cb2a1u;
}

/** Opens a pcap or pcapng file with nanosecond timestamps. */
static int open_file(sx_capture *c, const char *path, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    c->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!c->pcap) {
        /* libpcap's message names the path for a failed open but not for a bad format. */
        if (strncmp(ebuf, path, strlen(path)) == 0)
            set_err(err, errlen, "%s", ebuf);
        else
            set_err(err, errlen, "%s: %s", path, ebuf);
        return -1;
    }
    c->ns_per_tick = 1;
    c->file = pcap_file(c->pcap);
    if (c->file) {
        struct stat sb;
        if (fstat(fileno(c->file), &sb) == 0 && S_ISREG(sb.st_mode))
            c->file_size = (uint64_t)sb.st_size;
        long pos = ftell(c->file);
        c->good_offset = pos > 0 ? (uint64_t)pos : 0;
        c->classic = is_classic(c->file);
    }
    return 0;
}

/** Reports a failed pcap_set_* call on a not yet activated handle. */
static int set_failed(const char *dev, const char *what, int rc, char *err, size_t errlen)
{
    set_err(err, errlen, "%s: cannot set %s: %s", dev, what, pcap_statustostr(rc));
    return -1;
}

/** Applies the live options to a created, not yet activated handle. */
static int configure_live(pcap_t *p, const sx_capture_opts *o, char *err, size_t errlen)
{
    const char *dev = o->interface;
    int snap = o->snaplen > 0 ? o->snaplen : SX_CAPTURE_SNAPLEN_DEFAULT;
    int rc;
    if ((rc = pcap_set_snaplen(p, snap)) != 0)
        return set_failed(dev, "snaplen", rc, err, errlen);
    if ((rc = pcap_set_promisc(p, o->promiscuous ? 1 : 0)) != 0)
        return set_failed(dev, "promiscuous mode", rc, err, errlen);
    if ((rc = pcap_set_timeout(p, SX_CAPTURE_TIMEOUT_MS)) != 0)
        return set_failed(dev, "timeout", rc, err, errlen);
    if ((rc = pcap_set_immediate_mode(p, o->immediate ? 1 : 0)) != 0)
        return set_failed(dev, "immediate mode", rc, err, errlen);
    if (o->buffer_mib > 0) {
        if (o->buffer_mib > 2047)
            return set_failed(dev, "buffer size (at most 2047 MiB)", PCAP_ERROR, err, errlen);
        if ((rc = pcap_set_buffer_size(p, o->buffer_mib << 20)) != 0)
            return set_failed(dev, "buffer size", rc, err, errlen);
    }
    /* Nanosecond stamps when the platform has them; micro otherwise
     * (the precision actually in use is read back after activation). */
    rc = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    if (rc != 0 && rc != PCAP_ERROR_TSTAMP_PRECISION_NOTSUP)
        return set_failed(dev, "timestamp precision", rc, err, errlen);
    return 0;
}

/** Creates and activates a live capture on o->interface. */
static int open_live(sx_capture *c, const sx_capture_opts *o, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    c->live = true;
    c->pcap = pcap_create(o->interface, ebuf);
    if (!c->pcap) {
        set_err(err, errlen, "%s: %s", o->interface, ebuf);
        return -1;
    }
    if (configure_live(c->pcap, o, err, errlen) < 0)
        return -1;
    int rc = pcap_activate(c->pcap);
    if (rc < 0) {
        /* libpcap's detail often repeats the status text: show it once. */
        const char *status = pcap_statustostr(rc);
        const char *detail = pcap_geterr(c->pcap);
        if (!detail[0] || strstr(detail, status))
            set_err(err, errlen, "%s: %s", o->interface, detail[0] ? detail : status);
        else
            set_err(err, errlen, "%s: %s: %s", o->interface, status, detail);
        return -1;
    }
    if (rc > 0)
        snprintf(c->warning, sizeof c->warning, "%s: %s: %s", o->interface,
                 pcap_statustostr(rc), pcap_geterr(c->pcap));
    c->ns_per_tick = pcap_get_tstamp_precision(c->pcap) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    return 0;
}

/** Compiles and installs the BPF filter, if any. */
static int install_filter(sx_capture *c, const char *filter, char *err, size_t errlen)
{
    if (!filter || !filter[0])
        return 0;
    struct bpf_program prog;
    if (pcap_compile(c->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        set_err(err, errlen, "bad filter \"%s\": %s", filter, pcap_geterr(c->pcap));
        return -1;
    }
    int rc = pcap_setfilter(c->pcap, &prog);
    pcap_freecode(&prog);
    if (rc < 0) {
        set_err(err, errlen, "%s: cannot install filter \"%s\": %s", c->name, filter,
                pcap_geterr(c->pcap));
        return -1;
    }
    return 0;
}

/** Checks that the link type is one decode.c knows. */
static int check_link_type(sx_capture *c, char *err, size_t errlen)
{
    c->dlt = pcap_datalink(c->pcap);
    if (sx_capture_decode_supported(c->dlt))
        return 0;
    const char *lt = pcap_datalink_val_to_name(c->dlt);
    set_err(err, errlen,
            "%s: unsupported link type %d (%s); supported: EN10MB, LINUX_SLL, LINUX_SLL2, "
            "RAW, IPV4, NULL, LOOP", c->name, c->dlt, lt ? lt : "unknown");
    return -1;
}

sx_capture *sx_capture_open(const sx_capture_opts *o, char *err, size_t errlen)
{
    bool has_path = o->path && o->path[0];
    bool has_if = o->interface && o->interface[0];
    if (has_path == has_if) {
        set_err(err, errlen, "capture: give exactly one of a file or an interface");
        return NULL;
    }
    sx_capture *c = sx_calloc(1, sizeof *c);
    c->name = dup_str(has_path ? o->path : o->interface);
    c->relation = sx_blob_new("input", 5);
    c->node = sx_value_cstr(o->node && o->node[0] ? o->node : "local");
    c->st.live = has_if;
    atomic_init(&c->stop, false);
    int rc = has_path ? open_file(c, o->path, err, errlen) : open_live(c, o, err, errlen);
    if (rc == 0)
        rc = check_link_type(c, err, errlen);
    if (rc == 0)
        rc = install_filter(c, o->filter, err, errlen);
    if (rc < 0)
        sx_capture_close(&c);
    return c;
}

const char *sx_capture_warning(const sx_capture *c)
{
    return c->warning[0] ? c->warning : NULL;
}

/** Fills out with input(@NODE, PKT, SRC_IP, DST_IP) for the packet at ip. */
static void make_input(sx_capture *c, const uint8_t *frame, const sx_capture_ip *ip, sx_tuple *out)
{
    const uint8_t *pkt = frame + ip->offset;
    sx_tuple_init_blob(out, c->relation, 4);
    out->vals[0] = sx_value_copy(&c->node);
    out->vals[1] = sx_value_bytes(pkt, ip->len);
    out->vals[2] = sx_value_ip4(pkt + 12);
    out->vals[3] = sx_value_ip4(pkt + 16);
}

/** Counts a frame and, if it is IPv4, fills out; true when delivered.
 *  Hot path. */
static bool take_frame(sx_capture *c, const struct pcap_pkthdr *h, const uint8_t *frame,
                       sx_tuple *out)
{
    c->st.packets_seen++;
    c->st.bytes_seen += h->len;
    if (h->caplen < h->len)
        c->st.snap_truncated++;
    if (c->classic) {
        c->good_offset += 16 + h->caplen; /* ftell would cost an lseek per packet */
    } else if (c->file) {
        long pos = ftell(c->file);
        if (pos >= 0)
            c->good_offset = (uint64_t)pos;
    }
    sx_capture_ip ip;
    switch (sx_capture_decode(c->dlt, frame, h->caplen, h->len, &ip)) {
    case SX_CAPTURE_IPV4:
        c->st.ipv4_delivered++;
        make_input(c, frame, &ip, out);
        return true;
    case SX_CAPTURE_IPV6:
        c->st.ipv6_skipped++;
        return false;
    case SX_CAPTURE_NONIP:
        c->st.nonip_skipped++;
        return false;
    case SX_CAPTURE_MALFORMED:
        break;
    }
    c->st.malformed++;
    return false;
}

/** Turns libpcap's read error into a message naming packet and offset. */
static void read_error(sx_capture *c, char *err, size_t errlen)
{
    const char *msg = pcap_geterr(c->pcap);
    uint64_t n = c->st.packets_seen + 1;
    if (!c->live && strstr(msg, "truncated"))
        set_err(err, errlen, "%s: truncated at packet %" PRIu64 " (byte offset %" PRIu64 "): %s",
                c->name, n, c->good_offset, msg);
    else
        set_err(err, errlen, "%s: read error at packet %" PRIu64 ": %s", c->name, n, msg);
}

int sx_capture_next(sx_capture *c, sx_tuple *out, int64_t *time_ns, char *err, size_t errlen)
{
    if (out->relation || out->n || out->vals) {
        set_err(err, errlen, "sx_capture_next: the output tuple is not empty");
        return -1;
    }
    for (;;) {
        if (atomic_load_explicit(&c->stop, memory_order_relaxed))
            return 0;
        struct pcap_pkthdr *h;
        const u_char *frame;
        int rc = pcap_next_ex(c->pcap, &h, &frame);
        if (rc == 1) {
            if (take_frame(c, h, frame, out)) {
                *time_ns = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec * c->ns_per_tick;
                return 1;
            }
        } else if (rc == PCAP_ERROR_BREAK) {
            return 0; /* end of file, or pcap_breakloop */
        } else if (rc == PCAP_ERROR) {
            read_error(c, err, errlen);
            return -1;
        } else if (rc != 0) { /* 0: live read timeout, go round again */
            set_err(err, errlen, "%s: pcap_next_ex: %s", c->name, pcap_statustostr(rc));
            return -1;
        }
    }
}

void sx_capture_stats_get(sx_capture *c, sx_capture_stats *s)
{
    *s = c->st;
    if (!c->live)
        return;
    struct pcap_stat ps;
    /* A failed pcap_stats leaves kernel_stats false: shown as unknown, not 0. */
    if (pcap_stats(c->pcap, &ps) == 0) {
        s->kernel_stats = true;
        s->ps_recv = ps.ps_recv;
        s->ps_drop = ps.ps_drop;
        s->ps_ifdrop = ps.ps_ifdrop;
    }
}

void sx_capture_stats_print(const sx_capture_stats *s, FILE *f)
{
    fprintf(f, "capture: %" PRIu64 " packets seen, %" PRIu64 " bytes on the wire\n",
            s->packets_seen, s->bytes_seen);
    fprintf(f, "capture: %" PRIu64 " IPv4 delivered, %" PRIu64 " IPv6 skipped, %" PRIu64
            " non-IP skipped, %" PRIu64 " malformed, %" PRIu64 " snap-truncated\n",
            s->ipv4_delivered, s->ipv6_skipped, s->nonip_skipped, s->malformed,
            s->snap_truncated);
    if (s->live && s->kernel_stats)
        fprintf(f, "capture: kernel: %" PRIu64 " received, %" PRIu64 " dropped, %" PRIu64
                " dropped by the interface\n", s->ps_recv, s->ps_drop, s->ps_ifdrop);
    else if (s->live)
        fprintf(f, "capture: kernel: statistics unavailable\n");
}

int sx_capture_stats_json(const sx_capture_stats *s, FILE *f)
{
    int n = fprintf(f, "{\"packets_seen\": %" PRIu64 ", \"bytes_seen\": %" PRIu64
                    ", \"ipv4_delivered\": %" PRIu64 ", \"ipv6_skipped\": %" PRIu64
                    ", \"nonip_skipped\": %" PRIu64 ", \"malformed\": %" PRIu64
                    ", \"snap_truncated\": %" PRIu64,
                    s->packets_seen, s->bytes_seen, s->ipv4_delivered, s->ipv6_skipped,
                    s->nonip_skipped, s->malformed, s->snap_truncated);
    if (n < 0)
        return -1;
    if (s->live && s->kernel_stats)
        n = fprintf(f, ", \"ps_recv\": %" PRIu64 ", \"ps_drop\": %" PRIu64
                    ", \"ps_ifdrop\": %" PRIu64, s->ps_recv, s->ps_drop, s->ps_ifdrop);
    if (n < 0 || fprintf(f, "}\n") < 0)
        return -1;
    return ferror(f) ? -1 : 0;
}

int sx_capture_progress(sx_capture *c, uint64_t *bytes_read, uint64_t *file_size)
{
    if (!c->file || c->file_size == 0)
        return 0;
    long pos = ftell(c->file);
    if (pos < 0)
        return 0;
    *bytes_read = (uint64_t)pos;
    *file_size = c->file_size;
    return 1;
}

void sx_capture_break(sx_capture *c)
{
    /* Lock-free atomics and pcap_breakloop (a flag store, plus an eventfd
     * write on Linux live captures) are both async-signal-safe. */
    atomic_store(&c->stop, true);
    pcap_breakloop(c->pcap);
}

void sx_capture_close(sx_capture **cp)
{
    sx_capture *c = *cp;
    if (!c)
        return;
    if (c->pcap)
        pcap_close(c->pcap);
    sx_blob_release(&c->relation);
    sx_value_release(&c->node);
    free(c->name);
    free(c);
    *cp = NULL;
}
