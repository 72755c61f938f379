/*
 * xorshift.h: the one pseudo-random generator of the tests and benchmarks
 * (Marsaglia's xorshift64).  Deterministic on purpose: a seed names a run,
 * so a failing random tape can be replayed exactly.
 */
#ifndef XORSHIFT_H
#define XORSHIFT_H

#include <stdint.h>

/* xorshift64 advances *state (never 0) and returns the new value. */
static inline uint64_t
xorshift64(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif /* XORSHIFT_H */
