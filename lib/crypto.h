/*
 * crypto: randomness, encodings, hashing and sealing of secrets at rest.
 *
 * Randomness comes from the kernel (getrandom), never from libcrypto, so
 * that pages which only need a token do not pay OpenSSL's start-up.
 * Sealing is AES-256-GCM with a random 12-byte nonce, the record's key
 * and field as associated data, and a key id byte for rotation:
 *
 *	"s1." base64url(key_id[1] || nonce[12] || ciphertext || tag[16])
 *
 * Strings returned are malloc'd and owned by the caller; NULL on error.
 */
#ifndef SB_CRYPTO_H
#define SB_CRYPTO_H

#include <stddef.h>

int	 crypto_random(void *buf, size_t n);	/* 0 on success */
char	*crypto_token(size_t nbytes);		/* base64url of random bytes */

char	*b64url_encode(const void *, size_t);	/* no padding */
int	 b64url_decode(const char *, unsigned char **out, size_t *outlen);
char	*b64_encode(const void *, size_t);	/* RFC 4648 with padding */

/* SHA-256 without a provider fetch (cheap in a short-lived process). */
void	 crypto_sha256(const void *, size_t, unsigned char out[32]);
char	*crypto_sha256_hex(const void *, size_t);

/* RFC 7636 S256: base64url(SHA-256(verifier)). */
char	*crypto_pkce_challenge(const char *verifier);

/* Constant-time comparison of two buffers of length n: 1 when equal. */
int	 crypto_equal(const void *, const void *, size_t);

struct crypto_key;

/*
 * Load the master key file (32 raw bytes).  Refuses a file that is not
 * a regular file of mode 0600 or 0400 owned by the caller; err gets the
 * reason.  Returns 0 on success.
 */
int	 crypto_key_load(const char *path, struct crypto_key **, char *err,
	    size_t errlen);
/* Create a new key file (O_EXCL, mode 0600).  0 on success. */
int	 crypto_key_create(const char *path, char *err, size_t errlen);
void	 crypto_key_free(struct crypto_key *);

/*
 * HMAC-SHA256 of msg under a subkey of the master key for one purpose
 * (label): values the server can re-derive instead of storing them.
 */
void	 crypto_key_mac(const struct crypto_key *, const char *label,
	    const char *msg, unsigned char out[32]);

/* ad = associated data, e.g. "options/x-twitter_client-secret". */
char	*crypto_seal(const struct crypto_key *, const char *ad,
	    const void *pt, size_t n);
/* 0 on success: *pt malloc'd and NUL-terminated; -1 if it does not open. */
int	 crypto_unseal(const struct crypto_key *, const char *ad,
	    const char *sealed, char **pt, size_t *n);
/* 1 when s has the sealed form (prefix and base64url body). */
int	 crypto_is_sealed(const char *s);

#endif
