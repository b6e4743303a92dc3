/*
 * login.cgi: /, /login (GET form, POST sign-in), /logout (POST), and
 * /api/v1/session (who is signed in, and the CSRF token for scripts).
 *
 * The sign-in form is protected by a token of its own (a cookie and the
 * same value in the form), since there is no session yet to derive one
 * from; the Origin check still applies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "page.h"

enum { F_USERNAME, F_PASSWORD, F_CSRF, F_NEXT, F__MAX };

static const struct field fields[F__MAX] = {
	[F_USERNAME] = { "username", valid_line },
	[F_PASSWORD] = { "password", valid_password },
	[F_CSRF] = { "csrf", valid_token },
	[F_NEXT] = { "next", valid_local_path },
};

/* Where to go after signing in: a local path, never another site. */
static const char *
next_of(struct ctx *c)
{
	const char	*n = req_get(&c->req, F_NEXT);

	return n && strncmp(n, "/login", 6) != 0 ? n : "/app/channels";
}

static void
form(struct ctx *c, const char *token, int status, const char *error,
    const char *username)
{
	out_status(&c->out, status);
	page_begin(c, "Sign in");
	out_html(&c->out, "<section class=\"card narrow\">"
	    "<h1>Sign in</h1>\n");
	if (error)
		page_notice(c, NOTICE_ERROR, error);
	out_html(&c->out, "<form method=\"post\" action=\"%s/login\" "
	    "class=\"stack\">\n"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
	    "<input type=\"hidden\" name=\"next\" value=\"%s\">\n"
	    "<label for=\"username\">User name</label>\n"
	    "<input id=\"username\" name=\"username\" autocomplete=\"username\" "
	    "required autofocus value=\"%s\">\n"
	    "<label for=\"password\">Password</label>\n"
	    "<input id=\"password\" name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required>\n"
	    "<button type=\"submit\" class=\"primary\">Sign in</button>\n"
	    "</form></section>\n", c->cfg.base_path, token, next_of(c),
	    username ? username : "");
	page_end(c);
}

static void
get_root(struct ctx *c)
{
	app_redirect(c, c->signed_in ? "/app/channels" : "/login");
}

static void
get_login(struct ctx *c)
{
	const char	*name = sess_login_cookie(&c->cfg);
	const char	*tok = req_cookie(&c->req, name);
	char		*fresh = NULL, *cookie;

	if (c->signed_in) {
		app_redirect(c, next_of(c));
		return;
	}
	if (tok == NULL || !valid_token(tok, strlen(tok))) {
		if ((fresh = crypto_token(24)) == NULL ||
		    (cookie = sess_cookie_value(&c->cfg, name, fresh, -1)) ==
		    NULL) {
			free(fresh);
			out_error(&c->out, 500, "Out of memory.");
			return;
		}
		out_header(&c->out, "Set-Cookie", cookie);
		free(cookie);
		tok = fresh;
	}
	form(c, tok, 200, NULL, NULL);
	free(fresh);
}

static void
post_login(struct ctx *c)
{
	const char	*tok = req_cookie(&c->req, sess_login_cookie(&c->cfg));
	const char	*user = req_get(&c->req, F_USERNAME);
	const char	*pass = req_get(&c->req, F_PASSWORD);
	struct user	 u;
	struct sess	 s;
	char		*id = NULL, *cookie, msg[160];
	long		 retry;

	if (tok == NULL || !sess_csrf_ok(tok, req_get(&c->req, F_CSRF))) {
		out_error(&c->out, 403, "The sign-in form has expired. Reload "
		    "the page and try again.");
		return;
	}
	if (user == NULL || pass == NULL) {
		form(c, tok, 400, "Enter your user name and password.", user);
		return;
	}
	switch (user_auth(c->store, user, pass, c->now, &u, &retry)) {
	case AUTH_OK:
		break;
	case AUTH_BAD:
		app_audit(c, user_name_ok(user) ? user : "?", "signin.fail",
		    "wrong user name or password");
		form(c, tok, 401, "Wrong user name or password.", user);
		return;
	case AUTH_LOCKED:
		app_audit(c, user_name_ok(user) ? user : "?", "signin.locked",
		    "refused: locked for %ld s after repeated failures", retry);
		snprintf(msg, sizeof(msg), "%ld", retry);
		out_header(&c->out, "Retry-After", msg);
		snprintf(msg, sizeof(msg), "Too many failed sign-ins. Try again "
		    "in %ld %s.", retry >= 120 ? (retry + 59) / 60 : retry,
		    retry >= 120 ? "minutes" : "seconds");
		form(c, tok, 429, msg, user);
		return;
	default:
		app_store_error(c, STORE_FAIL);
		return;
	}
	/* A new id at every sign-in: a planted session cannot be kept. */
	if (c->signed_in)
		sess_delete(c->store, c->sess.key);
	if (sess_create(c->store, u.name, c->now, &id, &s) != STORE_OK) {
		user_free(&u);
		app_store_error(c, STORE_FAIL);
		return;
	}
	app_audit(c, u.name, "signin.ok", "signed in");
	if ((cookie = sess_cookie_value(&c->cfg, sess_cookie(&c->cfg), id,
	    -1)) != NULL) {
		out_header(&c->out, "Set-Cookie", cookie);
		free(cookie);
	}
	app_redirect(c, next_of(c));
	/* The new session replaces any old one for the rest of the request. */
	sess_free(&c->sess);
	c->sess = s;
	c->signed_in = 0;
	user_free(&u);
	free(id);
}

static void
post_logout(struct ctx *c)
{
	char	*cookie;

	sess_delete(c->store, c->sess.key);
	app_audit(c, NULL, "signout", "signed out");
	if ((cookie = sess_cookie_value(&c->cfg, sess_cookie(&c->cfg), "",
	    0)) != NULL) {
		out_header(&c->out, "Set-Cookie", cookie);
		free(cookie);
	}
	c->signed_in = 0;
	app_redirect(c, "/login");
}

static void
get_session(struct ctx *c)
{
	out_json(&c->out, 200, json_pack("{s:{s:s,s:s,s:s,s:s}}", "session",
	    "user", c->user.name, "workspace", c->user.workspace, "role",
	    c->user.role == ROLE_ADMIN ? "admin" : "member", "csrf", c->csrf));
}

static const struct route routes[] = {
	{ M_GET, "/", 0, get_root },
	{ M_GET, "/login", 0, get_login },
	{ M_POST, "/login", R_ANON_POST, post_login },
	{ M_POST, "/logout", R_LOGIN, post_logout },
	{ M_GET, "/api/v1/session", R_LOGIN | R_JSON, get_session },
};

int
main(void)
{
	static const struct app a = {
		routes, sizeof(routes) / sizeof(routes[0]),
		fields, F__MAX, 20
	};

	return app_run(&a);
}
