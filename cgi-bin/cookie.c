/*
 * cookie.cgi: cookie connect, POST /api/v1/auth/twitter/unofficial.
 *
 * A logged-in browser's auth_token and ct0 cookies instead of an OAuth
 * client: no developer app, no admin configuration.  The cookies are
 * checked with X's web endpoints, sealed at rest and never shown again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "channel.h"
#include "opt.h"
#include "page.h"
#include "usage.h"
#include "xweb.h"

enum { F_AUTH_TOKEN, F_CT0, F_HANDLE, F__MAX };

static const struct field fields[F__MAX] = {
	[F_AUTH_TOKEN] = { "auth_token", valid_line },
	[F_CT0] = { "ct0", valid_line },
	[F_HANDLE] = { "handle", valid_line },
};

/* An answer the user must act on: a page for a form, JSON for a script. */
static void
refuse(struct ctx *c, int status, const char *text)
{
	if (c->req.json)
		out_error(&c->out, status, text);
	else
		page_problem(c, status, "Cookie connect failed", text);
}

/* What we seal: both cookies, so posting can present them again. */
static char *
secret_of(const char *auth_token, const char *ct0)
{
	json_t	*j = json_pack("{s:s,s:s}", "auth_token", auth_token, "ct0", ct0);
	char	*s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

static void
connect_cookies(struct ctx *c)
{
	const char		*tok = req_get(&c->req, F_AUTH_TOKEN);
	const char		*ct0 = req_get(&c->req, F_CT0);
	const char		*typed = req_get(&c->req, F_HANDLE);
	struct xcookies		 ck;
	struct channel_new	 in;
	struct channel		 ch;
	enum xweb_verify	 v;
	char			*bearer = NULL, *handle = NULL, *x_id = NULL;
	char			*secret = NULL, *id = NULL, detail[256], msg[400];
	int			 updated, rc;

	if (!xweb_auth_token_ok(tok) || !xweb_ct0_ok(ct0)) {
		refuse(c, 400, "auth_token must be the 40 hexadecimal characters "
		    "of the cookie, and ct0 its hexadecimal value. Nothing was "
		    "stored.");
		return;
	}
	if (typed != NULL && *typed != '\0' && !xweb_handle_ok(typed)) {
		refuse(c, 400, "A handle is 1 to 15 letters, digits or "
		    "underscores. Nothing was stored.");
		return;
	}
	if (typed != NULL && *typed == '@')
		typed++;
	if (app_key(c) == NULL ||
	    (bearer = opt_get_or(c->store, OPT_WEB_BEARER,
	    OPT_WEB_BEARER_DEFAULT)) == NULL) {
		app_store_error(c, STORE_FAIL);
		return;
	}
	ck = (struct xcookies){ tok, ct0, bearer };
	v = xweb_verify(&c->cfg, &ck, &handle, &x_id, detail, sizeof(detail));
	usage_count(c->store, c->now, c->user.workspace, NULL, U_COOKIE_READ);
	if (v == XWEB_REFUSED) {
		app_log(c, "cookie connect refused by X: %s", detail);
		refuse(c, 400, "X did not accept these cookies: they may have "
		    "expired, or belong to a browser that signed out. Sign in on "
		    "x.com again, copy fresh auth_token and ct0 values, and "
		    "retry. Nothing was stored.");
		goto out;
	}
	if (v == XWEB_UNREACHABLE) {
		snprintf(msg, sizeof(msg), "Could not reach X to check the "
		    "cookies (%s). Nothing was stored; try again in a moment.",
		    detail);
		refuse(c, 502, msg);
		goto out;
	}
	if (v == XWEB_UNVERIFIED) {
		if (typed == NULL || *typed == '\0') {
			refuse(c, 400, "X could not check these cookies right now. "
			    "Type the account's handle to connect it unverified: "
			    "its first successful post will verify it. Nothing "
			    "was stored.");
			goto out;
		}
		if ((handle = strdup(typed)) == NULL)
			goto oom;
	}
	if ((secret = secret_of(tok, ct0)) == NULL)
		goto oom;
	in = (struct channel_new){ c->user.workspace, CHAN_COOKIE, x_id,
	    handle, handle, v == XWEB_VERIFIED ? "active" : "unverified", 0,
	    secret };
	if ((rc = channel_connect(c->store, c->key, &in, c->now, &id,
	    &updated)) != STORE_OK) {
		app_store_error(c, rc);
		goto out;
	}
	app_audit(c, NULL, updated ? "channel.reconnect" : "channel.connect",
	    "%s @%s (channel %s) with browser cookies, %s", updated ?
	    "reconnected" : "connected", handle, id, in.status);
	if (!c->req.json)
		app_redirect(c, v == XWEB_VERIFIED ?
		    "/app/channels?n=cookie_connected" :
		    "/app/channels?n=cookie_unverified");
	else if (channel_get(c->store, NULL, c->user.workspace, id, &ch) ==
	    STORE_OK) {
		out_json(&c->out, updated ? 200 : 201, json_pack("{s:o}",
		    "channel", channel_json(&ch, c->now)));
		channel_free(&ch);
	} else
		app_store_error(c, STORE_FAIL);
	goto out;
oom:
	out_error(&c->out, 500, "Out of memory.");
out:
	if (secret != NULL)
		explicit_bzero(secret, strlen(secret));
	free(secret);
	free(bearer);
	free(handle);
	free(x_id);
	free(id);
}

static const struct route routes[] = {
	{ M_POST, "/api/v1/auth/twitter/unofficial", R_LOGIN, connect_cookies },
};

int
main(void)
{
	/* Two checks with X of up to 30 s each. */
	static const struct app a = {
		routes, sizeof(routes) / sizeof(routes[0]),
		fields, F__MAX, 75
	};

	return app_run(&a);
}
