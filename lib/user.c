#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pw.h"
#include "user.h"
#include "valid.h"

int
user_name_ok(const char *s)
{
	return s != NULL && valid_name(s, strlen(s));
}

int
workspace_name_ok(const char *s)
{
	return user_name_ok(s);
}

int
user_password_ok(const char *s)
{
	return s != NULL && strlen(s) >= 8 && valid_password(s, strlen(s));
}

static const char *
role_name(enum user_role r)
{
	return r == ROLE_ADMIN ? "admin" : "member";
}

static int
ws_txn(struct store *st, DB_TXN *txn, const char *name)
{
	char	 rec[64];
	int	 rc;

	snprintf(rec, sizeof(rec), "{\"created\":%lld}", (long long)time(NULL));
	rc = store_put_new(st, txn, SDB_WORKSPACES, name, rec, strlen(rec));
	return rc == STORE_EXISTS ? STORE_OK : rc;
}

struct add_arg {
	const char	*name;
	const char	*ws;
	enum user_role	 role;
	const char	*hash;
};

static int
add_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct add_arg	*a = arg;
	json_t		*j;
	char		*s;
	int		 rc;

	if ((rc = ws_txn(st, txn, a->ws)) != STORE_OK)
		return rc;
	j = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I}", "ws", a->ws, "role",
	    role_name(a->role), "pw", a->hash, "fails", 0, "lock_until",
	    (json_int_t)0, "created", (json_int_t)time(NULL));
	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return STORE_FAIL;
	}
	rc = store_put_new(st, txn, SDB_USERS, a->name, s, strlen(s));
	free(s);
	json_decref(j);
	return rc;
}

int
user_add(struct store *st, const char *name, const char *ws,
    enum user_role role, const char *password)
{
	struct add_arg	 a = { name, ws, role, NULL };
	char		*hash;
	int		 rc;

	if (!user_name_ok(name) || !workspace_name_ok(ws) ||
	    !user_password_ok(password))
		return STORE_ABORT;
	/* Hash outside the transaction: it takes a third of a second. */
	if ((hash = pw_hash(password)) == NULL)
		return STORE_FAIL;
	a.hash = hash;
	rc = store_txn(st, add_txn, &a);
	free(hash);
	return rc;
}

struct passwd_arg {
	const char	*name;
	const char	*hash;
};

static int
passwd_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct passwd_arg	*a = arg;
	json_t			*j;
	int			 rc;

	if ((rc = store_get_json(st, txn, SDB_USERS, a->name, &j)) != 0)
		return rc;
	if (json_object_set_new(j, "pw", json_string(a->hash)) != 0 ||
	    json_object_set_new(j, "fails", json_integer(0)) != 0 ||
	    json_object_set_new(j, "lock_until", json_integer(0)) != 0)
		rc = STORE_FAIL;
	else
		rc = store_put_json(st, txn, SDB_USERS, a->name, j);
	json_decref(j);
	return rc;
}

int
user_passwd(struct store *st, const char *name, const char *password)
{
	struct passwd_arg	 a = { name, NULL };
	char			*hash;
	int			 rc;

	if (!user_password_ok(password))
		return STORE_ABORT;
	if ((hash = pw_hash(password)) == NULL)
		return STORE_FAIL;
	a.hash = hash;
	rc = store_txn(st, passwd_txn, &a);
	free(hash);
	return rc;
}

static int
del_txn(struct store *st, DB_TXN *txn, void *arg)
{
	return store_del(st, txn, SDB_USERS, arg);
}

int
user_del(struct store *st, const char *name)
{
	return store_txn(st, del_txn, (void *)name);
}

static int
from_json(const char *name, json_t *j, struct user *u)
{
	const char	*ws, *role;

	memset(u, 0, sizeof(*u));
	if (json_unpack(j, "{s:s,s:s}", "ws", &ws, "role", &role) != 0)
		return STORE_FAIL;
	u->name = strdup(name);
	u->workspace = strdup(ws);
	u->role = strcmp(role, "admin") == 0 ? ROLE_ADMIN : ROLE_MEMBER;
	if (u->name == NULL || u->workspace == NULL) {
		user_free(u);
		return STORE_FAIL;
	}
	return STORE_OK;
}

int
user_get(struct store *st, const char *name, struct user *u)
{
	json_t	*j;
	int	 rc;

	memset(u, 0, sizeof(*u));
	if ((rc = store_get_json(st, NULL, SDB_USERS, name, &j)) != 0)
		return rc;
	rc = from_json(name, j, u);
	json_decref(j);
	return rc;
}

void
user_free(struct user *u)
{
	free(u->name);
	free(u->workspace);
	memset(u, 0, sizeof(*u));
}

struct each_arg {
	void	(*fn)(const struct user *, void *);
	void	*arg;
};

static int
each_user(const char *key, const char *val, size_t len, void *arg)
{
	struct each_arg	*a = arg;
	struct user	 u;
	json_t		*j;

	if ((j = json_loadb(val, len, 0, NULL)) != NULL &&
	    from_json(key, j, &u) == STORE_OK) {
		a->fn(&u, a->arg);
		user_free(&u);
	}
	json_decref(j);
	return 0;
}

int
user_each(struct store *st, void (*fn)(const struct user *, void *), void *arg)
{
	struct each_arg	 a = { fn, arg };

	return store_scan(st, NULL, SDB_USERS, "", each_user, &a);
}

struct auth_arg {
	const char	*name;
	const char	*password;
	time_t		 now;
	enum auth_result res;
	long		 retry_after;
	json_t		*rec;
};

/*
 * The lock doubles with each failure past the limit: 30 s, 60 s, 120 s...
 */
static long
lock_for(long fails)
{
	long	 t = USER_LOCK_BASE;

	for (fails -= USER_LOCK_AFTER; fails > 0 && t < USER_LOCK_MAX; fails--)
		t *= 2;
	return t < USER_LOCK_MAX ? t : USER_LOCK_MAX;
}

static int
auth_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct auth_arg	*a = arg;
	const char	*hash;
	json_int_t	 fails, lock_until;
	json_t		*j;
	int		 rc, ok;

	json_decref(a->rec);
	a->rec = NULL;
	rc = store_get_json(st, txn, SDB_USERS, a->name, &j);
	if (rc == STORE_NOTFOUND) {
		pw_dummy(a->password);
		a->res = AUTH_BAD;
		return STORE_OK;
	}
	if (rc != STORE_OK)
		return rc;
	if (json_unpack(j, "{s:s,s:I,s:I}", "pw", &hash, "fails", &fails,
	    "lock_until", &lock_until) != 0) {
		json_decref(j);
		return STORE_FAIL;
	}
	if (lock_until > a->now) {
		/* Locked: refuse without looking at the password. */
		a->res = AUTH_LOCKED;
		a->retry_after = (long)(lock_until - a->now);
		json_decref(j);
		return STORE_OK;
	}
	if ((ok = pw_verify(a->password, hash)) < 0) {
		json_decref(j);
		return STORE_FAIL;
	}
	if (ok) {
		fails = 0;
		lock_until = 0;
		a->res = AUTH_OK;
	} else {
		fails++;
		a->res = AUTH_BAD;
		if (fails >= USER_LOCK_AFTER) {
			a->retry_after = lock_for((long)fails);
			lock_until = a->now + a->retry_after;
			a->res = AUTH_LOCKED;
		}
	}
	if (json_object_set_new(j, "fails", json_integer(fails)) != 0 ||
	    json_object_set_new(j, "lock_until", json_integer(lock_until)) != 0)
		rc = STORE_FAIL;
	else
		rc = store_put_json(st, txn, SDB_USERS, a->name, j);
	if (rc == STORE_OK)
		a->rec = j;
	else
		json_decref(j);
	return rc;
}

enum auth_result
user_auth(struct store *st, const char *name, const char *password,
    time_t now, struct user *u, long *retry_after)
{
	struct auth_arg	 a;

	memset(u, 0, sizeof(*u));
	memset(&a, 0, sizeof(a));
	*retry_after = 0;
	if (!user_name_ok(name)) {
		pw_dummy(password);
		return AUTH_BAD;
	}
	a.name = name;
	a.password = password;
	a.now = now;
	/*
	 * The password check runs inside the transaction, so that two
	 * concurrent guesses cannot both read the same failure count.
	 */
	if (store_txn(st, auth_txn, &a) != STORE_OK) {
		json_decref(a.rec);
		return AUTH_FAIL;
	}
	*retry_after = a.retry_after;
	if (a.res == AUTH_OK && from_json(name, a.rec, u) != STORE_OK)
		a.res = AUTH_FAIL;
	json_decref(a.rec);
	return a.res;
}

static int
wsadd_txn(struct store *st, DB_TXN *txn, void *arg)
{
	return ws_txn(st, txn, arg);
}

int
workspace_add(struct store *st, const char *name)
{
	if (!workspace_name_ok(name))
		return STORE_ABORT;
	return store_txn(st, wsadd_txn, (void *)name);
}

struct wseach_arg {
	void	(*fn)(const char *, void *);
	void	*arg;
};

static int
each_ws(const char *key, const char *val, size_t len, void *arg)
{
	struct wseach_arg *a = arg;

	(void)val;
	(void)len;
	a->fn(key, a->arg);
	return 0;
}

int
workspace_each(struct store *st, void (*fn)(const char *, void *), void *arg)
{
	struct wseach_arg a = { fn, arg };

	return store_scan(st, NULL, SDB_WORKSPACES, "", each_ws, &a);
}
