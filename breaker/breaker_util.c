/*
 * breaker_util.c: the engine's containers: a capped ring of (t, v) entries,
 * a binary min-heap of timers, and an id -> index hash.  Each is O(1) or
 * O(log n) per operation and never allocates once it has grown to its
 * working size.
 */
#include <stdlib.h>
#include <string.h>

#include "breaker_impl.h"

void
breaker_ring_init(struct ring *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

/* breaker_ring_init_inline starts r on buf, RING_INLINE entries that its
 * owner keeps inline: no allocation until the window outgrows them. */
void
breaker_ring_init_inline(struct ring *r, struct ring_ent *buf, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->e = buf;
	r->cap = RING_INLINE;
	r->max = max;
}

void
breaker_ring_fini(struct ring *r)
{
	if (r->cap > RING_INLINE)
		free(r->e);
	r->e = NULL;
	r->cap = r->len = r->head = 0;
}

/* breaker_ring_grow doubles r's capacity (false: out of memory, r is
 * unchanged).  The fast paths are inline in breaker_impl.h. */
bool
breaker_ring_grow(struct ring *r)
{
	uint32_t ncap = r->cap != 0 ? r->cap * 2 : 2 * RING_INLINE;
	struct ring_ent *e = malloc((size_t)ncap * sizeof(*e));
	if (e == NULL)
		return false;
	for (uint32_t i = 0; i < r->len; i++)
		e[i] = r->e[(r->head + i) & (r->cap - 1)];
	if (r->cap > RING_INLINE)
		free(r->e);
	r->e = e;
	r->cap = ncap;
	r->head = 0;
	return true;
}

/* Timer heap ordered by (at, seq). */

static bool
timer_before(const struct timer *a, const struct timer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
heap_place(struct timer_heap *h, uint32_t i, struct timer *tm)
{
	h->v[i] = tm;
	tm->pos = (int32_t)i;
}

static void
heap_up(struct timer_heap *h, uint32_t i)
{
	struct timer *tm = h->v[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!timer_before(tm, h->v[p]))
			break;
		heap_place(h, i, h->v[p]);
		i = p;
	}
	heap_place(h, i, tm);
}

static void
heap_down(struct timer_heap *h, uint32_t i)
{
	struct timer *tm = h->v[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->len)
			break;
		if (c + 1 < h->len && timer_before(h->v[c + 1], h->v[c]))
			c++;
		if (!timer_before(h->v[c], tm))
			break;
		heap_place(h, i, h->v[c]);
		i = c;
	}
	heap_place(h, i, tm);
}

/* The engine knows every timer it can ever arm (one per rule and per
 * forceable scope), so the heap is sized once and arming never fails. */
bool
breaker_timer_heap_init(struct timer_heap *h, uint32_t cap)
{
	memset(h, 0, sizeof(*h));
	h->seq = UINT64_C(1) << 32; /* below: breaker_timer_arm_first's */
	h->v = calloc((size_t)cap + 1, sizeof(*h->v));
	h->cap = cap + 1;
	return h->v != NULL;
}

void
breaker_timer_heap_fini(struct timer_heap *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* breaker_timer_arm (re)arms tm to fire at `at`; a re-armed timer fires
 * after timers armed earlier for the same instant. */
void
breaker_timer_arm(struct timer_heap *h, struct timer *tm, fxb_time at)
{
	if (tm->pos >= 0)
		breaker_timer_cancel(h, tm);
	/* The heap holds every timer the engine has: more is a bug. */
	if (h->len == h->cap)
		abort();
	tm->at = at;
	tm->seq = h->seq++;
	heap_place(h, h->len++, tm);
	heap_up(h, h->len - 1);
}

void
breaker_timer_arm_seq(struct timer_heap *h, struct timer *tm, fxb_time at,
                      uint64_t seq)
{
	if (tm->pos >= 0)
		breaker_timer_cancel(h, tm);
	if (h->len == h->cap)
		abort();
	tm->at = at;
	tm->seq = seq;
	heap_place(h, h->len++, tm);
	heap_up(h, h->len - 1);
	if (h->seq <= seq)
		h->seq = seq + 1;
}

void
breaker_timer_arm_first(struct timer_heap *h, struct timer *tm, fxb_time at,
                        uint32_t rank)
{
	/* Below every seq breaker_timer_arm hands out (they start at 2^32):
	 * first among the timers of its instant. */
	breaker_timer_arm_seq(h, tm, at, rank);
}

void
breaker_timer_cancel(struct timer_heap *h, struct timer *tm)
{
	if (tm->pos < 0)
		return;
	uint32_t i = (uint32_t)tm->pos;
	tm->pos = -1;
	struct timer *last = h->v[--h->len];
	if (i == h->len)
		return;
	heap_place(h, i, last);
	heap_up(h, i);
	heap_down(h, (uint32_t)last->pos);
}

/* FNV-1a: ids are short and chosen by the bank, not by an attacker. */
static uint32_t
name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/*
 * breaker_index_build indexes names[0..n).  Returns 0, or 1 with *dup set to
 * the index of the first name seen twice (its second occurrence), or -1
 * on out of memory.
 */
int
breaker_index_build(struct name_index *ix, const char *const *names,
                    uint32_t n, int32_t *dup)
{
	uint32_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	ix->slot = calloc(cap, sizeof(*ix->slot));
	if (ix->slot == NULL)
		return -1;
	ix->mask = cap - 1;
	ix->names = names;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t h = name_hash(names[i], strlen(names[i])) & ix->mask;
		for (; ix->slot[h] != 0; h = (h + 1) & ix->mask) {
			if (strcmp(names[ix->slot[h] - 1], names[i]) == 0) {
				*dup = (int32_t)i;
				return 1;
			}
		}
		ix->slot[h] = i + 1;
	}
	return 0;
}

void
breaker_index_fini(struct name_index *ix)
{
	free(ix->slot);
	ix->slot = NULL;
}

int32_t
breaker_index_find(const struct name_index *ix, const char *s, size_t len)
{
	if (ix->slot == NULL)
		return -1;
	for (uint32_t h = name_hash(s, len) & ix->mask; ix->slot[h] != 0;
	     h = (h + 1) & ix->mask) {
		const char *name = ix->names[ix->slot[h] - 1];
		if (strncmp(name, s, len) == 0 && name[len] == '\0')
			return (int32_t)(ix->slot[h] - 1);
	}
	return -1;
}
