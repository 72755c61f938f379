/*
 * breaker_decimal.h: exact decimal numbers for prices, amounts and
 * percentages, and the ISO 4217 table that says how many minor units a
 * currency has.
 *
 * Nothing here uses binary floating point.  A value that does not fit its
 * type, or has more fractional digits than allowed, is an error: nothing is
 * ever rounded on input.  The accepted syntax is
 *
 *	digits [ "." digits ]
 *
 * with no sign, exponent, spaces or leading "." (prices, amounts and
 * percentages are never negative on the wire or in the config).
 */
#ifndef BREAKER_DECIMAL_H
#define BREAKER_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "fxb.h"

/* Prices are held in units of 10^-9 so that the mid of two prices given
 * with the accepted 8 fractional digits is exact. */
#define BREAKER_PX_SCALE    1000000000LL
#define BREAKER_PX_MAX_FRAC 8

/* Percentages are held in units of 10^-4 percent: "1.5" is 15000, 100 %
 * is 1,000,000. */
#define BREAKER_PCT_SCALE    10000LL
#define BREAKER_PCT_MAX_FRAC 4
#define BREAKER_PCT_100      (100 * BREAKER_PCT_SCALE)

/* Longest text breaker_decimal_format can write, with its NUL. */
#define BREAKER_DECIMAL_BUFSZ 48

/*
 * breaker_decimal_parse parses s[0..len) with at most max_frac fractional
 * digits into an integer in units of 10^-scale (max_frac <= scale <= 18).
 * Errors: FXB_ERR_DECIMAL (syntax), FXB_ERR_PRECISION (too many fractional
 * digits), FXB_ERR_RANGE (does not fit int64).  *out is written only on
 * success.
 */
enum fxb_err breaker_decimal_parse(const char *s, size_t len,
                                   unsigned max_frac, unsigned scale,
                                   int64_t *out);

/* breaker_px_parse parses a price (> 0, at most 8 fractional digits) into
 * units of 10^-9. */
enum fxb_err breaker_px_parse(const char *s, size_t len, int64_t *out);

/* breaker_pct_parse parses a percentage (at most 4 fractional digits, at
 * most 100) into units of 10^-4 percent. */
enum fxb_err breaker_pct_parse(const char *s, size_t len, int64_t *out);

/* breaker_amount_parse parses an amount (> 0) in a currency's major unit
 * into minor units, with exactly `exponent` fractional digits allowed. */
enum fxb_err breaker_amount_parse(const char *s, size_t len, int exponent,
                                  int64_t *out);

/*
 * breaker_decimal_format writes v / 10^scale into buf (at least
 * BREAKER_DECIMAL_BUFSZ bytes) with trailing fractional zeros removed but
 * at least min_frac fractional digits kept.  Returns buf.
 */
char *breaker_decimal_format(char *buf, int64_t v, unsigned scale,
                             unsigned min_frac);

/* breaker_px_format formats a price held in 10^-9 units, with at least two
 * fractional digits ("1421.00", "1421.05", "0.00912"). */
char *breaker_px_format(char *buf, int64_t px);

/* breaker_ratio_round returns num / den (den > 0) rounded half away from
 * zero, clamped to +-INT64_MAX.  For display only. */
int64_t breaker_ratio_round(fxb_i128 num, fxb_i128 den);

/*
 * breaker_ratio_format formats num / den price units (a mean of prices),
 * rounded half away from zero to the 10^-9 grid.  Used only to describe
 * (event figures); decisions compare the exact ratio.
 */
char *breaker_ratio_format(char *buf, fxb_i128 num, int64_t den);

/* breaker_currency_exponent returns the ISO 4217 minor-unit exponent of a
 * three-letter code (KRW 0, USD 2, BHD 3), or -1 if it is not an active
 * currency in our table. */
int breaker_currency_exponent(const char *code, size_t len);

#endif /* BREAKER_DECIMAL_H */
