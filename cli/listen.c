/*
 * listen.c -- `scalanytics listen ENDPOINT`: subscribes to a run's
 * --publish socket and prints what it publishes, one JSON line each.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"

/** Prints listen's help. */
static void listen_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics listen [OPTIONS] ENDPOINT\n"
        "\n"
        "Connects to the ZeroMQ endpoint a `scalanytics run --publish` binds and\n"
        "prints every published output (one JSON object per line) on stdout.\n"
        "\n"
        "options:\n"
        "  -n, --count N       exit after N messages (default: never)\n"
        "  -w, --timeout S     exit after S seconds without a message (default: never)\n"
        "  -f, --filter TEXT   only messages starting with TEXT, e.g.\n"
        "                      '{\"pipeline\": \"smtp.analog\"'\n"
        "  -h, --help          this help\n"
        "\n"
        "example: scalanytics listen tcp://127.0.0.1:5557 --count 10\n");
}

int cli_listen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"count", required_argument, 0, 'n'}, {"timeout", required_argument, 0, 'w'},
        {"filter", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    long count = -1, timeout_ms = -1;
    const char *filter = "";
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:w:f:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': count = strtol(optarg, &end, 10); if (*end || count < 1) goto usage; break;
        case 'w': timeout_ms = (long)(strtod(optarg, &end) * 1000); if (*end || timeout_ms < 1) goto usage; break;
        case 'f': filter = optarg; break;
        case 'h': listen_usage(stdout); return 0;
        default: goto usage;
        }
    }
    if (optind != argc - 1)
        goto usage;
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int rc = 0;
    if (zmq_setsockopt(sub, ZMQ_SUBSCRIBE, filter, strlen(filter)) != 0 ||
        zmq_connect(sub, argv[optind]) != 0) {
        fprintf(stderr, "scalanytics listen: %s: %s\n", argv[optind], zmq_strerror(errno));
        rc = 1;
    }
    int to = (int)timeout_ms;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &to, sizeof to);
    for (long n = 0; rc == 0 && (count < 0 || n < count); n++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sub, 0) < 0) {
            zmq_msg_close(&m);
            if (errno == EAGAIN)
                fprintf(stderr, "scalanytics listen: nothing for %.1f s, exiting after %ld messages\n",
                        (double)timeout_ms / 1000, n);
            rc = errno == EAGAIN ? 0 : 1;
            break;
        }
        fwrite(zmq_msg_data(&m), 1, zmq_msg_size(&m), stdout);
        putchar('\n');
        fflush(stdout);
        zmq_msg_close(&m);
    }
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return rc;
usage:
    listen_usage(stderr);
    return 2;
}
