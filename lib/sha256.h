/*
 * sha256: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).
 *
 * Contexts live wherever the caller puts them (no allocation, no
 * failure).  A final call wipes its context; init it again to reuse
 * it.  A context may be copied by assignment to fork a hash, e.g. to
 * reuse an HMAC key's set-up for many messages.
 */
#ifndef SB_SHA256_H
#define SB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32	/* digest bytes */
#define SHA256_BLOCK	64	/* block bytes */

struct sha256 {
	uint32_t	 h[8];
	uint64_t	 len;			/* bytes hashed so far */
	unsigned char	 buf[SHA256_BLOCK];	/* the partial block */
	size_t		 n;			/* bytes in buf */
};

struct hmac_sha256 {
	struct sha256	 in;	/* keyed with key ^ ipad */
	struct sha256	 out;	/* keyed with key ^ opad */
};

void	 sha256_init(struct sha256 *);
void	 sha256_update(struct sha256 *, const void *, size_t);
void	 sha256_final(struct sha256 *, unsigned char out[SHA256_LEN]);
void	 sha256(const void *, size_t, unsigned char out[SHA256_LEN]);

void	 hmac_sha256_init(struct hmac_sha256 *, const void *key, size_t);
void	 hmac_sha256_update(struct hmac_sha256 *, const void *, size_t);
void	 hmac_sha256_final(struct hmac_sha256 *, unsigned char out[SHA256_LEN]);
void	 hmac_sha256(const void *key, size_t keylen, const void *, size_t,
	    unsigned char out[SHA256_LEN]);

#endif
