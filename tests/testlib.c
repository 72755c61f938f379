/*
 * testlib.c: the harness of testlib.h.
 */
#include "testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool test_failed;
static const char *test_current;

void
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	if (!test_failed)
		printf("FAIL %s\n", test_current);
	test_failed = true;
	printf("    %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static bool
selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int
test_main(const struct test *tests, size_t n, int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		test_current = tests[i].name;
		test_failed = false;
		tests[i].fn();
		if (test_failed) {
			failed++;
		} else {
			passed++;
			printf("ok %s\n", tests[i].name);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0 ? 1 : 0;
}
