/*
 * pcap_writer.h -- writes classic pcap files (no libpcap needed).
 *
 * LINKTYPE_ETHERNET, microsecond timestamps, native byte order (readers
 * detect it from the magic). Packets are copied into one large buffer
 * written with fwrite, so a packet costs a memcpy, not a system call.
 * The first write error sticks: later writes are no-ops, and close()
 * reports it, so a full disk is never mistaken for a finished file.
 */
#ifndef SX_TOOLS_PCAP_WRITER_H
#define SX_TOOLS_PCAP_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sx_pcapw sx_pcapw;

/** Creates path (truncating it) and writes the file header; snaplen is
 *  the largest frame the caller will write. NULL with a message in err
 *  when the file cannot be created. The caller owns the writer and ends
 *  it with sx_pcapw_close. */
sx_pcapw *sx_pcapw_open(const char *path, uint32_t snaplen, char *err, size_t errlen);

/** Appends one frame of len bytes (at most snaplen) taken at ts_us
 *  microseconds since the Unix epoch. 0, or -1 once any write failed. */
int sx_pcapw_write(sx_pcapw *w, uint64_t ts_us, const uint8_t *frame, uint32_t len);

/** Packets and file bytes (headers included) written so far. */
uint64_t sx_pcapw_packets(const sx_pcapw *w);
uint64_t sx_pcapw_bytes(const sx_pcapw *w);

/** Flushes, closes, frees and nulls *w. 0, or -1 with a message in err
 *  (naming the file) when any write, the flush or the close failed.
 *  NULL is fine. */
int sx_pcapw_close(sx_pcapw **w, char *err, size_t errlen);

#endif
