/*
 * fuzz_cookies: req_parse_cookies on an arbitrary Cookie header.
 *
 * The header comes from the environment, so it is a C string: the
 * input is cut at its first NUL.  Checked: only well-formed names are
 * kept, each at most once (the session lookup trusts the first one),
 * values are strings of their recorded length with no ';' in them, the
 * cap holds, and req_cookie finds every kept cookie.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "req.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req	 r;
	char		*h;
	size_t		 i, j;
	int		 rc;

	if ((h = malloc(size + 1)) == NULL)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	memset(&r, 0, sizeof(r));

	rc = req_parse_cookies(&r, h);
	FUZZ_CHECK(rc == 0 || rc == 400 || rc == 500);
	FUZZ_CHECK(r.ncookies <= REQ_MAX_COOKIES);
	for (i = 0; i < r.ncookies; i++) {
		const struct param *c = &r.cookies[i];

		FUZZ_CHECK(c->name[0] != '\0');
		FUZZ_CHECK(c->name[strspn(c->name, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] == '\0');
		FUZZ_CHECK(strlen(c->val) == c->len);
		FUZZ_CHECK(strchr(c->val, ';') == NULL);
		FUZZ_CHECK(strstr(h, c->name) != NULL);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(r.cookies[j].name, c->name) != 0);
		if (rc == 0)
			FUZZ_CHECK(req_cookie(&r, c->name) == c->val);
	}
	req_free(&r);
	free(h);
	return 0;
}
