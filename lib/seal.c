/*
 * seal: the master key file, and AES-256-GCM sealing of secrets at rest
 * in the format crypto.h describes.
 *
 * The cipher is libcrypto's, reached through ossl.h, so that only the
 * processes that seal or open a value pay for loading it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "ossl.h"
#include "sha256.h"

#define KEY_LEN		32
#define KEY_ID		1	/* the only key until rotation exists */
#define NONCE_LEN	12
#define TAG_LEN		16
#define SEAL_PREFIX	"s1."
#define SEAL_PREFIX_LEN	(sizeof(SEAL_PREFIX) - 1)
#define SEAL_MIN	(1 + NONCE_LEN + TAG_LEN)

struct crypto_key {
	unsigned char	 id;
	unsigned char	 k[KEY_LEN];
};

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Load the key at path into a new *key (caller frees with
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
	unsigned char		 b[KEY_LEN + 1];
	size_t			 len = 0;
	ssize_t			 r;
	mode_t			 mode;
	int			 fd;

	*key = NULL;
	/* O_NONBLOCK: a FIFO planted at path must not hang the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			seterr(err, errlen, "key file %s: is a symbolic link",
			    path);
		else
			seterr(err, errlen, "key file %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	mode = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "key file %s: not a regular file", path);
		goto err;
	}
	if (st.st_uid != geteuid()) {
		seterr(err, errlen, "key file %s: owned by uid %lu, not by "
		    "this process's uid %lu", path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		goto err;
	}
	if (mode != 0600 && mode != 0400) {
		seterr(err, errlen, "key file %s: mode %04o, must be 0600 "
		    "or 0400", path, (unsigned int)mode);
		goto err;
	}
	/* One byte more than a key is read to catch a longer file. */
	while (len < sizeof(b)) {
		r = read(fd, b + len, sizeof(b) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			seterr(err, errlen, "key file %s: %s", path,
			    strerror(errno));
			goto err;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len != KEY_LEN) {
		seterr(err, errlen, "key file %s: %s than %d bytes", path,
		    len < KEY_LEN ? "shorter" : "longer", KEY_LEN);
		goto err;
	}
	if ((k = malloc(sizeof(*k))) == NULL) {
		seterr(err, errlen, "key file %s: out of memory", path);
		goto err;
	}
	k->id = KEY_ID;
	memcpy(k->k, b, KEY_LEN);
	explicit_bzero(b, sizeof(b));
	close(fd);
	*key = k;
	return 0;
err:
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
	size_t		 off = 0;
	ssize_t		 r;
	int		 fd;

	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	/* The umask may have cleared bits of 0600; 0600 is still wanted. */
	if (fchmod(fd, 0600) == -1) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	if (crypto_random(b, sizeof(b)) == -1) {
		seterr(err, errlen, "key file %s: no randomness: %s", path,
		    strerror(errno));
		goto err;
	}
	while (off < sizeof(b)) {
		r = write(fd, b + off, sizeof(b) - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			seterr(err, errlen, "key file %s: %s", path,
			    strerror(errno));
			goto err;
		}
		off += (size_t)r;
	}
	explicit_bzero(b, sizeof(b));
	if (fsync(fd) == -1) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	r = close(fd);
	fd = -1;
	if (r == -1) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		goto err;
	}
	if (sync_dir_of(path) == -1) {
		seterr(err, errlen, "key file %s: syncing its directory: %s",
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

	hmac_sha256(k->k, sizeof(k->k), label, strlen(label), sub);
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
	raw[0] = key->id;
	ct = raw + 1 + NONCE_LEN;
	if (crypto_random(raw + 1, NONCE_LEN) == -1)
		goto err;
	if ((ctx = o->EVP_CIPHER_CTX_new()) == NULL ||
	    !o->EVP_EncryptInit_ex2(ctx, c, key->k, raw + 1, NULL) ||
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
	unsigned char		*raw = NULL, *nonce, *ct, *out = NULL;
	size_t			 rawlen, ctlen = 0, adlen = strlen(ad);
	int			 outl, rc = -1;

	*pt = NULL;
	if (n != NULL)
		*n = 0;
	if (strncmp(sealed, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0 ||
	    adlen > (size_t)INT_MAX ||
	    b64url_decode(sealed + SEAL_PREFIX_LEN, &raw, &rawlen) == -1)
		return -1;
	/* libcrypto is loaded only for a value that could open. */
	if (rawlen < SEAL_MIN || rawlen - SEAL_MIN > (size_t)INT_MAX ||
	    raw[0] != key->id || (o = ossl()) == NULL ||
	    (c = ossl_aes256gcm()) == NULL)
		goto err;
	nonce = raw + 1;
	ct = nonce + NONCE_LEN;
	ctlen = rawlen - SEAL_MIN;
	if ((out = malloc(ctlen + 1)) == NULL)
		goto err;
	if ((ctx = o->EVP_CIPHER_CTX_new()) == NULL ||
	    !o->EVP_DecryptInit_ex2(ctx, c, key->k, nonce, NULL) ||
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
