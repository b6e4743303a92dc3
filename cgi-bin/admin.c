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
#include "usage.h"
#include "user.h"
#include "xapi.h"

#define X_PATH	"/admin/api-integration/x-twitter"

enum {
	F_CLIENT_ID, F_CLIENT_SECRET, F_STATUS, F_ACTION, F_NOTICE,
	F_WEB_BEARER, F_WEB_QUERY_ID, F_USER, F_WS, F_KIND, F_FROM, F_TO,
	F_BEFORE, F_MONTH, F_PRICE_POST, F_PRICE_POST_URL, F_PRICE_USER_READ,
	F_BUDGET, F__MAX
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
	[F_MONTH] = { "month", valid_word },
	[F_PRICE_POST] = { "price_post", valid_cred },
	[F_PRICE_POST_URL] = { "price_post_url", valid_cred },
	[F_PRICE_USER_READ] = { "price_user_read", valid_cred },
	[F_BUDGET] = { "budget", valid_cred },
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
			usage_count(c->store, c->now, NULL, NULL, U_TOKEN);
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

/* The estimate of each workspace, in a month's rows. */
static double
ws_cost(const struct usage_row *rows, size_t n, const char *ws,
    const double price[U__MAX])
{
	double	 sum = 0;
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(rows[i].ws, ws) == 0)
			sum += usage_cost(&rows[i], price);
	return sum;
}

struct ws_list {
	char	 name[32][72];
	size_t	 n;
};

static void
add_ws(const char *name, void *arg)
{
	struct ws_list	*l = arg;

	if (l->n < 32)
		snprintf(l->name[l->n++], sizeof(l->name[0]), "%s", name);
}

/* A bar chart of this and last month's estimate per workspace (SVG). */
static void
chart(struct ctx *c, const struct ws_list *wl, const double *now_cost,
    const double *prev_cost)
{
	double	 max = 0.0001;
	size_t	 i;
	int	 y, w;

	for (i = 0; i < wl->n; i++) {
		if (now_cost[i] > max)
			max = now_cost[i];
		if (prev_cost[i] > max)
			max = prev_cost[i];
	}
	out_html(&c->out, "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 "
	    "640 %d\" aria-label=\"Estimated spend per workspace, this month "
	    "and last\"><g font-size=\"12\" font-family=\"sans-serif\">",
	    (int)wl->n * 44 + 24);
	for (i = 0; i < wl->n; i++) {
		y = (int)i * 44 + 8;
		out_html(&c->out, "<text x=\"0\" y=\"%d\" fill=\"#16181c\">%s"
		    "</text>", y + 14, wl->name[i]);
		w = (int)(now_cost[i] / max * 380);
		out_html(&c->out, "<rect x=\"160\" y=\"%d\" width=\"%d\" "
		    "height=\"14\" fill=\"#1d6fd8\"><title>this month</title>"
		    "</rect>", y + 2, w > 0 ? w : 1);
		w = (int)(prev_cost[i] / max * 380);
		out_html(&c->out, "<rect x=\"160\" y=\"%d\" width=\"%d\" "
		    "height=\"14\" fill=\"#9db9e3\"><title>last month</title>"
		    "</rect>", y + 18, w > 0 ? w : 1);
		{
			char	 a[32], b[32];

			snprintf(a, sizeof(a), "$%.3f", now_cost[i]);
			snprintf(b, sizeof(b), "$%.3f", prev_cost[i]);
			out_html(&c->out, "<text x=\"%d\" y=\"%d\" "
			    "fill=\"#16181c\">%s</text><text x=\"%d\" y=\"%d\" "
			    "fill=\"#5b6471\">%s</text>",
			    170 + (int)(now_cost[i] / max * 380), y + 13, a,
			    170 + (int)(prev_cost[i] / max * 380), y + 29, b);
		}
	}
	out_html(&c->out, "</g></svg>\n<p class=\"hint\"><span "
	    "class=\"key now\"></span> this month <span class=\"key prev\">"
	    "</span> last month</p>\n");
}

static void
usage_table(struct ctx *c, const char *month, const struct usage_row *rows,
    size_t n, const double price[U__MAX])
{
	size_t	 i;
	int	 k;

	out_html(&c->out, "<h3>%s</h3>\n", month);
	if (n == 0) {
		out_html(&c->out, "<p>No call to X was made in %s.</p>\n", month);
		return;
	}
	out_html(&c->out, "<table class=\"usage\" data-month=\"%s\"><thead>"
	    "<tr><th>Workspace</th><th>Channel</th>", month);
	for (k = 0; k < U__MAX; k++)
		out_html(&c->out, "<th>%s</th>", usage_kind_label(k));
	out_html(&c->out, "<th>Estimated</th></tr></thead><tbody>\n");
	for (i = 0; i < n; i++) {
		char	 cost[32];

		out_html(&c->out, "<tr data-ws=\"%s\" data-channel=\"%s\">"
		    "<td data-label=\"Workspace\">%s</td><td "
		    "data-label=\"Channel\">%s</td>", rows[i].ws,
		    rows[i].channel, rows[i].ws, rows[i].channel);
		for (k = 0; k < U__MAX; k++)
			out_html(&c->out, "<td data-label=\"%s\" data-kind=\"%s\">"
			    "%lld</td>", usage_kind_label(k), usage_kind_name(k),
			    rows[i].n[k]);
		snprintf(cost, sizeof(cost), "$%.3f", usage_cost(&rows[i], price));
		out_html(&c->out, "<td data-label=\"Estimated\">%s</td></tr>\n",
		    cost);
	}
	out_html(&c->out, "</tbody></table>\n");
}

static void
show_usage(struct ctx *c, int status, const char *notice, enum notice kind)
{
	struct usage_row	*now_rows = NULL, *prev_rows = NULL;
	struct ws_list		 wl;
	double			 price[U__MAX], now_cost[32], prev_cost[32];
	double			 budget;
	char			 now_m[8], prev_m[8], p[3][16];
	size_t			 nn = 0, np = 0, i;

	memset(&wl, 0, sizeof(wl));
	usage_month(c->now, 0, now_m);
	usage_month(c->now, 1, prev_m);
	usage_prices(c->store, price);
	if (usage_rows(c->store, now_m, &now_rows, &nn) != STORE_OK ||
	    usage_rows(c->store, prev_m, &prev_rows, &np) != STORE_OK ||
	    workspace_each(c->store, add_ws, &wl) != STORE_OK) {
		free(now_rows);
		free(prev_rows);
		app_store_error(c, STORE_FAIL);
		return;
	}
	for (i = 0; i < wl.n; i++) {
		now_cost[i] = ws_cost(now_rows, nn, wl.name[i], price);
		prev_cost[i] = ws_cost(prev_rows, np, wl.name[i], price);
	}
	out_status(&c->out, status);
	page_begin(c, "Usage and cost");
	out_html(&c->out, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\">"
	    "<a href=\"%s/admin\">Admin panel</a> › <span aria-current=\"page\">"
	    "Usage and cost</span></nav>\n<h1>Usage and cost</h1>\n"
	    "<p class=\"lead\">Every call to X, counted when it is made, and "
	    "what it is estimated to cost on pay-per-use. X bills; these are "
	    "estimates from the prices below.</p>\n", c->cfg.base_path);
	if (notice)
		page_notice(c, kind, notice);
	out_html(&c->out, "<section class=\"card\"><h2>Estimated spend</h2>\n");
	chart(c, &wl, now_cost, prev_cost);
	usage_table(c, now_m, now_rows, nn, price);
	usage_table(c, prev_m, prev_rows, np, price);
	out_html(&c->out, "</section>\n<section class=\"card\"><h2>Monthly "
	    "budgets</h2>\n<p>When a workspace's estimate for the month reaches "
	    "its budget, publishing through the API is refused with a sentence "
	    "that says so (cookie posts are not billed). Empty or 0: no "
	    "budget.</p>\n<table><thead><tr><th>Workspace</th><th>This month"
	    "</th><th>Budget (US$)</th></tr></thead><tbody>\n");
	for (i = 0; i < wl.n; i++) {
		char	 spent[32], b[32];

		usage_budget_get(c->store, wl.name[i], &budget);
		snprintf(spent, sizeof(spent), "$%.3f", now_cost[i]);
		if (budget > 0)
			snprintf(b, sizeof(b), "%.2f", budget);
		else
			b[0] = '\0';
		out_html(&c->out, "<tr><td>%s</td><td>%s</td><td><form "
		    "method=\"post\" action=\"%s/admin/usage\" "
		    "class=\"inline\">", wl.name[i], spent, c->cfg.base_path);
		page_csrf(c);
		out_html(&c->out, "<input type=\"hidden\" name=\"workspace\" "
		    "value=\"%s\"><input name=\"budget\" value=\"%s\" "
		    "inputmode=\"decimal\" aria-label=\"Budget of %s\"> "
		    "<button type=\"submit\" name=\"action\" value=\"budget\" "
		    "class=\"secondary\">Set</button></form></td></tr>\n",
		    wl.name[i], b, wl.name[i]);
	}
	snprintf(p[0], sizeof(p[0]), "%g", price[U_POST]);
	snprintf(p[1], sizeof(p[1]), "%g", price[U_POST_URL]);
	snprintf(p[2], sizeof(p[2]), "%g", price[U_USER_READ]);
	out_html(&c->out, "</tbody></table></section>\n<section class=\"card\">"
	    "<h2>Prices</h2>\n<p>US dollars per call. The defaults are X's "
	    "pay-per-use prices as of " USAGE_PRICES_DATE " (\"subject to "
	    "change\"): check X's pricing page and adjust. Token calls, "
	    "revokes and cookie-mode calls are counted but not priced.</p>\n"
	    "<form method=\"post\" action=\"%s/admin/usage\" "
	    "class=\"stack\">", c->cfg.base_path);
	page_csrf(c);
	out_html(&c->out, "<label for=\"price_post\">Post created</label>"
	    "<input id=\"price_post\" name=\"price_post\" value=\"%s\" "
	    "inputmode=\"decimal\"><label for=\"price_post_url\">Post created "
	    "with a URL</label><input id=\"price_post_url\" "
	    "name=\"price_post_url\" value=\"%s\" inputmode=\"decimal\">"
	    "<label for=\"price_user_read\">User read</label><input "
	    "id=\"price_user_read\" name=\"price_user_read\" value=\"%s\" "
	    "inputmode=\"decimal\"><button type=\"submit\" name=\"action\" "
	    "value=\"prices\" class=\"secondary\">Save prices</button></form>"
	    "</section>\n", p[0], p[1], p[2]);
	page_end(c);
	free(now_rows);
	free(prev_rows);
}

static void
get_usage(struct ctx *c)
{
	const char	*n = req_get(&c->req, F_NOTICE);

	show_usage(c, 200, n && strcmp(n, "saved") == 0 ? "Saved." : NULL,
	    NOTICE_OK);
}

/* A budget in dollars, "" or "0" for none; -1 when malformed. */
static double
parse_money(const char *s)
{
	char	*end;
	double	 v;

	if (s == NULL)
		return -1;
	if (*s == '\0')
		return 0;
	v = strtod(s, &end);
	return *end == '\0' && v >= 0 && v < 1e9 ? v : -1;
}

static void
post_usage(struct ctx *c)
{
	const char		*action = req_get(&c->req, F_ACTION);
	const char		*ws = req_get(&c->req, F_WS);
	struct opt_change	 ch[3];
	double			 b;
	int			 rc;

	if (action && strcmp(action, "budget") == 0) {
		if (ws == NULL || (b = parse_money(req_get(&c->req,
		    F_BUDGET))) < 0) {
			show_usage(c, 400, "A budget is an amount in US dollars, "
			    "such as 25 or 12.50 (empty for none). Nothing was "
			    "saved.", NOTICE_ERROR);
			return;
		}
		if ((rc = usage_budget_set(c->store, ws, b)) != STORE_OK) {
			app_store_error(c, rc);
			return;
		}
		app_audit(c, NULL, "budget.save", "set the monthly budget of %s "
		    "to %.2f", ws, b);
	} else if (action && strcmp(action, "prices") == 0) {
		ch[0] = (struct opt_change){ OPT_PRICE_POST,
		    req_get(&c->req, F_PRICE_POST) };
		ch[1] = (struct opt_change){ OPT_PRICE_POST_URL,
		    req_get(&c->req, F_PRICE_POST_URL) };
		ch[2] = (struct opt_change){ OPT_PRICE_USER_READ,
		    req_get(&c->req, F_PRICE_USER_READ) };
		if (ch[0].val == NULL || ch[1].val == NULL || ch[2].val == NULL ||
		    (rc = opt_apply(c->store, NULL, ch, 3)) == STORE_ABORT) {
			show_usage(c, 400, "Prices are amounts in US dollars such "
			    "as 0.015. Nothing was saved.", NOTICE_ERROR);
			return;
		}
		if (rc != STORE_OK) {
			app_store_error(c, rc);
			return;
		}
		app_audit(c, NULL, "prices.save", "saved the prices");
	} else {
		out_error(&c->out, 400, "Unknown action.");
		return;
	}
	app_redirect(c, "/admin/usage?n=saved");
}

static const struct route routes[] = {
	{ M_GET, "/admin", R_ADMIN, get_home },
	{ M_GET, X_PATH, R_ADMIN, get_x },
	{ M_POST, X_PATH, R_ADMIN, post_x },
	{ M_GET, "/admin/audit", R_ADMIN | R_READS(SDB_AUDIT), get_audit },
	{ M_GET, "/admin/usage", R_ADMIN | R_READS(SDB_META), get_usage },
	{ M_POST, "/admin/usage", R_ADMIN, post_usage },
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
