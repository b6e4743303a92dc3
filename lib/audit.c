#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "tm.h"

#define REV	999999999999LL	/* keys count down: newest first */

struct add_arg {
	json_t	*rec;
	time_t	 now;
};

static int
add_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct add_arg		*a = arg;
	unsigned long long	 seq;
	char			 key[64];
	int			 rc;

	if ((rc = store_next_id(st, txn, "audit", &seq)) != STORE_OK)
		return rc;
	snprintf(key, sizeof(key), "%012lld/%012lld", REV - (long long)a->now,
	    REV - (long long)seq);
	return store_put_json(st, txn, SDB_AUDIT, key, a->rec);
}

int
audit_add(struct store *st, time_t now, const char *who, const char *ws,
    const char *addr, const char *kind, const char *what)
{
	struct add_arg	 a;
	int		 rc;

	a.now = now;
	a.rec = json_pack("{s:s?,s:s?,s:s?,s:s,s:s}", "who", who, "ws", ws,
	    "addr", addr, "kind", kind, "what", what);
	if (a.rec == NULL)
		return STORE_FAIL;
	/* Durable with the write it reports, or at store_close(). */
	rc = store_txn_nosync(st, add_txn, &a);
	json_decref(a.rec);
	return rc;
}

int
audit_key_ok(const char *s)
{
	return s != NULL && strlen(s) == 25 && s[12] == '/' &&
	    strspn(s, "0123456789") == 12 && strspn(s + 13, "0123456789") == 12;
}

static time_t
key_time(const char *key)
{
	return (time_t)(REV - strtoll(key, NULL, 10));
}

static int
matches(const struct audit_filter *f, json_t *rec)
{
	const char	*v;
	size_t		 n;

	if (f->who && ((v = json_string_value(json_object_get(rec, "who"))) ==
	    NULL || strcmp(v, f->who) != 0))
		return 0;
	if (f->ws && ((v = json_string_value(json_object_get(rec, "ws"))) ==
	    NULL || strcmp(v, f->ws) != 0))
		return 0;
	if (f->kind && *f->kind) {
		v = json_string_value(json_object_get(rec, "kind"));
		n = strlen(f->kind);
		if (v == NULL || (f->kind[n - 1] == '.' ?
		    strncmp(v, f->kind, n) != 0 : strcmp(v, f->kind) != 0))
			return 0;
	}
	return 1;
}

struct each_arg {
	const struct audit_filter *f;
	const char	*before;
	size_t		 limit, given;
	int		(*fn)(json_t *, void *);
	void		*arg;
	char		**last;
	int		 rc;
};

static int
each_one(const char *key, const char *val, size_t len, void *arg)
{
	struct each_arg	*a = arg;
	char		 tm[TM_RFC3339_LEN];
	json_t		*rec;
	time_t		 t = key_time(key);
	int		 stop = 0;

	if (a->before && strcmp(key, a->before) <= 0)
		return 0;
	if (a->f->to != 0 && t > a->f->to)
		return 0;
	if (a->f->from != 0 && t < a->f->from)
		return 1;
	if ((rec = json_loadb(val, len, 0, NULL)) == NULL)
		return 0;
	tm_rfc3339(t, tm);
	json_object_set_new(rec, "at", json_string(tm));
	if (matches(a->f, rec)) {
		free(*a->last);
		if ((*a->last = strdup(key)) == NULL)
			a->rc = STORE_FAIL;
		stop = a->fn(rec, a->arg) != 0 || ++a->given >= a->limit ||
		    a->rc != STORE_OK;
	}
	json_decref(rec);
	return stop;
}

int
audit_each(struct store *st, const struct audit_filter *f, const char *before,
    size_t limit, int (*fn)(json_t *, void *), void *arg, char **last)
{
	struct each_arg	 a = { f, before, limit, 0, fn, arg, last, STORE_OK };
	int		 rc;

	*last = NULL;
	if (limit == 0)
		return STORE_OK;
	rc = store_scan(st, NULL, SDB_AUDIT, "", each_one, &a);
	return rc != STORE_OK ? rc : a.rc;
}

struct purge_arg {
	time_t		 cutoff;
	struct buf	 keys;
};

static int
old_key(const char *key, const char *val, size_t len, void *arg)
{
	struct purge_arg	*a = arg;

	(void)val;
	(void)len;
	if (key_time(key) < a->cutoff)
		buf_add(&a->keys, key, strlen(key) + 1);
	return 0;
}

struct purge_txn_arg {
	struct purge_arg	*p;
	char			 today[24];
	size_t			 n;
};

static int
purge_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct purge_txn_arg	*a = arg;
	size_t			 off;
	int			 rc;

	a->n = 0;
	for (off = 0; off < a->p->keys.len;
	    off += strlen(a->p->keys.p + off) + 1) {
		rc = store_del(st, txn, SDB_AUDIT, a->p->keys.p + off);
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return rc;
		a->n += rc == STORE_OK;
	}
	return store_put(st, txn, SDB_META, "audit:purged", a->today,
	    strlen(a->today));
}

int
audit_purge(struct store *st, time_t now, size_t *n)
{
	struct purge_arg	 p = { now - (time_t)AUDIT_KEEP_DAYS * 86400,
	    { 0 } };
	struct purge_txn_arg	 a;
	char			*done = NULL;
	int			 rc;

	*n = 0;
	a.p = &p;
	snprintf(a.today, sizeof(a.today), "%lld", (long long)(now / 86400));
	if (store_get(st, NULL, SDB_META, "audit:purged", &done, NULL) ==
	    STORE_OK && strcmp(done, a.today) == 0) {
		free(done);
		return STORE_OK;
	}
	free(done);
	/* The oldest records are at the end of the key order. */
	if ((rc = store_scan(st, NULL, SDB_AUDIT, "", old_key, &p)) == STORE_OK)
		rc = buf_ok(&p.keys) ? store_txn(st, purge_txn, &a) : STORE_FAIL;
	buf_free(&p.keys);
	*n = rc == STORE_OK ? a.n : 0;
	return rc;
}
