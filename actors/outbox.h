/*
 * outbox.h -- one thread's sending side towards every inbox.
 *
 * ZeroMQ sockets are not thread-safe, so each thread that sends (every
 * worker, each pipeline's admitting thread, each link thread) owns an
 * outbox: one PUSH socket per inbox, connected the first time that
 * thread sends there. An outbox is used by its owning thread only.
 */
#ifndef SX_OUTBOX_H
#define SX_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

typedef struct sx_outbox sx_outbox;

/** New empty outbox on ZeroMQ context zctx. The caller owns it. */
sx_outbox *sx_outbox_new(void *zctx);
/** Closes every socket and frees the outbox; nulls the pointer. */
void sx_outbox_destroy(sx_outbox **ob);
/** Sends one message of len bytes to inbox id (endpoint
 *  "inproc://sx-<id>"). Blocks only in ZeroMQ's own send; no high-water
 *  mark applies (tokens bound what is in flight). 0, or -1 on a ZeroMQ
 *  error (errno set). */
int sx_outbox_send(sx_outbox *ob, uint32_t inbox, const void *data, size_t len);
/** Sends a buffer allocated with malloc without copying it: ZeroMQ frees
 *  it once delivered. 0 or -1 (then buf was freed). */
int sx_outbox_send_owned(sx_outbox *ob, uint32_t inbox, void *buf, size_t len);

/** Binds a new PULL inbox for id on zctx; returns the socket or NULL. */
void *sx_inbox_bind(void *zctx, uint32_t id);

#endif
