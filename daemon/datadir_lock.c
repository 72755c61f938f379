/*
 * datadir_lock.c: one fxbreakerd per data directory.  Two daemons on one
 * ledger hand out the same sequence numbers: the second's rows win the
 * race, the first's commits fail for good (UNIQUE constraint on
 * suspension_log.seq) and the two disagree about what is suspended.  So
 * the daemon takes an exclusive flock(2) on DATA_DIR/fxbreakerd.lock
 * before it opens anything else (the ledger, the log key, the sockets)
 * and holds it for the life of the process.
 *
 * flock, not a pid file: the kernel drops the lock when the holder dies,
 * even by SIGKILL, so a stale file never blocks a restart.  The file is
 * never removed: removing it would let a third daemon lock a new file
 * while the second still holds the old one.  The pid written into it is
 * for the error message only; the lock is the truth.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "daemon.h"

int
daemon_lock_take(const char *data_dir, char *path, size_t pathcap, char *err,
                 size_t errcap)
{
	char pid[32];
	snprintf(path, pathcap, "%s/fxbreakerd.lock", data_dir);
	/* O_CLOEXEC: a child the daemon ever starts must not keep the lock
	 * alive after the daemon is gone. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		ssize_t n =
		    e == EWOULDBLOCK ? pread(fd, pid, sizeof(pid) - 1, 0) : -1;
		close(fd);
		if (e != EWOULDBLOCK) {
			snprintf(err, errcap, "%s: %s", path, strerror(e));
			return -1;
		}
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		/* The holder may have locked and not yet written its pid. */
		snprintf(err, errcap,
		         "%s is in use by another fxbreakerd (pid %s holds "
		         "%s): one daemon per data directory",
		         data_dir, pid[0] != '\0' ? pid : "not written yet",
		         path);
		return -1;
	}
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, pid, (size_t)len, 0) != (ssize_t)len) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
daemon_lock_release(int fd)
{
	/* Closing the last descriptor drops the lock; the file stays. */
	if (fd >= 0)
		close(fd);
}
