/*
 * xweb: X's web endpoints, as a logged-in browser calls them (cookie
 * connect).  Unofficial and unstable: the bearer token the web app
 * ships and the CreateTweet queryId are instance options, not literals.
 */
#ifndef SB_XWEB_H
#define SB_XWEB_H

#include <stddef.h>

#include "cfg.h"
#include "xapi.h"

/* What a logged-in browser presents. */
struct xcookies {
	const char	*auth_token;
	const char	*ct0;
	const char	*bearer;	/* the web app's public bearer token */
};

enum xweb_verify {
	XWEB_VERIFIED,		/* handle and id known */
	XWEB_REFUSED,		/* 401, or codes 32, 89, 353: bad cookies */
	XWEB_UNVERIFIED,	/* both endpoints 404: could not check */
	XWEB_UNREACHABLE	/* network, TLS, timeout, or an odd answer */
};

/*
 * verify_credentials.json, then settings.json: the account behind the
 * cookies.  *handle and *id are malloc'd on XWEB_VERIFIED (id may be
 * NULL when only settings answered).
 */
enum xweb_verify xweb_verify(const struct cfg *, const struct xcookies *,
	    char **handle, char **id, char *detail, size_t detaillen);

/* X's error code of a web answer (errors[0].code), 0 when none. */
struct xweb_post {
	char		*id;		/* rest_id of the new post */
	int		 code;		/* errors[0].code, 0 if none */
	long long	 rl_reset;	/* x-rate-limit-reset, -1 */
};

/*
 * CreateTweet through the GraphQL endpoint.  XRES_OK with p->id;
 * XRES_REFUSED with p->code (an errors array, even under HTTP 200);
 * XRES_UNAUTHORIZED for codes 32, 89, 353 (dead cookies);
 * XRES_RATE_LIMITED; XRES_NOT_SENT; XRES_NO_ANSWER / XRES_UNEXPECTED
 * when the post may or may not exist.
 */
enum xres xweb_post(const struct cfg *, const struct xcookies *,
	    const char *query_id, const char *text, struct xweb_post *p,
	    char *detail, size_t detaillen);
void	 xweb_post_free(struct xweb_post *);

/* Shapes of what a user pastes: 40 hex, and hex (32 to 160). */
int	 xweb_auth_token_ok(const char *);
int	 xweb_ct0_ok(const char *);
/* An X handle: 1 to 15 of [A-Za-z0-9_], an optional leading "@" allowed. */
int	 xweb_handle_ok(const char *);

#endif
