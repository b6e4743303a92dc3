/*
 * usage: every call to X counted when it is made, per month, workspace,
 * channel and kind, and what it is estimated to cost on pay-per-use.
 *
 * Counters live in database "meta" under
 * "usage:<YYYY-MM>:<workspace>:<channel>:<kind>" ("-" where there is no
 * workspace or channel, e.g. the admin's live check), so a month is one
 * key range.  Prices are options with defaults from X's pricing page.
 */
#ifndef SB_USAGE_H
#define SB_USAGE_H

#include <time.h>

#include "store.h"

enum usage_kind {
	U_POST,		/* POST /2/tweets */
	U_POST_URL,	/* POST /2/tweets with a URL in the text */
	U_USER_READ,	/* GET /2/users/me */
	U_TOKEN,	/* POST /2/oauth2/token (connects, live checks) */
	U_REVOKE,	/* POST /2/oauth2/revoke */
	U_COOKIE_POST,	/* CreateTweet through the web endpoints */
	U_COOKIE_READ,	/* the web endpoints' account checks */
	U__MAX
};

/* When the default prices were taken from X's pricing page. */
#define USAGE_PRICES_DATE	"2026-11"

const char *usage_kind_name(enum usage_kind);
const char *usage_kind_label(enum usage_kind);

/* Count one call now; a failure to count is logged, never fatal. */
void	 usage_count(struct store *, time_t now, const char *ws,
	    const char *channel, enum usage_kind);

/* "2026-11" for now, or for the month before (prev). */
void	 usage_month(time_t now, int prev, char out[8]);

struct usage_row {
	char		 ws[72];
	char		 channel[24];
	long long	 n[U__MAX];
};

/* The counters of a month, one row per workspace and channel. */
int	 usage_rows(struct store *, const char *month, struct usage_row **,
	    size_t *n);

/* Prices in US dollars per call: the options, else the defaults. */
int	 usage_prices(struct store *, double price[U__MAX]);
double	 usage_cost(const struct usage_row *, const double price[U__MAX]);

/* A workspace's estimated spend this month. */
int	 usage_spent(struct store *, const char *ws, time_t now,
	    const double price[U__MAX], double *spent);

/* A workspace's monthly budget (dollars), 0 when none is set. */
int	 usage_budget_get(struct store *, const char *ws, double *budget);
int	 usage_budget_set(struct store *, const char *ws, double budget);

#endif
