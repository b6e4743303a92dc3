#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "req.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode s[0..n) ('+' as space) into a new string.  Returns NULL
 * with *bad set on malformed escapes or an encoded NUL, NULL with *bad
 * clear on out of memory.
 */
static char *
urldecode(const char *s, size_t n, size_t *outlen, int *bad)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	*bad = 0;
	if ((out = o = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%') {
			if (n - i < 3)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '\0')
			goto bad;
		else
			*o++ = s[i];
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
bad:
	*bad = 1;
	free(out);
	return NULL;
}

static int
name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *s))
			return 0;
	return 1;
}

static int
push(struct param **list, size_t *n, size_t max, char *name, char *val,
    size_t len)
{
	struct param	*p;

	if (*n >= max) {
		free(name);
		free(val);
		return 400;
	}
	if ((p = realloc(*list, (*n + 1) * sizeof(**list))) == NULL) {
		free(name);
		free(val);
		return 500;
	}
	*list = p;
	p[*n].name = name;
	p[*n].val = val;
	p[*n].len = len;
	(*n)++;
	return 0;
}

int
req_parse_urlencoded(struct req *r, const char *s, size_t n)
{
	const char	*end = s + n, *amp, *eq;
	char		*name, *val;
	size_t		 nlen, vlen;
	int		 bad, rc;

	while (s < end) {
		if ((amp = memchr(s, '&', (size_t)(end - s))) == NULL)
			amp = end;
		if (amp == s) {
			s++;
			continue;
		}
		if ((eq = memchr(s, '=', (size_t)(amp - s))) == NULL)
			eq = amp;
		if ((name = urldecode(s, (size_t)(eq - s), &nlen, &bad)) == NULL)
			return bad ? 400 : 500;
		val = urldecode(eq < amp ? eq + 1 : amp,
		    eq < amp ? (size_t)(amp - eq - 1) : 0, &vlen, &bad);
		if (val == NULL) {
			free(name);
			return bad ? 400 : 500;
		}
		/* Odd names are dropped, not refused: fossil's rule. */
		if (!name_ok(name)) {
			free(name);
			free(val);
		} else if ((rc = push(&r->params, &r->nparams, REQ_MAX_PARAMS,
		    name, val, vlen)) != 0)
			return rc;
		s = amp;
	}
	return 0;
}

int
req_parse_cookies(struct req *r, const char *h)
{
	const char	*semi, *eq, *k, *v;
	size_t		 klen, vlen;
	char		*name, *val;
	int		 rc;

	while (*h) {
		while (*h == ' ' || *h == ';')
			h++;
		if (*h == '\0')
			break;
		semi = strchr(h, ';');
		if (semi == NULL)
			semi = h + strlen(h);
		eq = memchr(h, '=', (size_t)(semi - h));
		if (eq != NULL) {
			k = h;
			klen = (size_t)(eq - h);
			v = eq + 1;
			vlen = (size_t)(semi - v);
			while (klen && k[klen - 1] == ' ')
				klen--;
			while (vlen && v[vlen - 1] == ' ')
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if ((name = strndup(k, klen)) == NULL ||
			    (val = strndup(v, vlen)) == NULL) {
				free(name);
				return 500;
			}
			/* A browser sends the first (most specific) first. */
			if (!name_ok(name) || req_cookie(r, name) != NULL) {
				free(name);
				free(val);
			} else if ((rc = push(&r->cookies, &r->ncookies,
			    REQ_MAX_COOKIES, name, val, vlen)) != 0)
				return rc;
		}
		h = semi;
	}
	return 0;
}

/* Top-level string members of a JSON object become parameters. */
static int
json_params(struct req *r)
{
	const char	*k;
	json_t		*v;
	char		*name, *val;
	int		 rc;

	json_object_foreach(r->json, k, v) {
		if (!json_is_string(v) || !name_ok(k))
			continue;
		if ((name = strdup(k)) == NULL ||
		    (val = strndup(json_string_value(v),
		    json_string_length(v))) == NULL) {
			free(name);
			return 500;
		}
		/* Jansson allows NUL in strings; our values never do. */
		if (strlen(val) != json_string_length(v)) {
			free(name);
			free(val);
			return 400;
		}
		if ((rc = push(&r->params, &r->nparams, REQ_MAX_PARAMS, name,
		    val, json_string_length(v))) != 0)
			return rc;
	}
	return 0;
}

/*
 * Read and drop a refused body: a CGI that exits without reading its
 * input makes some servers (Apache's mod_cgid) cut the reply short.
 * The server caps bodies at 1 MiB; past 4 MiB we stop caring.
 */
static void
drain(FILE *in, unsigned long n)
{
	char	 sink[8192];
	size_t	 got;

	if (n > 4UL * 1024 * 1024)
		n = 4UL * 1024 * 1024;
	while (n > 0 && (got = fread(sink, 1, n < sizeof(sink) ? n :
	    sizeof(sink), in)) > 0)
		n -= got;
}

static int
read_body(struct req *r, FILE *in)
{
	const char	*cl = getenv("CONTENT_LENGTH");
	const char	*ct = getenv("CONTENT_TYPE");
	char		*body, *end;
	unsigned long	 n;
	size_t		 got;
	json_error_t	 jerr;
	int		 rc;

	if (cl == NULL || *cl == '\0')
		return 0;
	errno = 0;
	n = strtoul(cl, &end, 10);
	if (*end != '\0' || errno || cl[0] == '-')
		return 400;
	if (n > REQ_MAX_BODY) {
		drain(in, n);
		return 413;
	}
	if (n == 0)
		return 0;
	if ((body = malloc(n + 1)) == NULL)
		return 500;
	got = fread(body, 1, n, in);
	if (got != n) {
		free(body);
		return 400;
	}
	body[n] = '\0';
	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded",
	    33) == 0)
		rc = req_parse_urlencoded(r, body, n);
	else if (strncasecmp(ct, "application/json", 16) == 0) {
		r->wants_json = 1;
		r->json = json_loadb(body, n, JSON_REJECT_DUPLICATES, &jerr);
		if (r->json == NULL || !json_is_object(r->json))
			rc = 400;
		else
			rc = json_params(r);
	} else
		rc = 415;
	free(body);
	return rc;
}

static void
fill_fields(struct req *r)
{
	size_t	 i, j;

	for (i = 0; i < r->ndefs; i++)
		for (j = 0; j < r->nparams; j++)
			if (strcmp(r->params[j].name, r->defs[i].name) == 0 &&
			    r->defs[i].valid(r->params[j].val, r->params[j].len)) {
				r->fields[i] = r->params[j].val;
				break;
			}
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int
req_parse(struct req *r, const struct cfg *cfg, const struct field *defs,
    size_t ndefs, FILE *in)
{
	const char	*m, *uri, *q, *accept;
	size_t		 plen, blen;
	int		 rc;

	memset(r, 0, sizeof(*r));
	r->defs = defs;
	r->ndefs = ndefs;
	if ((r->fields = calloc(ndefs ? ndefs : 1, sizeof(char *))) == NULL)
		return 500;
	r->origin = env("HTTP_ORIGIN");
	r->fetch_site = env("HTTP_SEC_FETCH_SITE");
	r->csrf_header = env("HTTP_X_CSRF_TOKEN");
	r->remote_addr = env("REMOTE_ADDR");
	accept = env("HTTP_ACCEPT");
	r->wants_json = accept && strstr(accept, "application/json") &&
	    !strstr(accept, "text/html");

	m = env("REQUEST_METHOD");
	r->method = m == NULL ? M_OTHER : strcmp(m, "GET") == 0 ? M_GET :
	    strcmp(m, "HEAD") == 0 ? M_HEAD : strcmp(m, "POST") == 0 ? M_POST :
	    M_OTHER;

	/* REQUEST_URI is the path as the client sent it, query included. */
	if ((uri = env("REQUEST_URI")) == NULL)
		uri = "/";
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	blen = strlen(cfg->base_path);
	if (plen < blen || strncmp(uri, cfg->base_path, blen) != 0 ||
	    (plen > blen && uri[blen] != '/'))
		return 404;
	if (plen == blen)
		r->path = strdup("/");
	else
		r->path = strndup(uri + blen, plen - blen);
	if (r->path == NULL)
		return 500;

	if ((rc = env("HTTP_COOKIE") ? req_parse_cookies(r,
	    env("HTTP_COOKIE")) : 0) != 0)
		return rc;
	if (r->method == M_POST)
		rc = read_body(r, in);
	else if (q != NULL)
		rc = req_parse_urlencoded(r, q + 1, strlen(q + 1));
	if (rc != 0)
		return rc;
	fill_fields(r);
	return 0;
}

const char *
req_get(const struct req *r, size_t i)
{
	return i < r->ndefs ? r->fields[i] : NULL;
}

int
req_getall(const struct req *r, size_t i, const char **vals, size_t max)
{
	const struct field	*f;
	json_t			*arr, *v;
	size_t			 j, n = 0;

	if (i >= r->ndefs)
		return -1;
	f = &r->defs[i];
	if (r->json != NULL) {
		if ((arr = json_object_get(r->json, f->name)) == NULL)
			return 0;
		if (!json_is_array(arr) || json_array_size(arr) > max)
			return -1;
		json_array_foreach(arr, j, v) {
			if (!json_is_string(v) ||
			    strlen(json_string_value(v)) != json_string_length(v) ||
			    !f->valid(json_string_value(v), json_string_length(v)))
				return -1;
			vals[n++] = json_string_value(v);
		}
		return (int)n;
	}
	for (j = 0; j < r->nparams; j++) {
		if (strcmp(r->params[j].name, f->name) != 0)
			continue;
		if (n >= max || !f->valid(r->params[j].val, r->params[j].len))
			return -1;
		vals[n++] = r->params[j].val;
	}
	return (int)n;
}

int
req_present(const struct req *r, size_t i)
{
	size_t	 j;

	if (i >= r->ndefs)
		return 0;
	for (j = 0; j < r->nparams; j++)
		if (strcmp(r->params[j].name, r->defs[i].name) == 0)
			return 1;
	return 0;
}

const char *
req_cookie(const struct req *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->ncookies; i++)
		if (strcmp(r->cookies[i].name, name) == 0)
			return r->cookies[i].val;
	return NULL;
}

static void
free_params(struct param *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].val);
	}
	free(p);
}

void
req_free(struct req *r)
{
	free(r->path);
	free_params(r->params, r->nparams);
	free_params(r->cookies, r->ncookies);
	json_decref(r->json);
	free(r->fields);
	memset(r, 0, sizeof(*r));
}
