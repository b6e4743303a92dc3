/*
 * xapi: Sosyabot's calls to X's API (see xapi.h), on top of xhttp.
 *
 * X's answers are read defensively: a missing field or one of the wrong
 * type makes the answer one we do not understand (XRES_UNEXPECTED),
 * never a crash.  Buffers that held a client secret or an access token
 * are overwritten before they are freed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "buf.h"
#include "msg.h"
#include "xapi.h"
#include "xhttp.h"

/*
 * The live check sends an authorization code X never issued, with a
 * well-formed PKCE verifier (43 unreserved characters, RFC 7636 §4.1),
 * so that the client's Basic header is all X can judge.
 */
#define CHECK_CODE	"sosyabot-credential-check"
#define CHECK_VERIFIER	"sosyabot-credential-check-verifier-00000000"
_Static_assert(sizeof(CHECK_VERIFIER) - 1 == 43, "PKCE verifier length");

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static void
buf_wipe(struct buf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->cap);
	buf_free(b);
}

static void
resp_wipe(struct xhttp_resp *r)
{
	buf_wipe(&r->body);
	xhttp_free(r);
}

/*
 * An RFC 6750 b64token: what a bearer token may be.  It goes into a
 * request header, so this also keeps line breaks out of it.
 */
static int
b64token(const char *s)
{
	size_t	 n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~+/");

	if (n == 0)
		return 0;
	return s[n + strspn(s + n, "=")] == '\0';
}

/* Base URL and path joined, with no doubled slash. */
static void
api_url(struct buf *b, const struct cfg *cfg, const char *path)
{
	size_t	 n = strlen(cfg->x_api);

	while (n > 0 && cfg->x_api[n - 1] == '/')
		n--;
	buf_add(b, cfg->x_api, n);
	buf_adds(b, path);
}

/* "id:secret" for Basic auth, each half form-encoded first as RFC 6749
 * §2.3.1 requires (a ':' in the id would otherwise split it). */
static void
client_userpwd(struct buf *b, const char *id, const char *secret)
{
	xhttp_urlenc(b, id);
	buf_addc(b, ':');
	xhttp_urlenc(b, secret);
}

/* A failure of our own before any request: resp as xhttp_do leaves it. */
static void
local_fail(struct xhttp_resp *r, const char *why)
{
	memset(r, 0, sizeof(*r));
	r->fail = XHTTP_NOT_SENT;
	r->rl_limit = r->rl_remaining = r->rl_reset = -1;
	r->app_remaining = r->app_reset = -1;
	snprintf(r->err, sizeof(r->err), "%s", why);
}

/* POST form to {x_api}{path}; userpwd may be NULL.  r is initialised. */
static void
post_form(const struct cfg *cfg, const char *path, const struct buf *userpwd,
    const struct buf *form, struct xhttp_resp *r)
{
	static const char *const hdrs[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		NULL
	};
	struct buf	 url = { 0 };
	struct xhttp_req rq;

	api_url(&url, cfg, path);
	if (!buf_ok(&url) || !buf_ok(form) ||
	    (userpwd != NULL && !buf_ok(userpwd))) {
		local_fail(r, "out of memory");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = buf_str(&url);
	rq.headers = hdrs;
	rq.body = buf_str(form);
	rq.bodylen = form->len;
	rq.userpwd = userpwd != NULL ? buf_str(userpwd) : NULL;
	xhttp_do(cfg, &rq, r);
out:
	buf_free(&url);
}

/*
 * "X answered HTTP <status>", with X's own explanation when its body
 * has one: OAuth's error_description or error, or a problem's detail
 * or title.  Only printable ASCII of it is kept, as it ends up on a
 * page and in a log line.
 */
static void
reason(const struct xhttp_resp *r, char *d, size_t n)
{
	static const char *const keys[] = {
		"error_description", "error", "detail", "title"
	};
	json_t		*j;
	const char	*why = NULL;
	size_t		 i, len;

	msg_set(d, n, "X answered HTTP %ld", r->status);
	j = json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
	for (i = 0; json_is_object(j) && why == NULL && i < NITEMS(keys); i++)
		why = json_string_value(json_object_get(j, keys[i]));
	if (why != NULL && *why != '\0' && (len = strlen(d)) + 3 < n) {
		d[len++] = ':';
		d[len++] = ' ';
		d[len] = '\0';
		msg_printable_cat(d, n, why);
	}
	json_decref(j);
}

/* The outcome of a call from its transport result and status. */
static enum xres
outcome(const struct xhttp_resp *r, char *d, size_t n)
{
	if (r->fail != XHTTP_OK) {
		msg_set(d, n, "%s", r->err);
		return r->fail == XHTTP_NOT_SENT ?
		    XRES_NOT_SENT : XRES_NO_ANSWER;
	}
	if (r->status >= 200 && r->status < 300)
		return XRES_OK;
	reason(r, d, n);
	switch (r->status) {
	case 401:
		return XRES_UNAUTHORIZED;
	case 400:
	case 403:
		return XRES_REFUSED;
	case 429:
		return XRES_RATE_LIMITED;
	default:
		return XRES_UNEXPECTED;
	}
}

/* A 400 whose OAuth error is about the code, not the client. */
static int
code_refused(const struct xhttp_resp *r)
{
	json_t		*j;
	const char	*e;
	int		 yes;

	if (r->status != 400)
		return 0;
	j = json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
	e = json_string_value(json_object_get(j, "error"));
	yes = e != NULL && (strcmp(e, "invalid_request") == 0 ||
	    strcmp(e, "invalid_grant") == 0);
	json_decref(j);
	return yes;
}

enum xcheck
xapi_check_client(const struct cfg *cfg, const char *client_id,
    const char *client_secret, char *detail, size_t detaillen)
{
	struct buf		 up = { 0 }, form = { 0 };
	struct xhttp_resp	 r;
	enum xcheck		 rc;

	client_userpwd(&up, client_id, client_secret);
	buf_adds(&form, "grant_type=authorization_code&code=" CHECK_CODE
	    "&redirect_uri=");
	xhttp_urlenc(&form, cfg->callback_url);
	buf_adds(&form, "&code_verifier=" CHECK_VERIFIER);
	post_form(cfg, "/2/oauth2/token", &up, &form, &r);

	if (r.fail != XHTTP_OK) {
		msg_set(detail, detaillen, "%s", r.err);
		rc = XCHECK_UNREACHABLE;
	} else {
		reason(&r, detail, detaillen);
		if (r.status == 401)
			rc = XCHECK_REJECTED;
		else if (code_refused(&r))
			rc = XCHECK_ACCEPTED;
		else
			rc = XCHECK_UNEXPECTED;
	}
	xhttp_free(&r);
	buf_wipe(&up);
	buf_free(&form);
	return rc;
}

/* Fill tok from X's token answer; -1 if it is not one we understand. */
static int
parse_token(const struct xhttp_resp *r, struct xtoken *tok)
{
	json_t		*j, *v;
	const char	*s;
	int		 rc = -1;

	j = json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
	if (!json_is_object(j))
		goto out;
	s = json_string_value(json_object_get(j, "access_token"));
	if (s == NULL || !b64token(s))
		goto out;
	if ((v = json_object_get(j, "token_type")) != NULL &&
	    (!json_is_string(v) ||
	     strcasecmp(json_string_value(v), "bearer") != 0))
		goto out;
	if ((v = json_object_get(j, "expires_in")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			goto out;
		tok->expires_in = json_integer_value(v);
	}
	if ((v = json_object_get(j, "scope")) != NULL) {
		if (!json_is_string(v) ||
		    (tok->scope = strdup(json_string_value(v))) == NULL)
			goto out;
	}
	if ((tok->access_token = strdup(s)) == NULL)
		goto out;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

enum xres
xapi_token(const struct cfg *cfg, const char *client_id,
    const char *client_secret, const char *code, const char *code_verifier,
    struct xtoken *tok, char *detail, size_t detaillen)
{
	struct buf		 up = { 0 }, form = { 0 };
	struct xhttp_resp	 r;
	enum xres		 rc;

	memset(tok, 0, sizeof(*tok));
	tok->expires_in = -1;
	client_userpwd(&up, client_id, client_secret);
	buf_adds(&form, "grant_type=authorization_code&code=");
	xhttp_urlenc(&form, code);
	buf_adds(&form, "&redirect_uri=");
	xhttp_urlenc(&form, cfg->callback_url);
	buf_adds(&form, "&code_verifier=");
	xhttp_urlenc(&form, code_verifier);
	post_form(cfg, "/2/oauth2/token", &up, &form, &r);

	rc = outcome(&r, detail, detaillen);
	if (rc == XRES_OK && parse_token(&r, tok) == -1) {
		xapi_token_free(tok);
		msg_set(detail, detaillen, "X's token answer could not be read");
		rc = XRES_UNEXPECTED;
	}
	resp_wipe(&r);
	buf_wipe(&up);
	buf_wipe(&form);
	return rc;
}

void
xapi_token_free(struct xtoken *tok)
{
	if (tok->access_token != NULL)
		explicit_bzero(tok->access_token, strlen(tok->access_token));
	free(tok->access_token);
	free(tok->scope);
	memset(tok, 0, sizeof(*tok));
	tok->expires_in = -1;
}

/* Fill u from X's users/me answer; -1 if it is not one we understand. */
static int
parse_user(const struct xhttp_resp *r, struct xuser *u)
{
	json_t		*j, *data;
	const char	*id, *username, *name;
	int		 rc = -1;

	j = json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
	data = json_object_get(j, "data");
	id = json_string_value(json_object_get(data, "id"));
	username = json_string_value(json_object_get(data, "username"));
	name = json_string_value(json_object_get(data, "name"));
	if (id == NULL || username == NULL || name == NULL)
		goto out;
	/* Both are shown and stored as keys: hold X to its formats. */
	if (*id == '\0' || strlen(id) > 20 ||
	    id[strspn(id, "0123456789")] != '\0')
		goto out;
	if (*username == '\0' || strlen(username) > 50 ||
	    username[strspn(username, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_")] != '\0')
		goto out;
	if ((u->id = strdup(id)) == NULL ||
	    (u->username = strdup(username)) == NULL ||
	    (u->name = strdup(name)) == NULL)
		goto out;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

enum xres
xapi_me(const struct cfg *cfg, const char *access_token, struct xuser *u,
    char *detail, size_t detaillen)
{
	struct buf		 url = { 0 }, auth = { 0 };
	struct xhttp_resp	 r;
	struct xhttp_req	 rq;
	const char		*hdrs[3];
	enum xres		 rc;

	memset(u, 0, sizeof(*u));
	if (!b64token(access_token)) {
		msg_set(detail, detaillen, "the stored access token is malformed");
		return XRES_UNEXPECTED;
	}
	api_url(&url, cfg, "/2/users/me");
	buf_addf(&auth, "Authorization: Bearer %s", access_token);
	if (!buf_ok(&url) || !buf_ok(&auth))
		local_fail(&r, "out of memory");
	else {
		hdrs[0] = buf_str(&auth);
		hdrs[1] = "Accept: application/json";
		hdrs[2] = NULL;
		memset(&rq, 0, sizeof(rq));
		rq.method = "GET";
		rq.url = buf_str(&url);
		rq.headers = hdrs;
		xhttp_do(cfg, &rq, &r);
	}

	rc = outcome(&r, detail, detaillen);
	if (rc == XRES_OK && parse_user(&r, u) == -1) {
		xapi_user_free(u);
		msg_set(detail, detaillen, "X's users/me answer could not be read");
		rc = XRES_UNEXPECTED;
	}
	xhttp_free(&r);
	buf_free(&url);
	buf_wipe(&auth);
	return rc;
}

void
xapi_user_free(struct xuser *u)
{
	free(u->id);
	free(u->username);
	free(u->name);
	memset(u, 0, sizeof(*u));
}

enum xres
xapi_revoke(const struct cfg *cfg, const char *client_id,
    const char *client_secret, const char *access_token, char *detail,
    size_t detaillen)
{
	struct buf		 up = { 0 }, form = { 0 };
	struct xhttp_resp	 r;
	enum xres		 rc;

	client_userpwd(&up, client_id, client_secret);
	buf_adds(&form, "token=");
	xhttp_urlenc(&form, access_token);
	buf_adds(&form, "&token_type_hint=access_token");
	post_form(cfg, "/2/oauth2/revoke", &up, &form, &r);
	rc = outcome(&r, detail, detaillen);
	xhttp_free(&r);
	buf_wipe(&up);
	buf_wipe(&form);
	return rc;
}

/*
 * A created post's id from a 2xx answer; -1 when there is none.  A 200
 * can carry an "errors" array instead of data (a refusal): *refused is
 * set then, with X's message in d.
 */
static int
parse_post(const struct xhttp_resp *r, struct xpost *p, int *refused,
    char *d, size_t n)
{
	json_t		*j, *errs;
	const char	*id, *msg;
	int		 rc = -1;

	*refused = 0;
	j = json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
	id = json_string_value(json_object_get(json_object_get(j, "data"),
	    "id"));
	if (id != NULL && *id != '\0' && strlen(id) <= 20 &&
	    id[strspn(id, "0123456789")] == '\0') {
		rc = (p->id = strdup(id)) != NULL ? 0 : -1;
		goto out;
	}
	errs = json_object_get(j, "errors");
	if (json_is_array(errs) && json_array_size(errs) > 0) {
		*refused = 1;
		msg = json_string_value(json_object_get(json_array_get(errs, 0),
		    "detail"));
		if (msg == NULL)
			msg = json_string_value(json_object_get(
			    json_array_get(errs, 0), "message"));
		/* The caller says "X refused the post"; this is what X said. */
		msg_set(d, n, "X answered HTTP %ld with an error: ", r->status);
		msg_printable_cat(d, n, msg ? msg : "no reason");
	}
out:
	json_decref(j);
	return rc;
}

enum xres
xapi_tweet(const struct cfg *cfg, const char *access_token, const char *text,
    struct xpost *p, char *detail, size_t detaillen)
{
	static const char	*dup = "duplicate content";
	struct buf		 url = { 0 }, auth = { 0 };
	struct xhttp_resp	 r;
	struct xhttp_req	 rq;
	const char		*hdrs[4];
	json_t			*body;
	char			*json = NULL;
	enum xres		 rc;
	int			 refused;

	memset(p, 0, sizeof(*p));
	p->rl_remaining = p->rl_reset = p->app_remaining = p->app_reset = -1;
	if (!b64token(access_token)) {
		msg_set(detail, detaillen, "the stored access token is malformed");
		return XRES_NOT_SENT;
	}
	body = json_pack("{s:s}", "text", text);
	json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	api_url(&url, cfg, "/2/tweets");
	buf_addf(&auth, "Authorization: Bearer %s", access_token);
	if (json == NULL || !buf_ok(&url) || !buf_ok(&auth))
		local_fail(&r, "out of memory");
	else {
		hdrs[0] = buf_str(&auth);
		hdrs[1] = "Content-Type: application/json";
		hdrs[2] = "Accept: application/json";
		hdrs[3] = NULL;
		memset(&rq, 0, sizeof(rq));
		rq.method = "POST";
		rq.url = buf_str(&url);
		rq.headers = hdrs;
		rq.body = json;
		rq.bodylen = strlen(json);
		xhttp_do(cfg, &rq, &r);
	}
	p->rl_remaining = r.rl_remaining;
	p->rl_reset = r.rl_reset;
	p->app_remaining = r.app_remaining;
	p->app_reset = r.app_reset;
	rc = outcome(&r, detail, detaillen);
	if (rc == XRES_OK && parse_post(&r, p, &refused, detail,
	    detaillen) != 0) {
		/* A 2xx we cannot read may still have created the post. */
		rc = refused ? XRES_REFUSED : XRES_UNEXPECTED;
		if (!refused)
			msg_set(detail, detaillen, "X's answer could not be read "
			    "(HTTP %ld)", r.status);
	}
	if (rc == XRES_REFUSED && r.status == 403 && strstr(detail, dup))
		p->duplicate = 1;
	xhttp_free(&r);
	buf_free(&url);
	buf_wipe(&auth);
	free(json);
	return rc;
}

void
xapi_post_free(struct xpost *p)
{
	free(p->id);
	p->id = NULL;
}
