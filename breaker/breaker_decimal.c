/*
 * breaker_decimal.c: exact decimal parsing and formatting, and the ISO 4217
 * minor-unit table.  See breaker_decimal.h for the syntax.
 */
#include "breaker_decimal.h"

#include <stdbool.h>
#include <string.h>

static const int64_t pow10_table[19] = {
    1LL,
    10LL,
    100LL,
    1000LL,
    10000LL,
    100000LL,
    1000000LL,
    10000000LL,
    100000000LL,
    1000000000LL,
    10000000000LL,
    100000000000LL,
    1000000000000LL,
    10000000000000LL,
    100000000000000LL,
    1000000000000000LL,
    10000000000000000LL,
    100000000000000000LL,
    1000000000000000000LL,
};

enum fxb_err
breaker_decimal_parse(const char *s, size_t len, unsigned max_frac,
                      unsigned scale, int64_t *out)
{
	int64_t ip = 0, fp = 0;
	unsigned nfrac = 0;
	size_t i = 0;
	bool overflow = false;

	if (scale > 18 || max_frac > scale)
		return FXB_ERR_RANGE;
	if (len == 0 || s[0] < '0' || s[0] > '9')
		return FXB_ERR_DECIMAL;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (__builtin_mul_overflow(ip, 10, &ip) ||
		    __builtin_add_overflow(ip, s[i] - '0', &ip))
			overflow = true;
	}
	if (i < len) {
		if (s[i] != '.' || i + 1 == len)
			return FXB_ERR_DECIMAL;
		for (i++; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return FXB_ERR_DECIMAL;
			if (++nfrac > max_frac)
				return FXB_ERR_PRECISION;
			fp = fp * 10 + (s[i] - '0');
		}
	}
	/* A syntax or precision error outranks a range error: it says more. */
	if (overflow)
		return FXB_ERR_RANGE;
	int64_t v;
	if (__builtin_mul_overflow(ip, pow10_table[scale], &v) ||
	    __builtin_add_overflow(v, fp * pow10_table[scale - nfrac], &v))
		return FXB_ERR_RANGE;
	*out = v;
	return FXB_OK;
}

enum fxb_err
breaker_px_parse(const char *s, size_t len, int64_t *out)
{
	int64_t v;
	enum fxb_err err =
	    breaker_decimal_parse(s, len, BREAKER_PX_MAX_FRAC, 9, &v);
	if (err != FXB_OK)
		return err;
	if (v <= 0)
		return FXB_ERR_RANGE;
	*out = v;
	return FXB_OK;
}

enum fxb_err
breaker_pct_parse(const char *s, size_t len, int64_t *out)
{
	int64_t v;
	enum fxb_err err = breaker_decimal_parse(s, len, BREAKER_PCT_MAX_FRAC,
	                                         BREAKER_PCT_MAX_FRAC, &v);
	if (err != FXB_OK)
		return err;
	if (v > BREAKER_PCT_100)
		return FXB_ERR_RANGE;
	*out = v;
	return FXB_OK;
}

enum fxb_err
breaker_amount_parse(const char *s, size_t len, int exponent, int64_t *out)
{
	int64_t v;
	if (exponent < 0 || exponent > 4)
		return FXB_ERR_CURRENCY;
	enum fxb_err err = breaker_decimal_parse(s, len, (unsigned)exponent,
	                                         (unsigned)exponent, &v);
	if (err != FXB_OK)
		return err;
	if (v <= 0)
		return FXB_ERR_RANGE;
	*out = v;
	return FXB_OK;
}

char *
breaker_decimal_format(char *buf, int64_t v, unsigned scale, unsigned min_frac)
{
	char digits[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	uint64_t ip = u / (uint64_t)pow10_table[scale];
	uint64_t fp = u % (uint64_t)pow10_table[scale];
	char *p = buf;
	unsigned nfrac = scale;

	if (v < 0)
		*p++ = '-';
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip != 0);
	while (n > 0)
		*p++ = digits[--n];
	while (nfrac > min_frac && fp % 10 == 0) {
		fp /= 10;
		nfrac--;
	}
	if (nfrac > 0) {
		*p++ = '.';
		for (unsigned i = nfrac; i > 0; i--) {
			p[i - 1] = (char)('0' + fp % 10);
			fp /= 10;
		}
		p += nfrac;
	}
	*p = '\0';
	return buf;
}

char *
breaker_px_format(char *buf, int64_t px)
{
	return breaker_decimal_format(buf, px, 9, 2);
}

int64_t
breaker_ratio_round(fxb_i128 num, fxb_i128 den)
{
	fxb_i128 q = num / den, r = num % den;
	if (r < 0)
		r = -r;
	if (2 * r >= den)
		q += num < 0 ? -1 : 1;
	if (q > INT64_MAX)
		return INT64_MAX;
	if (q < -INT64_MAX)
		return -INT64_MAX;
	return (int64_t)q;
}

char *
breaker_ratio_format(char *buf, fxb_i128 num, int64_t den)
{
	return breaker_px_format(buf, breaker_ratio_round(num, den));
}

/*
 * ISO 4217 active codes and their minor units (the "E" column of the ISO
 * list, 2025 edition), sorted for binary search.  Codes whose minor unit is
 * "N.A." (gold, SDR, test codes) are absent: they cannot be an amount.
 */
static const struct {
	char code[4];
	signed char exponent;
} currency_table[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2},
    {"ARS", 2}, {"AUD", 2}, {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2},
    {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2},
    {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
    {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2},
    {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2},
    {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2},
    {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2},
    {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3},
    {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2},
    {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3},
    {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2},
    {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2},
    {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2},
    {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2},
    {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3},
    {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2},
    {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0},
    {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
    {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2},
    {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2},
    {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2},
    {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2},
    {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0},
    {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0},
    {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

int
breaker_currency_exponent(const char *code, size_t len)
{
	size_t lo = 0, hi = sizeof(currency_table) / sizeof(currency_table[0]);
	if (len != 3)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(code, currency_table[mid].code, 3);
		if (c == 0)
			return currency_table[mid].exponent;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}
