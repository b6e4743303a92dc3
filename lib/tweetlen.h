/*
 * tweetlen: a post's length as X counts it (twitter-text, configuration
 * v3), so that the server refuses what X would refuse before sending it.
 * NFC first; each URL, with or without http(s)://, counts 23; each emoji
 * (ZWJ sequences, skin tones, flags and keycaps included) counts 2; any
 * other character 1 in U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and
 * U+2032-U+2037, else 2.  Valid when 0 < length <= 280 and the text has
 * no U+FFFE, U+FEFF or U+FFFF.
 *
 * htdocs/static/tweetlen.js is the same algorithm for the browser's live
 * counter; tests/cgi/t-tweetlen-agree.sh proves the two agree.
 * Pure: no I/O, no state; it allocates only for the duration of a call.
 */
#ifndef SB_TWEETLEN_H
#define SB_TWEETLEN_H

#include <stddef.h>
#include <uchar.h>

#define TWEETLEN_MAX	280	/* X's maxWeightedTweetLength */

enum tweetlen_reason {
	TWEETLEN_OK = 0,
	TWEETLEN_EMPTY,		/* nothing to post */
	TWEETLEN_TOO_LONG,	/* weighted length over TWEETLEN_MAX */
	TWEETLEN_INVALID_CHAR,	/* U+FFFE, U+FEFF or U+FFFF */
	TWEETLEN_BAD_UTF8,	/* not well-formed UTF-8: not counted */
	TWEETLEN_NOMEM		/* out of memory: not counted */
};

struct tweetlen {
	int			 weighted;	/* as X counts it */
	int			 permillage;	/* weighted / 280 * 1000, down */
	int			 valid;		/* 1 when X accepts the length */
	int			 urls;		/* URLs found (X bills posts
						   with one at a higher price) */
	enum tweetlen_reason	 reason;	/* why not, an invalid char first */
};

/*
 * Counts len bytes of UTF-8 (NUL bytes count as characters) into *out
 * and returns out->reason.  Texts over 64 MiB are not counted: TOO_LONG
 * with weighted INT_MAX.
 */
enum tweetlen_reason	 tweetlen_count(const char *, size_t,
			    struct tweetlen *);

/*
 * The TLD table generated into tld_table.c by tools/gen-tld-table.py,
 * sorted by case-folded name; order is the name's rank in twitter-text's
 * alternation, which decides between two names that both match.
 */
#define TWEETLEN_TLD_MAXLEN	18	/* longest name, in UTF-16 units */

struct tweetlen_tld {
	const char16_t	*name;
	int		 len;
	int		 order;
};

extern const struct tweetlen_tld tweetlen_tlds[];
extern const size_t tweetlen_ntlds;

#endif
