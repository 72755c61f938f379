/*
 * fxb_err.c: names and meanings of enum fxb_err.  The table must match the
 * enum in fxb.h and the table in docs/PROTOCOL.md.
 */
#include "fxb.h"

#include <stddef.h>

static const struct {
	const char *name;
	const char *text;
} fxb_err_table[] = {
    [FXB_OK] = {"ok", "success"},
    [FXB_ERR_NOMEM] = {"nomem", "out of memory"},
    [FXB_ERR_SYNTAX] = {"syntax", "malformed input"},
    [FXB_ERR_DECIMAL] = {"decimal", "not a decimal number"},
    [FXB_ERR_PRECISION] = {"precision", "too many fractional digits"},
    [FXB_ERR_RANGE] = {"range", "number out of range"},
    [FXB_ERR_UNKNOWN_PRODUCT] = {"unknown_product", "unknown product"},
    [FXB_ERR_UNKNOWN_PAIR] = {"unknown_pair", "unknown pair"},
    [FXB_ERR_UNKNOWN_RULE] = {"unknown_rule", "unknown rule"},
    [FXB_ERR_TIME_BACKWARDS] = {"time_backwards",
                                "time is earlier than the engine's clock"},
    [FXB_ERR_CROSSED] = {"crossed", "bid is above ask"},
    [FXB_ERR_NOT_TRIPPED] = {"not_tripped", "rule is not tripped"},
    [FXB_ERR_NOT_RESETTABLE] = {"not_resettable",
                                "rule resumes on a tick, not by reset"},
    [FXB_ERR_NOT_FORCED] = {"not_forced", "scope is not force-suspended"},
    [FXB_ERR_CONFIG] = {"config", "invalid configuration"},
    [FXB_ERR_LIMIT] = {"limit", "capacity limit reached"},
    [FXB_ERR_CURRENCY] = {"currency", "unknown ISO 4217 currency"},
    [FXB_ERR_MISSING] = {"missing", "required field missing"},
    [FXB_ERR_IO] = {"io", "I/O error"},
    [FXB_ERR_UNKNOWN_OP] = {"unknown_op", "unknown op"},
    [FXB_ERR_TYPE] = {"type", "field has the wrong JSON type"},
    [FXB_ERR_LEDGER] = {"ledger", "the suspension log cannot be written"},
    [FXB_ERR_BUSY] = {"busy", "the suspension log queue is full"},
    [FXB_ERR_SHUTDOWN] = {"shutdown", "the service is stopping"},
    [FXB_ERR_UNAVAILABLE] = {"unavailable",
                             "the service did not answer in time"},
    [FXB_ERR_DEGRADED] = {"degraded",
                          "refused while the suspension log is degraded"},
    [FXB_ERR_BAD_SIGNATURE] = {"bad_signature",
                               "the command's signature does not verify"},
    [FXB_ERR_UNKNOWN_OPERATOR] = {"unknown_operator",
                                  "no such operator, or revoked"},
    [FXB_ERR_FORBIDDEN] = {"forbidden", "the operator lacks the role"},
    [FXB_ERR_EXPIRED] = {"expired", "issued too far from now, or expired"},
    [FXB_ERR_WRONG_SERVICE] = {"wrong_service",
                               "signed for another deployment"},
    [FXB_ERR_SELF_APPROVAL] = {"self_approval",
                               "the approver is the requester"},
    [FXB_ERR_STALE_APPROVAL] = {"stale_approval",
                                "the request is gone, done or superseded"},
    [FXB_ERR_REPLAYED] = {"replayed", "command seen before"},
    [FXB_ERR_UNKNOWN_NOTICE] = {"unknown_notice", "no such notice"},
    [FXB_ERR_OPERATOR_EXISTS] = {"operator_exists",
                                 "this key is already enrolled"},
    [FXB_ERR_UNREACHABLE] = {"unreachable", "cannot connect to the service"},
    [FXB_ERR_NOT_LEADER] = {"not_leader",
                            "this node is not the cluster's leader"},
    [FXB_ERR_NOT_PLANNED] = {"not_planned", "scope has no planned suspension"},
    [FXB_ERR_ALREADY_PLANNED] = {"already_planned",
                                 "scope already has a planned suspension"},
    [FXB_ERR_NO_QUORUM] =
        {"no_quorum", "the leader cannot reach a majority of the cluster"},
};

#define FXB_ERR_COUNT (sizeof(fxb_err_table) / sizeof(fxb_err_table[0]))

const char *
fxb_strerror(enum fxb_err err)
{
	if ((size_t)err >= FXB_ERR_COUNT || fxb_err_table[err].text == NULL)
		return "unknown error";
	return fxb_err_table[err].text;
}

const char *
fxb_errname(enum fxb_err err)
{
	if ((size_t)err >= FXB_ERR_COUNT || fxb_err_table[err].name == NULL)
		return "unknown";
	return fxb_err_table[err].name;
}
