/*
 * ledger_key.c: the log key, the Ed25519 pair that signs checkpoints:
 * its two files in the data directory (read, or made once), and the
 * copy a ledger signs with.  The hex format and the key's id are the
 * trust rules fxbreakerctl shares (ipc_trust.h), not defined here.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc_trust.h"
#include "ledger_impl.h"

/* Reads a file holding `n` bytes as hex: 0, -1 if it cannot be opened,
 * -2 if it is not n bytes in hex (the shared reader, ipc_trust.h). */
static int
read_hex_file(const char *path, unsigned char *out, size_t n)
{
	char err[8];
	switch (
	    ipc_trust_hex_file_read(path, "key", out, n, err, sizeof(err))) {
	case IPC_TRUST_HEX_FILE_OK:
		return 0;
	case IPC_TRUST_HEX_FILE_UNREADABLE:
		return -1;
	default:
		return -2;
	}
}

static int
write_hex_file(const char *path, const unsigned char *b, size_t n, int mode)
{
	char hex[256];
	sodium_bin2hex(hex, sizeof(hex), b, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -1;
	size_t len = strlen(hex);
	hex[len++] = '\n';
	int rc =
	    write(fd, hex, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

enum fxb_err
ledger_key_load(const char *dir, bool create, unsigned char pk[32],
                unsigned char sk[64], char *err, size_t errlen)
{
	char kpath[4096], ppath[4096];
	snprintf(kpath, sizeof(kpath), "%s/log.key", dir);
	snprintf(ppath, sizeof(ppath), "%s/log.pub", dir);
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return FXB_ERR_IO;
	}
	int rk = read_hex_file(kpath, sk, 64);
	int rp = read_hex_file(ppath, pk, 32);
	if (rk == -1 && rp == -1 && create) {
		crypto_sign_keypair(pk, sk);
		if (write_hex_file(kpath, sk, 64, 0400) != 0 ||
		    write_hex_file(ppath, pk, 32, 0444) != 0) {
			snprintf(err, errlen,
			         "%s: cannot write the log key: %s", dir,
			         strerror(errno));
			return FXB_ERR_IO;
		}
		return FXB_OK;
	}
	/* Both halves missing reaches here only when not to create them
	 * (a cluster node): name the key, not a half that is not there. */
	if (rk == -1 && rp == -1) {
		snprintf(err, errlen, "%s: missing (no log key in %s)", kpath,
		         dir);
		return FXB_ERR_IO;
	}
	if (rk != 0 || rp != 0) {
		snprintf(err, errlen, "%s: %s", rk != 0 ? kpath : ppath,
		         (rk != 0 ? rk : rp) == -1 ? "missing (the other half "
		                                     "of the log key is there)"
		                                   : "not a key in hex");
		return FXB_ERR_IO;
	}
	/* The two halves must belong together. */
	unsigned char derived[32];
	crypto_sign_ed25519_sk_to_pk(derived, sk);
	if (memcmp(derived, pk, 32) != 0) {
		snprintf(err, errlen, "%s does not match %s", ppath, kpath);
		return FXB_ERR_IO;
	}
	return FXB_OK;
}

void
ledger_set_key(struct ledger *lg, const unsigned char pk[32],
               const unsigned char sk[64])
{
	memcpy(lg->pk, pk, 32);
	memcpy(lg->sk, sk, 64);
	ipc_trust_key_id(pk, lg->key_id);
	lg->has_key = true;
}
