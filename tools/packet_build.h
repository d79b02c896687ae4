/*
 * packet_build.h -- builds Ethernet + IPv4 + TCP/UDP frames for trace
 * generators, and cuts a built frame into IPv4 fragments.
 *
 * Every builder writes one complete frame into a caller's buffer with
 * correct lengths and checksums (IPv4 header, TCP/UDP over the pseudo
 * header) and returns its length, or 0 when the buffer is too small.
 * Addresses and numbers are given in host byte order. Nothing allocates.
 */
#ifndef SX_TOOLS_PACKET_BUILD_H
#define SX_TOOLS_PACKET_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SX_PKT_ETH_LEN 14
#define SX_PKT_IPV4_LEN 20
#define SX_PKT_TCP_LEN 20
#define SX_PKT_UDP_LEN 8

/* TCP flags */
enum { SX_PKT_FIN = 0x01, SX_PKT_SYN = 0x02, SX_PKT_RST = 0x04, SX_PKT_PSH = 0x08,
       SX_PKT_ACK = 0x10 };

/* The two ends of a packet: who sends it to whom. */
typedef struct sx_pkt_ends {
    uint8_t src_mac[6], dst_mac[6];
    uint32_t src_ip, dst_ip; /* host byte order */
    uint16_t sport, dport;
} sx_pkt_ends;

/* The IPv4 header fields a generator varies. */
typedef struct sx_pkt_ip {
    uint16_t id;
    uint8_t ttl;
    bool dont_fragment; /* DF; sx_pkt_fragment clears it in the fragments */
} sx_pkt_ip;

/* A TCP segment's header fields; options (a multiple of 4 bytes, at most
 * 40) go after the fixed header. */
typedef struct sx_pkt_tcp_hdr {
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
    const uint8_t *options;
    size_t options_len;
} sx_pkt_tcp_hdr;

/** Builds Ethernet + IPv4 + TCP carrying len payload bytes into frame. */
size_t sx_pkt_tcp(uint8_t *frame, size_t cap, const sx_pkt_ends *e, const sx_pkt_ip *ip,
                  const sx_pkt_tcp_hdr *tcp, const uint8_t *payload, size_t len);

/** Builds Ethernet + IPv4 + UDP carrying len payload bytes into frame. */
size_t sx_pkt_udp(uint8_t *frame, size_t cap, const sx_pkt_ends *e, const sx_pkt_ip *ip,
                  const uint8_t *payload, size_t len);

/** How many fragments sx_pkt_fragment cuts an IPv4 frame of frame_len
 *  bytes into at frag_data bytes of IP payload each (frag_data is rounded
 *  down to a multiple of 8; 0 when it is under 8 or frame_len is not
 *  longer than the headers). */
size_t sx_pkt_fragment_count(size_t frame_len, size_t frag_data);

/** Writes fragment index (0-based) of the unfragmented IPv4 frame (as
 *  built above, 20-byte IP header) into out: the same Ethernet header,
 *  the IP header with offset, MF, DF cleared, total length and checksum
 *  set, and its slice of the IP payload. Returns its length, or 0 when
 *  index is past the last fragment or out is too small. */
size_t sx_pkt_fragment(const uint8_t *frame, size_t frame_len, size_t frag_data, size_t index,
                       uint8_t *out, size_t cap);

/** The Internet checksum (RFC 1071) of n bytes, in network order as
 *  stored in a header; exposed for tests. */
uint16_t sx_pkt_checksum(const void *p, size_t n);

#endif
