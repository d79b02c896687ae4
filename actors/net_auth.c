/*
 * net_auth.c -- CurveZMQ on the node's sockets and the ZAP handler that
 * admits only the deployment's own nodes.
 *
 * With keys configured every node's ROUTER is a CURVE server with the
 * node's secret key, and every DEALER a CURVE client that knows its
 * peer's public key (so it talks to the real peer only). libzmq asks the
 * ZAP handler (RFC 27) about each client that completes the handshake;
 * the handler, served by the net thread, allows a client only when its
 * public key is one of the deployment's keys, and counts refusals.
 */
#include "net_internal.h"

#include <string.h>
#include <zmq.h>

int net_auth_server(sx_net *n, void *router)
{
    int one = 1;
    if (zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, n->secret_key, 40) != 0)
        return -1;
    return zmq_setsockopt(router, ZMQ_ZAP_DOMAIN, "scalanytics", 11);
}

int net_auth_client(sx_net *n, void *dealer, const net_peer *peer)
{
    if (zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, peer->key, 40) != 0 ||
        zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, n->public_key, 40) != 0)
        return -1;
    return zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, n->secret_key, 40);
}

int net_auth_zap_open(sx_net *n)
{
    n->zap = zmq_socket(n->rt->zctx, ZMQ_REP);
    if (!n->zap)
        return -1;
    int linger = 0;
    zmq_setsockopt(n->zap, ZMQ_LINGER, &linger, sizeof linger);
    return zmq_bind(n->zap, "inproc://zeromq.zap.01");
}

/** True when the 32-byte key belongs to a node of the deployment. */
static bool known_key(const sx_net *n, const void *key)
{
    for (size_t i = 0; i < n->n; i++)
        if (!memcmp(n->nodes[i].rawkey, key, 32))
            return true;
    return false;
}

void net_auth_zap_serve(sx_net *n)
{
    /* request: version, request id, domain, address, identity,
     * mechanism, credentials... */
    enum { MAX_FRAMES = 8 };
    zmq_msg_t f[MAX_FRAMES];
    int k = 0, more = 1;
    while (more) {
        zmq_msg_init(&f[k < MAX_FRAMES ? k : MAX_FRAMES - 1]);
        zmq_msg_t *m = &f[k < MAX_FRAMES ? k : MAX_FRAMES - 1];
        if (zmq_msg_recv(m, n->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            for (int i = 0; i < k && i < MAX_FRAMES - 1; i++)
                zmq_msg_close(&f[i]);
            return;
        }
        more = zmq_msg_more(m);
        if (k < MAX_FRAMES - 1)
            k++;
        else
            zmq_msg_close(m);
    }
    bool ok = k >= 7 && zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
              zmq_msg_size(&f[6]) == 32 && known_key(n, zmq_msg_data(&f[6]));
    if (!ok)
        atomic_fetch_add_explicit(&n->refused_keys, 1, memory_order_relaxed);
    const char *code = ok ? "200" : "400";
    const char *text = ok ? "OK" : "key not in the deployment";
    zmq_send(n->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(n->zap, k >= 2 ? zmq_msg_data(&f[1]) : "", k >= 2 ? zmq_msg_size(&f[1]) : 0,
             ZMQ_SNDMORE);
    zmq_send(n->zap, code, 3, ZMQ_SNDMORE);
    zmq_send(n->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(n->zap, "", 0, ZMQ_SNDMORE);
    zmq_send(n->zap, "", 0, 0);
    for (int i = 0; i < k; i++)
        zmq_msg_close(&f[i]);
}
