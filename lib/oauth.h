/*
 * oauth: the bookkeeping of an OAuth 2.0 authorization-code flow with
 * PKCE (S256 only) against X.
 *
 * A state is 32 random bytes, single use, bound to the session that
 * started it and good for OAUTH_STATE_TTL seconds; the store keeps only
 * its SHA-256.  The PKCE verifier is never stored: it is a MAC of the
 * state under the master key, derived again at the callback.
 */
#ifndef SB_OAUTH_H
#define SB_OAUTH_H

#include <time.h>

#include "cfg.h"
#include "crypto.h"
#include "store.h"

#define OAUTH_STATE_TTL	600
#define OAUTH_SCOPES	"tweet.read tweet.write users.read"

/*
 * Store a new state for the session (sess_key, user, workspace) and
 * build the consent URL to redirect to.  *url is malloc'd.
 */
int	 oauth_start(struct store *, const struct crypto_key *,
	    const struct cfg *, const char *client_id, const char *sess_key,
	    time_t now, char **url);

enum oauth_take {
	TAKE_OK,
	TAKE_UNKNOWN,		/* never issued, or already used */
	TAKE_EXPIRED,
	TAKE_OTHER_SESSION,	/* issued to another session */
	TAKE_FAIL		/* the store could not be used */
};

/*
 * Read and delete the state in one transaction, whatever it says, so
 * that it can never be used twice.
 */
enum oauth_take oauth_take(struct store *, const char *state,
	    const char *sess_key, time_t now);

/* The PKCE verifier of a state (43 characters), malloc'd. */
char	*oauth_verifier(const struct crypto_key *, const char *state);

#endif
