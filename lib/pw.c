#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "ossl.h"
#include "pw.h"
#include "pw_int.h"

#define PW_ALG		"pbkdf2-sha256"
#define PW_ITER		600000UL	/* OWASP's minimum for PBKDF2-SHA256 */
#define PW_ITER_MAX	10000000UL	/* a stored hash cannot make us spin */
#define SALT_LEN	16
#define HASH_LEN	32
#define PART_MAX	64		/* longest salt or hash we accept */

/*
 * libcrypto's PBKDF2 rather than one over our own HMAC (sha256.c): on a
 * CPU with SHA extensions it takes half the time for 600,000 iterations,
 * about the same without them, and loading libcrypto is nothing beside
 * that.  EVP_sha256() rather than an explicit fetch: the KDF behind
 * PKCS5_PBKDF2_HMAC fetches the digest by name whatever we pass.
 */
int
pw_pbkdf2(const char *pw, size_t pwlen, const unsigned char *salt,
    size_t saltlen, unsigned long iter, unsigned char *out, size_t outlen)
{
	const struct ossl	*o;

	if (pwlen > INT_MAX || saltlen > INT_MAX || iter > INT_MAX ||
	    outlen > INT_MAX || (o = ossl()) == NULL)
		return -1;
	if (o->PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)saltlen,
	    (int)iter, o->EVP_sha256(), (int)outlen, out) != 1)
		return -1;
	return 0;
}

/*
 * Hash password with a fresh salt at the current cost.  Returns the
 * malloc'd "pbkdf2-sha256$..." string (caller frees); NULL on failure.
 */
char *
pw_hash(const char *password)
{
	unsigned char	 salt[SALT_LEN], dk[HASH_LEN];
	char		*bs = NULL, *bh = NULL, *s = NULL;
	struct buf	 b = { 0 };

	if (crypto_random(salt, sizeof(salt)) == -1 ||
	    pw_pbkdf2(password, strlen(password), salt, sizeof(salt),
	    PW_ITER, dk, sizeof(dk)) == -1)
		goto err;
	if ((bs = b64url_encode(salt, sizeof(salt))) == NULL ||
	    (bh = b64url_encode(dk, sizeof(dk))) == NULL)
		goto err;
	buf_addf(&b, "%s$%lu$%s$%s", PW_ALG, PW_ITER, bs, bh);
	s = buf_detach(&b);
err:
	explicit_bzero(dk, sizeof(dk));
	free(bs);
	free(bh);
	return s;
}

/*
 * Decode one base64url field of a stored hash into out, requiring
 * between min and PART_MAX bytes.  Returns the length, or 0 when the
 * field is malformed.
 */
static size_t
decode_part(const char *s, size_t min, unsigned char out[PART_MAX])
{
	unsigned char	*p;
	size_t		 n;

	if (b64url_decode(s, &p, &n) == -1)
		return 0;
	if (n < min || n > PART_MAX)
		n = 0;
	else
		memcpy(out, p, n);
	free(p);
	return n;
}

/*
 * Check password against stored.  Returns 1 on a match, 0 on a
 * mismatch, -1 when stored is malformed, asks for fewer iterations than
 * our minimum (a weakened hash is not trusted) or more than PW_ITER_MAX,
 * or the derivation fails.  Callers treat anything but 1 as a refusal.
 */
int
pw_verify(const char *password, const char *stored)
{
	unsigned char	 salt[PART_MAX], want[PART_MAX], got[PART_MAX];
	unsigned long	 iter = 0;
	size_t		 saltlen, hashlen;
	char		*copy, *p, *hash;
	int		 rc = -1;

	if (strncmp(stored, PW_ALG "$", sizeof(PW_ALG)) != 0)
		return -1;
	if ((copy = strdup(stored + sizeof(PW_ALG))) == NULL)
		return -1;
	/* Digits only, no sign or leading zero: one spelling per count. */
	p = copy;
	if (*p < '1' || *p > '9')
		goto err;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((iter = iter * 10 + (unsigned long)(*p - '0')) >
		    PW_ITER_MAX)
			goto err;
	if (iter < PW_ITER || *p++ != '$' ||
	    (hash = strchr(p, '$')) == NULL)
		goto err;
	*hash++ = '\0';
	/* A third '$' is left in hash, which base64url refuses. */
	if ((saltlen = decode_part(p, SALT_LEN, salt)) == 0 ||
	    (hashlen = decode_part(hash, HASH_LEN, want)) == 0)
		goto err;
	if (pw_pbkdf2(password, strlen(password), salt, saltlen, iter, got,
	    hashlen) == -1)
		goto err;
	rc = crypto_equal(got, want, hashlen);
err:
	explicit_bzero(got, sizeof(got));
	free(copy);
	return rc;
}

/*
 * Same cost as pw_verify of a current hash, so a sign-in with an
 * unknown user name takes as long as one with a wrong password.
 */
void
pw_dummy(const char *password)
{
	static const unsigned char	 salt[SALT_LEN];
	unsigned char			 dk[HASH_LEN];

	(void)pw_pbkdf2(password, strlen(password), salt, sizeof(salt),
	    PW_ITER, dk, sizeof(dk));
	explicit_bzero(dk, sizeof(dk));
}
