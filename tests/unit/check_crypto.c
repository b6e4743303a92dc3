/*
 * crypto: known answers from the RFCs and the GCM specification, the
 * strictness of the decoders, sealing failures, and the key file
 * checks.  Key files live in a fresh temporary directory per test.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "sha256.h"
#include "suites.h"

static char	 tmpdir[64];

static void
setup_dir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_crypto.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown_dir(void)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[sizeof(tmpdir) + sizeof(e->d_name) + 1];

	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		if (unlink(p) == -1)
			rmdir(p);
	}
	closedir(d);
	rmdir(tmpdir);
}

/*
 * A path in the test's directory, in static storage that the next call
 * but one reuses, so two results can be passed to the same call.
 */
static const char *
path_of(const char *name)
{
	static char	 p[2][256];
	static int	 i;

	i = !i;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
	return p[i];
}

static size_t
unhex(const char *h, unsigned char *out)
{
	size_t		 n;
	unsigned int	 v;

	for (n = 0; h[2 * n] != '\0'; n++) {
		ck_assert_int_eq(sscanf(h + 2 * n, "%2x", &v), 1);
		out[n] = (unsigned char)v;
	}
	return n;
}

static void
write_file(const char *path, const void *d, size_t n, mode_t mode)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, d, n), (ssize_t)n);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

#define NIST_KEY "feffe9928665731c6d6a8f9467308308" \
		 "feffe9928665731c6d6a8f9467308308"

/* Writes a key file of the given hex bytes and loads it. */
static struct crypto_key *
load_hex_key(const char *name, const char *hex)
{
	unsigned char		 k[32];
	struct crypto_key	*key;
	char			 err[256];

	ck_assert_uint_eq(unhex(hex, k), 32);
	write_file(path_of(name), k, sizeof(k), 0600);
	ck_assert_msg(crypto_key_load(path_of(name), &key, err,
	    sizeof(err)) == 0, "%s", err);
	return key;
}

/* Loads a fresh random key created under name. */
static struct crypto_key *
new_key(const char *name)
{
	struct crypto_key	*key;
	char			 err[256];

	ck_assert_msg(crypto_key_create(path_of(name), err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_msg(crypto_key_load(path_of(name), &key, err,
	    sizeof(err)) == 0, "%s", err);
	return key;
}

/* "s1." + base64url of raw; caller frees. */
static char *
sealed_of(const unsigned char *raw, size_t n)
{
	char	*b, *s;

	ck_assert_ptr_nonnull(b = b64url_encode(raw, n));
	ck_assert_ptr_nonnull(s = malloc(strlen(b) + 4));
	snprintf(s, strlen(b) + 4, "s1.%s", b);
	free(b);
	return s;
}

/* The raw bytes behind a sealed string; caller frees. */
static unsigned char *
raw_of(const char *sealed, size_t *n)
{
	unsigned char	*raw;

	ck_assert_int_eq(strncmp(sealed, "s1.", 3), 0);
	ck_assert_int_eq(b64url_decode(sealed + 3, &raw, n), 0);
	return raw;
}

static void
assert_unseal_fails(const struct crypto_key *key, const char *ad,
    const char *sealed)
{
	char	*pt = (char *)1;
	size_t	 n = 1;

	ck_assert_int_eq(crypto_unseal(key, ad, sealed, &pt, &n), -1);
	ck_assert_ptr_null(pt);
	ck_assert_uint_eq(n, 0);
}

START_TEST(test_sha256)
{
	unsigned char	 md[32], want[32];
	char		*hex;

	unhex("ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad", want);
	crypto_sha256("abc", 3, md);
	ck_assert_mem_eq(md, want, 32);
	ck_assert_ptr_nonnull(hex = crypto_sha256_hex("abc", 3));
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	free(hex);
	ck_assert_ptr_nonnull(hex = crypto_sha256_hex("", 0));
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	free(hex);
}
END_TEST

START_TEST(test_pkce)
{
	char	*c;

	c = crypto_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	free(c);
}
END_TEST

/* RFC 4648 §10, and bytes that need the alphabets' last two letters. */
static const struct {
	const char	*in;
	size_t		 len;
	const char	*b64;
	const char	*url;
} b64vec[] = {
	{ "", 0, "", "" },
	{ "f", 1, "Zg==", "Zg" },
	{ "fo", 2, "Zm8=", "Zm8" },
	{ "foo", 3, "Zm9v", "Zm9v" },
	{ "foob", 4, "Zm9vYg==", "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy", "Zm9vYmFy" },
	{ "\xfb\xff", 2, "+/8=", "-_8" },
	{ "\xfb\xef\xbe\x00", 4, "++++AA==", "----AA" },
};

START_TEST(test_b64_vectors)
{
	unsigned char	*d;
	size_t		 n;
	char		*s;

	s = b64_encode(b64vec[_i].in, b64vec[_i].len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, b64vec[_i].b64);
	free(s);
	s = b64url_encode(b64vec[_i].in, b64vec[_i].len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, b64vec[_i].url);
	free(s);
	ck_assert_int_eq(b64url_decode(b64vec[_i].url, &d, &n), 0);
	ck_assert_uint_eq(n, b64vec[_i].len);
	ck_assert_mem_eq(d, b64vec[_i].in, n);
	ck_assert_int_eq(d[n], '\0');
	free(d);
}
END_TEST

static const char *const b64bad[] = {
	"Zg==",		/* padding */
	"Zg=",
	"Z",		/* no encoder ends a group with one character */
	"Zm9vY",
	"Zh",		/* bits left over in the last character */
	"Zm9",
	"Zm+v",		/* the standard alphabet */
	"Zm/v",
	"Zm9v\n",
	"Zm 9v",
	"Zm9v.",
	"\xc3\xa9Zm9",
};

START_TEST(test_b64url_reject)
{
	unsigned char	*d = (unsigned char *)1;
	size_t		 n = 1;

	ck_assert_int_eq(b64url_decode(b64bad[_i], &d, &n), -1);
	ck_assert_ptr_null(d);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_token)
{
	char	*a, *b;
	size_t	 i;

	ck_assert_ptr_nonnull(a = crypto_token(32));
	ck_assert_ptr_nonnull(b = crypto_token(32));
	ck_assert_uint_eq(strlen(a), 43);
	for (i = 0; a[i] != '\0'; i++)
		ck_assert_ptr_nonnull(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
	ck_assert_ptr_null(crypto_token(0));
}
END_TEST

START_TEST(test_random)
{
	unsigned char	 big[1 << 16], zero[64] = { 0 };

	ck_assert_int_eq(crypto_random(big, sizeof(big)), 0);
	ck_assert_int_ne(memcmp(big, zero, sizeof(zero)), 0);
	ck_assert_int_ne(memcmp(big + sizeof(big) - sizeof(zero), zero,
	    sizeof(zero)), 0);
	ck_assert_int_eq(crypto_random(big, 0), 0);
}
END_TEST

START_TEST(test_equal)
{
	ck_assert_int_eq(crypto_equal("abcd", "abcd", 4), 1);
	ck_assert_int_eq(crypto_equal("abcd", "abce", 4), 0);
	ck_assert_int_eq(crypto_equal("xbcd", "abcd", 4), 0);
	ck_assert_int_eq(crypto_equal("a", "b", 0), 1);
}
END_TEST

/* McGrew & Viega, "The Galois/Counter Mode of Operation", Test Case 16. */
START_TEST(test_gcm_known_answer)
{
	struct crypto_key	*key;
	unsigned char		 raw[1 + 12 + 60 + 16], want[60];
	char			*sealed, *pt;
	size_t			 n, off = 0;
	const char		*ad =
	    "\xfe\xed\xfa\xce\xde\xad\xbe\xef\xfe\xed\xfa\xce\xde\xad\xbe\xef"
	    "\xab\xad\xda\xd2";

	key = load_hex_key("nist.key", NIST_KEY);
	raw[off++] = 0x01;
	off += unhex("cafebabefacedbaddecaf888", raw + off);
	off += unhex("522dc1f099567d07f47f37a32a84427d"
	    "643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838"
	    "c5f61e6393ba7a0abcc9f662", raw + off);
	off += unhex("76fc6ece0f4e1768cddf8853bb2d551b", raw + off);
	ck_assert_uint_eq(off, sizeof(raw));
	unhex("d9313225f88406e5a55909c5aff5269a"
	    "86a7a9531534f7da2e4c303d8a318a72"
	    "1c3c0c95956809532fcf0e2449a6b525"
	    "b16aedf5aa0de657ba637b39", want);

	sealed = sealed_of(raw, sizeof(raw));
	ck_assert_int_eq(crypto_is_sealed(sealed), 1);
	ck_assert_int_eq(crypto_unseal(key, ad, sealed, &pt, &n), 0);
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(pt, want, sizeof(want));
	ck_assert_int_eq(pt[n], '\0');
	free(pt);
	/* Test Case 16's data without its AAD is Test Case 15's, not this. */
	assert_unseal_fails(key, "", sealed);
	free(sealed);
	crypto_key_free(key);
}
END_TEST

START_TEST(test_seal_round_trip)
{
	struct crypto_key	*key;
	const char		*ad = "options/x-twitter_client-secret";
	char			*s, *t, *pt;
	size_t			 n;

	key = new_key("k");
	ck_assert_ptr_nonnull(s = crypto_seal(key, ad, "hunter2", 7));
	ck_assert_int_eq(strncmp(s, "s1.", 3), 0);
	ck_assert_int_eq(crypto_is_sealed(s), 1);
	ck_assert_int_eq(crypto_unseal(key, ad, s, &pt, &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(pt, "hunter2");
	free(pt);
	ck_assert_int_eq(crypto_unseal(key, ad, s, &pt, NULL), 0);
	ck_assert_str_eq(pt, "hunter2");
	free(pt);

	/* Same text, fresh nonce: the two must not be linkable. */
	ck_assert_ptr_nonnull(t = crypto_seal(key, ad, "hunter2", 7));
	ck_assert_str_ne(s, t);
	free(s);
	free(t);

	ck_assert_ptr_nonnull(s = crypto_seal(key, ad, "", 0));
	ck_assert_int_eq(crypto_unseal(key, ad, s, &pt, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(pt, "");
	free(pt);
	free(s);

	ck_assert_ptr_nonnull(s = crypto_seal(key, ad, "a\0b", 3));
	ck_assert_int_eq(crypto_unseal(key, ad, s, &pt, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(pt, "a\0b", 4);
	free(pt);
	free(s);
	crypto_key_free(key);
}
END_TEST

START_TEST(test_unseal_refuses)
{
	struct crypto_key	*key, *other;
	const char		*ad = "channels/42/access_token";
	unsigned char		*raw;
	size_t			 i, n, len;
	char			*s, *t;

	key = new_key("k");
	other = new_key("other");
	ck_assert_ptr_nonnull(s = crypto_seal(key, ad, "token-value", 11));
	len = strlen(s);

	assert_unseal_fails(key, "channels/43/access_token", s);
	assert_unseal_fails(key, "", s);
	assert_unseal_fails(other, ad, s);

	/* Every byte after the key id is covered: nonce, text and tag. */
	raw = raw_of(s, &n);
	for (i = 1; i < n; i++) {
		raw[i] ^= 0x01;
		t = sealed_of(raw, n);
		assert_unseal_fails(key, ad, t);
		free(t);
		raw[i] ^= 0x01;
	}
	raw[0] = 2;
	t = sealed_of(raw, n);
	assert_unseal_fails(key, ad, t);
	free(t);
	raw[0] = 1;
	t = sealed_of(raw, n - 1);
	assert_unseal_fails(key, ad, t);
	free(t);
	/* Too short for a key id, nonce and tag. */
	t = sealed_of(raw, 28);
	assert_unseal_fails(key, ad, t);
	ck_assert_int_eq(crypto_is_sealed(t), 0);
	free(t);
	free(raw);

	s[len - 1] = '\0';
	assert_unseal_fails(key, ad, s);
	s[1] = '2';
	assert_unseal_fails(key, ad, s);
	assert_unseal_fails(key, ad, "s1.");
	assert_unseal_fails(key, ad, "s1.!!!!");
	assert_unseal_fails(key, ad, "hunter2");
	assert_unseal_fails(key, ad, "");
	free(s);
	crypto_key_free(key);
	crypto_key_free(other);
}
END_TEST

START_TEST(test_is_sealed)
{
	unsigned char	 raw[29] = { 1 };
	char		*s, *padded;
	size_t		 len;

	s = sealed_of(raw, sizeof(raw));
	ck_assert_int_eq(crypto_is_sealed(s), 1);
	len = strlen(s);
	ck_assert_ptr_nonnull(padded = malloc(len + 2));
	snprintf(padded, len + 2, "%s=", s);
	ck_assert_int_eq(crypto_is_sealed(padded), 0);
	free(padded);
	s[len - 1] = '+';
	ck_assert_int_eq(crypto_is_sealed(s), 0);
	s[len - 1] = 'A';
	s[1] = '2';
	ck_assert_int_eq(crypto_is_sealed(s), 0);
	free(s);
	ck_assert_int_eq(crypto_is_sealed(""), 0);
	ck_assert_int_eq(crypto_is_sealed("s1."), 0);
	ck_assert_int_eq(crypto_is_sealed("plain secret"), 0);
}
END_TEST

/* err names the file and is one line. */
static void
assert_key_refused(const char *path, const char *why)
{
	struct crypto_key	*key = (struct crypto_key *)1;
	char			 err[512];

	err[0] = '\0';
	ck_assert_int_eq(crypto_key_load(path, &key, err, sizeof(err)), -1);
	ck_assert_ptr_null(key);
	ck_assert_msg(strstr(err, path) != NULL, "no path in \"%s\"", err);
	ck_assert_msg(strstr(err, why) != NULL, "\"%s\" lacks \"%s\"", err,
	    why);
	ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_key_mode)
{
	unsigned char		 k[32] = { 0 };
	struct crypto_key	*key;
	char			 err[256];

	write_file(path_of("k"), k, sizeof(k), 0644);
	assert_key_refused(path_of("k"), "mode 0644");
	write_file(path_of("k"), k, sizeof(k), 0640);
	assert_key_refused(path_of("k"), "mode 0640");
	write_file(path_of("k"), k, sizeof(k), 0700);
	assert_key_refused(path_of("k"), "mode 0700");
	write_file(path_of("k"), k, sizeof(k), 0400);
	ck_assert_int_eq(crypto_key_load(path_of("k"), &key, err,
	    sizeof(err)), 0);
	crypto_key_free(key);
}
END_TEST

START_TEST(test_key_length)
{
	unsigned char	 k[33] = { 0 };

	write_file(path_of("k"), k, 31, 0600);
	assert_key_refused(path_of("k"), "shorter than 32 bytes");
	write_file(path_of("k"), k, 33, 0600);
	assert_key_refused(path_of("k"), "longer than 32 bytes");
	write_file(path_of("k"), k, 0, 0600);
	assert_key_refused(path_of("k"), "shorter");
}
END_TEST

START_TEST(test_key_not_a_file)
{
	unsigned char	 k[32] = { 0 };

	write_file(path_of("real"), k, sizeof(k), 0600);
	ck_assert_int_eq(symlink(path_of("real"), path_of("link")), 0);
	assert_key_refused(path_of("link"), "symbolic link");
	ck_assert_int_eq(mkdir(path_of("dir"), 0700), 0);
	assert_key_refused(path_of("dir"), "not a regular file");
	/* A FIFO with no writer must be refused, not waited on. */
	ck_assert_int_eq(mkfifo(path_of("fifo"), 0600), 0);
	assert_key_refused(path_of("fifo"), "not a regular file");
	assert_key_refused(path_of("missing"), "No such file");
}
END_TEST

/* Only root can give a file away; elsewhere this test has nothing to do. */
START_TEST(test_key_owner)
{
	unsigned char	 k[32] = { 0 };

	if (geteuid() != 0)
		return;
	write_file(path_of("k"), k, sizeof(k), 0600);
	ck_assert_int_eq(chown(path_of("k"), 65534, 65534), 0);
	assert_key_refused(path_of("k"), "owned by uid 65534");
}
END_TEST

START_TEST(test_key_create)
{
	struct crypto_key	*key;
	struct stat		 st;
	unsigned char		 before[32], after[32];
	char			 err[256];
	mode_t			 old;
	int			 fd;

	/* Whatever the umask, the file ends up 0600. */
	old = umask(0777);
	ck_assert_msg(crypto_key_create(path_of("k"), err, sizeof(err)) == 0,
	    "%s", err);
	umask(old);
	ck_assert_int_eq(stat(path_of("k"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, 32);
	ck_assert_int_eq(crypto_key_load(path_of("k"), &key, err,
	    sizeof(err)), 0);
	crypto_key_free(key);

	ck_assert_int_ne(fd = open(path_of("k"), O_RDONLY), -1);
	ck_assert_int_eq(read(fd, before, 32), 32);
	close(fd);
	err[0] = '\0';
	ck_assert_int_eq(crypto_key_create(path_of("k"), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, path_of("k")));
	ck_assert_int_ne(fd = open(path_of("k"), O_RDONLY), -1);
	ck_assert_int_eq(read(fd, after, 32), 32);
	close(fd);
	ck_assert_mem_eq(before, after, 32);

	/* A dangling link is not followed to create its target. */
	ck_assert_int_eq(symlink(path_of("target"), path_of("link")), 0);
	ck_assert_int_eq(crypto_key_create(path_of("link"), err, sizeof(err)),
	    -1);
	ck_assert_int_eq(access(path_of("target"), F_OK), -1);

	ck_assert_int_eq(crypto_key_create(path_of("none/k"), err,
	    sizeof(err)), -1);
}
END_TEST

/*
 * A key file in the format with a header, from (id, fill byte) pairs,
 * with a right checksum unless broken.
 */
static void
write_keys(const char *path, const unsigned char *ids,
    const unsigned char *fill, size_t n, int broken)
{
	unsigned char	 b[8 + 16 * 33 + 32];
	size_t		 len = 8, i;

	memcpy(b, "SBKEYS1\n", 8);
	for (i = 0; i < n; i++) {
		b[len] = ids[i];
		memset(b + len + 1, fill[i], 32);
		len += 33;
	}
	sha256(b, len, b + len);
	if (broken)
		b[len + 5] ^= 1;
	write_file(path, b, len + 32, 0600);
}

START_TEST(test_key_rotation)
{
	struct crypto_key	*key, *again;
	struct stat		 st;
	const char		*ad = "channels/acme/7/secret";
	unsigned char		 mac1[32], mac2[32], mac3[32];
	char			*a, *b, *pt, err[256];
	size_t			 n;

	key = new_key("k");
	ck_assert_uint_eq(crypto_key_count(key), 1);
	ck_assert_uint_eq(crypto_key_current(key), 1);
	ck_assert_ptr_nonnull(a = crypto_seal(key, ad, "old-token", 9));
	ck_assert_int_eq(crypto_sealed_id(a), 1);
	crypto_key_mac(key, "oauth-pkce-verifier", "state", mac1);

	/* A new key seals from now on; the old one still opens. */
	ck_assert_int_eq(crypto_key_add(key, err, sizeof(err)), 0);
	ck_assert_uint_eq(crypto_key_count(key), 2);
	ck_assert_uint_eq(crypto_key_current(key), 2);
	ck_assert_ptr_nonnull(b = crypto_seal(key, ad, "new-token", 9));
	ck_assert_int_eq(crypto_sealed_id(b), 2);
	crypto_key_mac(key, "oauth-pkce-verifier", "state", mac2);
	ck_assert_int_ne(memcmp(mac1, mac2, 32), 0);
	ck_assert_int_eq(crypto_unseal(key, ad, a, &pt, &n), 0);
	ck_assert_str_eq(pt, "old-token");
	free(pt);

	/* Saved and loaded again: both keys, the same current one. */
	ck_assert_msg(crypto_key_save(path_of("k"), key, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat(path_of("k"), &st), 0);
	ck_assert_int_eq(st.st_size, 8 + 2 * 33 + 32);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(access(path_of("k.tmp"), F_OK), -1);
	ck_assert_msg(crypto_key_load(path_of("k"), &again, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(crypto_key_count(again), 2);
	ck_assert_uint_eq(crypto_key_id(again, 0), 1);
	ck_assert_uint_eq(crypto_key_id(again, 1), 2);
	crypto_key_mac(again, "oauth-pkce-verifier", "state", mac3);
	ck_assert_mem_eq(mac2, mac3, 32);
	ck_assert_int_eq(crypto_unseal(again, ad, a, &pt, &n), 0);
	free(pt);
	ck_assert_int_eq(crypto_unseal(again, ad, b, &pt, &n), 0);
	ck_assert_str_eq(pt, "new-token");
	free(pt);
	crypto_key_free(again);

	/* Retired: only the new key is left, and a 0400 file stays 0400. */
	ck_assert_int_eq(chmod(path_of("k"), 0400), 0);
	crypto_key_retire(key);
	ck_assert_uint_eq(crypto_key_count(key), 1);
	ck_assert_msg(crypto_key_save(path_of("k"), key, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat(path_of("k"), &st), 0);
	ck_assert_int_eq(st.st_size, 8 + 33 + 32);
	ck_assert_uint_eq(st.st_mode & 07777, 0400);
	ck_assert_msg(crypto_key_load(path_of("k"), &again, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(crypto_key_current(again), 2);
	assert_unseal_fails(again, ad, a);
	ck_assert_int_eq(crypto_unseal(again, ad, b, &pt, &n), 0);
	free(pt);
	crypto_key_free(again);
	crypto_key_free(key);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_key_ids)
{
	struct crypto_key	*key;
	unsigned char		 ids[2] = { 255, 1 }, fill[2] = { 7, 9 };
	char			 err[256];
	int			 i;

	/* After 255 comes 1, then the first id not in the file. */
	write_keys(path_of("k"), ids, fill, 1, 0);
	ck_assert_msg(crypto_key_load(path_of("k"), &key, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(crypto_key_current(key), 255);
	ck_assert_int_eq(crypto_key_add(key, err, sizeof(err)), 0);
	ck_assert_uint_eq(crypto_key_current(key), 1);
	crypto_key_free(key);
	write_keys(path_of("k"), ids, fill, 2, 0);
	ck_assert_int_eq(crypto_key_load(path_of("k"), &key, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(crypto_key_add(key, err, sizeof(err)), 0);
	ck_assert_uint_eq(crypto_key_current(key), 2);
	for (i = 3; i <= 16; i++)
		ck_assert_int_eq(crypto_key_add(key, err, sizeof(err)),
		    i < 16 ? 0 : -1);
	ck_assert_ptr_nonnull(strstr(err, "16 keys"));
	crypto_key_free(key);

	ck_assert_int_eq(crypto_sealed_id(
	    "s1.AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 2);
	ck_assert_int_eq(crypto_sealed_id("s1.AgAA"), -1);
	ck_assert_int_eq(crypto_sealed_id("plain"), -1);
}
END_TEST

START_TEST(test_key_damaged)
{
	unsigned char	 ids[2] = { 1, 1 }, fill[2] = { 1, 2 }, b[80];
	unsigned char	 zero = 0;

	write_keys(path_of("k"), ids, fill, 1, 1);
	assert_key_refused(path_of("k"), "damaged (checksum");
	write_keys(path_of("k"), ids, fill, 2, 0);
	assert_key_refused(path_of("k"), "key id 1 twice");
	write_keys(path_of("k"), &zero, fill, 1, 0);
	assert_key_refused(path_of("k"), "key id 0");
	/* Cut short: not a whole number of keys. */
	memcpy(b, "SBKEYS1\n", 8);
	memset(b + 8, 3, sizeof(b) - 8);
	write_file(path_of("k"), b, sizeof(b), 0600);
	assert_key_refused(path_of("k"), "damaged");
	/* A longer file without the header is what it always was. */
	write_file(path_of("k"), b + 8, 40, 0600);
	assert_key_refused(path_of("k"), "longer than 32 bytes");
}
END_TEST

Suite *
suite_crypto(void)
{
	Suite	*s = suite_create("crypto");
	TCase	*tc;

	tc = tcase_create("encodings");
	tcase_add_test(tc, test_sha256);
	tcase_add_test(tc, test_pkce);
	tcase_add_loop_test(tc, test_b64_vectors, 0,
	    sizeof(b64vec) / sizeof(b64vec[0]));
	tcase_add_loop_test(tc, test_b64url_reject, 0,
	    sizeof(b64bad) / sizeof(b64bad[0]));
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);

	tc = tcase_create("seal");
	tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_test(tc, test_gcm_known_answer);
	tcase_add_test(tc, test_seal_round_trip);
	tcase_add_test(tc, test_unseal_refuses);
	tcase_add_test(tc, test_is_sealed);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_test(tc, test_key_mode);
	tcase_add_test(tc, test_key_length);
	tcase_add_test(tc, test_key_not_a_file);
	tcase_add_test(tc, test_key_owner);
	tcase_add_test(tc, test_key_create);
	tcase_add_test(tc, test_key_rotation);
	tcase_add_test(tc, test_key_ids);
	tcase_add_test(tc, test_key_damaged);
	suite_add_tcase(s, tc);
	return s;
}
