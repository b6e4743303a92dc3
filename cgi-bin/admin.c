/*
 * admin.cgi: /admin and the X credentials page
 * /admin/api-integration/x-twitter (save, test, remove the secret).
 *
 * The secret never goes back to a browser: the page shows only whether
 * it is set and where it comes from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "opt.h"
#include "page.h"
#include "tm.h"
#include "xapi.h"

#define X_PATH	"/admin/api-integration/x-twitter"

enum {
	F_CLIENT_ID, F_CLIENT_SECRET, F_STATUS, F_ACTION, F_NOTICE,
	F_WEB_BEARER, F_WEB_QUERY_ID, F_USER, F_WS, F_KIND, F_FROM, F_TO,
	F_BEFORE, F__MAX
};

#define AUDIT_PAGE	50

static int
valid_kind(const char *s, size_t len)
{
	return len >= 1 && len <= 40 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz_.") == len;
}

static int
valid_day(const char *s, size_t len)
{
	return len == 10 && s[4] == '-' && s[7] == '-' &&
	    strspn(s, "0123456789-") == 10;
}

static int
valid_audit_key(const char *s, size_t len)
{
	(void)len;
	return audit_key_ok(s);
}

static const struct field fields[F__MAX] = {
	[F_CLIENT_ID] = { "client_id", valid_cred },
	[F_CLIENT_SECRET] = { "client_secret", valid_cred },
	[F_STATUS] = { "status", valid_status },
	[F_ACTION] = { "action", valid_word },
	[F_NOTICE] = { "n", valid_word },
	[F_WEB_BEARER] = { "web_bearer", valid_cred },
	[F_WEB_QUERY_ID] = { "web_query_id", valid_cred },
	[F_USER] = { "user", valid_name },
	[F_WS] = { "workspace", valid_name },
	[F_KIND] = { "kind", valid_kind },
	[F_FROM] = { "from", valid_day },
	[F_TO] = { "to", valid_day },
	[F_BEFORE] = { "before", valid_audit_key },
};

static const char *
source_name(enum opt_source s)
{
	return s == SRC_PANEL ? "admin panel" : s == SRC_ENV ? "ENV" : "not set";
}

static void
get_home(struct ctx *c)
{
	page_begin(c, "Admin");
	out_html(&c->out, "<h1>Admin panel</h1>\n"
	    "<section class=\"card\"><h2>OAuth Credentials</h2>\n"
	    "<ul class=\"menu\"><li><a href=\"%s" X_PATH "\">X (Twitter)</a>"
	    "<span class=\"hint\">Client ID, Client Secret and status of the "
	    "X integration</span></li></ul></section>\n", c->cfg.base_path);
	page_end(c);
}

/* What Test credentials found, shown above the form. */
struct test_result {
	enum notice	 kind;
	const char	*refusal;	/* the guide's message, or NULL */
	char		 prefix[7];	/* first 6 characters of the ID */
	enum xcheck	 live;
	char		 detail[200];
	int		 no_secret;	/* the stored secret did not open */
};

static void
show_test(struct ctx *c, const struct test_result *t)
{
	out_html(&c->out, "<section class=\"card result\" id=\"test-result\" "
	    "aria-live=\"polite\"><h2>Test credentials</h2>\n");
	if (t->refusal) {
		page_notice(c, NOTICE_ERROR, t->refusal);
		out_html(&c->out, "</section>\n");
		return;
	}
	out_html(&c->out, "<div class=\"notice notice-ok\" role=\"status\"><p>"
	    "Credentials are configured. Client ID begins with "
	    "<code>%s</code>. Callback URL sent to X: <code>%s</code></p>"
	    "</div>\n", t->prefix, c->cfg.callback_url);
	if (t->no_secret)
		page_notice(c, NOTICE_ERROR, "The stored Client Secret could not "
		    "be opened with this instance's master key. Paste the "
		    "secret again and save.");
	else if (t->live == XCHECK_ACCEPTED)
		page_notice(c, NOTICE_OK, "X accepted these credentials.");
	else if (t->live == XCHECK_REJECTED)
		page_notice(c, NOTICE_ERROR, "X rejected these credentials. "
		    "Re-copy the Client ID and Client Secret from the Keys and "
		    "tokens tab of your app on developer.x.com, and make sure "
		    "its Type of App is Web App, Automated App or Bot (a "
		    "confidential client), not Native App or Public Client.");
	else {
		out_html(&c->out, "<div class=\"notice notice-error\" "
		    "role=\"alert\"><p>%s: %s</p></div>\n",
		    t->live == XCHECK_UNREACHABLE ? "Could not reach X" :
		    "X gave an unexpected answer", t->detail);
	}
	out_html(&c->out, "</section>\n");
}

/* Cookie connect's two settings: they rotate at X without notice. */
static void
web_card(struct ctx *c)
{
	char	*bearer, *qid;

	bearer = opt_get_or(c->store, OPT_WEB_BEARER, OPT_WEB_BEARER_DEFAULT);
	qid = opt_get_or(c->store, OPT_WEB_QUERY_ID, OPT_WEB_QUERY_ID_DEFAULT);
	out_html(&c->out, "<section class=\"card\" id=\"web-settings\">"
	    "<h2>Cookie connect (unofficial)</h2>\n<p>Users can connect an "
	    "account with its browser cookies; that path uses X's web "
	    "endpoints, which need the public bearer token of X's web app and "
	    "the current queryId of its CreateTweet call. X changes them "
	    "without notice: when cookie posts fail with code 34, update the "
	    "queryId here. Leave a field empty to use the built-in value.</p>\n"
	    "<form method=\"post\" action=\"%s" X_PATH "\" class=\"stack\">",
	    c->cfg.base_path);
	page_csrf(c);
	out_html(&c->out, "\n<label for=\"web_query_id\">CreateTweet "
	    "queryId</label>\n<input id=\"web_query_id\" name=\"web_query_id\" "
	    "spellcheck=\"false\" value=\"%s\">\n<label for=\"web_bearer\">"
	    "Web bearer token</label>\n<input id=\"web_bearer\" "
	    "name=\"web_bearer\" spellcheck=\"false\" value=\"%s\">\n"
	    "<div class=\"actions\"><button type=\"submit\" name=\"action\" "
	    "value=\"save_web\" class=\"secondary\">Save cookie connect "
	    "settings</button></div></form></section>\n", qid ? qid : "",
	    bearer ? bearer : "");
	free(bearer);
	free(qid);
}

static void
show_form(struct ctx *c, int status, const char *notice, enum notice kind,
    const struct test_result *t)
{
	struct xcreds	 x;
	char		*panel_id = NULL;
	const char	*bp = c->cfg.base_path;
	int		 rc;

	if ((rc = opt_x_resolve(c->store, &c->cfg, &x)) != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	if (x.id_src == SRC_PANEL)
		panel_id = x.client_id;
	out_status(&c->out, status);
	page_begin(c, "X (Twitter) credentials");
	out_html(&c->out, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\">"
	    "<a href=\"%s/admin\">Admin panel</a> › OAuth Credentials › "
	    "<span aria-current=\"page\">X (Twitter)</span></nav>\n"
	    "<h1>X (Twitter)</h1>\n<p class=\"lead\">The OAuth 2.0 client of "
	    "your X developer app. These values are global to the instance. "
	    "A saved value takes effect on the next request; values left "
	    "empty here fall back to <code>TWITTER_CLIENT_ID</code> and "
	    "<code>TWITTER_CLIENT_SECRET</code> in the environment.</p>\n", bp);
	if (notice)
		page_notice(c, kind, notice);
	if (t)
		show_test(c, t);

	out_html(&c->out, "<section class=\"card\"><h2>Callback URL</h2>\n"
	    "<p>Register exactly this URL as the Callback URI / Redirect URL in "
	    "your app's User authentication settings on developer.x.com "
	    "(Type of App: Web App, Automated App or Bot; App permissions: "
	    "Read and write).</p>\n<div class=\"copy\">"
	    "<input id=\"callback-url\" readonly value=\"%s\" "
	    "aria-label=\"Callback URL\">"
	    "<button type=\"button\" class=\"secondary\" "
	    "data-copy=\"callback-url\">Copy</button></div></section>\n",
	    c->cfg.callback_url);

	out_html(&c->out, "<section class=\"card\"><h2>Credentials</h2>\n"
	    "<form method=\"post\" action=\"%s" X_PATH "\" class=\"stack\">\n",
	    bp);
	page_csrf(c);
	out_html(&c->out, "\n<label for=\"client_id\">Client ID</label>\n"
	    "<input id=\"client_id\" name=\"client_id\" autocomplete=\"off\" "
	    "spellcheck=\"false\" value=\"%s\" aria-describedby=\"id-src\">\n"
	    "<p class=\"hint\" id=\"id-src\">Source: <strong "
	    "data-source=\"client_id\">%s</strong>%s</p>\n",
	    panel_id ? panel_id : "", source_name(x.id_src),
	    x.id_src == SRC_ENV ? " (leave empty to keep using the "
	    "environment's value)" : "");
	out_html(&c->out, "<label for=\"client_secret\">Client Secret</label>\n"
	    "<input id=\"client_secret\" name=\"client_secret\" "
	    "type=\"password\" autocomplete=\"new-password\" spellcheck=\"false\" "
	    "placeholder=\"%s\" aria-describedby=\"secret-src\">\n"
	    "<p class=\"hint\" id=\"secret-src\">Source: <strong "
	    "data-source=\"client_secret\">%s</strong>%s</p>\n",
	    x.secret_src == SRC_PANEL ? "Stored - leave empty to keep it" : "",
	    source_name(x.secret_src), x.secret_src == SRC_PANEL ?
	    ". The stored secret is encrypted and never shown again." : "");
	out_html(&c->out, "<fieldset><legend>Status</legend>\n"
	    "<label class=\"radio\"><input type=\"radio\" name=\"status\" "
	    "value=\"enable\"%s> Enable</label>\n"
	    "<label class=\"radio\"><input type=\"radio\" name=\"status\" "
	    "value=\"disable\"%s> Disable</label>\n"
	    "<p class=\"hint\">Disable hides the Connect button on the channels "
	    "page and refuses new connections; connected channels keep "
	    "publishing until their tokens expire.</p></fieldset>\n"
	    "<div class=\"actions\">"
	    "<button type=\"submit\" name=\"action\" value=\"save\" "
	    "class=\"primary\">Save</button>\n"
	    "<button type=\"submit\" name=\"action\" value=\"test\" "
	    "class=\"secondary\">Test credentials</button></div>\n"
	    "</form>\n", x.enabled ? " checked" : "",
	    x.enabled ? "" : " checked");
	if (x.secret_src == SRC_PANEL) {
		out_html(&c->out, "<form method=\"post\" action=\"%s" X_PATH
		    "\" class=\"inline danger-zone\">", bp);
		page_csrf(c);
		out_html(&c->out, "<button type=\"submit\" name=\"action\" "
		    "value=\"remove_secret\" class=\"danger\">Remove stored "
		    "secret</button></form>\n");
	}
	out_html(&c->out, "</section>\n");
	web_card(c);
	page_end(c);
	xcreds_free(&x);
}

static void
get_x(struct ctx *c)
{
	const char	*n = req_get(&c->req, F_NOTICE);

	if (n && strcmp(n, "saved") == 0)
		show_form(c, 200, "Saved. The next connection uses these values.",
		    NOTICE_OK, NULL);
	else if (n && strcmp(n, "secret_removed") == 0)
		show_form(c, 200, "The stored Client Secret was removed.",
		    NOTICE_OK, NULL);
	else
		show_form(c, 200, NULL, NOTICE_OK, NULL);
}

static void
save(struct ctx *c)
{
	struct opt_change	 ch[3];
	size_t			 n = 0;
	const char		*id = req_get(&c->req, F_CLIENT_ID);
	const char		*secret = req_get(&c->req, F_CLIENT_SECRET);
	const char		*status = req_get(&c->req, F_STATUS);
	int			 rc;

	if ((req_present(&c->req, F_CLIENT_ID) && id == NULL) ||
	    (req_present(&c->req, F_CLIENT_SECRET) && secret == NULL)) {
		show_form(c, 400, "The Client ID and Client Secret may contain "
		    "only visible characters without spaces, at most 256 of "
		    "them. Nothing was saved.", NOTICE_ERROR, NULL);
		return;
	}
	if (req_present(&c->req, F_STATUS) && status == NULL) {
		show_form(c, 400, "Status must be Enable or Disable. Nothing was "
		    "saved.", NOTICE_ERROR, NULL);
		return;
	}
	/* An empty ID falls back to ENV; an empty secret keeps the stored one. */
	if (req_present(&c->req, F_CLIENT_ID))
		ch[n++] = (struct opt_change){ OPT_X_CLIENT_ID, id };
	if (secret != NULL && *secret != '\0') {
		if (app_key(c) == NULL) {
			app_store_error(c, STORE_FAIL);
			return;
		}
		ch[n++] = (struct opt_change){ OPT_X_CLIENT_SECRET, secret };
	}
	if (status != NULL)
		ch[n++] = (struct opt_change){ OPT_X_STATUS, status };
	if ((rc = opt_apply(c->store, c->key, ch, n)) != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	app_audit(c, NULL, "credentials.save", "saved the X credentials:%s%s%s%s",
	    req_present(&c->req, F_CLIENT_ID) ? (id && *id ? " client id set" :
	    " client id cleared (ENV applies)") : "",
	    secret && *secret ? " client secret replaced" : "",
	    status ? " status=" : "", status ? status : "");
	app_redirect(c, X_PATH "?n=saved");
}

static void
save_web(struct ctx *c)
{
	struct opt_change	 ch[2];
	size_t			 n = 0;
	int			 rc;

	if (req_present(&c->req, F_WEB_QUERY_ID))
		ch[n++] = (struct opt_change){ OPT_WEB_QUERY_ID,
		    req_get(&c->req, F_WEB_QUERY_ID) };
	if (req_present(&c->req, F_WEB_BEARER))
		ch[n++] = (struct opt_change){ OPT_WEB_BEARER,
		    req_get(&c->req, F_WEB_BEARER) };
	/* A value its validator refused is NULL here: refuse the save. */
	if ((n > 0 && ch[0].val == NULL) || (n > 1 && ch[1].val == NULL) ||
	    (rc = opt_apply(c->store, NULL, ch, n)) == STORE_ABORT) {
		show_form(c, 400, "The queryId is 8 to 64 letters, digits, _ or "
		    "-; the bearer token 20 to 300 URL-safe characters. Nothing "
		    "was saved.", NOTICE_ERROR, NULL);
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	app_audit(c, NULL, "settings.save", "saved the cookie connect settings");
	app_redirect(c, X_PATH "?n=saved");
}

static void
remove_secret(struct ctx *c)
{
	int	 rc;

	if ((rc = opt_unset(c->store, OPT_X_CLIENT_SECRET)) != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	app_audit(c, NULL, "credentials.remove_secret",
	    "removed the stored client secret");
	app_redirect(c, X_PATH "?n=secret_removed");
}

static void
test(struct ctx *c)
{
	struct test_result	 t;
	struct xcreds		 x;
	char			*secret;
	int			 rc;

	memset(&t, 0, sizeof(t));
	if ((rc = opt_x_resolve(c->store, &c->cfg, &x)) != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	if ((t.refusal = opt_x_refusal(&x)) == NULL) {
		snprintf(t.prefix, sizeof(t.prefix), "%s", x.client_id);
		secret = opt_x_secret(c->store, &c->cfg,
		    x.secret_src == SRC_PANEL ? app_key(c) : NULL, &x);
		if (secret == NULL)
			t.no_secret = 1;
		else {
			t.live = xapi_check_client(&c->cfg, x.client_id, secret,
			    t.detail, sizeof(t.detail));
			free(secret);
		}
	}
	xcreds_free(&x);
	show_form(c, 200, NULL, NOTICE_OK, &t);
}

static void
post_x(struct ctx *c)
{
	const char	*action = req_get(&c->req, F_ACTION);

	if (action && strcmp(action, "save") == 0)
		save(c);
	else if (action && strcmp(action, "test") == 0)
		test(c);
	else if (action && strcmp(action, "remove_secret") == 0)
		remove_secret(c);
	else if (action && strcmp(action, "save_web") == 0)
		save_web(c);
	else
		out_error(&c->out, 400, "Unknown action: choose Save, Test "
		    "credentials or Remove stored secret.");
}

struct audit_page {
	struct ctx	*c;
	size_t		 rows;
};

static int
audit_row(json_t *rec, void *arg)
{
	struct audit_page *p = arg;
	struct ctx	*c = p->c;
	const char	*v[6];
	static const char *keys[] = { "at", "who", "ws", "addr", "kind",
	    "what" };
	size_t		 i;

	for (i = 0; i < 6; i++)
		if ((v[i] = json_string_value(json_object_get(rec, keys[i]))) ==
		    NULL)
			v[i] = "";
	out_html(&c->out, "<tr><td data-label=\"When\"><time datetime=\"%s\">"
	    "%s</time></td><td data-label=\"Who\">%s</td>"
	    "<td data-label=\"Workspace\">%s</td>"
	    "<td data-label=\"Address\">%s</td><td data-label=\"Kind\">"
	    "<code>%s</code></td><td>%s</td></tr>\n", v[0], v[0], v[1], v[2],
	    v[3], v[4], v[5]);
	p->rows++;
	return 0;
}

/* A filter's day as a time: the start of from, the end of to. */
static time_t
day(struct ctx *c, int field, int end)
{
	const char	*d = req_get(&c->req, field);
	char		 t[32];

	if (d == NULL)
		return 0;
	snprintf(t, sizeof(t), "%sT%s", d, end ? "23:59:59" : "00:00");
	return tm_parse_local(t, NULL);
}

static void
get_audit(struct ctx *c)
{
	struct audit_filter	 f;
	struct audit_page	 p = { c, 0 };
	const char		*v[5];
	char			*last = NULL;
	int			 i, rc;

	for (i = 0; i < 5; i++)
		v[i] = req_get(&c->req, F_USER + i);
	memset(&f, 0, sizeof(f));
	f.who = v[0];
	f.ws = v[1];
	f.kind = v[2];
	f.from = day(c, F_FROM, 0);
	f.to = day(c, F_TO, 1);
	page_begin(c, "Audit log");
	out_html(&c->out, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\">"
	    "<a href=\"%s/admin\">Admin panel</a> › <span aria-current=\"page\">"
	    "Audit log</span></nav>\n<h1>Audit log</h1>\n<p class=\"lead\">"
	    "Kept %d days. Secrets are never recorded, only that they "
	    "changed.</p>\n<section class=\"card\"><form method=\"get\" "
	    "action=\"%s/admin/audit\" class=\"filters\">"
	    "<label>User <input name=\"user\" value=\"%s\"></label>"
	    "<label>Workspace <input name=\"workspace\" value=\"%s\"></label>"
	    "<label>Kind <input name=\"kind\" value=\"%s\" "
	    "placeholder=\"e.g. signin. or post.publish\"></label>"
	    "<label>From <input type=\"date\" name=\"from\" value=\"%s\">"
	    "</label><label>To <input type=\"date\" name=\"to\" "
	    "value=\"%s\"></label><button type=\"submit\" "
	    "class=\"secondary\">Filter</button></form>\n"
	    "<table id=\"audit\"><thead><tr><th>When</th><th>Who</th>"
	    "<th>Workspace</th><th>Address</th><th>Kind</th><th>What</th></tr>"
	    "</thead><tbody>\n", c->cfg.base_path, AUDIT_KEEP_DAYS,
	    c->cfg.base_path, v[0] ? v[0] : "", v[1] ? v[1] : "",
	    v[2] ? v[2] : "", v[3] ? v[3] : "", v[4] ? v[4] : "");
	rc = audit_each(c->store, &f, req_get(&c->req, F_BEFORE), AUDIT_PAGE,
	    audit_row, &p, &last);
	out_html(&c->out, "</tbody></table>\n");
	if (rc != STORE_OK)
		page_notice(c, NOTICE_ERROR, "The audit log could not be read.");
	else if (p.rows == 0)
		out_html(&c->out, "<p>Nothing recorded%s.</p>\n", f.who || f.ws ||
		    f.kind || f.from || f.to ? " matches these filters" : " yet");
	else if (last != NULL && p.rows == AUDIT_PAGE)
		out_html(&c->out, "<p><a class=\"button secondary\" "
		    "href=\"%s/admin/audit?user=%u&amp;workspace=%u&amp;kind=%u"
		    "&amp;from=%u&amp;to=%u&amp;before=%u\">Older</a></p>\n",
		    c->cfg.base_path, v[0] ? v[0] : "", v[1] ? v[1] : "",
		    v[2] ? v[2] : "", v[3] ? v[3] : "", v[4] ? v[4] : "", last);
	out_html(&c->out, "</section>\n");
	page_end(c);
	free(last);
}

static const struct route routes[] = {
	{ M_GET, "/admin", R_ADMIN, get_home },
	{ M_GET, X_PATH, R_ADMIN, get_x },
	{ M_POST, X_PATH, R_ADMIN, post_x },
	{ M_GET, "/admin/audit", R_ADMIN, get_audit },
};

int
main(void)
{
	/* Test credentials waits up to 30 s for X. */
	static const struct app a = {
		routes, sizeof(routes) / sizeof(routes[0]),
		fields, F__MAX, 45
	};

	return app_run(&a);
}
