/*
 * ipc_probe.c: one request on a fresh connection (see ipc_probe.h).
 *
 * The client side speaks SP itself over a plain socket: the 8-byte
 * header exchange, then one REQ message with its request id, then the
 * REP answer, all under one deadline with poll(2).  nng's own REQ socket
 * would be the obvious client, but nng 1.5.2 (Debian's and ours alike)
 * can hang for good in nng_close, in req0_pipe_stop, when a request was
 * sent and not answered (reproduced here with short timeouts): the one
 * case the watchdog exists for would hang the watchdog.  A plain socket
 * always closes.  The server side is the daemon's real nng listener.
 *
 * Wire format (nng's sp/transport/{ipc,tcp}): header 00 'S' 'P' 00, the
 * protocol number (16 bits, big-endian), 00 00; then each message is its
 * length (64 bits, big-endian) and its bytes, preceded on ipc:// by a
 * type byte, 1.  A REQ message starts with the request id (32 bits,
 * big-endian, top bit set); the REP answer echoes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc_probe.h"

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return errno;
	}
}

static int
put_all(int fd, const unsigned char *b, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k > 0) {
			b += k;
			n -= (size_t)k;
		} else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			int rv = wait_fd(fd, POLLOUT, deadline);
			if (rv != 0)
				return rv;
		} else {
			return k < 0 ? errno : EPIPE;
		}
	}
	return 0;
}

static int
get_all(int fd, unsigned char *b, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t k = recv(fd, b, n, 0);
		if (k > 0) {
			b += k;
			n -= (size_t)k;
		} else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			int rv = wait_fd(fd, POLLIN, deadline);
			if (rv != 0)
				return rv;
		} else {
			return k < 0 ? errno : ECONNRESET;
		}
	}
	return 0;
}

static void
put64(unsigned char *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
}

static uint64_t
get64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* A connected non-blocking socket to url, or -1 with err set. */
static int
dial(const char *url, bool *ipc, int64_t deadline, char *err, size_t errlen)
{
	int fd = -1, rv = 0;
	if (strncmp(url, "ipc://", 6) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		*ipc = true;
		if (strlen(url + 6) >= sizeof(sa.sun_path)) {
			snprintf(err, errlen, "%s: path too long", url);
			return -1;
		}
		strcpy(sa.sun_path, url + 6);
		fd = socket(AF_UNIX,
		            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 &&
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			rv = errno;
	} else if (strncmp(url, "tcp://", 6) == 0) {
		char host[256];
		const char *hp = url + 6, *colon = strrchr(hp, ':');
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM},
		                *ai = NULL;
		*ipc = false;
		if (colon == NULL || (size_t)(colon - hp) >= sizeof(host)) {
			snprintf(err, errlen, "%s: not HOST:PORT", url);
			return -1;
		}
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = '\0';
		/* A listener on every address answers on loopback. */
		const char *h = host;
		if (host[0] == '\0' || strcmp(host, "*") == 0 ||
		    strcmp(host, "0.0.0.0") == 0)
			h = "127.0.0.1";
		else if (host[0] == '[') { /* [::1] */
			host[strlen(host) - 1] = '\0';
			h = strcmp(host + 1, "::") == 0 ? "::1" : host + 1;
		}
		int g = getaddrinfo(h, colon + 1, &hints, &ai);
		if (g != 0) {
			snprintf(err, errlen, "%s: %s", url, gai_strerror(g));
			return -1;
		}
		/* Each address in turn ("localhost" may give ::1 first
		 * and the listener be on 127.0.0.1): loopback connects
		 * succeed or fail at once. */
		for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
			if (fd >= 0)
				close(fd);
			rv = 0;
			fd = socket(a->ai_family,
			            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			            0);
			if (fd >= 0 &&
			    connect(fd, a->ai_addr, a->ai_addrlen) != 0)
				rv = errno;
			if (fd >= 0 && (rv == 0 || rv == EINPROGRESS))
				break;
		}
		freeaddrinfo(ai);
	} else {
		snprintf(err, errlen, "%s: only ipc:// and tcp:// are probed",
		         url);
		return -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", url, strerror(errno));
		return -1;
	}
	if (rv == EINPROGRESS) {
		socklen_t len = sizeof(rv);
		if ((rv = wait_fd(fd, POLLOUT, deadline)) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &rv, &len) != 0)
			rv = errno;
	}
	if (rv != 0) {
		snprintf(err, errlen, "%s: connect: %s", url,
		         rv == ETIMEDOUT ? "timed out" : strerror(rv));
		close(fd);
		return -1;
	}
	return fd;
}

enum fxb_err
ipc_probe(const char *url, const char *req, int timeout_ms, char *reply,
          size_t cap, char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + timeout_ms;
	bool ipc = false;
	int fd = dial(url, &ipc, deadline, err, errlen);
	if (fd < 0)
		return FXB_ERR_IO;

	const char *what = "handshake";
	unsigned char hdr[8] = {0, 'S', 'P', 0, 0, NNG_REQ0_SELF, 0, 0};
	unsigned char peer[8], pre[9], id[4];
	size_t body = strlen(req), plen = ipc ? 9 : 8; /* the length prefix */
	/* Any id with the top bit set; the time makes each one different. */
	uint32_t rid = 0x80000000u | (uint32_t)(mono_ms() & 0x7fffffff);
	enum fxb_err e = FXB_OK;
	int rv;

	id[0] = (unsigned char)(rid >> 24);
	id[1] = (unsigned char)(rid >> 16);
	id[2] = (unsigned char)(rid >> 8);
	id[3] = (unsigned char)rid;
	pre[0] = 1;
	put64(pre + (ipc ? 1 : 0), body + 4);
	if ((rv = put_all(fd, hdr, 8, deadline)) != 0 ||
	    (rv = get_all(fd, peer, 8, deadline)) != 0)
		goto out;
	if (peer[0] != 0 || peer[1] != 'S' || peer[2] != 'P' || peer[3] != 0 ||
	    peer[4] != 0 || peer[5] != NNG_REP0_SELF) {
		snprintf(err, errlen, "%s: not an SP REP socket", url);
		e = FXB_ERR_IO;
		goto out;
	}
	what = "send";
	if ((rv = put_all(fd, pre, plen, deadline)) != 0 ||
	    (rv = put_all(fd, id, 4, deadline)) != 0 ||
	    (rv = put_all(fd, (const unsigned char *)req, body, deadline)) !=
	        0)
		goto out;
	what = "receive";
	unsigned char got[9], gid[4];
	if ((rv = get_all(fd, got, plen, deadline)) != 0)
		goto out;
	uint64_t len = get64(got + (ipc ? 1 : 0));
	if ((ipc && got[0] != 1) || len < 4) {
		snprintf(err, errlen, "%s: a malformed answer", url);
		e = FXB_ERR_IO;
		goto out;
	}
	if (len - 4 >= cap) {
		snprintf(err, errlen, "%s: an answer of %llu bytes", url,
		         (unsigned long long)(len - 4));
		e = FXB_ERR_LIMIT;
		goto out;
	}
	if ((rv = get_all(fd, gid, 4, deadline)) != 0 ||
	    (rv = get_all(fd, (unsigned char *)reply, (size_t)(len - 4),
	                  deadline)) != 0)
		goto out;
	if (memcmp(gid, id, 4) != 0) {
		snprintf(err, errlen, "%s: an answer to another request", url);
		e = FXB_ERR_IO;
		goto out;
	}
	reply[len - 4] = '\0';
out:
	if (rv == ETIMEDOUT) {
		snprintf(err, errlen, "%s: no answer within %d ms (%s)", url,
		         timeout_ms, what);
		e = FXB_ERR_UNAVAILABLE;
	} else if (rv != 0) {
		snprintf(err, errlen, "%s: %s: %s", url, what, strerror(rv));
		e = FXB_ERR_IO;
	}
	close(fd);
	return e;
}
