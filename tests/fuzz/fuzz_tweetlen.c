/*
 * fuzz_tweetlen: tweetlen_count on arbitrary bytes.
 *
 * The counter walks the text by hand where twitter-text uses regular
 * expressions, with memo tables indexed by position: an index one off
 * is a read out of bounds, which is what this is for.  It also holds
 * the result to what tweetlen.h promises:
 *
 *	- BAD_UTF8 exactly when the bytes are not well-formed UTF-8 (NUL
 *	  is a character here, unlike for valid_utf8);
 *	- valid exactly when the reason is OK, and then 0 < weighted <= 280;
 *	- EMPTY exactly for no bytes; TOO_LONG and OK agree with weighted;
 *	- INVALID_CHAR only for a text with U+FFFE, U+FEFF or U+FFFF;
 *	- permillage is weighted / 280 * 1000, rounded down;
 *	- anything counted weighs at least 1 and at most 23 (a URL, however
 *	  long), so a text weighs at least 1 and at most 23 per character
 *	  of its NFC form;
 *	- counting is pure: the NFC form of the text counts the same.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <string.h>

#include <uninorm.h>

#include "fuzz.h"
#include "tweetlen.h"
#include "valid.h"

/* Well-formed UTF-8, NUL allowed: valid_utf8 on each run between NULs. */
static int
utf8_with_nul(const char *s, size_t n)
{
	const char	*nul;

	while ((nul = memchr(s, '\0', n)) != NULL) {
		if (!valid_utf8(s, (size_t)(nul - s)))
			return 0;
		n -= (size_t)(nul - s) + 1;
		s = nul + 1;
	}
	return valid_utf8(s, n);
}

/* Code points in well-formed UTF-8: the bytes that start one. */
static size_t
codepoints(const uint8_t *s, size_t n)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			k++;
	return k;
}

static int
has_noncharacter(const uint8_t *s, size_t n)
{
	return memmem(s, n, "\xEF\xBF\xBE", 3) != NULL ||
	    memmem(s, n, "\xEF\xBB\xBF", 3) != NULL ||
	    memmem(s, n, "\xEF\xBF\xBF", 3) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tweetlen		 t, u;
	enum tweetlen_reason	 rc;
	uint8_t			*nfc;
	size_t			 nlen, cps;
	long long		 exact;
	int			 wf;

	rc = tweetlen_count((const char *)data, size, &t);
	FUZZ_CHECK(rc == t.reason);
	if (rc == TWEETLEN_NOMEM)
		return 0;
	wf = utf8_with_nul((const char *)data, size);
	FUZZ_CHECK((rc == TWEETLEN_BAD_UTF8) == !wf);
	FUZZ_CHECK(t.valid == (rc == TWEETLEN_OK));
	if (!wf)
		return 0;

	FUZZ_CHECK((rc == TWEETLEN_EMPTY) == (size == 0));
	FUZZ_CHECK(t.weighted >= 0);
	if (t.valid)
		FUZZ_CHECK(t.weighted > 0 && t.weighted <= TWEETLEN_MAX);
	if (rc == TWEETLEN_TOO_LONG)
		FUZZ_CHECK(t.weighted > TWEETLEN_MAX);
	if (rc == TWEETLEN_INVALID_CHAR)
		FUZZ_CHECK(has_noncharacter(data, size));
	/* JavaScript computes it in doubles: allow its rounding. */
	exact = (long long)t.weighted * 1000 / TWEETLEN_MAX;
	FUZZ_CHECK(t.permillage >= exact - 1 && t.permillage <= exact);

	if (size == 0)
		return 0;
	nfc = u8_normalize(UNINORM_NFC, data, size, NULL, &nlen);
	if (nfc == NULL)
		return 0;
	cps = codepoints(nfc, nlen);
	FUZZ_CHECK(t.weighted >= 1);
	FUZZ_CHECK((size_t)t.weighted <= 23 * cps);
	rc = tweetlen_count((const char *)nfc, nlen, &u);
	if (rc != TWEETLEN_NOMEM) {
		FUZZ_CHECK(u.weighted == t.weighted);
		FUZZ_CHECK(u.reason == t.reason);
		FUZZ_CHECK(u.permillage == t.permillage);
	}
	free(nfc);
	return 0;
}
