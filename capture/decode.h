/*
 * decode.h -- link-layer decoding: from a captured frame to its IPv4 packet.
 *
 * Pure functions over a frame's captured bytes; nothing allocates. The
 * result names the category a frame falls in, so the caller counts every
 * frame it does not deliver (nothing is silently lost).
 */
#ifndef SX_CAPTURE_DECODE_H
#define SX_CAPTURE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cap on stacked 802.1Q / 802.1ad / QinQ tags in one Ethernet frame; a
 * deeper stack counts as malformed. */
#define SX_CAPTURE_VLAN_MAX 8

typedef enum sx_capture_class {
    SX_CAPTURE_IPV4 = 0,  /* delivered */
    SX_CAPTURE_IPV6,      /* skipped, counted as "ipv6 skipped" */
    SX_CAPTURE_NONIP,     /* ARP and other ethertypes / families */
    SX_CAPTURE_MALFORMED, /* broken link or IPv4 header */
} sx_capture_class;

/* Where the IPv4 packet lies inside the frame, when the class is IPV4. */
typedef struct sx_capture_ip {
    uint32_t offset; /* first byte of the IP header */
    uint32_t len;    /* bytes to deliver: min(total length, captured) */
} sx_capture_ip;

/** True when link type dlt (a DLT_ value from pcap_datalink) is decoded. */
bool sx_capture_decode_supported(int dlt);

/** Classifies a frame of link type dlt, caplen bytes captured of wire_len
 *  on the wire; for SX_CAPTURE_IPV4 fills *ip. */
sx_capture_class sx_capture_decode(int dlt, const uint8_t *frame, uint32_t caplen,
                                   uint32_t wire_len, sx_capture_ip *ip);

#endif
