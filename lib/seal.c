/*
 * seal: the master key file, and AES-256-GCM sealing of secrets at rest
 * in the format crypto.h describes.
 *
 * The key file holds one key (32 raw bytes: key id 1, the original
 * format) or several with their ids (see crypto.h), so that a rotation
 * can add a key, move every value to it and only then drop the old one
 * while readers keep opening every value.
 *
 * The cipher is libcrypto's, reached through ossl.h, so that only the
 * processes that seal or open a value pay for loading it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "fdio.h"
#include "msg.h"
#include "ossl.h"
#include "sha256.h"

#define KEY_LEN		32
#define KEY_ID		1	/* the key of a 32-byte (original) key file */
#define KEYS_MAGIC	"SBKEYS1\n"
#define KEYS_MAGIC_LEN	(sizeof(KEYS_MAGIC) - 1)
#define KEYS_REC	(1 + KEY_LEN)		/* id byte, key */
#define KEYS_LEN(n)	(KEYS_MAGIC_LEN + (n) * KEYS_REC + SHA256_LEN)
#define KEYS_FILE_MAX	KEYS_LEN(CRYPTO_KEYS_MAX)
#define NONCE_LEN	12
#define TAG_LEN		16
#define SEAL_PREFIX	"s1."
#define SEAL_PREFIX_LEN	(sizeof(SEAL_PREFIX) - 1)
#define SEAL_MIN	(1 + NONCE_LEN + TAG_LEN)

/* Oldest first; the last key is the current one. */
struct crypto_key {
	size_t		 n;
	struct {
		unsigned char	 id;
		unsigned char	 k[KEY_LEN];
	}		 keys[CRYPTO_KEYS_MAX];
};

#define CURRENT(ks)	(&(ks)->keys[(ks)->n - 1])

/*
 * Fill k from the bytes of a key file.  A file of exactly KEY_LEN bytes
 * is the original format, key id 1; anything else must be the format
 * with a header (crypto.h), whose checksum catches a truncated or
 * damaged copy before it seals anything with a wrong key.  Returns 0,
 * or -1 with a reason in err (the caller's messages for other lengths
 * stay what they always were).
 */
static int
parse_keys(const unsigned char *b, size_t len, struct crypto_key *k,
    const char *path, char *err, size_t errlen)
{
	unsigned char	 sum[SHA256_LEN];
	const unsigned char *r;
	size_t		 i, j, n;

	memset(k, 0, sizeof(*k));
	if (len == KEY_LEN) {
		k->n = 1;
		k->keys[0].id = KEY_ID;
		memcpy(k->keys[0].k, b, KEY_LEN);
		return 0;
	}
	if (len < KEYS_MAGIC_LEN ||
	    memcmp(b, KEYS_MAGIC, KEYS_MAGIC_LEN) != 0) {
		msg_set(err, errlen, "key file %s: %s than %d bytes", path,
		    len < KEY_LEN ? "shorter" : "longer", KEY_LEN);
		return -1;
	}
	if (len < KEYS_LEN(1) || len > KEYS_FILE_MAX ||
	    (len - KEYS_LEN(0)) % KEYS_REC != 0) {
		msg_set(err, errlen, "key file %s: damaged (%zu bytes is not "
		    "a whole number of keys, or more than %d)", path, len,
		    CRYPTO_KEYS_MAX);
		return -1;
	}
	sha256(b, len - SHA256_LEN, sum);
	if (!crypto_equal(sum, b + len - SHA256_LEN, SHA256_LEN)) {
		msg_set(err, errlen, "key file %s: damaged (checksum "
		    "mismatch)", path);
		return -1;
	}
	n = (len - KEYS_LEN(0)) / KEYS_REC;
	for (i = 0, r = b + KEYS_MAGIC_LEN; i < n; i++, r += KEYS_REC) {
		if (r[0] == 0) {
			msg_set(err, errlen, "key file %s: damaged (key id 0)",
			    path);
			goto err;
		}
		for (j = 0; j < i; j++)
			if (k->keys[j].id == r[0]) {
				msg_set(err, errlen, "key file %s: damaged (key "
				    "id %u twice)", path, (unsigned)r[0]);
				goto err;
			}
		k->keys[i].id = r[0];
		memcpy(k->keys[i].k, r + 1, KEY_LEN);
	}
	k->n = n;
	return 0;
err:
	explicit_bzero(k, sizeof(*k));
	return -1;
}

/*
 * Load the keys at path into a new *key (caller frees with
 * crypto_key_free).  All checks are made on the open descriptor, so the
 * file cannot be swapped between check and read.  Returns 0, or -1 with
 * *key NULL and a one-line reason naming path in err.
 */
int
crypto_key_load(const char *path, struct crypto_key **key, char *err,
    size_t errlen)
{
	struct crypto_key	*k = NULL;
	struct stat		 st;
	unsigned char		 b[KEYS_FILE_MAX + 1];
	size_t			 len = 0;
	ssize_t			 r;
	mode_t			 mode;
	int			 fd;

	*key = NULL;
	/* O_NONBLOCK: a FIFO planted at path must not hang the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			msg_set(err, errlen, "key file %s: is a symbolic link",
			    path);
		else
			msg_set(err, errlen, "key file %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		msg_set(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	mode = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode)) {
		msg_set(err, errlen, "key file %s: not a regular file", path);
		goto err;
	}
	if (st.st_uid != geteuid()) {
		msg_set(err, errlen, "key file %s: owned by uid %lu, not by "
		    "this process's uid %lu", path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		goto err;
	}
	if (mode != 0600 && mode != 0400) {
		msg_set(err, errlen, "key file %s: mode %04o, must be 0600 "
		    "or 0400", path, (unsigned int)mode);
		goto err;
	}
	/* One byte more than the largest file is read to catch a longer one. */
	while (len < sizeof(b)) {
		r = read(fd, b + len, sizeof(b) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			msg_set(err, errlen, "key file %s: %s", path,
			    strerror(errno));
			goto err;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if ((k = malloc(sizeof(*k))) == NULL) {
		msg_set(err, errlen, "key file %s: out of memory", path);
		goto err;
	}
	if (parse_keys(b, len, k, path, err, errlen) == -1)
		goto err;
	explicit_bzero(b, sizeof(b));
	close(fd);
	*key = k;
	return 0;
err:
	crypto_key_free(k);
	explicit_bzero(b, sizeof(b));
	close(fd);
	return -1;
}

/*
 * Make the new directory entry for path durable: without this a crash
 * soon after creation could lose the key file while data sealed with
 * the key is already committed.  Returns 0 or -1 with errno set.
 */
static int
sync_dir_of(const char *path)
{
	char	*copy;
	int	 fd, rc, saved;

	if ((copy = strdup(path)) == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * Create a key file at path with 32 fresh random bytes.  Never replaces
 * an existing file, symbolic links included.  Returns 0, or -1 with a
 * reason in err; a file it created is removed again on failure so that
 * a retry can succeed.
 */
int
crypto_key_create(const char *path, char *err, size_t errlen)
{
	unsigned char	 b[KEY_LEN];
	ssize_t		 r;
	int		 fd;

	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		msg_set(err, errlen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	/* The umask may have cleared bits of 0600; 0600 is still wanted. */
	if (fchmod(fd, 0600) == -1) {
		msg_set(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	if (crypto_random(b, sizeof(b)) == -1) {
		msg_set(err, errlen, "key file %s: no randomness: %s", path,
		    strerror(errno));
		goto err;
	}
	if (fd_write_all(fd, b, sizeof(b)) == -1) {
		msg_set(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	explicit_bzero(b, sizeof(b));
	if (fsync(fd) == -1) {
		msg_set(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	r = close(fd);
	fd = -1;
	if (r == -1) {
		msg_set(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	if (sync_dir_of(path) == -1) {
		msg_set(err, errlen, "key file %s: syncing its directory: %s",
		    path, strerror(errno));
		goto err;
	}
	return 0;
err:
	explicit_bzero(b, sizeof(b));
	if (fd != -1)
		close(fd);
	unlink(path);
	return -1;
}

/*
 * A MAC under a subkey derived from the master key for one purpose
 * (label), so that the AES key itself never keys HMAC.  Our own SHA-256:
 * no libcrypto is loaded for this.
 */
void
crypto_key_mac(const struct crypto_key *k, const char *label, const char *msg,
    unsigned char out[32])
{
	unsigned char	 sub[SHA256_LEN];

	/*
	 * The current key: a rotation changes these values, which only
	 * costs OAuth connects begun in the minutes before it.
	 */
	hmac_sha256(CURRENT(k)->k, KEY_LEN, label, strlen(label), sub);
	hmac_sha256(sub, sizeof(sub), msg, strlen(msg), out);
	explicit_bzero(sub, sizeof(sub));
}

void
crypto_key_free(struct crypto_key *k)
{
	if (k == NULL)
		return;
	explicit_bzero(k, sizeof(*k));
	free(k);
}

size_t
crypto_key_count(const struct crypto_key *k)
{
	return k->n;
}

unsigned int
crypto_key_id(const struct crypto_key *k, size_t i)
{
	return i < k->n ? k->keys[i].id : 0;
}

unsigned int
crypto_key_current(const struct crypto_key *k)
{
	return CURRENT(k)->id;
}

int
crypto_key_has(const struct crypto_key *k, unsigned int id)
{
	size_t	 i;

	for (i = 0; i < k->n; i++)
		if (k->keys[i].id == id)
			return 1;
	return 0;
}

/*
 * A fresh random key after the others, so that it becomes the current
 * one.  Its id follows the current key's (255 wraps to 1), skipping ids
 * still in the file: a value names its key by id alone.
 */
int
crypto_key_add(struct crypto_key *k, char *err, size_t errlen)
{
	unsigned int	 id;

	if (k->n == CRYPTO_KEYS_MAX) {
		msg_set(err, errlen, "the key file already holds %d keys",
		    CRYPTO_KEYS_MAX);
		return -1;
	}
	id = CURRENT(k)->id;
	do
		id = id % 255 + 1;
	while (crypto_key_has(k, id));
	if (crypto_random(k->keys[k->n].k, KEY_LEN) == -1) {
		msg_set(err, errlen, "no randomness: %s", strerror(errno));
		return -1;
	}
	k->keys[k->n].id = (unsigned char)id;
	k->n++;
	return 0;
}

/* Keep only the current key. */
void
crypto_key_retire(struct crypto_key *k)
{
	if (k->n > 1) {
		k->keys[0] = *CURRENT(k);
		explicit_bzero(&k->keys[1], sizeof(k->keys[0]) * (k->n - 1));
		k->n = 1;
	}
}

/*
 * Replace the key file at path with k's keys, in the format with a
 * header, so that at every moment path holds either the old file or
 * the new one, whole: a reader never sees a file half written, and a
 * crash leaves one of the two.  The new file is written beside it as
 * "<path>.tmp", synced, renamed over path, and the directory synced.
 * It keeps the old file's mode when that was 0400.  Writers must be
 * serialised by the caller (rekey holds a lock); a "<path>.tmp" left by
 * a crashed writer is replaced.
 */
int
crypto_key_save(const char *path, const struct crypto_key *k, char *err,
    size_t errlen)
{
	unsigned char	 b[KEYS_FILE_MAX];
	struct stat	 st;
	char		*tmp = NULL;
	size_t		 len, i, plen = strlen(path);
	mode_t		 mode = 0600;
	int		 fd = -1, try, rc;

	if (k->n == 0 || k->n > CRYPTO_KEYS_MAX) {
		msg_set(err, errlen, "key file %s: nothing to write", path);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			msg_set(err, errlen, "key file %s: not a regular file",
			    path);
			return -1;
		}
		if ((st.st_mode & 07777) == 0400)
			mode = 0400;
	}
	memcpy(b, KEYS_MAGIC, KEYS_MAGIC_LEN);
	len = KEYS_MAGIC_LEN;
	for (i = 0; i < k->n; i++) {
		b[len] = k->keys[i].id;
		memcpy(b + len + 1, k->keys[i].k, KEY_LEN);
		len += KEYS_REC;
	}
	sha256(b, len, b + len);
	len += SHA256_LEN;

	if ((tmp = malloc(plen + sizeof(".tmp"))) == NULL) {
		msg_set(err, errlen, "key file %s: out of memory", path);
		goto err;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", sizeof(".tmp"));
	for (try = 0; try < 2; try++) {
		fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST || unlink(tmp) == -1)
			break;
	}
	if (fd == -1) {
		msg_set(err, errlen, "key file %s: %s", tmp, strerror(errno));
		goto err;
	}
	if (fd_write_all(fd, b, len) == -1 || fchmod(fd, mode) == -1 ||
	    fsync(fd) == -1) {
		msg_set(err, errlen, "key file %s: %s", tmp, strerror(errno));
		goto err;
	}
	rc = close(fd);
	fd = -1;
	if (rc == -1) {
		msg_set(err, errlen, "key file %s: %s", tmp, strerror(errno));
		goto err;
	}
	if (rename(tmp, path) == -1) {
		msg_set(err, errlen, "key file %s: rename: %s", path,
		    strerror(errno));
		goto err;
	}
	free(tmp);
	tmp = NULL;
	explicit_bzero(b, sizeof(b));
	/* Durable before any value sealed with the new key commits. */
	if (sync_dir_of(path) == -1) {
		msg_set(err, errlen, "key file %s: syncing its directory: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
err:
	explicit_bzero(b, sizeof(b));
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return -1;
}

/*
 * Seal n bytes at pt with key, bound to ad.  Returns the malloc'd
 * "s1." string (caller frees); NULL on failure.
 */
char *
crypto_seal(const struct crypto_key *key, const char *ad, const void *pt,
    size_t n)
{
	const struct ossl	*o;
	const EVP_CIPHER	*c;
	EVP_CIPHER_CTX		*ctx = NULL;
	unsigned char		*raw = NULL, *ct;
	char			*body = NULL, *s = NULL;
	size_t			 adlen = strlen(ad), rawlen, bodylen;
	int			 outl;

	if (adlen > (size_t)INT_MAX || n > (size_t)INT_MAX - SEAL_MIN ||
	    (o = ossl()) == NULL || (c = ossl_aes256gcm()) == NULL)
		return NULL;
	rawlen = SEAL_MIN + n;
	if ((raw = malloc(rawlen)) == NULL)
		goto err;
	raw[0] = CURRENT(key)->id;
	ct = raw + 1 + NONCE_LEN;
	if (crypto_random(raw + 1, NONCE_LEN) == -1)
		goto err;
	if ((ctx = o->EVP_CIPHER_CTX_new()) == NULL ||
	    !o->EVP_EncryptInit_ex2(ctx, c, CURRENT(key)->k, raw + 1, NULL) ||
	    !o->EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)ad,
	    (int)adlen))
		goto err;
	if (n > 0 && !o->EVP_EncryptUpdate(ctx, ct, &outl, pt, (int)n))
		goto err;
	if (!o->EVP_EncryptFinal_ex(ctx, ct + n, &outl) ||
	    !o->EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN,
	    ct + n))
		goto err;
	if ((body = b64url_encode(raw, rawlen)) == NULL)
		goto err;
	bodylen = strlen(body);
	if ((s = malloc(SEAL_PREFIX_LEN + bodylen + 1)) == NULL)
		goto err;
	memcpy(s, SEAL_PREFIX, SEAL_PREFIX_LEN);
	memcpy(s + SEAL_PREFIX_LEN, body, bodylen + 1);
err:
	/* The context holds the expanded key; freeing it wipes it. */
	o->EVP_CIPHER_CTX_free(ctx);
	free(body);
	free(raw);
	return s;
}

/*
 * Open sealed with key, checking that it was sealed for ad.  Returns 0
 * with *pt a malloc'd copy of the plaintext plus a NUL (caller frees)
 * and *n its length (n may be NULL); -1 with *pt NULL when sealed is
 * malformed, names another key, or fails authentication.
 */
int
crypto_unseal(const struct crypto_key *key, const char *ad,
    const char *sealed, char **pt, size_t *n)
{
	const struct ossl	*o;
	const EVP_CIPHER	*c;
	EVP_CIPHER_CTX		*ctx = NULL;
	const unsigned char	*kb = NULL;
	unsigned char		*raw = NULL, *nonce, *ct, *out = NULL;
	size_t			 rawlen, ctlen = 0, adlen = strlen(ad), i;
	int			 outl, rc = -1;

	*pt = NULL;
	if (n != NULL)
		*n = 0;
	if (strncmp(sealed, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0 ||
	    adlen > (size_t)INT_MAX ||
	    b64url_decode(sealed + SEAL_PREFIX_LEN, &raw, &rawlen) == -1)
		return -1;
	/* The key the value names; none: it cannot open here. */
	for (i = 0; rawlen > 0 && i < key->n; i++)
		if (key->keys[i].id == raw[0])
			kb = key->keys[i].k;
	/* libcrypto is loaded only for a value that could open. */
	if (rawlen < SEAL_MIN || rawlen - SEAL_MIN > (size_t)INT_MAX ||
	    kb == NULL || (o = ossl()) == NULL ||
	    (c = ossl_aes256gcm()) == NULL)
		goto err;
	nonce = raw + 1;
	ct = nonce + NONCE_LEN;
	ctlen = rawlen - SEAL_MIN;
	if ((out = malloc(ctlen + 1)) == NULL)
		goto err;
	if ((ctx = o->EVP_CIPHER_CTX_new()) == NULL ||
	    !o->EVP_DecryptInit_ex2(ctx, c, kb, nonce, NULL) ||
	    !o->EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)ad,
	    (int)adlen))
		goto err;
	if (ctlen > 0 &&
	    !o->EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ctlen))
		goto err;
	if (!o->EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN,
	    ct + ctlen) ||
	    o->EVP_DecryptFinal_ex(ctx, out + ctlen, &outl) <= 0)
		goto err;
	out[ctlen] = '\0';
	*pt = (char *)out;
	if (n != NULL)
		*n = ctlen;
	out = NULL;
	rc = 0;
err:
	/* Plaintext that failed authentication must not linger either. */
	if (out != NULL) {
		explicit_bzero(out, ctlen);
		free(out);
	}
	if (ctx != NULL)
		o->EVP_CIPHER_CTX_free(ctx);
	free(raw);
	return rc;
}

/*
 * 1 when s looks like crypto_seal output: the prefix, then canonical
 * base64url long enough for the key id, nonce and tag.  No key needed
 * and no authentication: only crypto_unseal says whether it opens.
 */
int
crypto_is_sealed(const char *s)
{
	unsigned char	*raw;
	size_t		 n;

	if (strncmp(s, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0 ||
	    b64url_decode(s + SEAL_PREFIX_LEN, &raw, &n) == -1)
		return 0;
	free(raw);
	return n >= SEAL_MIN;
}

/*
 * The key id a sealed value names, read without any key (the id byte is
 * not secret); -1 when s does not have the sealed form.
 */
int
crypto_sealed_id(const char *s)
{
	unsigned char	*raw;
	size_t		 n;
	int		 id;

	if (strncmp(s, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0 ||
	    b64url_decode(s + SEAL_PREFIX_LEN, &raw, &n) == -1)
		return -1;
	id = n >= SEAL_MIN ? raw[0] : -1;
	free(raw);
	return id;
}
