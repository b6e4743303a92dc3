#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "post.h"
#include "tm.h"
#include "valid.h"

#define MAX_ID	9999999999999999999ULL	/* 19 digits: keys sort newest first */

int
post_id_ok(const char *id)
{
	return id != NULL && valid_uint(id, strlen(id)) && id[0] != '0';
}

static void
key_of(const char *ws, const char *id, char *key, size_t n)
{
	snprintf(key, n, "%s/%019llu", ws, MAX_ID - strtoull(id, NULL, 10));
}

static time_t
num(json_t *o, const char *name)
{
	return (time_t)json_integer_value(json_object_get(o, name));
}

static char *
str(json_t *o, const char *name)
{
	const char	*s = json_string_value(json_object_get(o, name));

	return s ? strdup(s) : NULL;
}

void
post_free(struct post *p)
{
	size_t	 i;

	for (i = 0; i < p->nd; i++) {
		free(p->d[i].channel);
		free(p->d[i].handle);
		free(p->d[i].state);
		free(p->d[i].x_id);
		free(p->d[i].reason);
	}
	free(p->d);
	free(p->id);
	free(p->ws);
	free(p->text);
	free(p->by);
	memset(p, 0, sizeof(*p));
}

void
post_list_free(struct post *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		post_free(&p[i]);
	free(p);
}

static int
from_json(const char *ws, const char *id, json_t *j, struct post *p)
{
	json_t	*arr, *d;
	size_t	 i;

	memset(p, 0, sizeof(*p));
	arr = json_object_get(j, "deliveries");
	if (!json_is_array(arr))
		return STORE_FAIL;
	p->id = strdup(id);
	p->ws = strdup(ws);
	p->text = str(j, "text");
	p->by = str(j, "by");
	p->created_at = num(j, "created_at");
	p->scheduled_at = num(j, "scheduled_at");
	if ((p->d = calloc(json_array_size(arr) + 1, sizeof(*p->d))) == NULL)
		goto fail;
	json_array_foreach(arr, i, d) {
		struct delivery *x = &p->d[p->nd++];

		x->channel = str(d, "channel");
		x->handle = str(d, "handle");
		x->state = str(d, "state");
		x->x_id = str(d, "x_id");
		x->reason = str(d, "reason");
		x->retry_at = num(d, "retry_at");
		x->updated_at = num(d, "updated_at");
		if (x->channel == NULL || x->state == NULL || x->handle == NULL)
			goto fail;
	}
	if (p->id && p->ws && p->text && p->by)
		return STORE_OK;
fail:
	post_free(p);
	return STORE_FAIL;
}

/* The earliest time something of the post needs the scheduler; 0: none. */
static time_t
next_due(json_t *j)
{
	json_t		*d;
	const char	*st;
	time_t		 t, best = 0;
	size_t		 i;

	json_array_foreach(json_object_get(j, "deliveries"), i, d) {
		st = json_string_value(json_object_get(d, "state"));
		if (st == NULL)
			continue;
		if (strcmp(st, "scheduled") == 0)
			t = num(j, "scheduled_at");
		else if (strcmp(st, "rate_limited") == 0)
			t = num(d, "retry_at");
		else if (strcmp(st, "sending") == 0)
			t = num(d, "updated_at") + POST_STALE_SENDING;
		else
			continue;
		if (best == 0 || t < best)
			best = t;
	}
	return best;
}

/*
 * Write a post record and keep its one due entry in step with it: the
 * old entry (named in the record) goes, the new one comes.
 */
static int
put_post(struct store *st, DB_TXN *txn, const char *ws, const char *id,
    json_t *j)
{
	char		 key[160], due[200];
	const char	*old;
	time_t		 t;
	int		 rc;

	if ((old = json_string_value(json_object_get(j, "due"))) != NULL &&
	    (rc = store_del(st, txn, SDB_DUE, old)) != STORE_OK &&
	    rc != STORE_NOTFOUND)
		return rc;
	if ((t = next_due(j)) != 0) {
		snprintf(due, sizeof(due), "%012lld/%s/%s", (long long)t, ws, id);
		if (json_object_set_new(j, "due", json_string(due)) != 0)
			return STORE_FAIL;
		if ((rc = store_put(st, txn, SDB_DUE, due, "", 0)) != STORE_OK)
			return rc;
	} else
		json_object_del(j, "due");
	key_of(ws, id, key, sizeof(key));
	return store_put_json(st, txn, SDB_POSTS, key, j);
}

struct create_arg {
	const char		*ws, *by, *text;
	const struct post_target *t;
	size_t			 n;
	time_t			 scheduled_at, now;
	char			 id[24];
};

static int
create_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct create_arg	*a = arg;
	unsigned long long	 n;
	json_t			*j, *arr;
	size_t			 i;
	int			 rc;

	if ((rc = store_next_id(st, txn, "post", &n)) != STORE_OK)
		return rc;
	snprintf(a->id, sizeof(a->id), "%llu", n);
	if ((arr = json_array()) == NULL)
		return STORE_FAIL;
	for (i = 0; i < a->n; i++)
		if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I}",
		    "channel", a->t[i].channel, "handle", a->t[i].handle,
		    "state", a->scheduled_at ? "scheduled" : "sending",
		    "updated_at", (json_int_t)a->now)) != 0) {
			json_decref(arr);
			return STORE_FAIL;
		}
	j = json_pack("{s:s,s:s,s:I,s:I,s:o}", "text", a->text, "by", a->by,
	    "created_at", (json_int_t)a->now, "scheduled_at",
	    (json_int_t)a->scheduled_at, "deliveries", arr);
	if (j == NULL)
		return STORE_FAIL;
	rc = put_post(st, txn, a->ws, a->id, j);
	json_decref(j);
	return rc;
}

int
post_create(struct store *st, const char *ws, const char *by, const char *text,
    const struct post_target *t, size_t n, time_t scheduled_at, time_t now,
    char **id)
{
	struct create_arg	 a = { ws, by, text, t, n, scheduled_at, now,
	    { 0 } };
	int			 rc;

	*id = NULL;
	if ((rc = store_txn(st, create_txn, &a)) != STORE_OK)
		return rc;
	return (*id = strdup(a.id)) != NULL ? STORE_OK : STORE_FAIL;
}

int
post_get(struct store *st, DB_TXN *txn, const char *ws, const char *id,
    struct post *p)
{
	char	 key[160];
	json_t	*j;
	int	 rc;

	memset(p, 0, sizeof(*p));
	if (!post_id_ok(id))
		return STORE_NOTFOUND;
	key_of(ws, id, key, sizeof(key));
	if ((rc = store_get_json(st, txn, SDB_POSTS, key, &j)) != STORE_OK)
		return rc;
	rc = from_json(ws, id, j, p);
	json_decref(j);
	return rc;
}

/*
 * A post record read without Jansson, for the history: its reader costs
 * some 45,000 instructions a record, most of a history page of 20.
 * Only the shapes put_post() writes are taken (objects of strings,
 * integers and null, and the deliveries array of such objects); on
 * anything else, or a field twice, it returns -1 and the caller reads
 * the record with Jansson, so a record it does take reads as Jansson
 * would read it (strings checked as strictly: UTF-8, no NUL, no
 * control characters unescaped, surrogates paired).
 */
struct rd {
	const char	*p, *end;
};

enum { RD_STR, RD_INT, RD_NULL };

static void
rd_ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
	    *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* Skip whitespace, then take c if it is next. */
static int
rd_is(struct rd *r, char c)
{
	rd_ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return 1;
	}
	return 0;
}

static int
rd_hex4(struct rd *r, unsigned *v)
{
	int	 i, c;

	if (r->end - r->p < 4)
		return -1;
	for (*v = 0, i = 0; i < 4; i++) {
		c = (unsigned char)*r->p++;
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return -1;
		*v = *v << 4 | (unsigned)c;
	}
	return 0;
}

static void
rd_utf8(struct buf *b, unsigned u)
{
	if (u < 0x80)
		buf_addc(b, (char)u);
	else if (u < 0x800) {
		buf_addc(b, (char)(0xC0 | u >> 6));
		buf_addc(b, (char)(0x80 | (u & 0x3F)));
	} else if (u < 0x10000) {
		buf_addc(b, (char)(0xE0 | u >> 12));
		buf_addc(b, (char)(0x80 | (u >> 6 & 0x3F)));
		buf_addc(b, (char)(0x80 | (u & 0x3F)));
	} else {
		buf_addc(b, (char)(0xF0 | u >> 18));
		buf_addc(b, (char)(0x80 | (u >> 12 & 0x3F)));
		buf_addc(b, (char)(0x80 | (u >> 6 & 0x3F)));
		buf_addc(b, (char)(0x80 | (u & 0x3F)));
	}
}

/* A string: malloc'd in *out. */
static int
rd_str(struct rd *r, char **out)
{
	struct buf	 b = { 0 };
	const char	*s;
	unsigned	 u, lo;

	*out = NULL;
	if (!rd_is(r, '"'))
		return -1;
	for (;;) {
		for (s = r->p; r->p < r->end && *r->p != '"' &&
		    *r->p != '\\' && (unsigned char)*r->p >= 0x20; r->p++)
			continue;
		buf_add(&b, s, (size_t)(r->p - s));
		if (r->p == r->end || (unsigned char)*r->p < 0x20)
			goto fail;
		if (*r->p++ == '"')
			break;
		if (r->p == r->end)
			goto fail;
		switch (*r->p++) {
		case '"':
		case '\\':
		case '/':
			buf_addc(&b, r->p[-1]);
			break;
		case 'b':
			buf_addc(&b, '\b');
			break;
		case 'f':
			buf_addc(&b, '\f');
			break;
		case 'n':
			buf_addc(&b, '\n');
			break;
		case 'r':
			buf_addc(&b, '\r');
			break;
		case 't':
			buf_addc(&b, '\t');
			break;
		case 'u':
			if (rd_hex4(r, &u) == -1 || u == 0 ||
			    (u >= 0xDC00 && u <= 0xDFFF))
				goto fail;
			if (u >= 0xD800 && u <= 0xDBFF) {
				if (r->end - r->p < 2 || r->p[0] != '\\' ||
				    r->p[1] != 'u')
					goto fail;
				r->p += 2;
				if (rd_hex4(r, &lo) == -1 || lo < 0xDC00 ||
				    lo > 0xDFFF)
					goto fail;
				u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
			}
			rd_utf8(&b, u);
			break;
		default:
			goto fail;
		}
	}
	if (!buf_ok(&b) || !valid_utf8(buf_str(&b), b.len))
		goto fail;
	return (*out = buf_detach(&b)) != NULL ? 0 : -1;
fail:
	buf_free(&b);
	return -1;
}

/* An integer as Jansson takes one: no fraction, exponent, leading 0. */
static int
rd_int(struct rd *r, long long *v)
{
	const char	*s = r->p;
	char		 num[24];
	size_t		 n;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p == r->end || *r->p < '0' || *r->p > '9' ||
	    (*r->p == '0' && r->end - r->p > 1 && r->p[1] >= '0' &&
	    r->p[1] <= '9'))
		return -1;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
		return -1;
	if ((n = (size_t)(r->p - s)) >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	errno = 0;
	*v = strtoll(num, NULL, 10);
	return errno == 0 ? 0 : -1;
}

/* A string, an integer or null: its RD_ kind, or -1. */
static int
rd_scalar(struct rd *r, char **s, long long *v)
{
	*s = NULL;
	*v = 0;
	rd_ws(r);
	if (r->p == r->end)
		return -1;
	if (*r->p == '"')
		return rd_str(r, s) == 0 ? RD_STR : -1;
	if (*r->p == 'n') {
		if (r->end - r->p < 4 || memcmp(r->p, "null", 4) != 0)
			return -1;
		r->p += 4;
		return RD_NULL;
	}
	return rd_int(r, v) == 0 ? RD_INT : -1;
}

/*
 * Field i of a record, once: a string field takes a string or null, an
 * integer field an integer or null (what str() and num() make of them).
 */
static int
rd_field(unsigned *seen, int i, int kind, char **sp, long long *ip,
    char **s, long long v)
{
	if (*seen & 1U << i)
		return -1;
	*seen |= 1U << i;
	if (sp != NULL && (kind == RD_STR || kind == RD_NULL)) {
		*sp = *s;
		*s = NULL;
		return 0;
	}
	if (ip != NULL && (kind == RD_INT || kind == RD_NULL)) {
		*ip = v;
		return 0;
	}
	return -1;
}

static int
rd_delivery(struct rd *r, struct delivery *d)
{
	char		*key, *s;
	long long	 v;
	unsigned	 seen = 0;
	int		 kind, rc;

	if (!rd_is(r, '{'))
		return -1;
	if (rd_is(r, '}'))
		return 0;
	do {
		if (rd_str(r, &key) == -1)
			return -1;
		if (!rd_is(r, ':') || (kind = rd_scalar(r, &s, &v)) == -1) {
			free(key);
			return -1;
		}
		if (strcmp(key, "channel") == 0)
			rc = rd_field(&seen, 0, kind, &d->channel, NULL, &s, v);
		else if (strcmp(key, "handle") == 0)
			rc = rd_field(&seen, 1, kind, &d->handle, NULL, &s, v);
		else if (strcmp(key, "state") == 0)
			rc = rd_field(&seen, 2, kind, &d->state, NULL, &s, v);
		else if (strcmp(key, "x_id") == 0)
			rc = rd_field(&seen, 3, kind, &d->x_id, NULL, &s, v);
		else if (strcmp(key, "reason") == 0)
			rc = rd_field(&seen, 4, kind, &d->reason, NULL, &s, v);
		else if (strcmp(key, "retry_at") == 0) {
			rc = rd_field(&seen, 5, kind, NULL, &v, &s, v);
			d->retry_at = (time_t)v;
		} else if (strcmp(key, "updated_at") == 0) {
			rc = rd_field(&seen, 6, kind, NULL, &v, &s, v);
			d->updated_at = (time_t)v;
		} else
			rc = 0;
		free(key);
		free(s);
		if (rc == -1)
			return -1;
	} while (rd_is(r, ','));
	return rd_is(r, '}') ? 0 : -1;
}

static int
rd_deliveries(struct rd *r, struct post *p)
{
	struct delivery	*grown;
	size_t		 cap = 2;

	if (!rd_is(r, '[') ||
	    (p->d = calloc(cap, sizeof(*p->d))) == NULL)
		return -1;
	if (rd_is(r, ']'))
		return 0;
	do {
		if (p->nd + 1 == cap) {
			if ((grown = reallocarray(p->d, cap * 2,
			    sizeof(*grown))) == NULL)
				return -1;
			p->d = grown;
			memset(p->d + cap, 0, cap * sizeof(*grown));
			cap *= 2;
		}
		/* Counted first, so that post_free() frees a half-read one. */
		if (rd_delivery(r, &p->d[p->nd++]) == -1)
			return -1;
	} while (rd_is(r, ','));
	return rd_is(r, ']') ? 0 : -1;
}

/* What from_json() would make of the record, or -1 (use Jansson). */
static int
read_post(const char *ws, const char *id, const char *val, size_t len,
    struct post *p)
{
	struct rd	 r = { val, val + len };
	char		*key, *s;
	long long	 v;
	unsigned	 seen = 0;
	size_t		 i;
	int		 kind, rc;

	memset(p, 0, sizeof(*p));
	if (!rd_is(&r, '{') || rd_is(&r, '}'))
		goto fail;
	do {
		if (rd_str(&r, &key) == -1)
			goto fail;
		if (!rd_is(&r, ':')) {
			free(key);
			goto fail;
		}
		rc = -1;
		if (strcmp(key, "deliveries") == 0) {
			if (!(seen & 1U << 4)) {
				seen |= 1U << 4;
				rc = rd_deliveries(&r, p);
			}
		} else if ((kind = rd_scalar(&r, &s, &v)) != -1) {
			if (strcmp(key, "text") == 0)
				rc = rd_field(&seen, 0, kind, &p->text, NULL, &s,
				    v);
			else if (strcmp(key, "by") == 0)
				rc = rd_field(&seen, 1, kind, &p->by, NULL, &s,
				    v);
			else if (strcmp(key, "created_at") == 0) {
				rc = rd_field(&seen, 2, kind, NULL, &v, &s, v);
				p->created_at = (time_t)v;
			} else if (strcmp(key, "scheduled_at") == 0) {
				rc = rd_field(&seen, 3, kind, NULL, &v, &s, v);
				p->scheduled_at = (time_t)v;
			} else
				rc = 0;
			free(s);
		}
		free(key);
		if (rc == -1)
			goto fail;
	} while (rd_is(&r, ','));
	if (!rd_is(&r, '}'))
		goto fail;
	rd_ws(&r);
	if (r.p != r.end || !(seen & 1U << 4) || p->text == NULL ||
	    p->by == NULL)
		goto fail;
	for (i = 0; i < p->nd; i++)
		if (p->d[i].channel == NULL || p->d[i].state == NULL ||
		    p->d[i].handle == NULL)
			goto fail;
	if ((p->id = strdup(id)) != NULL && (p->ws = strdup(ws)) != NULL)
		return 0;
fail:
	post_free(p);
	return -1;
}

struct list_arg {
	const char	*ws;
	unsigned long long before;	/* 0: from the newest */
	size_t		 limit;
	struct post	*list;
	size_t		 n;
	int		 rc;
};

static int
list_one(const char *key, const char *val, size_t len, void *arg)
{
	struct list_arg		*a = arg;
	const char		*rev = strrchr(key, '/');
	unsigned long long	 id;
	char			 ids[24];
	json_t			*j;

	if (rev == NULL)
		return 0;
	id = MAX_ID - strtoull(rev + 1, NULL, 10);
	if (a->before && id >= a->before)
		return 0;
	snprintf(ids, sizeof(ids), "%llu", id);
	/* Jansson only for a record the quick reader does not take. */
	if (read_post(a->ws, ids, val, len, &a->list[a->n]) == 0) {
		a->n++;
		return a->n >= a->limit;
	}
	j = json_loadb(val, len, 0, NULL);
	if (j != NULL && from_json(a->ws, ids, j, &a->list[a->n]) == STORE_OK)
		a->n++;
	json_decref(j);
	return a->n >= a->limit;
}

int
post_list(struct store *st, const char *ws, const char *before, size_t limit,
    struct post **list, size_t *n)
{
	struct list_arg	 a = { ws, 0, limit, NULL, 0, STORE_OK };
	char		 prefix[80], from[160];
	int		 rc;

	*list = NULL;
	*n = 0;
	snprintf(prefix, sizeof(prefix), "%s/", ws);
	snprintf(from, sizeof(from), "%s", prefix);
	/*
	 * Keys sort newest first, so a page older than before starts at
	 * before's own key: the read is the page, however deep.
	 */
	if (before && post_id_ok(before)) {
		a.before = strtoull(before, NULL, 10);
		key_of(ws, before, from, sizeof(from));
	}
	if ((a.list = calloc(limit + 1, sizeof(*a.list))) == NULL)
		return STORE_FAIL;
	if ((rc = store_scan_from(st, NULL, SDB_POSTS, prefix, from, list_one,
	    &a)) != STORE_OK) {
		post_list_free(a.list, a.n);
		return rc;
	}
	*list = a.list;
	*n = a.n;
	return STORE_OK;
}

/* The delivery object of channel in record j, or NULL. */
static json_t *
delivery_of(json_t *j, const char *channel)
{
	json_t		*d;
	const char	*c;
	size_t		 i;

	json_array_foreach(json_object_get(j, "deliveries"), i, d)
		if ((c = json_string_value(json_object_get(d, "channel"))) &&
		    strcmp(c, channel) == 0)
			return d;
	return NULL;
}

static int
set_str(json_t *o, const char *name, const char *v)
{
	if (v == NULL) {
		json_object_del(o, name);
		return 0;
	}
	return json_object_set_new(o, name, json_string(v));
}

struct settle_arg {
	const char		*ws, *id, *channel;
	const struct outcome	*o;
	time_t			 now;
};

static int
settle_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct settle_arg	*a = arg;
	char			 key[160];
	json_t			*j, *d;
	int			 rc;

	key_of(a->ws, a->id, key, sizeof(key));
	if ((rc = store_get_json(st, txn, SDB_POSTS, key, &j)) != STORE_OK)
		return rc;
	if ((d = delivery_of(j, a->channel)) == NULL)
		rc = STORE_NOTFOUND;
	else if (set_str(d, "state", a->o->state) != 0 ||
	    set_str(d, "x_id", a->o->x_id) != 0 ||
	    set_str(d, "reason", a->o->reason) != 0 ||
	    json_object_set_new(d, "retry_at",
	    json_integer(a->o->retry_at)) != 0 ||
	    json_object_set_new(d, "updated_at", json_integer(a->now)) != 0)
		rc = STORE_FAIL;
	else
		rc = put_post(st, txn, a->ws, a->id, j);
	json_decref(j);
	return rc;
}

int
post_settle(struct store *st, const char *ws, const char *id,
    const char *channel, const struct outcome *o, time_t now)
{
	struct settle_arg	 a = { ws, id, channel, o, now };

	if (!post_id_ok(id))
		return STORE_NOTFOUND;
	return store_txn(st, settle_txn, &a);
}

/* 1 when state is a word of the space-separated list. */
static int
one_of(const char *state, const char *list)
{
	size_t	 n = strlen(state);
	const char *p;

	for (p = list; (p = strstr(p, state)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

struct claim_arg {
	const char	*ws, *id, *channel, *from;
	time_t		 now;
};

static int
claim_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct claim_arg	*a = arg;
	char			 key[160];
	const char		*state;
	json_t			*j, *d;
	int			 rc;

	key_of(a->ws, a->id, key, sizeof(key));
	if ((rc = store_get_json(st, txn, SDB_POSTS, key, &j)) != STORE_OK)
		return rc;
	if ((d = delivery_of(j, a->channel)) == NULL)
		rc = STORE_NOTFOUND;
	else if ((state = json_string_value(json_object_get(d, "state"))) ==
	    NULL || !one_of(state, a->from))
		rc = STORE_ABORT;
	else if (set_str(d, "state", "sending") != 0 ||
	    json_object_set_new(d, "updated_at", json_integer(a->now)) != 0)
		rc = STORE_FAIL;
	else {
		json_object_del(d, "reason");
		rc = put_post(st, txn, a->ws, a->id, j);
	}
	json_decref(j);
	return rc;
}

int
post_claim(struct store *st, const char *ws, const char *id,
    const char *channel, const char *from, time_t now)
{
	struct claim_arg	 a = { ws, id, channel, from, now };

	if (!post_id_ok(id))
		return STORE_NOTFOUND;
	return store_txn(st, claim_txn, &a);
}

struct take_arg {
	const char	*ws, *id;
	time_t		 now;
	struct buf	 claimed;	/* NUL-separated channel ids */
};

static int
take_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct take_arg	*a = arg;
	char		 key[160];
	const char	*state;
	json_t		*j, *d;
	size_t		 i;
	int		 rc, due;

	buf_reset(&a->claimed);
	key_of(a->ws, a->id, key, sizeof(key));
	if ((rc = store_get_json(st, txn, SDB_POSTS, key, &j)) != STORE_OK)
		return rc;
	json_array_foreach(json_object_get(j, "deliveries"), i, d) {
		state = json_string_value(json_object_get(d, "state"));
		if (state == NULL)
			continue;
		if (strcmp(state, "sending") == 0 && num(d, "updated_at") +
		    POST_STALE_SENDING <= a->now) {
			/* Its sender died before X answered: never resend. */
			set_str(d, "state", "unknown");
			set_str(d, "reason", "The sending process stopped "
			    "before X answered, so the post may or may not "
			    "be on X. Check the account, then retry anyway or "
			    "mark it as posted.");
			json_object_set_new(d, "updated_at",
			    json_integer(a->now));
			continue;
		}
		due = (strcmp(state, "scheduled") == 0 &&
		    num(j, "scheduled_at") <= a->now) ||
		    (strcmp(state, "rate_limited") == 0 &&
		    num(d, "retry_at") <= a->now);
		if (!due)
			continue;
		set_str(d, "state", "sending");
		json_object_del(d, "reason");
		json_object_set_new(d, "updated_at", json_integer(a->now));
		buf_adds(&a->claimed, json_string_value(json_object_get(d,
		    "channel")));
		buf_addc(&a->claimed, '\0');
	}
	if (!buf_ok(&a->claimed))
		rc = STORE_FAIL;
	else
		rc = put_post(st, txn, a->ws, a->id, j);
	json_decref(j);
	return rc;
}

int
post_take_due(struct store *st, const char *ws, const char *id, time_t now,
    char ***claimed, size_t *n)
{
	struct take_arg	 a = { ws, id, now, { 0 } };
	size_t		 off, k = 0;
	int		 rc;

	*claimed = NULL;
	*n = 0;
	if ((rc = store_txn(st, take_txn, &a)) != STORE_OK)
		goto out;
	for (off = 0; off < a.claimed.len; off += strlen(a.claimed.p + off) + 1)
		k++;
	if ((*claimed = calloc(k + 1, sizeof(char *))) == NULL) {
		rc = STORE_FAIL;
		goto out;
	}
	for (off = 0; off < a.claimed.len; off += strlen(a.claimed.p + off) + 1)
		if (((*claimed)[(*n)++] = strdup(a.claimed.p + off)) == NULL) {
			/*
			 * Claimed but not sent: they stay "sending" until
			 * they go stale and become "unknown", never resent.
			 */
			while (*n > 0)
				free((*claimed)[--*n]);
			free(*claimed);
			*claimed = NULL;
			rc = STORE_FAIL;
			break;
		}
out:
	buf_free(&a.claimed);
	return rc;
}

struct due_arg {
	time_t		 now;
	size_t		 max;
	struct buf	 keys;
	size_t		 n;
};

static int
due_one(const char *key, const char *val, size_t len, void *arg)
{
	struct due_arg	*a = arg;

	(void)val;
	(void)len;
	/* Keys sort by time: the first one in the future ends the list. */
	if (strtoll(key, NULL, 10) > (long long)a->now || a->n >= a->max)
		return 1;
	buf_add(&a->keys, key, strlen(key) + 1);
	a->n++;
	return 0;
}

int
post_each_due(struct store *st, time_t now, size_t max,
    int (*fn)(const char *, const char *, void *), void *arg)
{
	struct due_arg	 a = { now, max, { 0 }, 0 };
	char		*k, *ws, *id;
	size_t		 off;
	int		 rc;

	if ((rc = store_scan(st, NULL, SDB_DUE, "", due_one, &a)) != STORE_OK)
		goto out;
	for (off = 0; off < a.keys.len; off += strlen(a.keys.p + off) + 1) {
		k = a.keys.p + off;
		if ((ws = strchr(k, '/')) == NULL ||
		    (id = strrchr(++ws, '/')) == NULL)
			continue;
		*id++ = '\0';
		if (fn(ws, id, arg) != 0)
			break;
	}
out:
	buf_free(&a.keys);
	return rc;
}

json_t *
post_json(const struct post *p)
{
	char	 at[TM_RFC3339_LEN], retry[TM_RFC3339_LEN];
	json_t	*arr, *j;
	size_t	 i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < p->nd; i++) {
		const struct delivery *d = &p->d[i];

		tm_rfc3339(d->retry_at, retry);
		if (json_array_append_new(arr, json_pack(
		    "{s:s,s:s,s:s?,s:s?,s:s?}", "channel", d->channel,
		    "state", d->state, "x_id", d->x_id, "reason", d->reason,
		    "retry_at", d->retry_at ? retry : NULL)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	tm_rfc3339(p->scheduled_at, at);
	j = json_pack("{s:{s:s,s:s,s:s?,s:o}}", "post", "id", p->id, "text",
	    p->text, "scheduled_at", p->scheduled_at ? at : NULL,
	    "deliveries", arr);
	return j;
}
