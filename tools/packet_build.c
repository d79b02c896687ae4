/*
 * packet_build.c -- Ethernet + IPv4 + TCP/UDP frames and IPv4 fragments.
 *
 * Design: one static function per layer (ethernet, ipv4 header, the
 * transport header); the transport checksum sums the pseudo header, then
 * header and payload as they lie in the frame. Checksums are summed in
 * native order 32 bits at a time and stored with memcpy, which RFC 1071
 * shows gives the network-order result on either byte order.
 *
 * Invariants: every block summed starts at an even offset of the
 * checksummed data, so only the last one may end on an odd byte.
 */
#include "tools/packet_build.h"

#include <string.h>

#define SX_PKT_PROTO_TCP 6
#define SX_PKT_PROTO_UDP 17
#define SX_PKT_MAX_IP_LEN 65535

/** Stores v big-endian at p. */
static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/** Stores v big-endian at p. */
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Hot path: runs over every payload byte. Adds n bytes to a running
 * ones'-complement sum (kept wide; folded at the end). */
static uint64_t sum_add(uint64_t acc, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        acc += (w & 0xffffffffu) + (w >> 32);
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc += w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc += w;
        p += 2;
        n -= 2;
    }
    if (n) {
        uint8_t last[2] = {p[0], 0}; /* an odd byte is the high half of a word */
        uint16_t w;
        memcpy(&w, last, 2);
        acc += w;
    }
    return acc;
}

/** Folds a wide sum to 16 bits and complements it (native order). */
static uint16_t sum_finish(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

uint16_t sx_pkt_checksum(const void *p, size_t n)
{
    return sum_finish(sum_add(0, p, n));
}

/** Writes the Ethernet header (type IPv4). */
static void put_ethernet(uint8_t *frame, const sx_pkt_ends *e)
{
    memcpy(frame, e->dst_mac, 6);
    memcpy(frame + 6, e->src_mac, 6);
    put16(frame + 12, 0x0800);
}

/** Writes a 20-byte IPv4 header with its checksum. */
static void put_ipv4(uint8_t *ip, const sx_pkt_ends *e, const sx_pkt_ip *o, uint8_t proto,
                     size_t total_len)
{
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)total_len);
    put16(ip + 4, o->id);
    put16(ip + 6, o->dont_fragment ? 0x4000 : 0);
    ip[8] = o->ttl;
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, e->src_ip);
    put32(ip + 16, e->dst_ip);
    uint16_t c = sx_pkt_checksum(ip, SX_PKT_IPV4_LEN);
    memcpy(ip + 10, &c, 2);
}

/** The transport checksum of l4_len bytes at l4, over the pseudo header. */
static uint16_t transport_checksum(const sx_pkt_ends *e, uint8_t proto, const uint8_t *l4,
                                   size_t l4_len)
{
    uint8_t pseudo[12];
    put32(pseudo, e->src_ip);
    put32(pseudo + 4, e->dst_ip);
    pseudo[8] = 0;
    pseudo[9] = proto;
    put16(pseudo + 10, (uint16_t)l4_len);
    return sum_finish(sum_add(sum_add(0, pseudo, sizeof pseudo), l4, l4_len));
}

size_t sx_pkt_tcp(uint8_t *frame, size_t cap, const sx_pkt_ends *e, const sx_pkt_ip *ip,
                  const sx_pkt_tcp_hdr *t, const uint8_t *payload, size_t len)
{
    size_t hdr = SX_PKT_TCP_LEN + t->options_len;
    size_t ip_len = SX_PKT_IPV4_LEN + hdr + len;
    if (t->options_len % 4 || t->options_len > 40 || ip_len > SX_PKT_MAX_IP_LEN ||
        SX_PKT_ETH_LEN + ip_len > cap)
        return 0;
    put_ethernet(frame, e);
    put_ipv4(frame + SX_PKT_ETH_LEN, e, ip, SX_PKT_PROTO_TCP, ip_len);
    uint8_t *tcp = frame + SX_PKT_ETH_LEN + SX_PKT_IPV4_LEN;
    put16(tcp, e->sport);
    put16(tcp + 2, e->dport);
    put32(tcp + 4, t->seq);
    put32(tcp + 8, t->ack);
    tcp[12] = (uint8_t)((hdr / 4) << 4);
    tcp[13] = t->flags;
    put16(tcp + 14, t->window);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);
    if (t->options_len)
        memcpy(tcp + SX_PKT_TCP_LEN, t->options, t->options_len);
    if (len)
        memcpy(tcp + hdr, payload, len);
    uint16_t c = transport_checksum(e, SX_PKT_PROTO_TCP, tcp, hdr + len);
    memcpy(tcp + 16, &c, 2);
    return SX_PKT_ETH_LEN + ip_len;
}

size_t sx_pkt_udp(uint8_t *frame, size_t cap, const sx_pkt_ends *e, const sx_pkt_ip *ip,
                  const uint8_t *payload, size_t len)
{
    size_t ip_len = SX_PKT_IPV4_LEN + SX_PKT_UDP_LEN + len;
    if (ip_len > SX_PKT_MAX_IP_LEN || SX_PKT_ETH_LEN + ip_len > cap)
        return 0;
    put_ethernet(frame, e);
    put_ipv4(frame + SX_PKT_ETH_LEN, e, ip, SX_PKT_PROTO_UDP, ip_len);
    uint8_t *udp = frame + SX_PKT_ETH_LEN + SX_PKT_IPV4_LEN;
    put16(udp, e->sport);
    put16(udp + 2, e->dport);
    put16(udp + 4, (uint16_t)(SX_PKT_UDP_LEN + len));
    put16(udp + 6, 0);
    if (len)
        memcpy(udp + SX_PKT_UDP_LEN, payload, len);
    uint16_t c = transport_checksum(e, SX_PKT_PROTO_UDP, udp, SX_PKT_UDP_LEN + len);
    if (c == 0)
        c = 0xffff; /* 0 means "no checksum" in UDP */
    memcpy(udp + 6, &c, 2);
    return SX_PKT_ETH_LEN + ip_len;
}

size_t sx_pkt_fragment_count(size_t frame_len, size_t frag_data)
{
    frag_data &= ~(size_t)7;
    size_t headers = SX_PKT_ETH_LEN + SX_PKT_IPV4_LEN;
    if (frag_data == 0 || frame_len <= headers)
        return 0;
    return (frame_len - headers + frag_data - 1) / frag_data;
}

size_t sx_pkt_fragment(const uint8_t *frame, size_t frame_len, size_t frag_data, size_t index,
                       uint8_t *out, size_t cap)
{
    size_t n = sx_pkt_fragment_count(frame_len, frag_data);
    if (index >= n)
        return 0;
    frag_data &= ~(size_t)7;
    size_t headers = SX_PKT_ETH_LEN + SX_PKT_IPV4_LEN;
    size_t off = index * frag_data;
    size_t data = frame_len - headers - off;
    if (data > frag_data)
        data = frag_data;
    if (headers + data > cap)
        return 0;
    memcpy(out, frame, headers);
    memcpy(out + headers, frame + headers + off, data);
    uint8_t *ip = out + SX_PKT_ETH_LEN;
    put16(ip + 2, (uint16_t)(SX_PKT_IPV4_LEN + data));
    put16(ip + 6, (uint16_t)((index + 1 < n ? 0x2000 : 0) | (off / 8)));
    put16(ip + 10, 0);
    uint16_t c = sx_pkt_checksum(ip, SX_PKT_IPV4_LEN);
    memcpy(ip + 10, &c, 2);
    return headers + data;
}
