/*
 * crypto: what every page may need, none of it from libcrypto, so that
 * a page that only hashes a session id or makes a token never loads it
 * (sealing is in seal.c, password hashing in pw.c).
 */
#include <sys/random.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sha256.h"

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * Fill buf with n bytes from the kernel's CSPRNG.  getrandom may return
 * fewer bytes than asked (large requests, signals), so it loops.
 * Returns 0 on success, -1 with errno set.
 */
int
crypto_random(void *buf, size_t n)
{
	unsigned char	*p = buf;
	ssize_t		 r;

	while (n > 0) {
		r = getrandom(p, n, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * Length of the base64 text for n bytes, without the NUL; 0 when it
 * would not fit in a size_t.
 */
static size_t
b64_len(size_t n, int pad)
{
	if (n / 3 >= SIZE_MAX / 4 - 1)
		return 0;
	if (pad || n % 3 == 0)
		return (n + 2) / 3 * 4;
	return n / 3 * 4 + n % 3 + 1;
}

/* Write the base64 text of src into dst, which has room for b64_len + 1. */
static void
b64_enc(const unsigned char *src, size_t n, const char *alpha, int pad,
    char *dst)
{
	uint32_t	 v;

	for (; n >= 3; src += 3, n -= 3) {
		v = (uint32_t)src[0] << 16 | (uint32_t)src[1] << 8 | src[2];
		*dst++ = alpha[v >> 18];
		*dst++ = alpha[v >> 12 & 0x3f];
		*dst++ = alpha[v >> 6 & 0x3f];
		*dst++ = alpha[v & 0x3f];
	}
	if (n > 0) {
		v = (uint32_t)src[0] << 16;
		if (n == 2)
			v |= (uint32_t)src[1] << 8;
		*dst++ = alpha[v >> 18];
		*dst++ = alpha[v >> 12 & 0x3f];
		if (n == 2)
			*dst++ = alpha[v >> 6 & 0x3f];
		else if (pad)
			*dst++ = '=';
		if (pad)
			*dst++ = '=';
	}
	*dst = '\0';
}

/* Returns the malloc'd encoding (caller frees), NULL on failure. */
static char *
b64_alloc(const void *src, size_t n, const char *alpha, int pad)
{
	size_t	 len = b64_len(n, pad);
	char	*s;

	if (len == 0 && n > 0)
		return NULL;
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	b64_enc(src, n, alpha, pad, s);
	return s;
}

/* Returns the malloc'd unpadded base64url of src; caller frees. */
char *
b64url_encode(const void *src, size_t n)
{
	return b64_alloc(src, n, b64url, 0);
}

/* Returns the malloc'd padded RFC 4648 base64 of src; caller frees. */
char *
b64_encode(const void *src, size_t n)
{
	return b64_alloc(src, n, b64std, 1);
}

/* The 6-bit value of a base64url character, -1 for anything else. */
static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Length of the bytes that the base64url text s of length len decodes
 * to, or -1 if s is not the canonical unpadded encoding of anything: a
 * character outside the alphabet (padding included), a length no
 * encoder produces, or non-zero bits left over in the last character.
 * Rejecting the last case keeps one encoding per value, so two texts
 * that differ never decode to the same secret.
 */
static ssize_t
b64url_check(const char *s, size_t len)
{
	size_t	 i;
	int	 last = 0;

	if (len % 4 == 1 || len / 4 > SSIZE_MAX / 3)
		return -1;
	for (i = 0; i < len; i++)
		if ((last = b64url_val((unsigned char)s[i])) == -1)
			return -1;
	if ((len % 4 == 2 && (last & 0x0f)) || (len % 4 == 3 && (last & 0x03)))
		return -1;
	return (ssize_t)(len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0));
}

/*
 * Decode the unpadded base64url string s.  Returns 0 and sets *out to a
 * malloc'd buffer (caller frees) of *outlen bytes, followed by a NUL
 * that is not counted; returns -1 with *out NULL when s is not strictly
 * canonical (see b64url_check) or on allocation failure.
 */
int
b64url_decode(const char *s, unsigned char **out, size_t *outlen)
{
	size_t		 len = strlen(s), i;
	ssize_t		 n;
	unsigned char	*p, *d;
	uint32_t	 v = 0;
	int		 bits = 0;

	*out = NULL;
	*outlen = 0;
	if ((n = b64url_check(s, len)) == -1)
		return -1;
	if ((p = malloc((size_t)n + 1)) == NULL)
		return -1;
	for (d = p, i = 0; i < len; i++) {
		v = v << 6 | (uint32_t)b64url_val((unsigned char)s[i]);
		if ((bits += 6) >= 8) {
			bits -= 8;
			*d++ = (unsigned char)(v >> bits);
		}
	}
	*d = '\0';
	*out = p;
	*outlen = (size_t)n;
	return 0;
}

/*
 * A base64url string of nbytes fresh random bytes, malloc'd (caller
 * frees); NULL on failure.  A token of no bytes is a caller's bug, not
 * an empty secret, so nbytes 0 fails too.
 */
char *
crypto_token(size_t nbytes)
{
	unsigned char	*r;
	char		*s = NULL;

	if (nbytes == 0 || (r = malloc(nbytes)) == NULL)
		return NULL;
	if (crypto_random(r, nbytes) == 0)
		s = b64url_encode(r, nbytes);
	explicit_bzero(r, nbytes);
	free(r);
	return s;
}

void
crypto_sha256(const void *d, size_t n, unsigned char out[32])
{
	sha256(d, n, out);
}

/* Lower-case hex SHA-256 of d, malloc'd (caller frees); NULL on failure. */
char *
crypto_sha256_hex(const void *d, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[SHA256_LEN];
	char			*s;
	size_t			 i;

	if ((s = malloc(2 * sizeof(md) + 1)) == NULL)
		return NULL;
	crypto_sha256(d, n, md);
	for (i = 0; i < sizeof(md); i++) {
		s[2 * i] = hex[md[i] >> 4];
		s[2 * i + 1] = hex[md[i] & 0x0f];
	}
	s[2 * i] = '\0';
	return s;
}

/* The S256 challenge for verifier, malloc'd (caller frees); NULL on failure. */
char *
crypto_pkce_challenge(const char *verifier)
{
	unsigned char	 md[SHA256_LEN];

	crypto_sha256(verifier, strlen(verifier), md);
	return b64url_encode(md, sizeof(md));
}

/*
 * Every byte is read whatever the earlier ones were, so the time taken
 * does not tell how much of a guessed secret was right.  The volatile
 * reads keep the compiler from stopping at the first difference.
 */
int
crypto_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char	*p = a, *q = b;
	unsigned char			 d = 0;
	size_t				 i;

	for (i = 0; i < n; i++)
		d |= p[i] ^ q[i];
	return d == 0;
}
