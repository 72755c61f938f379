/*
 * ledger_files.c: the database and its -wal file as this connection
 * opened them, and what happens when either is removed or replaced while
 * in use (issue 9).
 *
 * SQLite keeps both open by descriptor: if someone removes or replaces
 * either path, every later commit goes to a file nobody else can see, and
 * the rows it holds vanish with the process.  So the identity (device,
 * inode) of each is noted at open and compared before every commit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger_impl.h"

/* The -wal file exists once the first transaction ran (migrate,
 * chain_setup did); if it does not, it is adopted at the first check
 * that finds it. */
enum fxb_err
ledger_files_note(struct ledger *lg, const char *path)
{
	size_t n = strlen(path);
	struct stat sb;
	if ((lg->path[0] = strdup(path)) == NULL ||
	    (lg->path[1] = malloc(n + 5)) == NULL)
		return FXB_ERR_NOMEM;
	snprintf(lg->path[1], n + 5, "%s-wal", path);
	for (int i = 0; i < 2; i++)
		if (stat(lg->path[i], &sb) == 0) {
			lg->dev[i] = sb.st_dev;
			lg->ino[i] = sb.st_ino;
			lg->known[i] = true;
		}
	return FXB_OK;
}

bool
ledger_files_intact(struct ledger *lg, char *why, size_t cap)
{
	static const char *const what[2] = {"the database file",
	                                    "the database's -wal file"};
	struct stat sb;
	if (lg->readonly || lg->path[0] == NULL)
		return true;
	for (int i = 0; lg->lost[0] == '\0' && i < 2; i++) {
		if (stat(lg->path[i], &sb) != 0) {
			/* Only a missing file is news: another error (EACCES
			 * on a directory, EIO) fails the commit itself. */
			if (errno != ENOENT || !lg->known[i])
				continue;
			snprintf(lg->lost, sizeof(lg->lost),
			         "%s %s was removed while in use", what[i],
			         lg->path[i]);
		} else if (!lg->known[i]) {
			lg->dev[i] = sb.st_dev;
			lg->ino[i] = sb.st_ino;
			lg->known[i] = true;
			continue;
		} else if (sb.st_dev != lg->dev[i] ||
		           sb.st_ino != lg->ino[i]) {
			snprintf(
			    lg->lost, sizeof(lg->lost),
			    "%s %s was replaced while in use (inode %llu, "
			    "was %llu)",
			    what[i], lg->path[i],
			    (unsigned long long)sb.st_ino,
			    (unsigned long long)lg->ino[i]);
		} else {
			continue;
		}
		lg->db_replaced = i == 0;
		/* The -wal file alone went: every committed row is still in
		 * it, through SQLite's descriptor, and the database file is
		 * still the one others see (i = 0 was checked first).  Copy
		 * the rows there now (a checkpoint, fsynced), so that no
		 * acknowledged row dies with this process.  Nothing new is
		 * written after. */
		if (i == 1) {
			int logged = -1, copied = -1;
			bool done = sqlite3_wal_checkpoint_v2(
			                lg->db, NULL, SQLITE_CHECKPOINT_FULL,
			                &logged, &copied) == SQLITE_OK &&
			            copied == logged;
			size_t len = strlen(lg->lost);
			snprintf(lg->lost + len, sizeof(lg->lost) - len,
			         done ? "; the rows committed so far were "
			                "copied into the database file"
			              : "; the rows committed since the last "
			                "checkpoint could not be copied into "
			                "the database file");
		}
	}
	if (lg->lost[0] == '\0')
		return true;
	snprintf(why, cap, "%s", lg->lost);
	return false;
}

/* The database file was removed or replaced under us: SQLite leaves its
 * -wal file behind, and the next open would lay that file's pages over
 * whatever database is at the path now (a replacement, a restored copy)
 * and corrupt it.  Move it aside, kept for whoever investigates. */
void
ledger_files_orphan(struct ledger *lg)
{
	struct stat sb;
	if (lg->db_replaced && stat(lg->path[1], &sb) == 0 &&
	    sb.st_dev == lg->dev[1] && sb.st_ino == lg->ino[1]) {
		size_t n = strlen(lg->path[1]) + 16;
		char *to = malloc(n);
		if (to != NULL) {
			snprintf(to, n, "%s.orphaned", lg->path[1]);
			rename(lg->path[1], to);
		}
		free(to);
	}
}
