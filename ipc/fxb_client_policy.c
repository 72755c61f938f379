/*
 * fxb_client_policy.c: each product's fail policy (fxb_client_set_policy)
 * and the result it decides when the service gives no answer that can be
 * used.  A table of fixed size under the client's mtx; nothing here
 * talks to the service.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fxb_client_impl.h"

/* fxb_client_slot returns the slot of product, or NULL.  Call with mtx
 * held. */
static struct fxb_client_policy_slot *
fxb_client_slot(struct fxb_client *c, const char *product)
{
	for (size_t i = 0; i < c->npolicies; i++)
		if (strcmp(c->policies[i].product, product) == 0)
			return &c->policies[i];
	return NULL;
}

int
fxb_client_set_policy(struct fxb_client *c, const char *product,
                      enum fxb_client_policy policy)
{
	struct fxb_client_policy_slot *slot;
	size_t len;
	int rv = 0;

	/* A product id longer than any the service accepts cannot be
	 * checked, so it has no policy to keep: refuse it like a full
	 * table rather than store a prefix that could match another. */
	if (c == NULL || product == NULL ||
	    (len = strlen(product)) > FXB_CLIENT_PRODUCT_MAX)
		return -1;
	/* Anything but an explicit allow is deny: fail closed. */
	if (policy != FXB_CLIENT_FAIL_ALLOW)
		policy = FXB_CLIENT_FAIL_DENY;
	nng_mtx_lock(c->mtx);
	if ((slot = fxb_client_slot(c, product)) != NULL) {
		slot->policy = policy;
	} else if (policy == FXB_CLIENT_FAIL_DENY) {
		/* The default needs no slot: a full table still takes it. */
	} else if (c->npolicies == FXB_CLIENT_POLICY_MAX) {
		rv = -1;
	} else {
		slot = &c->policies[c->npolicies++];
		memcpy(slot->product, product, len + 1);
		slot->policy = policy;
	}
	nng_mtx_unlock(c->mtx);
	return rv;
}

static enum fxb_client_policy
fxb_client_policy_of(struct fxb_client *c, const char *product)
{
	const struct fxb_client_policy_slot *slot;
	enum fxb_client_policy policy = FXB_CLIENT_FAIL_DENY;

	if (c == NULL || product == NULL)
		return policy;
	nng_mtx_lock(c->mtx);
	if ((slot = fxb_client_slot(c, product)) != NULL)
		policy = slot->policy;
	nng_mtx_unlock(c->mtx);
	return policy;
}

/*
 * fxb_client_fail lets the product's fail policy decide: res says
 * by_policy, the error code and why (a printf format).
 */
enum fxb_client_decision
fxb_client_fail(struct fxb_client *c, const char *product, int err,
                struct fxb_client_result *res, const char *fmt, ...)
{
	va_list ap;

	res->decision =
	    fxb_client_policy_of(c, product) == FXB_CLIENT_FAIL_ALLOW
	        ? FXB_CLIENT_ALLOW
	        : FXB_CLIENT_DENY;
	res->by_policy = true;
	res->error = err;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return res->decision;
}

/* fxb_client_fail_all lets each check's fail policy decide (the same
 * error for all); returns how many were allowed. */
size_t
fxb_client_fail_all(struct fxb_client *c, const struct fxb_client_check *ck,
                    size_t n, struct fxb_client_result *res, int err,
                    const char *why)
{
	size_t allowed = 0;
	for (size_t i = 0; i < n; i++)
		allowed += fxb_client_fail(c, ck[i].product, err, &res[i],
		                           "%s", why) == FXB_CLIENT_ALLOW;
	return allowed;
}
