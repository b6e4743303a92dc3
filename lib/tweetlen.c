/*
 * X's weighted post length: twitter-text's parseTweet() (JavaScript,
 * configuration v3), whose URL regular expressions are emulated here by
 * hand rather than by a regex engine: each rule below names the
 * twitter-text expression it stands for.  The text is NFC-normalised and
 * then walked as UTF-16, as JavaScript sees it, because twitter-text
 * skips a URL by its length in UTF-16 units and the counts depend on it.
 *
 * The expressions backtrack; the emulation memoises by position instead,
 * so a call is linear in the text where the regexes can go quadratic.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "tweetlen.h"

#define SCALE		 100	/* weights are in hundredths */
#define WEIGHT_DEFAULT	 200
#define WEIGHT_URL	 (23 * SCALE)
#define MAX_URL_LENGTH	 4096	/* protocol + URL, in UTF-16 units */
#define MAX_TCO_SLUG	 40
#define MAX_LABEL	 63	/* DNS label, after punycode */
#define MAX_TEXT	 (64 * 1024 * 1024)

#define UNKNOWN		 (-2)	/* memo entry not computed yet */
#define NONE		 (-1)	/* no match from here */

struct tl {
	const uint16_t	*u;	/* the NFC text in UTF-16 */
	int		 n;
	int		*url;	/* units of the URL starting here, or 0 */
	int		*emoji;	/* units of the emoji starting here, or 0 */
	int		*lend;	/* end of the domain label starting here */
	int		*under;	/* next '_' at or after here */
	int		*dom;	/* validDomain from here: its end (memo) */
	int		*tld;	/* TLD from here in the whole text (memo) */
	int		*stld;	/* TLD from here inside one domain (memo) */
	int		*aend;	/* end of the ASCII label starting here */
	int		*asc;	/* validAsciiDomain from here (memo) */
	int		*stack;
};

/* One regex match of twitter-text's extractUrl. */
struct match {
	int	 before;	/* the preceding unit, -1 for ^ */
	int	 start;		/* the URL, with its protocol */
	int	 proto;		/* length of "http(s)://", 0 if none */
	int	 ds, de;	/* the domain */
	int	 path;		/* 1 if the path group matched */
	int	 end;
};

static int
unit(const struct tl *t, int i)
{
	return i < t->n ? t->u[i] : -1;
}

/* The code point at i; *len gets its length in units. */
static ucs4_t
cp_at(const struct tl *t, int i, int *len)
{
	int	 c = t->u[i], d = unit(t, i + 1);

	*len = 1;
	if (c >= 0xD800 && c <= 0xDBFF && d >= 0xDC00 && d <= 0xDFFF) {
		*len = 2;
		return 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
	}
	return c;
}

/*
 * JavaScript's case-insensitive key for one UTF-16 unit (Canonicalize in
 * ECMA-262 without the u flag): the upper case, unless that leaves the
 * BMP or turns a non-ASCII unit into ASCII (so 'ſ' is not 's').
 */
static ucs4_t
canon(ucs4_t c)
{
	ucs4_t	 up;

	if (c < 0x80)
		return c >= 'a' && c <= 'z' ? c - 32 : c;
	if (c >= 0xD800 && c <= 0xDFFF)
		return c;
	up = uc_toupper(c);
	return up > 0xFFFF || up < 0x80 ? c : up;
}

/*
 * c is in a character class under the i flag: some member has the same
 * key.  For the classes here that member is c, its key, or the key's
 * lower case.  ASCII letters are listed in both cases by the callers.
 */
static int
ci_member(ucs4_t c, int (*in)(ucs4_t))
{
	ucs4_t	 up, lo;

	if (in(c))
		return 1;
	if (c < 0x80)
		return 0;
	up = canon(c);
	if (up != c && canon(up) == up && in(up))
		return 1;
	lo = uc_tolower(up);
	return lo != c && lo <= 0xFFFF && in(lo) && canon(lo) == up;
}

static int
ascii_alnum(ucs4_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* c is one of the characters of set (never NUL, which strchr finds). */
static int
in_ascii(ucs4_t c, const char *set)
{
	return c > 0 && c < 0x80 && strchr(set, (int)c) != NULL;
}

/* latinAccentChars */
static int
latin(ucs4_t c)
{
	return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) ||
	    (c >= 0xF8 && c <= 0x24F) || c == 0x253 || c == 0x254 ||
	    c == 0x256 || c == 0x257 || c == 0x259 || c == 0x25B ||
	    c == 0x263 || c == 0x268 || c == 0x26F || c == 0x272 ||
	    c == 0x289 || c == 0x28B || c == 0x2BB ||
	    (c >= 0x300 && c <= 0x36F) || (c >= 0x1E00 && c <= 0x1EFF);
}

/* validGeneralUrlPathChars, before the i flag */
static int
path_raw(ucs4_t c)
{
	return ascii_alnum(c) || in_ascii(c, "!*';:=+,.$/%#[]-_~@|&") ||
	    c == 0x2013 || (c >= 0x400 && c <= 0x4FF) || latin(c);
}

/* the characters of validUrlPathEndingChars */
static int
path_end_raw(ucs4_t c)
{
	return ascii_alnum(c) || in_ascii(c, "+-=_#/") ||
	    (c >= 0x400 && c <= 0x4FF) || latin(c);
}

/* [\-a-z0-9 latinAccentChars] of validAsciiDomain */
static int
ascii_label_raw(ucs4_t c)
{
	return ascii_alnum(c) || c == '-' || latin(c);
}

static int
path_char(ucs4_t c)
{
	return ci_member(c, path_raw);
}

static int
path_end(ucs4_t c)
{
	return ci_member(c, path_end_raw);
}

/* validUrlQueryChars and validUrlQueryEndingChars: ASCII only. */
static int
query_char(int c)
{
	return c >= 0 && (ascii_alnum(c) ||
	    in_ascii(c, "!?*'@();:&=+$/%#[]-_.,~|"));
}

static int
query_end(int c)
{
	return c >= 0 && (ascii_alnum(c) || in_ascii(c, "-_&=#/"));
}

/* validDomainChars: not punct, spacesGroup, invalidChars or directional. */
static int
domain_char(int c)
{
	if (c < 0)
		return 0;
	if (c < 0x80)
		return c != 0x20 && !(c >= 0x09 && c <= 0x0D) &&
		    !in_ascii(c, "!'#%&()*+,\\-./:;<=>?@[]^_{|}~$");
	return !(c == 0x85 || c == 0xA0 || c == 0x1680 || c == 0x180E ||
	    (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202F || c == 0x205F || c == 0x3000 ||
	    c == 0xFFFE || c == 0xFEFF || c == 0xFFFF ||
	    (c >= 0x202A && c <= 0x202E) || c == 0x061C || c == 0x200E ||
	    c == 0x200F || (c >= 0x2066 && c <= 0x2069));
}

/* validUrlPrecedingChars (its ^ is handled by the caller) */
static int
preceding(int c)
{
	return !ascii_alnum(c) && !in_ascii(c, "@$#") && c != 0xFF20 &&
	    c != 0xFF03 && c != 0xFFFE && c != 0xFEFF && c != 0xFFFF;
}

/* u[i..] starts with the ASCII string s, ignoring case. */
static int
has_ci(const struct tl *t, int i, const char *s)
{
	for (; *s != '\0'; s++, i++)
		if (i >= t->n || canon(t->u[i]) != canon((ucs4_t)*s))
			return 0;
	return 1;
}

/* --- top-level domains ---------------------------------------------------- */

/* Compares a table name with len keys, by key, then by length. */
static int
tld_cmp(const struct tweetlen_tld *e, const ucs4_t *key, int len)
{
	int	 i;
	ucs4_t	 k;

	for (i = 0; i < e->len && i < len; i++)
		if ((k = canon(e->name[i])) != key[i])
			return k < key[i] ? -1 : 1;
	return e->len < len ? -1 : e->len > len;
}

/* The name starts with the len keys. */
static int
tld_prefix(const struct tweetlen_tld *e, const ucs4_t *key, int len)
{
	int	 i;

	if (e->len < len)
		return 0;
	for (i = 0; i < len; i++)
		if (canon(e->name[i]) != key[i])
			return 0;
	return 1;
}

/* (?=[^0-9a-zA-Z@+-]|$) where the string ends at lim */
static int
tld_boundary(const struct tl *t, int i, int lim)
{
	return i == lim || !(ascii_alnum(t->u[i]) || in_ascii(t->u[i], "@+-"));
}

/*
 * (?:validGTLD|validCCTLD|validPunycode) at s in a string ending at lim:
 * its end, or NONE.  Of the names that match, the regex takes the first
 * in its alternation, the lowest order.
 */
static int
tld_match(const struct tl *t, int s, int lim)
{
	ucs4_t	 key[TWEETLEN_TLD_MAXLEN];
	size_t	 lo, hi, mid;
	int	 len, order = INT_MAX, end = NONE, e;

	for (len = 1; len <= TWEETLEN_TLD_MAXLEN && s + len <= lim; len++) {
		key[len - 1] = canon(t->u[s + len - 1]);
		lo = 0;
		hi = tweetlen_ntlds;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (tld_cmp(&tweetlen_tlds[mid], key, len) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* The names with this prefix start at lo: if none, none
		 * longer will match either. */
		if (lo == tweetlen_ntlds ||
		    !tld_prefix(&tweetlen_tlds[lo], key, len))
			break;
		if (tweetlen_tlds[lo].len == len &&
		    tweetlen_tlds[lo].order < order &&
		    tld_boundary(t, s + len, lim)) {
			order = tweetlen_tlds[lo].order;
			end = s + len;
		}
	}
	if (end != NONE)
		return end;
	/* validPunycode: xn--[\-0-9a-z]+, no boundary */
	if (s + 4 < lim && has_ci(t, s, "xn--")) {
		for (e = s + 4; e < lim && (ascii_alnum(t->u[e]) ||
		    t->u[e] == '-'); e++)
			continue;
		if (e > s + 4)
			return e;
	}
	return NONE;
}

static int
tld_full(const struct tl *t, int s)
{
	if (s >= t->n)
		return NONE;
	if (t->tld[s] == UNKNOWN)
		t->tld[s] = tld_match(t, s, t->n);
	return t->tld[s];
}

/* --- validDomain -------------------------------------------------------------- */

/* The label from s (chars of validDomainChars, '-' or '_') ends with a
 * domain char and a '.': validSubdomain. */
static int
sub_label(const struct tl *t, int s)
{
	int	 e = t->lend[s];

	return e > s && unit(t, e) == '.' && domain_char(t->u[s]) &&
	    domain_char(t->u[e - 1]);
}

/* validDomainName followed by a TLD: the domain's end, or NONE. */
static int
name_tld(const struct tl *t, int s)
{
	if (!sub_label(t, s) || t->under[s] < t->lend[s])
		return NONE;
	return tld_full(t, t->lend[s] + 1);
}

/*
 * validDomain at s: validSubdomain* validDomainName TLD.  The star is
 * greedy, so the match is the one with the most subdomains: from each
 * label, the rest of the domain if it matches with this label as a
 * subdomain, else this label as the name.
 */
static int
domain_at(const struct tl *t, int s)
{
	int	 sp = 0, p = s, q, next, r;

	while (p < t->n && t->dom[p] == UNKNOWN && sub_label(t, p)) {
		t->stack[sp++] = p;
		p = t->lend[p] + 1;
	}
	if (p < t->n && t->dom[p] == UNKNOWN)
		t->dom[p] = NONE;	/* no label here */
	while (sp > 0) {
		q = t->stack[--sp];
		next = t->lend[q] + 1;
		r = next < t->n ? t->dom[next] : NONE;
		t->dom[q] = r != NONE ? r : name_tld(t, q);
	}
	return s < t->n ? t->dom[s] : NONE;
}

/* --- validAsciiDomain, inside one domain [ds, de) -------------------------- */

/* Clears the memo for a new domain and finds its ASCII label ends. */
static void
ascii_reset(const struct tl *t, int ds, int de)
{
	int	 i;

	for (i = de - 1; i >= ds; i--) {
		t->stld[i] = t->asc[i] = UNKNOWN;
		if (!ci_member(t->u[i], ascii_label_raw))
			t->aend[i] = i;
		else
			t->aend[i] = i + 1 < de ? t->aend[i + 1] : de;
	}
}

static int
tld_sub(const struct tl *t, int s, int de)
{
	if (s >= de)
		return NONE;
	if (t->stld[s] == UNKNOWN)
		t->stld[s] = tld_match(t, s, de);
	return t->stld[s];
}

/* (?:[\-a-z0-9 latin]+\.)+ TLD at s: greedy, so the most labels. */
static int
ascii_at(const struct tl *t, int s, int de)
{
	int	 sp = 0, p = s, q, next, r;

	while (p < de && t->asc[p] == UNKNOWN) {
		r = t->aend[p];
		if (r == p || r >= de || t->u[r] != '.') {
			t->asc[p] = NONE;
			break;
		}
		t->stack[sp++] = p;
		p = r + 1;
	}
	while (sp > 0) {
		q = t->stack[--sp];
		next = t->aend[q] + 1;
		r = next < de ? t->asc[next] : NONE;
		t->asc[q] = r != NONE ? r : tld_sub(t, next, de);
	}
	return s < de ? t->asc[s] : NONE;
}

/* The next match at or after from: its end, its start in *at. */
static int
ascii_next(const struct tl *t, int from, int de, int *at)
{
	int	 e;

	for (*at = from; *at < de; (*at)++)
		if ((e = ascii_at(t, *at, de)) != NONE)
			return e;
	return NONE;
}

/* --- isValidUrl --------------------------------------------------------------- */

static int
adapt(long delta, long points, int first)
{
	int	 k = 0;

	delta = first ? delta / 700 : delta >> 1;
	delta += delta / points;
	for (; delta > 455; k += 36)
		delta /= 35;
	return (int)(k + 36 * delta / (delta + 38));
}

/*
 * Length of one part of punycode.toASCII(): itself when ASCII (up to
 * U+007E), else "xn--" and its RFC 3492 encoding, counted without
 * writing it.  Past 59 code points it is over 63 anyway.
 */
static int
punycode_len(const uint16_t *s, int len)
{
	ucs4_t	 cps[MAX_LABEL - 4], m, n = 0x80;
	long	 delta = 0, q;
	int	 i, j, k, l, cn = 0, basic = 0, out, h, bias = 72, tt;

	for (i = 0; i < len && s[i] <= 0x7E; i++)
		continue;
	if (i == len)
		return len;
	for (i = 0; i < len; i += l, cn++) {
		if (cn == MAX_LABEL - 4)
			return MAX_LABEL + 1;
		l = 1;
		cps[cn] = s[i];
		if (s[i] >= 0xD800 && s[i] <= 0xDBFF && i + 1 < len &&
		    s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
			cps[cn] = 0x10000 + ((s[i] - 0xD800) << 10) +
			    (s[i + 1] - 0xDC00);
			l = 2;
		}
		basic += cps[cn] < 0x80;
	}
	out = 4 + basic + (basic > 0);
	for (h = basic; h < cn; delta++, n++) {
		for (m = UINT32_MAX, j = 0; j < cn; j++)
			if (cps[j] >= n && cps[j] < m)
				m = cps[j];
		delta += (long)(m - n) * (h + 1);
		n = m;
		for (j = 0; j < cn; j++) {
			if (cps[j] < n)
				delta++;
			if (cps[j] != n)
				continue;
			for (q = delta, k = 36;; k += 36, out++) {
				tt = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
				if (q < tt)
					break;
				q = (q - tt) / (36 - tt);
			}
			out++;
			bias = adapt(delta, h + 1, h == basic);
			delta = 0;
			h++;
		}
	}
	return out;
}

/* twitter-text's idna.toAscii() check of one label: 1 to 63 long. */
static int
label_ok(const uint16_t *s, int len)
{
	int	 i, j, total = 0;

	/* punycode.js splits at the four full stops first. */
	for (i = 0;; i = j + 1) {
		for (j = i; j < len && s[j] != 0x3002 && s[j] != 0xFF0E &&
		    s[j] != 0xFF61; j++)
			continue;
		total += punycode_len(s + i, j - i) + (i > 0);
		if (total > MAX_LABEL)
			return 0;
		if (j == len)
			return total > 0;
	}
}

/*
 * isValidUrl(): the domain converts to ASCII, the URL is not too long.
 * The ASCII-domain memo must be reset for this domain.
 */
static int
url_ok(const struct tl *t, const struct match *m)
{
	int	 i, j, at;

	/* Case matters here: twitter-text compares with === "xn--". */
	if (m->de - m->ds >= 4 && t->u[m->ds] == 'x' &&
	    t->u[m->ds + 1] == 'n' && t->u[m->ds + 2] == '-' &&
	    t->u[m->ds + 3] == '-' && ascii_next(t, m->ds, m->de, &at) == NONE)
		return 0;
	for (i = m->ds;; i = j + 1) {
		for (j = i; j < m->de && t->u[j] != '.'; j++)
			continue;
		if (!label_ok(t->u + i, j - i))
			return 0;
		if (j == m->de)
			break;
	}
	return (m->proto ? m->proto : 8) + m->end - m->start <=
	    MAX_URL_LENGTH;
}

/* --- extractUrl --------------------------------------------------------------- */

/* validUrlBalancedParens at p: its end, or NONE. */
static int
parens(const struct tl *t, int p)
{
	int	 a, b, c;

	if (unit(t, p) != '(')
		return NONE;
	for (a = p + 1; a < t->n && path_char(t->u[a]); a++)
		continue;
	if (a > p + 1 && unit(t, a) == ')')
		return a + 1;
	if (unit(t, a) != '(')
		return NONE;
	for (b = a + 1; b < t->n && path_char(t->u[b]); b++)
		continue;
	if (b == a + 1 || unit(t, b) != ')')
		return NONE;
	for (c = b + 1; c < t->n && path_char(t->u[c]); c++)
		continue;
	return unit(t, c) == ')' ? c + 1 : NONE;
}

/*
 * (\/validUrlPath*) from after the '/'.  twitter-text pastes
 * validUrlPathEndingChars in unbracketed, so validUrlPath is
 * "chars* (parens chars*)* ending-char | parens | @chars+/": the first
 * ends after the last ending char outside parentheses in the run of path
 * chars and parentheses, the second takes one parenthesis group, and the
 * third is never reached.  So: up to that last ending char, then whole
 * parenthesis groups while they follow.
 */
static int
path_at(const struct tl *t, int p)
{
	int	 i = p, last = NONE, b;

	for (;;) {
		for (; i < t->n && path_char(t->u[i]); i++)
			if (path_end(t->u[i]))
				last = i;
		if ((b = parens(t, i)) == NONE)
			break;
		i = b;
	}
	if (last != NONE)
		p = last + 1;
	while ((b = parens(t, p)) != NONE)
		p = b;
	return p;
}

/* The URL part of extractUrl at u; 1 with *m filled if it matches. */
static int
url_at(const struct tl *t, int u, struct match *m)
{
	int	 p, last, i;

	m->start = u;
	m->proto = 0;
	if (has_ci(t, u, "http")) {
		p = u + 4 + (unit(t, u + 4) == 's' || unit(t, u + 4) == 'S');
		if (has_ci(t, p, "://") && domain_at(t, p + 3) != NONE)
			m->proto = p + 3 - u;
	}
	m->ds = u + m->proto;
	if ((m->de = domain_at(t, m->ds)) == NONE)
		return 0;
	p = m->de;
	if (unit(t, p) == ':' && unit(t, p + 1) >= '0' &&
	    unit(t, p + 1) <= '9')
		for (p += 2; unit(t, p) >= '0' && unit(t, p) <= '9'; p++)
			continue;
	m->path = unit(t, p) == '/';
	if (m->path)
		p = path_at(t, p + 1);
	if (unit(t, p) == '?') {
		for (last = NONE, i = p + 1; query_char(unit(t, i)); i++)
			if (query_end(t->u[i]))
				last = i;
		if (last != NONE)
			p = last + 1;
	}
	m->end = p;
	return 1;
}

/* extractUrl.exec() from lastIndex from: 1 with *m filled if found. */
static int
next_url(const struct tl *t, int from, struct match *m)
{
	int	 q;

	for (q = from; q < t->n; q++) {
		if (preceding(t->u[q]) && url_at(t, q + 1, m)) {
			m->before = t->u[q];
			return 1;
		}
		if (q == 0 && url_at(t, 0, m)) {
			m->before = -1;
			return 1;
		}
	}
	return 0;
}

/* JavaScript's domain.indexOf(s, from) for a piece of the domain. */
static int
index_of(const struct tl *t, int s, int len, int from)
{
	for (; from < s; from++)
		if (memcmp(t->u + from, t->u + s, len * sizeof(t->u[0])) == 0)
			return from;
	return s;
}

/*
 * extractUrlsWithIndices(): each URL's length by its start, where
 * parseTweet() finds it (a later one at the same start wins, as there).
 */
static void
find_urls(const struct tl *t)
{
	struct match	 m;
	int		 from = 0, e, at, asc_end, last, slug;

	while (next_url(t, from, &m)) {
		from = m.end;
		ascii_reset(t, m.ds, m.de);
		if (!url_ok(t, &m))
			continue;
		if (m.proto) {
			/* t.co: the slug and a query only, or nothing. */
			if (has_ci(t, m.ds, "t.co/")) {
				for (e = m.de + 1; e < m.end &&
				    ascii_alnum(t->u[e]); e++)
					continue;
				if ((slug = e - m.de - 1) > MAX_TCO_SLUG)
					continue;
				if (slug > 0) {
					if (unit(t, e) == '?' && e < m.end) {
						for (last = NONE, at = e + 1;
						    at < m.end &&
						    query_char(t->u[at]); at++)
							if (query_end(t->u[at]))
								last = at;
						if (last != NONE)
							e = last + 1;
					}
					m.end = e;
				}
			}
			t->url[m.start] = m.end - m.start;
			continue;
		}
		if (m.before == '-' || m.before == '_' || m.before == '.' ||
		    m.before == '/')
			continue;
		/* Only the ASCII domains in it count, each where indexOf()
		 * finds it; the last gets the path, not the port or query. */
		last = NONE;
		for (asc_end = m.ds, e = m.ds;
		    (e = ascii_next(t, e, m.de, &at)) != NONE;) {
			last = index_of(t, at, e - at, asc_end);
			asc_end = last + e - at;
			t->url[last] = e - at;
		}
		if (last != NONE && m.path)
			t->url[last] += m.end - m.de;
	}
}

/* --- emoji ------------------------------------------------------------------- */

/* Only with VS16 are these emoji (twemoji's rule). */
static int
variant(ucs4_t c)
{
	return c == 0xA9 || c == 0xAE || c == 0x2122 || c == 0x265F;
}

static int
keycap_base(ucs4_t c)
{
	return c == '#' || c == '*' || (c >= '0' && c <= '9');
}

/*
 * A pictograph that can start an emoji: Emoji, or reserved for one
 * (Extended_Pictographic and unassigned), so that emoji newer than this
 * libunistring still count as the browser counts them.
 */
static int
pictograph(ucs4_t c)
{
	return !uc_is_property_emoji_modifier(c) &&
	    !uc_is_property_regional_indicator(c) && !keycap_base(c) &&
	    !variant(c) && (uc_is_property_emoji(c) ||
	    (uc_is_property_extended_pictographic(c) &&
	    uc_is_general_category(c, UC_CATEGORY_Cn)));
}

/* One element: (c)/(R)/TM/pawn with VS16, or a pictograph, an optional
 * VS16 and an optional skin tone.  Its end, or NONE. */
static int
element_at(const struct tl *t, int i)
{
	ucs4_t	 c;
	int	 len;

	if (i >= t->n)
		return NONE;
	c = cp_at(t, i, &len);
	if (variant(c))
		return unit(t, i + 1) == 0xFE0F ? i + 2 : NONE;
	if (!pictograph(c))
		return NONE;
	i += len;
	if (unit(t, i) == 0xFE0F)
		i++;
	if (i < t->n && uc_is_property_emoji_modifier(cp_at(t, i, &len)))
		i += len;
	return i;
}

/* The emoji starting at i: its length in units, or 0. */
static int
emoji_at(const struct tl *t, int i)
{
	ucs4_t	 c;
	int	 len, e, j, k;

	c = cp_at(t, i, &len);
	if (keycap_base(c)) {
		j = i + 1 + (unit(t, i + 1) == 0xFE0F);
		return unit(t, j) == 0x20E3 ? j + 1 - i : 0;
	}
	/* Nothing else below (c) starts an emoji: most text ends here. */
	if (c < 0xA9)
		return 0;
	if (uc_is_property_regional_indicator(c)) {
		if (i + len < t->n &&
		    uc_is_property_regional_indicator(cp_at(t, i + len, &e)))
			return len + e;
		return len;
	}
	if (uc_is_property_emoji_modifier(c))
		return len;
	if ((e = element_at(t, i)) == NONE)
		return 0;
	/* A tag sequence (subdivision flags): E0020-E007E, then E007F. */
	for (j = e; j < t->n; j += k) {
		c = cp_at(t, j, &k);
		if (c < 0xE0020 || c > 0xE007E)
			break;
	}
	if (j > e && j < t->n && cp_at(t, j, &k) == 0xE007F)
		e = j + k;
	while (unit(t, e) == 0x200D && (j = element_at(t, e + 1)) != NONE)
		e = j;
	return e - i;
}

/* twemoji-parser's scan, over the whole text as twitter-text runs it. */
static void
find_emoji(const struct tl *t)
{
	int	 i, len;

	for (i = 0; i < t->n; i += len) {
		if ((len = t->emoji[i] = emoji_at(t, i)) == 0)
			cp_at(t, i, &len);
	}
}

/* --- parseTweet() ------------------------------------------------------------ */

/* configuration v3's ranges; everything else weighs 200. */
static int
weight(int c)
{
	return c <= 0x10FF || (c >= 0x2000 && c <= 0x200D) ||
	    (c >= 0x2010 && c <= 0x201F) || (c >= 0x2032 && c <= 0x2037) ?
	    100 : WEIGHT_DEFAULT;
}

static void
prepare(struct tl *t)
{
	int	 i, c;

	t->lend[t->n] = t->under[t->n] = t->n;
	for (i = t->n - 1; i >= 0; i--) {
		c = t->u[i];
		t->lend[i] = domain_char(c) || c == '-' || c == '_' ?
		    t->lend[i + 1] : i;
		t->under[i] = c == '_' ? i : t->under[i + 1];
		t->dom[i] = t->tld[i] = UNKNOWN;
		t->url[i] = t->emoji[i] = 0;
	}
}

static void
walk(const struct tl *t, struct tweetlen *out)
{
	long long	 w = 0;
	int		 i, c, len, clean = 1;

	for (i = 0; i < t->n; i++) {
		if (t->url[i] != 0) {
			w += WEIGHT_URL;
			out->urls++;
			i += t->url[i] - 1;
		} else if (t->emoji[i] != 0) {
			w += WEIGHT_DEFAULT;
			i += t->emoji[i] - 1;
		} else {
			cp_at(t, i, &len);
			i += len - 1;
			w += weight(t->u[i]);
		}
		/* As twitter-text: the last unit of what was counted. */
		c = t->u[i];
		if (c == 0xFFFE || c == 0xFEFF || c == 0xFFFF)
			clean = 0;
	}
	w /= SCALE;
	out->weighted = w > INT_MAX ? INT_MAX : (int)w;
	/* JavaScript's Math.floor(w / 280 * 1000) on doubles; w >= 0. */
	out->permillage = (int)((double)out->weighted / TWEETLEN_MAX * 1000);
	out->reason = !clean ? TWEETLEN_INVALID_CHAR :
	    w == 0 ? TWEETLEN_EMPTY :
	    w > TWEETLEN_MAX ? TWEETLEN_TOO_LONG : TWEETLEN_OK;
}

/*
 * Allocation: the NFC text, its UTF-16 form and one block of per-unit
 * arrays; all freed before returning.
 */
enum tweetlen_reason
tweetlen_count(const char *s, size_t len, struct tweetlen *out)
{
	struct tl	 t;
	uint8_t		*nfc = NULL;
	uint16_t	*u16 = NULL;
	int		*block = NULL, **arrays[11], i;
	size_t		 nlen, ulen;

	memset(out, 0, sizeof(*out));
	out->reason = TWEETLEN_NOMEM;
	if (len > MAX_TEXT) {
		out->weighted = INT_MAX;
		out->permillage = INT_MAX;
		return out->reason = TWEETLEN_TOO_LONG;
	}
	if (u8_check((const uint8_t *)s, len) != NULL)
		return out->reason = TWEETLEN_BAD_UTF8;
	if (len == 0)
		return out->reason = TWEETLEN_EMPTY;
	if ((nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)s, len, NULL,
	    &nlen)) == NULL)
		goto err;
	if ((u16 = u8_to_u16(nfc, nlen, NULL, &ulen)) == NULL)
		goto err;
	memset(&t, 0, sizeof(t));
	t.u = u16;
	t.n = (int)ulen;
	arrays[0] = &t.url;
	arrays[1] = &t.emoji;
	arrays[2] = &t.lend;
	arrays[3] = &t.under;
	arrays[4] = &t.dom;
	arrays[5] = &t.tld;
	arrays[6] = &t.stld;
	arrays[7] = &t.aend;
	arrays[8] = &t.asc;
	arrays[9] = &t.stack;
	arrays[10] = NULL;
	if ((block = calloc(10 * (ulen + 1), sizeof(int))) == NULL)
		goto err;
	for (i = 0; arrays[i] != NULL; i++)
		*arrays[i] = block + i * (ulen + 1);
	prepare(&t);
	find_urls(&t);
	find_emoji(&t);
	walk(&t, out);
	out->valid = out->reason == TWEETLEN_OK;
err:
	free(block);
	free(u16);
	free(nfc);
	return out->reason;
}
