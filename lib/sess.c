#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "sess.h"
#include "valid.h"

const char *
sess_cookie(const struct cfg *c)
{
	/* __Host- cookies must be Secure, so only under https. */
	return c->https ? "__Host-sid" : "sid";
}

const char *
sess_login_cookie(const struct cfg *c)
{
	return c->https ? "__Host-login" : "login";
}

static void
key_of(const char *id, char key[65])
{
	unsigned char	 h[32];
	size_t		 i;

	crypto_sha256(id, strlen(id), h);
	for (i = 0; i < 32; i++)
		snprintf(key + 2 * i, 3, "%02x", h[i]);
}

void
sess_free(struct sess *s)
{
	free(s->user);
	memset(s, 0, sizeof(*s));
}

int
sess_load(struct store *st, const char *id, time_t now, struct sess *s)
{
	json_t		*j = NULL;
	const char	*user;
	json_int_t	 created, seen;
	int		 rc;

	memset(s, 0, sizeof(*s));
	if (strlen(id) != SESS_TOKEN_LEN || !valid_token(id, SESS_TOKEN_LEN))
		return STORE_NOTFOUND;
	key_of(id, s->key);
	if ((rc = store_get_json(st, NULL, SDB_SESSIONS, s->key, &j)) != 0)
		return rc;
	if (json_unpack(j, "{s:s,s:I,s:I}", "user", &user, "created",
	    &created, "seen", &seen) != 0) {
		json_decref(j);
		return STORE_NOTFOUND;
	}
	s->user = strdup(user);
	s->created = (time_t)created;
	s->seen = (time_t)seen;
	json_decref(j);
	if (s->user == NULL)
		return STORE_FAIL;
	if (now - s->seen > SESS_IDLE || now - s->created > SESS_MAX) {
		sess_free(s);
		return STORE_NOTFOUND;
	}
	return STORE_OK;
}

struct create_arg {
	const char	*user;
	const char	*key;
	time_t		 now;
};

/* A session record that has expired, or cannot be read, goes. */
static int
expired(const char *val, size_t len, void *arg)
{
	time_t		 now = *(const time_t *)arg;
	json_int_t	 created, seen;
	json_t		*j = json_loadb(val, len, 0, NULL);
	int		 dead;

	dead = j == NULL || json_unpack(j, "{s:I,s:I}", "created", &created,
	    "seen", &seen) != 0 || now - seen > SESS_IDLE ||
	    now - created > SESS_MAX;
	json_decref(j);
	return dead;
}

static int
create_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct create_arg	*a = arg;
	json_t			*j;
	int			 rc;

	/* Sign-ins are rare enough to sweep out expired sessions here. */
	if ((rc = store_delete_if(st, txn, SDB_SESSIONS, expired, &a->now)) !=
	    STORE_OK)
		return rc;
	j = json_pack("{s:s,s:I,s:I}", "user", a->user, "created",
	    (json_int_t)a->now, "seen", (json_int_t)a->now);
	rc = j ? store_put_json(st, txn, SDB_SESSIONS, a->key, j) : STORE_FAIL;
	json_decref(j);
	return rc;
}

int
sess_create(struct store *st, const char *user, time_t now, char **id,
    struct sess *s)
{
	struct create_arg	 a;
	int			 rc;

	memset(s, 0, sizeof(*s));
	if ((*id = crypto_token(32)) == NULL)
		return STORE_FAIL;
	key_of(*id, s->key);
	a.user = user;
	a.key = s->key;
	a.now = now;
	if ((rc = store_txn(st, create_txn, &a)) != STORE_OK) {
		free(*id);
		*id = NULL;
		return rc;
	}
	s->user = strdup(user);
	s->created = s->seen = now;
	return s->user ? STORE_OK : STORE_FAIL;
}

static int
delete_txn(struct store *st, DB_TXN *txn, void *arg)
{
	int	 rc = store_del(st, txn, SDB_SESSIONS, arg);

	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

int
sess_delete(struct store *st, const char *key)
{
	return store_txn(st, delete_txn, (void *)key);
}

struct touch_arg {
	const char	*key;
	time_t		 now;
};

static int
touch_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct touch_arg	*a = arg;
	json_t			*j;
	int			 rc;

	if ((rc = store_get_json(st, txn, SDB_SESSIONS, a->key, &j)) != 0)
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	if (json_object_set_new(j, "seen", json_integer(a->now)) != 0)
		rc = STORE_FAIL;
	else
		rc = store_put_json(st, txn, SDB_SESSIONS, a->key, j);
	json_decref(j);
	return rc;
}

int
sess_touch(struct store *st, const char *key, time_t now)
{
	struct touch_arg	 a = { key, now };

	return store_txn(st, touch_txn, &a);
}

void
sess_csrf(const char *id, char out[SESS_TOKEN_LEN + 1])
{
	struct buf	 b = { 0 };
	unsigned char	 h[32];
	char		*t;

	buf_adds(&b, "csrf:");
	buf_adds(&b, id);
	crypto_sha256(buf_str(&b), b.len, h);
	buf_free(&b);
	out[0] = '\0';
	if ((t = b64url_encode(h, sizeof(h))) != NULL) {
		snprintf(out, SESS_TOKEN_LEN + 1, "%s", t);
		free(t);
	}
}

int
sess_csrf_ok(const char *expected, const char *given)
{
	size_t	 n = strlen(expected);

	return given != NULL && n > 0 && strlen(given) == n &&
	    crypto_equal(expected, given, n);
}

char *
sess_cookie_value(const struct cfg *c, const char *name, const char *value,
    long max_age)
{
	struct buf	 b = { 0 };

	buf_addf(&b, "%s=%s; Path=/; HttpOnly; SameSite=Lax", name, value);
	if (c->https)
		buf_adds(&b, "; Secure");
	if (max_age >= 0)
		buf_addf(&b, "; Max-Age=%ld", max_age);
	return buf_detach(&b);
}
