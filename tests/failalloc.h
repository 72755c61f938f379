/*
 * failalloc.h: allocation that fails on demand, for tests/oom_test.c.
 * The Makefile compiles the engine's sources a second time with
 * `-include tests/failalloc.h`, so that every malloc, calloc, realloc and
 * aligned_alloc in breaker/ goes through these, and fa_countdown decides
 * which one fails.
 */
#ifndef FAILALLOC_H
#define FAILALLOC_H

#include <stddef.h>

/* < 0: nothing fails; n >= 0: the allocation after n more succeeds fails
 * (0: the next one), then nothing fails again. */
extern long fa_countdown;

void *fa_malloc(size_t n);
void *fa_calloc(size_t count, size_t n);
void *fa_realloc(void *p, size_t n);
void *fa_aligned_alloc(size_t align, size_t n);

#define malloc        fa_malloc
#define calloc        fa_calloc
#define realloc       fa_realloc
#define aligned_alloc fa_aligned_alloc

#endif /* FAILALLOC_H */
