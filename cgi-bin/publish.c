/*
 * publish.cgi: compose, publish now, schedule, and the history.
 *	GET  /app/publishing		compose form and history
 *	POST /app/publishing		action=publish|schedule|retry|mark_posted
 *	POST /api/v1/posts		the same as JSON
 *	GET  /api/v1/posts/{id}		one post
 *
 * Every delivery is stored as "sending" before its request to X leaves
 * (lib/post.c, lib/outbox.c): nothing is lost, nothing sent twice.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "channel.h"
#include "outbox.h"
#include "page.h"
#include "post.h"
#include "tm.h"
#include "tweetlen.h"
#include "usage.h"

#define MAX_TARGETS	16
#define HISTORY_PAGE	20

enum {
	F_TEXT, F_CHANNEL, F_CHANNELS, F_ACTION, F_SCHEDULED_AT, F_TZ, F_POST,
	F_NOTICE, F_BEFORE, F__MAX
};

static int
valid_zone(const char *s, size_t len)
{
	return len <= 64 && tm_zone_ok(s);
}

static const struct field fields[F__MAX] = {
	[F_TEXT] = { "text", valid_text },
	[F_CHANNEL] = { "channel", valid_uint },
	[F_CHANNELS] = { "channels", valid_uint },
	[F_ACTION] = { "action", valid_word },
	[F_SCHEDULED_AT] = { "scheduled_at", valid_line },
	[F_TZ] = { "tz", valid_zone },
	[F_POST] = { "post", valid_uint },
	[F_NOTICE] = { "n", valid_word },
	[F_BEFORE] = { "before", valid_uint },
};

/* A request the user must correct: 400 (or 404), said in one sentence. */
struct refusal {
	int	 status;
	char	 msg[300];
};

static int
refuse(struct refusal *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct refusal *r, int status, const char *fmt, ...)
{
	va_list	 ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* The text as X will count it; 0 when it may be posted. */
static int
check_text(struct ctx *c, struct refusal *r)
{
	const char		*text = req_get(&c->req, F_TEXT);
	struct tweetlen		 t;

	if (text == NULL && req_present(&c->req, F_TEXT))
		return refuse(r, 400, "The text must be valid UTF-8 without "
		    "control characters.");
	/* Only blanks is nothing to post, whatever the count says. */
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0')
		return refuse(r, 400, "Write something to post.");
	tweetlen_count(text, strlen(text), &t);
	if (t.reason == TWEETLEN_EMPTY)
		return refuse(r, 400, "Write something to post.");
	if (t.reason == TWEETLEN_NOMEM)
		return refuse(r, 503, "The server is short of memory; try "
		    "again.");
	if (t.reason == TWEETLEN_TOO_LONG)
		return refuse(r, 400, "The post is %d characters as X counts "
		    "them; X allows %d.", t.weighted, TWEETLEN_MAX);
	if (t.reason != TWEETLEN_OK)
		return refuse(r, 400, "The text has a character X does not "
		    "accept (U+FFFE, U+FEFF or U+FFFF).");
	return 0;
}

/* The chosen channels, each of this workspace and able to post. */
static int
check_targets(struct ctx *c, struct post_target *t, struct channel *ch,
    size_t *n, struct refusal *r)
{
	const char	*ids[MAX_TARGETS];
	size_t		 i, j;
	int		 k, rc;

	*n = 0;
	k = req_getall(&c->req, c->req.json ? F_CHANNELS : F_CHANNEL, ids,
	    MAX_TARGETS);
	if (k < 0)
		return refuse(r, 400, "Choose at most %d channels, by their ids.",
		    MAX_TARGETS);
	if (k == 0)
		return refuse(r, 400, "Choose at least one channel.");
	for (i = 0; i < (size_t)k; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(ids[i], ids[j]) == 0)
				return refuse(r, 400, "A channel is chosen "
				    "twice.");
		rc = channel_get(c->store, NULL, c->user.workspace, ids[i],
		    &ch[*n]);
		if (rc == STORE_NOTFOUND)
			return refuse(r, 404, "There is no channel %s in your "
			    "workspace.", ids[i]);
		if (rc != STORE_OK)
			return refuse(r, 503, "The data store is busy; try again.");
		t[*n].channel = ch[*n].id;
		t[*n].handle = ch[*n].handle;
		(*n)++;
		if (strcmp(channel_status(&ch[*n - 1], c->now),
		    "needs_reconnect") == 0)
			return refuse(r, 400, "@%s needs a reconnect before it "
			    "can post: reconnect it on Channels.",
			    ch[*n - 1].handle);
	}
	return 0;
}

/*
 * The workspace's monthly budget, when an admin set one: a post through
 * the API (billed; cookie posts are not) is refused once the estimate
 * has reached it.
 */
static int
check_budget(struct ctx *c, const struct channel *ch, size_t n,
    struct refusal *r)
{
	double	 price[U__MAX], budget, spent;
	size_t	 i;

	for (i = 0; i < n && ch[i].mode != CHAN_OAUTH; i++)
		continue;
	if (i == n)
		return 0;
	if (usage_budget_get(c->store, c->user.workspace, &budget) != STORE_OK ||
	    budget <= 0)
		return 0;
	usage_prices(c->store, price);
	if (usage_spent(c->store, c->user.workspace, c->now, price, &spent) !=
	    STORE_OK || spent < budget)
		return 0;
	return refuse(r, 403, "Workspace %s has reached its monthly X budget "
	    "($%.2f; about $%.2f spent this month). An administrator can raise "
	    "it under Admin → Usage.", c->user.workspace, budget, spent);
}

/* When to publish: 0 for now, else a time in the future. */
static int
check_when(struct ctx *c, int schedule, time_t *when, struct refusal *r)
{
	const char	*s = req_get(&c->req, F_SCHEDULED_AT);

	*when = 0;
	if (!schedule && (s == NULL || *s == '\0'))
		return 0;
	if (s == NULL || *s == '\0')
		return refuse(r, 400, "Pick a date and time to schedule the "
		    "post.");
	if (req_present(&c->req, F_TZ) && req_get(&c->req, F_TZ) == NULL)
		return refuse(r, 400, "The time zone is not one this server "
		    "knows.");
	/* The API speaks RFC 3339 in UTC, the form local wall-clock time. */
	*when = c->req.json ? tm_parse_rfc3339(s) :
	    tm_parse_local(s, req_get(&c->req, F_TZ));
	if (*when == -1)
		return refuse(r, 400, "The time must look like %s.",
		    c->req.json ? "2026-11-29T10:00:00Z" : "2026-11-29T10:00");
	if (*when <= c->now)
		return refuse(r, 400, "Pick a time in the future.");
	return 0;
}

static void
channels_free(struct channel *ch, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		channel_free(&ch[i]);
}

/* Send every delivery of a post just created as "sending". */
static void
send_all(struct ctx *c, const char *id, const char *text,
    const struct post_target *t, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (outbox_send(c->store, &c->cfg, c->key, c->user.workspace, id,
		    t[i].channel, text, time(NULL)) == NULL)
			app_log(c, "publish: post %s to channel %s: outcome not "
			    "recorded", id, t[i].channel);
}

/*
 * Create (and, unless scheduled, send) a post from the request.  *id
 * gets the new post's id; on a refusal r says why.
 */
static int
create(struct ctx *c, int schedule, char **id, struct refusal *r)
{
	struct post_target	 t[MAX_TARGETS];
	struct channel		 ch[MAX_TARGETS];
	const char		*text = req_get(&c->req, F_TEXT);
	size_t			 n = 0;
	time_t			 when;
	int			 rc = -1;

	*id = NULL;
	memset(ch, 0, sizeof(ch));
	if (check_text(c, r) || check_targets(c, t, ch, &n, r) ||
	    check_budget(c, ch, n, r) || check_when(c, schedule, &when, r))
		goto out;
	if (when == 0 && app_key(c) == NULL) {
		refuse(r, 503, "This instance's master key is unavailable.");
		goto out;
	}
	if ((rc = post_create(c->store, c->user.workspace, c->user.name, text,
	    t, n, when, c->now, id)) != STORE_OK) {
		refuse(r, 503, "The data store is busy; try again.");
		rc = -1;
		goto out;
	}
	app_audit(c, NULL, when ? "post.schedule" : "post.publish",
	    "%s post %s to %zu channel(s)", when ? "scheduled" : "published",
	    *id, n);
	if (when == 0)
		send_all(c, *id, text, t, n);
	rc = 0;
out:
	channels_free(ch, n);
	return rc;
}

static void
show_delivery(struct ctx *c, const struct post *p, const struct delivery *d)
{
	char	 iso[TM_RFC3339_LEN], human[32];

	out_html(&c->out, "<li data-channel=\"%s\" data-state=\"%s\">"
	    "<span class=\"handle\">@%s</span> <span class=\"badge %s\">%s</span>",
	    d->channel, d->state, d->handle, d->state, d->state);
	if (d->x_id != NULL)
		out_html(&c->out, " <a href=\"https://x.com/%u/status/%u\" "
		    "rel=\"noopener\" class=\"on-x\">View on X</a>", d->handle,
		    d->x_id);
	if (d->retry_at != 0 && strcmp(d->state, "rate_limited") == 0) {
		tm_rfc3339(d->retry_at, iso);
		tm_human(d->retry_at, human);
		out_html(&c->out, " <span class=\"hint\">goes out again at "
		    "<time datetime=\"%s\">%s</time></span>", iso, human);
	}
	if (d->reason != NULL)
		out_html(&c->out, "<p class=\"reason\">%s</p>", d->reason);
	if (strcmp(d->state, "unknown") == 0 || strcmp(d->state, "failed") == 0) {
		out_html(&c->out, "<form method=\"post\" action=\"%s/app/"
		    "publishing\" class=\"inline\">", c->cfg.base_path);
		page_csrf(c);
		out_html(&c->out, "<input type=\"hidden\" name=\"post\" "
		    "value=\"%s\"><input type=\"hidden\" name=\"channel\" "
		    "value=\"%s\"><button type=\"submit\" name=\"action\" "
		    "value=\"retry\" class=\"secondary\">%s</button>", p->id,
		    d->channel, strcmp(d->state, "unknown") == 0 ?
		    "Retry anyway" : "Retry");
		if (strcmp(d->state, "unknown") == 0)
			out_html(&c->out, " <button type=\"submit\" name=\"action\" "
			    "value=\"mark_posted\" class=\"secondary\">Mark as "
			    "posted</button>");
		out_html(&c->out, "</form>");
	}
	out_html(&c->out, "</li>\n");
}

static void
show_history(struct ctx *c)
{
	struct post	*list;
	char		 iso[TM_RFC3339_LEN], human[32], next[24];
	size_t		 n, i, j;
	int		 rc;

	rc = post_list(c->store, c->user.workspace, req_get(&c->req, F_BEFORE),
	    HISTORY_PAGE, &list, &n);
	if (rc != STORE_OK) {
		page_notice(c, NOTICE_ERROR, "The history could not be read.");
		return;
	}
	out_html(&c->out, "<section class=\"card\" id=\"history\">"
	    "<h2>History</h2>\n");
	if (n == 0)
		out_html(&c->out, "<p>Nothing posted yet.</p>\n");
	for (i = 0; i < n; i++) {
		const struct post *p = &list[i];
		time_t	 t = p->scheduled_at ? p->scheduled_at : p->created_at;

		tm_rfc3339(t, iso);
		tm_human(t, human);
		out_html(&c->out, "<article class=\"post\" data-post=\"%s\">"
		    "<p class=\"text\">%s</p><p class=\"meta\">%s "
		    "<time datetime=\"%s\">%s</time> by %s</p><ul "
		    "class=\"deliveries\">\n", p->id, p->text,
		    p->scheduled_at ? "Scheduled for" : "Published",
		    iso, human, p->by);
		for (j = 0; j < p->nd; j++)
			show_delivery(c, p, &p->d[j]);
		out_html(&c->out, "</ul></article>\n");
	}
	if (n == HISTORY_PAGE) {
		snprintf(next, sizeof(next), "%s", list[n - 1].id);
		out_html(&c->out, "<p><a href=\"%s/app/publishing?before=%s\" "
		    "class=\"button secondary\">Older posts</a></p>\n",
		    c->cfg.base_path, next);
	}
	out_html(&c->out, "</section>\n");
	post_list_free(list, n);
}

static const struct {
	const char	*code;
	enum notice	 kind;
	const char	*text;
} notices[] = {
	{ "sent", NOTICE_OK, "Sent. Each channel's outcome is in the history "
	    "below." },
	{ "scheduled", NOTICE_OK, "Scheduled. It goes out at the chosen "
	    "time." },
	{ "retried", NOTICE_OK, "Tried again; the outcome is below." },
	{ "marked", NOTICE_OK, "Marked as posted." },
};

static void
compose(struct ctx *c, int status, const struct refusal *r)
{
	struct channel	*list;
	const char	*n = req_get(&c->req, F_NOTICE), *text;
	double		 price[U__MAX];
	char		 p_post[16], p_url[16];
	size_t		 count, i, usable = 0;
	int		 rc;

	usage_prices(c->store, price);
	snprintf(p_post, sizeof(p_post), "%.3f", price[U_POST]);
	snprintf(p_url, sizeof(p_url), "%.3f", price[U_POST_URL]);

	if ((rc = channel_list(c->store, c->user.workspace, &list, &count)) !=
	    STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	out_status(&c->out, status);
	page_begin(c, "Publishing");
	out_html(&c->out, "<h1>Publishing</h1>\n");
	for (i = 0; n && i < sizeof(notices) / sizeof(notices[0]); i++)
		if (strcmp(n, notices[i].code) == 0)
			page_notice(c, notices[i].kind, notices[i].text);
	if (r != NULL)
		page_notice(c, NOTICE_ERROR, r->msg);
	text = r != NULL && req_get(&c->req, F_TEXT) ? req_get(&c->req,
	    F_TEXT) : "";
	out_html(&c->out, "<section class=\"card\"><h2>Compose</h2>\n"
	    "<form method=\"post\" action=\"%s/app/publishing\" class=\"stack\" "
	    "id=\"compose\">", c->cfg.base_path);
	page_csrf(c);
	out_html(&c->out, "\n<label for=\"text\">Post</label>\n<textarea "
	    "id=\"text\" name=\"text\" rows=\"4\" required "
	    "aria-describedby=\"counter\">%s</textarea>\n<p class=\"hint\">"
	    "<output id=\"counter\" for=\"text\" data-max=\"%d\">"
	    "</output> X counts URLs as 23, emoji and CJK as 2.</p>\n"
	    "<p class=\"hint\" id=\"cost\" data-post=\"%s\" "
	    "data-post-url=\"%s\">Each post through the API is billed by X "
	    "(about $%s, or $%s with a URL); cookie posts are not.</p>\n"
	    "<fieldset><legend>Channels</legend>\n", text, TWEETLEN_MAX,
	    p_post, p_url, p_post, p_url);
	for (i = 0; i < count; i++) {
		const char *st = channel_status(&list[i], c->now);
		int	 ok = strcmp(st, "needs_reconnect") != 0;

		usable += ok;
		if (ok)
			out_html(&c->out, "<label class=\"radio\"><input "
			    "type=\"checkbox\" name=\"channel\" value=\"%s\" "
			    "data-mode=\"%s\"%s> @%s</label>\n", list[i].id,
			    list[i].mode == CHAN_OAUTH ? "oauth" : "cookie",
			    count == 1 ? " checked" : "", list[i].handle);
		else
			out_html(&c->out, "<label class=\"radio\"><input "
			    "type=\"checkbox\" disabled> @%s <span class=\"badge "
			    "needs_reconnect\">needs_reconnect</span></label>\n",
			    list[i].handle);
	}
	if (usable == 0)
		out_html(&c->out, "<p>No channel can post. <a href=\"%s/app/"
		    "channels\">Connect an X account</a> first.</p>\n",
		    c->cfg.base_path);
	out_html(&c->out, "</fieldset>\n<div class=\"actions\"><button "
	    "type=\"submit\" name=\"action\" value=\"publish\" class=\"primary\">"
	    "Publish now</button></div>\n<fieldset><legend>Or schedule"
	    "</legend><label for=\"scheduled_at\">Date and time <span "
	    "class=\"hint\" id=\"tz-note\">(UTC)</span></label>\n<input "
	    "type=\"datetime-local\" id=\"scheduled_at\" name=\"scheduled_at\">"
	    "<input type=\"hidden\" name=\"tz\" id=\"tz\" value=\"\">\n"
	    "<div class=\"actions\"><button type=\"submit\" name=\"action\" "
	    "value=\"schedule\" class=\"secondary\">Schedule</button></div>"
	    "</fieldset></form></section>\n");
	show_history(c);
	/* Deferred scripts run in order: the TLD list, the counter, app.js's
	 * wiring (in the head) waits for DOMContentLoaded. */
	out_html(&c->out, "<script src=\"%s/static/tld.js\" defer></script>\n"
	    "<script src=\"%s/static/tweetlen.js\" defer></script>\n",
	    c->cfg.base_path, c->cfg.base_path);
	page_end(c);
	channel_list_free(list, count);
}

static void
get_publishing(struct ctx *c)
{
	compose(c, 200, NULL);
}

/* retry: an unknown or failed delivery goes again, on the user's word. */
static void
retry(struct ctx *c, int mark_posted)
{
	const char	*id = req_get(&c->req, F_POST);
	const char	*ch = req_get(&c->req, F_CHANNEL);
	struct post	 p;
	struct outcome	 o = { "posted", NULL, NULL, 0 };
	char		 reason[128];
	int		 rc;

	if (id == NULL || ch == NULL) {
		out_error(&c->out, 400, "Say which post and channel.");
		return;
	}
	if ((rc = post_get(c->store, NULL, c->user.workspace, id, &p)) ==
	    STORE_NOTFOUND) {
		out_error(&c->out, 404, "There is no such post in your "
		    "workspace.");
		return;
	}
	if (rc != STORE_OK || (!mark_posted && app_key(c) == NULL)) {
		post_free(&p);
		app_store_error(c, STORE_FAIL);
		return;
	}
	rc = post_claim(c->store, c->user.workspace, id, ch, mark_posted ?
	    "unknown" : "unknown failed", c->now);
	if (rc == STORE_OK && mark_posted) {
		snprintf(reason, sizeof(reason), "Marked as posted by %s.",
		    c->user.name);
		o.reason = reason;
		rc = post_settle(c->store, c->user.workspace, id, ch, &o, c->now);
	} else if (rc == STORE_OK)
		outbox_send(c->store, &c->cfg, c->key, c->user.workspace, id, ch,
		    p.text, time(NULL));
	post_free(&p);
	if (rc == STORE_NOTFOUND)
		out_error(&c->out, 404, "There is no such delivery.");
	else if (rc == STORE_ABORT)
		out_error(&c->out, 409, "That delivery is not waiting for a "
		    "decision any more; reload the page.");
	else if (rc != STORE_OK)
		app_store_error(c, rc);
	else {
		app_audit(c, NULL, mark_posted ? "post.mark_posted" :
		    "post.retry", "%s post %s on channel %s", mark_posted ?
		    "marked as posted" : "retried", id, ch);
		app_redirect(c, mark_posted ? "/app/publishing?n=marked" :
		    "/app/publishing?n=retried");
	}
}

static void
post_publishing(struct ctx *c)
{
	const char	*action = req_get(&c->req, F_ACTION);
	struct refusal	 r;
	char		*id;

	if (action && (strcmp(action, "retry") == 0 ||
	    strcmp(action, "mark_posted") == 0)) {
		retry(c, strcmp(action, "mark_posted") == 0);
		return;
	}
	if (action == NULL || (strcmp(action, "publish") != 0 &&
	    strcmp(action, "schedule") != 0)) {
		out_error(&c->out, 400, "Choose Publish now or Schedule.");
		return;
	}
	if (create(c, strcmp(action, "schedule") == 0, &id, &r) != 0) {
		if (r.status == 503)
			app_store_error(c, STORE_BUSY);
		else
			compose(c, r.status, &r);
		return;
	}
	app_redirect(c, strcmp(action, "schedule") == 0 ?
	    "/app/publishing?n=scheduled" : "/app/publishing?n=sent");
	free(id);
}

static void
post_json_out(struct ctx *c, int status, const char *id)
{
	struct post	 p;
	int		 rc;

	if ((rc = post_get(c->store, NULL, c->user.workspace, id, &p)) ==
	    STORE_NOTFOUND) {
		out_error(&c->out, 404, "There is no such post in your "
		    "workspace.");
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	out_json(&c->out, status, post_json(&p));
	post_free(&p);
}

static void
post_api_posts(struct ctx *c)
{
	struct refusal	 r;
	char		*id;

	if (c->req.json == NULL) {
		out_error(&c->out, 415, "Send the post as JSON.");
		return;
	}
	if (create(c, req_get(&c->req, F_SCHEDULED_AT) != NULL, &id, &r) != 0) {
		if (r.status == 503)
			app_store_error(c, STORE_BUSY);
		else
			out_error(&c->out, r.status, r.msg);
		return;
	}
	post_json_out(c, 201, id);
	free(id);
}

static void
get_api_post(struct ctx *c)
{
	post_json_out(c, 200, c->arg);
}

static const struct route routes[] = {
	{ M_GET, "/app/publishing", R_LOGIN | R_READS(SDB_OPTIONS) |
	    R_READS(SDB_CHANNELS) | R_READS(SDB_POSTS), get_publishing },
	{ M_POST, "/app/publishing", R_LOGIN, post_publishing },
	{ M_POST, "/api/v1/posts", R_LOGIN | R_JSON, post_api_posts },
	{ M_GET, "/api/v1/posts/*", R_LOGIN | R_JSON | R_READS(SDB_POSTS),
	    get_api_post },
};

int
main(void)
{
	/* Up to MAX_TARGETS calls to X of up to 30 s each would outlive any
	 * watchdog: the budget is per request, and a delivery whose sender
	 * dies stays "sending" and turns "unknown", never resent. */
	static const struct app a = {
		routes, sizeof(routes) / sizeof(routes[0]),
		fields, F__MAX, 110
	};

	return app_run(&a);
}
