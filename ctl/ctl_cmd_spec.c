/*
 * ctl_cmd_spec.c: what each signed command takes (docs/PROTOCOL.md's
 * table of commands and their args), its options checked against that,
 * and the command's body they make.  The args are ipc_trust.h's table,
 * the one the service refuses any other arg by: a command offers the
 * option of each arg it takes, and no other.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ipc_trust.h"

#define EXPIRES_DEF 300
#define EXPIRES_MAX (IPC_TRUST_LIFETIME_MAX_MS / 1000)

static const char *const opt_flag[CTL_OPT_COUNT] = {
    [CTL_OPT_KEY] = "--key",
    [CTL_OPT_PRODUCT] = "--product",
    [CTL_OPT_PAIR] = "--pair",
    [CTL_OPT_RULE] = "--rule",
    [CTL_OPT_REQUEST] = "--request",
    [CTL_OPT_SUSPENSION] = "--suspension",
    [CTL_OPT_REASON] = "--reason",
    [CTL_OPT_UNTIL] = "--until",
    [CTL_OPT_CONFIG] = "--config",
    [CTL_OPT_URL] = "--url",
    [CTL_OPT_SERVICE_ID] = "--service-id",
    [CTL_OPT_EXPIRES] = "--expires",
    [CTL_OPT_TIMEOUT] = "--timeout",
    [CTL_OPT_ISSUED_AT] = "--issued-at",
    [CTL_OPT_NONCE] = "--nonce",
    [CTL_OPT_PARAM] = "--param",
    [CTL_OPT_VALUE] = "--value",
    [CTL_OPT_NOTICE] = "--notice",
    [CTL_OPT_LANG] = "--lang",
    [CTL_OPT_TEXT] = "--text",
    [CTL_OPT_NAME] = "--name",
    [CTL_OPT_ROLES] = "--roles",
    [CTL_OPT_PUBKEY] = "--pubkey",
    [CTL_OPT_OPERATOR] = "--operator",
    [CTL_OPT_TLS_CA] = "--tls-ca",
    [CTL_OPT_TLS_CERT] = "--tls-cert",
    [CTL_OPT_TLS_KEY] = "--tls-key",
    [CTL_OPT_NODE] = "--node",
    [CTL_OPT_FROM] = "--from",
};

/* The arg each option sets ("--param" sets "key"); NULL: not an arg. */
static const char *const opt_arg[CTL_OPT_COUNT] = {
    [CTL_OPT_PRODUCT] = "product",
    [CTL_OPT_PAIR] = "pair",
    [CTL_OPT_RULE] = "rule",
    [CTL_OPT_REQUEST] = "request",
    [CTL_OPT_SUSPENSION] = "suspension",
    [CTL_OPT_REASON] = "reason",
    [CTL_OPT_UNTIL] = "until",
    [CTL_OPT_PARAM] = "key",
    [CTL_OPT_VALUE] = "value",
    [CTL_OPT_NOTICE] = "notice",
    [CTL_OPT_LANG] = "lang",
    [CTL_OPT_TEXT] = "text",
    [CTL_OPT_NAME] = "name",
    [CTL_OPT_ROLES] = "roles",
    [CTL_OPT_PUBKEY] = "pubkey",
    [CTL_OPT_OPERATOR] = "operator",
    [CTL_OPT_NODE] = "node",
    [CTL_OPT_FROM] = "from",
};

#define B(o) (1u << (o))
#define COMMON                                                                \
	(B(CTL_OPT_KEY) | B(CTL_OPT_REASON) | B(CTL_OPT_CONFIG) |             \
	 B(CTL_OPT_URL) | B(CTL_OPT_SERVICE_ID) | B(CTL_OPT_EXPIRES) |        \
	 B(CTL_OPT_TIMEOUT) | B(CTL_OPT_ISSUED_AT) | B(CTL_OPT_NONCE) |       \
	 B(CTL_OPT_TLS_CA) | B(CTL_OPT_TLS_CERT) | B(CTL_OPT_TLS_KEY))
#define SCOPE (B(CTL_OPT_PRODUCT) | B(CTL_OPT_PAIR))
#define TAIL                                                                  \
	" [--config FILE] [--url URL] [--service-id ID] [--expires SECONDS] " \
	"[--json] [--sign-only] [--timeout MS] [--tls-ca FILE [--tls-cert "   \
	"FILE --tls-key FILE]]; to repeat: [--issued-at MS] [--nonce HEX]"

/* What each command requires (the options it may take are its args, from
 * ipc_trust.h, and COMMON's), and its usage line.  A command that takes
 * a product and a pair needs exactly one of --product and --pair. */
struct ctl_cmd_spec {
	const char *name;
	unsigned required;
	const char *use;
};
#define REQ (B(CTL_OPT_KEY) | B(CTL_OPT_REASON))
static const struct ctl_cmd_spec cmd_specs[] = {
    /* --reason is for the log; customers read --notice's [notice], or
     * the default forced notice.  --from plans it instead. */
    {"suspend", REQ,
     "fxbreakerctl suspend --key FILE (--product ID | --pair PAIR) "
     "--reason TEXT [--notice ID] [--from TIME] [--until TIME]" TAIL},
    {"lift", REQ | B(CTL_OPT_SUSPENSION),
     "fxbreakerctl lift --key FILE (--product ID | --pair PAIR) "
     "--suspension N --reason TEXT" TAIL},
    {"reset", REQ | B(CTL_OPT_RULE) | B(CTL_OPT_SUSPENSION),
     "fxbreakerctl reset --key FILE --rule ID --suspension N "
     "--reason TEXT" TAIL},
    {"threshold", REQ | B(CTL_OPT_RULE) | B(CTL_OPT_PARAM) | B(CTL_OPT_VALUE),
     "fxbreakerctl threshold --key FILE --rule ID --param KEY --value V "
     "--reason TEXT" TAIL},
    {"notice", REQ | B(CTL_OPT_NOTICE) | B(CTL_OPT_LANG) | B(CTL_OPT_TEXT),
     "fxbreakerctl notice --key FILE --notice ID --lang ko|en --text TEXT "
     "--reason TEXT" TAIL},
    {"enrol", REQ | B(CTL_OPT_NAME) | B(CTL_OPT_ROLES) | B(CTL_OPT_PUBKEY),
     "fxbreakerctl enrol --key FILE --name NAME --roles ROLE[,ROLE...] "
     "--pubkey HEX --reason TEXT" TAIL},
    {"revoke", REQ | B(CTL_OPT_OPERATOR),
     "fxbreakerctl revoke --key FILE --operator KEY_ID --reason TEXT" TAIL},
    /* --suspension: the one a lift or reset request names; --operator:
     * the key an enrol or revoke request names; neither for a threshold
     * request. */
    {"approve", REQ | B(CTL_OPT_REQUEST),
     "fxbreakerctl approve --key FILE --request N [--suspension N | "
     "--operator KEY_ID] --reason TEXT" TAIL},
    /* `fxbreakerctl cluster add|remove` (ctl_wire.c) names these. */
    {"cluster_add", REQ | B(CTL_OPT_NODE),
     "fxbreakerctl cluster add --key FILE --node ID --reason TEXT" TAIL},
    {"cluster_remove", REQ | B(CTL_OPT_NODE),
     "fxbreakerctl cluster remove --key FILE --node ID --reason TEXT" TAIL},
    /* The scope's pending plan, whichever it is: the request names it. */
    {"cancel", REQ,
     "fxbreakerctl cancel --key FILE (--product ID | --pair PAIR) "
     "--reason TEXT" TAIL},
};

/* The options command name takes: COMMON's, and the option of each arg
 * the shared table says it takes. */
static unsigned
allowed_of(const char *name)
{
	const struct ipc_trust_command *c = ipc_trust_command_find(name);
	unsigned allowed = COMMON;
	for (int k = 0; k < CTL_OPT_COUNT; k++)
		if (c != NULL && opt_arg[k] != NULL &&
		    ipc_trust_command_takes(c, opt_arg[k]))
			allowed |= B(k);
	return allowed;
}

/* A whole decimal integer in [min, max]. */
static bool
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Prints "subject complaint" and the command's usage; false. */
static bool
cmd_usage(const struct ctl_cmd_spec *spec, const char *subject,
          const char *complaint)
{
	fprintf(stderr, "fxbreakerctl: %s%s\nusage: %s\n", subject, complaint,
	        spec->use);
	return false;
}

/* Reads argv into o->v and the two switches; false (usage printed) on
 * an option the command does not take, one without its value or one
 * given twice. */
static bool
cmd_opts_scan(int argc, char **argv, struct ctl_cmd_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int k;
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--sign-only") == 0) {
			o->sign_only = true;
			continue;
		}
		for (k = 0; k < CTL_OPT_COUNT; k++)
			if (strcmp(a, opt_flag[k]) == 0)
				break;
		if (k == CTL_OPT_COUNT || (o->allowed & B(k)) == 0)
			return cmd_usage(o->spec, a,
			                 a[0] == '-'
			                     ? ": no such option here"
			                     : ": unexpected argument");
		if (i + 1 == argc)
			return cmd_usage(o->spec, a, " needs a value");
		if (o->v[k] != NULL)
			return cmd_usage(o->spec, a, " given twice");
		o->v[k] = argv[++i];
	}
	return true;
}

/* Checks that the options the command needs are there and that every
 * value given is of its kind, and parses the numbers and times; false
 * (usage printed) on the first that is not. */
static bool
cmd_opts_check(struct ctl_cmd_opts *o)
{
	const char *const *v = o->v;
	int64_t n;

	for (int k = 0; k < CTL_OPT_COUNT; k++)
		if ((o->spec->required & B(k)) != 0 && v[k] == NULL)
			return cmd_usage(o->spec, opt_flag[k], " is required");
	if ((o->allowed & SCOPE) != 0 &&
	    (v[CTL_OPT_PRODUCT] == NULL) == (v[CTL_OPT_PAIR] == NULL))
		return cmd_usage(o->spec, "--product or --pair",
		                 ": give exactly one");
	if (v[CTL_OPT_REQUEST] != NULL &&
	    !parse_int(v[CTL_OPT_REQUEST], 1, INT64_MAX, &o->request))
		return cmd_usage(o->spec, "--request",
		                 ": a log sequence number");
	if (v[CTL_OPT_SUSPENSION] != NULL &&
	    !parse_int(v[CTL_OPT_SUSPENSION], 1, INT64_MAX, &o->suspension))
		return cmd_usage(o->spec, "--suspension",
		                 ": a suspension id (its log seq)");
	if (v[CTL_OPT_NODE] != NULL &&
	    !parse_int(v[CTL_OPT_NODE], 1, 65535, &o->node))
		return cmd_usage(o->spec, "--node",
		                 ": a [peer]'s id, 1 to 65535");
	if (v[CTL_OPT_UNTIL] != NULL &&
	    ctl_parse_time(v[CTL_OPT_UNTIL], &o->until) != 0)
		return cmd_usage(o->spec, "--until",
		                 ": epoch ms, YYYY-MM-DD or "
		                 "YYYY-MM-DDTHH:MM:SSZ");
	if (v[CTL_OPT_FROM] != NULL &&
	    ctl_parse_time(v[CTL_OPT_FROM], &o->from) != 0)
		return cmd_usage(o->spec, "--from",
		                 ": epoch ms, YYYY-MM-DD or "
		                 "YYYY-MM-DDTHH:MM:SSZ");
	o->expires_s = EXPIRES_DEF;
	if (v[CTL_OPT_EXPIRES] != NULL) {
		if (!parse_int(v[CTL_OPT_EXPIRES], 1, EXPIRES_MAX, &n))
			return cmd_usage(o->spec, "--expires",
			                 ": 1 to 600 seconds");
		o->expires_s = (int)n;
	}
	o->timeout_ms = 2000;
	if (v[CTL_OPT_TIMEOUT] != NULL) {
		if (!parse_int(v[CTL_OPT_TIMEOUT], 1, 3600000, &n))
			return cmd_usage(o->spec, "--timeout",
			                 ": milliseconds");
		o->timeout_ms = (int)n;
	}
	if (v[CTL_OPT_ISSUED_AT] != NULL &&
	    !parse_int(v[CTL_OPT_ISSUED_AT], 0, INT64_MAX - EXPIRES_MAX * 1000,
	               &o->issued_at))
		return cmd_usage(o->spec, "--issued-at",
		                 ": epoch milliseconds");
	if (v[CTL_OPT_NONCE] != NULL && !ipc_trust_nonce_ok(v[CTL_OPT_NONCE]))
		return cmd_usage(o->spec, "--nonce",
		                 ": " IPC_TRUST_NONCE_RULE);
	return true;
}

bool
ctl_cmd_opts_parse(int argc, char **argv, struct ctl_cmd_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < sizeof(cmd_specs) / sizeof(cmd_specs[0]); i++)
		if (strcmp(argv[0], cmd_specs[i].name) == 0)
			o->spec = &cmd_specs[i];
	if (o->spec == NULL)
		abort(); /* the command table names only these */
	o->allowed = allowed_of(o->spec->name);
	if (!cmd_opts_scan(argc, argv, o))
		return false;
	if (o->v[CTL_OPT_CONFIG] == NULL)
		o->v[CTL_OPT_CONFIG] = ctl_default_config();
	return cmd_opts_check(o);
}

/* Sets obj[key] to the string val; false (said why) if val is not UTF-8,
 * which a JSON string must be. */
static bool
set_str(json_t *obj, const char *key, const char *val, const char *flag)
{
	json_t *s = json_string(val);
	if (s == NULL) {
		fprintf(stderr, "fxbreakerctl: %s is not valid UTF-8\n", flag);
		return false;
	}
	json_object_set_new(obj, key, s);
	return true;
}

/* The command's args from its options, in PROTOCOL.md's order; false
 * (said why) at the first text that is not UTF-8. */
static bool
cmd_args(const struct ctl_cmd_opts *o, json_t *args)
{
	const char *const *v = o->v;
	bool ok = true;

	if (v[CTL_OPT_PRODUCT] != NULL)
		ok = ok &&
		     set_str(args, "product", v[CTL_OPT_PRODUCT], "--product");
	if (v[CTL_OPT_PAIR] != NULL)
		ok = ok && set_str(args, "pair", v[CTL_OPT_PAIR], "--pair");
	if (v[CTL_OPT_RULE] != NULL)
		ok = ok && set_str(args, "rule", v[CTL_OPT_RULE], "--rule");
	if (v[CTL_OPT_PARAM] != NULL)
		ok = ok && set_str(args, "key", v[CTL_OPT_PARAM], "--param");
	if (v[CTL_OPT_VALUE] != NULL)
		ok = ok && set_str(args, "value", v[CTL_OPT_VALUE], "--value");
	if (v[CTL_OPT_NOTICE] != NULL)
		ok = ok &&
		     set_str(args, "notice", v[CTL_OPT_NOTICE], "--notice");
	if (v[CTL_OPT_LANG] != NULL)
		ok = ok && set_str(args, "lang", v[CTL_OPT_LANG], "--lang");
	if (v[CTL_OPT_TEXT] != NULL)
		ok = ok && set_str(args, "text", v[CTL_OPT_TEXT], "--text");
	if (v[CTL_OPT_NAME] != NULL)
		ok = ok && set_str(args, "name", v[CTL_OPT_NAME], "--name");
	if (v[CTL_OPT_ROLES] != NULL)
		ok = ok && set_str(args, "roles", v[CTL_OPT_ROLES], "--roles");
	if (v[CTL_OPT_PUBKEY] != NULL)
		ok = ok &&
		     set_str(args, "pubkey", v[CTL_OPT_PUBKEY], "--pubkey");
	if (v[CTL_OPT_OPERATOR] != NULL)
		ok = ok && set_str(args, "operator", v[CTL_OPT_OPERATOR],
		                   "--operator");
	if (v[CTL_OPT_NODE] != NULL)
		json_object_set_new(args, "node", json_integer(o->node));
	if (v[CTL_OPT_REQUEST] != NULL)
		json_object_set_new(args, "request", json_integer(o->request));
	if (v[CTL_OPT_SUSPENSION] != NULL)
		json_object_set_new(args, "suspension",
		                    json_integer(o->suspension));
	ok = ok && set_str(args, "reason", v[CTL_OPT_REASON], "--reason");
	if (v[CTL_OPT_FROM] != NULL)
		json_object_set_new(args, "from", json_integer(o->from));
	if (v[CTL_OPT_UNTIL] != NULL)
		json_object_set_new(args, "until", json_integer(o->until));
	return ok;
}

json_t *
ctl_cmd_body(const struct ctl_cmd_opts *o, const char *service_id,
             const char *key_id_hex, int64_t issued_at, const char *nonce)
{
	json_t *b = json_object(), *args = json_object();
	bool ok = true;

	json_object_set_new(b, "v", json_integer(1));
	ok = ok && set_str(b, "service_id", service_id, "--service-id");
	json_object_set_new(b, "operator", json_string(key_id_hex));
	json_object_set_new(b, "issued_at", json_integer(issued_at));
	json_object_set_new(b, "expires_at",
	                    json_integer(issued_at + o->expires_s * 1000LL));
	json_object_set_new(b, "nonce", json_string(nonce));
	json_object_set_new(b, "cmd", json_string(o->spec->name));
	ok = ok && cmd_args(o, args);
	json_object_set_new(b, "args", args);
	if (!ok) {
		json_decref(b);
		return NULL;
	}
	return b;
}
