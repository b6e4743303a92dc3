/*
 * fuzz_validators: every validator of valid.h on arbitrary bytes.
 *
 * Validators get the decoded value NUL-terminated, so the input is
 * copied into a buffer one byte longer (which also lets the address
 * sanitizer see a read past len).  Besides "no crash", the validators
 * are held to what valid.h promises: valid_utf8 against an independent
 * checker written from the Unicode standard's table of well-formed
 * byte sequences, each character-class validator against a plain
 * restatement of its comment, and the implications between them that
 * callers lean on (a valid line is valid text, a local path a line...).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "valid.h"

/*
 * Well-formed UTF-8 after The Unicode Standard, table 3-7, spelled as
 * byte ranges rather than decoded code points, so it shares no logic
 * with valid_utf8.  NUL is refused, as valid_utf8 documents.
 */
static int
ref_utf8(const unsigned char *s, size_t n)
{
	size_t		 i = 0, k, len;
	unsigned char	 lo, hi;

	while (i < n) {
		if (s[i] == 0x00)
			return 0;
		if (s[i] <= 0x7F) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xBF;
		if (s[i] >= 0xC2 && s[i] <= 0xDF)
			len = 2;
		else if (s[i] == 0xE0) {
			len = 3;
			lo = 0xA0;
		} else if (s[i] == 0xED) {
			len = 3;
			hi = 0x9F;
		} else if (s[i] >= 0xE1 && s[i] <= 0xEF)
			len = 3;
		else if (s[i] == 0xF0) {
			len = 4;
			lo = 0x90;
		} else if (s[i] >= 0xF1 && s[i] <= 0xF3)
			len = 4;
		else if (s[i] == 0xF4) {
			len = 4;
			hi = 0x8F;
		} else
			return 0;
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return 0;
		i += len;
	}
	return 1;
}

/* Every byte of s[0..n) is in set (and none is NUL). */
static int
all_in(const char *s, size_t n, const char *set)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

/* No C0 control or DEL, except those in allowed; NUL never. */
static int
no_ctl(const char *s, size_t n, const char *allowed)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == 0 || ((c < 0x20 || c == 0x7F) &&
		    strchr(allowed, c) == NULL))
			return 0;
	}
	return 1;
}

#define LOWER	"abcdefghijklmnopqrstuvwxyz"
#define UPPER	"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT	"0123456789"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;
	size_t	 n = size, i;
	int	 utf8, line, text, name, password, word, token, cred, status;
	int	 uint, path, any, visible;

	if ((s = malloc(n + 1)) == NULL)
		return 0;
	memcpy(s, data, n);
	s[n] = '\0';

	utf8 = valid_utf8(s, n);
	line = valid_line(s, n);
	text = valid_text(s, n);
	name = valid_name(s, n);
	password = valid_password(s, n);
	word = valid_word(s, n);
	token = valid_token(s, n);
	cred = valid_cred(s, n);
	status = valid_status(s, n);
	uint = valid_uint(s, n);
	path = valid_local_path(s, n);
	any = valid_any(s, n);

	for (visible = 1, i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
			visible = 0;

	/* Each against its own definition. */
	FUZZ_CHECK(utf8 == ref_utf8(data, n));
	FUZZ_CHECK(line == (n <= 1024 && no_ctl(s, n, "") && utf8));
	FUZZ_CHECK(text == (n <= 16384 && no_ctl(s, n, "\t\n\r") && utf8));
	FUZZ_CHECK(name == (n >= 1 && n <= 64 && s[0] != '.' &&
	    all_in(s, n, LOWER UPPER DIGIT "._-")));
	FUZZ_CHECK(password == (n >= 1 && n <= 1024 && no_ctl(s, n, "") &&
	    utf8));
	FUZZ_CHECK(word == (n >= 1 && n <= 32 && all_in(s, n, LOWER "_")));
	FUZZ_CHECK(token == (n >= 16 && n <= 256 &&
	    all_in(s, n, LOWER UPPER DIGIT "-_")));
	FUZZ_CHECK(cred == (n <= 256 && visible));
	FUZZ_CHECK(status == ((n == 6 && memcmp(s, "enable", 6) == 0) ||
	    (n == 7 && memcmp(s, "disable", 7) == 0)));
	FUZZ_CHECK(uint == (n >= 1 && n <= 19 && all_in(s, n, DIGIT)));
	FUZZ_CHECK(any == 1);

	/* A local path never leaves the site: not "//host", not "/\host". */
	if (path) {
		FUZZ_CHECK(n >= 1 && n <= 512 && s[0] == '/');
		FUZZ_CHECK(n == 1 || (s[1] != '/' && s[1] != '\\'));
		FUZZ_CHECK(memchr(s, '\\', n) == NULL);
	}

	/* The implications that callers rely on. */
	if (line)
		FUZZ_CHECK(text);
	if (line && n >= 1)
		FUZZ_CHECK(password);
	if (path)
		FUZZ_CHECK(line);
	if (password || text)
		FUZZ_CHECK(utf8);
	if (word || uint || token)
		FUZZ_CHECK(name || (token && n > 64));
	if (status)
		FUZZ_CHECK(word);
	if (name || word || token || uint || status)
		FUZZ_CHECK(cred && line);
	free(s);
	return 0;
}
