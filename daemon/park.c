/*
 * park.c: calls waiting for a commit.  A reply that rests on a row not yet
 * written (a deny quoting a suspension just opened, an allow on a product
 * just reopened) is held here until the writer (wal.c) says the row
 * committed, then sent -- or, for a check whose product's reopening is
 * not written yet, decided again by the redo callback it parked with, so
 * that nothing here names the check handler.  When the log is failing the
 * call gets its fail-closed answer instead of waiting.
 *
 * The pure parts (the queue of parked calls, the reopening gate, the
 * choice between now, wait and fail) take no lock and touch no socket:
 * tests/daemon_test.c tests them alone.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"
#include "ipc_reply.h"

/* ---- the queue of parked calls (pure) ---- */

void
parkq_init(struct parkq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

void
parkq_push(struct parkq *q, struct parked *p)
{
	p->next = NULL;
	*q->tail = p;
	q->tail = &p->next;
	q->n++;
}

struct parked *
parkq_take(struct parkq *q, int64_t committed, bool all)
{
	struct parked *ready = NULL, **rtail = &ready, **pp = &q->head;
	while (*pp != NULL) {
		struct parked *p = *pp;
		if (all || p->wait_seq <= committed) {
			*pp = p->next;
			p->next = NULL;
			*rtail = p;
			rtail = &p->next;
			q->n--;
		} else {
			pp = &p->next;
		}
	}
	q->tail = pp;
	return ready;
}

enum park_way
park_way(int64_t wait_seq, int64_t committed, bool degraded, bool writer_done,
         size_t nparked)
{
	if (wait_seq <= committed)
		return PARK_NOW;
	if (degraded || writer_done || nparked >= PARKED_MAX)
		return PARK_FAIL;
	return PARK_WAIT;
}

/* ---- the reopening gate (pure) ---- */

bool
gate_build(struct gate *g, size_t npairs, size_t nproducts,
           int32_t (*pair_of)(const void *arg, int32_t product),
           const void *arg, int64_t seq)
{
	g->first = calloc(npairs + 2, sizeof(*g->first));
	g->list = calloc(nproducts + 1, sizeof(*g->list));
	g->reopen = calloc(nproducts + 1, sizeof(*g->reopen));
	g->npairs = npairs;
	g->nproducts = nproducts;
	if (g->first == NULL || g->list == NULL || g->reopen == NULL) {
		gate_free(g);
		return false;
	}
	/* A counting sort: first[p + 2] counts pair p's products, the
	 * running sum turns counts into starts, and placing each product
	 * moves first[p + 1] on to where pair p + 1 starts. */
	for (size_t i = 0; i < nproducts; i++)
		g->first[pair_of(arg, (int32_t)i) + 2]++;
	for (size_t p = 2; p < npairs + 2; p++)
		g->first[p] += g->first[p - 1];
	for (size_t i = 0; i < nproducts; i++)
		g->list[g->first[pair_of(arg, (int32_t)i) + 1]++] = (int32_t)i;
	gate_all(g, seq);
	return true;
}

void
gate_free(struct gate *g)
{
	free(g->first);
	free(g->list);
	free(g->reopen);
	g->first = NULL;
	g->list = NULL;
	g->reopen = NULL;
	g->npairs = g->nproducts = 0;
}

void
gate_product(struct gate *g, int32_t product, int64_t seq)
{
	g->reopen[product] = seq;
}

void
gate_pair(struct gate *g, int32_t pair, int64_t seq)
{
	for (uint32_t i = g->first[pair]; i < g->first[pair + 1]; i++)
		g->reopen[g->list[i]] = seq;
}

void
gate_all(struct gate *g, int64_t seq)
{
	for (size_t i = 0; i < g->nproducts; i++)
		g->reopen[i] = seq;
}

int64_t
gate_seq(const struct gate *g, int32_t product)
{
	return g->reopen[product];
}

bool
gate_open(const struct gate *g, int32_t product, int64_t committed)
{
	return g->reopen[product] <= committed;
}

static int32_t
engine_pair_of(const void *arg, int32_t product)
{
	return breaker_product_pair(arg, product);
}

bool
gate_build_engine(struct gate *g, const struct breaker *engine, int64_t seq)
{
	return gate_build(g, breaker_pair_count(engine),
	                  breaker_product_count(engine), engine_pair_of,
	                  engine, seq);
}

/* ---- answers ---- */

/* Sends the fail-closed answer: fail if the caller made one (a command, a
 * batch), else a check's deny echoing ref. */
static void
send_fail_closed(struct ipc_call *call, const char *ref, const char *fail)
{
	if (fail != NULL) {
		daemon_send_reply(call, fail);
		return;
	}
	char *r = ipc_reply_fail_closed(ref);
	daemon_send_reply(call, r);
	free(r);
}

void
daemon_send_reply(struct ipc_call *call, const char *reply)
{
	/* No reply could be built: say so without allocating again. */
	char oom[IPC_REPLY_NOMEM_MAX];
	if (reply == NULL)
		reply = ipc_reply_nomem(oom);
	ipc_call_reply(call, reply, strlen(reply));
}

void
daemon_reply_error(struct ipc_call *call, enum fxb_err code, const char *msg,
                   const char *ref)
{
	char *r = ipc_reply_error(code, msg, ref);
	daemon_send_reply(call, r);
	free(r);
}

/* ---- parking ---- */

void
park_send(struct parked *p, bool fail_closed)
{
	while (p != NULL) {
		struct parked *next = p->next;
		if (fail_closed) {
			/* Checks parked to be decided, answered closed. */
			if (p->request != NULL)
				metrics_checks_closed(p->d, p->checks);
			send_fail_closed(p->call, p->ref, p->fail);
		} else if (p->request != NULL) {
			p->redo(p->redo_arg, p->call, p->request,
			        p->request_len);
		} else {
			daemon_send_reply(p->call, p->reply);
		}
		free(p->reply);
		free(p->request);
		free(p->ref);
		free(p->fail);
		free(p);
		p = next;
	}
}

struct parked *
park_take(struct daemon *d, int64_t committed, bool all)
{
	return parkq_take(&d->parked, committed, all);
}

void
park(struct daemon *d, struct ipc_call *call, int64_t wait_seq, char *reply,
     const struct park_redo *redo, const char *ref, char *fail)
{
	pthread_mutex_lock(&d->qmu);
	switch (park_way(wait_seq, atomic_load(&d->committed), d->degraded,
	                 d->writer_done, d->parked.n)) {
	case PARK_NOW:
		pthread_mutex_unlock(&d->qmu);
		if (redo != NULL)
			redo->fn(redo->arg, call, redo->request, redo->len);
		else
			daemon_send_reply(call, reply);
		free(reply);
		free(fail);
		return;
	case PARK_FAIL:
		pthread_mutex_unlock(&d->qmu);
		if (redo != NULL)
			metrics_checks_closed(d, redo->checks);
		free(reply);
		send_fail_closed(call, ref, fail);
		free(fail);
		return;
	case PARK_WAIT:
		break;
	}
	struct parked *p = calloc(1, sizeof(*p));
	char *req = redo != NULL ? malloc(redo->len + 1) : NULL;
	if (p == NULL || (redo != NULL && req == NULL)) {
		pthread_mutex_unlock(&d->qmu);
		free(p);
		free(req);
		free(reply);
		free(fail);
		daemon_send_reply(call, NULL);
		return;
	}
	if (req != NULL) {
		memcpy(req, redo->request, redo->len);
		p->redo = redo->fn;
		p->redo_arg = redo->arg;
		p->request_len = redo->len;
	}
	p->call = call;
	p->d = d;
	p->checks = redo != NULL ? redo->checks : 0;
	p->wait_seq = wait_seq;
	p->reply = reply;
	p->request = req;
	p->ref = dup_or_null(ref);
	p->fail = fail;
	parkq_push(&d->parked, p);
	pthread_mutex_unlock(&d->qmu);
}

void
daemon_park(struct daemon *d, struct ipc_call *call, int64_t wait_seq,
            char *reply, const char *request, size_t request_len,
            const char *ref)
{
	struct park_redo redo = {d->check_redo, d, request, request_len, 1};
	park(d, call, wait_seq, reply, request != NULL ? &redo : NULL, ref,
	     NULL);
}

void
daemon_park_command(struct daemon *d, struct ipc_call *call, int64_t wait_seq,
                    char *reply, bool did_nothing)
{
	/* A refusal did nothing: it can be told as it is even before its
	 * row is written.  Anything else is not confirmed until then: its
	 * effect, if any, is in force in memory and will be logged when the
	 * log recovers, and resending the same signed request gets the
	 * answer. */
	park(d, call, wait_seq, reply, NULL, NULL,
	     did_nothing && reply != NULL ? strdup(reply)
	                                  : ipc_reply_cmd_unconfirmed());
}

void
park_reply(struct daemon *d, struct ipc_call *call, char *reply,
           int64_t wait_seq, const char *ref)
{
	daemon_park(d, call, wait_seq, reply, NULL, 0, ref);
}
