/*
 * fxb_client_wire.c: the client's JSON, with jansson: the text of a check
 * or a check_batch request, and a reply's answer object read into a
 * struct fxb_client_result (a reply without a decision, or an error reply
 * that is not about the request, goes to the product's fail policy).  No
 * sockets: fxb_client_call.c carries the bytes.
 */
#include <stdint.h>
#include <string.h>

#include "fxb_client_impl.h"

/* Error codes that say the request was wrong, not the service
 * (docs/PROTOCOL.md): syntax, decimal, precision, range, unknown product or
 * pair, crossed, missing, unknown op, type. */
static bool
fxb_client_is_request_error(int err)
{
	switch (err) {
	case FXB_ERR_SYNTAX:
	case FXB_ERR_DECIMAL:
	case FXB_ERR_PRECISION:
	case FXB_ERR_RANGE:
	case FXB_ERR_UNKNOWN_PRODUCT:
	case FXB_ERR_UNKNOWN_PAIR:
	case FXB_ERR_CROSSED:
	case FXB_ERR_MISSING:
	case FXB_ERR_UNKNOWN_OP:
	case FXB_ERR_TYPE:
		return true;
	default:
		return false;
	}
}

/*
 * fxb_client_copy copies len bytes of src into dst (size bytes, always
 * terminated), cutting a text too long for dst at a character boundary: a
 * notice cut inside a Hangul syllable would be invalid UTF-8 on a
 * customer's screen.
 */
void
fxb_client_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size) {
		len = size - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* fxb_client_get_str copies obj[key] into dst if it is a string. */
static void
fxb_client_get_str(const json_t *obj, const char *key, char *dst, size_t size)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		fxb_client_copy(dst, size, json_string_value(v),
		                json_string_length(v));
}

/* fxb_client_get_int returns obj[key] if it is an integer >= min, else
 * dflt. */
static int64_t
fxb_client_get_int(const json_t *obj, const char *key, int64_t min,
                   int64_t dflt)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_integer(v) && json_integer_value(v) >= min)
		return (int64_t)json_integer_value(v);
	return dflt;
}

/*
 * fxb_client_error_reply applies the fail policy to an `error` reply,
 * keeping the service's code and message.  A code that is not a positive
 * integer makes the reply malformed (syntax): there is no right number to
 * pass on.
 */
static enum fxb_client_decision
fxb_client_error_reply(struct fxb_client *c, const char *product,
                       const json_t *error, struct fxb_client_result *res)
{
	const json_t *code = json_object_get(error, "code");
	const json_t *text = json_object_get(error, "message");
	enum fxb_client_decision d;

	if (!json_is_integer(code) || json_integer_value(code) <= 0 ||
	    json_integer_value(code) > INT32_MAX)
		return fxb_client_fail(c, product, FXB_ERR_SYNTAX, res,
		                       "error reply without a valid code");
	if (!json_is_string(text))
		text = json_object_get(error, "name");
	int err = (int)json_integer_value(code);
	if (fxb_client_is_request_error(err)) {
		/* The request itself is wrong (a bad amount, an unknown
		 * product): that is an answer, and the answer is no.  The
		 * fail policy is for a service that cannot answer, never a
		 * way for bad input to be allowed. */
		res->decision = d = FXB_CLIENT_DENY;
		res->by_policy = false;
		res->error = err;
	} else {
		d = fxb_client_fail(c, product, err, res, "%s", "");
	}
	if (json_is_string(text))
		fxb_client_copy(res->message, sizeof(res->message),
		                json_string_value(text),
		                json_string_length(text));
	return d;
}

/* The answer's "upcoming" into *up (NULL: not wanted); one without a
 * plan id and a start reads as none. */
static void
fxb_client_upcoming_get(const json_t *reply, struct fxb_client_upcoming *up)
{
	const json_t *u = json_object_get(reply, "upcoming"), *notice;
	if (up == NULL || !json_is_object(u))
		return;
	up->plan = fxb_client_get_int(u, "plan", 1, 0);
	up->from = fxb_client_get_int(u, "from", 0, -1);
	up->until = fxb_client_get_int(u, "until", 0, -1);
	if (up->plan == 0 || up->from < 0) {
		memset(up, 0, sizeof(*up));
		return;
	}
	up->has_upcoming = true;
	notice = json_object_get(u, "notice");
	if (json_is_object(notice)) {
		fxb_client_get_str(notice, "ko", up->notice_ko,
		                   sizeof(up->notice_ko));
		fxb_client_get_str(notice, "en", up->notice_en,
		                   sizeof(up->notice_en));
	}
}

/*
 * fxb_client_answer turns one answer object into *res.  The decision is
 * the only field that must be right: once the service said allow, deny or
 * throttle, that stands, and an optional field of the wrong type reads as
 * absent.  Being stricter would hand a service's deny to the fail policy,
 * which may be allow.
 */
enum fxb_client_decision
fxb_client_answer(struct fxb_client *c, const char *product,
                  const json_t *reply, struct fxb_client_result *res,
                  struct fxb_client_upcoming *up)
{
	static const struct {
		const char *name;
		enum fxb_client_decision decision;
	} decisions[] = {
	    {"allow", FXB_CLIENT_ALLOW},
	    {"deny", FXB_CLIENT_DENY},
	    {"throttle", FXB_CLIENT_THROTTLE},
	};
	const json_t *v, *notice;
	size_t i;

	if (!json_is_object(reply))
		return fxb_client_fail(c, product, FXB_ERR_SYNTAX, res,
		                       "reply is not a JSON object");
	if ((v = json_object_get(reply, "error")) != NULL)
		return fxb_client_error_reply(c, product, v, res);
	v = json_object_get(reply, "decision");
	for (i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), decisions[i].name) == 0)
			break;
	if (i == sizeof(decisions) / sizeof(decisions[0]))
		return fxb_client_fail(c, product, FXB_ERR_SYNTAX, res,
		                       "reply has no valid decision");
	res->decision = decisions[i].decision;
	fxb_client_get_str(reply, "reason", res->reason, sizeof(res->reason));
	fxb_client_get_str(reply, "rule", res->rule, sizeof(res->rule));
	fxb_client_get_str(reply, "kind", res->kind, sizeof(res->kind));
	res->suspension = fxb_client_get_int(reply, "suspension", 1, 0);
	res->retry_after_ms =
	    fxb_client_get_int(reply, "retry_after_ms", 0, -1);
	notice = json_object_get(reply, "notice");
	if (json_is_object(notice)) {
		fxb_client_get_str(notice, "ko", res->notice_ko,
		                   sizeof(res->notice_ko));
		fxb_client_get_str(notice, "en", res->notice_en,
		                   sizeof(res->notice_en));
	}
	fxb_client_upcoming_get(reply, up);
	return res->decision;
}

/*
 * fxb_client_set_field sets obj[key] to the string s.  jansson refuses a
 * string that is not UTF-8 (NULL) the same way it reports out of memory;
 * the unchecked constructor tells the two apart.
 */
static enum fxb_err
fxb_client_set_field(json_t *obj, const char *key, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL) {
		if ((v = json_string_nocheck(s)) == NULL)
			return FXB_ERR_NOMEM;
		json_decref(v);
		return FXB_ERR_SYNTAX;
	}
	return json_object_set_new(obj, key, v) == 0 ? FXB_OK : FXB_ERR_NOMEM;
}

/* fxb_client_check_fields sets a check's fields on obj.  Decimals go as
 * the caller's strings, untouched: the service validates them exactly and
 * nothing here may round them. */
static enum fxb_err
fxb_client_check_fields(json_t *obj, const struct fxb_client_check *ck)
{
	enum fxb_err err;

	if ((err = fxb_client_set_field(obj, "product", ck->product)) !=
	        FXB_OK ||
	    (err = fxb_client_set_field(obj, "amount", ck->amount)) !=
	        FXB_OK ||
	    (ck->rate != NULL &&
	     (err = fxb_client_set_field(obj, "rate", ck->rate)) != FXB_OK) ||
	    (ck->ref != NULL &&
	     (err = fxb_client_set_field(obj, "ref", ck->ref)) != FXB_OK))
		return err;
	return FXB_OK;
}

/* fxb_client_request builds the text of a check (n == 1) or a check_batch
 * (n > 1); *out is the caller's to free() on success. */
enum fxb_err
fxb_client_request(const struct fxb_client_check *checks, size_t n, char **out)
{
	json_t *req = json_object(), *arr = NULL;
	enum fxb_err err = FXB_ERR_NOMEM;

	if (req == NULL)
		return FXB_ERR_NOMEM;
	if (n == 1) {
		if ((err = fxb_client_set_field(req, "op", "check")) !=
		        FXB_OK ||
		    (err = fxb_client_check_fields(req, &checks[0])) != FXB_OK)
			goto out;
	} else {
		if ((err = fxb_client_set_field(req, "op", "check_batch")) !=
		        FXB_OK ||
		    (arr = json_array()) == NULL ||
		    json_object_set_new(req, "checks", arr) != 0) {
			err = FXB_ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			if (o == NULL || json_array_append_new(arr, o) != 0) {
				err = FXB_ERR_NOMEM;
				goto out;
			}
			if ((err = fxb_client_check_fields(o, &checks[i])) !=
			    FXB_OK)
				goto out;
		}
	}
	err = (*out = json_dumps(req, JSON_COMPACT)) != NULL ? FXB_OK
	                                                     : FXB_ERR_NOMEM;
out:
	json_decref(req);
	return err;
}
