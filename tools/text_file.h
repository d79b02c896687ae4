/*
 * text_file.h -- closing what a generator wrote (its ground-truth text,
 * and the pcap beside it) so that no write error goes unnoticed.
 */
#ifndef SX_TOOLS_TEXT_FILE_H
#define SX_TOOLS_TEXT_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Flushes and closes *f (NULL: nothing to do) and nulls it. Returns 0,
 *  or -1 with "cannot write PATH: reason" in err when an earlier write,
 *  the flush or the close failed. */
int sx_text_close(FILE **f, const char *path, char *err, size_t errlen);

struct sx_pcapw;
/** Closes a generator's outputs: the pcap *pcap (its size into
 *  *pcap_bytes first) and the truth *truth at truth_path (either NULL:
 *  already closed); nulls both. 0, or -1 with the first error in err. */
int sx_gen_outputs_close(struct sx_pcapw **pcap, uint64_t *pcap_bytes, FILE **truth,
                         const char *truth_path, char *err, size_t errlen);

#endif
