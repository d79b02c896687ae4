/*
 * pcap_writer.c -- writes classic pcap files (no libpcap needed).
 *
 * Design: records (16-byte header + frame) are appended to a 4 MiB
 * buffer that goes out with one fwrite when full, the stdio buffer
 * turned off so bytes are copied once. A record larger than the free
 * space flushes first, so records are never split across buffers.
 *
 * Invariants: err_no is the errno of the first failure; once set,
 * nothing more is written and close() returns -1.
 */
#include "tools/pcap_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/alloc.h"

#define SX_PCAPW_BUFFER (4u << 20)
#define SX_PCAPW_MAGIC_US 0xa1b2c3d4u
#define SX_PCAPW_LINKTYPE_ETHERNET 1u

struct sx_pcapw {
    FILE *f;
    char *path;
    uint8_t *buf;
    size_t used;
    uint32_t snaplen;
    int err_no; /* errno of the first failed write; 0 while all is well */
    uint64_t packets, bytes;
};

/** Writes out the buffer; remembers the first error. */
static void flush_buffer(sx_pcapw *w)
{
    if (w->used && !w->err_no && fwrite(w->buf, 1, w->used, w->f) != w->used)
        w->err_no = errno ? errno : EIO;
    w->used = 0;
}

/** Appends n bytes to the buffer (the caller made room). */
static void put(sx_pcapw *w, const void *p, size_t n)
{
    memcpy(w->buf + w->used, p, n);
    w->used += n;
}

sx_pcapw *sx_pcapw_open(const char *path, uint32_t snaplen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IONBF, 0);
    sx_pcapw *w = sx_calloc(1, sizeof *w);
    w->f = f;
    w->path = strdup(path);
    if (!w->path)
        sx_alloc_fail(strlen(path) + 1);
    w->buf = sx_malloc(SX_PCAPW_BUFFER);
    w->snaplen = snaplen;
    /* magic, version 2.4, thiszone 0, sigfigs 0, snaplen, linktype */
    uint32_t hdr[6] = {SX_PCAPW_MAGIC_US, 2u | (4u << 16), 0, 0, snaplen,
                       SX_PCAPW_LINKTYPE_ETHERNET};
    put(w, hdr, sizeof hdr);
    w->bytes = sizeof hdr;
    return w;
}

/* Hot path: once per packet. */
int sx_pcapw_write(sx_pcapw *w, uint64_t ts_us, const uint8_t *frame, uint32_t len)
{
    if (w->err_no)
        return -1;
    if (len > w->snaplen)
        len = w->snaplen; /* never happens with a truthful snaplen */
    size_t need = 16 + (size_t)len;
    if (w->used + need > SX_PCAPW_BUFFER)
        flush_buffer(w);
    uint32_t rec[4] = {(uint32_t)(ts_us / 1000000), (uint32_t)(ts_us % 1000000), len, len};
    put(w, rec, sizeof rec);
    put(w, frame, len);
    w->packets++;
    w->bytes += need;
    return w->err_no ? -1 : 0;
}

uint64_t sx_pcapw_packets(const sx_pcapw *w)
{
    return w->packets;
}

uint64_t sx_pcapw_bytes(const sx_pcapw *w)
{
    return w->bytes;
}

int sx_pcapw_close(sx_pcapw **wp, char *err, size_t errlen)
{
    sx_pcapw *w = *wp;
    if (!w)
        return 0;
    flush_buffer(w);
    if (fflush(w->f) != 0 && !w->err_no)
        w->err_no = errno ? errno : EIO;
    if (fclose(w->f) != 0 && !w->err_no)
        w->err_no = errno ? errno : EIO;
    int rc = 0;
    if (w->err_no) {
        snprintf(err, errlen, "cannot write %s: %s", w->path, strerror(w->err_no));
        rc = -1;
    }
    free(w->buf);
    free(w->path);
    free(w);
    *wp = NULL;
    return rc;
}
