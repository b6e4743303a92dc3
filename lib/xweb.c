#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "msg.h"
#include "xhttp.h"
#include "xweb.h"

/* A browser's, as X's web app expects one. */
#define WEB_UA	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " \
	"(KHTML, like Gecko) Chrome/124.0 Safari/537.36"

static int
hex(const char *s, size_t min, size_t max)
{
	size_t	 n = strlen(s);

	return n >= min && n <= max &&
	    s[strspn(s, "0123456789abcdefABCDEF")] == '\0';
}

int
xweb_auth_token_ok(const char *s)
{
	return s != NULL && strlen(s) == 40 && hex(s, 40, 40);
}

int
xweb_ct0_ok(const char *s)
{
	return s != NULL && hex(s, 32, 160);
}

int
xweb_handle_ok(const char *s)
{
	if (s == NULL)
		return 0;
	if (*s == '@')
		s++;
	return strlen(s) >= 1 && strlen(s) <= 15 &&
	    s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_")] == '\0';
}

static void
join(struct buf *b, const char *base, const char *path)
{
	size_t	 n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_add(b, base, n);
	buf_adds(b, path);
}

/*
 * One call with the headers a logged-in browser sends.  The cookie
 * values were checked as hex, the bearer as a token, so none can break
 * a header line.
 */
static void
call(const struct cfg *cfg, const struct xcookies *ck, const char *method,
    const struct buf *url, const char *body, struct xhttp_resp *r)
{
	struct buf		 auth = { 0 }, cookie = { 0 }, csrf = { 0 };
	struct xhttp_req	 rq;
	const char		*hdrs[10];

	buf_addf(&auth, "Authorization: Bearer %s", ck->bearer);
	buf_addf(&cookie, "Cookie: auth_token=%s; ct0=%s", ck->auth_token,
	    ck->ct0);
	buf_addf(&csrf, "X-Csrf-Token: %s", ck->ct0);
	hdrs[0] = buf_str(&auth);
	hdrs[1] = buf_str(&cookie);
	hdrs[2] = buf_str(&csrf);
	hdrs[3] = "X-Twitter-Auth-Type: OAuth2Session";
	hdrs[4] = "X-Twitter-Active-User: yes";
	hdrs[5] = "Content-Type: application/json";
	hdrs[6] = "User-Agent: " WEB_UA;
	hdrs[7] = "Referer: https://x.com/";
	hdrs[8] = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.url = buf_str(url);
	rq.headers = hdrs;
	rq.body = body;
	rq.bodylen = body ? strlen(body) : 0;
	xhttp_do(cfg, &rq, r);
	explicit_bzero(cookie.p, cookie.cap);
	explicit_bzero(csrf.p, csrf.cap);
	buf_free(&auth);
	buf_free(&cookie);
	buf_free(&csrf);
}

/* X's ids: 1 to 20 digits. */
static int
id_ok(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= 20 &&
	    s[strspn(s, "0123456789")] == '\0';
}

/*
 * errors[0].code and .message of a web answer; a code that is not a
 * small positive number is no code (cast to int, 2^32 + 89 would pass
 * for 89, "bad cookies").
 */
static int
error_code(const struct xhttp_resp *r, char *msg, size_t n)
{
	json_t		*j, *e;
	json_int_t	 v;
	const char	*m;
	int		 code = 0;

	if (msg && n)
		msg[0] = '\0';
	j = json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
	e = json_array_get(json_object_get(j, "errors"), 0);
	if (json_is_object(e)) {
		v = json_integer_value(json_object_get(e, "code"));
		code = v > 0 && v < 1000000 ? (int)v : 0;
		if (msg && (m = json_string_value(json_object_get(e,
		    "message"))) != NULL)
			msg_printable_cat(msg, n, m);
	}
	json_decref(j);
	return code;
}

static int
dead_cookies(int code)
{
	return code == 32 || code == 89 || code == 353;
}

enum xweb_verify
xweb_verify(const struct cfg *cfg, const struct xcookies *ck, char **handle,
    char **id, char *detail, size_t detaillen)
{
	static const char *const paths[] = {
		"/1.1/account/verify_credentials.json",
		"/1.1/account/settings.json",
	};
	struct xhttp_resp	 r;
	struct buf		 url = { 0 };
	const char		*sn, *ids;
	json_t			*j;
	size_t			 i, missing = 0;
	int			 code;

	*handle = *id = NULL;
	for (i = 0; i < 2; i++) {
		buf_reset(&url);
		join(&url, cfg->x_api, paths[i]);
		call(cfg, ck, "GET", &url, NULL, &r);
		if (r.fail != XHTTP_OK) {
			msg_set(detail, detaillen, "%s", r.err);
			xhttp_free(&r);
			buf_free(&url);
			return XWEB_UNREACHABLE;
		}
		code = error_code(&r, NULL, 0);
		if (r.status == 401 || dead_cookies(code)) {
			msg_set(detail, detaillen, "X answered HTTP %ld, code %d",
			    r.status, code);
			xhttp_free(&r);
			buf_free(&url);
			return XWEB_REFUSED;
		}
		if (r.status == 404) {
			/* Seen in 2026: "could not check", not "bad cookies". */
			missing++;
			xhttp_free(&r);
			continue;
		}
		j = json_loadb(buf_str(&r.body), r.body.len, 0, NULL);
		sn = json_string_value(json_object_get(j, "screen_name"));
		ids = json_string_value(json_object_get(j, "id_str"));
		if (r.status == 200 && sn != NULL && xweb_handle_ok(sn)) {
			*handle = strdup(sn);
			if (*handle != NULL && id_ok(ids))
				*id = strdup(ids);
			json_decref(j);
			xhttp_free(&r);
			buf_free(&url);
			return *handle ? XWEB_VERIFIED : XWEB_UNREACHABLE;
		}
		json_decref(j);
		msg_set(detail, detaillen, "X answered HTTP %ld", r.status);
		xhttp_free(&r);
	}
	buf_free(&url);
	if (missing == 2) {
		msg_set(detail, detaillen, "X's account endpoints answered 404");
		return XWEB_UNVERIFIED;
	}
	return XWEB_UNREACHABLE;
}

/* The GraphQL request X's web app sends to create a post. */
static char *
create_body(const char *query_id, const char *text)
{
	json_t	*j;
	char	*s;

	j = json_pack("{s:{s:s,s:b,s:{s:[],s:b},s:[]},s:{s:b,s:b,s:b,s:b,"
	    "s:b,s:b,s:b,s:b},s:s}",
	    "variables", "tweet_text", text, "dark_request", 0, "media",
	    "media_entities", "possibly_sensitive", 0,
	    "semantic_annotation_ids",
	    "features", "tweetypie_unmention_optimization_enabled", 1,
	    "responsive_web_edit_tweet_api_enabled", 1,
	    "view_counts_everywhere_api_enabled", 1,
	    "longform_notetweets_consumption_enabled", 1,
	    "responsive_web_twitter_article_tweet_consumption_enabled", 0,
	    "tweet_awards_web_tipping_enabled", 0,
	    "freedom_of_speech_not_reach_fetch_enabled", 1,
	    "standardized_nudges_misinfo", 1,
	    "queryId", query_id);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

static const char *
rest_id(json_t *j)
{
	json_t	*r = json_object_get(json_object_get(json_object_get(
	    json_object_get(json_object_get(j, "data"), "create_tweet"),
	    "tweet_results"), "result"), "rest_id");

	return json_string_value(r);
}

enum xres
xweb_post(const struct cfg *cfg, const struct xcookies *ck,
    const char *query_id, const char *text, struct xweb_post *p,
    char *detail, size_t detaillen)
{
	struct xhttp_resp	 r;
	struct buf		 url = { 0 };
	char			*body, msg[160];
	const char		*id;
	json_t			*j;
	enum xres		 rc;

	memset(p, 0, sizeof(*p));
	p->rl_reset = -1;
	if ((body = create_body(query_id, text)) == NULL) {
		msg_set(detail, detaillen, "out of memory");
		return XRES_NOT_SENT;
	}
	join(&url, cfg->x_web, "/i/api/graphql/");
	buf_adds(&url, query_id);
	buf_adds(&url, "/CreateTweet");
	call(cfg, ck, "POST", &url, body, &r);
	free(body);
	buf_free(&url);
	p->rl_reset = r.rl_reset;
	if (r.fail != XHTTP_OK) {
		msg_set(detail, detaillen, "%s", r.err);
		rc = r.fail == XHTTP_NOT_SENT ? XRES_NOT_SENT : XRES_NO_ANSWER;
		goto out;
	}
	p->code = error_code(&r, msg, sizeof(msg));
	j = json_loadb(buf_str(&r.body), r.body.len, 0, NULL);
	id = rest_id(j);
	if (r.status >= 200 && r.status < 300 && id_ok(id) && p->code == 0) {
		p->id = strdup(id);
		rc = p->id ? XRES_OK : XRES_UNEXPECTED;
	} else if (r.status == 429) {
		msg_set(detail, detaillen, "X answered 429");
		rc = XRES_RATE_LIMITED;
	} else if (dead_cookies(p->code) || r.status == 401) {
		msg_set(detail, detaillen, "code %d: %s", p->code, msg);
		rc = XRES_UNAUTHORIZED;
	} else if (p->code != 0) {
		/* An errors array is a refusal, even under HTTP 200. */
		msg_set(detail, detaillen, "code %d: %s", p->code, msg);
		rc = XRES_REFUSED;
	} else if (r.status >= 400 && r.status < 500) {
		msg_set(detail, detaillen, "X answered HTTP %ld", r.status);
		rc = XRES_REFUSED;
	} else {
		msg_set(detail, detaillen, "X answered HTTP %ld without a post id",
		    r.status);
		rc = XRES_UNEXPECTED;
	}
	json_decref(j);
out:
	xhttp_free(&r);
	return rc;
}

void
xweb_post_free(struct xweb_post *p)
{
	free(p->id);
	p->id = NULL;
}
