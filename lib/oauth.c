#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "oauth.h"
#include "xhttp.h"

char *
oauth_verifier(const struct crypto_key *k, const char *state)
{
	unsigned char	 mac[32];

	crypto_key_mac(k, "oauth-pkce-verifier", state, mac);
	return b64url_encode(mac, sizeof(mac));
}

struct start_arg {
	const char	*key;
	const char	*sess_key;
	time_t		 now;
};

static int
expired(const char *val, size_t len, void *arg)
{
	time_t		 now = *(const time_t *)arg;
	json_int_t	 exp;
	json_t		*j = json_loadb(val, len, 0, NULL);
	int		 dead;

	dead = j == NULL || json_unpack(j, "{s:I}", "expires", &exp) != 0 ||
	    exp <= now;
	json_decref(j);
	return dead;
}

static int
start_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct start_arg	*a = arg;
	json_t			*j;
	int			 rc;

	/* Abandoned flows leave states behind; each start sweeps them. */
	if ((rc = store_delete_if(st, txn, SDB_STATES, expired, &a->now)) !=
	    STORE_OK)
		return rc;
	j = json_pack("{s:s,s:I}", "sess", a->sess_key, "expires",
	    (json_int_t)(a->now + OAUTH_STATE_TTL));
	rc = j ? store_put_json(st, txn, SDB_STATES, a->key, j) : STORE_FAIL;
	json_decref(j);
	return rc;
}

int
oauth_start(struct store *st, const struct crypto_key *k, const struct cfg *c,
    const char *client_id, const char *sess_key, time_t now, char **url)
{
	struct start_arg	 a;
	struct buf		 u = { 0 };
	char			*state, *verifier = NULL, *challenge = NULL;
	char			*key = NULL;
	int			 rc = STORE_FAIL;

	*url = NULL;
	if ((state = crypto_token(32)) == NULL ||
	    (key = crypto_sha256_hex(state, strlen(state))) == NULL ||
	    (verifier = oauth_verifier(k, state)) == NULL ||
	    (challenge = crypto_pkce_challenge(verifier)) == NULL)
		goto out;
	a.key = key;
	a.sess_key = sess_key;
	a.now = now;
	if ((rc = store_txn(st, start_txn, &a)) != STORE_OK)
		goto out;
	buf_adds(&u, c->x_authorize);
	buf_adds(&u, strchr(c->x_authorize, '?') ? "&" : "?");
	buf_adds(&u, "response_type=code&client_id=");
	xhttp_urlenc(&u, client_id);
	buf_adds(&u, "&redirect_uri=");
	xhttp_urlenc(&u, c->callback_url);
	buf_adds(&u, "&scope=");
	xhttp_urlenc(&u, OAUTH_SCOPES);
	buf_adds(&u, "&state=");
	buf_adds(&u, state);
	buf_adds(&u, "&code_challenge=");
	buf_adds(&u, challenge);
	buf_adds(&u, "&code_challenge_method=S256");
	if ((*url = buf_detach(&u)) == NULL)
		rc = STORE_FAIL;
out:
	buf_free(&u);
	free(state);
	free(key);
	free(verifier);
	free(challenge);
	return rc;
}

struct take_arg {
	const char	*key;
	const char	*sess_key;
	time_t		 now;
	enum oauth_take	 res;
};

static int
take_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct take_arg	*a = arg;
	json_t		*j;
	const char	*sess;
	json_int_t	 exp;
	int		 rc;

	if ((rc = store_get_json(st, txn, SDB_STATES, a->key, &j)) ==
	    STORE_NOTFOUND) {
		a->res = TAKE_UNKNOWN;
		return STORE_OK;
	}
	if (rc != STORE_OK)
		return rc;
	if (json_unpack(j, "{s:s,s:I}", "sess", &sess, "expires", &exp) != 0)
		a->res = TAKE_UNKNOWN;
	else if (exp <= a->now)
		a->res = TAKE_EXPIRED;
	else if (strcmp(sess, a->sess_key) != 0)
		a->res = TAKE_OTHER_SESSION;
	else
		a->res = TAKE_OK;
	json_decref(j);
	return store_del(st, txn, SDB_STATES, a->key);
}

enum oauth_take
oauth_take(struct store *st, const char *state, const char *sess_key,
    time_t now)
{
	struct take_arg	 a;
	char		*key;

	if ((key = crypto_sha256_hex(state, strlen(state))) == NULL)
		return TAKE_FAIL;
	a.key = key;
	a.sess_key = sess_key;
	a.now = now;
	a.res = TAKE_FAIL;
	if (store_txn(st, take_txn, &a) != STORE_OK)
		a.res = TAKE_FAIL;
	free(key);
	return a.res;
}
