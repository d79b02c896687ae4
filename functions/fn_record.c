/*
 * fn_record.c -- f_field(RECORD, "name"): one field of a record value
 * (a SIP session event, a mail, a TCP message), so rules can test and
 * project fields: OUTCOME = f_field(S, "outcome").
 *
 * Pure; the field name is looked up per call (records are small).
 */
#include <string.h>

#include "analog/functions.h"
#include "functions/fn_args.h"

/** f_field(RECORD, NAME): the field's value; an error when RECORD is not
 *  a record or has no field NAME. */
static int f_field(analog_fn_ctx *ctx, const sx_value *args, uint32_t nargs, sx_value *result)
{
    (void)nargs;
    if (args[0].kind != SX_RECORD)
        return fn_args_type_error(ctx, "f_field", 1, "a record", &args[0]);
    if (args[1].kind != SX_STR || !args[1].u.blob)
        return fn_args_type_error(ctx, "f_field", 2, "a string (the field name)", &args[1]);
    const sx_list *l = args[0].u.list;
    const sx_blob *want = args[1].u.blob;
    for (uint32_t i = 0; l && i < l->n; i++) {
        if (l->names[i] && sx_blob_equal(l->names[i], want)) {
            *result = sx_value_copy(&l->items[i]);
            return 0;
        }
    }
    return fn_args_errorf(ctx->err, ctx->errlen, "f_field: the record has no field \"%.*s\"",
                          (int)want->len, (const char *)want->data);
}

static const analog_fn_def fn_field_def = {
    .name = "f_field", .min_args = 2, .max_args = 2, .flags = ANALOG_FN_PURE, .call = f_field,
    .summary = "f_field(RECORD, \"name\"): the named field of a record (an error if absent)",
};
ANALOG_FN_REGISTER(fn_field_def)
