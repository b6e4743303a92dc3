#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "opt.h"
#include "usage.h"

static const struct {
	const char	*name;
	const char	*label;
	const char	*option;	/* its price's option, or NULL: free */
	double		 price;		/* the default, from X's pricing page */
} kinds[U__MAX] = {
	[U_POST] = { "post", "Posts created", OPT_PRICE_POST, 0.015 },
	[U_POST_URL] = { "post_url", "Posts with a URL", OPT_PRICE_POST_URL,
	    0.200 },
	[U_USER_READ] = { "user_read", "User reads", OPT_PRICE_USER_READ,
	    0.010 },
	[U_TOKEN] = { "token", "Token calls", NULL, 0 },
	[U_REVOKE] = { "revoke", "Revokes", NULL, 0 },
	[U_COOKIE_POST] = { "cookie_post", "Cookie-mode posts", NULL, 0 },
	[U_COOKIE_READ] = { "cookie_read", "Cookie-mode checks", NULL, 0 },
};

const char *
usage_kind_name(enum usage_kind k)
{
	return kinds[k].name;
}

const char *
usage_kind_label(enum usage_kind k)
{
	return kinds[k].label;
}

void
usage_month(time_t now, int prev, char out[8])
{
	struct tm	 tm;

	gmtime_r(&now, &tm);
	if (prev && --tm.tm_mon < 0) {
		tm.tm_mon = 11;
		tm.tm_year--;
	}
	strftime(out, 8, "%Y-%m", &tm);
}

static int
incr_txn(struct store *st, DB_TXN *txn, void *arg)
{
	const char	*key = arg;
	char		*v = NULL, num[24];
	long long	 n = 0;
	int		 rc;

	rc = store_get(st, txn, SDB_META, key, &v, NULL);
	if (rc == STORE_OK)
		n = strtoll(v, NULL, 10);
	else if (rc != STORE_NOTFOUND)
		return rc;
	free(v);
	snprintf(num, sizeof(num), "%lld", n + 1);
	return store_put(st, txn, SDB_META, key, num, strlen(num));
}

void
usage_count(struct store *st, time_t now, const char *ws, const char *channel,
    enum usage_kind k)
{
	char	 month[8], key[200];

	usage_month(now, 0, month);
	snprintf(key, sizeof(key), "usage:%s:%s:%s:%s", month, ws ? ws : "-",
	    channel ? channel : "-", kinds[k].name);
	if (store_txn_nosync(st, incr_txn, key) != STORE_OK)
		fprintf(stderr, "sosyabot: usage: a call to X was not counted "
		    "(%s)\n", kinds[k].name);
}

struct rows_arg {
	struct usage_row	*rows;
	size_t			 n;
	int			 rc;
};

static int
row_one(const char *key, const char *val, size_t len, void *arg)
{
	struct rows_arg		*a = arg;
	struct usage_row	*r, *grown;
	char			 ws[72], ch[24], kind[24];
	size_t			 i;
	int			 k;

	(void)len;
	/* usage:YYYY-MM:<ws>:<channel>:<kind> */
	if (sscanf(key + 14, "%71[^:]:%23[^:]:%23s", ws, ch, kind) != 3)
		return 0;
	for (k = 0; k < U__MAX && strcmp(kinds[k].name, kind) != 0; k++)
		continue;
	if (k == U__MAX)
		return 0;
	for (i = 0, r = NULL; i < a->n && r == NULL; i++)
		if (strcmp(a->rows[i].ws, ws) == 0 &&
		    strcmp(a->rows[i].channel, ch) == 0)
			r = &a->rows[i];
	if (r == NULL) {
		if ((grown = realloc(a->rows, (a->n + 1) * sizeof(*grown))) ==
		    NULL) {
			a->rc = STORE_FAIL;
			return 1;
		}
		a->rows = grown;
		r = &a->rows[a->n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->ws, sizeof(r->ws), "%s", ws);
		snprintf(r->channel, sizeof(r->channel), "%s", ch);
	}
	r->n[k] += strtoll(val, NULL, 10);
	return 0;
}

int
usage_rows(struct store *st, const char *month, struct usage_row **rows,
    size_t *n)
{
	struct rows_arg	 a = { NULL, 0, STORE_OK };
	char		 prefix[24];
	int		 rc;

	snprintf(prefix, sizeof(prefix), "usage:%.7s:", month);
	rc = store_scan(st, NULL, SDB_META, prefix, row_one, &a);
	if (rc == STORE_OK)
		rc = a.rc;
	if (rc != STORE_OK) {
		free(a.rows);
		a.rows = NULL;
		a.n = 0;
	}
	*rows = a.rows;
	*n = a.n;
	return rc;
}

int
usage_prices(struct store *st, double price[U__MAX])
{
	char	*v;
	int	 k;

	for (k = 0; k < U__MAX; k++) {
		price[k] = kinds[k].price;
		if (kinds[k].option == NULL ||
		    opt_get(st, NULL, kinds[k].option, &v) != STORE_OK)
			continue;
		price[k] = strtod(v, NULL);
		free(v);
	}
	return STORE_OK;
}

double
usage_cost(const struct usage_row *r, const double price[U__MAX])
{
	double	 c = 0;
	int	 k;

	for (k = 0; k < U__MAX; k++)
		c += (double)r->n[k] * price[k];
	return c;
}

int
usage_spent(struct store *st, const char *ws, time_t now,
    const double price[U__MAX], double *spent)
{
	struct usage_row	*rows;
	char			 month[8];
	size_t			 n, i;
	int			 rc;

	*spent = 0;
	usage_month(now, 0, month);
	if ((rc = usage_rows(st, month, &rows, &n)) != STORE_OK)
		return rc;
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].ws, ws) == 0)
			*spent += usage_cost(&rows[i], price);
	free(rows);
	return STORE_OK;
}

int
usage_budget_get(struct store *st, const char *ws, double *budget)
{
	char	 key[96], *v;
	int	 rc;

	*budget = 0;
	snprintf(key, sizeof(key), "budget:%s", ws);
	if ((rc = store_get(st, NULL, SDB_META, key, &v, NULL)) ==
	    STORE_NOTFOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	*budget = strtod(v, NULL);
	free(v);
	return STORE_OK;
}

struct budget_arg {
	char	 key[96];
	char	 val[32];
};

static int
budget_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct budget_arg	*a = arg;
	int			 rc;

	if (a->val[0] == '\0') {
		rc = store_del(st, txn, SDB_META, a->key);
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	}
	return store_put(st, txn, SDB_META, a->key, a->val, strlen(a->val));
}

int
usage_budget_set(struct store *st, const char *ws, double budget)
{
	struct budget_arg	 a;

	snprintf(a.key, sizeof(a.key), "budget:%s", ws);
	if (budget > 0)
		snprintf(a.val, sizeof(a.val), "%.2f", budget);
	else
		a.val[0] = '\0';
	return store_txn(st, budget_txn, &a);
}
