/*
 * fn_place.c -- f_partition: which node of a group owns a key.
 *
 *     smtp_mail(@A, ...) :- ..., A = f_partition(FLOW_ID, "analyzers").
 *
 * A rule whose head location is bound to another node's name ships the
 * tuple there (DESIGN.md, Distribution); f_partition picks that name
 * from a group of the deployment file by rendezvous hashing of the key,
 * so each key's state lives on one node and a member added or removed
 * moves only its own keys. The group is a constant, looked up once at
 * plan time in the current deployment (actors/deploy.h). Without a
 * deployment the run is single-node and every name is local: the call
 * returns the group's own name.
 */
#include <stdio.h>
#include <string.h>

#include "actors/deploy.h"
#include "analog/functions.h"

/** Plan time: the group argument must be a constant naming a group of
 *  the current deployment (any name when there is none). */
static int partition_prepare(const sx_value *args, const bool *is_const, uint32_t nargs,
                             void **prepared, char *err, size_t errlen)
{
    (void)nargs;
    if (!is_const[1] || args[1].kind != SX_STR) {
        snprintf(err, errlen, "f_partition: the group must be a constant string");
        return -1;
    }
    const sx_deploy *d = sx_deploy_current();
    if (!d) {
        *prepared = NULL;
        return 0;
    }
    char name[256];
    size_t len = args[1].u.blob ? args[1].u.blob->len : 0;
    snprintf(name, sizeof name, "%.*s", (int)len, args[1].u.blob ? (const char *)args[1].u.blob->data : "");
    const sx_deploy_group *g = sx_deploy_group_find(d, name);
    if (!g) {
        snprintf(err, errlen, "f_partition: no group '%s' in the deployment file", name);
        return -1;
    }
    *prepared = (void *)g;
    return 0;
}

/** f_partition(KEY, "group") -> the name of the member that owns KEY. */
static int f_partition(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    (void)nargs;
    const sx_deploy_group *g = ctx->prepared;
    if (!g) {
        *result = sx_value_copy(&args[1]);
        return 0;
    }
    *result = sx_value_cstr(sx_deploy_partition(sx_deploy_current(), g, sx_value_hash(&args[0])));
    return 0;
}

static const analog_fn_def fn_partition_def = {
    .name = "f_partition", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE,
    .call = f_partition, .prepare = partition_prepare,
    .summary = "f_partition(KEY, \"group\"): the node of the deployment group that owns KEY "
               "(rendezvous hashing); the group's name when single-node"};
ANALOG_FN_REGISTER(fn_partition_def)
