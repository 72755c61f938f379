/*
 * testlib.h: a very small test harness.  A test file defines a table of
 * named tests and calls test_main; each test runs in order (or by name:
 * `build/tests/breaker_test NAME...`), prints "ok NAME" or "FAIL NAME" with
 * every failed check, and the binary ends with "N passed, N failed" and
 * exits 1 if anything failed.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct test {
	const char *name;
	void (*fn)(void);
};

int test_main(const struct test *tests, size_t n, int argc, char **argv);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST_COUNT(t) (sizeof(t) / sizeof((t)[0]))

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond))                                                  \
			test_fail(__FILE__, __LINE__, "%s", #cond);           \
	} while (0)

#define CHECK_INT(a, b)                                                       \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		if (a_ != b_)                                                 \
			test_fail(__FILE__, __LINE__,                         \
			          "%s == %lld, want %lld", #a, a_, b_);       \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *a_ = (a), *b_ = (b);                              \
		if (a_ == NULL || b_ == NULL ? a_ != b_                       \
		                             : strcmp(a_, b_) != 0)           \
			test_fail(__FILE__, __LINE__,                         \
			          "%s == \"%s\", want \"%s\"", #a,            \
			          a_ ? a_ : "(null)", b_ ? b_ : "(null)");    \
	} while (0)

/* CHECK_CONTAINS: haystack contains needle. */
#define CHECK_CONTAINS(h, n)                                                  \
	do {                                                                  \
		const char *h_ = (h), *n_ = (n);                              \
		if (h_ == NULL || strstr(h_, n_) == NULL)                     \
			test_fail(__FILE__, __LINE__,                         \
			          "%s == \"%s\", want it to contain \"%s\"",  \
			          #h, h_ ? h_ : "(null)", n_);                \
	} while (0)

#endif /* TESTLIB_H */
