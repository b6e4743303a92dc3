/*
 * fuzz_urlencoded: req_parse_urlencoded on arbitrary bytes.
 *
 * Beyond "no crash, no leak", it checks what the rest of the program
 * relies on: every kept name is in [A-Za-z0-9_.-], every value is a
 * NUL-terminated string of its recorded length (no NUL inside, so
 * strcmp and the validators see all of it), the parameter cap holds,
 * and what was decoded, encoded again, decodes to the same list.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "req.h"

/* One field per kind of validator that a form's values meet. */
static const struct field defs[] = {
	{ "text", valid_text },
	{ "name", valid_name },
	{ "channel", valid_uint },
	{ "csrf", valid_token },
	{ "any", valid_any },
};
#define NDEFS	(sizeof(defs) / sizeof(defs[0]))
#define MAXVALS	8

static int
name_ok(const char *s)
{
	return *s != '\0' && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] == '\0';
}

/* Percent-encode everything but unreserved characters; NULL on OOM. */
static char *
encode(const struct req *r, size_t *len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*s;
	char			*out, *o;
	size_t			 i, n = 0, pass;

	for (i = 0; i < r->nparams; i++)
		n += 3 * (strlen(r->params[i].name) + r->params[i].len) + 2;
	if ((out = o = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < r->nparams; i++) {
		if (i > 0)
			*o++ = '&';
		for (pass = 0; pass < 2; pass++) {
			if (pass == 1)
				*o++ = '=';
			s = (const unsigned char *)(pass == 0 ?
			    r->params[i].name : r->params[i].val);
			for (; *s != '\0'; s++)
				if (strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~",
				    *s) != NULL)
					*o++ = (char)*s;
				else {
					*o++ = '%';
					*o++ = hex[*s >> 4];
					*o++ = hex[*s & 0xf];
				}
		}
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

static void
check_params(const struct req *r)
{
	size_t	 i;

	FUZZ_CHECK(r->nparams <= REQ_MAX_PARAMS);
	for (i = 0; i < r->nparams; i++) {
		FUZZ_CHECK(name_ok(r->params[i].name));
		FUZZ_CHECK(strlen(r->params[i].val) == r->params[i].len);
	}
}

static void
check_fields(const struct req *r)
{
	const char	*vals[MAXVALS];
	size_t		 i;
	int		 n, k;

	for (i = 0; i < NDEFS; i++) {
		n = req_getall(r, i, vals, MAXVALS);
		FUZZ_CHECK(n >= -1 && n <= MAXVALS);
		for (k = 0; k < n; k++)
			FUZZ_CHECK(defs[i].valid(vals[k], strlen(vals[k])));
		if (n > 0)
			FUZZ_CHECK(req_present(r, i));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req	 r, again;
	char		*enc;
	size_t		 i, enclen;
	int		 rc;

	memset(&r, 0, sizeof(r));
	memset(&again, 0, sizeof(again));
	r.defs = again.defs = defs;
	r.ndefs = again.ndefs = NDEFS;
	if ((r.fields = calloc(NDEFS, sizeof(*r.fields))) == NULL)
		return 0;

	rc = req_parse_urlencoded(&r, (const char *)data, size);
	FUZZ_CHECK(rc == 0 || rc == 400 || rc == 500);
	/* What was kept before a refusal is freed by req_free, not used. */
	check_params(&r);
	if (rc != 0)
		goto out;
	check_fields(&r);

	if ((enc = encode(&r, &enclen)) == NULL)
		goto out;
	rc = req_parse_urlencoded(&again, enc, enclen);
	free(enc);
	if (rc == 500)
		goto out;
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(again.nparams == r.nparams);
	for (i = 0; i < r.nparams; i++) {
		FUZZ_CHECK(strcmp(again.params[i].name, r.params[i].name) == 0);
		FUZZ_CHECK(again.params[i].len == r.params[i].len);
		FUZZ_CHECK(memcmp(again.params[i].val, r.params[i].val,
		    r.params[i].len) == 0);
	}
out:
	req_free(&again);
	req_free(&r);
	return 0;
}
