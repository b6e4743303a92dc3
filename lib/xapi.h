/*
 * xapi: the calls Sosyabot makes to X's API, built on xhttp.
 */
#ifndef SB_XAPI_H
#define SB_XAPI_H

#include <stddef.h>

#include "cfg.h"

enum xcheck {
	XCHECK_ACCEPTED,	/* token endpoint said invalid_request (400) */
	XCHECK_REJECTED,	/* 401 unauthorized_client */
	XCHECK_UNREACHABLE,	/* network, TLS or timeout; detail says which */
	XCHECK_UNEXPECTED	/* some other answer; detail says what */
};

/*
 * The live credential check: POST /2/oauth2/token with the client's Basic
 * header and a deliberately invalid authorization code.  X answers 401
 * unauthorized_client when the client credentials are wrong, and 400
 * invalid_request (bad code) when they are right.  detail gets a short
 * human reason (never a secret).
 */
enum xcheck xapi_check_client(const struct cfg *, const char *client_id,
	    const char *client_secret, char *detail, size_t detaillen);

/*
 * The outcome of a call on behalf of a connected user.  detail gets a
 * short human reason for anything but XRES_OK: X's own words when it
 * gave some (error_description, or a problem's detail), else what went
 * wrong on the way.  Never a secret.
 */
enum xres {
	XRES_OK,		/* 2xx with a body we understood */
	XRES_UNAUTHORIZED,	/* 401: bad client credentials (token,
				   revoke) or a dead access token (me) */
	XRES_REFUSED,		/* 400 or 403: X refused this request, e.g.
				   an expired code or a PKCE mismatch */
	XRES_RATE_LIMITED,	/* 429 */
	XRES_NOT_SENT,		/* provably never reached X (DNS, connect,
				   TLS verification) */
	XRES_NO_ANSWER,		/* may have reached X, no full answer
				   (timeout, reset, oversized) */
	XRES_UNEXPECTED		/* any other status, or a body we could
				   not read (malformed JSON, wrong types) */
};

/* An access token as X issued it.  Free with xapi_token_free. */
struct xtoken {
	char		*access_token;
	long long	 expires_in;	/* seconds; -1 when X did not say */
	char		*scope;		/* space separated; NULL if not said */
};

/* The user behind an access token.  Free with xapi_user_free. */
struct xuser {
	char	*id;		/* numeric string */
	char	*username;	/* the handle, without "@" */
	char	*name;		/* display name, UTF-8 */
};

/*
 * Exchange an authorization code for an access token: POST
 * /2/oauth2/token with Basic client_id:client_secret, the code, the
 * PKCE verifier and cfg->callback_url as redirect_uri (which must be
 * the one sent to the consent page).  On XRES_OK tok is filled and
 * owned by the caller; otherwise tok is left empty.  A code is single
 * use: never retry this call with the same code.
 */
enum xres xapi_token(const struct cfg *, const char *client_id,
	    const char *client_secret, const char *code,
	    const char *code_verifier, struct xtoken *tok,
	    char *detail, size_t detaillen);
void	 xapi_token_free(struct xtoken *);

/*
 * GET /2/users/me with the access token.  On XRES_OK u is filled and
 * owned by the caller; otherwise u is left empty.  XRES_UNAUTHORIZED
 * means the token is dead (expired or revoked): the channel needs a
 * reconnect.
 */
enum xres xapi_me(const struct cfg *, const char *access_token,
	    struct xuser *u, char *detail, size_t detaillen);
void	 xapi_user_free(struct xuser *);

/*
 * Revoke an access token (POST /2/oauth2/revoke, Basic client
 * credentials).  Best effort: X answers 200 for an unknown token too,
 * and a caller that is disconnecting goes on whatever this returns.
 */
enum xres xapi_revoke(const struct cfg *, const char *client_id,
	    const char *client_secret, const char *access_token,
	    char *detail, size_t detaillen);

/* What POST /2/tweets gave back.  Free with xapi_post_free. */
struct xpost {
	char		*id;		/* the new post's id on XRES_OK */
	int		 duplicate;	/* refused as duplicate content */
	long long	 rl_remaining;	/* the user's budget, -1 unknown */
	long long	 rl_reset;	/* when it refills (epoch), -1 */
	long long	 app_remaining;	/* the app's 24-hour budget, -1 */
	long long	 app_reset;
};

/*
 * Create a post: POST /2/tweets {"text"} with the user's token.
 * XRES_OK: created (p->id).  XRES_REFUSED: a definite refusal (400, 403,
 * or a 200 carrying an errors array) with X's reason in detail.
 * XRES_UNAUTHORIZED: the token is dead.  XRES_RATE_LIMITED: 429.
 * XRES_NOT_SENT: provably never reached X.  XRES_NO_ANSWER and
 * XRES_UNEXPECTED (5xx, an unreadable 2xx): the post may or may not
 * exist — never resend on your own.
 */
enum xres xapi_tweet(const struct cfg *, const char *access_token,
	    const char *text, struct xpost *p, char *detail, size_t detaillen);
void	 xapi_post_free(struct xpost *);

#endif
