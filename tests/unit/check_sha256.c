/*
 * sha256: the FIPS 180-2 appendix messages (as NIST's examples and RFC
 * 6234 repeat them), HMAC-SHA256 from RFC 4231, and incremental
 * hashing against one-shot hashing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "suites.h"

static void
unhex(const char *h, unsigned char out[SHA256_LEN])
{
	size_t		 n;
	unsigned int	 v;

	ck_assert_uint_eq(strlen(h), 2 * SHA256_LEN);
	for (n = 0; n < SHA256_LEN; n++) {
		ck_assert_int_eq(sscanf(h + 2 * n, "%2x", &v), 1);
		out[n] = (unsigned char)v;
	}
}

static const struct {
	const char	*msg;
	const char	*md;
} vec[] = {
	{ "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	/* 448 bits: the padding no longer fits the last block. */
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	/* 896 bits: a whole block, then one padded. */
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

START_TEST(test_vectors)
{
	unsigned char	 md[SHA256_LEN], want[SHA256_LEN];

	unhex(vec[_i].md, want);
	sha256(vec[_i].msg, strlen(vec[_i].msg), md);
	ck_assert_mem_eq(md, want, SHA256_LEN);
}
END_TEST

/* One million 'a', in one call and in pieces that straddle blocks. */
START_TEST(test_million_a)
{
	struct sha256	 c;
	unsigned char	 md[SHA256_LEN], want[SHA256_LEN], *m;
	size_t		 off, n;

	unhex("cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0", want);
	ck_assert_ptr_nonnull(m = malloc(1000000));
	memset(m, 'a', 1000000);
	sha256(m, 1000000, md);
	ck_assert_mem_eq(md, want, SHA256_LEN);
	sha256_init(&c);
	for (off = 0; off < 1000000; off += n) {
		n = 1000000 - off < 1000 ? 1000000 - off : 1000;
		sha256_update(&c, m + off, n);
	}
	sha256_final(&c, md);
	ck_assert_mem_eq(md, want, SHA256_LEN);
	free(m);
}
END_TEST

/*
 * 200 bytes (three blocks and a bit) split in two at every offset, so
 * every way a partial block can meet the next call is taken, and fed
 * a byte at a time.
 */
START_TEST(test_incremental)
{
	struct sha256	 c;
	unsigned char	 m[200], md[SHA256_LEN], want[SHA256_LEN];
	size_t		 i;

	for (i = 0; i < sizeof(m); i++)
		m[i] = (unsigned char)(i * 131 + 7);
	sha256(m, sizeof(m), want);
	for (i = 0; i <= sizeof(m); i++) {
		sha256_init(&c);
		sha256_update(&c, m, i);
		sha256_update(&c, m + i, sizeof(m) - i);
		sha256_final(&c, md);
		ck_assert_msg(memcmp(md, want, SHA256_LEN) == 0,
		    "split at %zu differs", i);
	}
	sha256_init(&c);
	for (i = 0; i < sizeof(m); i++)
		sha256_update(&c, m + i, 1);
	sha256_final(&c, md);
	ck_assert_mem_eq(md, want, SHA256_LEN);
}
END_TEST

/*
 * RFC 4231 §4; case 5 (a truncated tag) has nothing more to test here.
 * The RFC's long inputs are runs of one byte: NULL with that byte.
 */
static const struct {
	const char	*key;
	size_t		 keylen;
	unsigned char	 keyrun;
	const char	*data;
	size_t		 datalen;
	unsigned char	 datarun;
	const char	*mac;
} hvec[] = {
	{ NULL, 20, 0x0b, "Hi There", 8, 0,
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ "Jefe", 4, 0, "what do ya want for nothing?", 28, 0,
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ NULL, 20, 0xaa, NULL, 50, 0xdd,
	  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	{ "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d"
	  "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19", 25, 0,
	  NULL, 50, 0xcd,
	  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
	/* Keys longer than a block are hashed first. */
	{ NULL, 131, 0xaa,
	  "Test Using Larger Than Block-Size Key - Hash Key First", 54, 0,
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	{ NULL, 131, 0xaa,
	  "This is a test using a larger than block-size key and a larger "
	  "than block-size data. The key needs to be hashed before being "
	  "used by the HMAC algorithm.", 152, 0,
	  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
};

/* In one call, and fed a byte at a time. */
START_TEST(test_hmac)
{
	struct hmac_sha256	 m;
	unsigned char		 key[131], data[152];
	unsigned char		 mac[SHA256_LEN], want[SHA256_LEN];
	size_t			 i;

	if (hvec[_i].key != NULL)
		memcpy(key, hvec[_i].key, hvec[_i].keylen);
	else
		memset(key, hvec[_i].keyrun, hvec[_i].keylen);
	if (hvec[_i].data != NULL)
		memcpy(data, hvec[_i].data, hvec[_i].datalen);
	else
		memset(data, hvec[_i].datarun, hvec[_i].datalen);
	unhex(hvec[_i].mac, want);

	hmac_sha256(key, hvec[_i].keylen, data, hvec[_i].datalen, mac);
	ck_assert_mem_eq(mac, want, SHA256_LEN);
	hmac_sha256_init(&m, key, hvec[_i].keylen);
	for (i = 0; i < hvec[_i].datalen; i++)
		hmac_sha256_update(&m, data + i, 1);
	hmac_sha256_final(&m, mac);
	ck_assert_mem_eq(mac, want, SHA256_LEN);
}
END_TEST

/* A keyed context copied after init serves two messages (sha256.h). */
START_TEST(test_hmac_copy)
{
	struct hmac_sha256	 keyed, m;
	unsigned char		 mac[SHA256_LEN], want[SHA256_LEN];

	hmac_sha256_init(&keyed, "Jefe", 4);
	m = keyed;
	hmac_sha256_update(&m, "Hi There", 8);
	hmac_sha256_final(&m, mac);
	hmac_sha256("Jefe", 4, "Hi There", 8, want);
	ck_assert_mem_eq(mac, want, SHA256_LEN);
	m = keyed;
	hmac_sha256_update(&m, "what do ya want for nothing?", 28);
	hmac_sha256_final(&m, mac);
	unhex(hvec[1].mac, want);
	ck_assert_mem_eq(mac, want, SHA256_LEN);
}
END_TEST

Suite *
suite_sha256(void)
{
	Suite	*s = suite_create("sha256");
	TCase	*tc;

	tc = tcase_create("sha256");
	tcase_add_loop_test(tc, test_vectors, 0, sizeof(vec) / sizeof(vec[0]));
	tcase_add_test(tc, test_million_a);
	tcase_add_test(tc, test_incremental);
	suite_add_tcase(s, tc);

	tc = tcase_create("hmac");
	tcase_add_loop_test(tc, test_hmac, 0, sizeof(hvec) / sizeof(hvec[0]));
	tcase_add_test(tc, test_hmac_copy);
	suite_add_tcase(s, tc);
	return s;
}
