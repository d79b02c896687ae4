/*
 * net_probe.c -- a hostile peer for tests/split_smtp.sh: talks to a
 * node's endpoint the way a broken or foreign node would.
 *
 *   net_probe malformed ENDPOINT ID   as peer ID: a batch whose protobuf is
 *                                     garbage, a short header, an unknown
 *                                     frame type, a watermark of bad size
 *   net_probe wrong-key ENDPOINT SERVERKEY
 *                                     a CurveZMQ client with a key pair of
 *                                     its own (not in the deployment)
 *   net_probe garbage ENDPOINT        raw bytes, no ZMTP at all (tcp only)
 *
 * Exit 0 when the messages went out (whether the node accepted them is
 * for the test to check in the node's statistics).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

/** A DEALER to endpoint with routing id id (NULL: none). */
static void *dealer(void *ctx, const char *endpoint, const char *id)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (id)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
    return s;
}

/** Sends [type][payload]. */
static int send2(void *s, char type, const void *p, size_t n)
{
    if (zmq_send(s, &type, 1, ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(s, p, n, 0) < 0 ? -1 : 0;
}

static int malformed(void *ctx, const char *ep, const char *id)
{
    void *s = dealer(ctx, ep, id);
    if (zmq_connect(s, ep) != 0)
        return 1;
    unsigned char frame[64];
    memset(frame, 0, sizeof frame);
    memset(frame + 24, 0xff, 40); /* header of token 0, then garbage protobuf */
    frame[8] = 1;                 /* token 1 */
    int rc = send2(s, 'B', frame, sizeof frame);
    rc |= send2(s, 'B', frame, 10);   /* shorter than a header */
    rc |= send2(s, 'Z', frame, 12);   /* no such frame type */
    rc |= send2(s, 'W', frame, 5);    /* a watermark of the wrong size */
    sleep(1);
    zmq_close(s);
    return rc ? 1 : 0;
}

static int wrong_key(void *ctx, const char *ep, const char *server_key)
{
    char pub[41], sec[41];
    if (zmq_curve_keypair(pub, sec) != 0)
        return 1;
    void *s = dealer(ctx, ep, "capture");
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_key, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
    if (zmq_connect(s, ep) != 0)
        return 1;
    unsigned char w[12] = {0};
    send2(s, 'W', w, sizeof w);
    sleep(1);
    zmq_close(s);
    return 0;
}

static int garbage(const char *ep)
{
    char host[256];
    int port;
    if (sscanf(ep, "tcp://%255[^:]:%d", host, &port) != 2)
        return 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return 1;
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7919 + 13);
    ssize_t w = write(fd, junk, sizeof junk);
    sleep(1);
    close(fd);
    return w > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: net_probe malformed|wrong-key|garbage ENDPOINT [ARG]\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    int rc = 2;
    if (!strcmp(argv[1], "malformed") && argc == 4)
        rc = malformed(ctx, argv[2], argv[3]);
    else if (!strcmp(argv[1], "wrong-key") && argc == 4)
        rc = wrong_key(ctx, argv[2], argv[3]);
    else if (!strcmp(argv[1], "garbage"))
        rc = garbage(argv[2]);
    zmq_ctx_term(ctx);
    return rc;
}
