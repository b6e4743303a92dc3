/*
 * channels.cgi: the workspace's X channels.
 *	GET  /app/channels			the list, Connect
 *	POST /app/channels/{id}/disconnect	revoke at X, then remove
 *	GET  /api/v1/channels			the list as JSON
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "channel.h"
#include "opt.h"
#include "page.h"
#include "tm.h"
#include "usage.h"
#include "xapi.h"

enum { F_NOTICE, F__MAX };

static const struct field fields[F__MAX] = {
	[F_NOTICE] = { "n", valid_word },
};

static const struct {
	const char	*code;
	enum notice	 kind;
	const char	*text;
} notices[] = {
	{ "connected", NOTICE_OK, "X account connected." },
	{ "cancelled", NOTICE_INFO, "Connection cancelled: X did not grant "
	    "access, so nothing was connected." },
	{ "disconnected", NOTICE_OK, "Channel disconnected, and its access "
	    "revoked at X." },
	{ "cookie_connected", NOTICE_OK, "X account connected with browser "
	    "cookies." },
	{ "cookie_unverified", NOTICE_INFO, "Connected, unverified: X could "
	    "not check the cookies right now. The first post that goes through "
	    "verifies the channel." },
	{ "disconnected_norevoke", NOTICE_INFO, "Channel disconnected. X could "
	    "not be asked to revoke its access; you can remove the app under "
	    "Settings → Security and account access → Apps and sessions on "
	    "X." },
};

static void
show_notice(struct ctx *c)
{
	const char	*n = req_get(&c->req, F_NOTICE);
	size_t		 i;

	for (i = 0; n && i < sizeof(notices) / sizeof(notices[0]); i++)
		if (strcmp(n, notices[i].code) == 0)
			page_notice(c, notices[i].kind, notices[i].text);
}

static void
time_cell(struct ctx *c, const char *label, time_t t)
{
	char	 iso[TM_RFC3339_LEN], human[32];

	if (t == 0) {
		out_html(&c->out, "<td data-label=\"%s\">—</td>", label);
		return;
	}
	tm_rfc3339(t, iso);
	tm_human(t, human);
	out_html(&c->out, "<td data-label=\"%s\"><time datetime=\"%s\">%s"
	    "</time></td>", label, iso, human);
}

static void
channel_row(struct ctx *c, const struct channel *ch)
{
	const char	*st = channel_status(ch, c->now);

	out_html(&c->out, "<tr data-channel=\"%s\"><td><a class=\"handle\" "
	    "href=\"https://x.com/%u\" rel=\"noopener\">@%s</a></td>"
	    "<td class=\"name\">%s</td><td>%s</td>"
	    "<td><span class=\"badge %s\" data-status=\"%s\">%s</span></td>",
	    ch->id, ch->handle, ch->handle, ch->name,
	    ch->mode == CHAN_COOKIE ? "Cookie" : "OAuth", st, st, st);
	time_cell(c, "Connected", ch->connected_at);
	time_cell(c, "Token expires", ch->expires_at);
	out_html(&c->out, "<td class=\"row-actions\">");
	if (strcmp(st, "needs_reconnect") == 0 && ch->mode == CHAN_OAUTH)
		out_html(&c->out, "<a class=\"button secondary\" "
		    "href=\"%s/api/v1/auth/twitter\">Reconnect</a> ",
		    c->cfg.base_path);
	else if (strcmp(st, "needs_reconnect") == 0)
		out_html(&c->out, "<a class=\"button secondary\" "
		    "href=\"#cookie-connect\">Connect again</a> ");
	out_html(&c->out, "<form method=\"post\" action=\"%s/app/channels/%s/"
	    "disconnect\" class=\"inline\">", c->cfg.base_path, ch->id);
	page_csrf(c);
	out_html(&c->out, "<button type=\"submit\" class=\"danger\" "
	    "aria-label=\"Disconnect @%s\">Disconnect</button></form>"
	    "</td></tr>\n", ch->handle);
}

/* Connect: the OAuth button only when X can be used, else why not. */
static void
connect_card(struct ctx *c, const struct xcreds *x)
{
	const char	*why = opt_x_refusal(x);

	out_html(&c->out, "<section class=\"card\" id=\"connect\">"
	    "<h2>Connect → X (Twitter)</h2>\n");
	if (why == NULL) {
		out_html(&c->out, "<p>Sign in on X and approve Sosyabot; you "
		    "come back here with the account listed. Access lasts two "
		    "hours, then the channel asks for a reconnect.</p>\n"
		    "<p><a class=\"button primary\" id=\"connect-oauth\" "
		    "href=\"%s/api/v1/auth/twitter\">OAuth</a></p>\n",
		    c->cfg.base_path);
	} else {
		out_html(&c->out, "<p id=\"connect-unavailable\">Connecting "
		    "with OAuth is not available: <strong>%s</strong>.", why);
		if (c->user.role == ROLE_ADMIN)
			out_html(&c->out, " <a href=\"%s/admin/api-integration/"
			    "x-twitter\">Configure X (Twitter)</a>",
			    c->cfg.base_path);
		else
			out_html(&c->out, " Ask an administrator of this "
			    "instance.");
		out_html(&c->out, "</p>\n");
	}
	out_html(&c->out, "</section>\n");
}

/* Cookie connect: offered whether or not OAuth is configured. */
static void
cookie_card(struct ctx *c)
{
	out_html(&c->out, "<section class=\"card\" id=\"cookie-connect\">"
	    "<h2>Connect with browser cookies</h2>\n"
	    "<div class=\"notice notice-info\" role=\"note\"><p><strong>This "
	    "uses X's unofficial web endpoints.</strong> It needs no developer "
	    "app, but it may stop working without notice, and using it may be "
	    "against X's terms of service. Use it for your own accounts, at "
	    "your own risk.</p></div>\n"
	    "<details><summary>How to copy the two cookies</summary><ol>"
	    "<li>Sign in on <strong>x.com</strong> in your browser as the "
	    "account to connect.</li>"
	    "<li>Open the developer tools (F12, or Cmd+Option+I on a Mac) → "
	    "<strong>Application</strong> (Chrome, Edge) or "
	    "<strong>Storage</strong> (Firefox) → <strong>Cookies</strong> → "
	    "<code>https://x.com</code>.</li>"
	    "<li>Copy the value of <code>auth_token</code> (40 characters) and "
	    "of <code>ct0</code>.</li>"
	    "<li>Do not sign out on x.com afterwards: that ends these cookies "
	    "too.</li></ol></details>\n"
	    "<form method=\"post\" action=\"%s/api/v1/auth/twitter/"
	    "unofficial\" class=\"stack\" autocomplete=\"off\">",
	    c->cfg.base_path);
	page_csrf(c);
	out_html(&c->out, "\n<label for=\"auth_token\">auth_token</label>\n"
	    "<input id=\"auth_token\" name=\"auth_token\" type=\"password\" "
	    "required spellcheck=\"false\" pattern=\"[0-9a-fA-F]{40}\">\n"
	    "<label for=\"ct0\">ct0</label>\n<input id=\"ct0\" name=\"ct0\" "
	    "type=\"password\" required spellcheck=\"false\" "
	    "pattern=\"[0-9a-fA-F]{32,160}\">\n"
	    "<label for=\"handle\">Handle <span class=\"hint\">(optional; "
	    "used when X cannot check the cookies)</span></label>\n"
	    "<input id=\"handle\" name=\"handle\" placeholder=\"@yourhandle\" "
	    "spellcheck=\"false\">\n<p class=\"hint\">The cookies are "
	    "encrypted before they are stored and never shown again.</p>\n"
	    "<div class=\"actions\"><button type=\"submit\" "
	    "class=\"secondary\" id=\"connect-cookies\">Connect with "
	    "cookies</button></div></form></section>\n");
}

static void
get_channels(struct ctx *c)
{
	struct channel	*list;
	struct xcreds	 x;
	size_t		 n, i;
	int		 rc;

	if ((rc = channel_list(c->store, c->user.workspace, &list, &n)) !=
	    STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	if ((rc = opt_x_resolve(c->store, &c->cfg, &x)) != STORE_OK) {
		channel_list_free(list, n);
		app_store_error(c, rc);
		return;
	}
	page_begin(c, "Channels");
	out_html(&c->out, "<h1>Channels</h1>\n<p class=\"lead\">The X accounts "
	    "of workspace <strong>%s</strong>.</p>\n", c->user.workspace);
	show_notice(c);
	out_html(&c->out, "<section class=\"card\"><h2>Connected accounts</h2>\n");
	if (n == 0)
		out_html(&c->out, "<p id=\"no-channels\">No X account is "
		    "connected yet.</p>\n");
	else {
		out_html(&c->out, "<table id=\"channels\"><thead><tr>"
		    "<th>Account</th><th>Name</th><th>Mode</th><th>Status</th>"
		    "<th>Connected</th><th>Token expires</th><th></th></tr>"
		    "</thead><tbody>\n");
		for (i = 0; i < n; i++)
			channel_row(c, &list[i]);
		out_html(&c->out, "</tbody></table>\n");
	}
	out_html(&c->out, "</section>\n");
	connect_card(c, &x);
	cookie_card(c);
	page_end(c);
	xcreds_free(&x);
	channel_list_free(list, n);
}

static void
get_api_channels(struct ctx *c)
{
	struct channel	*list;
	json_t		*arr;
	size_t		 n, i;
	int		 rc;

	if ((rc = channel_list(c->store, c->user.workspace, &list, &n)) !=
	    STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	arr = json_array();
	for (i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, channel_json(&list[i], c->now)))
			break;
	out_json(&c->out, 200, json_pack("{s:o}", "channels", arr));
	channel_list_free(list, n);
}

/*
 * Ask X to revoke the channel's token; 1 when X confirmed.  A channel
 * whose token is gone or whose app is no longer configured cannot be
 * revoked, which is reported, never a reason to keep the channel.
 */
static int
revoke_token(struct ctx *c, const struct channel *ch)
{
	struct xcreds	 x;
	char		*token = NULL, *secret = NULL, detail[256];
	int		 ok = 0;

	if (opt_x_resolve(c->store, &c->cfg, &x) != STORE_OK)
		return 0;
	if (x.client_id != NULL && app_key(c) != NULL &&
	    (token = channel_secret(c->key, ch)) != NULL &&
	    (secret = opt_x_secret(c->store, &c->cfg, c->key, &x)) != NULL) {
		ok = xapi_revoke(&c->cfg, x.client_id, secret, token, detail,
		    sizeof(detail)) == XRES_OK;
		usage_count(c->store, c->now, ch->ws, ch->id, U_REVOKE);
		if (!ok)
			app_log(c, "disconnect: revoke failed: %s", detail);
	}
	xcreds_free(&x);
	free(token);
	free(secret);
	return ok;
}

static void
post_disconnect(struct ctx *c)
{
	struct channel	 ch;
	int		 rc, revoked = 0;

	if ((rc = channel_get(c->store, NULL, c->user.workspace, c->arg, &ch)) ==
	    STORE_NOTFOUND) {
		out_error(&c->out, 404, "There is no such channel in your "
		    "workspace.");
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	if (ch.mode == CHAN_OAUTH)
		revoked = revoke_token(c, &ch);
	rc = channel_delete(c->store, c->user.workspace, ch.id);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		channel_free(&ch);
		app_store_error(c, rc);
		return;
	}
	app_audit(c, NULL, "channel.disconnect", "disconnected @%s (channel "
	    "%s)%s", ch.handle, ch.id, revoked || ch.mode != CHAN_OAUTH ? "" :
	    "; X could not be asked to revoke its token");
	app_redirect(c, revoked || ch.mode != CHAN_OAUTH ?
	    "/app/channels?n=disconnected" :
	    "/app/channels?n=disconnected_norevoke");
	channel_free(&ch);
}

static const struct route routes[] = {
	{ M_GET, "/app/channels", R_LOGIN | R_READS(SDB_CHANNELS) |
	    R_READS(SDB_OPTIONS), get_channels },
	{ M_POST, "/app/channels/*/disconnect", R_LOGIN, post_disconnect },
	{ M_GET, "/api/v1/channels", R_LOGIN | R_JSON | R_READS(SDB_CHANNELS),
	    get_api_channels },
};

int
main(void)
{
	/* A disconnect waits up to 30 s for X's revoke. */
	static const struct app a = {
		routes, sizeof(routes) / sizeof(routes[0]),
		fields, F__MAX, 45
	};

	return app_run(&a);
}
