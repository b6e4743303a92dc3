/*
 * callback.cgi: the OAuth 2.0 flow with X.
 *	GET /api/v1/auth/twitter		start: state + PKCE, 302 to X
 *	GET /api/v1/auth/twitter/callback	finish: code -> token -> channel
 *
 * Both are GETs that write (the state), as OAuth requires; the state is
 * single use and bound to the session, so neither can be replayed or
 * planted from another session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "channel.h"
#include "oauth.h"
#include "opt.h"
#include "page.h"
#include "usage.h"
#include "xapi.h"

enum { F_STATE, F_CODE, F_ERROR, F__MAX };

static const struct field fields[F__MAX] = {
	[F_STATE] = { "state", valid_token },
	[F_CODE] = { "code", valid_line },
	[F_ERROR] = { "error", valid_line },
};

/* The integration's credentials, or an answer saying why not (403). */
static int
usable(struct ctx *c, struct xcreds *x)
{
	const char	*why;
	int		 rc;

	if ((rc = opt_x_resolve(c->store, &c->cfg, x)) != STORE_OK) {
		app_store_error(c, rc);
		return 0;
	}
	if ((why = opt_x_refusal(x)) != NULL) {
		page_problem(c, 403, "X (Twitter) is not available", why);
		xcreds_free(x);
		return 0;
	}
	if (app_key(c) == NULL) {
		app_store_error(c, STORE_FAIL);
		xcreds_free(x);
		return 0;
	}
	return 1;
}

static void
start(struct ctx *c)
{
	struct xcreds	 x;
	char		*url;
	int		 rc;

	if (!usable(c, &x))
		return;
	rc = oauth_start(c->store, c->key, &c->cfg, x.client_id, c->sess.key,
	    c->now, &url);
	xcreds_free(&x);
	if (rc != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	out_status(&c->out, 302);
	out_header(&c->out, "Location", url);
	free(url);
}

static const char *
take_problem(enum oauth_take t)
{
	switch (t) {
	case TAKE_EXPIRED:
		return "This connection attempt has expired: X must send you "
		    "back within 10 minutes. Start again from Channels.";
	case TAKE_OTHER_SESSION:
		return "This connection attempt was started in another "
		    "session. Start again from Channels in this browser.";
	default:
		return "This connection attempt is unknown or was already "
		    "used. Start again from Channels.";
	}
}

/* The token exchange failed: say what X said, with the guide's advice. */
static void
token_problem(struct ctx *c, enum xres r, const char *detail)
{
	struct buf	 b = { 0 };

	switch (r) {
	case XRES_UNAUTHORIZED:
		app_log(c, "oauth: X refused the client credentials (401)");
		out_status(&c->out, 401);
		page_begin(c, "401 Unauthorized");
		out_html(&c->out, "<h1>401 Unauthorized</h1>\n");
		page_notice(c, NOTICE_ERROR, "X refused this instance's app "
		    "credentials (401 Unauthorized), so the account could not "
		    "be connected.");
		out_html(&c->out, "<p>Either the Client ID or Client Secret is "
		    "wrong, or the X app's type is Public Client (or Native "
		    "App). An administrator should re-copy both values from "
		    "the <strong>Keys and tokens</strong> tab of the app on "
		    "developer.x.com and make sure its Type of App is "
		    "<strong>Web App, Automated App or Bot</strong> (a "
		    "confidential client).</p>\n");
		if (c->user.role == ROLE_ADMIN)
			out_html(&c->out, "<p><a href=\"%s/admin/api-integration/"
			    "x-twitter\">Open the X credentials page</a></p>\n",
			    c->cfg.base_path);
		out_html(&c->out, "<p><a class=\"button secondary\" "
		    "href=\"%s/app/channels\">Back to channels</a></p>\n",
		    c->cfg.base_path);
		page_end(c);
		return;
	case XRES_REFUSED:
		buf_addf(&b, "X refused the authorization (%s). Start again "
		    "from Channels.", detail);
		page_problem(c, 400, "Connection failed", buf_str(&b));
		break;
	case XRES_NOT_SENT:
	case XRES_NO_ANSWER:
		buf_addf(&b, "Could not reach X: %s. Start again from Channels "
		    "in a moment.", detail);
		page_problem(c, 502, "Connection failed", buf_str(&b));
		break;
	default:
		buf_addf(&b, "X gave an unexpected answer (%s). Start again "
		    "from Channels.", detail);
		page_problem(c, 502, "Connection failed", buf_str(&b));
		break;
	}
	app_log(c, "oauth: token exchange failed: %s", detail);
	buf_free(&b);
}

static void
finish(struct ctx *c)
{
	const char		*state = req_get(&c->req, F_STATE);
	const char		*code = req_get(&c->req, F_CODE);
	struct xcreds		 x;
	struct xtoken		 tok;
	struct xuser		 u;
	struct channel_new	 in;
	enum oauth_take		 t;
	enum xres		 r;
	char			 detail[256], *secret = NULL, *verifier = NULL;
	char			*id = NULL;
	int			 updated, rc;

	/* The code must not leak on from this page (it is in our URL). */
	c->out.referrer = "no-referrer";
	memset(&tok, 0, sizeof(tok));
	memset(&u, 0, sizeof(u));
	if (state == NULL) {
		page_problem(c, 400, "Connection failed", "X sent you back without "
		    "a valid state. Start again from Channels.");
		return;
	}
	if ((t = oauth_take(c->store, state, c->sess.key, c->now)) != TAKE_OK) {
		if (t == TAKE_FAIL)
			app_store_error(c, STORE_FAIL);
		else
			page_problem(c, 400, "Connection failed", take_problem(t));
		return;
	}
	/* A denial comes back without a code (RFC 6749: error=...). */
	if (req_present(&c->req, F_ERROR) || code == NULL) {
		app_redirect(c, "/app/channels?n=cancelled");
		return;
	}
	if (!usable(c, &x))
		return;
	if ((secret = opt_x_secret(c->store, &c->cfg, c->key, &x)) == NULL ||
	    (verifier = oauth_verifier(c->key, state)) == NULL) {
		page_problem(c, 500, "Connection failed", "The app's Client Secret "
		    "could not be opened. An administrator should save it "
		    "again.");
		goto out;
	}
	/* The code lives 30 seconds at X: exchange it at once. */
	r = xapi_token(&c->cfg, x.client_id, secret, code, verifier, &tok,
	    detail, sizeof(detail));
	if (r != XRES_NOT_SENT)
		usage_count(c->store, c->now, c->user.workspace, NULL, U_TOKEN);
	if (r != XRES_OK) {
		token_problem(c, r, detail);
		goto out;
	}
	r = xapi_me(&c->cfg, tok.access_token, &u, detail, sizeof(detail));
	if (r != XRES_NOT_SENT)
		usage_count(c->store, c->now, c->user.workspace, NULL,
		    U_USER_READ);
	if (r != XRES_OK) {
		app_log(c, "oauth: users/me failed: %s", detail);
		page_problem(c, 502, "Connection failed", "X issued a token but would "
		    "not say which account it belongs to. Start again from "
		    "Channels.");
		goto out;
	}
	in = (struct channel_new){ c->user.workspace, CHAN_OAUTH, u.id,
	    u.username, u.name, "active",
	    tok.expires_in > 0 ? c->now + (time_t)tok.expires_in : 0,
	    tok.access_token };
	if ((rc = channel_connect(c->store, c->key, &in, c->now, &id,
	    &updated)) != STORE_OK) {
		app_store_error(c, rc);
		goto out;
	}
	app_audit(c, NULL, updated ? "channel.reconnect" : "channel.connect",
	    "%s @%s (channel %s) with OAuth", updated ? "reconnected" :
	    "connected", u.username, id);
	app_redirect(c, "/app/channels?n=connected");
out:
	xcreds_free(&x);
	xapi_token_free(&tok);
	xapi_user_free(&u);
	free(secret);
	free(verifier);
	free(id);
}

static const struct route routes[] = {
	{ M_GET, "/api/v1/auth/twitter", R_LOGIN | R_WRITE, start },
	{ M_GET, "/api/v1/auth/twitter/callback", R_LOGIN | R_WRITE, finish },
};

int
main(void)
{
	/* Two calls to X of up to 30 s each. */
	static const struct app a = {
		routes, sizeof(routes) / sizeof(routes[0]),
		fields, F__MAX, 75
	};

	return app_run(&a);
}
