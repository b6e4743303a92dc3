#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <unistr.h>

#include "suites.h"
#include "tweetlen.h"

/* Counts a string literal (NUL bytes included) and checks the result. */
#define COUNT(s, w, why)	count_is(s, sizeof(s) - 1, w, why)

static void
count_is(const char *s, size_t len, int weighted, enum tweetlen_reason why)
{
	struct tweetlen	 t;

	ck_assert_int_eq(tweetlen_count(s, len, &t), why);
	ck_assert_msg(t.weighted == weighted, "\"%s\" weighs %d, not %d",
	    s, t.weighted, weighted);
	ck_assert_int_eq(t.reason, why);
	ck_assert_int_eq(t.valid, why == TWEETLEN_OK);
}

static void
repeat_is(const char *unit, int times, int weighted,
    enum tweetlen_reason why)
{
	char	 buf[4096];
	size_t	 n = strlen(unit), len = 0;
	int	 i;

	ck_assert(n * times < sizeof(buf));
	for (i = 0; i < times; i++, len += n)
		memcpy(buf + len, unit, n);
	count_is(buf, len, weighted, why);
}

START_TEST(plain_text)
{
	COUNT("Hello, world", 12, TWEETLEN_OK);
	repeat_is("a", 280, 280, TWEETLEN_OK);
	repeat_is("a", 281, 281, TWEETLEN_TOO_LONG);
	COUNT("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 6, TWEETLEN_OK);
	repeat_is("\xe6\x97\xa5", 140, 280, TWEETLEN_OK);
	repeat_is("\xe6\x97\xa5", 141, 282, TWEETLEN_TOO_LONG);
	/* Latin, Cyrillic, Hebrew, Georgian weigh 1; U+2014 1, U+2026 2. */
	COUNT("\xc3\xa9\xd0\x96\xd7\x90\xe1\x83\x90\xe2\x80\x94\xe2\x80\xa6",
	    7, TWEETLEN_OK);
	/* Whitespace counts: twitter-text takes "   " as a valid post. */
	COUNT("   ", 3, TWEETLEN_OK);
	COUNT("a\0b", 3, TWEETLEN_OK);
}
END_TEST

START_TEST(empty_invalid_bad)
{
	struct tweetlen	 t;

	COUNT("", 0, TWEETLEN_EMPTY);
	COUNT("\xef\xbb\xbf", 2, TWEETLEN_INVALID_CHAR);		/* U+FEFF */
	COUNT("abc\xef\xbf\xbe", 5, TWEETLEN_INVALID_CHAR);	/* U+FFFE */
	COUNT("\xef\xbf\xbf", 2, TWEETLEN_INVALID_CHAR);		/* U+FFFF */
	COUNT("\xc0\xaf", 0, TWEETLEN_BAD_UTF8);			/* overlong */
	COUNT("\xed\xa0\x80", 0, TWEETLEN_BAD_UTF8);		/* surrogate */
	COUNT("\xe6\x97", 0, TWEETLEN_BAD_UTF8);			/* cut */
	/* An invalid character is the reason even when too long. */
	repeat_is("\xef\xbb\xbf", 141, 282, TWEETLEN_INVALID_CHAR);
	/* Refused by its length alone, before anything is read. */
	tweetlen_count("x", (size_t)64 * 1024 * 1024 + 1, &t);
	ck_assert_int_eq(t.reason, TWEETLEN_TOO_LONG);
	ck_assert_int_eq(t.weighted, INT_MAX);
}
END_TEST

START_TEST(emoji)
{
	COUNT("\xf0\x9f\x98\xb7", 2, TWEETLEN_OK);			/* mask */
	/* man ZWJ woman ZWJ girl ZWJ boy */
	COUNT("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
	    "\xf0\x9f\x91\xa7\xe2\x80\x8d\xf0\x9f\x91\xa6", 2, TWEETLEN_OK);
	COUNT("\xf0\x9f\x87\xb9\xf0\x9f\x87\xb7", 2, TWEETLEN_OK);	/* TR */
	COUNT("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 2, TWEETLEN_OK);	/* tone */
	/* woman technologist, medium skin tone: tone and ZWJ */
	COUNT("\xf0\x9f\x91\xa9\xf0\x9f\x8f\xbd\xe2\x80\x8d\xf0\x9f\x92\xbb",
	    2, TWEETLEN_OK);
	/* rainbow flag: white flag, VS16, ZWJ, rainbow */
	COUNT("\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x8c\x88", 2,
	    TWEETLEN_OK);
	/* England: black flag and tags */
	COUNT("\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xa5"
	    "\xf3\xa0\x81\xae\xf3\xa0\x81\xa7\xf3\xa0\x81\xbf", 2, TWEETLEN_OK);
	COUNT("1\xef\xb8\x8f\xe2\x83\xa3", 2, TWEETLEN_OK);		/* keycap */
	COUNT("1\xe2\x83\xa3", 2, TWEETLEN_OK);
	COUNT("\xe2\xad\x90\xef\xb8\x8f", 2, TWEETLEN_OK);		/* star */
	COUNT("\xe2\x98\xba", 2, TWEETLEN_OK);			/* smile */
	/* (c) is text alone, emoji with VS16 */
	COUNT("\xc2\xa9", 1, TWEETLEN_OK);
	COUNT("\xc2\xa9\xef\xb8\x8f", 2, TWEETLEN_OK);
	/* H, cat, smile, family: 1 + 2 + 2 + 2 */
	COUNT("H\xf0\x9f\x90\xb1\xe2\x98\xba\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0"
	    "\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7\xe2\x80\x8d\xf0\x9f\x91"
	    "\xa6", 7, TWEETLEN_OK);
	repeat_is("\xf0\x9f\x98\xb7", 140, 280, TWEETLEN_OK);
	repeat_is("\xf0\x9f\x98\xb7", 141, 282, TWEETLEN_TOO_LONG);
}
END_TEST

START_TEST(urls)
{
	struct tweetlen	 t;
	char		 buf[64];
	size_t		 i, n;

	COUNT("https://example.com/path/to/page?q=1&lang=en", 23,
	    TWEETLEN_OK);
	COUNT("example.com", 23, TWEETLEN_OK);
	COUNT("www.example.co.jp/x", 23, TWEETLEN_OK);
	COUNT("EXAMPLE.COM", 23, TWEETLEN_OK);
	COUNT("example.invalidtld", 18, TWEETLEN_OK);
	COUNT("See example.com.", 28, TWEETLEN_OK);
	COUNT("http://t.co/abc/def", 27, TWEETLEN_OK);		/* t.co: slug */
	COUNT("x@example.com", 13, TWEETLEN_OK);		/* an address */
	COUNT("http://\xe2\x98\x83.net/", 23, TWEETLEN_OK);	/* snowman */
	/* Wikipedia's parentheses belong to the URL, the last dot not. */
	COUNT("http://en.wikipedia.org/wiki/Primer_(film).", 24,
	    TWEETLEN_OK);
	/* A 64-letter label is no domain. */
	COUNT("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls"
	    ".com", 68, TWEETLEN_OK);
	/* Each name of the table works as a TLD. */
	for (i = 0; i < tweetlen_ntlds; i++) {
		memcpy(buf, "example.", 8);
		n = sizeof(buf) - 8;
		ck_assert(u16_to_u8((const uint16_t *)tweetlen_tlds[i].name,
		    tweetlen_tlds[i].len, (uint8_t *)buf + 8, &n) ==
		    (uint8_t *)buf + 8);
		tweetlen_count(buf, 8 + n, &t);
		ck_assert_msg(t.weighted == 23, "%.*s weighs %d", (int)(8 + n),
		    buf, t.weighted);
	}
}
END_TEST

START_TEST(nfc_first)
{
	COUNT("e\xcc\x81", 1, TWEETLEN_OK);		/* e + acute: é */
	/* Hangul jamo L + V compose to one syllable: 2, not 2 + 2. */
	COUNT("\xe1\x84\x80\xe1\x85\xa1", 2, TWEETLEN_OK);
	COUNT("A\xcc\x8a", 1, TWEETLEN_OK);		/* A + ring: Å */
	COUNT("\xe2\x84\xab", 1, TWEETLEN_OK);		/* Angstrom sign: Å */
}
END_TEST

/* --- twitter-text's conformance data ------------------------------------- */

/*
 * A file of twitter-text's data: in $SOSYABOT_SHARED_DATA/twitter-text,
 * else beside the source tree; NULL (and a note) when it is not there.
 */
static json_t *
conformance_file(const char *name)
{
	const char	*dir = getenv("SOSYABOT_SHARED_DATA");
	const char	*top = getenv("top_srcdir");
	char		 path[PATH_MAX];
	json_t		*j;
	json_error_t	 e;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/twitter-text/%s", dir, name);
	else
		snprintf(path, sizeof(path),
		    "%s/../shared/data/twitter-text/%s",
		    top != NULL ? top : ".", name);
	if (access(path, R_OK) != 0) {
		printf("tweetlen: %s not found: conformance skipped\n", path);
		return NULL;
	}
	j = json_load_file(path, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", path, e.text);
	return j;
}

static int
conform(const json_t *cases)
{
	const json_t	*c, *want;
	const char	*text;
	struct tweetlen	 t;
	size_t		 i;

	ck_assert(json_array_size(cases) > 0);
	json_array_foreach(cases, i, c) {
		text = json_string_value(json_object_get(c, "text"));
		want = json_object_get(c, "expected");
		ck_assert(text != NULL && want != NULL);
		tweetlen_count(text, strlen(text), &t);
		ck_assert_msg(t.weighted == json_integer_value(
		    json_object_get(want, "weightedLength")) &&
		    t.valid == json_is_true(json_object_get(want, "valid")) &&
		    t.permillage == json_integer_value(
		    json_object_get(want, "permillage")),
		    "%s: %d valid %d permillage %d",
		    json_string_value(json_object_get(c, "description")),
		    t.weighted, t.valid, t.permillage);
	}
	return (int)i;
}

START_TEST(conformance)
{
	json_t	*j, *tests;
	int	 emoji_cases, bidi_cases;

	if ((j = conformance_file("validate.json")) == NULL)
		return;
	tests = json_object_get(j, "tests");
	emoji_cases = conform(json_object_get(tests,
	    "WeightedTweetsWithDiscountedEmojiCounterTest"));
	bidi_cases = conform(json_object_get(tests,
	    "UnicodeDirectionalMarkerCounterTest"));
	printf("tweetlen: conformance %d + %d cases passed\n", emoji_cases,
	    bidi_cases);
	json_decref(j);
}
END_TEST

/* tweetlen.c has configuration v3 built in: it must still be X's. */
START_TEST(config_v3)
{
	static const int ranges[][3] = {
		{ 0, 4351, 100 }, { 8192, 8205, 100 },
		{ 8208, 8223, 100 }, { 8242, 8247, 100 },
	};
	json_t		*j, *r;
	size_t		 i;

	if ((j = conformance_file("config-v3.json")) == NULL)
		return;
	ck_assert_int_eq(json_integer_value(json_object_get(j,
	    "maxWeightedTweetLength")), TWEETLEN_MAX);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "scale")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(j,
	    "defaultWeight")), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j,
	    "transformedURLLength")), 23);
	ck_assert(json_is_true(json_object_get(j, "emojiParsingEnabled")));
	r = json_object_get(j, "ranges");
	ck_assert_uint_eq(json_array_size(r), 4);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(json_integer_value(json_object_get(
		    json_array_get(r, i), "start")), ranges[i][0]);
		ck_assert_int_eq(json_integer_value(json_object_get(
		    json_array_get(r, i), "end")), ranges[i][1]);
		ck_assert_int_eq(json_integer_value(json_object_get(
		    json_array_get(r, i), "weight")), ranges[i][2]);
	}
	json_decref(j);
}
END_TEST

Suite *
suite_tweetlen(void)
{
	Suite	*s = suite_create("tweetlen");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, plain_text);
	tcase_add_test(tc, empty_invalid_bad);
	tcase_add_test(tc, emoji);
	tcase_add_test(tc, urls);
	tcase_add_test(tc, nfc_first);
	suite_add_tcase(s, tc);
	tc = tcase_create("conformance");
	tcase_add_test(tc, conformance);
	tcase_add_test(tc, config_v3);
	suite_add_tcase(s, tc);
	return s;
}
