/*
 * opt: instance options (database "options") and the X credentials
 * resolved from them.
 *
 * Resolution, per value, on every request: the admin panel's value when
 * non-empty, else the environment's.  The secret is sealed at rest under
 * the associated data "options/<key>" and unsealed only when it is about
 * to be sent to X (opt_x_secret), so pages that only show whether it is
 * set never touch libcrypto.
 */
#ifndef SB_OPT_H
#define SB_OPT_H

#include "cfg.h"
#include "crypto.h"
#include "store.h"

#define OPT_X_CLIENT_ID		"x-twitter_client-id"
#define OPT_X_CLIENT_SECRET	"x-twitter_client-secret"
#define OPT_X_STATUS		"x-twitter_integration_status"
#define OPT_WEB_BEARER		"x-twitter_web-bearer"
#define OPT_WEB_QUERY_ID	"x-twitter_web-createtweet-queryid"
#define OPT_PRICE_POST		"x-twitter_price-post"
#define OPT_PRICE_POST_URL	"x-twitter_price-post-url"
#define OPT_PRICE_USER_READ	"x-twitter_price-user-read"

/*
 * Cookie connect's defaults: the public bearer token X's web app ships
 * (twikit's constants.py TOKEN) and a CreateTweet queryId seen in 2026.
 * Both rotate without notice, hence options an admin can change.
 */
#define OPT_WEB_BEARER_DEFAULT	"AAAAAAAAAAAAAAAAAAAAANRILgAAAAAAnNwIzUejRCOuH5E6I8xnZz4puTs%3D1Zv7ttfk8LF81IUq16cHjhLTvJu4FA33AGWWjCpTnA"
#define OPT_WEB_QUERY_ID_DEFAULT "SiM_cAu83R0wnrpmKQQSEw"

enum opt_source { SRC_NONE, SRC_PANEL, SRC_ENV };

/* Whether KEY is one opt_set knows, and whether it is sealed. */
int	 opt_known(const char *key);
int	 opt_secret(const char *key);

/* Raw stored value (sealed for secrets); STORE_NOTFOUND when unset. */
int	 opt_get(struct store *, DB_TXN *, const char *key, char **val);
/* One change: val NULL (or "") removes the key. */
struct opt_change {
	const char	*key;
	const char	*val;
};

/*
 * Validate every change, seal secrets, and apply them all in one
 * transaction (all or nothing).  STORE_ABORT on an unknown key or an
 * invalid value, with nothing written.
 */
int	 opt_apply(struct store *, const struct crypto_key *,
	    const struct opt_change *, size_t n);
int	 opt_set(struct store *, const struct crypto_key *, const char *key,
	    const char *val);
int	 opt_unset(struct store *, const char *key);

struct xcreds {
	char		*client_id;	/* resolved, or NULL */
	enum opt_source	 id_src;
	enum opt_source	 secret_src;	/* where the secret would come from */
	int		 enabled;	/* status is not "disable" */
};

/* Resolve without unsealing anything.  Free with xcreds_free. */
int	 opt_x_resolve(struct store *, const struct cfg *, struct xcreds *);
void	 xcreds_free(struct xcreds *);

/* "Twitter integration disabled: ..." when X cannot be used, else NULL. */
const char *opt_x_refusal(const struct xcreds *);

/*
 * An option's stored value, or dflt when it is unset or empty: malloc'd,
 * NULL only when out of memory.
 */
char	*opt_get_or(struct store *, const char *key, const char *dflt);

/* Unseal (or take from ENV) the resolved secret: malloc'd, or NULL. */
char	*opt_x_secret(struct store *, const struct cfg *,
	    const struct crypto_key *, const struct xcreds *);

/* 0 when every sealed option opens under the key, -1 otherwise. */
int	 opt_verify(struct store *, const struct crypto_key *);

#endif
