/*
 * rekey: the sealed values in the store, and moving them to a new master
 * key (see rekey.h for the steps and why each is safe to interrupt).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backup.h"
#include "buf.h"
#include "msg.h"
#include "opt.h"
#include "rekey.h"

/*
 * A process may read the key file a moment before it opens the store
 * (sosyabotctl does both at start-up): after adding the key, wait this
 * long before trusting that the register shows every process that read
 * the old file.
 */
#define SLACK_S		2
#define USERS_MAX	512	/* processes looked at in the register */
#define ROUNDS		3	/* passes before giving up on new stragglers */
#define POLL_MS		100

enum outcome { GONE, CURRENT, RESEALED, BAD };

/*
 * The associated data and a name for messages of the sealed value in
 * record key of db.  These must stay what opt.c and channel.c seal
 * under: a channel's record key is "<workspace>/<id zero-padded>", its
 * associated data names the id without the padding.  0 when the record
 * cannot hold a sealed value.
 */
static int
ad_of(enum store_db d, const char *key, char *ad, size_t adlen, char *what,
    size_t whatlen)
{
	const char	*slash, *id;
	int		 wslen;

	if (d == SDB_OPTIONS) {
		if (!opt_secret(key))
			return 0;
		snprintf(ad, adlen, "options/%s", key);
		snprintf(what, whatlen, "option %s", key);
		return 1;
	}
	if (d != SDB_CHANNELS || (slash = strrchr(key, '/')) == NULL ||
	    slash == key || slash[1] == '\0')
		return 0;
	for (id = slash + 1; *id == '0' && id[1] != '\0'; id++)
		continue;
	wslen = (int)(slash - key);
	snprintf(ad, adlen, "channels/%.*s/%s/secret", wslen, key, id);
	snprintf(what, whatlen, "channel %.*s/%s", wslen, key, id);
	return 1;
}

/* The sealed text in a channel record, or NULL; *j holds it. */
static const char *
channel_sealed(const char *val, size_t len, json_t **j)
{
	*j = json_loadb(val, len, 0, NULL);
	return json_string_value(json_object_get(*j, "secret"));
}

struct each {
	int		(*fn)(const struct rekey_value *, void *);
	void		*arg;
	enum store_db	 d;
	int		 stopped;
};

static int
each_one(const char *key, const char *val, size_t len, void *arg)
{
	struct each		*e = arg;
	struct rekey_value	 v;
	json_t			*j = NULL;
	const char		*sealed = val;
	char			 ad[256], what[256];

	if (!ad_of(e->d, key, ad, sizeof(ad), what, sizeof(what)))
		return 0;
	if (e->d == SDB_CHANNELS && (sealed = channel_sealed(val, len,
	    &j)) == NULL) {
		json_decref(j);
		return 0;
	}
	v = (struct rekey_value){ e->d, key, ad, sealed, what };
	e->stopped = e->fn(&v, e->arg);
	json_decref(j);
	return e->stopped;
}

int
rekey_each(struct store *st, int (*fn)(const struct rekey_value *, void *),
    void *arg)
{
	static const enum store_db dbs[] = { SDB_OPTIONS, SDB_CHANNELS };
	struct each	 e = { fn, arg, SDB_OPTIONS, 0 };
	size_t		 i;
	int		 rc = STORE_OK;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]) && !e.stopped; i++) {
		e.d = dbs[i];
		if ((rc = store_scan(st, NULL, e.d, "", each_one, &e)) !=
		    STORE_OK)
			break;
	}
	return rc;
}

struct census_arg {
	struct rekey_census	*c;
	const struct crypto_key	*k;
	FILE			*out;
};

static int
census_one(const struct rekey_value *v, void *arg)
{
	struct census_arg	*a = arg;
	char			*pt;
	size_t			 n;
	int			 id;

	a->c->n++;
	if ((id = crypto_sealed_id(v->sealed)) < 0) {
		a->c->bad++;
		if (a->out != NULL)
			fprintf(a->out, "%s: not a sealed value\n", v->what);
		return 0;
	}
	a->c->by_id[id]++;
	if (a->k == NULL)
		return 0;
	if (crypto_unseal(a->k, v->ad, v->sealed, &pt, &n) == 0) {
		explicit_bzero(pt, n);
		free(pt);
		return 0;
	}
	a->c->bad++;
	if (a->out != NULL)
		fprintf(a->out, "%s: its secret does not open with the key "
		    "file (it names key %d%s)\n", v->what, id,
		    crypto_key_has(a->k, (unsigned int)id) ? "" :
		    ", which the file does not hold");
	return 0;
}

int
rekey_census(struct store *st, const struct crypto_key *k,
    struct rekey_census *c, FILE *out)
{
	struct census_arg	 a = { c, k, out };

	memset(c, 0, sizeof(*c));
	return rekey_each(st, census_one, &a);
}

void
rekey_ids(const struct rekey_census *c, char *buf, size_t len)
{
	size_t	 i, off = 0;
	int	 r;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < 256; i++) {
		if (c->by_id[i] == 0)
			continue;
		r = snprintf(buf + off, len - off, "%s%zu", off ? ", " : "", i);
		if (r < 0 || (size_t)r >= len - off)
			break;
		off += (size_t)r;
	}
}

/*
 * When process pid started, in seconds since the epoch, from Linux's
 * /proc (field 22 of its stat file, in clock ticks since boot); 0 when
 * unknown, which counts as long ago.
 */
static double
started(pid_t pid)
{
	char			 path[64], b[1024], *p;
	unsigned long long	 ticks;
	struct timespec		 rt, bt;
	ssize_t			 r;
	long			 hz;
	int			 fd, i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	r = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	b[r] = '\0';
	/* The name may hold anything, but it ends at the last ')'. */
	if ((p = strrchr(b, ')')) == NULL)
		return 0;
	for (i = 2; i < 22; i++) {
		if ((p = strchr(p, ' ')) == NULL)
			return 0;
		p++;
	}
	ticks = strtoull(p, NULL, 10);
	if ((hz = sysconf(_SC_CLK_TCK)) <= 0 ||
	    clock_gettime(CLOCK_REALTIME, &rt) == -1 ||
	    clock_gettime(CLOCK_BOOTTIME, &bt) == -1)
		return 0;
	return (double)(rt.tv_sec - bt.tv_sec) +
	    (double)(rt.tv_nsec - bt.tv_nsec) / 1e9 + (double)ticks / hz;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Step 2: wait until no process that started before t1 (when the new
 * key was added; one second of slack for the clocks) has the store open,
 * and at least SLACK_S seconds have passed since t1.  A process that
 * started later read the key file with the new key in it.
 */
static int
wait_old(const struct rekey_opts *o, time_t t1, char *err, size_t errlen)
{
	pid_t		 pids[USERS_MAX];
	struct timespec	 t0, ts = { 0, POLL_MS * 1000000L };
	size_t		 n, i, nold;
	pid_t		 first;
	int		 said = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (backup_env_users(o->data_dir, pids, USERS_MAX, &n) == -1) {
			msg_set(err, errlen, "%s/__db.register: %s",
			    o->data_dir, strerror(errno));
			return -1;
		}
		/* More than we could look at: the rest count as old. */
		nold = n > USERS_MAX ? n - USERS_MAX : 0;
		first = 0;
		for (i = 0; i < n && i < USERS_MAX; i++)
			if (started(pids[i]) < (double)t1 + 1) {
				if (nold++ == 0)
					first = pids[i];
			}
		if (nold == 0 && time(NULL) >= t1 + SLACK_S)
			return 0;
		if (elapsed_ms(&t0) >= ((long)o->wait + SLACK_S) * 1000) {
			msg_set(err, errlen, "%zu process%s that started before "
			    "the new key was added still use%s the store (pid "
			    "%ld%s); nothing was re-sealed.  Run rekey again "
			    "once %s done: the key file keeps both keys "
			    "meanwhile, and every value opens", nold,
			    nold == 1 ? "" : "es", nold == 1 ? "s" : "",
			    (long)first, nold > 1 ? " and others" : "",
			    nold == 1 ? "it is" : "they are");
			return -1;
		}
		if (!said && nold > 0) {
			msg_line(o->out, "rekey: waiting up to %u s for %zu "
			    "process%s that may know only the old key (pid "
			    "%ld%s)", o->wait, nold, nold == 1 ? "" : "es",
			    (long)first, nold > 1 ? " and others" : "");
			said = 1;
		}
		nanosleep(&ts, NULL);
	}
}

struct reseal {
	enum store_db		 d;
	const char		*key;
	const struct crypto_key	*k;
	enum outcome		 outcome;
};

/* Step 3 for one record, in its own transaction. */
static int
reseal_txn(struct store *st, DB_TXN *txn, void *arg)
{
	struct reseal	*a = arg;
	json_t		*j = NULL;
	const char	*sealed;
	char		 ad[256], what[256], *val = NULL, *pt = NULL;
	char		*fresh = NULL;
	size_t		 len, n = 0;
	int		 rc;

	a->outcome = GONE;
	if (!ad_of(a->d, a->key, ad, sizeof(ad), what, sizeof(what)))
		return STORE_OK;
	if ((rc = store_get(st, txn, a->d, a->key, &val, &len)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	sealed = val;
	if (a->d == SDB_CHANNELS && (sealed = channel_sealed(val, len,
	    &j)) == NULL)
		goto out;
	a->outcome = CURRENT;
	if (crypto_sealed_id(sealed) == (int)crypto_key_current(a->k))
		goto out;
	a->outcome = BAD;
	if (crypto_unseal(a->k, ad, sealed, &pt, &n) != 0)
		goto out;
	rc = STORE_FAIL;
	if ((fresh = crypto_seal(a->k, ad, pt, n)) == NULL)
		goto out;
	if (a->d == SDB_OPTIONS)
		rc = store_put(st, txn, a->d, a->key, fresh, strlen(fresh));
	else if (json_object_set_new(j, "secret", json_string(fresh)) == 0)
		rc = store_put_json(st, txn, a->d, a->key, j);
	if (rc == STORE_OK)
		a->outcome = RESEALED;
out:
	if (pt != NULL) {
		explicit_bzero(pt, n);
		free(pt);
	}
	free(fresh);
	free(val);
	json_decref(j);
	return rc;
}

/* The records to re-seal: a db byte and the key, NUL-terminated. */
struct todo {
	unsigned int	 cur;
	struct buf	 list;
};

static int
todo_one(const struct rekey_value *v, void *arg)
{
	struct todo	*t = arg;

	if (crypto_sealed_id(v->sealed) != (int)t->cur) {
		buf_addc(&t->list, (char)('0' + v->db));
		buf_add(&t->list, v->key, strlen(v->key) + 1);
	}
	return !buf_ok(&t->list);
}

/*
 * Step 3: re-seal every value not under the current key.  Returns
 * REKEY_DONE, REKEY_STOPPED (stop_after), or REKEY_FAIL with err set.
 */
static int
reseal_all(struct store *st, const struct crypto_key *k,
    const struct rekey_opts *o, size_t *done, char *err, size_t errlen)
{
	struct todo	 t = { crypto_key_current(k), { 0 } };
	struct reseal	 a;
	size_t		 off, entry;
	int		 rc;

	if ((rc = rekey_each(st, todo_one, &t)) != STORE_OK ||
	    !buf_ok(&t.list)) {
		msg_set(err, errlen, "cannot list the sealed values: the store "
		    "is unavailable");
		buf_free(&t.list);
		return REKEY_FAIL;
	}
	for (off = 0; off < t.list.len; off += entry) {
		entry = strlen(t.list.p + off) + 1;
		if (o->stop_after >= 0 && *done >= (size_t)o->stop_after) {
			msg_line(o->out, "rekey: stopped after re-sealing %zu "
			    "value%s (SOSYABOT_REKEY_STOP_AFTER)", *done,
			    *done == 1 ? "" : "s");
			buf_free(&t.list);
			return REKEY_STOPPED;
		}
		memset(&a, 0, sizeof(a));
		a.d = (enum store_db)(t.list.p[off] - '0');
		a.key = t.list.p + off + 1;
		a.k = k;
		if ((rc = store_txn(st, reseal_txn, &a)) != STORE_OK) {
			msg_set(err, errlen, "re-sealing a value: %s; run rekey "
			    "again", rc == STORE_BUSY ? "the store is busy" :
			    "the store is unavailable");
			buf_free(&t.list);
			return REKEY_FAIL;
		}
		if (a.outcome == RESEALED)
			(*done)++;
	}
	buf_free(&t.list);
	return REKEY_DONE;
}

/* The ids of k but the current one, as "1, 2". */
static void
old_ids(const struct crypto_key *k, char *buf, size_t len)
{
	size_t	 i, off = 0;
	int	 r;

	buf[0] = '\0';
	for (i = 0; i + 1 < crypto_key_count(k); i++) {
		r = snprintf(buf + off, len - off, "%s%u", off ? ", " : "",
		    crypto_key_id(k, i));
		if (r < 0 || (size_t)r >= len - off)
			break;
		off += (size_t)r;
	}
}

int
rekey_run(const struct rekey_opts *o, char *err, size_t errlen)
{
	struct crypto_key	*k = NULL;
	struct store		*st = NULL;
	struct rekey_census	 c;
	struct buf		 lock = { 0 };
	struct stat		 sb;
	struct timespec		 t0;
	char			 kerr[256], ids[128];
	size_t			 done = 0;
	time_t			 t1;
	unsigned int		 cur;
	int			 lockfd = -1, rc = REKEY_FAIL, r, round;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (backup_owner_check(o->data_dir, err, errlen) == -1)
		return REKEY_FAIL;
	/* One rotation at a time: two would each add a key. */
	buf_addf(&lock, "%s/rekey.lock", o->data_dir);
	if (!buf_ok(&lock)) {
		msg_set(err, errlen, "out of memory");
		goto out;
	}
	if ((lockfd = open(buf_str(&lock), O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		msg_set(err, errlen, "%s: %s", buf_str(&lock), strerror(errno));
		goto out;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
		msg_set(err, errlen, "%s", errno == EWOULDBLOCK ? "another "
		    "rekey runs on this data directory" : strerror(errno));
		goto out;
	}
	if (crypto_key_load(o->key_file, &k, kerr, sizeof(kerr)) != 0) {
		msg_set(err, errlen, "%s", kerr);
		goto out;
	}

	/* Step 1, unless an interrupted run did it. */
	if (crypto_key_count(k) == 1) {
		if (crypto_key_add(k, kerr, sizeof(kerr)) != 0 ||
		    crypto_key_save(o->key_file, k, kerr, sizeof(kerr)) != 0) {
			msg_set(err, errlen, "%s", kerr);
			goto out;
		}
		t1 = time(NULL);
		msg_line(o->out, "rekey: added key %u to %s; new values are "
		    "sealed with it", crypto_key_current(k), o->key_file);
	} else {
		if (stat(o->key_file, &sb) == -1) {
			msg_set(err, errlen, "%s: %s", o->key_file,
			    strerror(errno));
			goto out;
		}
		t1 = sb.st_mtime;
		old_ids(k, ids, sizeof(ids));
		msg_line(o->out, "rekey: resuming: %s holds key %u (new) and "
		    "key %s", o->key_file, crypto_key_current(k), ids);
	}
	cur = crypto_key_current(k);

	/* Step 2, before this process opens the store (backup_env_users()). */
	if (wait_old(o, t1, err, errlen) != 0)
		goto out;
	if (store_open(&st, o->data_dir, 0) != STORE_OK) {
		msg_set(err, errlen, "cannot open the store in %s", o->data_dir);
		goto out;
	}

	/* Steps 3 and 4; a value sealed meanwhile is taken next round. */
	for (round = 0; ; round++) {
		msg_line(o->out, "rekey: re-sealing the values not under key "
		    "%u", cur);
		if ((r = reseal_all(st, k, o, &done, err, errlen)) !=
		    REKEY_DONE) {
			rc = r;
			goto out;
		}
		if (rekey_census(st, k, &c, stderr) != STORE_OK) {
			msg_set(err, errlen, "cannot list the sealed values: "
			    "the store is unavailable");
			goto out;
		}
		if (c.bad > 0) {
			msg_set(err, errlen, "%zu sealed value%s cannot be "
			    "re-sealed (named above), so the old key stays in "
			    "the key file: reconnect or remove %s, then run "
			    "rekey again", c.bad, c.bad == 1 ? "" : "s",
			    c.bad == 1 ? "it" : "them");
			goto out;
		}
		if (c.by_id[cur] == c.n)
			break;
		if (round + 1 == ROUNDS) {
			msg_set(err, errlen, "values under the old key keep "
			    "appearing; run rekey again");
			goto out;
		}
	}
	store_close(st);
	st = NULL;

	/* Step 5. */
	if (crypto_key_count(k) > 1) {
		old_ids(k, ids, sizeof(ids));
		crypto_key_retire(k);
		if (crypto_key_save(o->key_file, k, kerr, sizeof(kerr)) != 0) {
			msg_set(err, errlen, "%s (every value is under key %u "
			    "already: run rekey again)", kerr, cur);
			goto out;
		}
		msg_line(o->out, "rekey: retired key %s: %s holds key %u only",
		    ids, o->key_file, cur);
	}
	msg_line(o->out, "rekey: done in %.1f s: %zu value%s re-sealed, %zu "
	    "sealed value%s in the store, all under key %u",
	    (double)elapsed_ms(&t0) / 1000, done, done == 1 ? "" : "s", c.n,
	    c.n == 1 ? "" : "s", cur);
	msg_line(o->out, "Backups made before now need the retired key: make "
	    "a new backup, and keep the key file apart from it.");
	rc = REKEY_DONE;
out:
	store_close(st);
	crypto_key_free(k);
	if (lockfd != -1)
		close(lockfd);
	buf_free(&lock);
	return rc;
}
