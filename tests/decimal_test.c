/*
 * decimal_test.c: exact decimals (RULES.md section 1): prices, amounts by
 * ISO 4217 exponent, percentages, formatting, the currency table.
 */
#include <string.h>

#include "breaker_decimal.h"
#include "testlib.h"
#include "xorshift.h"

struct parse_case {
	const char *in;
	enum fxb_err err;
	int64_t want;
};

static enum fxb_err
px(const char *s, int64_t *v)
{
	return breaker_px_parse(s, strlen(s), v);
}

/* RULES 1: at least 8 fractional digits accepted; a price is > 0; nothing
 * is rounded. */
static void
test_price_parse(void)
{
	static const struct parse_case cases[] = {
	    {"1421.00", FXB_OK, 1421000000000LL},
	    {"1421", FXB_OK, 1421000000000LL},
	    {"0.00912345", FXB_OK, 9123450LL},
	    {"1421.12345678", FXB_OK, 1421123456780LL},
	    {"1421.123456789", FXB_ERR_PRECISION, 0},
	    {"1421.000000000", FXB_ERR_PRECISION, 0},
	    {"0", FXB_ERR_RANGE, 0},
	    {"0.00", FXB_ERR_RANGE, 0},
	    {"9223372036.85477580", FXB_OK, 9223372036854775800LL},
	    {"9223372037", FXB_ERR_RANGE, 0},
	    {"99999999999999999999999", FXB_ERR_RANGE, 0},
	    {"", FXB_ERR_DECIMAL, 0},
	    {"-1", FXB_ERR_DECIMAL, 0},
	    {"+1", FXB_ERR_DECIMAL, 0},
	    {".5", FXB_ERR_DECIMAL, 0},
	    {"5.", FXB_ERR_DECIMAL, 0},
	    {"1e3", FXB_ERR_DECIMAL, 0},
	    {"1 421", FXB_ERR_DECIMAL, 0},
	    {"1,421.00", FXB_ERR_DECIMAL, 0},
	    {"1421.0x", FXB_ERR_DECIMAL, 0},
	    {" 1421", FXB_ERR_DECIMAL, 0},
	    {"NaN", FXB_ERR_DECIMAL, 0},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		int64_t v = -1;
		enum fxb_err e = px(cases[i].in, &v);
		if (e != cases[i].err)
			test_fail(__FILE__, __LINE__,
			          "\"%s\": error %s, want %s", cases[i].in,
			          fxb_errname(e), fxb_errname(cases[i].err));
		else if (e == FXB_OK && v != cases[i].want)
			test_fail(__FILE__, __LINE__,
			          "\"%s\": %lld, want %lld", cases[i].in,
			          (long long)v, (long long)cases[i].want);
		else if (e != FXB_OK && v != -1)
			test_fail(__FILE__, __LINE__,
			          "\"%s\": output written on error",
			          cases[i].in);
	}
}

/* RULES 1: amounts in the base currency's major unit, int64 minor units by
 * the ISO 4217 exponent; more fractional digits is an error. */
static void
test_amount_parse(void)
{
	static const struct {
		const char *ccy;
		const char *in;
		enum fxb_err err;
		int64_t want;
	} cases[] = {
	    {"USD", "100.00", FXB_OK, 10000},
	    {"USD", "100.5", FXB_OK, 10050},
	    {"USD", "100", FXB_OK, 10000},
	    {"USD", "100.001", FXB_ERR_PRECISION, 0},
	    {"KRW", "1500000", FXB_OK, 1500000},
	    {"KRW", "1500000.0", FXB_ERR_PRECISION, 0},
	    {"JPY", "10000", FXB_OK, 10000},
	    {"JPY", "1.5", FXB_ERR_PRECISION, 0},
	    {"BHD", "1.234", FXB_OK, 1234},
	    {"BHD", "1.2345", FXB_ERR_PRECISION, 0},
	    {"CLF", "1.2345", FXB_OK, 12345},
	    {"USD", "0", FXB_ERR_RANGE, 0},
	    {"USD", "0.00", FXB_ERR_RANGE, 0},
	    {"USD", "92233720368547758.07", FXB_OK, INT64_MAX},
	    {"USD", "92233720368547758.08", FXB_ERR_RANGE, 0},
	    {"USD", "-5.00", FXB_ERR_DECIMAL, 0},
	    {"USD", "abc", FXB_ERR_DECIMAL, 0},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		int exp = breaker_currency_exponent(cases[i].ccy, 3);
		int64_t v = -1;
		enum fxb_err e = breaker_amount_parse(
		    cases[i].in, strlen(cases[i].in), exp, &v);
		if (e != cases[i].err || (e == FXB_OK && v != cases[i].want))
			test_fail(__FILE__, __LINE__,
			          "%s \"%s\": %s %lld, want %s %lld",
			          cases[i].ccy, cases[i].in, fxb_errname(e),
			          (long long)v, fxb_errname(cases[i].err),
			          (long long)cases[i].want);
	}
}

/* RULES 1: percentages up to 4 fractional digits. */
static void
test_pct_parse(void)
{
	int64_t v = 0;
	CHECK_INT(breaker_pct_parse("1.5", 3, &v), FXB_OK);
	CHECK_INT(v, 15000);
	CHECK_INT(breaker_pct_parse("0.0001", 6, &v), FXB_OK);
	CHECK_INT(v, 1);
	CHECK_INT(breaker_pct_parse("100", 3, &v), FXB_OK);
	CHECK_INT(v, BREAKER_PCT_100);
	CHECK_INT(breaker_pct_parse("100.0001", 8, &v), FXB_ERR_RANGE);
	CHECK_INT(breaker_pct_parse("1.00001", 7, &v), FXB_ERR_PRECISION);
	CHECK_INT(breaker_pct_parse("1.5%", 4, &v), FXB_ERR_DECIMAL);
}

static void
test_format(void)
{
	char buf[BREAKER_DECIMAL_BUFSZ];
	CHECK_STR(breaker_px_format(buf, 1421000000000LL), "1421.00");
	CHECK_STR(breaker_px_format(buf, 1421050000000LL), "1421.05");
	CHECK_STR(breaker_px_format(buf, 1421123456789LL), "1421.123456789");
	CHECK_STR(breaker_px_format(buf, 9123450LL), "0.00912345");
	CHECK_STR(breaker_px_format(buf, 0), "0.00");
	CHECK_STR(breaker_px_format(buf, -1500000000LL), "-1.50");
	CHECK_STR(breaker_px_format(buf, INT64_MAX), "9223372036.854775807");
	CHECK_STR(breaker_decimal_format(buf, 15000, 4, 0), "1.5");
	CHECK_STR(breaker_decimal_format(buf, 10000, 4, 0), "1");
	/* 1/3 of a price unit: rounded half away from zero at 10^-9. */
	CHECK_STR(breaker_ratio_format(buf, 4263000000001LL, 3), "1421.00");
	CHECK_STR(breaker_ratio_format(buf, 2, 3), "0.000000001");
	CHECK_STR(breaker_ratio_format(buf, 1, 3), "0.00");
	CHECK_STR(breaker_ratio_format(buf, 3, 2), "0.000000002");
}

/* Every formatted price parses back to itself (8 fractional digits). */
static void
test_round_trip(void)
{
	char buf[BREAKER_DECIMAL_BUFSZ];
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 20000; i++) {
		xorshift64(&x);
		int64_t v = (int64_t)(x % 9000000000000000000ULL) / 10 * 10;
		if (v == 0)
			continue;
		int64_t back = 0;
		breaker_px_format(buf, v);
		if (px(buf, &back) != FXB_OK || back != v) {
			test_fail(__FILE__, __LINE__, "%lld -> %s -> %lld",
			          (long long)v, buf, (long long)back);
			return;
		}
	}
}

static void
test_currency_table(void)
{
	CHECK_INT(breaker_currency_exponent("KRW", 3), 0);
	CHECK_INT(breaker_currency_exponent("USD", 3), 2);
	CHECK_INT(breaker_currency_exponent("JPY", 3), 0);
	CHECK_INT(breaker_currency_exponent("EUR", 3), 2);
	CHECK_INT(breaker_currency_exponent("BHD", 3), 3);
	CHECK_INT(breaker_currency_exponent("KWD", 3), 3);
	CHECK_INT(breaker_currency_exponent("CLF", 3), 4);
	CHECK_INT(breaker_currency_exponent("AED", 3), 2);
	CHECK_INT(breaker_currency_exponent("ZWG", 3), 2);
	CHECK_INT(breaker_currency_exponent("XAU", 3), -1);
	CHECK_INT(breaker_currency_exponent("usd", 3), -1);
	CHECK_INT(breaker_currency_exponent("US", 2), -1);
	CHECK_INT(breaker_currency_exponent("BTC", 3), -1);
}

static const struct test tests[] = {
    {"price_parse", test_price_parse}, {"amount_parse", test_amount_parse},
    {"pct_parse", test_pct_parse},     {"format", test_format},
    {"round_trip", test_round_trip},   {"currency_table", test_currency_table},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
