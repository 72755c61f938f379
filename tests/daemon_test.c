/*
 * daemon_test.c: the daemon's pure parts, without sockets or threads:
 * which parked calls a commit releases and in what order, when a call
 * parks, waits or fails closed, and the reopening gate of products and
 * pairs.  Linked with every daemon object but the main.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon_impl.h"
#include "testlib.h"

/* A parked entry with only what the queue reads. */
static struct parked *
entry(int64_t wait_seq)
{
	struct parked *p = calloc(1, sizeof(*p));
	if (p == NULL)
		abort();
	p->wait_seq = wait_seq;
	return p;
}

/* Writes the wait_seqs of list into out (at most cap), returns how many,
 * and frees the list. */
static size_t
drain(struct parked *list, int64_t *out, size_t cap)
{
	size_t n = 0;
	while (list != NULL) {
		struct parked *next = list->next;
		if (n < cap)
			out[n] = list->wait_seq;
		n++;
		free(list);
		list = next;
	}
	return n;
}

static void
test_parkq_empty(void)
{
	struct parkq q;
	parkq_init(&q);
	CHECK(parkq_take(&q, 100, false) == NULL);
	CHECK(parkq_take(&q, 0, true) == NULL);
	CHECK_INT(q.n, 0);
	/* Still usable after taking from an empty queue. */
	parkq_push(&q, entry(3));
	CHECK_INT(q.n, 1);
	int64_t got[4];
	CHECK_INT(drain(parkq_take(&q, 3, false), got, 4), 1);
	CHECK_INT(got[0], 3);
	CHECK_INT(q.n, 0);
}

/* A commit releases every call whose row is written, in the order they
 * parked (not by seq), and keeps the rest in their order. */
static void
test_parkq_take_committed(void)
{
	static const int64_t seqs[] = {7, 5, 9, 5, 12, 6};
	struct parkq q;
	int64_t got[8];
	parkq_init(&q);
	for (size_t i = 0; i < TEST_COUNT(seqs); i++)
		parkq_push(&q, entry(seqs[i]));
	CHECK_INT(q.n, 6);

	CHECK_INT(drain(parkq_take(&q, 4, false), got, 8), 0);
	CHECK_INT(q.n, 6);

	size_t n = drain(parkq_take(&q, 6, false), got, 8);
	CHECK_INT(n, 3);
	CHECK_INT(got[0], 5);
	CHECK_INT(got[1], 5);
	CHECK_INT(got[2], 6);
	CHECK_INT(q.n, 3);

	/* The boundary is inclusive: row 9 written releases 7 and 9. */
	n = drain(parkq_take(&q, 9, false), got, 8);
	CHECK_INT(n, 2);
	CHECK_INT(got[0], 7);
	CHECK_INT(got[1], 9);
	CHECK_INT(q.n, 1);

	/* The tail was taken and pushed behind again: order holds. */
	parkq_push(&q, entry(10));
	parkq_push(&q, entry(13));
	n = drain(parkq_take(&q, 12, false), got, 8);
	CHECK_INT(n, 2);
	CHECK_INT(got[0], 12);
	CHECK_INT(got[1], 10);
	CHECK_INT(q.n, 1);
	CHECK_INT(drain(parkq_take(&q, 0, true), got, 8), 1);
	CHECK_INT(got[0], 13);
}

/* Taking all (the log failed, or the service stops) empties the queue in
 * order whatever the seqs, and the queue works after it. */
static void
test_parkq_take_all(void)
{
	static const int64_t seqs[] = {40, 10, 30, 20};
	struct parkq q;
	int64_t got[8];
	parkq_init(&q);
	for (size_t i = 0; i < TEST_COUNT(seqs); i++)
		parkq_push(&q, entry(seqs[i]));
	size_t n = drain(parkq_take(&q, 0, true), got, 8);
	CHECK_INT(n, 4);
	for (size_t i = 0; i < TEST_COUNT(seqs); i++)
		CHECK_INT(got[i], seqs[i]);
	CHECK_INT(q.n, 0);
	CHECK(q.head == NULL);
	parkq_push(&q, entry(50));
	CHECK_INT(q.n, 1);
	CHECK_INT(drain(parkq_take(&q, 50, false), got, 8), 1);
	CHECK_INT(got[0], 50);
}

/* Now when the row is written (even if the log fails since: it is
 * written); else fail closed when the log is failing, the writer has
 * gone or PARKED_MAX calls wait; else wait. */
static void
test_park_way(void)
{
	CHECK_INT(PARKED_MAX, 48);
	CHECK_INT(park_way(10, 10, false, false, 0), PARK_NOW);
	CHECK_INT(park_way(9, 10, false, false, 0), PARK_NOW);
	CHECK_INT(park_way(0, 0, false, false, 0), PARK_NOW);
	CHECK_INT(park_way(10, 10, true, true, PARKED_MAX), PARK_NOW);
	CHECK_INT(park_way(11, 10, false, false, 0), PARK_WAIT);
	CHECK_INT(park_way(11, 10, false, false, PARKED_MAX - 1), PARK_WAIT);
	CHECK_INT(park_way(11, 10, false, false, PARKED_MAX), PARK_FAIL);
	CHECK_INT(park_way(11, 10, true, false, 0), PARK_FAIL);
	CHECK_INT(park_way(11, 10, false, true, 0), PARK_FAIL);
}

/* Products 0..6 on pairs 0..2: pair 0 holds 0, 3, 6; pair 1 holds 1 and
 * 4; pair 2 holds 2 and 5. */
static const int32_t pair_of_product[] = {0, 1, 2, 0, 1, 2, 0};

static int32_t
pair_of(const void *arg, int32_t product)
{
	const int32_t *p = arg;
	return p[product];
}

static struct gate
gate7(int64_t seq)
{
	struct gate g;
	if (!gate_build(&g, 3, 7, pair_of, pair_of_product, seq))
		abort();
	return g;
}

static void
test_gate_build(void)
{
	struct gate g = gate7(41);
	CHECK_INT(g.nproducts, 7);
	CHECK_INT(g.npairs, 3);
	/* Grouped by pair, each pair's products in index order. */
	static const int32_t list[] = {0, 3, 6, 1, 4, 2, 5};
	static const uint32_t first[] = {0, 3, 5, 7};
	for (size_t i = 0; i < TEST_COUNT(list); i++)
		CHECK_INT(g.list[i], list[i]);
	for (size_t i = 0; i < TEST_COUNT(first); i++)
		CHECK_INT(g.first[i], first[i]);
	for (int32_t i = 0; i < 7; i++) {
		CHECK_INT(gate_seq(&g, i), 41);
		CHECK(gate_open(&g, i, 41));
		CHECK(!gate_open(&g, i, 40));
	}
	gate_free(&g);
	CHECK(g.reopen == NULL);
	CHECK_INT(g.nproducts, 0);
	gate_free(&g); /* twice is harmless */
}

/* A pair with no products, and no products at all. */
static void
test_gate_empty(void)
{
	static const int32_t only_pair_2[] = {2, 2};
	struct gate g;
	CHECK(gate_build(&g, 3, 2, pair_of, only_pair_2, 5));
	CHECK_INT(g.first[0], 0);
	CHECK_INT(g.first[1], 0);
	CHECK_INT(g.first[2], 0);
	CHECK_INT(g.first[3], 2);
	gate_pair(&g, 0, 9); /* holds nothing */
	CHECK_INT(gate_seq(&g, 0), 5);
	CHECK_INT(gate_seq(&g, 1), 5);
	gate_pair(&g, 2, 9);
	CHECK_INT(gate_seq(&g, 0), 9);
	CHECK_INT(gate_seq(&g, 1), 9);
	gate_free(&g);

	CHECK(gate_build(&g, 0, 0, pair_of, NULL, 5));
	gate_all(&g, 6);
	gate_free(&g);
}

/* A product's reopening gates it alone; a pair's gates every product of
 * the pair and no other; the gate opens once that row is written. */
static void
test_gate_reopen(void)
{
	struct gate g = gate7(10);
	gate_product(&g, 4, 12);
	CHECK_INT(gate_seq(&g, 4), 12);
	CHECK_INT(gate_seq(&g, 1), 10);
	CHECK(gate_open(&g, 1, 10));
	CHECK(!gate_open(&g, 4, 11));
	CHECK(gate_open(&g, 4, 12));

	gate_pair(&g, 0, 15);
	static const int64_t want[] = {15, 10, 10, 15, 12, 10, 15};
	for (int32_t i = 0; i < 7; i++)
		CHECK_INT(gate_seq(&g, i), want[i]);
	CHECK(!gate_open(&g, 3, 14));
	CHECK(gate_open(&g, 3, 15));
	CHECK(gate_open(&g, 2, 14));

	/* A later reopening of the pair moves every product of it, the
	 * product reopened on its own included. */
	gate_pair(&g, 1, 16);
	CHECK_INT(gate_seq(&g, 1), 16);
	CHECK_INT(gate_seq(&g, 4), 16);
	CHECK_INT(gate_seq(&g, 0), 15);

	/* A reload: every product waits for one row. */
	gate_all(&g, 20);
	for (int32_t i = 0; i < 7; i++) {
		CHECK_INT(gate_seq(&g, i), 20);
		CHECK(!gate_open(&g, i, 19));
	}
	gate_free(&g);
}

static const struct test tests[] = {
    {"parkq_empty", test_parkq_empty},
    {"parkq_take_committed", test_parkq_take_committed},
    {"parkq_take_all", test_parkq_take_all},
    {"park_way", test_park_way},
    {"gate_build", test_gate_build},
    {"gate_empty", test_gate_empty},
    {"gate_reopen", test_gate_reopen},
};

int
main(int argc, char **argv)
{
	return test_main(tests, TEST_COUNT(tests), argc, argv);
}
