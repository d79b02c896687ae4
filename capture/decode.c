/*
 * decode.c -- link-layer decoding: from a captured frame to its IPv4 packet.
 *
 * Design: each supported link type has one static function that finds the
 * network-layer protocol and its offset; one shared function then checks
 * the IPv4 header and decides how many bytes to deliver. Ethernet-like
 * headers (Ethernet, Linux cooked v1/v2) share the VLAN-tag walk.
 *
 * Invariants: nothing here reads beyond caplen; a frame is either IPv4
 * with a header that passed every check, or it gets another class: a
 * packet is never delivered half-decoded. Delivered length never exceeds
 * the captured bytes nor the IP total length (link padding is trimmed).
 * An IPv4 total length larger than what the wire carried is a lie and
 * counts as malformed; one larger than what was captured (but within the
 * wire length) is a snap-length cut and the captured part is delivered.
 */
#include "decode.h"

#include <pcap/dlt.h>

/* LINKTYPE_RAW as stored in files; libpcap maps it to DLT_RAW, but some
 * platforms define DLT_RAW differently, so accept both. */
#define SX_LINKTYPE_RAW 101

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETH_HDR_LEN 14
#define SLL_HDR_LEN 16
#define SLL2_HDR_LEN 20
#define NULL_HDR_LEN 4
#define IPV4_MIN_HDR 20

/** Reads a big-endian 16-bit value. */
static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

/** True for the tag ethertypes 802.1Q, 802.1ad and the old QinQ 0x9100. */
static bool is_vlan_type(uint16_t type)
{
    return type == 0x8100 || type == 0x88a8 || type == 0x9100;
}

/** Checks the IPv4 header at offset off and fills *ip; the class. */
static sx_capture_class decode_ipv4(const uint8_t *frame, uint32_t caplen, uint32_t wire_len,
                                    uint32_t off, sx_capture_ip *ip)
{
    if (off > caplen || caplen - off < IPV4_MIN_HDR)
        return SX_CAPTURE_MALFORMED;
    const uint8_t *h = frame + off;
    uint32_t avail = caplen - off;
    uint32_t on_wire = wire_len > off ? wire_len - off : avail;
    if (on_wire < avail)
        on_wire = avail; /* a wire length below caplen is itself bogus; trust the bytes */
    uint32_t hlen = (uint32_t)(h[0] & 0x0f) * 4;
    uint32_t total = be16(h + 2);
    if ((h[0] >> 4) != 4 || hlen < IPV4_MIN_HDR || avail < hlen)
        return SX_CAPTURE_MALFORMED;
    if (total < hlen || total > on_wire)
        return SX_CAPTURE_MALFORMED;
    ip->offset = off;
    ip->len = total < avail ? total : avail;
    return SX_CAPTURE_IPV4;
}

/** Classifies the payload of ethertype type at off, skipping VLAN tags
 *  up to SX_CAPTURE_VLAN_MAX deep. */
static sx_capture_class decode_ethertype(const uint8_t *frame, uint32_t caplen, uint32_t wire_len,
                                         uint16_t type, uint32_t off, sx_capture_ip *ip)
{
    for (int depth = 0; is_vlan_type(type); depth++) {
        if (depth == SX_CAPTURE_VLAN_MAX || off + 4 > caplen)
            return SX_CAPTURE_MALFORMED;
        type = be16(frame + off + 2);
        off += 4;
    }
    if (type == ETHERTYPE_IPV4)
        return decode_ipv4(frame, caplen, wire_len, off, ip);
    if (type == ETHERTYPE_IPV6)
        return SX_CAPTURE_IPV6;
    return SX_CAPTURE_NONIP;
}

/** DLT_EN10MB: 6+6 MAC addresses, then the ethertype (or an 802.3 length,
 *  which is not IP). */
static sx_capture_class decode_ethernet(const uint8_t *frame, uint32_t caplen, uint32_t wire_len,
                                        sx_capture_ip *ip)
{
    if (caplen < ETH_HDR_LEN)
        return SX_CAPTURE_MALFORMED;
    return decode_ethertype(frame, caplen, wire_len, be16(frame + 12), ETH_HDR_LEN, ip);
}

/** DLT_RAW / LINKTYPE_RAW: the IP header's version nibble says which IP. */
static sx_capture_class decode_raw(const uint8_t *frame, uint32_t caplen, uint32_t wire_len,
                                   sx_capture_ip *ip)
{
    if (caplen < 1)
        return SX_CAPTURE_MALFORMED;
    if ((frame[0] >> 4) == 6)
        return SX_CAPTURE_IPV6;
    return decode_ipv4(frame, caplen, wire_len, 0, ip);
}

/** True when a BSD address family value means IPv6 (Linux, the BSDs,
 *  FreeBSD, Darwin each chose their own number). */
static bool is_af_inet6(uint32_t af)
{
    return af == 10 || af == 24 || af == 28 || af == 30;
}

/** DLT_NULL (host byte order of the capturing machine) and DLT_LOOP
 *  (network order): a 4-byte address family. Both orders are accepted:
 *  a family fits in one byte, so the two readings never collide. */
static sx_capture_class decode_loopback(const uint8_t *frame, uint32_t caplen, uint32_t wire_len,
                                        sx_capture_ip *ip)
{
    if (caplen < NULL_HDR_LEN)
        return SX_CAPTURE_MALFORMED;
    uint32_t big = ((uint32_t)frame[0] << 24) | ((uint32_t)frame[1] << 16) |
                   ((uint32_t)frame[2] << 8) | frame[3];
    uint32_t little = ((uint32_t)frame[3] << 24) | ((uint32_t)frame[2] << 16) |
                      ((uint32_t)frame[1] << 8) | frame[0];
    if (big == 2 || little == 2)
        return decode_ipv4(frame, caplen, wire_len, NULL_HDR_LEN, ip);
    if (is_af_inet6(big) || is_af_inet6(little))
        return SX_CAPTURE_IPV6;
    return SX_CAPTURE_NONIP;
}

bool sx_capture_decode_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case SX_LINKTYPE_RAW:
    case DLT_IPV4:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

/* Hot path: called once per captured frame. */
sx_capture_class sx_capture_decode(int dlt, const uint8_t *frame, uint32_t caplen,
                                   uint32_t wire_len, sx_capture_ip *ip)
{
    switch (dlt) {
    case DLT_EN10MB:
        return decode_ethernet(frame, caplen, wire_len, ip);
    case DLT_LINUX_SLL: /* protocol at offset 14 of a 16-byte header */
        if (caplen < SLL_HDR_LEN)
            return SX_CAPTURE_MALFORMED;
        return decode_ethertype(frame, caplen, wire_len, be16(frame + 14), SLL_HDR_LEN, ip);
    case DLT_LINUX_SLL2: /* protocol at offset 0 of a 20-byte header */
        if (caplen < SLL2_HDR_LEN)
            return SX_CAPTURE_MALFORMED;
        return decode_ethertype(frame, caplen, wire_len, be16(frame), SLL2_HDR_LEN, ip);
    case DLT_RAW:
    case SX_LINKTYPE_RAW:
        return decode_raw(frame, caplen, wire_len, ip);
    case DLT_IPV4:
        return decode_ipv4(frame, caplen, wire_len, 0, ip);
    case DLT_NULL:
    case DLT_LOOP:
        return decode_loopback(frame, caplen, wire_len, ip);
    default:
        return SX_CAPTURE_MALFORMED;
    }
}
