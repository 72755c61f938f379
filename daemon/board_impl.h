/*
 * board_impl.h: what the live board's files share (docs/OPERATIONS.md,
 * "The board"): struct board, the last scan's entries, and a section
 * per file, lowest first.  Only the board's files include it; the rest
 * of the daemon sees daemon_impl.h's board sections.
 *
 *   board_scan.c      which suspension holds which product: the scan
 *   board_document.c  the document (/board.json, the stream's hello and
 *                     broadcasts)
 *   board_follow.c    a cluster follower's rows, read from its ledger
 *   board_routes.c    the HTTP routes: the page, the document, /products
 *   board.c           the board's life and the stream's thread
 *
 * A file calls only files listed before its own (tests/check_calls.py).
 * What the daemon kept as it ran (rates, levels, the latest rows) is
 * board_feed.c's; the JSON is ipc/ipc_reply_board.c's.
 *
 * Lock order: bm (the board's: the scan's result, and one build at a
 * time) before mu before the feed's fm.
 */
#ifndef BOARD_IMPL_H
#define BOARD_IMPL_H

#include "daemon_impl.h"
#include "ipc_http.h"
#include "ipc_reply.h"

/* A suspension and one product it holds (product -1: the suspension
 * itself, so that one holding no product is listed too). */
struct held {
	int64_t suspension; /* 0: none shown (no id, or not written yet) */
	fxb_time since, until;
	int32_t rule;    /* -1: an operator's */
	int32_t scope;   /* an operator's: the pair's or product's index */
	int32_t product; /* -1: none */
	bool pair_force;
};

/* A suspension: a run of the sorted scan, its products last. */
struct group {
	size_t head;     /* held[head]: the suspension */
	size_t first, n; /* its products: held[first .. first + n) */
};

/* The live board (d->board, board_new's). */
struct board {
	struct daemon *d;
	struct ipc_http *http;
	pthread_t thread;
	bool running;

	pthread_mutex_t bm;
	/* The last scan: what engine it read, which rows it had seen. */
	const struct breaker *engine;
	const struct breaker_config *cfg;
	uint64_t rows;
	bool scanned;
	struct held *held; /* sorted: newest suspension first */
	size_t nheld;
	size_t nproducts, nrules;
	size_t suspended; /* products held by any */
	struct group *groups;
	size_t ngroups;
	/* Decisions a second: the checks counted at two readings a second
	 * or more apart (bm). */
	struct {
		int64_t ns;
		uint64_t checks;
	} rate_prev, rate_cur;
};

/* board_scan.c */

/* board_scan scans every product, rule and pair again if a row committed
 * (or the engine changed) since the last scan; false on out of memory
 * (the last scan stays).  bm held; takes mu, a chunk at a time. */
bool board_scan(struct board *b);
/* board_scan_current: the scan still names products and rules by the
 * running engine's indices (mu held). */
bool board_scan_current(const struct board *b, const struct daemon *d);

/* board_document.c */

/* board_decisions_per_second: decisions a second, over the last second
 * or more (bm held); < 0 until there are two readings. */
double board_decisions_per_second(struct board *b);
/* board_document: the board's document, malloc'ed: every chart point with
 * recent 0, else the last `recent` of each pair (a broadcast).  NULL on
 * out of memory.  Takes bm, then mu for the copies, then qmu for the
 * ledger's state. */
char *board_document(struct board *b, size_t recent);

/* board_follow.c */

/* board_follow: on a cluster node not serving as leader, the rows its
 * ledger applied that the board has not listed, added to the feed.  The
 * board's thread, no lock held. */
void board_follow(struct board *b);

#endif /* BOARD_IMPL_H */
