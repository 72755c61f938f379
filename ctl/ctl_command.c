/*
 * ctl_command.c: `suspend`, `lift`, `reset`, `threshold`, `notice`,
 * `enrol`, `revoke`, `approve` and `cancel`: one command signed with an
 * operator's key (ctl_key.c) and sent to the admin socket
 * (docs/PROTOCOL.md, "Signed operator commands").  Its options and body are
 * ctl_cmd_spec.c's, the answer is printed by ctl_cmd_reply.c.  This file
 * decides nothing: the service checks the signature, the operator's
 * roles, the clock and the four eyes.
 *
 * Exit codes: 0 applied or pending, 1 rejected or an error reply,
 * 2 bad configuration, 3 usage, I/O or no answer.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ipc_request.h"
#include "ipc_trust.h"

/* The envelope of body text: the text's very bytes, signed (as
 * ipc_trust_sign: its domain ahead) and sent as the body string.  NULL on
 * out of memory or text that is not UTF-8. */
static char *
envelope_of(const char *text, const unsigned char sk[IPC_TRUST_SK_LEN])
{
	char b64[IPC_TRUST_SIG_B64_SIZE];
	if (ipc_trust_sign(text, strlen(text), sk, b64) != FXB_OK)
		return NULL;
	json_t *e = json_object();
	json_object_set_new(e, "op", json_string("command"));
	json_object_set_new(e, "body", json_string(text));
	json_object_set_new(e, "signature", json_string(b64));
	char *env = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(e);
	return env;
}

/*
 * The envelope {"op":"command","body":...,"signature":...} as compact
 * JSON (free with free()).  body is serialized once, and those very bytes
 * are both signed and sent: the service verifies the string it receives,
 * never a re-serialization.  NULL on out of memory.
 */
static char *
cmd_envelope(json_t *body, const unsigned char sk[IPC_TRUST_SK_LEN])
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return NULL;
	char *env = envelope_of(text, sk);
	free(text);
	return env;
}

char *
ctl_sign_body(const char *key_path, const char *body)
{
	struct ctl_key k;
	struct ctl_secret *s = NULL;
	char *env = NULL;
	if (sodium_init() < 0 || (s = ctl_secret_new()) == NULL ||
	    ctl_key_load(key_path, &k, s) != 0)
		goto out;
	if ((env = envelope_of(body, s->sk)) == NULL)
		fprintf(stderr, "fxbreakerctl: out of memory\n");
out:
	ctl_secret_free(s);
	return env;
}

/* The clock the service compares issued_at with: UTC epoch ms. */
static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Where the command goes (into t) and the service id it names (into
 * sid): --url and --service-id, else the config's [service].  The config
 * only for what the options do not give, and of it only [service]: an
 * emergency suspend must not wait for a typo in a rule to be fixed.
 * Returns an exit code: 0, or why not (said).
 */
static int
cmd_target(const struct ctl_cmd_opts *o, struct ctl_target *t, char *sid,
           size_t cap)
{
	const char *url = o->v[CTL_OPT_URL], *id = o->v[CTL_OPT_SERVICE_ID];
	int code;

	if ((url == NULL && !o->sign_only) || id == NULL) {
		struct service_conf sv;
		const char *instead = url != NULL  ? "give --service-id ID"
		                      : id != NULL ? "give --url URL"
		                                   : "give --url URL "
		                                     "--service-id ID";
		if ((code = ctl_service(o->v[CTL_OPT_CONFIG], instead, &sv)) !=
		    CTL_EXIT_OK)
			return code;
		snprintf(t->url, sizeof(t->url), "%s", sv.admin_url);
		snprintf(sid, cap, "%s", sv.service_id);
		t->config = o->v[CTL_OPT_CONFIG];
	}
	if (url != NULL) {
		snprintf(t->url, sizeof(t->url), "%s", url);
		t->config = NULL;
	}
	if (id != NULL)
		snprintf(sid, cap, "%s", id);
	return CTL_EXIT_OK;
}

/* --nonce when repeating a command, else a new random one. */
static void
cmd_nonce(const struct ctl_cmd_opts *o, char nonce[IPC_TRUST_NONCE_SIZE])
{
	if (o->v[CTL_OPT_NONCE] != NULL) {
		memcpy(nonce, o->v[CTL_OPT_NONCE], IPC_TRUST_NONCE_SIZE);
	} else {
		unsigned char nb[(IPC_TRUST_NONCE_SIZE - 1) / 2];
		randombytes_buf(nb, sizeof(nb));
		sodium_bin2hex(nonce, IPC_TRUST_NONCE_SIZE, nb, sizeof(nb));
	}
}

/* Sends env to t and prints the answer; returns an exit code, or
 * CTL_EXIT_UNCONFIRMED. */
static int
cmd_send(const struct ctl_cmd_opts *o, const struct ctl_target *t,
         const char *env)
{
	char err[2048], *reply = NULL;

	if (!ipc_trust_request_fits(strlen(env))) {
		fprintf(stderr,
		        "fxbreakerctl: the command is %zu bytes, over the "
		        "service's limit of %d (shorten --reason)\n",
		        strlen(env), IPC_TRUST_REQUEST_MAX);
		return CTL_EXIT_USAGE;
	}
	ipc_request_tls(o->v[CTL_OPT_TLS_CA], o->v[CTL_OPT_TLS_CERT],
	                o->v[CTL_OPT_TLS_KEY]);
	/* With a list of admin URLs (a cluster), a follower answers
	 * not_leader without a hint (nodes publish only their check URL),
	 * and the very same envelope goes to the next: its nonce makes that
	 * safe, since a node that applied it answers a repeat with the
	 * stored answer and does nothing twice. */
	enum fxb_err e = ipc_request_any(t->url, env, o->timeout_ms, &reply,
	                                 err, sizeof(err));
	if (e != FXB_OK) {
		if (e == FXB_ERR_NOMEM)
			fprintf(stderr, "fxbreakerctl: out of memory\n");
		else
			ctl_unreachable(t, err);
		return e == FXB_ERR_UNAVAILABLE ? CTL_EXIT_UNCONFIRMED
		                                : CTL_EXIT_USAGE;
	}
	int code = ctl_cmd_reply(reply, o->json);
	free(reply);
	return code;
}

int
ctl_command(int argc, char **argv)
{
	struct ctl_cmd_opts o;
	struct ctl_key k;
	struct ctl_secret *s = NULL;
	struct ctl_target t = {.key = "admin_url"};
	char sid[BREAKER_TEXT_MAX + 1] = "";
	char nonce[IPC_TRUST_NONCE_SIZE];
	char *env = NULL;
	json_t *body = NULL;
	int code = CTL_EXIT_USAGE;
	int64_t issued_at = 0;

	if (!ctl_cmd_opts_parse(argc, argv, &o))
		return CTL_EXIT_USAGE;
	if ((code = cmd_target(&o, &t, sid, sizeof(sid))) != CTL_EXIT_OK)
		return code;
	code = CTL_EXIT_USAGE; /* until it is signed, and sent or printed */
	if (sodium_init() < 0) {
		fprintf(stderr, "fxbreakerctl: libsodium failed to start\n");
		return CTL_EXIT_USAGE;
	}
	if ((s = ctl_secret_new()) == NULL ||
	    ctl_key_load(o.v[CTL_OPT_KEY], &k, s) != 0)
		goto out;
	cmd_nonce(&o, nonce);
	/* Read the clock only now: typing the passphrase takes time. */
	issued_at = o.v[CTL_OPT_ISSUED_AT] != NULL ? o.issued_at : now_ms();
	if ((body = ctl_cmd_body(&o, sid, k.id, issued_at, nonce)) == NULL)
		goto out;
	env = cmd_envelope(body, s->sk);
	ctl_secret_free(s); /* nothing secret is needed past here */
	s = NULL;
	if (env == NULL) {
		fprintf(stderr, "fxbreakerctl: out of memory\n");
		goto out;
	}
	if (o.sign_only) {
		printf("%s\n", env);
		code = CTL_EXIT_OK;
		goto out;
	}
	code = cmd_send(&o, &t, env);
out:
	/* The service may have applied it and lost the reply, or not
	 * logged it yet: the very same command again gets the stored
	 * answer and does nothing twice. */
	if (code == CTL_EXIT_UNCONFIRMED) {
		fprintf(stderr,
		        "fxbreakerctl: it may have been applied; "
		        "to ask again without applying it twice, "
		        "repeat the command with --issued-at %lld "
		        "--nonce %s\n",
		        (long long)issued_at, nonce);
		code = CTL_EXIT_USAGE;
	}
	ctl_secret_free(s);
	json_decref(body);
	free(env);
	return code;
}
