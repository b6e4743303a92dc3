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
 * The master key file holds one key or several:
 *
 *	32 bytes				key id 1 (the original format)
 *	"SBKEYS1\n" { id[1] key[32] }... sha256[32]
 *						1 to CRYPTO_KEYS_MAX keys,
 *						oldest first, ids 1-255
 *
 * The last key is the current one: crypto_seal and crypto_key_mac use
 * it; crypto_unseal uses whichever key the value's id byte names.  A
 * rotation (sosyabotctl rekey) adds a key, re-seals every value under it
 * and then rewrites the file with that key alone.
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

#define CRYPTO_KEYS_MAX	16

/*
 * Load the master key file, every key in it.  Refuses a file that is not
 * a regular file of mode 0600 or 0400 owned by the caller, or whose
 * content is not one of the formats above; err gets the reason.
 * Returns 0 on success.
 */
int	 crypto_key_load(const char *path, struct crypto_key **, char *err,
	    size_t errlen);
/* Create a new key file (O_EXCL, mode 0600, 32 bytes).  0 on success. */
int	 crypto_key_create(const char *path, char *err, size_t errlen);
void	 crypto_key_free(struct crypto_key *);

/* The keys: how many, the id of the i-th (oldest first), the current. */
size_t	 crypto_key_count(const struct crypto_key *);
unsigned int crypto_key_id(const struct crypto_key *, size_t i);
unsigned int crypto_key_current(const struct crypto_key *);
int	 crypto_key_has(const struct crypto_key *, unsigned int id);
/* Add a fresh random key, which becomes the current one (in memory). */
int	 crypto_key_add(struct crypto_key *, char *err, size_t errlen);
/* Drop every key but the current one (in memory). */
void	 crypto_key_retire(struct crypto_key *);
/*
 * Write the keys to path atomically (a temporary file beside it, fsync,
 * rename, fsync of the directory).  0 on success.
 */
int	 crypto_key_save(const char *path, const struct crypto_key *,
	    char *err, size_t errlen);

/*
 * HMAC-SHA256 of msg under a subkey of the current key for one purpose
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
/* The key id a sealed value names (no key needed); -1 if malformed. */
int	 crypto_sealed_id(const char *s);

#endif
