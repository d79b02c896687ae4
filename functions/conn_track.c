/*
 * conn_track.c -- one TCP connection's life from its raw packets, and
 * its KDD Cup '99 record (conn_track.h has the flag table and the
 * record layout).
 *
 * Phases: EMPTY (nothing yet) -> OPEN (packets counted) -> DONE (the
 * record made; lingers to absorb late packets). ENDED sits between OPEN
 * and DONE only when one packet ends two connections (it comes after a
 * timed-out one and is a RST itself): the call returns the old record,
 * the next call or drain the new one. A connection keeps per side only
 * counters and flag bits, never payload, so a state is fixed-size.
 *
 * Hot path: fn_conn_feed runs once per TCP packet; it parses in place
 * and allocates only the record at a connection's end.
 */
#include "functions/conn_track.h"

#include <stdlib.h>
#include <string.h>

#include "analog/counters.h"

#define NS_PER_S 1000000000LL

#define IP4_HDR_MIN 20
#define TCP_HDR_MIN 20
#define IP_PROTO_TCP 6
#define IP4_FRAG_MASK 0x3fffu /* MF and the fragment offset */

#define TH_FIN 0x01u
#define TH_SYN 0x02u
#define TH_RST 0x04u
#define TH_ACK 0x10u
#define TH_URG 0x20u

/* ---- counters ---- */

static analog_counter c_records = {.name = "conn.records",
                                   .summary = "TCP connection records made (every flag)"};
ANALOG_COUNTER_REGISTER(c_records)
static analog_counter c_not_tcp = {
    .name = "conn.not_tcp", .summary = "packets given to f_trackConnection that are not IPv4/TCP"};
ANALOG_COUNTER_REGISTER(c_not_tcp)
static analog_counter c_bad = {
    .name = "conn.bad_packet",
    .summary = "f_trackConnection: truncated or lying IPv4/TCP headers (ignored)"};
ANALOG_COUNTER_REGISTER(c_bad)
static analog_counter c_truncated = {
    .name = "conn.truncated",
    .summary = "f_trackConnection: packets cut short by the capture (snaplen; ignored)"};
ANALOG_COUNTER_REGISTER(c_truncated)
static analog_counter c_fragments = {
    .name = "conn.fragments",
    .summary = "f_trackConnection: IPv4 fragments (reassemble first with f_processIpFrag; ignored)"};
ANALOG_COUNTER_REGISTER(c_fragments)
static analog_counter c_foreign = {
    .name = "conn.foreign_packets",
    .summary = "f_trackConnection: packets whose endpoints are not their flow's (ignored)"};
ANALOG_COUNTER_REGISTER(c_foreign)
static analog_counter c_late = {
    .name = "conn.late_packets",
    .summary = "f_trackConnection: packets just after a FIN or RST end, absorbed (linger)"};
ANALOG_COUNTER_REGISTER(c_late)

/* The flags, in the order of conn_track.h's table, with a counter each. */
typedef enum flag { SF, S0, S1, S2, S3, REJ, RSTO, RSTR, RSTOS0, SH, OTH, NFLAGS } flag;

static const char *const FLAG_NAME[NFLAGS] = {"SF",   "S0",   "S1",     "S2", "S3", "REJ",
                                              "RSTO", "RSTR", "RSTOS0", "SH", "OTH"};

static analog_counter c_flag[NFLAGS] = {
    [SF] = {.name = "conn.flag_sf", .summary = "connection records SF (normal open and close)"},
    [S0] = {.name = "conn.flag_s0", .summary = "connection records S0 (SYN, no reply: half-open)"},
    [S1] = {.name = "conn.flag_s1", .summary = "connection records S1 (established, not closed)"},
    [S2] = {.name = "conn.flag_s2", .summary = "connection records S2 (originator FIN only)"},
    [S3] = {.name = "conn.flag_s3", .summary = "connection records S3 (responder FIN only)"},
    [REJ] = {.name = "conn.flag_rej", .summary = "connection records REJ (SYN answered by RST)"},
    [RSTO] = {.name = "conn.flag_rsto", .summary = "connection records RSTO (originator abort)"},
    [RSTR] = {.name = "conn.flag_rstr", .summary = "connection records RSTR (responder abort)"},
    [RSTOS0] = {.name = "conn.flag_rstos0",
                .summary = "connection records RSTOS0 (originator SYN then RST, no SYN-ACK)"},
    [SH] = {.name = "conn.flag_sh",
            .summary = "connection records SH (originator SYN then FIN, no SYN-ACK)"},
    [OTH] = {.name = "conn.flag_oth", .summary = "connection records OTH (midstream, no SYN)"},
};

/** Registers the per-flag counters (ANALOG_COUNTER_REGISTER takes one
 *  named counter; these are an array). */
__attribute__((constructor)) static void conn_flag_counters_register(void)
{
    for (int f = 0; f < NFLAGS; f++)
        if (analog_counter_register(&c_flag[f]) != 0)
            analog_counter_refused(c_flag[f].name);
}

/* ---- the tracker ---- */

typedef enum phase { EMPTY, OPEN, ENDED, DONE } phase;

enum { ORIG, RESP };

/* One side of the connection: what it sent. */
typedef struct side {
    uint8_t addr[4];
    unsigned port;
    uint64_t bytes, packets;
    bool synack, fin, rst;
    bool fin_acked;   /* the other side acknowledged this side's FIN */
    uint32_t fin_seq; /* the sequence number this side's FIN occupies */
} side;

struct fn_conn {
    fn_conn_limits lim;
    phase ph;
    bool midstream;
    bool handshake;   /* the originator acknowledged the SYN-ACK: established */
    int last_fin;     /* ORIG or RESP: the side whose FIN came second */
    side s[2];
    uint64_t urgent;
    int64_t start_ns, last_ns;
    int64_t linger_until_ns; /* DONE, ENDED: late packets until then */
};

/* One TCP packet, parsed in place. */
typedef struct segment {
    int64_t time_ns;
    const uint8_t *src, *dst; /* 4 bytes each, in the packet */
    unsigned sport, dport, flags;
    uint32_t seq, ack, payload;
} segment;

fn_conn *fn_conn_new(const fn_conn_limits *lim)
{
    fn_conn *c = calloc(1, sizeof *c);
    if (c)
        c->lim = *lim;
    return c;
}

void fn_conn_free(fn_conn *c)
{
    free(c);
}

/* ---- reading a packet ---- */

/** Big-endian reads; the caller has checked the bytes are present. */
static unsigned rd16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** Parses p[0..len) as an IPv4 packet carrying a whole TCP segment.
 *  Returns NULL and fills *s, or the counter the packet counts in. */
static analog_counter *segment_parse(const uint8_t *p, size_t len, segment *s)
{
    if (len == 0 || p[0] >> 4 == 6)
        return &c_not_tcp;
    if (len < IP4_HDR_MIN || p[0] >> 4 != 4)
        return &c_bad;
    size_t hlen = (size_t)(p[0] & 0x0f) * 4, total = rd16(p + 2);
    if (hlen < IP4_HDR_MIN || hlen > len || total < hlen)
        return &c_bad;
    if (p[9] != IP_PROTO_TCP)
        return &c_not_tcp;
    if (rd16(p + 6) & IP4_FRAG_MASK)
        return &c_fragments;
    if (total > len) /* bytes past total (link padding) are ignored */
        return &c_truncated;
    const uint8_t *t = p + hlen;
    size_t avail = total - hlen, doff = (size_t)(t[12] >> 4) * 4;
    if (avail < TCP_HDR_MIN || doff < TCP_HDR_MIN || doff > avail)
        return &c_bad;
    s->src = p + 12;
    s->dst = p + 16;
    s->sport = rd16(t);
    s->dport = rd16(t + 2);
    s->seq = rd32(t + 4);
    s->ack = rd32(t + 8);
    s->flags = t[13];
    s->payload = (uint32_t)(avail - doff);
    return NULL;
}

/* ---- services ---- */

/* KDD '99 service names of TCP connections by responder port: the
 * service names found in the KDD data (70 in all), on the ports
 * /etc/services and IANA give them. pm_dump and harvest have no known
 * port and are never produced. Sorted by port. */
static const struct {
    unsigned port;
    const char *name;
} SERVICES[] = {
    {7, "echo"},         {9, "discard"},     {11, "systat"},       {13, "daytime"},
    {15, "netstat"},     {20, "ftp_data"},   {21, "ftp"},          {22, "ssh"},
    {23, "telnet"},      {25, "smtp"},       {37, "time"},         {42, "name"},
    {43, "whois"},       {53, "domain"},     {57, "mtp"},          {70, "gopher"},
    {71, "remote_job"},  {77, "rje"},        {79, "finger"},       {80, "http"},
    {84, "ctf"},         {87, "link"},       {95, "supdup"},       {101, "hostnames"},
    {102, "iso_tsap"},   {105, "csnet_ns"},  {109, "pop_2"},       {110, "pop_3"},
    {111, "sunrpc"},     {113, "auth"},      {117, "uucp_path"},   {119, "nntp"},
    {137, "netbios_ns"}, {138, "netbios_dgm"}, {139, "netbios_ssn"}, {143, "imap4"},
    {150, "sql_net"},    {175, "vmnet"},     {179, "bgp"},         {194, "IRC"},
    {210, "Z39_50"},     {389, "ldap"},      {433, "nnsp"},        {443, "http_443"},
    {512, "exec"},       {513, "login"},     {514, "shell"},       {515, "printer"},
    {520, "efs"},        {530, "courier"},   {540, "uucp"},        {543, "klogin"},
    {544, "kshell"},     {2784, "http_2784"}, {5190, "aol"},       {6667, "IRC"},
    {8001, "http_8001"},
};

#define X11_FIRST 6000 /* X displays :0 to :63 */
#define X11_LAST 6063

const char *fn_conn_service(unsigned sport, unsigned dport)
{
    size_t lo = 0, hi = sizeof SERVICES / sizeof SERVICES[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (SERVICES[mid].port == dport)
            return SERVICES[mid].name;
        if (SERVICES[mid].port < dport)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (dport >= X11_FIRST && dport <= X11_LAST)
        return "X11";
    if (sport == 20) /* active FTP: the server connects from ftp-data */
        return "ftp_data";
    return dport < 1024 ? "private" : "other";
}

/* ---- the record ---- */

/** The flag of c now: conn_track.h's table, first match wins. */
static flag flag_of(const fn_conn *c)
{
    const side *o = &c->s[ORIG], *r = &c->s[RESP];
    if (c->midstream)
        return OTH;
    if (!c->handshake) {
        if (r->rst)
            return REJ;
        if (o->rst)
            return RSTOS0;
        if (o->fin)
            return SH;
        /* a SYN-ACK the originator never acknowledged is a half-open
         * attempt still: S0, as a SYN flood's victims' are in KDD */
        return r->packets && !r->synack ? OTH : S0;
    }
    if (o->rst)
        return RSTO;
    if (r->rst)
        return RSTR;
    if (o->fin && r->fin)
        return SF;
    return o->fin ? S2 : r->fin ? S3 : S1;
}

/** The connection record of c at packet time now_ns (counted). */
static sx_value record_new(const fn_conn *c, int64_t now_ns)
{
    const side *o = &c->s[ORIG], *r = &c->s[RESP];
    flag f = flag_of(c);
    analog_counter_add(&c_records, 1);
    analog_counter_add(&c_flag[f], 1);
    bool land = memcmp(o->addr, r->addr, 4) == 0 && o->port == r->port;
    sx_value v = sx_value_record(18);
    uint32_t i = 0;
    sx_value_list_set(&v, i++, "time_ns", sx_value_int(now_ns));
    sx_value_list_set(&v, i++, "start_ns", sx_value_int(c->start_ns));
    sx_value_list_set(&v, i++, "end_ns", sx_value_int(c->last_ns));
    sx_value_list_set(&v, i++, "src", sx_value_ip4(o->addr));
    sx_value_list_set(&v, i++, "sport", sx_value_int(o->port));
    sx_value_list_set(&v, i++, "dst", sx_value_ip4(r->addr));
    sx_value_list_set(&v, i++, "dport", sx_value_int(r->port));
    sx_value_list_set(&v, i++, "duration", sx_value_int((c->last_ns - c->start_ns) / NS_PER_S));
    sx_value_list_set(&v, i++, "protocol_type", sx_value_cstr("tcp"));
    sx_value_list_set(&v, i++, "service", sx_value_cstr(fn_conn_service(o->port, r->port)));
    sx_value_list_set(&v, i++, "flag", sx_value_cstr(FLAG_NAME[f]));
    sx_value_list_set(&v, i++, "src_bytes", sx_value_int((int64_t)o->bytes));
    sx_value_list_set(&v, i++, "dst_bytes", sx_value_int((int64_t)r->bytes));
    sx_value_list_set(&v, i++, "land", sx_value_int(land));
    sx_value_list_set(&v, i++, "wrong_fragment", sx_value_int(0));
    sx_value_list_set(&v, i++, "urgent", sx_value_int((int64_t)c->urgent));
    sx_value_list_set(&v, i++, "src_packets", sx_value_int((int64_t)o->packets));
    sx_value_list_set(&v, i++, "dst_packets", sx_value_int((int64_t)r->packets));
    return v;
}

/* ---- the life of a connection ---- */

/** True for a SYN without ACK: a connection attempt. */
static bool is_syn(const segment *s)
{
    return (s->flags & (TH_SYN | TH_ACK)) == TH_SYN;
}

/** True when serial number a is at or after b (RFC 1982, 32 bits). */
static bool seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

/** How long c may stay quiet: the short timeout before the handshake
 *  and after both FINs, else the idle one. */
static int64_t quiet_ns(const fn_conn *c)
{
    bool est = c->midstream || c->handshake;
    bool closing = c->s[ORIG].fin && c->s[RESP].fin;
    return est && !closing ? c->lim.idle_ns : c->lim.syn_ns;
}

/** True when open connection c has been quiet too long at now_ns. */
static bool timed_out(const fn_conn *c, int64_t now_ns)
{
    return now_ns - c->last_ns > quiet_ns(c);
}

/** Starts a new connection in c with its first packet s. */
static void conn_start(fn_conn *c, const segment *s)
{
    fn_conn_limits lim = c->lim;
    memset(c, 0, sizeof *c);
    c->lim = lim;
    c->ph = OPEN;
    c->midstream = !is_syn(s);
    /* a first SYN-ACK answers a SYN not seen: its sender is the responder */
    bool reply = (s->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK);
    side *o = &c->s[reply ? RESP : ORIG], *r = &c->s[reply ? ORIG : RESP];
    memcpy(o->addr, s->src, 4);
    o->port = s->sport;
    memcpy(r->addr, s->dst, 4);
    r->port = s->dport;
    c->start_ns = c->last_ns = s->time_ns;
}

/** The side that sent s, or -1 when s is not between c's endpoints.
 *  (A land connection's two sides are one endpoint: all its packets
 *  count as the originator's.) */
static int side_of(const fn_conn *c, const segment *s)
{
    for (int d = ORIG; d <= RESP; d++) {
        const side *from = &c->s[d], *to = &c->s[!d];
        if (from->port == s->sport && to->port == s->dport &&
            memcmp(from->addr, s->src, 4) == 0 && memcmp(to->addr, s->dst, 4) == 0)
            return d;
    }
    return -1;
}

/** Counts s, sent by side d of c. Returns true when it ends c. */
static bool conn_update(fn_conn *c, int d, const segment *s)
{
    side *me = &c->s[d], *peer = &c->s[!d];
    if (s->time_ns > c->last_ns)
        c->last_ns = s->time_ns;
    me->packets++;
    me->bytes += s->payload;
    if (s->flags & TH_URG)
        c->urgent++;
    if ((s->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
        me->synack = true;
    else if (d == ORIG && (s->flags & TH_ACK) && peer->synack)
        c->handshake = true;
    if ((s->flags & TH_ACK) && peer->fin && seq_geq(s->ack, peer->fin_seq + 1))
        peer->fin_acked = true;
    if ((s->flags & TH_FIN) && !me->fin) {
        me->fin = true;
        me->fin_seq = s->seq + s->payload + ((s->flags & TH_SYN) ? 1u : 0u);
        c->last_fin = d;
    }
    if (s->flags & TH_RST) {
        me->rst = true;
        return true;
    }
    return me->fin && peer->fin && c->s[c->last_fin].fin_acked;
}

/** Ends open connection c at packet time now_ns: its record, and the
 *  phase after it (DONE, lingering from its last packet when it ended
 *  by FIN or RST; an idle one does not linger). */
static sx_value conn_end(fn_conn *c, int64_t now_ns, bool lingers)
{
    c->ph = DONE;
    c->linger_until_ns = lingers ? c->last_ns + c->lim.linger_ns : c->last_ns;
    return record_new(c, now_ns);
}

/** What ended before a packet at now_ns: a record left pending, or a
 *  connection that fell quiet; null when nothing did. */
static sx_value ended_before(fn_conn *c, int64_t now_ns)
{
    if (c->ph == ENDED) {
        c->ph = DONE;
        return record_new(c, now_ns);
    }
    if (c->ph == OPEN && timed_out(c, now_ns))
        return conn_end(c, now_ns, false);
    return sx_value_null();
}

/** True when s is a late packet of c's ended connection: one of its
 *  endpoints, within the linger, and not a new SYN. */
static bool is_late(const fn_conn *c, const segment *s)
{
    return c->ph == DONE && !is_syn(s) && s->time_ns <= c->linger_until_ns &&
           side_of(c, s) >= 0;
}

int fn_conn_feed(fn_conn *c, const uint8_t *pkt, size_t len, int64_t now_ns, sx_value *record)
{
    segment s = {.time_ns = now_ns};
    analog_counter *bad = segment_parse(pkt, len, &s);
    if (bad) {
        analog_counter_add(bad, 1);
        *record = sx_value_null();
        return 0;
    }
    *record = ended_before(c, now_ns);
    if (is_late(c, &s)) {
        analog_counter_add(&c_late, 1);
        return record->kind != SX_NULL;
    }
    if (c->ph != OPEN)
        conn_start(c, &s);
    int d = side_of(c, &s);
    if (d < 0) {
        analog_counter_add(&c_foreign, 1);
        return record->kind != SX_NULL;
    }
    if (conn_update(c, d, &s)) {
        if (record->kind == SX_NULL) {
            *record = conn_end(c, now_ns, true);
        } else {
            /* two ends at one packet: this one waits for the next call or drain */
            c->ph = ENDED;
            c->linger_until_ns = c->last_ns + c->lim.linger_ns;
        }
    }
    return record->kind != SX_NULL;
}

bool fn_conn_due(fn_conn *c, int64_t now_ns, bool final, sx_value *record)
{
    *record = sx_value_null();
    switch (c->ph) {
    case EMPTY:
        return true;
    case ENDED:
        c->ph = DONE;
        *record = record_new(c, now_ns);
        break;
    case OPEN:
        if (!final && !timed_out(c, now_ns))
            return false;
        *record = conn_end(c, now_ns, false);
        break;
    case DONE:
        break;
    }
    return final || now_ns >= c->linger_until_ns;
}
