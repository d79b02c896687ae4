/*
 * text_file.c -- closing a generator's text output (text_file.h).
 */
#include "tools/text_file.h"

#include "tools/pcap_writer.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int sx_text_close(FILE **f, const char *path, char *err, size_t errlen)
{
    if (!*f)
        return 0;
    bool bad = ferror(*f) || fflush(*f) != 0;
    int e = errno;
    if (fclose(*f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    *f = NULL;
    if (!bad)
        return 0;
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(e ? e : EIO));
    return -1;
}

int sx_gen_outputs_close(struct sx_pcapw **pcap, uint64_t *pcap_bytes, FILE **truth,
                         const char *truth_path, char *err, size_t errlen)
{
    int rc = 0;
    if (*pcap) {
        *pcap_bytes = sx_pcapw_bytes(*pcap);
        if (sx_pcapw_close(pcap, err, errlen))
            rc = -1;
    }
    char terr[512];
    if (sx_text_close(truth, truth_path, terr, sizeof terr) != 0 && rc == 0) {
        snprintf(err, errlen, "%s", terr);
        rc = -1;
    }
    return rc;
}
