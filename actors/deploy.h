/*
 * deploy.h -- a deployment file: the nodes of a multi-host run, their
 * ZeroMQ endpoints, partition groups and CurveZMQ public keys.
 *
 *     # comments and blank lines are ignored
 *     node capture   tcp://10.0.0.1:7100 source
 *     node analyzer1 tcp://10.0.0.2:7100 bind=tcp://0.0.0.0:7100
 *     node analyzer2 tcp://10.0.0.3:7100
 *     node collector tcp://10.0.0.4:7100
 *     group analyzers analyzer1 analyzer2
 *     key capture rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7   (one per node, or none)
 *
 * `node NAME ENDPOINT [source] [bind=EP]`: peers connect to ENDPOINT;
 * the node binds bind=EP if given, else ENDPOINT itself. `source` marks
 * a node that reads packets (--read/--interface); every other node only
 * receives and exits once every source has finished. `group NAME
 * MEMBER...` names nodes that share a stage (f_partition). `key NAME
 * Z85` is NAME's CurveZMQ public key; with keys, every link is
 * encrypted and a peer whose key is not listed is refused.
 *
 * One deployment may be made current (sx_deploy_set_current) so the
 * functions that place tuples (f_partition) can read its groups; it is
 * set once at start-up, before programs are planned, and read-only after.
 */
#ifndef SX_DEPLOY_H
#define SX_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sx_deploy_node {
    char *name;
    char *endpoint;   /* where peers connect */
    char *bind;       /* where the node binds */
    bool source;
    char *public_key; /* Z85, 40 characters, or NULL */
} sx_deploy_node;

typedef struct sx_deploy_group {
    char *name;
    uint32_t *members; /* node indexes */
    size_t n;
} sx_deploy_group;

typedef struct sx_deploy {
    sx_deploy_node *nodes;
    size_t n;
    sx_deploy_group *groups;
    size_t ngroups;
    bool curve; /* every node has a key */
} sx_deploy;

/** Reads and checks a deployment file. NULL with "FILE:LINE: message"
 *  in err on any error. The caller owns the result (sx_deploy_free). */
sx_deploy *sx_deploy_load(const char *path, char *err, size_t errlen);
void sx_deploy_free(sx_deploy **d);
/** Index of node name, or -1. */
int sx_deploy_find(const sx_deploy *d, const char *name);
/** The group called name, or NULL. */
const sx_deploy_group *sx_deploy_group_find(const sx_deploy *d, const char *name);
/** The member of g that owns key_hash: rendezvous hashing, so adding or
 *  removing a member moves only the keys it gains or loses. */
const char *sx_deploy_partition(const sx_deploy *d, const sx_deploy_group *g, uint64_t key_hash);

/** Makes d (may be NULL) the deployment f_partition sees; d must outlive
 *  every plan made afterwards. Call once, before planning. */
void sx_deploy_set_current(const sx_deploy *d);
/** The current deployment, or NULL when the run is single-node. */
const sx_deploy *sx_deploy_current(void);

/** Writes a fresh CurveZMQ key pair to path (mode 0600, `public = Z85`
 *  and `secret = Z85` lines) and the public key into public40 (41 bytes).
 *  0, or -1 with a message. */
int sx_keys_generate(const char *path, char *public40, char *err, size_t errlen);
/** Reads a key file written by sx_keys_generate into public40 and
 *  secret40 (41 bytes each). 0, or -1 with a message. */
int sx_keys_load(const char *path, char *public40, char *secret40, char *err, size_t errlen);

#endif
