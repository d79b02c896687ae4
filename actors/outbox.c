/*
 * outbox.c -- per-thread PUSH sockets towards inproc inboxes.
 *
 * Sockets are made lazily, so a thread pays only for the inboxes it
 * really feeds (a worker typically feeds every component, the admitting
 * thread only the first). High-water marks are off (0): memory is bounded
 * by the pipeline's tokens, and a full pipe must never drop a message.
 */
#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <zmq.h>

#include "proto/alloc.h"

struct sx_outbox {
    void *zctx;
    uint32_t n;
    void **socks;
};

sx_outbox *sx_outbox_new(void *zctx)
{
    sx_outbox *ob = sx_calloc(1, sizeof *ob);
    ob->zctx = zctx;
    return ob;
}

void sx_outbox_destroy(sx_outbox **obp)
{
    sx_outbox *ob = *obp;
    if (!ob)
        return;
    for (uint32_t i = 0; i < ob->n; i++)
        if (ob->socks[i])
            zmq_close(ob->socks[i]);
    free(ob->socks);
    free(ob);
    *obp = NULL;
}

/** Formats the inproc endpoint of inbox id. */
static void endpoint(char *buf, size_t len, uint32_t id)
{
    snprintf(buf, len, "inproc://sx-%u", id);
}

/** A socket of type with no high-water mark and no linger, bound or
 *  connected (attach) to inbox id's endpoint; NULL with errno on error. */
static void *inproc_socket(void *zctx, int type, uint32_t id,
                           int (*attach)(void *s, const char *endpoint))
{
    void *s = zmq_socket(zctx, type);
    if (!s)
        return NULL;
    int zero = 0;
    char ep[48];
    endpoint(ep, sizeof ep, id);
    if (zmq_setsockopt(s, type == ZMQ_PULL ? ZMQ_RCVHWM : ZMQ_SNDHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0 || attach(s, ep) != 0) {
        int e = errno;
        zmq_close(s);
        errno = e;
        return NULL;
    }
    return s;
}

void *sx_inbox_bind(void *zctx, uint32_t id)
{
    return inproc_socket(zctx, ZMQ_PULL, id, zmq_bind);
}

/** The PUSH socket towards inbox id, connecting it on first use. */
static void *socket_for(sx_outbox *ob, uint32_t id)
{
    if (id >= ob->n) {
        uint32_t n = ob->n ? ob->n : 8;
        while (n <= id)
            n *= 2;
        ob->socks = sx_realloc(ob->socks, n * sizeof(void *));
        for (uint32_t i = ob->n; i < n; i++)
            ob->socks[i] = NULL;
        ob->n = n;
    }
    if (!ob->socks[id])
        ob->socks[id] = inproc_socket(ob->zctx, ZMQ_PUSH, id, zmq_connect);
    return ob->socks[id];
}

int sx_outbox_send(sx_outbox *ob, uint32_t inbox, const void *data, size_t len)
{
    void *s = socket_for(ob, inbox);
    if (!s)
        return -1;
    for (;;) {
        if (zmq_send(s, data, len, 0) >= 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/** zmq_free_fn for buffers handed over by sx_outbox_send_owned. */
static void free_buffer(void *data, void *hint)
{
    free(data);
}

int sx_outbox_send_owned(sx_outbox *ob, uint32_t inbox, void *buf, size_t len)
{
    void *s = socket_for(ob, inbox);
    zmq_msg_t msg;
    if (!s || zmq_msg_init_data(&msg, buf, len, free_buffer, NULL) != 0) {
        free(buf);
        return -1;
    }
    for (;;) {
        if (zmq_msg_send(&msg, s, 0) >= 0)
            return 0;
        if (errno != EINTR) {
            zmq_msg_close(&msg);
            return -1;
        }
    }
}
