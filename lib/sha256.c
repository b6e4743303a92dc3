/*
 * sha256: SHA-256 as FIPS 180-4 §6.2 writes it, and HMAC over it.
 *
 * Ours rather than libcrypto's because merely linking libcrypto costs
 * a process millions of instructions in the dynamic loader, and its
 * first digest millions more, where a whole page may spend 2.5 million;
 * most pages need nothing but the hash of a session id.  Plain C, no
 * tables beyond the round constants: a page hashes a few hundred bytes.
 */
#include <string.h>

#include "sha256.h"

/*
 * FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes.
 */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n)	((x) >> (n) | (x) << (32 - (n)))
#define CH(x, y, z)	(((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z)	(((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x)	(ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x)	(ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x)	(ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x)	(ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static uint32_t
load32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
store32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* FIPS 180-4 §6.2.2: fold one 64-byte block into the state h. */
static void
compress(uint32_t h[8], const unsigned char *blk)
{
	uint32_t	 w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int		 i;

	for (i = 0; i < 16; i++)
		w[i] = load32(blk + 4 * i);
	for (; i < 64; i++)
		w[i] = SSIG1(w[i - 2]) + w[i - 7] + SSIG0(w[i - 15]) +
		    w[i - 16];
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + BSIG1(e) + CH(e, f, g) + K[i] + w[i];
		t2 = BSIG0(a) + MAJ(a, b, c);
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

/* FIPS 180-4 §5.3.3: the initial hash value. */
void
sha256_init(struct sha256 *c)
{
	static const uint32_t	 iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->h, iv, sizeof(c->h));
	c->len = 0;
	c->n = 0;
}

/*
 * Hash n more bytes at d: whole blocks straight from d, the rest kept
 * in c->buf until the next call completes the block.
 */
void
sha256_update(struct sha256 *c, const void *d, size_t n)
{
	const unsigned char	*p = d;
	size_t			 k;

	if (n == 0)
		return;
	c->len += n;
	if (c->n > 0) {
		k = SHA256_BLOCK - c->n < n ? SHA256_BLOCK - c->n : n;
		memcpy(c->buf + c->n, p, k);
		c->n += k;
		p += k;
		n -= k;
		if (c->n < SHA256_BLOCK)
			return;
		compress(c->h, c->buf);
		c->n = 0;
	}
	for (; n >= SHA256_BLOCK; p += SHA256_BLOCK, n -= SHA256_BLOCK)
		compress(c->h, p);
	memcpy(c->buf, p, n);
	c->n = n;
}

/*
 * FIPS 180-4 §5.1.1 padding: a 1 bit, zeros, and the length in bits
 * as 64 big-endian bits ending a block.  The context is wiped because
 * it holds the tail of the input, which may be a secret (a PKCE
 * verifier, a password in an HMAC key).
 */
void
sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN])
{
	uint64_t	 bits = c->len * 8;
	int		 i;

	c->buf[c->n++] = 0x80;
	if (c->n > SHA256_BLOCK - 8) {
		memset(c->buf + c->n, 0, SHA256_BLOCK - c->n);
		compress(c->h, c->buf);
		c->n = 0;
	}
	memset(c->buf + c->n, 0, SHA256_BLOCK - 8 - c->n);
	for (i = 0; i < 8; i++)
		c->buf[SHA256_BLOCK - 8 + i] =
		    (unsigned char)(bits >> (56 - 8 * i));
	compress(c->h, c->buf);
	for (i = 0; i < 8; i++)
		store32(out + 4 * i, c->h[i]);
	explicit_bzero(c, sizeof(*c));
}

void
sha256(const void *d, size_t n, unsigned char out[SHA256_LEN])
{
	struct sha256	 c;

	sha256_init(&c);
	sha256_update(&c, d, n);
	sha256_final(&c, out);
}

/*
 * RFC 2104: H(K ^ opad || H(K ^ ipad || text)), with a key longer than
 * a block replaced by its hash.  Both padded keys are hashed here, so a
 * copy of the context after init starts a new message under the same
 * key without redoing that work.
 */
void
hmac_sha256_init(struct hmac_sha256 *m, const void *key, size_t keylen)
{
	unsigned char	 k[SHA256_BLOCK];
	size_t		 i;

	memset(k, 0, sizeof(k));
	if (keylen > SHA256_BLOCK)
		sha256(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof(k); i++)
		k[i] ^= 0x36;
	sha256_init(&m->in);
	sha256_update(&m->in, k, sizeof(k));
	for (i = 0; i < sizeof(k); i++)
		k[i] ^= 0x36 ^ 0x5c;
	sha256_init(&m->out);
	sha256_update(&m->out, k, sizeof(k));
	explicit_bzero(k, sizeof(k));
}

void
hmac_sha256_update(struct hmac_sha256 *m, const void *d, size_t n)
{
	sha256_update(&m->in, d, n);
}

void
hmac_sha256_final(struct hmac_sha256 *m, unsigned char out[SHA256_LEN])
{
	unsigned char	 ih[SHA256_LEN];

	sha256_final(&m->in, ih);
	sha256_update(&m->out, ih, sizeof(ih));
	sha256_final(&m->out, out);
	explicit_bzero(ih, sizeof(ih));
}

void
hmac_sha256(const void *key, size_t keylen, const void *d, size_t n,
    unsigned char out[SHA256_LEN])
{
	struct hmac_sha256	 m;

	hmac_sha256_init(&m, key, keylen);
	hmac_sha256_update(&m, d, n);
	hmac_sha256_final(&m, out);
}
