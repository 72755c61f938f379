/*
 * ctl_passphrase.c: the passphrase that seals an operator's key: from
 * $FXBREAKER_PASSPHRASE (for automation), else asked on the terminal with
 * echo off.  It goes straight into the guarded secret block (ctl_key.c)
 * and nowhere else; this file neither derives nor checks anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"

static volatile sig_atomic_t tty_signal;

static void
tty_on_signal(int sig)
{
	tty_signal = sig;
}

static void
tty_write(int fd, const char *s)
{
	ssize_t w = write(fd, s, strlen(s));
	(void)w; /* a lost prompt is not worth failing for */
}

/*
 * tty_read asks on the terminal with echo off and reads one line into buf
 * (at most CTL_PASS_MAX bytes).  Echo is restored on every path: a signal
 * (Ctrl-C) while it waits restores the terminal, then is delivered again.
 * 0, or -1 with the reason printed.
 */
static int
tty_read(const char *prompt, char *buf, size_t cap)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	struct sigaction sa, saved[sizeof(sigs) / sizeof(sigs[0])];
	struct termios old, quiet;
	size_t n = 0;
	bool too_long = false, eof = false;

	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || tcgetattr(fd, &old) != 0) {
		fprintf(stderr, "fxbreakerctl: no passphrase: set "
		                "FXBREAKER_PASSPHRASE or run on a terminal\n");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: read() must return */
	tty_signal = 0;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &saved[i]);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	tty_write(fd, prompt);
	while (tty_signal == 0) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			eof = true;
			break;
		}
		if (c == '\n' || c == '\r')
			break;
		if (n < cap - 1 && n < CTL_PASS_MAX)
			buf[n++] = c;
		else
			too_long = true;
	}
	buf[n] = '\0';
	tty_write(fd, "\n");
	tcsetattr(fd, TCSAFLUSH, &old);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &saved[i], NULL);
	close(fd);
	if (tty_signal != 0) {
		raise(tty_signal);
		fprintf(stderr, "fxbreakerctl: interrupted\n");
		return -1;
	}
	if (eof || too_long) {
		fprintf(stderr, "fxbreakerctl: %s\n",
		        eof ? "no passphrase (end of input)"
		            : "passphrase too long (at most 1024 bytes)");
		return -1;
	}
	return 0;
}

int
ctl_passphrase_get(struct ctl_secret *s, const char *prompt, bool confirm)
{
	const char *env = getenv("FXBREAKER_PASSPHRASE");
	if (env != NULL && env[0] != '\0') {
		size_t n = strlen(env);
		if (n > CTL_PASS_MAX) {
			fprintf(stderr, "fxbreakerctl: FXBREAKER_PASSPHRASE "
			                "too long (at most 1024 bytes)\n");
			return -1;
		}
		memcpy(s->pass, env, n + 1);
		return 0;
	}
	if (tty_read(prompt, s->pass, sizeof(s->pass)) != 0)
		return -1;
	if (!confirm)
		return 0;
	if (tty_read("Again: ", s->again, sizeof(s->again)) != 0)
		return -1;
	if (strcmp(s->pass, s->again) != 0) {
		fprintf(stderr, "fxbreakerctl: the passphrases differ\n");
		return -1;
	}
	return 0;
}
