/*
 * ipc_reply.c: the wire protocol's replies (see ipc_reply.h).  jansson
 * writes them, compact and in insertion order, except an allow and the
 * out-of-memory error, written by hand: the first because it is most
 * replies, the second because it must not allocate.  A key whose value
 * jansson refuses (a string that is not UTF-8) is left out, as it always
 * has been, except an error's message, whose stray bytes are written as
 * U+FFFD (ipc_json_text): each builder makes the same calls in the same
 * order as the daemon did when it wrote these itself.
 *
 * This file: a check's answers, errors, ok and ping, a batch, and what
 * every builder shares (ipc_reply_impl.h); the answers to signed commands
 * are ipc_reply_cmd.c's, the admin status ipc_reply_status.c's, the live
 * board ipc_reply_board.c's.
 */
#include "ipc_reply.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_json.h"
#include "ipc_reply_impl.h"

/* A check's answer when the log cannot be written: not an engine reason,
 * the service's own (docs/PROTOCOL.md, "Fail closed"). */
static const char ledger_unavailable[] = "ledger_unavailable";

/* ---- what every builder uses ---- */

/* Dumps o and drops it; NULL in, NULL out. */
char *
ipc_reply_dump(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, IPC_REPLY_DUMP_FLAGS) : NULL;
	json_decref(o);
	return s;
}

/* Sets o's "ref" to ref; NULL: none. */
void
ipc_reply_set_ref(json_t *o, const char *ref)
{
	if (ref != NULL)
		json_object_set_new(o, "ref", json_string(ref));
}

/* v, or null when it is not shown. */
json_t *
ipc_reply_int_or_null(int64_t v, bool shown)
{
	return shown ? json_integer((json_int_t)v) : json_null();
}

/* ---- a check ---- */

char *
ipc_reply_allow(const char *ref, char buf[IPC_REPLY_ALLOW_MAX])
{
	static const char head[] = "{\"decision\":\"allow\"";
	static const char with_ref[] = ",\"ref\":\"";
	size_t h = sizeof(head) - 1, w = sizeof(with_ref) - 1;
	if (ref == NULL) {
		memcpy(buf, head, h);
		memcpy(buf + h, "}", 2);
		return buf;
	}
	size_t n = strlen(ref);
	bool plain = n <= IPC_REF_MAX;
	for (size_t i = 0; plain && i < n; i++)
		plain = ref[i] != '"' && ref[i] != '\\' &&
		        (unsigned char)ref[i] >= 0x20;
	if (!plain)
		return ipc_reply_dump(
		    json_pack("{ssss}", "decision", "allow", "ref", ref));
	memcpy(buf, head, h);
	memcpy(buf + h, with_ref, w);
	memcpy(buf + h + w, ref, n);
	memcpy(buf + h + w + n, "\"}", 3);
	return buf;
}

/* The planned suspension ahead (dec's upcoming, plan 0: none): its id,
 * start, end, and the notice its customers will read (NULL: none). */
static void
set_upcoming(json_t *o, const struct breaker_plan *p,
             const struct ipc_reply_notice *n)
{
	json_object_del(o, "upcoming");
	if (p->plan <= 0)
		return;
	json_t *u = json_object();
	if (u == NULL)
		return;
	json_object_set_new(u, "plan", json_integer(p->plan));
	json_object_set_new(u, "from", json_integer(p->from));
	if (p->until != FXB_NEVER)
		json_object_set_new(u, "until", json_integer(p->until));
	if (n != NULL) {
		json_t *no = json_object();
		if (no != NULL) {
			json_object_set_new(no, "id", json_string(n->id));
			json_object_set_new(no, "ko", json_string(n->ko));
			json_object_set_new(no, "en", json_string(n->en));
			json_object_set_new(u, "notice", no);
		}
	}
	json_object_set_new(o, "upcoming", u);
}

char *
ipc_reply_check(const struct breaker_decision *dec,
                const struct ipc_reply_notice *notice, const char *ref)
{
	return ipc_reply_check_upcoming(dec, notice, NULL, ref);
}

char *
ipc_reply_check_upcoming(const struct breaker_decision *dec,
                         const struct ipc_reply_notice *notice,
                         const struct ipc_reply_notice *upcoming,
                         const char *ref)
{
	json_t *o = ipc_decision_json(dec);
	if (o == NULL)
		return NULL;
	/* Customers read the open notice's texts, not the rule's id. */
	json_object_del(o, "notice");
	if (notice != NULL && dec->verdict == BREAKER_VERDICT_DENY &&
	    dec->suspension > 0) {
		json_t *no = json_object();
		if (no != NULL) {
			json_object_set_new(no, "id", json_string(notice->id));
			json_object_set_new(no, "ko", json_string(notice->ko));
			json_object_set_new(no, "en", json_string(notice->en));
			json_object_set_new(no, "since",
			                    json_integer(notice->since));
			if (notice->until != FXB_NEVER)
				json_object_set_new(
				    no, "until", json_integer(notice->until));
			json_object_set_new(o, "notice", no);
		}
	}
	set_upcoming(o, &dec->upcoming, upcoming);
	ipc_reply_set_ref(o, ref);
	return ipc_reply_dump(o);
}

char *
ipc_reply_fail_closed(const char *ref)
{
	json_t *o = json_object();
	char *s = NULL;
	if (o != NULL &&
	    json_object_set_new(o, "decision",
	                        json_string(breaker_verdict_name(
	                            BREAKER_VERDICT_DENY))) == 0 &&
	    json_object_set_new(o, "reason",
	                        json_string(ledger_unavailable)) == 0 &&
	    (ref == NULL ||
	     json_object_set_new(o, "ref", json_string(ref)) == 0))
		s = json_dumps(o, IPC_REPLY_DUMP_FLAGS);
	json_decref(o);
	return s;
}

/* ---- errors, ok, ping ---- */

char *
ipc_reply_error(enum fxb_err code, const char *msg, const char *ref)
{
	char *r = ipc_error_reply(code, msg, ref);
	return r != NULL ? r : ipc_error_reply(code, fxb_strerror(code), ref);
}

const char *
ipc_reply_nomem(char buf[IPC_REPLY_NOMEM_MAX])
{
	/* The table's name and text need no escaping (tests/reply_test.c
	 * holds this equal to what jansson writes). */
	snprintf(
	    buf, IPC_REPLY_NOMEM_MAX,
	    "{\"error\":{\"code\":%d,\"name\":\"%s\",\"message\":\"%s\"}}",
	    (int)FXB_ERR_NOMEM, fxb_errname(FXB_ERR_NOMEM),
	    fxb_strerror(FXB_ERR_NOMEM));
	return buf;
}

static char *
ok_reply(bool ping, const char *service_id, fxb_time now, const char *ref)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	if (ping) {
		json_object_set_new(o, "service_id", json_string(service_id));
		json_object_set_new(o, "now", json_integer(now));
	}
	ipc_reply_set_ref(o, ref);
	return ipc_reply_dump(o);
}

char *
ipc_reply_ok(const char *ref)
{
	return ok_reply(false, NULL, 0, ref);
}

char *
ipc_reply_ping(const char *service_id, fxb_time now, const char *ref)
{
	return ok_reply(true, service_id, now, ref);
}

/* ---- a batch ---- */

static void
batch_put(struct ipc_reply_batch *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *p = realloc(b->buf, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static const char batch_head[] = "{\"results\":[";

void
ipc_reply_batch_add(struct ipc_reply_batch *b, const char *answer)
{
	char nomem[IPC_REPLY_NOMEM_MAX];
	if (b->n++ == 0)
		batch_put(b, batch_head, sizeof(batch_head) - 1);
	else
		batch_put(b, ",", 1);
	if (answer == NULL)
		answer = ipc_reply_nomem(nomem);
	batch_put(b, answer, strlen(answer));
}

char *
ipc_reply_batch_end(struct ipc_reply_batch *b, const char *ref)
{
	/* A batch has at least one check (ipc_request_parse); an empty one
	 * still reads as JSON. */
	if (b->n == 0)
		batch_put(b, batch_head, sizeof(batch_head) - 1);
	batch_put(b, "]", 1);
	if (ref != NULL) {
		json_t *j = json_string(ref);
		char *s = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
		json_decref(j);
		batch_put(b, ",\"ref\":", 7);
		if (s == NULL)
			b->oom = true;
		else
			batch_put(b, s, strlen(s));
		free(s);
	}
	batch_put(b, "}", 1);
	if (b->oom) {
		free(b->buf);
		return NULL;
	}
	return b->buf;
}

char *
ipc_reply_batch_fail_closed(const struct ipc_request *r)
{
	struct ipc_reply_batch b = IPC_REPLY_BATCH_INIT;
	for (size_t i = 0; i < r->nchecks; i++) {
		char *s = ipc_reply_fail_closed(r->checks[i].ref);
		ipc_reply_batch_add(&b, s);
		free(s);
	}
	return ipc_reply_batch_end(&b, r->ref);
}
