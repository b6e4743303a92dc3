/*
 * fuzz_request: the whole of req_parse, environment and body.
 *
 * The input is read as
 *
 *	flags byte, REQUEST_URI '\n' CONTENT_TYPE '\n' HTTP_COOKIE '\n' body
 *
 * where the flags choose the method, how CONTENT_LENGTH relates to the
 * body (exact, absent, one byte too long, over the cap), the BASE_URL
 * (at the root or under a sub-path) and an Accept header.  An empty
 * line leaves its variable unset, as a server does for a header the
 * client did not send.  The field table has one field per validator of
 * valid.h, so every validator runs on values the parser let through.
 *
 * The environment is set with putenv on buffers this file owns and
 * frees: setenv would keep every value it was ever given, and memory
 * that grows with each input is a leak to libFuzzer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "fuzz.h"
#include "req.h"

static const struct field defs[] = {
	{ "utf8", valid_utf8 },
	{ "line", valid_line },
	{ "text", valid_text },
	{ "name", valid_name },
	{ "password", valid_password },
	{ "word", valid_word },
	{ "token", valid_token },
	{ "cred", valid_cred },
	{ "status", valid_status },
	{ "uint", valid_uint },
	{ "path", valid_local_path },
	{ "any", valid_any },
};
#define NDEFS	(sizeof(defs) / sizeof(defs[0]))
#define MAXVALS	4

enum var { V_METHOD, V_URI, V_CTYPE, V_COOKIE, V_LENGTH, V_ACCEPT, V__MAX };

static const char *const names[V__MAX] = {
	"REQUEST_METHOD", "REQUEST_URI", "CONTENT_TYPE", "HTTP_COOKIE",
	"CONTENT_LENGTH", "HTTP_ACCEPT"
};
static char		*vars[V__MAX];	/* what putenv was given */
static struct cfg	 cfgs[2];	/* BASE_URL at "/" and at "/sub" */
static int		 ready;

/*
 * Set (val != NULL, n bytes, cut at a NUL as the environment would) or
 * unset a variable; the previous string is freed only once the
 * environment no longer points at it.
 */
static void
setvar(enum var v, const char *val, size_t n)
{
	size_t	 nlen = strlen(names[v]);
	char	*s;

	if (val == NULL) {
		unsetenv(names[v]);
		free(vars[v]);
		vars[v] = NULL;
		return;
	}
	if ((s = malloc(nlen + 1 + n + 1)) == NULL)
		abort();
	memcpy(s, names[v], nlen);
	s[nlen] = '=';
	memcpy(s + nlen + 1, val, n);
	s[nlen + 1 + n] = '\0';
	if (putenv(s) != 0)
		abort();
	free(vars[v]);
	vars[v] = s;
}

static void
init(void)
{
	static const char *const base[2] = {
		"http://127.0.0.1:8080", "https://example.org/sub"
	};
	char	 err[128];
	size_t	 i;

	for (i = 0; i < 2; i++) {
		setenv("BASE_URL", base[i], 1);
		if (cfg_load(&cfgs[i], err, sizeof(err)) == -1) {
			fprintf(stderr, "cfg_load: %s\n", err);
			abort();
		}
	}
	unsetenv("HTTP_ORIGIN");
	unsetenv("HTTP_SEC_FETCH_SITE");
	unsetenv("HTTP_X_CSRF_TOKEN");
	ready = 1;
}

/* The next line of [*p, end) into (*line, *len); 0 when none is left. */
static int
nextline(const char **p, const char *end, const char **line, size_t *len)
{
	const char	*nl;

	if (*p >= end)
		return 0;
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		nl = end;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl < end ? nl + 1 : end;
	return 1;
}

static void
check(const struct req *r, int rc)
{
	const char	*vals[MAXVALS], *v;
	size_t		 i;
	int		 n, k;

	FUZZ_CHECK(rc == 0 || rc == 400 || rc == 404 || rc == 413 ||
	    rc == 415 || rc == 500);
	if (rc != 0)
		return;
	FUZZ_CHECK(r->path != NULL && r->path[0] == '/');
	FUZZ_CHECK(r->json == NULL || json_is_object(r->json));
	FUZZ_CHECK(r->nparams <= REQ_MAX_PARAMS);
	FUZZ_CHECK(r->ncookies <= REQ_MAX_COOKIES);
	for (i = 0; i < NDEFS; i++) {
		if ((v = req_get(r, i)) != NULL) {
			/* What a handler gets has passed its validator. */
			FUZZ_CHECK(defs[i].valid(v, strlen(v)));
			FUZZ_CHECK(req_present(r, i));
		}
		n = req_getall(r, i, vals, MAXVALS);
		FUZZ_CHECK(n >= -1 && n <= MAXVALS);
		for (k = 0; k < n; k++)
			FUZZ_CHECK(defs[i].valid(vals[k], strlen(vals[k])));
	}
	for (i = 0; i < r->ncookies; i++)
		FUZZ_CHECK(req_cookie(r, r->cookies[i].name) ==
		    r->cookies[i].val);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[4] = { "GET", "POST", "HEAD", "PUT" };
	const char	*p, *end, *line, *body;
	char		 len[32];
	struct req	 r;
	size_t		 n, blen;
	FILE		*in;
	int		 flags, rc;
	enum var	 v;

	if (!ready)
		init();
	if (size < 1)
		return 0;
	flags = data[0];
	p = (const char *)data + 1;
	end = (const char *)data + size;

	setvar(V_METHOD, methods[flags & 3], strlen(methods[flags & 3]));
	for (v = V_URI; v <= V_COOKIE; v++) {
		if (!nextline(&p, end, &line, &n) || n == 0)
			setvar(v, NULL, 0);
		else
			setvar(v, line, n);
	}
	body = p;
	blen = (size_t)(end - p);
	switch (flags >> 2 & 3) {
	case 0:
		snprintf(len, sizeof(len), "%zu", blen);
		break;
	case 1:
		len[0] = '\0';
		break;
	case 2:		/* the client hung up early */
		snprintf(len, sizeof(len), "%zu", blen + 1);
		break;
	default:	/* over the cap: the body must be drained */
		snprintf(len, sizeof(len), "%d", REQ_MAX_BODY + 1);
		break;
	}
	setvar(V_LENGTH, len[0] ? len : NULL, strlen(len));
	if (flags & 0x20)
		setvar(V_ACCEPT, "application/json", 16);
	else
		setvar(V_ACCEPT, NULL, 0);

	if ((in = fmemopen((void *)(uintptr_t)body, blen, "r")) == NULL)
		return 0;
	rc = req_parse(&r, &cfgs[flags >> 4 & 1], defs, NDEFS, in);
	check(&r, rc);
	req_free(&r);
	fclose(in);
	return 0;
}
