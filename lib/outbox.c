#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "channel.h"
#include "opt.h"
#include "outbox.h"
#include "post.h"
#include "tm.h"
#include "tweetlen.h"
#include "usage.h"
#include "xapi.h"
#include "xweb.h"

/* The budget X last reported under key, in SDB_META. */
struct budget {
	long long	 remaining;	/* -1: unknown */
	long long	 reset;
};

static void
budget_get(struct store *st, const char *key, struct budget *b)
{
	json_t		*j;
	json_int_t	 rem, reset;

	b->remaining = b->reset = -1;
	if (store_get_json(st, NULL, SDB_META, key, &j) != STORE_OK)
		return;
	if (json_unpack(j, "{s:I,s:I}", "remaining", &rem, "reset", &reset) == 0) {
		b->remaining = rem;
		b->reset = reset;
	}
	json_decref(j);
}

struct budget_arg {
	const char	*key;
	long long	 remaining, reset;
};

static int
budget_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct budget_arg	*a = arg;
	json_t			*j;
	int			 rc;

	if ((j = json_pack("{s:I,s:I}", "remaining", (json_int_t)a->remaining,
	    "reset", (json_int_t)a->reset)) == NULL)
		return STORE_FAIL;
	rc = store_put_json(st, txn, SDB_META, a->key, j);
	json_decref(j);
	return rc;
}

/*
 * Remember what X said; a lost write only costs one refused request, so
 * it does not wait for the disk (the settle right after it does).
 */
static void
budget_put(struct store *st, const char *key, long long remaining,
    long long reset)
{
	struct budget_arg	 a = { key, remaining, reset };

	if (remaining >= 0 && reset > 0)
		store_txn_nosync(st, budget_txn, &a);
}

/* When the budget under key is spent at now, the time it refills; else 0. */
static time_t
spent_until(struct store *st, const char *key, time_t now)
{
	struct budget	 b;

	budget_get(st, key, &b);
	return b.remaining == 0 && b.reset > now ? (time_t)b.reset : 0;
}

static const char *
settle(struct store *st, const char *ws, const char *id, const char *channel,
    const struct outcome *o, time_t now)
{
	char	 what[600];

	/* First: the settling commit makes the entry durable too. */
	snprintf(what, sizeof(what), "post %s on channel %s: %s%s%s", id,
	    channel, o->state, o->reason ? " — " : "", o->reason ? o->reason :
	    "");
	audit_add(st, now, NULL, ws, NULL, "post.outcome", what);
	if (post_settle(st, ws, id, channel, o, now) != STORE_OK)
		return NULL;
	return o->state;
}

static const char *
fail(struct store *st, const char *ws, const char *id, const char *channel,
    const char *reason, time_t now)
{
	struct outcome	 o = { "failed", NULL, reason, 0 };

	return settle(st, ws, id, channel, &o, now);
}

static const char *
limited(struct store *st, const char *ws, const char *id, const char *channel,
    const char *who, time_t until, time_t now)
{
	struct outcome	 o = { "rate_limited", NULL, NULL, until };
	char		 reason[256], at[32];

	tm_human(until, at);
	snprintf(reason, sizeof(reason), "X's rate limit for %s is spent "
	    "until %s; the post is kept and goes out again then.", who, at);
	o.reason = reason;
	return settle(st, ws, id, channel, &o, now);
}

/*
 * The outcomes that do not depend on the endpoint: nothing sent at all
 * (failed, retry when you like), or no confirmation (unknown).
 */
static void
unconfirmed(enum xres r, const char *detail, const char *handle,
    struct outcome *o, char *reason, size_t n)
{
	if (r == XRES_NOT_SENT) {
		o->state = "failed";
		snprintf(reason, n, "Could not reach X, so nothing was sent "
		    "(%s). Retry when X is reachable.", detail);
	} else {
		o->state = "unknown";
		snprintf(reason, n, "X did not confirm the post (%s). It may or "
		    "may not be on X: check @%s, then retry anyway or mark it "
		    "as posted.", detail, handle);
	}
	o->reason = reason;
}

/* Send through the API with the channel's OAuth token. */
static const char *
send_oauth(struct store *st, const struct cfg *cfg, const struct crypto_key *k,
    const struct channel *ch, const char *id, const char *text, time_t now)
{
	struct xpost	 p;
	struct outcome	 o = { NULL, NULL, NULL, 0 };
	char		 ukey[96], detail[256], reason[400], *token;
	const char	*res;
	time_t		 until;
	enum xres	 r;

	snprintf(ukey, sizeof(ukey), "rl:user:%s", ch->x_id ? ch->x_id : "");
	if ((until = spent_until(st, ukey, now)) != 0)
		return limited(st, ch->ws, id, ch->id, "this account", until,
		    now);
	if ((until = spent_until(st, "rl:app", now)) != 0)
		return limited(st, ch->ws, id, ch->id, "this instance's X app",
		    until, now);
	if ((token = channel_secret(k, ch)) == NULL)
		return fail(st, ch->ws, id, ch->id, "The channel's access could "
		    "not be opened with this instance's key; reconnect it, then "
		    "retry.", now);
	r = xapi_tweet(cfg, token, text, &p, detail, sizeof(detail));
	if (r != XRES_NOT_SENT) {
		struct tweetlen	 t;

		/* X bills a post with a URL at its own price. */
		tweetlen_count(text, strlen(text), &t);
		usage_count(st, now, ch->ws, ch->id, t.urls > 0 ? U_POST_URL :
		    U_POST);
	}
	explicit_bzero(token, strlen(token));
	free(token);
	budget_put(st, ukey, p.rl_remaining, p.rl_reset);
	budget_put(st, "rl:app", p.app_remaining, p.app_reset);
	switch (r) {
	case XRES_OK:
		o.state = "posted";
		o.x_id = p.id;
		break;
	case XRES_UNAUTHORIZED:
		channel_set_status(st, ch->ws, ch->id, "needs_reconnect");
		o.state = "failed";
		snprintf(reason, sizeof(reason), "X no longer accepts this "
		    "channel's access (401): reconnect @%s on Channels, then "
		    "retry.", ch->handle);
		o.reason = reason;
		break;
	case XRES_REFUSED:
		o.state = "failed";
		if (p.duplicate)
			snprintf(reason, sizeof(reason), "X refused this post as "
			    "a duplicate of one already on @%s (duplicate "
			    "content).", ch->handle);
		else
			snprintf(reason, sizeof(reason), "X refused the post: %s",
			    detail);
		o.reason = reason;
		break;
	case XRES_RATE_LIMITED:
		until = p.rl_reset > now ? (time_t)p.rl_reset :
		    now + OUTBOX_DEFAULT_RETRY;
		/* Without X's reset time, assume the account is spent. */
		budget_put(st, ukey, 0, until);
		xapi_post_free(&p);
		return limited(st, ch->ws, id, ch->id, "this account", until,
		    now);
	default:
		unconfirmed(r, detail, ch->handle, &o, reason, sizeof(reason));
		break;
	}
	res = settle(st, ch->ws, id, ch->id, &o, now);
	xapi_post_free(&p);
	return res;
}

/* X's web error codes, in words a user can act on. */
static void
web_reason(int code, const char *detail, const char *handle, char *r,
    size_t n)
{
	switch (code) {
	case 226:
		snprintf(r, n, "X took this post for automated behaviour (226) "
		    "and did not publish it. Post less often, or from the X app "
		    "for a while.");
		break;
	case 344:
		snprintf(r, n, "@%s has reached X's daily post limit (344). Try "
		    "again tomorrow.", handle);
		break;
	case 187:
		snprintf(r, n, "X refused this post as a duplicate of one "
		    "already on @%s (187, duplicate content).", handle);
		break;
	case 37:
	case 64:
		snprintf(r, n, "X says @%s is suspended (%d); it cannot post.",
		    handle, code);
		break;
	case 326:
		snprintf(r, n, "X has locked @%s (326). Unlock it on x.com, "
		    "then retry.", handle);
		break;
	case 34:
		snprintf(r, n, "X's web endpoint was not found (34): the "
		    "CreateTweet queryId may have changed. An administrator "
		    "can update it on the admin page.");
		break;
	default:
		snprintf(r, n, "X refused the post: %s", detail);
		break;
	}
}

/* Send through X's web endpoints with the channel's browser cookies. */
static const char *
send_cookie(struct store *st, const struct cfg *cfg,
    const struct crypto_key *k, const struct channel *ch, const char *id,
    const char *text, time_t now)
{
	struct xweb_post p;
	struct outcome	 o = { NULL, NULL, NULL, 0 };
	struct xcookies	 ck;
	char		 detail[256], reason[400], *secret, *bearer, *qid;
	const char	*res;
	json_t		*j = NULL;
	enum xres	 r;

	bearer = opt_get_or(st, OPT_WEB_BEARER, OPT_WEB_BEARER_DEFAULT);
	qid = opt_get_or(st, OPT_WEB_QUERY_ID, OPT_WEB_QUERY_ID_DEFAULT);
	if ((secret = channel_secret(k, ch)) != NULL)
		j = json_loads(secret, 0, NULL);
	ck.auth_token = json_string_value(json_object_get(j, "auth_token"));
	ck.ct0 = json_string_value(json_object_get(j, "ct0"));
	ck.bearer = bearer;
	if (bearer == NULL || qid == NULL || !xweb_auth_token_ok(ck.auth_token) ||
	    !xweb_ct0_ok(ck.ct0)) {
		res = fail(st, ch->ws, id, ch->id, "The channel's cookies could "
		    "not be opened with this instance's key; connect it again, "
		    "then retry.", now);
		goto out;
	}
	r = xweb_post(cfg, &ck, qid, text, &p, detail, sizeof(detail));
	if (r != XRES_NOT_SENT)
		usage_count(st, now, ch->ws, ch->id, U_COOKIE_POST);
	switch (r) {
	case XRES_OK:
		o.state = "posted";
		o.x_id = p.id;
		/* The first post that works verifies an unverified channel. */
		if (strcmp(ch->status, "active") != 0)
			channel_set_status(st, ch->ws, ch->id, "active");
		break;
	case XRES_UNAUTHORIZED:
		channel_set_status(st, ch->ws, ch->id, "needs_reconnect");
		o.state = "failed";
		snprintf(reason, sizeof(reason), "X no longer accepts the "
		    "cookies of @%s (%s): sign in on x.com, connect the channel "
		    "again with fresh cookies, then retry.", ch->handle, detail);
		o.reason = reason;
		break;
	case XRES_REFUSED:
		o.state = "failed";
		web_reason(p.code, detail, ch->handle, reason, sizeof(reason));
		o.reason = reason;
		break;
	case XRES_RATE_LIMITED:
		res = limited(st, ch->ws, id, ch->id, "this account",
		    p.rl_reset > now ? (time_t)p.rl_reset :
		    now + OUTBOX_DEFAULT_RETRY, now);
		xweb_post_free(&p);
		goto out;
	default:
		unconfirmed(r, detail, ch->handle, &o, reason, sizeof(reason));
		break;
	}
	res = settle(st, ch->ws, id, ch->id, &o, now);
	xweb_post_free(&p);
out:
	json_decref(j);
	if (secret != NULL)
		explicit_bzero(secret, strlen(secret));
	free(secret);
	free(bearer);
	free(qid);
	return res;
}

const char *
outbox_send(struct store *st, const struct cfg *cfg, const struct crypto_key *k,
    const char *ws, const char *id, const char *channel, const char *text,
    time_t now)
{
	struct channel	 ch;
	const char	*res;
	char		 reason[256];
	int		 rc;

	if ((rc = channel_get(st, NULL, ws, channel, &ch)) == STORE_NOTFOUND)
		return fail(st, ws, id, channel, "The channel was disconnected "
		    "before the post was sent.", now);
	if (rc != STORE_OK)
		return NULL;
	if (strcmp(channel_status(&ch, now), "needs_reconnect") == 0) {
		snprintf(reason, sizeof(reason), "@%s needs a reconnect (its "
		    "access expired or X refused it): reconnect it on "
		    "Channels, then retry.", ch.handle);
		res = fail(st, ws, id, channel, reason, now);
	} else if (ch.mode == CHAN_OAUTH)
		res = send_oauth(st, cfg, k, &ch, id, text, now);
	else
		res = send_cookie(st, cfg, k, &ch, id, text, now);
	channel_free(&ch);
	return res;
}
