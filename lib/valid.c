#include <string.h>

#include "valid.h"

/*
 * Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF)
 * and no NUL byte.
 */
int
valid_utf8(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	unsigned long		 cp, min;

	while (i < len) {
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xE0) == 0xC0) {
			n = 1; cp = p[i] & 0x1F; min = 0x80;
		} else if ((p[i] & 0xF0) == 0xE0) {
			n = 2; cp = p[i] & 0x0F; min = 0x800;
		} else if ((p[i] & 0xF8) == 0xF0) {
			n = 3; cp = p[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
no_controls(const char *s, size_t len, const char *allowed)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 || c == 0x7F) && (c == 0 || !strchr(allowed, c)))
			return 0;
	}
	return 1;
}

int
valid_line(const char *s, size_t len)
{
	return len <= 1024 && no_controls(s, len, "") && valid_utf8(s, len);
}

int
valid_text(const char *s, size_t len)
{
	return len <= 16384 && no_controls(s, len, "\t\n\r") &&
	    valid_utf8(s, len);
}

int
valid_name(const char *s, size_t len)
{
	size_t	 i;

	if (len < 1 || len > 64 || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]) || !s[i])
			return 0;
	return 1;
}

int
valid_password(const char *s, size_t len)
{
	return len >= 1 && len <= 1024 && no_controls(s, len, "") &&
	    valid_utf8(s, len);
}

int
valid_word(const char *s, size_t len)
{
	size_t	 i;

	if (len < 1 || len > 32)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return 0;
	return 1;
}

int
valid_token(const char *s, size_t len)
{
	size_t	 i;

	if (len < 16 || len > 256)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

int
valid_cred(const char *s, size_t len)
{
	size_t	 i;

	if (len > 256)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
			return 0;
	return 1;
}

int
valid_status(const char *s, size_t len)
{
	return (len == 6 && memcmp(s, "enable", 6) == 0) ||
	    (len == 7 && memcmp(s, "disable", 7) == 0);
}

int
valid_uint(const char *s, size_t len)
{
	size_t	 i;

	if (len < 1 || len > 19)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
valid_local_path(const char *s, size_t len)
{
	/* "//host" and "/\host" would leave the site in a browser. */
	return len >= 1 && len <= 512 && s[0] == '/' &&
	    (len == 1 || (s[1] != '/' && s[1] != '\\')) &&
	    no_controls(s, len, "") && valid_utf8(s, len) &&
	    memchr(s, '\\', len) == NULL;
}

int
valid_any(const char *s, size_t len)
{
	(void)s;
	(void)len;
	return 1;
}
