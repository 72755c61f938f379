/*
 * failalloc.c: see failalloc.h.  Compiled without the macros, so the real
 * allocator is underneath.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "failalloc.h"
#undef malloc
#undef calloc
#undef realloc
#undef aligned_alloc

long fa_countdown = -1;

static bool
fail_now(void)
{
	if (fa_countdown < 0)
		return false;
	return fa_countdown-- == 0;
}

void *
fa_malloc(size_t n)
{
	return fail_now() ? NULL : malloc(n);
}

void *
fa_calloc(size_t count, size_t n)
{
	return fail_now() ? NULL : calloc(count, n);
}

void *
fa_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : realloc(p, n);
}

void *
fa_aligned_alloc(size_t align, size_t n)
{
	return fail_now() ? NULL : aligned_alloc(align, n);
}
