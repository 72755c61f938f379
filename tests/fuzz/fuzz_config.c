/*
 * fuzz_config.c: libFuzzer target for the configuration parser (config/
 * reading the INI, the engine's builder checking its sections).  Any
 * input must either parse into a config the engine accepts, or be refused
 * with a message naming a line; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct breaker_config *cfg = NULL;
	struct breaker *b = NULL;
	struct service_conf svc, sv;
	char err[256];

	/* The service-only read (fxbreakerctl's) must never crash either,
	 * and where both read a file they agree on its [service]. */
	enum fxb_err rs = config_parse_service((const char *)data, size,
	                                       "fuzz", &sv, err, sizeof(err));
	if (config_parse((const char *)data, size, "fuzz", NULL, 0, &svc, &cfg,
	                 err, sizeof(err)) != FXB_OK)
		return 0;
	if (rs == FXB_OK && memcmp(&sv, &svc, sizeof(sv)) != 0)
		abort();
	if (breaker_new(cfg, 0, NULL, NULL, &b) == FXB_OK) {
		struct breaker_decision d;
		for (size_t p = 0; p < breaker_pair_count(b); p++)
			breaker_tick(b, 1, (int32_t)p, 1000000000000LL);
		for (size_t i = 0; i < breaker_product_count(b); i++)
			breaker_check(b, 2, (int32_t)i, 1, 0, &d);
		breaker_advance(b, 86400000);
	}
	breaker_free(b);
	breaker_config_free(cfg);
	return 0;
}
