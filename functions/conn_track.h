/*
 * conn_track.h -- one TCP connection's life from its raw IPv4 packets,
 * ended by one KDD Cup '99 connection record (the "intrinsic" features:
 * duration, protocol_type, service, flag, src_bytes, dst_bytes, land,
 * wrong_fragment, urgent).
 *
 * Every packet of the connection is fed, both ways, in capture order,
 * so half-open attempts (S0, REJ: a SYN flood itself) are seen too,
 * which a stream reassembler that waits for a handshake never sees.
 *
 * Who is who: the originator sent the first SYN (without ACK). When the
 * first packet is not such a SYN the connection is "midstream": the
 * first packet's sender is the originator -- except a first SYN-ACK,
 * whose sender is the responder (it answers a SYN not seen) -- and the
 * flag is OTH whatever follows.
 *
 * The end. A connection ends, and its record is made, at:
 *   - a RST from either side (its sequence number is not checked);
 *   - both FINs seen and the later one acknowledged (an ACK from the
 *     other side covering the FIN's sequence number): the last packet
 *     of a normal close belongs to the connection;
 *   - quiet (no packet) for idle_ns of packet time; for a connection
 *     never established (not midstream, no SYN-ACK), or one whose two
 *     FINs were seen but the later one never acknowledged, for syn_ns;
 *   - the final drain (end of input, the state evicted): whatever state
 *     it is in, with the flag it has then (S0 for a half-open one).
 * After a FIN or RST end the connection lingers linger_ns: late packets
 * (the final ACK's retransmission, RSTs answering the close) are
 * absorbed and counted (conn.late_packets); after that, or at once for
 * a SYN without ACK (port reuse), a packet starts a new connection.
 *
 * The flag (Bro's connection states as KDD used them). "est": the
 * handshake completed (the originator acknowledged the responder's
 * SYN-ACK). First match wins:
 *   midstream (first packet not a SYN)        OTH
 *   not est, RST from the responder           REJ     (SYN answered by RST)
 *   not est, RST from the originator          RSTOS0
 *   not est, FIN from the originator          SH
 *   not est, the responder sent anything      OTH     (but no SYN-ACK, no RST)
 *   not est                                   S0      (SYN, no reply, or a
 *                                                      SYN-ACK never acknowledged)
 *   est, RST from the originator              RSTO
 *   est, RST from the responder               RSTR
 *   est, FIN both ways                        SF
 *   est, FIN from the originator only         S2
 *   est, FIN from the responder only          S3
 *   est                                       S1
 * (A RST ends the connection, so at most one side's RST is ever seen.
 * The handshake's third packet is required: a SYN-ACK the originator
 * never acknowledges is a half-open attempt, S0, which is how the SYN
 * floods of KDD's neptune records look, and how a victim answering with
 * SYN cookies sees spoofed SYNs. Bro's RSTRH and SHR fold into OTH.)
 *
 * The record (an sx_value record, fields in this order):
 *   time_ns        packet time when the record was made (the packet or
 *                  heartbeat that ended the connection)
 *   start_ns       the first packet's time
 *   end_ns         the last packet's time
 *   src, sport     the originator (IP value, int)
 *   dst, dport     the responder
 *   duration       whole seconds, floor((end_ns - start_ns) / 1e9)
 *   protocol_type  "tcp"
 *   service        fn_conn_service(sport, dport)
 *   flag           the table above
 *   src_bytes      TCP payload bytes originator -> responder
 *   dst_bytes      TCP payload bytes responder -> originator
 *   land           1 when src:sport == dst:dport, else 0
 *   wrong_fragment 0: fragments are reassembled (f_processIpFrag) before
 *                  this stage; a fragment that reaches it is not tracked
 *                  (counted, conn.fragments)
 *   urgent         packets with the URG flag, both ways
 *   src_packets    packets originator -> responder
 *   dst_packets    packets responder -> originator
 * Bytes are counted per packet as seen, retransmissions included, as
 * the open KDD feature extractors do (e.g. kdd99_feature_extractor);
 * Bro's sequence-number sizes would count a retransmitted byte once.
 *
 * Bad input: a packet that is not IPv4/TCP, a truncated or lying header
 * (IHL, total length, data offset), a packet cut short by the capture,
 * a fragment, or one whose endpoints are not the connection's (a flow
 * id collision, or the wrong context key) changes nothing and is
 * counted (conn.not_tcp, conn.bad_packet, conn.truncated,
 * conn.fragments, conn.foreign_packets). Never an error.
 *
 * Memory: the tracker keeps no payload: 136 bytes (x86-64), whatever
 * the traffic. Nothing here bounds how many connections exist:
 * the caller's table does (see fn_conn.c). Not thread-safe: one
 * connection is touched by one thread at a time (its key lane).
 */
#ifndef FN_CONN_TRACK_H
#define FN_CONN_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/value.h"

typedef struct fn_conn fn_conn;

typedef struct fn_conn_limits {
    int64_t idle_ns;   /* an established or midstream connection quiet this long ends */
    int64_t syn_ns;    /* one never established (or closing, unacknowledged): this long */
    int64_t linger_ns; /* after a FIN or RST end, late packets are absorbed this long */
} fn_conn_limits;

/** A new tracker (nothing seen yet), owned by the caller. NULL on
 *  out-of-memory. */
fn_conn *fn_conn_new(const fn_conn_limits *lim);
/** Frees c (NULL is fine). */
void fn_conn_free(fn_conn *c);
/** Feeds one IPv4 packet pkt[0..len) captured at now_ns. Returns 1 with
 *  *record set (the caller owns it) when a connection ends here -- this
 *  packet's, or a timed-out one this packet comes after -- else 0 with
 *  *record null. Bad packets are counted, never an error. */
int fn_conn_feed(fn_conn *c, const uint8_t *pkt, size_t len, int64_t now_ns, sx_value *record);
/** What is due at packet time now_ns: a timed-out connection's record
 *  in *record (the caller owns it), else *record is null. final: the
 *  tracker goes now, so an open connection is reported whatever the
 *  time. Returns true when the tracker is finished and may be freed. */
bool fn_conn_due(fn_conn *c, int64_t now_ns, bool final, sx_value *record);
/** The KDD service name of a TCP connection to dport from sport (a
 *  static string): the table in conn_track.c, "ftp_data" from port 20,
 *  else "private" below 1024 and "other" from 1024 on. */
const char *fn_conn_service(unsigned sport, unsigned dport);

#endif
