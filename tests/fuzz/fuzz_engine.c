/*
 * fuzz_engine.c: libFuzzer target for the engine.  The input is a program
 * of operations (tick, quote, check, force, lift, reset, advance) with
 * arbitrary times, prices and amounts, including the extremes, run against
 * a config with every rule kind.  Under UBSan this proves the 128-bit
 * arithmetic never overflows and no state is left inconsistent.
 */
#include <stdint.h>
#include <string.h>

#include "breaker.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf[] =
    "[pair USD/KRW]\ntick = 0.1\n"
    "[product buy]\npair = USD/KRW\nside = buy\n"
    "[product sell]\npair = USD/KRW\nside = sell\n"
    "[product auto]\npair = USD/KRW\nexempt = band\n"
    "[rule band]\npair = USD/KRW\nkind = band\nwindow = 60s\n"
    "band_pct = 0.8\nref_move_pct = 0.3\nref_min_life = 1s\n"
    "limit_for = 1s\nsuspend_for = 2s\nsuspends = with-move\n"
    "max_auto_resumes = 2\n"
    "[rule vel]\npair = USD/KRW\nkind = velocity\nwindow = 20s\n"
    "base = 1400\npct = 0.5\nsuspend_for = 1s\n"
    "[rule dev]\npair = USD/KRW\nkind = deviation\nbase = 1400\npct = 2\n"
    "hold = 1s\nsuspend_for = 0s\n"
    "[rule stale]\npair = USD/KRW\nkind = stale\nmax_age = 3s\n"
    "[rule spread]\npair = USD/KRW\nkind = spread\nmax_spread_pct = 0.05\n"
    "hold = 1s\n"
    "[rule vol]\nproduct = buy\nkind = volume\nwindow = 2s\nwarn = 2\n"
    "trip = 4\nsuspend_for = 1s\nmax_auto_resumes = 1\n"
    "[rule notional]\nproduct = sell\nkind = volume\nmeasure = notional\n"
    "window = 2s\ntrip = 92233720368547758.07\nsuspend_for = 1s\n"
    "[rule thr]\nproduct = auto\nkind = throttle\nrate = 1000000\n"
    "burst = 1000000\n";

static int64_t
take64(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	for (int i = 0; i < 8 && *p < end; i++)
		v = v << 8 | *(*p)++;
	return (int64_t)v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct breaker_config *cfg;
	struct breaker *b = NULL;
	char err[256];
	const uint8_t *p = data, *end = data + size;
	fxb_time t = 0;

	if (cfg == NULL &&
	    config_parse(conf, strlen(conf), "fuzz", NULL, 0, NULL, &cfg, err,
	                 sizeof(err)) != FXB_OK)
		__builtin_trap();
	if (breaker_new(cfg, 0, NULL, NULL, &b) != FXB_OK)
		return 0;
	while (p < end) {
		uint8_t op = *p++;
		struct breaker_decision d;
		fxb_time until;
		/* Time moves by a small step most of the time, sometimes by
		 * an arbitrary (possibly backwards) amount. */
		if (op & 0x80)
			t = take64(&p, end);
		else if (t < INT64_MAX - 16)
			t += op & 0x0f;
		int64_t a = (op & 0x40)
		                ? take64(&p, end)
		                : 1400000000000LL + (op & 0x3f) * 1000000000LL;
		int32_t idx = p < end ? (int32_t)(*p++ % 4) - (op == 0x7f) : 0;
		switch ((op >> 4) & 0x7) {
		case 0:
			breaker_tick(b, t, idx, a);
			break;
		case 1:
			breaker_quote(b, t, idx, a, a + (op & 0x0f) * 1000000);
			break;
		case 2:
		case 3:
			breaker_check(b, t, idx, a, (op & 1) ? a : 0, &d);
			break;
		case 4:
			breaker_force_suspend(
			    b, t, op & 1, idx,
			    (op & 2) || __builtin_add_overflow(t, a, &until)
			        ? FXB_NEVER
			        : until,
			    "fuzz");
			break;
		case 5:
			breaker_force_lift(b, t, op & 1, idx);
			break;
		case 6:
			breaker_reset(b, t, idx * 2 + (op & 1));
			break;
		default:
			breaker_advance(b, t);
			break;
		}
	}
	breaker_free(b);
	return 0;
}
