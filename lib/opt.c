#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "valid.h"

/* The web app's bearer token: a URL-safe token, percent escapes allowed. */
static int
valid_bearer(const char *s, size_t len)
{
	return len >= 20 && len <= 300 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789%._~+/=-") == len;
}

/* A GraphQL queryId: it goes into a URL path. */
static int
valid_query_id(const char *s, size_t len)
{
	return len >= 8 && len <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* A price in US dollars: "0.015", at most 6 decimals, under 1000. */
static int
valid_price(const char *s, size_t len)
{
	const char	*dot = memchr(s, '.', len);

	return len >= 1 && len <= 10 && strspn(s, "0123456789.") == len &&
	    (dot == NULL || (memchr(dot + 1, '.', len - (size_t)(dot - s) - 1) ==
	    NULL && len - (size_t)(dot - s) - 1 <= 6 && dot != s)) &&
	    strtod(s, NULL) < 1000;
}

static const struct {
	const char	*key;
	valid_fn	 valid;
	int		 secret;
} known[] = {
	{ OPT_X_CLIENT_ID, valid_cred, 0 },
	{ OPT_X_CLIENT_SECRET, valid_cred, 1 },
	{ OPT_X_STATUS, valid_status, 0 },
	{ OPT_WEB_BEARER, valid_bearer, 0 },
	{ OPT_WEB_QUERY_ID, valid_query_id, 0 },
	{ OPT_PRICE_POST, valid_price, 0 },
	{ OPT_PRICE_POST_URL, valid_price, 0 },
	{ OPT_PRICE_USER_READ, valid_price, 0 },
};

static int
find(const char *key)
{
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].key, key) == 0)
			return (int)i;
	return -1;
}

int
opt_known(const char *key)
{
	return find(key) >= 0;
}

int
opt_secret(const char *key)
{
	int	 i = find(key);

	return i >= 0 && known[i].secret;
}

int
opt_get(struct store *st, DB_TXN *txn, const char *key, char **val)
{
	size_t	 len;

	return store_get(st, txn, SDB_OPTIONS, key, val, &len);
}

/* The associated data that binds a sealed option to its key. */
static void
ad_of(const char *key, char *ad, size_t n)
{
	snprintf(ad, n, "options/%s", key);
}

struct apply_arg {
	const struct opt_change	*ch;
	char			**vals;	/* what to store: sealed for secrets */
	size_t			 n;
};

static int
apply_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct apply_arg	*a = arg;
	size_t			 i;
	int			 rc;

	for (i = 0; i < a->n; i++) {
		if (a->vals[i] == NULL) {
			rc = store_del(st, txn, SDB_OPTIONS, a->ch[i].key);
			if (rc == STORE_NOTFOUND)
				rc = STORE_OK;
		} else
			rc = store_put(st, txn, SDB_OPTIONS, a->ch[i].key,
			    a->vals[i], strlen(a->vals[i]));
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

int
opt_apply(struct store *st, const struct crypto_key *k,
    const struct opt_change *ch, size_t n)
{
	struct apply_arg	 a = { ch, NULL, n };
	char			 ad[128];
	size_t			 i;
	int			 f, rc = STORE_ABORT;

	if ((a.vals = calloc(n ? n : 1, sizeof(char *))) == NULL)
		return STORE_FAIL;
	for (i = 0; i < n; i++) {
		if ((f = find(ch[i].key)) < 0)
			goto out;
		if (ch[i].val == NULL || *ch[i].val == '\0')
			continue;
		if (!known[f].valid(ch[i].val, strlen(ch[i].val)))
			goto out;
		if (known[f].secret) {
			ad_of(ch[i].key, ad, sizeof(ad));
			a.vals[i] = k ? crypto_seal(k, ad, ch[i].val,
			    strlen(ch[i].val)) : NULL;
		} else
			a.vals[i] = strdup(ch[i].val);
		if (a.vals[i] == NULL) {
			rc = STORE_FAIL;
			goto out;
		}
	}
	rc = store_txn(st, apply_txn, &a);
out:
	for (i = 0; i < n; i++)
		free(a.vals[i]);
	free(a.vals);
	return rc;
}

int
opt_set(struct store *st, const struct crypto_key *k, const char *key,
    const char *val)
{
	struct opt_change	 ch = { key, val };

	if (val == NULL || *val == '\0')
		return STORE_ABORT;
	return opt_apply(st, k, &ch, 1);
}

int
opt_unset(struct store *st, const char *key)
{
	struct opt_change	 ch = { key, NULL };

	return opt_apply(st, NULL, &ch, 1);
}

/*
 * A stored value counts when it is there and not empty: 1, else 0; -1
 * when the store could not say (a store that cannot be read is not one
 * without the value: the caller answers 503, never falls back).
 */
static int
present(struct store *st, const char *key, char **val)
{
	int	 rc;

	*val = NULL;
	if ((rc = opt_get(st, NULL, key, val)) == STORE_OK && **val != '\0')
		return 1;
	free(*val);
	*val = NULL;
	return rc == STORE_OK || rc == STORE_NOTFOUND ? 0 : -1;
}

char *
opt_get_or(struct store *st, const char *key, const char *dflt)
{
	char	*v;

	switch (present(st, key, &v)) {
	case 1:
		return v;
	case 0:
		return strdup(dflt);
	default:
		return NULL;
	}
}

int
opt_x_resolve(struct store *st, const struct cfg *c, struct xcreds *x)
{
	char	*v;
	int	 p;

	memset(x, 0, sizeof(*x));
	if ((p = present(st, OPT_X_CLIENT_ID, &v)) == 1) {
		x->client_id = v;
		x->id_src = SRC_PANEL;
	} else if (p == 0 && c->env_client_id) {
		if ((x->client_id = strdup(c->env_client_id)) == NULL)
			return STORE_FAIL;
		x->id_src = SRC_ENV;
	}
	if (p == -1 || (p = present(st, OPT_X_CLIENT_SECRET, &v)) == -1)
		goto fail;
	if (p == 1) {
		free(v);
		x->secret_src = SRC_PANEL;
	} else if (c->env_client_secret)
		x->secret_src = SRC_ENV;
	x->enabled = 1;
	if ((p = present(st, OPT_X_STATUS, &v)) == -1)
		goto fail;
	if (p == 1) {
		x->enabled = strcmp(v, "disable") != 0;
		free(v);
	}
	return STORE_OK;
fail:
	/* Unreadable is not "not configured": the caller answers 503. */
	xcreds_free(x);
	return STORE_FAIL;
}

void
xcreds_free(struct xcreds *x)
{
	free(x->client_id);
	memset(x, 0, sizeof(*x));
}

const char *
opt_x_refusal(const struct xcreds *x)
{
	if (!x->enabled)
		return "X (Twitter) integration disabled by admin";
	if (x->client_id == NULL || x->secret_src == SRC_NONE)
		return "Twitter integration disabled: client id/secret not configured";
	return NULL;
}

char *
opt_x_secret(struct store *st, const struct cfg *c, const struct crypto_key *k,
    const struct xcreds *x)
{
	char	 ad[128], *sealed, *pt = NULL;
	size_t	 n;

	if (x->secret_src == SRC_ENV)
		return c->env_client_secret ? strdup(c->env_client_secret) : NULL;
	if (x->secret_src != SRC_PANEL || k == NULL ||
	    opt_get(st, NULL, OPT_X_CLIENT_SECRET, &sealed) != STORE_OK)
		return NULL;
	ad_of(OPT_X_CLIENT_SECRET, ad, sizeof(ad));
	if (crypto_unseal(k, ad, sealed, &pt, &n) != 0)
		pt = NULL;
	free(sealed);
	return pt;
}

/* 0 when the stored secret (if any) opens under k. */
int
opt_verify(struct store *st, const struct crypto_key *k)
{
	char	 ad[128], *sealed, *pt;
	size_t	 n;
	int	 rc;

	if ((rc = opt_get(st, NULL, OPT_X_CLIENT_SECRET, &sealed)) ==
	    STORE_NOTFOUND)
		return 0;
	if (rc != STORE_OK)
		return -1;
	ad_of(OPT_X_CLIENT_SECRET, ad, sizeof(ad));
	rc = crypto_unseal(k, ad, sealed, &pt, &n);
	if (rc == 0)
		free(pt);
	free(sealed);
	return rc;
}
