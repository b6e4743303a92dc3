#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "channel.h"
#include "tm.h"
#include "valid.h"

#define ID_WIDTH	20	/* zero-padded: keys sort by id */

int
channel_id_ok(const char *id)
{
	return id != NULL && valid_uint(id, strlen(id)) && id[0] != '0';
}

static void
key_of(const char *ws, const char *id, char *key, size_t n)
{
	snprintf(key, n, "%s/%0*llu", ws, ID_WIDTH, strtoull(id, NULL, 10));
}

static void
ad_of(const char *ws, const char *id, char *ad, size_t n)
{
	snprintf(ad, n, "channels/%s/%s/secret", ws, id);
}

const char *
channel_status(const struct channel *c, time_t now)
{
	if (c->mode == CHAN_OAUTH && c->expires_at != 0 && now >= c->expires_at)
		return "needs_reconnect";
	return c->status;
}

void
channel_free(struct channel *c)
{
	free(c->id);
	free(c->ws);
	free(c->x_id);
	free(c->handle);
	free(c->name);
	free(c->status);
	free(c->secret);
	memset(c, 0, sizeof(*c));
}

void
channel_list_free(struct channel *c, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		channel_free(&c[i]);
	free(c);
}

static char *
dup_or_null(json_t *j, const char *name)
{
	const char	*s = json_string_value(json_object_get(j, name));

	return s ? strdup(s) : NULL;
}

/* Fill c from a record; STORE_FAIL when it does not hold a channel. */
static int
from_json(const char *ws, const char *id, json_t *j, struct channel *c)
{
	const char	*mode;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(j) || (mode = json_string_value(
	    json_object_get(j, "mode"))) == NULL)
		return STORE_FAIL;
	c->mode = strcmp(mode, "cookie") == 0 ? CHAN_COOKIE : CHAN_OAUTH;
	c->id = strdup(id);
	c->ws = strdup(ws);
	c->x_id = dup_or_null(j, "x_id");
	c->handle = dup_or_null(j, "handle");
	c->name = dup_or_null(j, "name");
	c->status = dup_or_null(j, "status");
	c->secret = dup_or_null(j, "secret");
	c->connected_at = (time_t)json_integer_value(json_object_get(j,
	    "connected_at"));
	c->expires_at = (time_t)json_integer_value(json_object_get(j,
	    "expires_at"));
	if (c->id == NULL || c->ws == NULL || c->handle == NULL ||
	    c->status == NULL || c->name == NULL) {
		channel_free(c);
		return STORE_FAIL;
	}
	return STORE_OK;
}

int
channel_get(struct store *st, DB_TXN *txn, const char *ws, const char *id,
    struct channel *c)
{
	char	 key[160];
	json_t	*j;
	int	 rc;

	memset(c, 0, sizeof(*c));
	if (!channel_id_ok(id))
		return STORE_NOTFOUND;
	key_of(ws, id, key, sizeof(key));
	if ((rc = store_get_json(st, txn, SDB_CHANNELS, key, &j)) != STORE_OK)
		return rc;
	rc = from_json(ws, id, j, c);
	json_decref(j);
	return rc;
}

struct list_arg {
	const char	*ws;
	struct channel	*list;
	size_t		 n;
	int		 rc;
};

static int
list_one(const char *key, const char *val, size_t len, void *arg)
{
	struct list_arg	*a = arg;
	struct channel	*grown;
	const char	*idp = strrchr(key, '/');
	char		 id[32];
	json_t		*j;

	if (idp == NULL)
		return 0;
	for (idp++; *idp == '0'; idp++)
		continue;
	snprintf(id, sizeof(id), "%s", idp);
	if ((grown = realloc(a->list, (a->n + 1) * sizeof(*grown))) == NULL) {
		a->rc = STORE_FAIL;
		return 1;
	}
	a->list = grown;
	j = json_loadb(val, len, 0, NULL);
	if (from_json(a->ws, id, j, &a->list[a->n]) == STORE_OK)
		a->n++;
	json_decref(j);
	return 0;
}

int
channel_list(struct store *st, const char *ws, struct channel **list,
    size_t *n)
{
	struct list_arg	 a = { ws, NULL, 0, STORE_OK };
	char		 prefix[80];
	int		 rc;

	*list = NULL;
	*n = 0;
	snprintf(prefix, sizeof(prefix), "%s/", ws);
	rc = store_scan(st, NULL, SDB_CHANNELS, prefix, list_one, &a);
	if (rc == STORE_OK)
		rc = a.rc;
	if (rc != STORE_OK) {
		channel_list_free(a.list, a.n);
		return rc;
	}
	*list = a.list;
	*n = a.n;
	return STORE_OK;
}

struct connect_arg {
	const struct crypto_key	*key;
	const struct channel_new *in;
	time_t			 now;
	char			*id;
	int			 updated;
	char			*match;		/* key of the same account */
};

static int
same_account(const char *key, const char *val, size_t len, void *arg)
{
	struct connect_arg	*a = arg;
	json_t			*j = json_loadb(val, len, 0, NULL);
	const char		*mode, *x_id, *handle;
	int			 same = 0;

	if (j != NULL && json_unpack(j, "{s:s,s:s}", "mode", &mode, "handle",
	    &handle) == 0 && strcmp(mode, a->in->mode == CHAN_COOKIE ?
	    "cookie" : "oauth") == 0) {
		x_id = json_string_value(json_object_get(j, "x_id"));
		/* The X id when both know it, else the handle. */
		if (x_id && a->in->x_id)
			same = strcmp(x_id, a->in->x_id) == 0;
		else
			same = strcasecmp(handle, a->in->handle) == 0;
	}
	json_decref(j);
	if (same && (a->match = strdup(key)) == NULL)
		return 1;
	return same;
}

static int
connect_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct connect_arg	*a = arg;
	const struct channel_new *in = a->in;
	unsigned long long	 n;
	char			 prefix[80], key[160], ad[200], *sealed = NULL;
	json_t			*j = NULL, *old = NULL;
	int			 rc;

	free(a->id);
	free(a->match);
	a->id = a->match = NULL;
	a->updated = 0;
	snprintf(prefix, sizeof(prefix), "%s/", in->ws);
	if ((rc = store_scan(st, txn, SDB_CHANNELS, prefix, same_account, a)) !=
	    STORE_OK)
		return rc;
	if (a->match != NULL) {
		const char *idp = strrchr(a->match, '/') + 1;

		while (*idp == '0')
			idp++;
		a->id = strdup(idp);
		a->updated = 1;
		if (store_get_json(st, txn, SDB_CHANNELS, a->match, &old) !=
		    STORE_OK)
			old = NULL;
	} else {
		if ((rc = store_next_id(st, txn, "channel", &n)) != STORE_OK)
			return rc;
		if ((a->id = malloc(24)) != NULL)
			snprintf(a->id, 24, "%llu", n);
	}
	if (a->id == NULL) {
		rc = STORE_FAIL;
		goto out;
	}
	ad_of(in->ws, a->id, ad, sizeof(ad));
	if ((sealed = crypto_seal(a->key, ad, in->secret,
	    strlen(in->secret))) == NULL) {
		rc = STORE_FAIL;
		goto out;
	}
	/* A reconnect keeps the channel's id and first connection time. */
	j = json_pack("{s:s,s:s?,s:s,s:s,s:s,s:I,s:I,s:s}",
	    "mode", in->mode == CHAN_COOKIE ? "cookie" : "oauth",
	    "x_id", in->x_id, "handle", in->handle, "name", in->name,
	    "status", in->status,
	    "connected_at", (json_int_t)(old ? json_integer_value(
	    json_object_get(old, "connected_at")) : a->now),
	    "expires_at", (json_int_t)in->expires_at, "secret", sealed);
	if (j == NULL) {
		rc = STORE_FAIL;
		goto out;
	}
	if (old != NULL)
		json_object_set_new(j, "reconnected_at", json_integer(a->now));
	key_of(in->ws, a->id, key, sizeof(key));
	rc = store_put_json(st, txn, SDB_CHANNELS, key, j);
out:
	json_decref(j);
	json_decref(old);
	free(sealed);
	return rc;
}

int
channel_connect(struct store *st, const struct crypto_key *k,
    const struct channel_new *in, time_t now, char **id, int *updated)
{
	struct connect_arg	 a;
	int			 rc;

	memset(&a, 0, sizeof(a));
	a.key = k;
	a.in = in;
	a.now = now;
	*id = NULL;
	rc = store_txn(st, connect_txn, &a);
	free(a.match);
	if (rc != STORE_OK) {
		free(a.id);
		return rc;
	}
	*id = a.id;
	*updated = a.updated;
	return STORE_OK;
}

struct status_arg {
	const char	*ws;
	const char	*id;
	const char	*status;
};

static int
status_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct status_arg	*a = arg;
	char			 key[160];
	json_t			*j;
	int			 rc;

	key_of(a->ws, a->id, key, sizeof(key));
	if ((rc = store_get_json(st, txn, SDB_CHANNELS, key, &j)) != STORE_OK)
		return rc;
	if (json_object_set_new(j, "status", json_string(a->status)) != 0)
		rc = STORE_FAIL;
	else
		rc = store_put_json(st, txn, SDB_CHANNELS, key, j);
	json_decref(j);
	return rc;
}

int
channel_set_status(struct store *st, const char *ws, const char *id,
    const char *status)
{
	struct status_arg	 a = { ws, id, status };

	if (!channel_id_ok(id))
		return STORE_NOTFOUND;
	return store_txn(st, status_txn, &a);
}

static int
delete_txn(struct store *st, DB_TXN *txn, void *arg)
{
	return store_del(st, txn, SDB_CHANNELS, arg);
}

int
channel_delete(struct store *st, const char *ws, const char *id)
{
	char	 key[160];

	if (!channel_id_ok(id))
		return STORE_NOTFOUND;
	key_of(ws, id, key, sizeof(key));
	return store_txn(st, delete_txn, key);
}

char *
channel_secret(const struct crypto_key *k, const struct channel *c)
{
	char	 ad[200], *pt;
	size_t	 n;

	if (c->secret == NULL)
		return NULL;
	ad_of(c->ws, c->id, ad, sizeof(ad));
	return crypto_unseal(k, ad, c->secret, &pt, &n) == 0 ? pt : NULL;
}

json_t *
channel_json(const struct channel *c, time_t now)
{
	char	 at[TM_RFC3339_LEN], exp[TM_RFC3339_LEN];

	tm_rfc3339(c->connected_at, at);
	tm_rfc3339(c->expires_at, exp);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?}",
	    "id", c->id, "provider", "x",
	    "mode", c->mode == CHAN_COOKIE ? "cookie" : "oauth",
	    "handle", c->handle, "name", c->name,
	    "status", channel_status(c, now), "connected_at", at,
	    "expires_at", c->expires_at ? exp : NULL);
}
