/*
 * fuzz_unseal: opening sealed secrets, and the base64url under them.
 *
 * A sealed value comes back from the store, which an attacker with
 * write access to the data directory (or a bug elsewhere) controls, so
 * crypto_unseal must refuse anything it did not seal, without reading
 * out of bounds.  The input, cut at its first NUL as a stored string
 * is, goes through b64url_decode (which must accept only the one
 * canonical encoding of a value), crypto_is_sealed and crypto_unseal
 * under two associated data.  Then the raw input is sealed and must
 * open again to the same bytes, under its own associated data only,
 * and not at all once one character of it is changed.
 *
 * The key is fixed, so that sealed seeds in the corpus open and the
 * fuzzer can start from the inside of the format.  The key file is
 * made once, loaded and removed at once: nothing is left behind, even
 * when a crash ends the process.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "fuzz.h"

static const char *const ads[2] = {
	"options/x-twitter_client-secret", "channels/1/access_token"
};

static struct crypto_key	*key;

static void
init(void)
{
	unsigned char	 k[32];
	const char	*tmp = getenv("TMPDIR");
	char		 dir[512], path[600], err[256];
	size_t		 i;
	int		 fd;

	for (i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)(0xA0 + i);	/* the test key */
	snprintf(dir, sizeof(dir), "%s/sosyabot-fuzz-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		abort();
	}
	snprintf(path, sizeof(path), "%s/master.key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1 ||
	    write(fd, k, sizeof(k)) != (ssize_t)sizeof(k) || close(fd) == -1) {
		perror(path);
		abort();
	}
	if (crypto_key_load(path, &key, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	unlink(path);
	rmdir(dir);
}

static void
check_b64(const char *s)
{
	unsigned char	*raw;
	char		*again;
	size_t		 n;

	if (b64url_decode(s, &raw, &n) == -1) {
		FUZZ_CHECK(raw == NULL && n == 0);
		return;
	}
	FUZZ_CHECK(raw != NULL && raw[n] == '\0');
	if ((again = b64url_encode(raw, n)) != NULL) {
		/* One value, one text: anything else would not decode. */
		FUZZ_CHECK(strcmp(again, s) == 0);
		free(again);
	}
	free(raw);
}

static void
check_unseal(const char *s)
{
	char	*pt;
	size_t	 i, n;
	int	 opened = 0;

	for (i = 0; i < 2; i++) {
		if (crypto_unseal(key, ads[i], s, &pt, &n) == -1) {
			FUZZ_CHECK(pt == NULL && n == 0);
			continue;
		}
		opened++;
		FUZZ_CHECK(crypto_is_sealed(s));
		FUZZ_CHECK(pt[n] == '\0');
		explicit_bzero(pt, n);
		free(pt);
	}
	FUZZ_CHECK(opened <= 1);
}

static void
check_roundtrip(const uint8_t *data, size_t size)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	char	*s, *pt;
	size_t	 n, len, at;

	if ((s = crypto_seal(key, ads[0], data, size)) == NULL)
		return;
	FUZZ_CHECK(crypto_is_sealed(s));
	FUZZ_CHECK(crypto_unseal(key, ads[0], s, &pt, &n) == 0);
	FUZZ_CHECK(n == size && memcmp(pt, data, size) == 0);
	free(pt);
	FUZZ_CHECK(crypto_unseal(key, ads[1], s, &pt, &n) == -1);

	/* Change one character after the prefix to another of the set. */
	len = strlen(s);
	FUZZ_CHECK(len > 3);
	at = 3 + (size > 0 ? data[0] : 0) % (len - 3);
	s[at] = b64[(strchr(b64, s[at]) - b64 + 1) % 64];
	FUZZ_CHECK(crypto_unseal(key, ads[0], s, &pt, &n) == -1);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (key == NULL)
		init();
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_b64(s);
	if (strncmp(s, "s1.", 3) == 0)
		check_b64(s + 3);
	check_unseal(s);
	free(s);
	check_roundtrip(data, size);
	return 0;
}
